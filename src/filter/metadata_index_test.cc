#include "filter/metadata_index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "codec/where_codec.h"
#include "filter/evaluator.h"

namespace chromahouse {
namespace {

using metadata_index_internal::OffsetSet;

uint64_t BaseSeed() {
  if (const char* s = std::getenv("METADATA_INDEX_SEED")) return std::strtoull(s, nullptr, 10);
  return std::random_device{}();
}

std::string Describe(const Where& where) { return EncodeWhere(where); }

// ---------------------------------------------------------------------------------------------
// OffsetSet against std::set, through every representation (flat, chunk arrays, chunk bitmaps)
// and back.

std::vector<uint32_t> SetMembers(const OffsetSet& set, uint32_t universe) {
  std::vector<uint64_t> words((universe + 63) / 64, 0);
  set.OrInto(words.data(), words.size());
  std::vector<uint32_t> out;
  for (uint32_t i = 0; i < universe; ++i) {
    if ((words[i >> 6] >> (i & 63)) & 1) out.push_back(i);
  }
  return out;
}

TEST(OffsetSetTest, MatchesStdSetThroughAllRepresentations) {
  const uint64_t seed = BaseSeed();
  SCOPED_TRACE("seed=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  constexpr uint32_t kUniverse = 3 * 65536 + 1000;
  OffsetSet set;
  std::set<uint32_t> ref;
  // Phases: grow dense in chunk 1 (-> bitmap), sparse elsewhere, then shrink to nothing.
  auto check = [&] {
    ASSERT_EQ(set.size(), ref.size());
    ASSERT_EQ(SetMembers(set, kUniverse), std::vector<uint32_t>(ref.begin(), ref.end()))
        << "seed=" << seed;
  };
  for (int phase = 0; phase < 4; ++phase) {
    const bool grow = phase % 2 == 0;
    for (int step = 0; step < 30000; ++step) {
      uint32_t x = 0;
      if (rng() % 4 != 0) {
        x = 65536 + static_cast<uint32_t>(rng() % 9000);  // dense region of chunk 1
      } else {
        x = static_cast<uint32_t>(rng() % kUniverse);
      }
      const bool add = grow ? rng() % 10 < 8 : rng() % 10 < 1;
      if (add) {
        ASSERT_EQ(set.Add(x), ref.insert(x).second);
      } else {
        ASSERT_EQ(set.Remove(x), ref.erase(x) == 1);
      }
      if (step % 3001 == 0) check();
    }
    check();
    if (!grow) {  // empty it completely
      for (uint32_t x : std::vector<uint32_t>(ref.begin(), ref.end())) {
        ASSERT_TRUE(set.Remove(x));
        ref.erase(x);
        if (ref.size() % 997 == 0) check();
      }
      check();
      EXPECT_TRUE(set.empty());
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Differential test of MetadataIndex::Evaluate against Matches().

const std::vector<int64_t>& IntPool() {
  static const std::vector<int64_t> pool = {-3,
                                            -1,
                                            0,
                                            1,
                                            2,
                                            5,
                                            6,
                                            9007199254740992,
                                            9007199254740993,
                                            std::numeric_limits<int64_t>::max(),
                                            std::numeric_limits<int64_t>::min()};
  return pool;
}
const std::vector<double>& DoublePool() {
  static const std::vector<double> pool = {-0.0,
                                           0.0,
                                           0.5,
                                           1.0,
                                           2.0,
                                           5.0,
                                           5.5,
                                           -3.0,
                                           -2.5,
                                           9007199254740992.0,
                                           9223372036854775808.0,
                                           -9223372036854775808.0,
                                           1e300,
                                           std::numeric_limits<double>::infinity(),
                                           -std::numeric_limits<double>::infinity()};
  return pool;
}
const std::vector<std::string>& StringPool() {
  static const std::vector<std::string> pool = {"", "a", "b", "5", "ab", "A"};
  return pool;
}

// SortedEntries against a brute-force list of (key, offset), with exact int/double probes,
// through block splits and merges.
template <typename K, typename MakeKey>
void CheckSortedEntries(uint64_t seed, MakeKey make_key) {
  SCOPED_TRACE("seed=" + std::to_string(seed));
  std::mt19937_64 rng(seed);
  metadata_index_internal::SortedEntries<K> entries;
  std::vector<std::pair<K, uint32_t>> ref;  // unordered; brute force is the oracle
  constexpr uint32_t kUniverse = 5000;
  const std::vector<int64_t> int_probes = {
      -3, 0, 1, 2, 5, 9007199254740992, 9007199254740993, std::numeric_limits<int64_t>::max()};
  const std::vector<double> double_probes = {-0.0,
                                             0.5,
                                             1.0,
                                             2.5,
                                             5.0,
                                             9007199254740992.0,
                                             9223372036854775808.0,
                                             -std::numeric_limits<double>::infinity()};
  auto check = [&] {
    ASSERT_EQ(entries.size(), ref.size());
    for (int op_index : {0, 2, 3, 4, 5}) {  // kEq, kGt, kGte, kLt, kLte
      const auto op = static_cast<MetadataOp>(op_index);
      auto run = [&](auto probe) {
        std::vector<uint64_t> words(kUniverse / 64 + 1, 0);
        entries.OrCompared(op, probe, words.data());
        std::vector<uint64_t> want(words.size(), 0);
        for (const auto& [k, o] : ref) {
          const Metadata md{{"k", k}};
          if (Matches(Where{MetadataCondition{"k", op, probe}}, &md, nullptr)) {
            want[o >> 6] |= uint64_t{1} << (o & 63);
          }
        }
        ASSERT_EQ(words, want) << "op " << op_index << " probe " << probe;
      };
      for (int64_t probe : int_probes) {
        ASSERT_NO_FATAL_FAILURE(run(probe));
      }
      for (double probe : double_probes) {
        ASSERT_NO_FATAL_FAILURE(run(probe));
      }
    }
  };
  for (int step = 0; step < 20000; ++step) {
    const bool grow = (step / 5000) % 2 == 0;
    if (ref.empty() || rng() % 10 < (grow ? 8u : 2u)) {
      const K key = make_key(rng);
      const auto offset = static_cast<uint32_t>(rng() % kUniverse);
      bool present = false;
      for (const auto& [k, o] : ref) present |= (o == offset);
      if (present) continue;  // one entry per offset, as in the index
      entries.Insert(key, offset);
      ref.emplace_back(key, offset);
    } else {
      const size_t i = rng() % ref.size();
      ASSERT_TRUE(entries.Remove(ref[i].first, ref[i].second));
      ASSERT_FALSE(entries.Remove(ref[i].first, ref[i].second));
      ref[i] = ref.back();
      ref.pop_back();
    }
    if (step % 997 == 0) {
      ASSERT_NO_FATAL_FAILURE(check());
    }
  }
  ASSERT_NO_FATAL_FAILURE(check());
  while (!ref.empty()) {
    ASSERT_TRUE(entries.Remove(ref.back().first, ref.back().second));
    ref.pop_back();
  }
  EXPECT_TRUE(entries.empty());
}

TEST(SortedEntriesTest, IntsMatchBruteForce) {
  CheckSortedEntries<int64_t>(BaseSeed(), [](std::mt19937_64& rng) {
    return rng() % 4 == 0 ? IntPool()[rng() % IntPool().size()]
                          : static_cast<int64_t>(rng() % 7) - 1;
  });
}

TEST(SortedEntriesTest, DoublesMatchBruteForce) {
  CheckSortedEntries<double>(BaseSeed() + 1, [](std::mt19937_64& rng) {
    return rng() % 4 == 0 ? DoublePool()[rng() % DoublePool().size()]
                          : static_cast<double>(rng() % 13) / 2 - 1;
  });
}

class Generator {
 public:
  explicit Generator(uint64_t seed) : rng_(seed) {}

  uint64_t Below(uint64_t n) { return rng_() % n; }
  bool Chance(int percent) { return static_cast<int>(Below(100)) < percent; }

  int64_t Int() { return IntPool()[Below(IntPool().size())]; }
  double Double() {
    if (Chance(2)) return std::numeric_limits<double>::quiet_NaN();
    return DoublePool()[Below(DoublePool().size())];
  }
  std::string String() { return StringPool()[Below(StringPool().size())]; }
  bool Bool() { return Chance(50); }

  template <typename F>
  auto List(F element) {
    std::vector<decltype(element())> out;
    const size_t n = Below(4);
    for (size_t i = 0; i < n; ++i) out.push_back(element());
    return out;
  }

  MetadataValue Value() {
    const auto r = Below(100);
    if (r < 25) return Int();
    if (r < 50) return Double();
    if (r < 68) return String();
    if (r < 78) return Bool();
    if (r < 84) return List([this] { return Int(); });
    if (r < 89) return List([this] { return Double(); });
    if (r < 95) return List([this] { return String(); });
    return List([this] { return Bool(); });
  }

  // `hot_percent`: chance that key "a" holds int 1, so that one posting gets dense enough to
  // become chunk bitmaps.
  std::optional<Metadata> RecordMetadata(int key_percent, int hot_percent) {
    if (Chance(8)) return std::nullopt;
    Metadata md;
    for (const char* key : {"a", "b", "c", "d", "e"}) {
      if (Chance(key_percent)) md[key] = Value();
    }
    if (Chance(hot_percent)) md["a"] = int64_t{1};
    return md;
  }

  MetadataValue Scalar() {
    const auto r = Below(100);
    if (r < 35) return Int();
    if (r < 65) return Double();
    if (r < 85) return String();
    return Bool();
  }

  // A non-empty homogeneous list operand.
  MetadataValue NonEmptyList() {
    const size_t n = 1 + Below(3);
    switch (Below(4)) {
      case 0: {
        std::vector<int64_t> v;
        for (size_t i = 0; i < n; ++i) v.push_back(Int());
        return v;
      }
      case 1: {
        std::vector<double> v;
        for (size_t i = 0; i < n; ++i) v.push_back(Double());
        return v;
      }
      case 2: {
        std::vector<std::string> v;
        for (size_t i = 0; i < n; ++i) v.push_back(String());
        return v;
      }
      default: {
        std::vector<bool> v;
        for (size_t i = 0; i < n; ++i) v.push_back(Bool());
        return v;
      }
    }
  }

  Where Leaf() {
    static const char* kKeys[] = {"a", "b", "c", "d", "e", "a", "b", "c", "d", "e", "zz"};
    MetadataCondition c;
    c.key = kKeys[Below(11)];
    c.op = static_cast<MetadataOp>(Below(10));
    // Mostly the shapes the codec produces; a few malformed ones (which match nothing
    // positively) to check the index mirrors the evaluator even there.
    const bool odd = Chance(4);
    switch (c.op) {
      case MetadataOp::kIn:
      case MetadataOp::kNin:
        c.operand = odd ? Scalar() : NonEmptyList();
        if (odd && Chance(50)) c.operand = std::vector<int64_t>{};
        break;
      case MetadataOp::kGt:
      case MetadataOp::kGte:
      case MetadataOp::kLt:
      case MetadataOp::kLte:
        if (odd) {
          c.operand = Chance(50) ? MetadataValue(String()) : MetadataValue(NonEmptyList());
        } else {
          c.operand = Chance(50) ? MetadataValue(Int()) : MetadataValue(Double());
        }
        break;
      default: c.operand = odd ? NonEmptyList() : Scalar(); break;
    }
    return Where{std::move(c)};
  }

  Where Tree(int depth) {
    if (depth == 0 || Chance(35)) return Leaf();
    WhereComposite c;
    c.op = Chance(50) ? BoolOp::kAnd : BoolOp::kOr;
    const size_t n = Chance(8) ? Below(2) : 2 + Below(2);
    for (size_t i = 0; i < n; ++i) c.children.push_back(Tree(depth - 1));
    return Where{std::move(c)};
  }

  // `tree` with one leaf somewhere replaced by a document condition (or the reserved key).
  Where WithUnhandledLeaf(Where tree) {
    Where* node = &tree;
    while (auto* c = std::get_if<WhereComposite>(&node->node)) {
      if (c->children.empty()) {
        c->children.push_back(Leaf());
      }
      node = &c->children[Below(c->children.size())];
    }
    if (Chance(25)) {
      MetadataCondition m;
      m.key = "chroma:document";
      m.op = Chance(50) ? MetadataOp::kEq : MetadataOp::kNe;
      m.operand = String();
      node->node = std::move(m);
    } else {
      DocumentCondition d;
      d.op = Chance(50) ? DocumentOp::kContains : DocumentOp::kNotContains;
      d.pattern = String();
      node->node = std::move(d);
    }
    return tree;
  }

  std::mt19937_64& rng() { return rng_; }

 private:
  std::mt19937_64 rng_;
};

// The records, as the reference model sees them.
struct Model {
  std::vector<std::optional<Metadata>> metadata;  // by offset
  std::vector<bool> live;
  std::vector<uint32_t> order;  // live offsets in insertion order
  std::vector<uint32_t> free;
  uint32_t next = 0;
};

struct DifferentialParams {
  size_t records;   // target population
  uint32_t stride;  // offsets are allocated as n * stride (exercises high chunks)
  int key_percent;  // chance that a record has a given key
  int hot_percent;  // chance that key "a" holds int 1
  int trees_per_check;
  int rounds;
};

void RunDifferential(uint64_t seed, const DifferentialParams& p) {
  SCOPED_TRACE("seed=" + std::to_string(seed));
  Generator gen(seed);
  Model model;
  MetadataIndex index;
  size_t checked_trees = 0;
  size_t selective_trees = 0;  // trees matching some but not all live records

  auto allocate = [&]() -> uint32_t {
    if (!model.free.empty() && gen.Chance(80)) {
      const size_t i = gen.Below(model.free.size());
      const uint32_t o = model.free[i];
      model.free[i] = model.free.back();
      model.free.pop_back();
      return o;
    }
    const uint32_t o = model.next++ * p.stride;
    if (model.metadata.size() <= o) {
      model.metadata.resize(o + 1);
      model.live.resize(o + 1, false);
    }
    return o;
  };
  auto insert = [&] {
    const uint32_t o = allocate();
    model.metadata[o] = gen.RecordMetadata(p.key_percent, p.hot_percent);
    model.live[o] = true;
    model.order.push_back(o);
    if (model.metadata[o]) index.Insert(o, *model.metadata[o]);
  };
  auto update = [&] {
    if (model.order.empty()) return;
    const uint32_t o = model.order[gen.Below(model.order.size())];
    if (model.metadata[o]) index.Remove(o, *model.metadata[o]);
    if (model.metadata[o] && gen.Chance(50)) {  // change one key, keep the rest
      Metadata md = *model.metadata[o];
      const std::string key(1, static_cast<char>('a' + gen.Below(5)));
      if (gen.Chance(20)) {
        md.erase(key);
      } else {
        md[key] = gen.Value();
      }
      model.metadata[o] = std::move(md);
    } else {
      model.metadata[o] = gen.RecordMetadata(p.key_percent, p.hot_percent);
    }
    if (model.metadata[o]) index.Insert(o, *model.metadata[o]);
  };
  auto remove = [&] {
    if (model.order.empty()) return;
    const size_t i = gen.Below(model.order.size());
    const uint32_t o = model.order[i];
    if (model.metadata[o]) index.Remove(o, *model.metadata[o]);
    model.metadata[o].reset();
    model.live[o] = false;
    model.order.erase(model.order.begin() + static_cast<ptrdiff_t>(i));
    model.free.push_back(o);
  };
  auto check = [&] {
    std::vector<uint32_t> live = model.order;
    if (gen.Chance(30)) std::shuffle(live.begin(), live.end(), gen.rng());
    for (int t = 0; t < p.trees_per_check; ++t) {
      const Where where = gen.Tree(3);
      std::vector<uint32_t> expected;
      for (uint32_t o : live) {
        const Metadata* md = model.metadata[o] ? &*model.metadata[o] : nullptr;
        if (Matches(where, md, nullptr)) expected.push_back(o);
      }
      const auto got = index.Evaluate(where, live);
      ASSERT_TRUE(got.has_value()) << "seed=" << seed << " where=" << Describe(where);
      ASSERT_EQ(*got, expected) << "seed=" << seed << " where=" << Describe(where);
      ++checked_trees;
      if (!expected.empty() && expected.size() < live.size()) ++selective_trees;
      if (t % 8 == 0) {
        const Where unhandled = gen.WithUnhandledLeaf(where);
        ASSERT_FALSE(index.Evaluate(unhandled, live).has_value())
            << "seed=" << seed << " where=" << Describe(unhandled);
      }
    }
  };

  for (int round = 0; round < p.rounds; ++round) {
    // Grow to the target, churn, shrink to a fifth, churn.
    while (model.order.size() < p.records) insert();
    ASSERT_NO_FATAL_FAILURE(check());
    for (size_t i = 0; i < p.records / 2; ++i) {
      const auto r = gen.Below(3);
      if (r == 0) insert();
      if (r == 1) update();
      if (r == 2) remove();
    }
    ASSERT_NO_FATAL_FAILURE(check());
    while (model.order.size() > p.records / 5) remove();
    ASSERT_NO_FATAL_FAILURE(check());
  }
  // Everything removed: the index must be empty again.
  while (!model.order.empty()) remove();
  ASSERT_NO_FATAL_FAILURE(check());
  EXPECT_LT(index.MemoryBytes(), size_t{1024});
  // The generator must produce mostly non-trivial filters for the comparison to mean much.
  EXPECT_GT(selective_trees * 5, checked_trees * 2);
  std::printf("seed %llu: %zu trees checked, %zu selective\n",
              static_cast<unsigned long long>(seed), checked_trees, selective_trees);
}

TEST(MetadataIndexTest, DifferentialAgainstEvaluator) {
  const uint64_t base = BaseSeed();
  for (uint64_t i = 0; i < 3; ++i) {
    RunDifferential(base + i, {/*records=*/3000, /*stride=*/1, /*key_percent=*/60,
                               /*hot_percent=*/0, /*trees_per_check=*/400, /*rounds=*/2});
    if (HasFatalFailure()) return;
  }
}

// Larger offsets (several 2^16 chunks) and fewer, denser keys, so postings switch to chunk
// bitmaps and back.
TEST(MetadataIndexTest, DifferentialDenseAndSparseOffsets) {
  const uint64_t seed = BaseSeed() ^ 0x5eed;
  RunDifferential(seed, {/*records=*/20000, /*stride=*/7, /*key_percent=*/90,
                         /*hot_percent=*/75, /*trees_per_check=*/60, /*rounds=*/1});
}

// ---------------------------------------------------------------------------------------------
// Fixed cases from evaluator_test.cc's record set, as a readable sanity check.

TEST(MetadataIndexTest, FixedCases) {
  const std::vector<std::optional<Metadata>> records = {
      Metadata{{"i", int64_t{5}},
               {"f", 5.0},
               {"s", std::string("5")},
               {"b", true},
               {"ia", std::vector<int64_t>{1, 2}},
               {"fa", std::vector<double>{1.0, 3.5}}},
      Metadata{{"i", int64_t{6}}, {"f", 5.5}, {"s", std::string("a")}, {"b", false}},
      std::nullopt,
      Metadata{{"x", int64_t{1}}, {"s", std::string("ab")}},
      Metadata{{"big", int64_t{9007199254740993}},
               {"bigf", 9007199254740992.0},
               {"i", 5.0},
               {"max", std::numeric_limits<int64_t>::max()}},
      Metadata{{"i", int64_t{4}}},
  };
  MetadataIndex index;
  std::vector<uint32_t> live;
  for (uint32_t o = 0; o < records.size(); ++o) {
    if (records[o]) index.Insert(o, *records[o]);
    live.push_back(o);
  }
  auto eval = [&](MetadataCondition c) { return *index.Evaluate(Where{std::move(c)}, live); };
  using V = std::vector<uint32_t>;
  EXPECT_EQ(eval({"i", MetadataOp::kEq, int64_t{5}}), (V{0, 4}));
  EXPECT_EQ(eval({"i", MetadataOp::kEq, 5.0}), (V{0, 4}));
  EXPECT_EQ(eval({"i", MetadataOp::kEq, std::string("5")}), V{});
  EXPECT_EQ(eval({"i", MetadataOp::kEq, 5.5}), V{});
  EXPECT_EQ(eval({"i", MetadataOp::kLt, 5.5}), (V{0, 4, 5}));
  EXPECT_EQ(eval({"i", MetadataOp::kGte, 5.5}), (V{1}));
  EXPECT_EQ(eval({"i", MetadataOp::kNe, int64_t{5}}), (V{1, 2, 3, 5}));
  EXPECT_EQ(eval({"big", MetadataOp::kEq, 9007199254740992.0}), V{});
  EXPECT_EQ(eval({"big", MetadataOp::kGt, 9007199254740992.0}), V{4});
  EXPECT_EQ(eval({"bigf", MetadataOp::kEq, int64_t{9007199254740993}}), V{});
  EXPECT_EQ(eval({"bigf", MetadataOp::kLt, int64_t{9007199254740993}}), V{4});
  EXPECT_EQ(eval({"max", MetadataOp::kLt, 9223372036854775808.0}), V{4});
  EXPECT_EQ(eval({"max", MetadataOp::kEq, 9223372036854775808.0}), V{});
  EXPECT_EQ(eval({"ia", MetadataOp::kContains, int64_t{1}}), V{0});
  EXPECT_EQ(eval({"ia", MetadataOp::kContains, 1.0}), V{});
  EXPECT_EQ(eval({"fa", MetadataOp::kContains, 1.0}), V{0});
  EXPECT_EQ(eval({"fa", MetadataOp::kNotContains, 1.0}), (V{1, 2, 3, 4, 5}));
  EXPECT_EQ(eval({"ia", MetadataOp::kEq, int64_t{1}}), V{});
  EXPECT_EQ(eval({"s", MetadataOp::kContains, std::string("a")}), V{});
  EXPECT_EQ(eval({"b", MetadataOp::kNin, std::vector<bool>{true}}), (V{1, 2, 3, 4, 5}));
  EXPECT_EQ(eval({"i", MetadataOp::kIn, std::vector<double>{4.0, 6.0}}), (V{1, 5}));
  // Order follows live_in_order; offsets never inserted count as records without metadata.
  EXPECT_EQ(
      *index.Evaluate(Where{MetadataCondition{"i", MetadataOp::kNe, int64_t{5}}}, {9, 5, 0, 3}),
      (V{9, 5, 3}));
  EXPECT_EQ(*index.Evaluate(Where::MatchAll(), {3, 1}), (V{3, 1}));
  EXPECT_EQ(*index.Evaluate(Where{WhereComposite{BoolOp::kOr, {}}}, live), V{});
  EXPECT_FALSE(index.Evaluate(Where{DocumentCondition{DocumentOp::kContains, "x", nullptr}}, live));
}

// ---------------------------------------------------------------------------------------------
// Speed (run with --gtest_also_run_disabled_tests): Evaluate vs a Matches() scan on 100k records.

TEST(MetadataIndexTest, DISABLED_Speed) {
  constexpr uint32_t kRecords = 100000;
  std::mt19937_64 rng(42);
  std::vector<Metadata> mds(kRecords);
  std::vector<uint32_t> live(kRecords);
  MetadataIndex index;
  for (uint32_t o = 0; o < kRecords; ++o) {
    Metadata& md = mds[o];
    md["category"] = static_cast<int64_t>(rng() % 100);
    md["price"] = static_cast<double>(rng() % 100000) / 100.0;
    md["author"] = "author" + std::to_string(rng() % 500);
    md["published"] = rng() % 2 == 0;
    md["tags"] = std::vector<std::string>{"t" + std::to_string(rng() % 50),
                                          "t" + std::to_string(rng() % 50)};
    live[o] = o;
  }
  const auto t0 = std::chrono::steady_clock::now();
  for (uint32_t o = 0; o < kRecords; ++o) index.Insert(o, mds[o]);
  const double insert_ms =
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  // Remove + re-insert (an update) of 10% of the records, in random order.
  const auto u0 = std::chrono::steady_clock::now();
  for (uint32_t i = 0; i < kRecords / 10; ++i) {
    const auto o = static_cast<uint32_t>(rng() % kRecords);
    index.Remove(o, mds[o]);
    index.Insert(o, mds[o]);
  }
  const double update_us =
      std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - u0).count() /
      (kRecords / 10);
  std::printf("insert %u records: %.1f ms, update %.2f us/record, index ~%.1f MiB\n", kRecords,
              insert_ms, update_us, static_cast<double>(index.MemoryBytes()) / (1 << 20));

  auto leaf = [](const char* key, MetadataOp op, MetadataValue v) {
    return Where{MetadataCondition{key, op, std::move(v)}};
  };
  const std::vector<std::pair<const char*, Where>> queries = {
      {"$eq int (1%)", leaf("category", MetadataOp::kEq, int64_t{42})},
      {"$eq string (0.2%)", leaf("author", MetadataOp::kEq, std::string("author7"))},
      {"range 100<=price<200 (10%)",
       Where::And({leaf("price", MetadataOp::kGte, 100.0), leaf("price", MetadataOp::kLt, 200.0)})},
      {"price>500 (50%)", leaf("price", MetadataOp::kGt, int64_t{500})},
      {"$ne int (99%)", leaf("category", MetadataOp::kNe, int64_t{42})},
      {"$contains tag", leaf("tags", MetadataOp::kContains, std::string("t3"))},
      {"$and(eq,range,bool)",
       Where::And({leaf("category", MetadataOp::kIn, std::vector<int64_t>{1, 2, 3, 4, 5}),
                   leaf("price", MetadataOp::kLte, 300.0),
                   leaf("published", MetadataOp::kEq, true)})},
  };
  for (const auto& [name, where] : queries) {
    constexpr int kReps = 20;
    std::vector<uint32_t> scanned;
    auto s0 = std::chrono::steady_clock::now();
    for (int r = 0; r < kReps; ++r) {
      scanned.clear();
      for (uint32_t o : live) {
        if (Matches(where, &mds[o], nullptr)) scanned.push_back(o);
      }
    }
    const double scan_us =
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - s0).count() /
        kReps;
    std::optional<std::vector<uint32_t>> got;
    auto e0 = std::chrono::steady_clock::now();
    for (int r = 0; r < kReps; ++r) got = index.Evaluate(where, live);
    const double eval_us =
        std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - e0).count() /
        kReps;
    ASSERT_TRUE(got.has_value());
    ASSERT_EQ(*got, scanned) << name;
    std::printf("%-28s matches %6zu  scan %8.0f us  index %7.0f us  (x%.0f)\n", name,
                scanned.size(), scan_us, eval_us, scan_us / eval_us);
  }
}

}  // namespace
}  // namespace chromahouse
