#include "index/sparse_index.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>

namespace chromahouse {
namespace {

std::shared_ptr<const SparseVector> Vec(std::map<uint32_t, float> dims) {
  SparseVector v;
  for (auto [i, x] : dims) {
    v.indices.push_back(i);
    v.values.push_back(x);
  }
  return std::make_shared<const SparseVector>(std::move(v));
}

// A random vector of `n` dimensions drawn from a Zipf-like vocabulary (a few dimensions are in
// most records, most in few), values in (0, 3] or, with `negatives`, in [-1, 3].
std::shared_ptr<const SparseVector> RandomVec(std::mt19937& rng, size_t n, uint32_t vocab,
                                              bool negatives) {
  std::map<uint32_t, float> dims;
  std::uniform_real_distribution<double> u(0, 1);
  std::uniform_real_distribution<float> val(negatives ? -1.0f : 0.01f, 3.0f);
  while (dims.size() < n) {
    auto dim = static_cast<uint32_t>(std::pow(double(vocab), u(rng))) - 1;
    dims[dim] = val(rng);
  }
  return Vec(dims);
}

void ExpectSame(const std::vector<SparseIndex::Scored>& got,
                const std::vector<SparseIndex::Scored>& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i) {
    // Sums in another order may differ in the last bits: records whose scores are that close
    // may swap places.
    const bool near_tie =
        (i > 0 && std::abs(want[i].score - want[i - 1].score) < 1e-9) ||
        (i + 1 < want.size() && std::abs(want[i].score - want[i + 1].score) < 1e-9);
    if (!near_tie) {
      EXPECT_EQ(got[i].offset, want[i].offset) << what << " at " << i;
    }
    EXPECT_NEAR(got[i].score, want[i].score, 1e-9 * std::max(1.0, std::abs(want[i].score)))
        << what << " at " << i;
  }
}

TEST(SparseIndexTest, TopKIsTheDotProductOrderAndSkipsRecordsWithoutASharedDimension) {
  SparseIndex index;
  index.Insert(0, Vec({{1, 1.0f}, {5, 2.0f}}));
  index.Insert(1, Vec({{1, 3.0f}}));
  index.Insert(2, Vec({{7, 9.0f}}));
  index.Insert(3, Vec({{5, 1.0f}}));
  auto top = index.TopK(*Vec({{1, 1.0f}, {5, 1.0f}}), 10, nullptr, std::nullopt);
  ASSERT_EQ(top.size(), 3u);     // record 2 shares nothing
  EXPECT_EQ(top[0].offset, 0u);  // 1 + 2 = 3 ties with record 1 (3): lower offset first
  EXPECT_EQ(top[1].offset, 1u);
  EXPECT_EQ(top[2].offset, 3u);
  EXPECT_DOUBLE_EQ(top[0].score, 3.0);
  EXPECT_DOUBLE_EQ(top[2].score, 1.0);
  auto allowed = OffsetBitmap::FromOffsets({1, 2});
  top = index.TopK(*Vec({{1, 1.0f}, {5, 1.0f}}), 10, &allowed, std::nullopt);
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0].offset, 1u);
}

TEST(SparseIndexTest, EqualScoresAtTheLimitGoToTheCallersOrder) {
  SparseIndex index;
  for (uint32_t o = 0; o < 4; ++o) index.Insert(o, Vec({{3, 1.0f}}));
  const uint64_t inserted[] = {40, 30, 10, 20};  // offset 2 was inserted first (a reused offset)
  auto top = index.TopK(*Vec({{3, 2.0f}}), 2, nullptr, std::nullopt, nullptr, inserted);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_EQ(top[0].offset, 2u);
  EXPECT_EQ(top[1].offset, 3u);
  top = index.TopKByScan(*Vec({{3, 2.0f}}), 1, nullptr, std::nullopt, inserted);
  EXPECT_EQ(top[0].offset, 2u);
  EXPECT_EQ(index.TopK(*Vec({{3, 2.0f}}), 1, nullptr, std::nullopt)[0].offset, 0u);
}

TEST(SparseIndexTest, RemovedAndReplacedRecordsScoreWithTheirCurrentVector) {
  SparseIndex index;
  index.Insert(0, Vec({{1, 1.0f}}));
  index.Insert(1, Vec({{1, 2.0f}}));
  index.Remove(1);
  index.Insert(1, Vec({{2, 5.0f}}));  // the offset reused, without dimension 1
  auto top = index.TopK(*Vec({{1, 1.0f}}), 5, nullptr, std::nullopt);
  ASSERT_EQ(top.size(), 1u);
  EXPECT_EQ(top[0].offset, 0u);
  index.Remove(1);
  index.Insert(1, Vec({{1, 0.5f}}));  // reused again, with dimension 1 at another value
  top = index.TopK(*Vec({{1, 1.0f}}), 5, nullptr, std::nullopt);
  ASSERT_EQ(top.size(), 2u);
  EXPECT_DOUBLE_EQ(top[1].score, 0.5);
  EXPECT_EQ(index.size(), 2u);
  EXPECT_EQ(index.DocumentFrequency(1), 2u);
  EXPECT_EQ(index.DocumentFrequency(2), 0u);
}

TEST(SparseIndexTest, Bm25WeighsQueryDimensionsByInverseDocumentFrequency) {
  SparseIndex index;
  index.Insert(0, Vec({{1, 1.0f}, {2, 1.0f}}));
  index.Insert(1, Vec({{1, 1.0f}}));
  index.Insert(2, Vec({{1, 1.0f}}));
  // N = 3; dimension 1 is in every record, dimension 2 in one.
  EXPECT_DOUBLE_EQ(index.Idf(1, 3), std::log(1 + 0.5 / 3.5));
  EXPECT_DOUBLE_EQ(index.Idf(2, 3), std::log(1 + 2.5 / 1.5));
  // N counts the collection's records, with a vector or not.
  EXPECT_DOUBLE_EQ(index.Idf(2, 10), std::log(1 + 9.5 / 1.5));
  auto top = index.TopK(*Vec({{1, 1.0f}, {2, 1.0f}}), 1, nullptr, 3);
  ASSERT_EQ(top.size(), 1u);
  EXPECT_DOUBLE_EQ(top[0].score, index.Idf(1, 3) + index.Idf(2, 3));
  index.Remove(0);
  EXPECT_DOUBLE_EQ(index.Idf(1, 2), std::log(1 + 0.5 / 2.5));
}

// MaxScore's pruning and the filter's shortcut against scoring every record, through inserts,
// removals and reuse of offsets, with and without negative values, BM25 and filters.
TEST(SparseIndexTest, TopKMatchesTheScanThroughWritesFiltersAndBm25) {
  size_t skipped = 0, scored_allowed = 0;
  for (bool negatives : {false, true}) {
    std::mt19937 rng(negatives ? 7 : 11);
    SparseIndex index;
    std::vector<bool> present(3000, false);
    std::uniform_int_distribution<uint32_t> pick(0, 2999);
    for (int step = 0; step < 9000; ++step) {
      uint32_t o = pick(rng);
      if (present[o]) index.Remove(o);
      present[o] = step % 5 != 4;  // every fifth step deletes
      if (present[o]) index.Insert(o, RandomVec(rng, 1 + rng() % 40, 2000, negatives));
    }
    for (int q = 0; q < 60; ++q) {
      auto query = RandomVec(rng, 1 + rng() % 12, 2000, negatives);
      const size_t k = 1 + rng() % 30;
      const std::optional<size_t> bm25 =
          q % 2 == 1 ? std::optional<size_t>(index.size() + q) : std::nullopt;
      std::vector<uint32_t> some;
      const uint32_t every = 1 + rng() % 50;
      for (uint32_t o = 0; o < 3000; o += every) some.push_back(o);
      auto allowed = OffsetBitmap::FromOffsets(some);
      const std::string what = "negatives " + std::to_string(negatives) + " query " +
                               std::to_string(q) + " k " + std::to_string(k);
      SparseIndex::Stats stats;
      ExpectSame(index.TopK(*query, k, nullptr, bm25, &stats),
                 index.TopKByScan(*query, k, nullptr, bm25), what);
      skipped += stats.lists_skipped;
      ExpectSame(index.TopK(*query, k, &allowed, bm25, &stats),
                 index.TopKByScan(*query, k, &allowed, bm25),
                 what + " filtered 1/" + std::to_string(every));
      scored_allowed += stats.scored_allowed;
    }
  }
  // Both shortcuts were taken (else this test proves nothing about them).
  EXPECT_GT(skipped, 20u);
  EXPECT_GT(scored_allowed, 5u);
}

}  // namespace
}  // namespace chromahouse
