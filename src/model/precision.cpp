// Mixed-precision matrix products; see precision.h.
#include "reckoning/model/precision.h"

#include "reckoning/base/error.h"
#include "reckoning/model/batched_matmul.h"

namespace reckoning {

namespace {

thread_local MatmulDtype current = MatmulDtype::Float32;

// True when the product of a and b should run in bfloat16.
bool lowered(const torch::Tensor& a, const torch::Tensor& b) {
  return current == MatmulDtype::BFloat16 && a.scalar_type() == torch::kFloat32 &&
         b.scalar_type() == torch::kFloat32;
}

}  // namespace

template <>
const std::vector<EnumName<MatmulDtype>>& enum_names<MatmulDtype>() {
  static const std::vector<EnumName<MatmulDtype>> table{{MatmulDtype::Float32, "float32"},
                                                        {MatmulDtype::BFloat16, "bfloat16"}};
  return table;
}

MatmulDtype matmul_dtype() { return current; }

MatmulDtypeScope::MatmulDtypeScope(MatmulDtype dtype) : previous_(current) { current = dtype; }
MatmulDtypeScope::~MatmulDtypeScope() { current = previous_; }

torch::Tensor mixed_matmul(const torch::Tensor& a, const torch::Tensor& b) {
  if (!lowered(a, b)) return batched_matmul(a, b);
  return torch::matmul(a.to(torch::kBFloat16), b.to(torch::kBFloat16)).to(torch::kFloat32);
}

torch::Tensor mixed_addmm(const torch::Tensor& bias, const torch::Tensor& a, const torch::Tensor& b) {
  if (!lowered(a, b)) return torch::addmm(bias, a, b);
  return torch::mm(a.to(torch::kBFloat16), b.to(torch::kBFloat16)).to(torch::kFloat32) + bias;
}

}  // namespace reckoning
