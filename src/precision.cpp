// Mixed-precision matrix products; see precision.h.
#include "reckoning/precision.h"

#include "reckoning/error.h"

namespace reckoning {

namespace {

thread_local MatmulDtype current = MatmulDtype::Float32;

// True when the product of a and b should run in bfloat16.
bool lowered(const torch::Tensor& a, const torch::Tensor& b) {
  return current == MatmulDtype::BFloat16 && a.scalar_type() == torch::kFloat32 &&
         b.scalar_type() == torch::kFloat32;
}

}  // namespace

MatmulDtype matmul_dtype_parse(const std::string& text, const std::string& where) {
  if (text == "float32") return MatmulDtype::Float32;
  if (text == "bfloat16") return MatmulDtype::BFloat16;
  throw_error(where, "float32 or bfloat16", "'" + text + "'");
}

std::string matmul_dtype_name(MatmulDtype dtype) {
  return dtype == MatmulDtype::BFloat16 ? "bfloat16" : "float32";
}

MatmulDtype matmul_dtype() { return current; }

MatmulDtypeScope::MatmulDtypeScope(MatmulDtype dtype) : previous_(current) { current = dtype; }
MatmulDtypeScope::~MatmulDtypeScope() { current = previous_; }

torch::Tensor mixed_matmul(const torch::Tensor& a, const torch::Tensor& b) {
  if (!lowered(a, b)) return torch::matmul(a, b);
  return torch::matmul(a.to(torch::kBFloat16), b.to(torch::kBFloat16)).to(torch::kFloat32);
}

torch::Tensor mixed_addmm(const torch::Tensor& bias, const torch::Tensor& a, const torch::Tensor& b) {
  if (!lowered(a, b)) return torch::addmm(bias, a, b);
  return torch::mm(a.to(torch::kBFloat16), b.to(torch::kBFloat16)).to(torch::kFloat32) + bias;
}

}  // namespace reckoning
