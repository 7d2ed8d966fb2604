// Task-batched weights: many tasks' fast weights carried through one forward pass (the inner loop
// adapts a whole micro-batch of tasks at once, each with its own weights).
//
// - A weight tensor with one more leading dimension than its spec holds one tensor per task along
//   dimension 0 (N tasks); a tensor of its spec's shape is shared by all tasks. Both may appear in
//   one model (an inner loop that adapts some weights only).
// - Activations keep their (R, T, C) layout with R = N x rows: each task's sequences are one
//   contiguous block of R / N rows, in task order. Attention, GELU, rotary embeddings work per
//   sequence and need nothing; the products with a task's weights run as one batched product
//   (N, R / N x T, in) x (N, in, out).
// - The helpers here are what the families' forward passes (gpt2.cpp, llama.cpp), the LoRA path and
//   the losses call; with shared (plain) weights each is exactly the operation it replaces.
// Not here: padding tasks to one batch (loss.h, lm_batch_stack), the inner loop (inner_loop.h).
#pragma once

#include <cstdint>
#include <vector>

#include <torch/torch.h>

namespace reckoning {

// How many tasks `t` holds along dimension 0 when it has more than `plain_dim` dimensions; 0 when it
// is a shared (plain) tensor or undefined.
int64_t task_count(const torch::Tensor& t, int64_t plain_dim);

// One value per task, v (N), shaped (N, 1, ..., 1) to broadcast over a task-batched tensor of `dim`
// dimensions (a per-task rate or scale); a 0-dim v as it is.
torch::Tensor task_broadcast(const torch::Tensor& v, int64_t dim);

// x2 (R, in) times a matrix, plus an optional bias: w (in, out) or (N, in, out) gives x2 w; with
// `transposed`, w (out, in) or (N, out, in) gives x2 w^T (a Linear layer). bias (out) or (N, out).
// Returns (R, out). Products follow precision.h.
torch::Tensor task_matmul(const torch::Tensor& x2, const torch::Tensor& w, bool transposed,
                          const torch::Tensor& bias = {});

// x (R, ..., C) times a per-channel vector w (C) or (N, C) (a norm's weight); plus b likewise when
// defined. Shared vectors broadcast as before.
torch::Tensor task_affine(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b = {});

// LayerNorm over the last dimension with weight and bias (C) or (N, C) (torch::layer_norm when shared).
torch::Tensor task_layer_norm(const torch::Tensor& x, const torch::Tensor& w, const torch::Tensor& b, double eps);

// Rows of an embedding table (V, C) or (N, V, C): ids (R, T) -> (R, T, C).
torch::Tensor task_embedding(const torch::Tensor& table, const torch::Tensor& ids);

// Logits through an output matrix (V, C) or (N, V, C): hidden (R, ..., C) -> (R, ..., V).
torch::Tensor task_logits(const torch::Tensor& hidden, const torch::Tensor& head);

}  // namespace reckoning
