// Several processes working as one run, on LibTorch's own distributed engine, c10d: a TCPStore
// rendezvous and a Gloo (CPU) or NCCL (CUDA, where the LibTorch build has it) process group.
//
// Where a process sits among the others comes from the environment that launchers set:
// `reckoning launch` and torchrun (RANK, WORLD_SIZE, LOCAL_RANK, LOCAL_WORLD_SIZE, MASTER_ADDR,
// MASTER_PORT; TORCHELASTIC_USE_AGENT_STORE when torchrun's agent already hosts the store), or
// Slurm's srun (SLURM_PROCID, SLURM_NTASKS, SLURM_LOCALID, SLURM_NTASKS_PER_NODE; MASTER_ADDR and
// MASTER_PORT still set by the job script). Without any of them the process is alone (world 1)
// and nothing is communicated.
//
// Every collective has a name (`what`, e.g. "gradients of step 12"): when another process died
// or does not answer within the timeout, the error says which collective and what to do, instead
// of the process hanging forever.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <torch/torch.h>

namespace reckoning {

struct DistEnv {
  int rank = 0, world_size = 1;
  int local_rank = 0, local_world_size = 1;
  std::string master_addr = "127.0.0.1";
  int master_port = 29500;
  bool agent_store = false;  // torchrun's agent hosts the TCPStore: every rank connects as a client
  int restart_count = 0;     // TORCHELASTIC_RESTART_COUNT (the store's key prefix under the agent)
  std::string source = "one process";  // which variables said so
  bool distributed() const { return world_size > 1; }
};

// The environment read through `lookup` (getenv's contract: nullptr = unset). RANK / WORLD_SIZE
// win over Slurm's variables; a malformed or inconsistent value is an error naming the variable.
DistEnv dist_env_from(const std::function<const char*(const char*)>& lookup);
// This process's environment.
DistEnv dist_env();

class ProcessGroup {
 public:
  ~ProcessGroup();
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  // A group of one: every collective returns at once, nothing is communicated.
  static std::shared_ptr<ProcessGroup> single();
  // Rendezvous at env.master_addr:master_port (rank 0 hosts the TCPStore unless torchrun's agent
  // does), then a process group on `backend` ("gloo" or "nccl"; "auto" = nccl for a CUDA device
  // where built, else gloo). Throws naming the address when the others do not come within
  // `timeout_seconds`, or when this build has no such backend.
  static std::shared_ptr<ProcessGroup> connect(const DistEnv& env, const std::string& backend,
                                               const torch::Device& device, double timeout_seconds);

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool main() const { return rank_ == 0; }
  const std::string& backend() const { return backend_; }

  // Sums `tensors` over the processes, in place. Tensors of one dtype and device go flattened into
  // buckets of at most `bucket_bytes` (a tensor larger than that is a bucket of its own); every
  // bucket's all-reduce is started before the first is waited for. Every process must pass the
  // same list (shapes, dtypes, order).
  void all_reduce_sum(const std::vector<torch::Tensor>& tensors, const std::string& what,
                      size_t bucket_bytes = size_t{25} << 20);
  // Every process's `mine`, in rank order.
  std::vector<std::string> all_gather_text(const std::string& mine, const std::string& what);
  // `tensors` from process `root` copied into every other process's.
  void broadcast(const std::vector<torch::Tensor>& tensors, int root, const std::string& what);
  void barrier(const std::string& what);

  // Payload bytes this process has put into collectives so far (the tensors' own sizes; a ring
  // all-reduce sends about 2 (N - 1) / N times that over the wire).
  int64_t bytes_communicated() const { return bytes_; }

 private:
  ProcessGroup() = default;
  struct Impl;
  std::unique_ptr<Impl> impl_;
  int rank_ = 0, size_ = 1;
  std::string backend_ = "none";
  double timeout_seconds_ = 0;
  int64_t bytes_ = 0;
  // Runs a collective, turning the backend's failure into an Error naming `what`.
  void guarded(const std::string& what, const std::function<void()>& body);
};

// The process group of this process, connected once (dist_env(), the backend, device and timeout
// of the first call) and shared by every later caller (training, its test set, evaluation).
std::shared_ptr<ProcessGroup> process_group(const std::string& backend, const torch::Device& device,
                                            double timeout_seconds);

// Whether this build can run several processes: "gloo", "gloo, nccl", or "" (no c10d backend).
std::string dist_backends_built();

// A 64-bit fingerprint of tensors' bytes (FNV-1a over each tensor's CPU copy, in order): equal
// weights give equal fingerprints, on any process.
uint64_t tensors_fingerprint(const std::vector<torch::Tensor>& tensors);

}  // namespace reckoning
