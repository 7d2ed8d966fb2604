// The process environment of launchers (torchrun, reckoning launch, Slurm) and the c10d collectives
// of dist/process_group.h, with two ranks as two threads of this process on the loopback interface.
#include <gtest/gtest.h>

#include <future>
#include <map>
#include <thread>

#include "reckoning/base/error.h"
#include "reckoning/dist/launch.h"
#include "reckoning/dist/process_group.h"

namespace reckoning {
namespace {

DistEnv env_of(const std::map<std::string, std::string>& vars) {
  return dist_env_from([&](const char* name) -> const char* {
    auto it = vars.find(name);
    return it == vars.end() ? nullptr : it->second.c_str();
  });
}

std::string error_of(const std::map<std::string, std::string>& vars) {
  try {
    env_of(vars);
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(DistEnv, AloneWithoutLauncherVariables) {
  const DistEnv env = env_of({});
  EXPECT_FALSE(env.distributed());
  EXPECT_EQ(env.rank, 0);
  EXPECT_EQ(env.world_size, 1);
}

TEST(DistEnv, TorchrunVariables) {
  const DistEnv env = env_of({{"RANK", "3"}, {"WORLD_SIZE", "8"}, {"LOCAL_RANK", "1"}, {"LOCAL_WORLD_SIZE", "2"},
                              {"MASTER_ADDR", "node7"}, {"MASTER_PORT", "29611"},
                              {"TORCHELASTIC_USE_AGENT_STORE", "True"}, {"TORCHELASTIC_RESTART_COUNT", "2"}});
  EXPECT_TRUE(env.distributed());
  EXPECT_EQ(env.rank, 3);
  EXPECT_EQ(env.world_size, 8);
  EXPECT_EQ(env.local_rank, 1);
  EXPECT_EQ(env.local_world_size, 2);
  EXPECT_EQ(env.master_addr, "node7");
  EXPECT_EQ(env.master_port, 29611);
  EXPECT_TRUE(env.agent_store);
  EXPECT_EQ(env.restart_count, 2);
}

TEST(DistEnv, SlurmVariablesMapToRanks) {
  const DistEnv env = env_of({{"SLURM_PROCID", "5"}, {"SLURM_NTASKS", "8"}, {"SLURM_LOCALID", "1"},
                              {"SLURM_NTASKS_PER_NODE", "4(x2)"}, {"MASTER_ADDR", "10.0.0.1"}});
  EXPECT_EQ(env.rank, 5);
  EXPECT_EQ(env.world_size, 8);
  EXPECT_EQ(env.local_rank, 1);
  EXPECT_EQ(env.local_world_size, 4);
  EXPECT_EQ(env.master_port, 29500);  // PyTorch's default
  EXPECT_NE(env.source.find("SLURM"), std::string::npos);
  // torchrun's variables win over Slurm's (torchrun started inside an allocation).
  const DistEnv both = env_of({{"SLURM_PROCID", "5"}, {"SLURM_NTASKS", "8"}, {"RANK", "1"}, {"WORLD_SIZE", "2"},
                               {"MASTER_ADDR", "127.0.0.1"}});
  EXPECT_EQ(both.rank, 1);
  EXPECT_EQ(both.world_size, 2);
}

TEST(DistEnv, BadValuesNameTheVariable) {
  EXPECT_NE(error_of({{"RANK", "2"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}}).find("RANK"), std::string::npos);
  EXPECT_NE(error_of({{"RANK", "0"}, {"WORLD_SIZE", "two"}, {"MASTER_ADDR", "h"}}).find("WORLD_SIZE: expected an integer"),
            std::string::npos);
  EXPECT_NE(error_of({{"RANK", "0"}, {"WORLD_SIZE", "2"}}).find("MASTER_ADDR"), std::string::npos);
  EXPECT_NE(error_of({{"RANK", "0"}, {"WORLD_SIZE", "2"}, {"MASTER_ADDR", "h"}, {"MASTER_PORT", "70000"}}).find("MASTER_PORT"),
            std::string::npos);
  EXPECT_NE(error_of({{"RANK", "1"}, {"WORLD_SIZE", "4"}, {"LOCAL_RANK", "3"}, {"LOCAL_WORLD_SIZE", "2"},
                      {"MASTER_ADDR", "h"}}).find("LOCAL_RANK"),
            std::string::npos);
}

TEST(DistEnv, FingerprintSeesEveryByte) {
  torch::Tensor a = torch::arange(10, torch::kFloat32);
  torch::Tensor b = a.clone();
  EXPECT_EQ(tensors_fingerprint({a, b}), tensors_fingerprint({a.clone(), b.clone()}));
  b[7] = std::nextafter(7.0f, 8.0f);  // one ulp
  EXPECT_NE(tensors_fingerprint({a, b}), tensors_fingerprint({a, a}));
  EXPECT_NE(tensors_fingerprint({a, b}), tensors_fingerprint({b, a}));  // order counts
}


// Two ranks as two threads: `body(rank, group)` runs on each; their results come back in rank order.
template <typename F>
auto on_two_ranks(F body, double timeout = 20) {
  const int port = free_tcp_port("127.0.0.1");
  auto run = [&](int rank) {
    DistEnv env;
    env.rank = rank;
    env.world_size = 2;
    env.local_rank = rank;
    env.local_world_size = 2;
    env.master_addr = "127.0.0.1";
    env.master_port = port;
    std::shared_ptr<ProcessGroup> group = ProcessGroup::connect(env, "gloo", torch::kCPU, timeout);
    return body(rank, group);
  };
  auto second = std::async(std::launch::async, run, 1);
  auto first = run(0);
  return std::make_pair(first, second.get());
}

bool gloo_built() { return dist_backends_built().find("gloo") != std::string::npos; }

TEST(ProcessGroup, AllReduceSumsEveryTensorAcrossBuckets) {
  if (!gloo_built()) GTEST_SKIP() << "this build has no c10d Gloo backend";
  auto [a, b] = on_two_ranks([](int rank, std::shared_ptr<ProcessGroup> group) {
    // Mixed dtypes, a non-contiguous tensor and buckets of 64 bytes: several buckets, one per dtype run.
    std::vector<torch::Tensor> t{torch::full({5}, 1.0 + rank, torch::kFloat32),
                                 torch::arange(6, torch::kFloat64).reshape({2, 3}).t() * (rank + 1),
                                 torch::full({40}, 0.5 * rank, torch::kFloat32), torch::tensor({rank + 10}, torch::kInt64)};
    group->all_reduce_sum(t, "test sums", 64);
    EXPECT_EQ(group->bytes_communicated(), 5 * 4 + 6 * 8 + 40 * 4 + 8);
    return t;
  });
  for (const auto& t : {a, b}) {
    EXPECT_TRUE(torch::equal(t[0], torch::full({5}, 3.0, torch::kFloat32)));
    EXPECT_TRUE(torch::equal(t[1], torch::arange(6, torch::kFloat64).reshape({2, 3}).t() * 3));
    EXPECT_TRUE(torch::equal(t[2], torch::full({40}, 0.5, torch::kFloat32)));
    EXPECT_EQ(t[3].item<int64_t>(), 21);
  }
}

TEST(ProcessGroup, GatherTextBroadcastAndBarrier) {
  if (!gloo_built()) GTEST_SKIP() << "this build has no c10d Gloo backend";
  auto [a, b] = on_two_ranks([](int rank, std::shared_ptr<ProcessGroup> group) {
    std::string mine = rank == 0 ? std::string("short") : std::string(1000, 'x') + std::string(1, '\0') + "tail";
    std::vector<std::string> all = group->all_gather_text(mine, "test gather");
    std::vector<torch::Tensor> t{torch::full({3}, static_cast<double>(rank + 7))};
    group->broadcast(t, 1, "test broadcast");
    group->barrier("test barrier");
    all.push_back(std::to_string(t[0][2].item<double>()));
    return all;
  });
  for (const auto& all : {a, b}) {
    ASSERT_EQ(all.size(), 3u);
    EXPECT_EQ(all[0], "short");
    EXPECT_EQ(all[1].size(), 1005u);
    EXPECT_EQ(all[1].substr(1001), "tail");
    EXPECT_EQ(all[2], std::to_string(8.0));
  }
}

TEST(ProcessGroup, AMissingRankIsAnErrorNamingTheCollective) {
  if (!gloo_built()) GTEST_SKIP() << "this build has no c10d Gloo backend";
  const auto start = std::chrono::steady_clock::now();
  // Rank 1 joins the group but not the all-reduce: it waits until rank 0 has its error. The timeout
  // leaves the rendezvous room on a loaded machine (at 1 s it could time out there first).
  std::promise<void> rank0_done;
  std::shared_future<void> rank0_done_seen = rank0_done.get_future().share();
  auto [a, b] = on_two_ranks(
      [&](int rank, std::shared_ptr<ProcessGroup> group) {
        std::string message;
        if (rank == 0) {
          try {
            group->all_reduce_sum({torch::ones({4})}, "gradients of step 7");
          } catch (const Error& e) {
            message = e.what();
          }
          rank0_done.set_value();
        } else {
          rank0_done_seen.wait_for(std::chrono::seconds(60));  // never joins the all-reduce
        }
        return message;
      },
      /*timeout=*/3.0);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_NE(a.find("rank 0 of 2, collective 'gradients of step 7'"), std::string::npos) << a;
  EXPECT_NE(a.find("dist.timeout (3 s)"), std::string::npos) << a;
  EXPECT_NE(a.find("--resume"), std::string::npos) << a;
  EXPECT_LT(seconds, 20);
}

TEST(ProcessGroup, SingleProcessCommunicatesNothing) {
  std::shared_ptr<ProcessGroup> group = ProcessGroup::connect(DistEnv{}, "gloo", torch::kCPU, 1);
  std::vector<torch::Tensor> t{torch::ones({3})};
  group->all_reduce_sum(t, "nothing");
  EXPECT_TRUE(torch::equal(t[0], torch::ones({3})));
  EXPECT_EQ(group->all_gather_text("me", "nothing"), std::vector<std::string>{"me"});
  EXPECT_EQ(group->bytes_communicated(), 0);
  EXPECT_EQ(group->size(), 1);
  EXPECT_TRUE(group->main());
}

}  // namespace
}  // namespace reckoning
