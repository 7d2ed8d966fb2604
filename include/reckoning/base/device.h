// Where tensors live and run: "cpu" (default) or "cuda" / "cuda:N" when LibTorch was built with
// CUDA and sees a device. Everything a run creates (weights, rates, batches, optimizer state)
// follows the model's device; data are built on the CPU and moved once per task.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace reckoning {

// Parses "cpu", "cuda" or "cuda:N" (syntax only: a configuration naming a GPU still loads on a
// machine without one); anything else is refused naming `where` and the accepted values.
torch::Device device_from_name(const std::string& text, const std::string& where);
// Returns `device` if this process can use it; a CUDA device is refused with a message naming
// `where`, the accepted values and why (no CUDA in this LibTorch build, no device, index out of range).
torch::Device device_check_usable(const torch::Device& device, const std::string& where);
// Both: the device named `text`, usable here.
torch::Device device_parse(const std::string& text, const std::string& where);

std::string device_name(const torch::Device& device);  // "cpu", "cuda:0", "cuda" (no index)

// Whether this LibTorch build has CUDA and sees at least one device.
bool cuda_available();

// The L2 norm over all defined tensors together, read to the host once (on a GPU, one
// synchronisation rather than one per tensor). 0 when there is none.
double global_norm(const std::vector<torch::Tensor>& tensors);

// The global norm of each of `groups` groups: every tensor split along dimension 0 into `groups`
// equal blocks (1: the tensor whole), block g belonging to group g (a task-batched tensor's tasks),
// undefined tensors skipped. The squares are summed in double - in one pass over the elements for
// CPU float32 / float64 tensors (deterministic: fixed partial sums), as tensor operations with one
// read to the host otherwise. Not differentiable (a value for traces and decisions).
std::vector<double> group_norms(const std::vector<torch::Tensor>& tensors, int64_t groups);

// Waits for the device's queued work (no-op on the CPU): for timing.
void device_synchronize(const torch::Device& device);

// Peak bytes held by tensors on a CUDA device since the last reset (the caching allocator's
// statistics); -1 on the CPU (use resources.h) or without CUDA.
int64_t device_peak_memory_bytes(const torch::Device& device);
void device_reset_peak_memory(const torch::Device& device);

}  // namespace reckoning
