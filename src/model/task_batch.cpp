// Task-batched products; see task_batch.h.
#include "reckoning/model/task_batch.h"

#include "reckoning/model/precision.h"

namespace reckoning {

namespace {

// x (R, ...) as (N, R / N, ...): the tasks' blocks of rows.
torch::Tensor by_task(const torch::Tensor& x, int64_t n, const char* who) {
  TORCH_CHECK(n > 0 && x.size(0) % n == 0, who, ": ", x.size(0), " rows are not ", n, " tasks' equal blocks");
  std::vector<int64_t> shape{n, x.size(0) / n};
  for (int64_t d = 1; d < x.dim(); ++d) shape.push_back(x.size(d));
  return x.reshape(shape);
}

// v (C) or (N, C) broadcast against x (N, R / N, ..., C): (1|N, 1, ..., 1, C).
torch::Tensor per_channel(const torch::Tensor& v, int64_t x_dim) {
  std::vector<int64_t> shape(static_cast<size_t>(x_dim), 1);
  shape.back() = v.size(-1);
  if (v.dim() == 2) shape.front() = v.size(0);
  return v.reshape(shape);
}

}  // namespace

int64_t task_count(const torch::Tensor& t, int64_t plain_dim) {
  return t.defined() && t.dim() > plain_dim ? t.size(0) : 0;
}

torch::Tensor task_broadcast(const torch::Tensor& v, int64_t dim) {
  if (v.dim() == 0) return v;
  TORCH_CHECK(v.dim() == 1 && dim >= 1, "task_broadcast: one value per task (N) over a tensor of at least one dimension");
  std::vector<int64_t> shape(static_cast<size_t>(dim), 1);
  shape.front() = v.size(0);
  return v.view(shape);
}

torch::Tensor task_matmul(const torch::Tensor& x2, const torch::Tensor& w, bool transposed, const torch::Tensor& bias) {
  const int64_t n = task_count(w, 2), nb = task_count(bias, 1);
  if (n == 0 && nb == 0) {  // shared weights: the plain product
    const torch::Tensor m = transposed ? w.t() : w;
    return bias.defined() ? mixed_addmm(bias, x2, m) : mixed_matmul(x2, m);
  }
  torch::Tensor y;
  if (n > 0) {
    y = mixed_matmul(by_task(x2, n, "task_matmul"), transposed ? w.transpose(1, 2) : w);  // (N, R / N, out)
  } else {
    y = by_task(mixed_matmul(x2, transposed ? w.t() : w), nb, "task_matmul");
  }
  if (bias.defined()) y = y + per_channel(bias, y.dim());
  return y.reshape({x2.size(0), y.size(-1)});
}

torch::Tensor task_affine(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b) {
  const int64_t n = std::max(task_count(w, 1), task_count(b, 1));
  if (n == 0) return b.defined() ? x * w + b : x * w;
  torch::Tensor y = by_task(x, n, "task_affine");
  y = y * per_channel(w, y.dim());
  if (b.defined()) y = y + per_channel(b, y.dim());
  return y.reshape(x.sizes());
}

torch::Tensor task_layer_norm(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b, double eps) {
  const int64_t c = x.size(-1);
  if (task_count(w, 1) == 0 && task_count(b, 1) == 0) return torch::layer_norm(x, {c}, w, b, eps);
  return task_affine(torch::layer_norm(x, {c}, {}, {}, eps), w, b);
}

torch::Tensor task_embedding(const torch::Tensor& table, const torch::Tensor& ids) {
  const int64_t rows = ids.size(0), T = ids.size(1);
  const int64_t n = task_count(table, 2);
  const int64_t V = table.size(-2), C = table.size(-1);
  if (n == 0) return table.index_select(0, ids.reshape(-1)).view({rows, T, C});
  TORCH_CHECK(rows % n == 0, "task_embedding: ", rows, " rows are not ", n, " tasks' equal blocks");
  // Row r belongs to task r / (rows / n): its ids index that task's block of the flattened table.
  const torch::Tensor offsets =
      torch::arange(rows, ids.options()).div(rows / n, "floor").mul(V).unsqueeze(1);  // (R, 1)
  return table.reshape({n * V, C}).index_select(0, (ids + offsets).reshape(-1)).view({rows, T, C});
}

torch::Tensor task_logits(const torch::Tensor& hidden, const torch::Tensor& head) {
  const int64_t n = task_count(head, 2);
  if (n == 0) return mixed_matmul(hidden, head.t());
  std::vector<int64_t> shape = hidden.sizes().vec();
  shape.back() = head.size(-2);
  const torch::Tensor h = by_task(hidden, n, "task_logits");                             // (N, R / N, ..., C)
  const torch::Tensor flat = h.reshape({n, -1, hidden.size(-1)});                       // (N, M, C)
  return mixed_matmul(flat, head.transpose(1, 2)).reshape(shape);                      // (R, ..., V)
}

}  // namespace reckoning
