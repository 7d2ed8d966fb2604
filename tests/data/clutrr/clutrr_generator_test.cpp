// CLUTRR generator: every answer is the true genealogical relation (recomputed here from the
// simulated family with independent code) and the unique composition of its chain; determinism,
// noise, rendering, splits.
#include <set>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "reckoning/data/clutrr/clutrr_generator.h"
#include "reckoning/base/error.h"

using namespace reckoning;
using ::testing::HasSubstr;

namespace {

// Independent genealogy: the relation word of b to a, by ancestor sets rather than the library's
// case analysis. "" if none of the 22 words applies.
std::string true_word(const Family& f, int32_t a, int32_t b) {
  auto parents = [&](int32_t x) {
    std::set<int32_t> s;
    if (x >= 0 && f.people[x].father >= 0) s.insert(f.people[x].father);
    if (x >= 0 && f.people[x].mother >= 0) s.insert(f.people[x].mother);
    return s;
  };
  auto grandparents = [&](int32_t x) {
    std::set<int32_t> s;
    for (int32_t p : parents(x)) for (int32_t g : parents(p)) s.insert(g);
    return s;
  };
  auto siblings = [&](int32_t x) {
    std::set<int32_t> s;
    if (parents(x).empty()) return s;
    for (int32_t y = 0; y < static_cast<int32_t>(f.people.size()); ++y) {
      if (y != x && parents(y) == parents(x)) s.insert(y);
    }
    return s;
  };
  const bool male = f.people[b].gender == Gender::male;
  auto w = [&](const char* m, const char* fe) { return std::string(male ? m : fe); };
  const int32_t sa = f.people[a].spouse, sb = f.people[b].spouse;
  if (parents(b).count(a)) return w("son", "daughter");
  if (parents(a).count(b)) return w("father", "mother");
  if (sa == b) return w("husband", "wife");
  if (siblings(a).count(b)) return w("brother", "sister");
  if (grandparents(b).count(a)) return w("grandson", "granddaughter");
  if (grandparents(a).count(b)) return w("grandfather", "grandmother");
  if (sb >= 0 && parents(sb).count(a)) return w("son-in-law", "daughter-in-law");
  if (sa >= 0 && parents(sa).count(b)) return w("father-in-law", "mother-in-law");
  if ((sa >= 0 && siblings(sa).count(b)) || (sb >= 0 && siblings(a).count(sb))) {
    return w("brother-in-law", "sister-in-law");
  }
  for (int32_t p : parents(b)) if (siblings(a).count(p)) return w("nephew", "niece");
  for (int32_t p : parents(a)) if (siblings(p).count(b)) return w("uncle", "aunt");
  return "";
}

}  // namespace

TEST(ClutrrGenerator, AnswersAreTheGenealogyAndTheUniqueChainComposition) {
  for (int64_t hops : {1, 2, 3, 4, 6, 8, 10}) {
    for (ClutrrNoise noise : {ClutrrNoise::none, ClutrrNoise::supporting, ClutrrNoise::irrelevant,
                              ClutrrNoise::disconnected}) {
      ClutrrGeneratorOptions o;
      o.hops = hops;
      o.noise = noise;
      for (int i = 0; i < 40; ++i) {
        DataRng rng(data_seed_mix(7, std::to_string(hops * 1000 + i)));
        ClutrrProblem p = clutrr_problem_generate(rng, o);
        Task t = clutrr_problem_render(p, o, rng, "g");
        ASSERT_EQ(p.edges.size(), static_cast<size_t>(hops));
        ASSERT_EQ(t.hops, hops);
        // The answer is the true relation in the simulated family...
        EXPECT_EQ(t.answer, true_word(p.family, p.chain.front(), p.chain.back()));
        // ...and the unique composition of the chain's edge words under the rule base.
        std::vector<Kin> chain;
        std::set<int32_t> people;
        for (size_t k = 0; k < p.edges.size(); ++k) {
          const KinEdge& e = p.edges[k];
          EXPECT_EQ(e.from, p.chain[k]);
          EXPECT_EQ(e.to, p.chain[k + 1]);
          const std::string word = true_word(p.family, e.from, e.to);
          EXPECT_EQ(word, kin_word(e.kin, p.family.people[e.to].gender));
          chain.push_back(kin_word_parse(word)->kin);
          people.insert(e.from);
        }
        people.insert(p.chain.back());
        EXPECT_EQ(people.size(), p.chain.size()) << "chain persons must be distinct";
        auto composed = kin_chain_relation(chain);
        ASSERT_TRUE(composed.has_value());
        EXPECT_EQ(kin_word(*composed, p.family.people[p.chain.back()].gender), t.answer);
        // Noise edges are true relations too, and none of them is a chain edge.
        EXPECT_EQ(p.noise.size(), noise == ClutrrNoise::none ? 0u
                                  : noise == ClutrrNoise::supporting ? 2u : 1u);
        for (const KinEdge& e : p.noise) {
          EXPECT_EQ(true_word(p.family, e.from, e.to), kin_word(e.kin, p.family.people[e.to].gender));
        }
        if (noise == ClutrrNoise::disconnected) {
          EXPECT_FALSE(people.count(p.noise[0].from) || people.count(p.noise[0].to));
        }
        if (noise == ClutrrNoise::irrelevant) {
          EXPECT_TRUE(people.count(p.noise[0].from) && !people.count(p.noise[0].to));
        }
      }
    }
  }
}

TEST(ClutrrGenerator, DeterministicPerSeedAndIndependentOfOtherProblems) {
  ClutrrGenerateRequest r;
  r.hops = {2, 4};
  r.per_hop = 20;
  r.seed = 3;
  auto a = clutrr_generate(r).tasks;
  auto b = clutrr_generate(r).tasks;
  ASSERT_EQ(a.size(), 40u);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(task_to_json(a[i]), task_to_json(b[i]));
  r.hops = {4};
  auto c = clutrr_generate(r).tasks;
  EXPECT_EQ(task_to_json(c[5]), task_to_json(a[25]));  // same (seed, split, hops, index)
  r.seed = 4;
  EXPECT_NE(task_to_json(clutrr_generate(r).tasks[5]), task_to_json(a[25]));
}

TEST(ClutrrGenerator, LetterStyleAndSgFormatRoundTrip) {
  ClutrrGenerateRequest r;
  r.hops = {3};
  r.per_hop = 10;
  r.options.letters = true;
  r.options.noise = ClutrrNoise::supporting;
  r.sg_format = true;
  ClutrrGenerated g = clutrr_generate(r);
  for (const Task& t : g.tasks) {
    EXPECT_EQ(t.dataset(), "clutrr-sg");
    for (const std::string& f : t.facts) EXPECT_THAT(f, ::testing::MatchesRegex("[A-Z] [A-Z] [a-z-]+"));
    EXPECT_THAT(t.question, ::testing::MatchesRegex("How are [A-Z] and [A-Z] related to each other \\?"));
    EXPECT_EQ(t.distractors.size(), 2u);
  }
  for (size_t i = 0; i < g.sg_lines.size(); ++i) {
    ClutrrSgExample ex = clutrr_sg_parse_line(g.sg_lines[i], "gen");
    EXPECT_EQ(ex.answer, g.tasks[i].answer);
    EXPECT_EQ(ex.edges.size(), 3u);
    std::vector<Kin> chain;
    for (const auto& e : ex.edges) chain.push_back(kin_word_parse(e.word)->kin);
    EXPECT_EQ(kin_word(*kin_chain_relation(chain), kin_word_parse(ex.answer)->gender), ex.answer);
  }
}

TEST(ClutrrGenerator, SplitsHaveTheRequestedHopsAndNoOverlap) {
  ClutrrSplitRequest r;
  r.train_hops = {2, 3};
  r.test_hops = {2, 5};
  r.train_per_hop = 30;
  r.valid_per_hop = 5;
  r.test_per_hop = 10;
  ClutrrSplits s = clutrr_generate_splits(r);
  EXPECT_EQ(s.train.size(), 60u);
  EXPECT_EQ(s.valid.size(), 10u);
  EXPECT_EQ(s.test.size(), 20u);
  std::set<std::string> train;
  for (const Task& t : s.train) {
    EXPECT_TRUE(t.hops == 2 || t.hops == 3);
    train.insert(t.question + t.answer + t.facts[0] + t.facts[1]);
  }
  for (const Task& t : s.test) {
    EXPECT_TRUE(t.hops == 2 || t.hops == 5);
    if (t.hops == 2) {
      EXPECT_FALSE(train.count(t.question + t.answer + t.facts[0] + t.facts[1]));
    }
  }
}

TEST(ClutrrGenerator, BadOptionsAreErrors) {
  EXPECT_THROW(clutrr_noise_parse("loud"), Error);
  ClutrrGeneratorOptions o;
  o.hops = 12;
  o.family.generations = 2;
  o.max_attempts = 5;
  DataRng rng(1);
  try {
    clutrr_problem_generate(rng, o);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_THAT(std::string(e.what()), HasSubstr("a 12-hop chain with none noise within 5"));
  }
}
