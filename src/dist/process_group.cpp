// Several processes on c10d; see process_group.h.
#include "reckoning/dist/process_group.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <cstdlib>
#include <map>
#include <mutex>

#include "reckoning/base/error.h"

#ifdef RECKONING_WITH_GLOO
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#endif
#ifdef RECKONING_WITH_NCCL
#include <c10/cuda/CUDAFunctions.h>
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace reckoning {

namespace {

// An integer environment variable in [lo, hi]; `fallback` when unset.
int env_int(const std::function<const char*(const char*)>& lookup, const char* name, int fallback, int lo, int hi) {
  const char* value = lookup(name);
  if (value == nullptr || *value == '\0') return fallback;
  const std::string text = value;
  const std::string where = str("environment variable ", name);
  char* end = nullptr;
  errno = 0;
  const long long v = std::strtoll(text.c_str(), &end, 10);
  check(end != text.c_str() && *end == '\0' && errno == 0, where, "an integer", str("'", text, "'"));
  check(v >= lo && v <= hi, where, str("an integer in [", lo, ", ", hi, "]"), text);
  return static_cast<int>(v);
}

std::string env_text(const std::function<const char*(const char*)>& lookup, const char* name, const std::string& fallback) {
  const char* value = lookup(name);
  return value == nullptr || *value == '\0' ? fallback : std::string(value);
}

// Slurm's tasks per node: "4", "4(x2)" or "4(x2),3" (the first node's count is this job's shape
// on the first nodes; with an uneven layout the local world is not one number and 0 is returned).
int slurm_tasks_per_node(const std::string& text) {
  if (text.empty()) return 0;
  size_t used = 0;
  int n = 0;
  try {
    n = std::stoi(text, &used);
  } catch (const std::exception&) {
    return 0;
  }
  const std::string rest = text.substr(used);
  return rest.empty() || (rest.rfind("(x", 0) == 0 && rest.find(',') == std::string::npos) ? n : 0;
}

}  // namespace

DistEnv dist_env_from(const std::function<const char*(const char*)>& lookup) {
  DistEnv env;
  constexpr int kMaxRanks = 1 << 20;
  const bool torchrun = lookup("WORLD_SIZE") != nullptr || lookup("RANK") != nullptr;
  const bool slurm = !torchrun && lookup("SLURM_PROCID") != nullptr && lookup("SLURM_NTASKS") != nullptr;
  if (torchrun) {
    env.world_size = env_int(lookup, "WORLD_SIZE", 1, 1, kMaxRanks);
    env.rank = env_int(lookup, "RANK", 0, 0, kMaxRanks - 1);
    env.local_rank = env_int(lookup, "LOCAL_RANK", env.rank, 0, kMaxRanks - 1);
    env.local_world_size = env_int(lookup, "LOCAL_WORLD_SIZE", env.world_size, 1, kMaxRanks);
    env.source = "RANK / WORLD_SIZE (torchrun, reckoning launch)";
  } else if (slurm) {
    env.world_size = env_int(lookup, "SLURM_NTASKS", 1, 1, kMaxRanks);
    env.rank = env_int(lookup, "SLURM_PROCID", 0, 0, kMaxRanks - 1);
    env.local_rank = env_int(lookup, "SLURM_LOCALID", 0, 0, kMaxRanks - 1);
    const int per_node = slurm_tasks_per_node(env_text(lookup, "SLURM_NTASKS_PER_NODE", ""));
    env.local_world_size = per_node > 0 ? per_node : env.world_size;
    env.source = "SLURM_PROCID / SLURM_NTASKS (srun)";
  }
  if (!env.distributed() && env.rank == 0) return env;
  check(env.rank < env.world_size, torchrun ? "environment variable RANK" : "environment variable SLURM_PROCID",
        str("a rank below the world size ", env.world_size), std::to_string(env.rank));
  check(env.local_rank < env.local_world_size, "environment variable LOCAL_RANK",
        str("a local rank below the local world size ", env.local_world_size), std::to_string(env.local_rank));
  env.master_addr = env_text(lookup, "MASTER_ADDR", "");
  check(!env.master_addr.empty(), "environment variable MASTER_ADDR",
        str("the address of rank 0's host (set by torchrun and reckoning launch; under Slurm: "
            "export MASTER_ADDR=$(scontrol show hostnames \"$SLURM_JOB_NODELIST\" | head -n 1)), as ",
            env.source, " say ", env.world_size, " processes"),
        "nothing");
  env.master_port = env_int(lookup, "MASTER_PORT", 29500, 1, 65535);
  const std::string agent = env_text(lookup, "TORCHELASTIC_USE_AGENT_STORE", "");
  env.agent_store = agent == "True" || agent == "true" || agent == "1";
  env.restart_count = env_int(lookup, "TORCHELASTIC_RESTART_COUNT", 0, 0, 1 << 30);
  return env;
}

DistEnv dist_env() {
  return dist_env_from([](const char* name) -> const char* { return std::getenv(name); });
}

std::string dist_backends_built() {
  std::string out;
#ifdef RECKONING_WITH_GLOO
  out = "gloo";
#endif
#ifdef RECKONING_WITH_NCCL
  out += out.empty() ? "nccl" : ", nccl";
#endif
  return out;
}

struct ProcessGroup::Impl {
#ifdef RECKONING_WITH_GLOO
  c10::intrusive_ptr<c10d::Store> store;
#if defined(RECKONING_WITH_NCCL)
  c10::intrusive_ptr<c10d::ProcessGroupNCCL> nccl;
#endif
  c10::intrusive_ptr<c10d::ProcessGroupGloo> gloo;
  // The collective calls of whichever backend is in use.
  template <typename F>
  auto run(F&& f) {
#if defined(RECKONING_WITH_NCCL)
    if (nccl) return f(*nccl);
#endif
    return f(*gloo);
  }
#endif
};

ProcessGroup::~ProcessGroup() = default;

std::shared_ptr<ProcessGroup> ProcessGroup::single() { return std::shared_ptr<ProcessGroup>(new ProcessGroup()); }

std::shared_ptr<ProcessGroup> ProcessGroup::connect(const DistEnv& env, const std::string& backend,
                                                    const torch::Device& device, double timeout_seconds) {
  std::shared_ptr<ProcessGroup> group(new ProcessGroup());
  if (!env.distributed()) return group;
  std::string chosen = backend;
  if (chosen == "auto") chosen = device.is_cuda() && dist_backends_built().find("nccl") != std::string::npos ? "nccl" : "gloo";
  check(chosen == "gloo" || chosen == "nccl", "configuration key 'dist.backend'", "'auto', 'gloo' or 'nccl'", chosen);
  const std::string built = dist_backends_built();
  check(built.find(chosen) != std::string::npos, str("distributed run (", env.world_size, " processes, ", env.source, ")"),
        str("a LibTorch build with c10d's ", chosen, " backend (this build has: ",
            built.empty() ? "none; install libgloo-dev and rebuild" : built, ")"),
        "none");
  group->rank_ = env.rank;
  group->size_ = env.world_size;
  group->backend_ = chosen;
  group->timeout_seconds_ = timeout_seconds;
  group->impl_ = std::make_unique<Impl>();
#ifdef RECKONING_WITH_GLOO
  const auto timeout = std::chrono::milliseconds(static_cast<int64_t>(timeout_seconds * 1000));
  const std::string where = str("rendezvous of ", env.world_size, " processes at ", env.master_addr, ":",
                                env.master_port, " (rank ", env.rank, ")");
  try {
    c10d::TCPStoreOptions options;
    options.port = static_cast<uint16_t>(env.master_port);
    options.isServer = env.rank == 0 && !env.agent_store;
    options.numWorkers = env.world_size;
    options.waitWorkers = false;
    options.timeout = timeout;
    c10::intrusive_ptr<c10d::Store> store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, options);
    // torchrun's agent store is shared by restarts: each attempt under its own prefix (as
    // PyTorch's env:// rendezvous does), and reckoning's keys under their own.
    const std::string prefix =
        env.agent_store ? str("/worker/attempt_", env.restart_count, "/reckoning") : std::string("/reckoning");
    group->impl_->store = c10::make_intrusive<c10d::PrefixStore>(prefix, store);
  } catch (const std::exception& e) {
    throw Error(str(where, ": expected the store to be reachable within dist.timeout (", timeout_seconds,
                    " s), got: ", e.what()));
  }
  try {
    if (chosen == "nccl") {
#ifdef RECKONING_WITH_NCCL
      // This process's GPU (device's index, else cuda:LOCAL_RANK) is current for NCCL's own tensors.
      c10::cuda::set_device(device.has_index() ? device.index() : static_cast<c10::DeviceIndex>(env.local_rank));
      auto options = c10d::ProcessGroupNCCL::Options::create();
      options->timeout = timeout;
      group->impl_->nccl =
          c10::make_intrusive<c10d::ProcessGroupNCCL>(group->impl_->store, env.rank, env.world_size, options);
#endif
    } else {
      auto options = c10d::ProcessGroupGloo::Options::create();
      options->timeout = timeout;
      // Loopback for a one-machine run; GLOO_SOCKET_IFNAME names the interface on a cluster;
      // otherwise the address this host's name resolves to.
      const char* ifname = std::getenv("GLOO_SOCKET_IFNAME");
      if (ifname != nullptr && *ifname != '\0') {
        options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(ifname));
      } else if (env.master_addr == "127.0.0.1" || env.master_addr == "localhost") {
        options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
      } else {
        options->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
      }
      group->impl_->gloo =
          c10::make_intrusive<c10d::ProcessGroupGloo>(group->impl_->store, env.rank, env.world_size, options);
    }
  } catch (const std::exception& e) {
    throw Error(str(where, ": expected every process to join the ", chosen, " group within dist.timeout (",
                    timeout_seconds, " s), got: ", e.what()));
  }
#endif
  return group;
}

void ProcessGroup::guarded(const std::string& what, const std::function<void()>& body) {
  try {
    body();
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    std::string message = e.what();
    if (message.size() > 600) message = message.substr(0, 600) + " ...";
    throw Error(str("rank ", rank_, " of ", size_, ", collective '", what, "' (", backend_,
                    "): expected every process to take part within dist.timeout (", timeout_seconds_,
                    " s), got: ", message,
                    " - another process stopped or hangs; the last checkpoint is intact, restart the run with --resume"));
  }
}

void ProcessGroup::all_reduce_sum(const std::vector<torch::Tensor>& tensors, const std::string& what, size_t bucket_bytes) {
  if (size_ == 1 || tensors.empty()) return;
#ifdef RECKONING_WITH_GLOO
  // Buckets: consecutive tensors of one dtype and device, up to bucket_bytes.
  std::vector<std::vector<size_t>> buckets;
  size_t filled = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const torch::Tensor& t = tensors[i];
    TORCH_INTERNAL_ASSERT(t.defined(), "all_reduce_sum of an undefined tensor");
    const size_t bytes = static_cast<size_t>(t.numel()) * t.element_size();
    const bool fits = !buckets.empty() && filled + bytes <= bucket_bytes &&
                      tensors[buckets.back().front()].scalar_type() == t.scalar_type() &&
                      tensors[buckets.back().front()].device() == t.device();
    if (!fits) {
      buckets.emplace_back();
      filled = 0;
    }
    buckets.back().push_back(i);
    filled += bytes;
    bytes_ += static_cast<int64_t>(bytes);
  }
  guarded(what, [&] {
    std::vector<std::vector<at::Tensor>> flat(buckets.size());
    std::vector<c10::intrusive_ptr<c10d::Work>> work;
    for (size_t b = 0; b < buckets.size(); ++b) {
      std::vector<torch::Tensor> parts;
      for (size_t i : buckets[b]) parts.push_back(tensors[i].detach().reshape({-1}));
      flat[b].push_back(parts.size() == 1 && tensors[buckets[b].front()].is_contiguous() ? parts.front() : torch::cat(parts));
      work.push_back(impl_->run([&](auto& pg) { return pg.allreduce(flat[b]); }));
    }
    for (size_t b = 0; b < buckets.size(); ++b) {
      work[b]->wait();
      int64_t offset = 0;
      torch::NoGradGuard no_grad;
      for (size_t i : buckets[b]) {
        torch::Tensor t = tensors[i];
        const int64_t n = t.numel();
        torch::Tensor part = flat[b].front().narrow(0, offset, n).view(t.sizes());
        if (part.data_ptr() != t.data_ptr()) t.copy_(part);  // (a bucket of one reduced in place)
        offset += n;
      }
    }
  });
#endif
}

std::vector<std::string> ProcessGroup::all_gather_text(const std::string& mine, const std::string& what) {
  if (size_ == 1) return {mine};
  std::vector<std::string> out(static_cast<size_t>(size_));
#ifdef RECKONING_WITH_GLOO
  guarded(what, [&] {
    // NCCL gathers CUDA tensors (of this process's current device), Gloo CPU ones.
    const torch::Device device = backend_ == "nccl" ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
    // Lengths first, then every text padded to the longest.
    std::vector<at::Tensor> length{torch::tensor({static_cast<int64_t>(mine.size())}, torch::kInt64).to(device)};
    std::vector<std::vector<at::Tensor>> lengths(1);
    for (int r = 0; r < size_; ++r) lengths[0].push_back(torch::zeros({1}, torch::kInt64).to(device));
    impl_->run([&](auto& pg) { return pg.allgather(lengths, length); })->wait();
    int64_t longest = 1;
    std::vector<int64_t> sizes;
    for (const auto& l : lengths[0]) {
      sizes.push_back(l.cpu().item<int64_t>());
      longest = std::max(longest, sizes.back());
    }
    torch::Tensor bytes = torch::zeros({longest}, torch::kUInt8);
    std::memcpy(bytes.data_ptr<uint8_t>(), mine.data(), mine.size());
    std::vector<at::Tensor> input{bytes.to(device)};
    std::vector<std::vector<at::Tensor>> gathered(1);
    for (int r = 0; r < size_; ++r) gathered[0].push_back(torch::zeros({longest}, torch::kUInt8).to(device));
    impl_->run([&](auto& pg) { return pg.allgather(gathered, input); })->wait();
    bytes_ += longest + 8;
    for (int r = 0; r < size_; ++r) {
      const torch::Tensor host = gathered[0][static_cast<size_t>(r)].cpu().contiguous();
      out[static_cast<size_t>(r)].assign(reinterpret_cast<const char*>(host.data_ptr<uint8_t>()),
                                         static_cast<size_t>(sizes[static_cast<size_t>(r)]));
    }
  });
#endif
  return out;
}

void ProcessGroup::broadcast(const std::vector<torch::Tensor>& tensors, int root, const std::string& what) {
  if (size_ == 1 || tensors.empty()) return;
#ifdef RECKONING_WITH_GLOO
  guarded(what, [&] {
    c10d::BroadcastOptions options;
    options.rootRank = root;
    for (const torch::Tensor& t : tensors) {
      std::vector<at::Tensor> one{t.detach()};
      impl_->run([&](auto& pg) { return pg.broadcast(one, options); })->wait();
      bytes_ += static_cast<int64_t>(t.numel() * t.element_size());
    }
  });
#endif
}

void ProcessGroup::barrier(const std::string& what) {
  if (size_ == 1) return;
#ifdef RECKONING_WITH_GLOO
  guarded(what, [&] { impl_->run([](auto& pg) { return pg.barrier(); })->wait(); });
#endif
}

std::shared_ptr<ProcessGroup> process_group(const std::string& backend, const torch::Device& device,
                                            double timeout_seconds) {
  static std::mutex mutex;
  // Never destroyed: at exit after a failed collective, Gloo's destructor would first wait out
  // every queued collective, each up to the timeout; the process ends without it.
  static auto* group = new std::shared_ptr<ProcessGroup>();
  std::lock_guard<std::mutex> lock(mutex);
  if (!*group) *group = ProcessGroup::connect(dist_env(), backend, device, timeout_seconds);
  return *group;
}

uint64_t tensors_fingerprint(const std::vector<torch::Tensor>& tensors) {
  uint64_t h = 1469598103934665603ULL;
  for (const torch::Tensor& t : tensors) {
    if (!t.defined()) continue;
    const torch::Tensor host = t.detach().to(torch::kCPU).contiguous();
    const auto* p = static_cast<const unsigned char*>(host.data_ptr());
    const size_t n = static_cast<size_t>(host.numel()) * host.element_size();
    for (size_t i = 0; i < n; ++i) {
      h ^= p[i];
      h *= 1099511628211ULL;
    }
  }
  return h;
}

}  // namespace reckoning
