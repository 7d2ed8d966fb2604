// Mixed precision for matrix products: the one part of autocast RECKONING needs on CPU.
//
// With MatmulDtype::BFloat16 in effect, every matrix product of the GPT-2 forward pass (the
// projections, attention scores and mixing, the tied head) casts its float32 operands to bfloat16,
// multiplies with float32 accumulation (oneDNN) and returns float32. Everything else stays float32:
// the weights and the inner and outer optimizer states, embeddings, LayerNorm, softmax, GELU,
// the losses. The casts are autograd ops, so the backward products (and, through the inner loop's
// create-graph backward, the second-order ones) run in bfloat16 as well, while the gradients that
// reach the weights are float32. Operands of any other dtype (float64 gradient checks, pure
// bfloat16 models) are multiplied as they are.
//
// The setting is thread-local, like torch.autocast: a scope sets it for the code it encloses on
// the current thread. Entry points (training, evaluation, answering, benchmarks) open one scope
// from the run configuration's `matmul_dtype`.
#pragma once

#include <string>

#include <torch/torch.h>

#include "reckoning/base/enum_table.h"

namespace reckoning {

enum class MatmulDtype { Float32, BFloat16 };

// Names (enum_table.h): float32 | bfloat16.
template <>
const std::vector<EnumName<MatmulDtype>>& enum_names<MatmulDtype>();

// The setting in effect on this thread (Float32 unless a scope says otherwise).
MatmulDtype matmul_dtype();

// Sets the matmul dtype of this thread until destruction, then restores the previous one.
class MatmulDtypeScope {
 public:
  explicit MatmulDtypeScope(MatmulDtype dtype);
  ~MatmulDtypeScope();
  MatmulDtypeScope(const MatmulDtypeScope&) = delete;
  MatmulDtypeScope& operator=(const MatmulDtypeScope&) = delete;

 private:
  MatmulDtype previous_;
};

// torch::matmul / torch::addmm under the setting in effect (addmm adds the bias in float32).
torch::Tensor mixed_matmul(const torch::Tensor& a, const torch::Tensor& b);
torch::Tensor mixed_addmm(const torch::Tensor& bias, const torch::Tensor& a, const torch::Tensor& b);

}  // namespace reckoning
