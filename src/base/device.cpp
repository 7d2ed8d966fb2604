// Device selection and CUDA statistics; see device.h.
#include "reckoning/base/device.h"

#include <cmath>
#include <limits>

#include <torch/cuda.h>

#include "reckoning/base/error.h"

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

torch::Device device_from_name(const std::string& text, const std::string& where) {
  const std::string expected = "cpu, cuda or cuda:N";
  if (text == "cpu") return torch::Device(torch::kCPU);
  if (text.rfind("cuda", 0) != 0) throw_error(where, expected, str("'", text, "'"));
  if (text == "cuda") return torch::Device(torch::kCUDA);  // the current device, resolved on use
  int64_t index = 0;
  {
    const std::string digits = text.size() > 5 && text[4] == ':' ? text.substr(5) : std::string();
    check(!digits.empty() && digits.size() < 6 && digits.find_first_not_of("0123456789") == std::string::npos,
          where, expected, str("'", text, "'"));
    index = std::stoll(digits);
    // c10::DeviceIndex is a small integer (int8_t in LibTorch 1.13): a larger index would wrap.
    check(index <= std::numeric_limits<c10::DeviceIndex>::max(), where,
          str("a device index up to ", static_cast<int>(std::numeric_limits<c10::DeviceIndex>::max())),
          str("'", text, "'"));
  }
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
}

torch::Device device_check_usable(const torch::Device& device, const std::string& where) {
  if (device.is_cpu()) return torch::Device(torch::kCPU);
  const std::string name = str("'", device_name(device), "'");
  check(device.is_cuda(), where, "cpu, cuda or cuda:N", name);
#ifndef RECKONING_WITH_CUDA
  throw_error(where, "cpu (this build's LibTorch has no CUDA; build against a CUDA LibTorch to use a GPU)", name);
#else
  const int64_t count = static_cast<int64_t>(torch::cuda::device_count());
  const int64_t index = device.has_index() ? device.index() : 0;
  check(count > 0, where, "cpu (LibTorch has CUDA but sees no GPU)", name);
  check(index < count, where, str("a device index below ", count), name);
  return torch::Device(torch::kCUDA, static_cast<c10::DeviceIndex>(index));
#endif
}

torch::Device device_parse(const std::string& text, const std::string& where) {
  return device_check_usable(device_from_name(text, where), where);
}

std::string device_name(const torch::Device& device) {
  if (device.is_cpu()) return "cpu";
  const std::string type = device.type() == torch::kCUDA ? "cuda" : "device";
  return device.has_index() ? str(type, ":", static_cast<int>(device.index())) : type;
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
