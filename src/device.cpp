// Device selection and CUDA statistics; see device.h.
#include "reckoning/device.h"

#include <cmath>

#include <torch/cuda.h>

#include "reckoning/error.h"

#ifdef RECKONING_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace reckoning {

bool cuda_available() { return torch::cuda::is_available(); }

double global_norm(const std::vector<torch::Tensor>& tensors) {
  torch::NoGradGuard no_grad;
  std::vector<torch::Tensor> squares;
  for (const torch::Tensor& t : tensors) {
    if (t.defined()) squares.push_back(t.square().sum().to(torch::kFloat64));
  }
  return squares.empty() ? 0.0 : std::sqrt(torch::stack(squares).sum().item<double>());
}

torch::Device device_parse(const std::string& text, const std::string& where) {
  const std::string expected = "cpu, cuda or cuda:N";
  if (text == "cpu") return torch::Device(torch::kCPU);
  if (text.rfind("cuda", 0) != 0) throw_error(where, expected, str("'", text, "'"));
  int64_t index = 0;
  if (text != "cuda") {
    const std::string digits = text.size() > 5 && text[4] == ':' ? text.substr(5) : std::string();
    check(!digits.empty() && digits.find_first_not_of("0123456789") == std::string::npos, where, expected,
          str("'", text, "'"));
    index = std::stoll(digits);
  }
#ifndef RECKONING_WITH_CUDA
  (void)index;
  throw_error(where, "cpu (this build's LibTorch has no CUDA; build against a CUDA LibTorch to use a GPU)",
              str("'", text, "'"));
#else
  const int64_t count = static_cast<int64_t>(torch::cuda::device_count());
  check(count > 0, where, "cpu (LibTorch has CUDA but sees no GPU)", str("'", text, "'"));
  check(index < count, where, str("a device index below ", count), str("'", text, "'"));
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
#endif
}

std::string device_name(const torch::Device& device) {
  if (device.is_cpu()) return "cpu";
  return str(device.type() == torch::kCUDA ? "cuda" : "device", ":", device.has_index() ? device.index() : 0);
}

void device_synchronize(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.has_index() ? device.index() : -1);
}

int64_t device_peak_memory_bytes(const torch::Device& device) {
#ifdef RECKONING_WITH_CUDA
  if (device.is_cuda()) {
    const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.has_index() ? device.index() : 0);
    return stats.allocated_bytes[0].peak;  // [0]: all pools together
  }
#endif
  return -1;
}

void device_reset_peak_memory(const torch::Device& device) {
#ifdef RECKONING_WITH_CUDA
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(device.has_index() ? device.index() : 0);
#endif
}

}  // namespace reckoning
