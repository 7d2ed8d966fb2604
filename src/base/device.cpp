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

std::vector<double> group_norms(const std::vector<torch::Tensor>& tensors, int64_t groups) {
  TORCH_CHECK(groups >= 1, "group_norms: groups must be >= 1, got ", groups);
  torch::NoGradGuard no_grad;
  std::vector<double> sums(static_cast<size_t>(groups), 0.0);
  torch::Tensor device_sums;  // (groups) float64, for tensors the host loop does not read
  for (const torch::Tensor& t : tensors) {
    if (!t.defined()) continue;
    TORCH_CHECK(t.numel() % groups == 0 && (groups == 1 || t.size(0) == groups), "group_norms: a tensor of shape ",
                t.sizes(), " is not ", groups, " equal blocks along dimension 0");
    const bool host = t.is_cpu() && (t.scalar_type() == torch::kFloat || t.scalar_type() == torch::kDouble);
    if (!host) {
      const torch::Tensor s = t.to(torch::kFloat64).square().reshape({groups, -1}).sum(1);
      device_sums = device_sums.defined() ? device_sums + s : s;
      continue;
    }
    const torch::Tensor c = t.contiguous();
    const int64_t per = c.numel() / groups;
    AT_DISPATCH_FLOATING_TYPES(c.scalar_type(), "group_norms", [&] {
      const scalar_t* x = c.data_ptr<scalar_t>();
      for (int64_t g = 0; g < groups; ++g) {
        const scalar_t* b = x + g * per;
        double part[8] = {0, 0, 0, 0, 0, 0, 0, 0};  // eight chains: no wait on one running sum
        int64_t i = 0;
        for (; i + 8 <= per; i += 8) {
          for (int k = 0; k < 8; ++k) {
            const double v = static_cast<double>(b[i + k]);
            part[k] += v * v;
          }
        }
        for (; i < per; ++i) {
          const double v = static_cast<double>(b[i]);
          part[0] += v * v;
        }
        sums[static_cast<size_t>(g)] +=
            ((part[0] + part[1]) + (part[2] + part[3])) + ((part[4] + part[5]) + (part[6] + part[7]));
      }
    });
  }
  if (device_sums.defined()) {
    const torch::Tensor s = device_sums.cpu().contiguous();
    for (int64_t g = 0; g < groups; ++g) sums[static_cast<size_t>(g)] += s.data_ptr<double>()[g];
  }
  for (double& s : sums) s = std::sqrt(s);
  return sums;
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
