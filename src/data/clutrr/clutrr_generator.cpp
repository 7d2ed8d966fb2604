// CLUTRR-style generator; see clutrr_generator.h.
#include "reckoning/data/clutrr/clutrr_generator.h"

#include <algorithm>
#include <set>

#include "reckoning/data/clutrr/clutrr.h"
#include "reckoning/base/error.h"

namespace reckoning {

namespace {

const std::vector<std::string>& male_names() {
  static const std::vector<std::string> v{
      "James", "John", "Robert", "Michael", "William", "David", "Richard", "Joseph", "Thomas",
      "Charles", "Daniel", "Matthew", "Anthony", "Mark", "Donald", "Steven", "Paul", "Andrew",
      "Joshua", "Kenneth", "Kevin", "Brian", "George", "Edward", "Ronald", "Timothy", "Jason",
      "Jeffrey", "Ryan", "Jacob", "Gary", "Nicholas", "Eric", "Jonathan", "Stephen", "Larry",
      "Justin", "Scott", "Brandon", "Benjamin", "Samuel", "Gregory", "Frank", "Alexander",
      "Raymond", "Patrick", "Jack", "Dennis", "Jerry", "Tyler", "Aaron", "Jose", "Adam", "Henry",
      "Nathan", "Douglas", "Zachary", "Peter", "Kyle", "Walter", "Ethan", "Jeremy", "Harold",
      "Keith"};
  return v;
}

const std::vector<std::string>& female_names() {
  static const std::vector<std::string> v{
      "Mary", "Patricia", "Jennifer", "Linda", "Elizabeth", "Barbara", "Susan", "Jessica",
      "Sarah", "Karen", "Nancy", "Lisa", "Betty", "Margaret", "Sandra", "Ashley", "Kimberly",
      "Emily", "Donna", "Michelle", "Dorothy", "Carol", "Amanda", "Melissa", "Deborah",
      "Stephanie", "Rebecca", "Sharon", "Laura", "Cynthia", "Kathleen", "Amy", "Shirley",
      "Angela", "Helen", "Anna", "Brenda", "Pamela", "Nicole", "Emma", "Samantha", "Katherine",
      "Christine", "Debra", "Rachel", "Catherine", "Carolyn", "Janet", "Ruth", "Maria", "Heather",
      "Diane", "Virginia", "Julie", "Joyce", "Victoria", "Olivia", "Kelly", "Christina", "Lauren",
      "Joan", "Evelyn", "Judith", "Megan"};
  return v;
}

struct NamePool {
  DataRng& rng;
  std::vector<std::string> male = male_names(), female = female_names();
  int64_t used_male = 0, used_female = 0;
  std::string draw(Gender g) {
    std::vector<std::string>& pool = g == Gender::male ? male : female;
    int64_t& used = g == Gender::male ? used_male : used_female;
    const size_t n = pool.size();
    const size_t k = static_cast<size_t>(used) % n;
    // Partial Fisher-Yates: names stay distinct until the pool is exhausted, then get a suffix.
    std::swap(pool[k], pool[k + rng.uniform(n - k)]);
    std::string name = pool[k];
    if (used >= static_cast<int64_t>(n)) name += str(" ", used / static_cast<int64_t>(n) + 1);
    ++used;
    return name;
  }
};

Gender random_gender(DataRng& rng) { return rng.bernoulli(0.5) ? Gender::male : Gender::female; }
Gender other(Gender g) { return g == Gender::male ? Gender::female : Gender::male; }

bool is_parent(const Family& f, int32_t parent, int32_t child) {
  return f.people[child].father == parent || f.people[child].mother == parent;
}
bool is_sibling(const Family& f, int32_t a, int32_t b) {
  return a != b && f.people[a].father >= 0 && f.people[a].father == f.people[b].father &&
         f.people[a].mother == f.people[b].mother;
}

}  // namespace

Family family_simulate(DataRng& rng, const FamilyOptions& options) {
  check(options.generations >= 1, "family options", "generations >= 1",
        std::to_string(options.generations));
  check(options.min_children >= 0 && options.max_children >= options.min_children,
        "family options", "0 <= min_children <= max_children",
        str(options.min_children, "..", options.max_children));
  Family f;
  NamePool names{rng};
  auto add = [&](Gender g, int32_t generation) {
    FamilyPerson p;
    p.gender = g;
    p.name = names.draw(g);
    p.generation = generation;
    f.people.push_back(p);
    return static_cast<int32_t>(f.people.size() - 1);
  };
  auto marry = [&](int32_t a) {
    int32_t b = add(other(f.people[a].gender), f.people[a].generation);
    f.people[a].spouse = b;
    f.people[b].spouse = a;
    return b;
  };
  std::vector<int32_t> couples{add(Gender::male, 0)};
  marry(couples[0]);
  for (int32_t g = 1; g < options.generations; ++g) {
    std::vector<int32_t> next;
    for (int32_t a : couples) {
      const int32_t b = f.people[a].spouse;
      const int32_t father = f.people[a].gender == Gender::male ? a : b;
      const int32_t mother = father == a ? b : a;
      const int64_t n = rng.range(options.min_children, options.max_children);
      for (int64_t i = 0; i < n; ++i) {
        int32_t c = add(random_gender(rng), g);
        f.people[c].father = father;
        f.people[c].mother = mother;
        if (rng.bernoulli(options.p_marry)) {
          marry(c);
          next.push_back(c);
        }
      }
    }
    couples = std::move(next);
  }
  return f;
}

std::optional<Kin> family_relation(const Family& f, int32_t a, int32_t b) {
  if (a == b) return std::nullopt;
  const FamilyPerson& pa = f.people[a];
  const FamilyPerson& pb = f.people[b];
  if (is_parent(f, a, b)) return Kin::child;
  if (is_parent(f, b, a)) return Kin::inv_child;
  if (pa.spouse == b) return Kin::so;
  if (is_sibling(f, a, b)) return Kin::sibling;
  for (int32_t p : {pb.father, pb.mother}) {
    if (p >= 0 && is_parent(f, a, p)) return Kin::grand;
  }
  for (int32_t p : {pa.father, pa.mother}) {
    if (p >= 0 && is_parent(f, b, p)) return Kin::inv_grand;
  }
  if (pb.spouse >= 0 && is_parent(f, a, pb.spouse)) return Kin::in_law;
  if (pa.spouse >= 0 && is_parent(f, b, pa.spouse)) return Kin::inv_in_law;
  if ((pa.spouse >= 0 && is_sibling(f, pa.spouse, b)) || (pb.spouse >= 0 && is_sibling(f, a, pb.spouse))) {
    return Kin::sibling_in_law;
  }
  for (int32_t p : {pb.father, pb.mother}) {
    if (p >= 0 && is_sibling(f, a, p)) return Kin::un;
  }
  for (int32_t p : {pa.father, pa.mother}) {
    if (p >= 0 && is_sibling(f, p, b)) return Kin::inv_un;
  }
  return std::nullopt;
}

const char* clutrr_noise_name(ClutrrNoise noise) {
  switch (noise) {
    case ClutrrNoise::none: return "none";
    case ClutrrNoise::supporting: return "supporting";
    case ClutrrNoise::irrelevant: return "irrelevant";
    case ClutrrNoise::disconnected: return "disconnected";
  }
  return "?";
}

ClutrrNoise clutrr_noise_parse(const std::string& name) {
  for (ClutrrNoise n : {ClutrrNoise::none, ClutrrNoise::supporting, ClutrrNoise::irrelevant,
                        ClutrrNoise::disconnected}) {
    if (name == clutrr_noise_name(n)) return n;
  }
  throw_error("noise type", "none, supporting, irrelevant or disconnected", str("'", name, "'"));
}

namespace {

// Relations of a family, computed on demand (a problem touches a small part of the n^2 pairs).
class RelationCache {
 public:
  explicit RelationCache(const Family& f) : f_(f), n_(f.people.size()), cache_(n_ * n_, -2) {}
  int get(int32_t a, int32_t b) {
    int8_t& c = cache_[static_cast<size_t>(a) * n_ + b];
    if (c == -2) {
      auto r = family_relation(f_, a, b);
      c = r ? static_cast<int8_t>(*r) : -1;
    }
    return c;
  }

 private:
  const Family& f_;
  size_t n_;
  std::vector<int8_t> cache_;
};

bool try_chain(DataRng& rng, const Family& family, RelationCache& rel, int64_t hops,
               ClutrrProblem& out) {
  const int32_t n = static_cast<int32_t>(family.people.size());
  const int32_t a = static_cast<int32_t>(rng.uniform(n));
  std::vector<int32_t> targets;
  for (int32_t b = 0; b < n; ++b) {
    if (rel.get(a, b) >= 0) targets.push_back(b);
  }
  if (targets.empty()) return false;
  std::vector<int32_t> chain{a, targets[rng.uniform(targets.size())]};
  std::vector<char> on_chain(n, 0);
  on_chain[chain[0]] = on_chain[chain[1]] = 1;
  std::vector<KinProofStep> proof;
  std::vector<int32_t> candidates;
  while (static_cast<int64_t>(chain.size()) - 1 < hops) {
    std::vector<size_t> order(chain.size() - 1);
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    rng.shuffle(order);
    bool expanded = false;
    for (size_t i : order) {
      const int32_t x = chain[i], y = chain[i + 1];
      const Kin r = static_cast<Kin>(rel.get(x, y));
      candidates.clear();
      for (int32_t c = 0; c < n; ++c) {
        if (on_chain[c]) continue;
        const int r1 = rel.get(x, c);
        if (r1 < 0) continue;
        const int r2 = rel.get(c, y);
        if (r2 < 0) continue;
        auto r3 = kin_compose(static_cast<Kin>(r1), static_cast<Kin>(r2));
        if (r3 && *r3 == r) candidates.push_back(c);
      }
      if (candidates.empty()) continue;
      const int32_t c = candidates[rng.uniform(candidates.size())];
      chain.insert(chain.begin() + static_cast<std::ptrdiff_t>(i) + 1, c);
      on_chain[c] = 1;
      proof.push_back({x, c, y});
      expanded = true;
      break;
    }
    if (!expanded) return false;
  }
  std::vector<Kin> kins;
  out.edges.clear();
  for (size_t i = 0; i + 1 < chain.size(); ++i) {
    const Kin k = static_cast<Kin>(rel.get(chain[i], chain[i + 1]));
    kins.push_back(k);
    out.edges.push_back({chain[i], chain[i + 1], k});
  }
  const Kin target = static_cast<Kin>(rel.get(chain.front(), chain.back()));
  // Keep only chains whose every bracketing agrees with the genealogy (see kinship.h).
  if (kin_compose_chain(kins) != (1u << static_cast<int>(target))) return false;
  out.chain = std::move(chain);
  out.proof = std::move(proof);
  out.target = target;
  return true;
}

bool add_noise(DataRng& rng, RelationCache& rel, ClutrrProblem& p, ClutrrNoise noise) {
  const int32_t n = static_cast<int32_t>(p.family.people.size());
  std::vector<char> taken(n, 0);
  for (int32_t c : p.chain) taken[c] = 1;
  for (const KinEdge& e : p.noise) taken[e.from] = taken[e.to] = 1;
  std::vector<int32_t> off;
  for (int32_t c = 0; c < n; ++c) {
    if (!taken[c]) off.push_back(c);
  }
  rng.shuffle(off);
  switch (noise) {
    case ClutrrNoise::none: return true;
    case ClutrrNoise::supporting: {
      std::vector<size_t> order(p.chain.size() - 1);
      for (size_t i = 0; i < order.size(); ++i) order[i] = i;
      rng.shuffle(order);
      for (size_t i : order) {
        const int32_t x = p.chain[i], y = p.chain[i + 1];
        for (int32_t d : off) {
          const int r1 = rel.get(x, d), r2 = rel.get(d, y);
          if (r1 < 0 || r2 < 0) continue;
          auto r3 = kin_compose(static_cast<Kin>(r1), static_cast<Kin>(r2));
          if (!r3 || static_cast<int>(*r3) != rel.get(x, y)) continue;
          p.noise.push_back({x, d, static_cast<Kin>(r1)});
          p.noise.push_back({d, y, static_cast<Kin>(r2)});
          return true;
        }
      }
      return false;
    }
    case ClutrrNoise::irrelevant: {
      std::vector<int32_t> chain = p.chain;
      rng.shuffle(chain);
      for (int32_t x : chain) {
        for (int32_t d : off) {
          const int r = rel.get(x, d);
          if (r < 0) continue;
          p.noise.push_back({x, d, static_cast<Kin>(r)});
          return true;
        }
      }
      return false;
    }
    case ClutrrNoise::disconnected: {
      for (int32_t d : off) {
        for (int32_t e : off) {
          const int r = rel.get(d, e);
          if (r < 0) continue;
          p.noise.push_back({d, e, static_cast<Kin>(r)});
          return true;
        }
      }
      return false;
    }
  }
  return false;
}

}  // namespace

ClutrrProblem clutrr_problem_generate(DataRng& rng, const ClutrrGeneratorOptions& options) {
  check(options.hops >= 1, "clutrr generator", "hops >= 1", std::to_string(options.hops));
  FamilyOptions fo = options.family;
  if (fo.generations <= 0) fo.generations = options.hops <= 4 ? 3 : 4;
  for (int64_t attempt = 0; attempt < options.max_attempts; ++attempt) {
    ClutrrProblem p;
    p.family = family_simulate(rng, fo);
    RelationCache rel(p.family);
    bool ok = false;
    for (int tries = 0; tries < 8 && !ok; ++tries) ok = try_chain(rng, p.family, rel, options.hops, p);
    if (!ok) continue;
    for (int64_t i = 0; ok && i < (options.noise == ClutrrNoise::none ? 0 : options.noise_count); ++i) {
      ok = add_noise(rng, rel, p, options.noise);
    }
    if (ok) return p;
  }
  throw_error("clutrr generator",
              str("a ", options.hops, "-hop chain with ", clutrr_noise_name(options.noise),
                  " noise within ", options.max_attempts, " simulated families"),
              "none (use more generations or children per couple)");
}

namespace {

std::vector<int32_t> involved_people(const ClutrrProblem& p) {
  std::vector<int32_t> people = p.chain;
  for (const KinEdge& e : p.noise) {
    for (int32_t x : {e.from, e.to}) {
      if (std::find(people.begin(), people.end(), x) == people.end()) people.push_back(x);
    }
  }
  return people;
}

// Random distinct entity numbers 1..20 for the people of a problem (CLUTRR-SG's ent_<n>).
std::vector<int64_t> entity_numbers(const ClutrrProblem& p, DataRng& rng, size_t n_people) {
  std::vector<int64_t> numbers(p.family.people.size(), 0);
  std::vector<int64_t> pool(20);
  for (int64_t i = 0; i < 20; ++i) pool[i] = i + 1;
  rng.shuffle(pool);
  check(n_people <= 20, "clutrr generator (letters)", "at most 20 people per problem",
        std::to_string(n_people));
  std::vector<int32_t> people = involved_people(p);
  for (size_t i = 0; i < people.size(); ++i) numbers[people[i]] = pool[i];
  return numbers;
}

}  // namespace

Task clutrr_problem_render(const ClutrrProblem& p, const ClutrrGeneratorOptions& options,
                           DataRng& rng, const std::string& guid) {
  const Family& f = p.family;
  const std::vector<int32_t> people = involved_people(p);
  std::vector<int64_t> entity;
  if (options.letters) entity = entity_numbers(p, rng, people.size());
  auto name = [&](int32_t x) {
    return options.letters ? clutrr_entity_letter(entity[x], "clutrr generator") : f.people[x].name;
  };
  auto render = [&](const KinEdge& e) {
    const std::string w = kin_word(e.kin, f.people[e.to].gender);
    const std::string x = name(e.from), y = name(e.to);
    if (options.letters) return str(y, " ", x, " ", w);
    switch (rng.uniform(4)) {
      case 0: return str(y, " is ", x, "'s ", w, ".");
      case 1: return str(y, " is the ", w, " of ", x, ".");
      case 2: return str(x, "'s ", w, " is ", y, ".");
      default: return str(x, " has a ", w, " named ", y, ".");
    }
  };
  Task t;
  t.guid = guid;
  std::string f_comb;
  for (const KinEdge& e : p.edges) {
    t.facts.push_back(render(e));
    f_comb += (f_comb.empty() ? "" : "-") + std::string(kin_word(e.kin, f.people[e.to].gender));
  }
  if (options.shuffle_facts) rng.shuffle(t.facts);
  for (const KinEdge& e : p.noise) t.distractors.push_back(render(e));
  t.question = str("How are ", name(p.chain.front()), " and ", name(p.chain.back()),
                   " related to each other ?");
  t.answer = kin_word(p.target, f.people[p.chain.back()].gender);
  t.hops = static_cast<int64_t>(p.edges.size());
  t.source = {{"dataset", options.letters ? "clutrr-sg" : "clutrr"},
              {"generator", "reckoning clutrr"},
              {"f_comb", f_comb},
              {"target_type", kin_name(p.target)},
              {"noise", clutrr_noise_name(options.noise)},
              {"family_size", f.people.size()}};
  return t;
}

ClutrrSgExample clutrr_problem_to_sg(const ClutrrProblem& p, DataRng& rng, const std::string& where) {
  const Family& f = p.family;
  std::vector<int64_t> entity = entity_numbers(p, rng, involved_people(p).size());
  auto sentence = [&](int32_t from, int32_t to, Kin kin) {
    return str("ent_", entity[to], " is the ", kin_word(kin, f.people[to].gender), " of ent_",
               entity[from]);
  };
  ClutrrSgExample ex;
  ex.where = where;
  for (const KinEdge& e : p.edges) {
    ex.sentences.push_back(sentence(e.from, e.to, e.kin));
    ex.edges.push_back({entity[e.from], entity[e.to], kin_word(e.kin, f.people[e.to].gender)});
  }
  ex.query_from = entity[p.chain.front()];
  ex.query_to = entity[p.chain.back()];
  ex.answer = kin_word(p.target, f.people[p.chain.back()].gender);
  // Proof bottom-up: the last expansion is the first derivation.
  RelationCache rel(f);
  for (auto it = p.proof.rbegin(); it != p.proof.rend(); ++it) {
    ex.proof += str(ex.proof.empty() ? "" : " ", "since ",
                    sentence(it->from, it->mid, static_cast<Kin>(rel.get(it->from, it->mid))),
                    " , and ", sentence(it->mid, it->to, static_cast<Kin>(rel.get(it->mid, it->to))),
                    " , then ", sentence(it->from, it->to, static_cast<Kin>(rel.get(it->from, it->to))),
                    " .");
  }
  return ex;
}

ClutrrGenerated clutrr_generate(const ClutrrGenerateRequest& request) {
  check(request.per_hop >= 0, "clutrr generator", "per_hop >= 0", std::to_string(request.per_hop));
  ClutrrGenerated out;
  for (int64_t hops : request.hops) {
    ClutrrGeneratorOptions options = request.options;
    options.hops = hops;
    for (int64_t i = 0; i < request.per_hop; ++i) {
      const std::string key = str(request.split, "-", hops, "-", i);
      DataRng rng(data_seed_mix(request.seed, key));
      ClutrrProblem p = clutrr_problem_generate(rng, options);
      const std::string guid = str(options.letters ? "clutrr-sg-gen-" : "clutrr-gen-", key);
      out.tasks.push_back(clutrr_problem_render(p, options, rng, guid));
      out.tasks.back().source["seed"] = request.seed;
      if (request.sg_format) out.sg_lines.push_back(clutrr_sg_format(clutrr_problem_to_sg(p, rng, guid)));
    }
  }
  return out;
}

ClutrrSplits clutrr_generate_splits(const ClutrrSplitRequest& request) {
  auto key = [](const Task& t) {
    std::vector<std::string> facts = t.facts;
    std::sort(facts.begin(), facts.end());
    std::string k = t.question + "|" + t.answer;
    for (const auto& f : facts) k += "|" + f;
    return k;
  };
  ClutrrSplits out;
  std::set<std::string> seen;
  auto generate = [&](const std::string& split, const std::vector<int64_t>& hops, int64_t per_hop,
                      std::vector<Task>& into) {
    ClutrrGenerateRequest r;
    r.seed = request.seed;
    r.split = split;
    r.options = request.options;
    r.per_hop = 1;
    for (int64_t h : hops) {
      r.hops = {h};
      int64_t made = 0;
      // Redraw (with the next stream index) any problem already produced for an earlier split.
      for (int64_t i = 0; made < per_hop; ++i) {
        check(i < per_hop * 10 + 100, str("clutrr splits (", split, ", ", h, " hops)"),
              str(per_hop, " problems distinct from the earlier splits"),
              str(made, " after ", i, " draws"));
        r.split = str(split, "-", i);
        Task t = clutrr_generate(r).tasks.at(0);
        if (!seen.insert(key(t)).second) continue;
        into.push_back(std::move(t));
        ++made;
      }
    }
  };
  generate("train", request.train_hops, request.train_per_hop, out.train);
  generate("valid", request.train_hops, request.valid_per_hop, out.valid);
  generate("test", request.test_hops, request.test_per_hop, out.test);
  return out;
}

}  // namespace reckoning
