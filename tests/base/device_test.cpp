// Devices (device.h): names are parsed or refused with the accepted values and the reason; a model
// moves to a device keeping its trainable leaves; and, where LibTorch has CUDA and a GPU (the GPU
// machine, not CI), a second-order meta-gradient and a greedy generation on the GPU equal the CPU's
// (float64; the GPU takes the fused AdamW node's tensor operations, the CPU its kernel).
#include <cmath>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <torch/torch.h>

#include "reckoning/base/device.h"
#include "reckoning/base/error.h"
#include "reckoning/model/generate.h"
#include "reckoning/meta/reckoning_model.h"
#include "reckoning/train/trainer.h"

using namespace reckoning;
using ::testing::HasSubstr;

namespace {

std::string error_of(const std::string& text) {
  try {
    device_parse(text, "configuration key 'device'");
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(Device, CpuIsAlwaysThere) {
  EXPECT_TRUE(device_parse("cpu", "device").is_cpu());
  EXPECT_EQ(device_name(torch::Device(torch::kCPU)), "cpu");
}

TEST(Device, BadNamesAreRefusedNamingTheKeyAndTheChoices) {
  for (const std::string bad : {"gpu", "cuda:", "cuda:x", "cuda0", "CPU", ""}) {
    const std::string message = error_of(bad);
    EXPECT_THAT(message, HasSubstr("configuration key 'device'")) << bad;
    EXPECT_THAT(message, HasSubstr("cpu, cuda or cuda:N")) << bad;
    EXPECT_THAT(message, HasSubstr("'" + bad + "'")) << bad;
  }
}

TEST(Device, NamesParseWithoutTheDeviceAndUseIsCheckedApart) {
  EXPECT_EQ(device_from_name("cuda:2", "k"), torch::Device(torch::kCUDA, 2));
  EXPECT_EQ(device_name(device_from_name("cuda", "k")), "cuda");
  EXPECT_EQ(device_name(device_from_name("cuda:1", "k")), "cuda:1");
  EXPECT_THAT(error_of("cuda:300"), HasSubstr("expected a device index up to 127, got 'cuda:300'"));
  EXPECT_TRUE(device_check_usable(torch::Device(torch::kCPU), "k").is_cpu());
  if (cuda_available()) return;
  EXPECT_THROW(device_check_usable(torch::Device(torch::kCUDA, 0), "k"), Error);
}

TEST(Device, CudaIsRefusedWithTheReasonWhereThereIsNone) {
  if (cuda_available()) GTEST_SKIP() << "this machine has a GPU";
  const std::string message = error_of("cuda");
  EXPECT_THAT(message, HasSubstr("'cuda'"));
  EXPECT_TRUE(message.find("no CUDA") != std::string::npos || message.find("no GPU") != std::string::npos)
      << message;
  EXPECT_THAT(error_of("cuda:3"), HasSubstr("'cuda:3'"));
}

// A tiny float64 RECKONING model and one task on random tokens.
struct Tiny {
  ReckoningModel model;
  EncodedTask task;
  Tiny() {
    Gpt2Config& c = model.config.gpt2();
    c.n_layer = 2;
    c.n_embd = 16;
    c.n_head = 2;
    c.n_vocab = 40;
    c.n_ctx = 32;
    c.bos_token_id = c.eos_token_id = 39;
    c.embd_pdrop = c.attn_pdrop = c.resid_pdrop = 0;
    model.weights = gpt2_map(gpt2_init(c, 7, torch::kFloat64),
                             [](const torch::Tensor& t) { return t.detach().requires_grad_(true); });
    model.run.inner_steps = 3;
    model.lrs = inner_lrs_init(c, LrMode::PerLayer, 3, 0.02, false, torch::kFloat64);
    torch::manual_seed(3);
    task.facts.ids = torch::randint(39, {3, 8}, torch::kLong);
    task.facts.attn_mask = torch::ones({3, 8}, torch::kLong);
    task.facts.target_mask = torch::zeros({3, 8}, torch::kBool);
    task.facts.target_mask.slice(1, 2).fill_(true);
    task.question.ids = torch::randint(39, {1, 7}, torch::kLong);
    task.question.attn_mask = torch::ones({1, 7}, torch::kLong);
    task.question.target_mask = torch::zeros({1, 7}, torch::kBool);
    task.question.target_mask.slice(1, 5).fill_(true);
  }
  // The meta-gradient (weights, then rates), on the host.
  std::vector<torch::Tensor> meta_gradient() {
    torch::Tensor loss = task_loss(model, task, InnerMode::SecondOrder, /*dropout=*/false);
    std::vector<torch::Tensor> params = decoder_flatten(model.weights);
    params.push_back(model.lrs.values);
    std::vector<torch::Tensor> grads = torch::autograd::grad({loss}, params);
    for (auto& g : grads) g = g.cpu();
    return grads;
  }
};

TEST(Device, GroupNormsAreEachTasksGlobalNormInDouble) {
  // Per group (a task-batched tensor's leading blocks) the norm over every tensor, summed in
  // double: equal to the float64 reference for float32 and float64 tensors, the host loop and the
  // tensor-operation path (bfloat16) alike; one group is global_norm.
  torch::manual_seed(3);
  for (const torch::Dtype dtype : {torch::kFloat32, torch::kFloat64, torch::kBFloat16}) {
    const std::vector<torch::Tensor> ts{torch::randn({3, 5, 7}).to(dtype), torch::Tensor(),
                                        torch::randn({3, 13}).to(dtype), torch::randn({3, 1}).to(dtype) * 1e3};
    const std::vector<double> norms = group_norms(ts, 3);
    ASSERT_EQ(norms.size(), 3u);
    for (int64_t g = 0; g < 3; ++g) {
      double sq = 0;
      for (const torch::Tensor& t : ts) {
        if (t.defined()) sq += t[g].to(torch::kFloat64).square().sum().item<double>();
      }
      EXPECT_NEAR(norms[static_cast<size_t>(g)], std::sqrt(sq), 1e-12 * std::sqrt(sq)) << dtype << " group " << g;
    }
    const std::vector<double> whole = group_norms(ts, 1);
    ASSERT_EQ(whole.size(), 1u);
    // global_norm squares and sums in the tensors' own type (bfloat16: 8 bits of mantissa).
    EXPECT_NEAR(whole[0], global_norm(ts), (dtype == torch::kBFloat16 ? 1e-2 : 1e-5) * whole[0]) << dtype;
  }
  EXPECT_EQ(group_norms({}, 2), (std::vector<double>{0.0, 0.0}));
  EXPECT_THROW(group_norms({torch::ones({4, 2})}, 3), c10::Error);
  // Non-contiguous input reads its elements in logical order.
  const torch::Tensor t = torch::arange(12, torch::kFloat32).view({3, 4}).t().contiguous().t();
  EXPECT_NEAR(group_norms({t}, 3)[1], std::sqrt(16.0 + 25 + 36 + 49), 1e-12);
}

TEST(Device, ModelMovesKeepingTrainableLeaves) {
  Tiny t;
  reckoning_model_to(t.model, torch::Device(torch::kCPU));  // same device: unchanged
  for (const auto& w : decoder_flatten(t.model.weights)) EXPECT_TRUE(w.requires_grad() && w.is_leaf());
  EXPECT_TRUE(t.model.lrs.values.requires_grad());
  if (!cuda_available()) GTEST_SKIP() << "no GPU: the move to CUDA is checked on the GPU machine";
  reckoning_model_to(t.model, torch::Device(torch::kCUDA, 0));
  for (const auto& w : decoder_flatten(t.model.weights)) {
    EXPECT_TRUE(w.is_cuda() && w.requires_grad() && w.is_leaf());
  }
  EXPECT_TRUE(t.model.lrs.values.is_cuda() && t.model.lrs.values.is_leaf());
}

TEST(Device, GpuMetaGradientAndGenerationEqualTheCpus) {
  if (!cuda_available()) GTEST_SKIP() << "no GPU";
  Tiny cpu, gpu;
  reckoning_model_to(gpu.model, torch::Device(torch::kCUDA, 0));
  const std::vector<torch::Tensor> a = cpu.meta_gradient(), b = gpu.meta_gradient();
  ASSERT_EQ(a.size(), b.size());
  for (size_t i = 0; i < a.size(); ++i) {
    EXPECT_TRUE(torch::allclose(a[i], b[i], 1e-8, 1e-11))
        << "tensor " << i << ", max difference " << (a[i] - b[i]).abs().max().item<double>();
  }
  GenerateOptions options;
  options.max_new_tokens = 6;
  options.stop_at_eos = false;
  const std::vector<std::vector<int64_t>> prompts{{1, 2, 3}, {4, 5}};
  EXPECT_EQ(decoder_generate(cpu.model.config, cpu.model.weights, prompts, options),
            decoder_generate(gpu.model.config, gpu.model.weights, prompts, options));
  options.num_beams = 3;
  EXPECT_EQ(decoder_generate(cpu.model.config, cpu.model.weights, {prompts[0]}, options),
            decoder_generate(gpu.model.config, gpu.model.weights, {prompts[0]}, options));
}

}  // namespace
