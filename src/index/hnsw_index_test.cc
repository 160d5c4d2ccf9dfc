#include "index/hnsw_index.h"

#include <gtest/gtest.h>

#include <atomic>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "index/brute_force.h"

namespace chromahouse {
namespace {

// Rows drawn from a Gaussian mixture: `clusters` centres ~ N(0, 1) per dimension, each cluster
// with its own per-dimension spread in [0.05, 0.5]. Deterministic for a given seed.
class MixtureSampler {
 public:
  MixtureSampler(size_t dim, size_t clusters, uint64_t seed) : dim_(dim), rng_(seed) {
    std::normal_distribution<float> normal(0.0f, 1.0f);
    std::uniform_real_distribution<float> spread(0.05f, 0.5f);
    centers_.resize(clusters * dim);
    spreads_.resize(clusters * dim);
    for (float& c : centers_) c = normal(rng_);
    for (float& s : spreads_) s = spread(rng_);
  }

  void Sample(float* out) {
    std::uniform_int_distribution<size_t> pick(0, centers_.size() / dim_ - 1);
    std::normal_distribution<float> normal(0.0f, 1.0f);
    size_t c = pick(rng_);
    for (size_t d = 0; d < dim_; ++d) {
      out[d] = centers_[c * dim_ + d] + spreads_[c * dim_ + d] * normal(rng_);
    }
  }

  std::vector<float> Sample(size_t n) {
    std::vector<float> out(n * dim_);
    for (size_t i = 0; i < n; ++i) Sample(&out[i * dim_]);
    return out;
  }

 private:
  size_t dim_;
  std::mt19937_64 rng_;
  std::vector<float> centers_;
  std::vector<float> spreads_;
};

std::unique_ptr<HnswIndex> MakeIndex(size_t dim, Metric metric, uint64_t seed = 100) {
  HnswParams params;
  params.dim = dim;
  params.metric = metric;
  params.seed = seed;
  auto index = HnswIndex::Create(params);
  EXPECT_TRUE(index.ok()) << index.status().ToString();
  return std::move(index).value();
}

void AddAll(HnswIndex& index, const std::vector<float>& data) {
  const size_t n = data.size() / index.dim();
  index.Reserve(n);
  for (size_t i = 0; i < n; ++i) {
    ASSERT_TRUE(index.Add(static_cast<uint32_t>(i), &data[i * index.dim()]).ok());
  }
}

std::set<uint32_t> OffsetSet(const std::vector<Neighbor>& r) {
  std::set<uint32_t> out;
  for (const Neighbor& n : r) out.insert(n.second);
  return out;
}

bool IsSorted(const std::vector<Neighbor>& r) { return std::is_sorted(r.begin(), r.end()); }

// Same offsets in the same order, distances equal up to kernel rounding (the index pads rows to
// 16 floats, so its kernels may sum in another order than a scan of unpadded rows).
void ExpectSameNeighbors(const std::vector<Neighbor>& actual,
                         const std::vector<Neighbor>& expected) {
  ASSERT_EQ(actual.size(), expected.size());
  for (size_t i = 0; i < actual.size(); ++i) {
    EXPECT_EQ(actual[i].second, expected[i].second) << "rank " << i;
    EXPECT_NEAR(actual[i].first, expected[i].first, 1e-5f * (1 + std::fabs(expected[i].first)))
        << "rank " << i;
  }
}

// Offsets allowed with probability `fraction`, as a bitmap.
std::vector<uint8_t> RandomSubset(size_t n, double fraction, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::bernoulli_distribution coin(fraction);
  std::vector<uint8_t> allowed(n);
  for (auto& a : allowed) a = coin(rng) ? 1 : 0;
  return allowed;
}

// Mean recall@k of `approx` against the exact answers.
double Recall(const std::vector<std::vector<Neighbor>>& approx,
              const std::vector<std::vector<Neighbor>>& exact) {
  double sum = 0;
  for (size_t q = 0; q < exact.size(); ++q) {
    std::set<uint32_t> truth = OffsetSet(exact[q]);
    size_t hits = 0;
    for (const Neighbor& n : approx[q]) hits += truth.count(n.second);
    sum += truth.empty() ? 1.0 : double(hits) / double(truth.size());
  }
  return sum / double(exact.size());
}

// ---------------------------------------------------------------------------------------------

TEST(HnswIndex, CreateValidatesParameters) {
  HnswParams p;
  EXPECT_EQ(HnswIndex::Create(p).status().code(), StatusCode::kInvalidArgument);  // dim 0
  p.dim = 4;
  EXPECT_TRUE(HnswIndex::Create(p).ok());
  p.max_neighbors = 1;
  EXPECT_EQ(HnswIndex::Create(p).status().code(), StatusCode::kInvalidArgument);
  p.max_neighbors = 16;
  p.ef_construction = 0;
  EXPECT_EQ(HnswIndex::Create(p).status().code(), StatusCode::kInvalidArgument);
  p.ef_construction = 100;
  p.ef_search = 0;
  EXPECT_EQ(HnswIndex::Create(p).status().code(), StatusCode::kInvalidArgument);
}

TEST(HnswIndex, RejectsNonFiniteOrHugeVectorsAndReservedOffset) {
  auto index = MakeIndex(2, Metric::kL2);
  const float nan[] = {std::nanf(""), 0}, ok[] = {1, 2};
  EXPECT_EQ(index->Add(0, nan).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(index->Add(UINT32_MAX, ok).code(), StatusCode::kInvalidArgument);
  const float huge[] = {3e19f, 3e19f};  // finite, but ‖x‖² overflows float
  EXPECT_EQ(index->Add(1, huge).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(index->size(), 0u);
  EXPECT_FALSE(index->Contains(0));
}

TEST(HnswIndex, ReturnsMinOfKAndLiveCountOnTinyIndexes) {
  const size_t dim = 3;
  MixtureSampler sampler(dim, 2, 7);
  for (size_t n : {0, 1, 5}) {
    auto index = MakeIndex(dim, Metric::kL2);
    std::vector<float> data = sampler.Sample(n);
    AddAll(*index, data);
    EXPECT_EQ(index->size(), n);
    const std::vector<float> q = sampler.Sample(1);
    for (size_t k : {0, 1, 3, 5, 10}) {
      std::vector<Neighbor> r = index->Search(q.data(), k, nullptr);
      EXPECT_EQ(r.size(), std::min(k, n)) << "n=" << n << " k=" << k;
      EXPECT_TRUE(IsSorted(r));
      // Tiny sets are searched exhaustively: the answer is exact.
      BruteForceIndex exact(dim, Metric::kL2);
      for (size_t i = 0; i < n; ++i) ASSERT_TRUE(exact.Add(uint32_t(i), &data[i * dim]).ok());
      SCOPED_TRACE("n=" + std::to_string(n) + " k=" + std::to_string(k));
      ExpectSameNeighbors(r, exact.Search(q.data(), k, nullptr));
    }
    if (n == 5) {
      EXPECT_TRUE(index->Remove(0));
      EXPECT_TRUE(index->Remove(3));
      EXPECT_EQ(index->Search(q.data(), 10, nullptr).size(), 3u);
      EXPECT_EQ(index->Search(q.data(), 2, 1, nullptr).size(), 2u);  // ef < k is raised to k
      for (uint32_t i : {1u, 2u, 4u}) EXPECT_TRUE(index->Remove(i));
      EXPECT_TRUE(index->Search(q.data(), 10, nullptr).empty());
      ASSERT_TRUE(index->Add(2, q.data()).ok());  // reuse a removed offset
      std::vector<Neighbor> r = index->Search(q.data(), 10, nullptr);
      ASSERT_EQ(r.size(), 1u);
      EXPECT_EQ(r[0].second, 2u);
      EXPECT_NEAR(r[0].first, 0.0f, 1e-6);
    }
  }
}

TEST(HnswIndex, DistancesFollowApiDefinitions) {
  for (Metric metric : {Metric::kL2, Metric::kInnerProduct, Metric::kCosine}) {
    SCOPED_TRACE(std::string(MetricName(metric)));
    auto index = MakeIndex(2, metric);
    const float a[] = {0, 2}, b[] = {2, 0}, q[] = {1, 0}, q_ip[] = {3, 4};
    ASSERT_TRUE(index->Add(0, a).ok());
    ASSERT_TRUE(index->Add(1, b).ok());
    const float* query = metric == Metric::kInnerProduct ? q_ip : q;
    for (const Neighbor& n : index->Search(query, 2, nullptr)) {
      EXPECT_NEAR(n.first, Distance(metric, query, n.second == 0 ? a : b, 2), 1e-6);
    }
  }
}

TEST(HnswIndex, FilterWithFewAllowedStillReturnsK) {
  const size_t dim = 16, n = 3000;
  MixtureSampler sampler(dim, 30, 11);
  auto index = MakeIndex(dim, Metric::kL2);
  std::vector<float> data = sampler.Sample(n);
  AddAll(*index, data);
  const std::set<uint32_t> few = {17, 503, 1200, 2222, 2999};
  AllowFn allow = [&](uint32_t o) { return few.count(o) > 0; };
  const MatrixView m{data.data(), n, dim, dim};
  for (int i = 0; i < 20; ++i) {
    std::vector<float> q = sampler.Sample(1);
    std::vector<Neighbor> r = index->Search(q.data(), 10, &allow);
    SCOPED_TRACE("query " + std::to_string(i));
    ExpectSameNeighbors(r, BruteForceSearch(Metric::kL2, q.data(), m, 10, &allow));
  }
  AllowFn none = [](uint32_t) { return false; };
  EXPECT_TRUE(index->Search(sampler.Sample(1).data(), 10, &none).empty());
}

// ---- recall on a clustered 20k × 64 data set ------------------------------------------------

constexpr size_t kDim = 64;
constexpr size_t kRows = 20000;
constexpr size_t kQueries = 200;
constexpr size_t kK = 10;
constexpr uint64_t kDataSeed = 42;
constexpr uint64_t kFilterSeed = 4242;

// The collection's planner (STYLE.md habit 6) scans exactly when a filter leaves few offsets:
// the filtered walk must visit about ef / selectivity nodes (≈ the whole graph at 1%), while a
// scan costs one distance per allowed offset. Here: 1% (~200 offsets) scans, 10% (~2000) walks.
constexpr size_t kBruteForceThreshold = 1000;
bool PlannerUsesBruteForce(size_t allowed) { return allowed < kBruteForceThreshold; }

struct RecallCase {
  const char* name;
  double fraction;  // share of offsets the filter allows; 1 = no filter
};

class HnswRecall : public ::testing::TestWithParam<Metric> {};

TEST_P(HnswRecall, RecallAt10AboveThreshold) {
  const Metric metric = GetParam();
  SCOPED_TRACE("metric " + std::string(MetricName(metric)) + " data seed " +
               std::to_string(kDataSeed) + " filter seed " + std::to_string(kFilterSeed));
  MixtureSampler sampler(kDim, 100, kDataSeed);
  const std::vector<float> data = sampler.Sample(kRows);
  const std::vector<float> queries = sampler.Sample(kQueries);  // held out
  auto index = MakeIndex(kDim, metric);
  AddAll(*index, data);
  ASSERT_EQ(index->size(), kRows);
  const MatrixView matrix{data.data(), kRows, kDim, kDim};

  {
    // A narrow beam exposes graph-quality regressions that ef = 100 hides (it reaches 1.0 here).
    std::vector<std::vector<Neighbor>> exact, narrow;
    for (size_t q = 0; q < kQueries; ++q) {
      exact.push_back(BruteForceSearch(metric, &queries[q * kDim], matrix, kK, nullptr));
      narrow.push_back(index->Search(&queries[q * kDim], kK, 20, nullptr));
    }
    const double recall = Recall(narrow, exact);
    RecordProperty(std::string(MetricName(metric)) + " ef=20 recall", std::to_string(recall));
    EXPECT_GE(recall, 0.9) << "ef = 20";
  }

  for (const RecallCase& c : {RecallCase{"no filter", 1.0}, RecallCase{"10% filter", 0.10},
                              RecallCase{"1% filter", 0.01}}) {
    SCOPED_TRACE(c.name);
    const std::vector<uint8_t> bitmap = RandomSubset(kRows, c.fraction, kFilterSeed);
    std::vector<uint32_t> allowed_list;
    for (uint32_t i = 0; i < kRows; ++i) {
      if (bitmap[i]) allowed_list.push_back(i);
    }
    AllowFn allow = [&bitmap](uint32_t o) { return bitmap[o] != 0; };
    const AllowFn* filter = c.fraction < 1.0 ? &allow : nullptr;

    std::vector<std::vector<Neighbor>> exact, hnsw, planned;
    for (size_t q = 0; q < kQueries; ++q) {
      const float* query = &queries[q * kDim];
      exact.push_back(BruteForceSearch(metric, query, matrix, kK, filter));
      hnsw.push_back(index->Search(query, kK, filter));
      ASSERT_EQ(hnsw.back().size(), kK);
      ASSERT_TRUE(IsSorted(hnsw.back()));
      for (const Neighbor& n : hnsw.back()) ASSERT_TRUE(filter == nullptr || bitmap[n.second]);
      planned.push_back(PlannerUsesBruteForce(allowed_list.size())
                            ? BruteForceSearch(metric, query, matrix, allowed_list, kK)
                            : hnsw.back());
    }
    const double hnsw_recall = Recall(hnsw, exact);
    const double planned_recall = Recall(planned, exact);
    RecordProperty(std::string(MetricName(metric)) + " " + c.name + " recall",
                   std::to_string(hnsw_recall));
    // The filtered graph walk reaches the bar even at 1%, where the planner scans anyway.
    EXPECT_GE(hnsw_recall, 0.95) << "allowed " << allowed_list.size();
    EXPECT_GE(planned_recall, 0.95);
    EXPECT_EQ(PlannerUsesBruteForce(allowed_list.size()), c.fraction <= 0.01)
        << "allowed " << allowed_list.size();
  }
}

INSTANTIATE_TEST_SUITE_P(AllMetrics, HnswRecall,
                         ::testing::Values(Metric::kL2, Metric::kInnerProduct, Metric::kCosine),
                         [](const ::testing::TestParamInfo<Metric>& info) {
                           return std::string(MetricName(info.param));
                         });

// ---- deletes and updates --------------------------------------------------------------------

constexpr size_t kSmallDim = 32;
constexpr size_t kSmallRows = 4000;
constexpr uint64_t kSmallSeed = 77;

TEST(HnswIndex, RemovedOffsetsAreNeverReturned) {
  SCOPED_TRACE("seed " + std::to_string(kSmallSeed));
  MixtureSampler sampler(kSmallDim, 40, kSmallSeed);
  std::vector<float> data = sampler.Sample(kSmallRows);
  auto index = MakeIndex(kSmallDim, Metric::kCosine);
  AddAll(*index, data);
  const std::vector<uint8_t> removed = RandomSubset(kSmallRows, 0.3, kSmallSeed + 1);
  size_t removed_count = 0;
  for (uint32_t i = 0; i < kSmallRows; ++i) {
    if (removed[i]) {
      ASSERT_TRUE(index->Remove(i));
      ++removed_count;
    }
  }
  EXPECT_FALSE(index->Remove(kSmallRows + 5));
  EXPECT_EQ(index->size(), kSmallRows - removed_count);
  EXPECT_EQ(index->deleted_count(), removed_count);

  AllowFn live = [&](uint32_t o) { return removed[o] == 0; };
  const MatrixView m{data.data(), kSmallRows, kSmallDim, kSmallDim};
  std::vector<std::vector<Neighbor>> exact, approx;
  for (int q = 0; q < 200; ++q) {
    std::vector<float> query = sampler.Sample(1);
    approx.push_back(index->Search(query.data(), kK, nullptr));
    ASSERT_EQ(approx.back().size(), kK);
    for (const Neighbor& n : approx.back()) ASSERT_FALSE(removed[n.second]) << n.second;
    exact.push_back(BruteForceSearch(Metric::kCosine, query.data(), m, kK, &live));
  }
  EXPECT_GE(Recall(approx, exact), 0.95);

  // Offsets are reused: re-adding a removed offset makes it live with its new vector.
  std::vector<uint32_t> readded;
  for (uint32_t i = 0; i < kSmallRows && readded.size() < 100; ++i) {
    if (!removed[i]) continue;
    sampler.Sample(&data[i * kSmallDim]);
    ASSERT_TRUE(index->Add(i, &data[i * kSmallDim]).ok());
    readded.push_back(i);
  }
  EXPECT_EQ(index->size(), kSmallRows - removed_count + readded.size());
  size_t found = 0;
  for (uint32_t i : readded) {
    std::vector<Neighbor> r = index->Search(&data[i * kSmallDim], kK, nullptr);
    found += OffsetSet(r).count(i);
  }
  EXPECT_GE(found, readded.size() * 99 / 100);
}

TEST(HnswIndex, UpdatedVectorIsFoundAtItsNewPositionOnly) {
  SCOPED_TRACE("seed " + std::to_string(kSmallSeed));
  MixtureSampler sampler(kSmallDim, 40, kSmallSeed);
  std::vector<float> data = sampler.Sample(kSmallRows);
  auto index = MakeIndex(kSmallDim, Metric::kL2);
  AddAll(*index, data);

  // Move 10% of the points to fresh samples (usually another cluster).
  std::mt19937_64 rng(kSmallSeed + 2);
  std::map<uint32_t, std::vector<float>> old_vectors;
  while (old_vectors.size() < kSmallRows / 10) {
    uint32_t o = std::uniform_int_distribution<uint32_t>(0, kSmallRows - 1)(rng);
    if (old_vectors.count(o)) continue;
    old_vectors[o].assign(&data[o * kSmallDim], &data[(o + 1) * kSmallDim]);
    sampler.Sample(&data[o * kSmallDim]);
    ASSERT_TRUE(index->Add(o, &data[o * kSmallDim]).ok());
  }
  EXPECT_EQ(index->size(), kSmallRows);
  EXPECT_EQ(index->deleted_count(), 0u);

  size_t found_at_new = 0;
  for (const auto& [o, old] : old_vectors) {
    const float* now = &data[o * kSmallDim];
    std::vector<Neighbor> r = index->Search(now, kK, nullptr);
    ASSERT_FALSE(r.empty());
    if (r[0].second == o || (OffsetSet(r).count(o) && r[0].first == 0.0f)) ++found_at_new;
    // Searching at the old position never reports the old vector: any hit on `o` carries
    // the distance to its new vector.
    for (const Neighbor& n : index->Search(old.data(), kK, nullptr)) {
      if (n.second == o) {
        EXPECT_NEAR(n.first, Distance(Metric::kL2, old.data(), now, kSmallDim), 1e-3) << o;
      }
    }
  }
  EXPECT_GE(found_at_new, old_vectors.size() * 99 / 100);

  // The graph still answers well after the updates.
  const MatrixView m{data.data(), kSmallRows, kSmallDim, kSmallDim};
  std::vector<std::vector<Neighbor>> exact, approx;
  for (int q = 0; q < 200; ++q) {
    std::vector<float> query = sampler.Sample(1);
    approx.push_back(index->Search(query.data(), kK, nullptr));
    exact.push_back(BruteForceSearch(Metric::kL2, query.data(), m, kK, nullptr));
  }
  EXPECT_GE(Recall(approx, exact), 0.95);
}

// ---- determinism and concurrency ------------------------------------------------------------

TEST(HnswIndex, SameSeedSameGraph) {
  MixtureSampler sampler(kSmallDim, 20, 5);
  std::vector<float> data = sampler.Sample(1500);
  auto a = MakeIndex(kSmallDim, Metric::kInnerProduct, 9);
  auto b = MakeIndex(kSmallDim, Metric::kInnerProduct, 9);
  AddAll(*a, data);
  AddAll(*b, data);
  EXPECT_EQ(a->MemoryBytes(), b->MemoryBytes());
  for (int q = 0; q < 20; ++q) {
    std::vector<float> query = sampler.Sample(1);
    EXPECT_EQ(a->Search(query.data(), kK, 20, nullptr), b->Search(query.data(), kK, 20, nullptr));
  }
}

TEST(HnswIndex, ConcurrentSearchesMatchSequentialOnes) {
  MixtureSampler sampler(kSmallDim, 20, 6);
  std::vector<float> data = sampler.Sample(2000);
  auto index = MakeIndex(kSmallDim, Metric::kL2);
  AddAll(*index, data);
  std::vector<float> queries = sampler.Sample(100);
  std::vector<uint8_t> bitmap = RandomSubset(2000, 0.2, 8);
  AllowFn allow = [&](uint32_t o) { return bitmap[o] != 0; };
  std::vector<std::vector<Neighbor>> expected;
  for (size_t q = 0; q < 100; ++q) {
    expected.push_back(index->Search(&queries[q * kSmallDim], kK, q % 2 ? &allow : nullptr));
  }
  std::vector<int> mismatches(4, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int round = 0; round < 3; ++round) {
        for (size_t q = 0; q < 100; ++q) {
          auto r = index->Search(&queries[q * kSmallDim], kK, q % 2 ? &allow : nullptr);
          if (r != expected[q]) ++mismatches[t];
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  for (int t = 0; t < 4; ++t) EXPECT_EQ(mismatches[t], 0) << "thread " << t;
}

TEST(HnswIndex, EfSearchIsAdjustableAndMemoryIsReported) {
  auto index = MakeIndex(kSmallDim, Metric::kL2);
  EXPECT_EQ(index->ef_search(), 100u);
  index->set_ef_search(10);
  EXPECT_EQ(index->ef_search(), 10u);
  const size_t empty = index->MemoryBytes();
  index->Reserve(1000);
  EXPECT_EQ(index->capacity(), 1000u);
  // At least the vectors and the level-0 links of every reserved slot.
  EXPECT_GE(index->MemoryBytes(), empty + 1000 * (kSmallDim * 4 + 33 * 4));
}

}  // namespace
}  // namespace chromahouse

namespace chromahouse {
namespace {

TEST(HnswIndex, ParallelBatchBuildHasTheQualityOfASerialOne) {
  // 10k rows (the serial recall test's data, halved to keep the sanitizer run short); inner
  // product builds one by one, so only l2 and cosine exercise the threads.
  constexpr size_t kBatchRows = 10000;
  MixtureSampler sampler(kDim, 100, kDataSeed);
  const std::vector<float> data = sampler.Sample(kBatchRows);
  const std::vector<float> queries = sampler.Sample(kQueries);
  const MatrixView matrix{data.data(), kBatchRows, kDim, kDim};
  for (Metric metric : {Metric::kL2, Metric::kCosine}) {
    SCOPED_TRACE(MetricName(metric));
    auto index = MakeIndex(kDim, metric);
    // First a serial part, then the rest in parallel: batches extend a graph too.
    std::vector<uint32_t> offsets;
    std::vector<const float*> vectors;
    for (size_t i = 0; i < kBatchRows; ++i) {
      if (i < 1000) {
        ASSERT_TRUE(index->Add(static_cast<uint32_t>(i), &data[i * kDim]).ok());
        continue;
      }
      offsets.push_back(static_cast<uint32_t>(i));
      vectors.push_back(&data[i * kDim]);
    }
    ASSERT_TRUE(index->AddBatch(offsets, vectors, 2).ok());
    ASSERT_EQ(index->size(), kBatchRows);
    std::vector<std::vector<Neighbor>> exact, narrow, wide;
    for (size_t q = 0; q < kQueries; ++q) {
      exact.push_back(BruteForceSearch(metric, &queries[q * kDim], matrix, kK, nullptr));
      narrow.push_back(index->Search(&queries[q * kDim], kK, 20, nullptr));
      wide.push_back(index->Search(&queries[q * kDim], kK, 100, nullptr));
    }
    EXPECT_GE(Recall(narrow, exact), 0.9) << "ef = 20";
    EXPECT_GE(Recall(wide, exact), 0.99) << "ef = 100";
  }
}

TEST(HnswIndex, AStoppedBatchInsertsAPrefixAndLeavesTheRestAbsent) {
  constexpr size_t kRows = 4000;
  MixtureSampler sampler(kDim, 100, kDataSeed);
  const std::vector<float> data = sampler.Sample(kRows);
  const std::vector<float> queries = sampler.Sample(kQueries);
  const MatrixView matrix{data.data(), kRows, kDim, kDim};
  auto index = MakeIndex(kDim, Metric::kL2);
  std::vector<uint32_t> offsets;
  std::vector<const float*> vectors;
  for (size_t i = 0; i < kRows; ++i) {
    offsets.push_back(static_cast<uint32_t>(i));
    vectors.push_back(&data[i * kDim]);
  }
  const std::atomic<int> stop{1};  // somebody waits from the start
  size_t inserted = 0;
  ASSERT_TRUE(index->AddBatch(offsets, vectors, 2, nullptr, &stop, &inserted).ok());
  EXPECT_GE(inserted, HnswIndex::kMinBeforeStop);
  EXPECT_LT(inserted, 64u);
  EXPECT_EQ(index->size(), inserted);
  for (size_t i = 0; i < kRows; ++i) ASSERT_EQ(index->Contains(offsets[i]), i < inserted) << i;
  // Searches meet only inserted nodes; the rest can be batched again.
  for (const auto& [d, o] : index->Search(&queries[0], kK, 100, nullptr)) EXPECT_LT(o, inserted);
  std::vector<uint32_t> rest(offsets.begin() + static_cast<ptrdiff_t>(inserted), offsets.end());
  std::vector<const float*> rest_vectors(vectors.begin() + static_cast<ptrdiff_t>(inserted),
                                         vectors.end());
  const std::atomic<int> go{0};
  ASSERT_TRUE(index->AddBatch(rest, rest_vectors, 2, nullptr, &go, &inserted).ok());
  EXPECT_EQ(inserted, rest.size());
  ASSERT_EQ(index->size(), kRows);
  std::vector<std::vector<Neighbor>> exact, got;
  for (size_t q = 0; q < kQueries; ++q) {
    exact.push_back(BruteForceSearch(Metric::kL2, &queries[q * kDim], matrix, kK, nullptr));
    got.push_back(index->Search(&queries[q * kDim], kK, 100, nullptr));
  }
  EXPECT_GE(Recall(got, exact), 0.97);
}

TEST(HnswIndex, BatchRejectsPresentAndRepeatedOffsets) {
  auto index = MakeIndex(4, Metric::kL2);
  const float v[4] = {1, 2, 3, 4};
  ASSERT_TRUE(index->Add(7, v).ok());
  auto present = index->AddBatch({1, 7}, {v, v}, 2);
  ASSERT_FALSE(present.ok());
  EXPECT_NE(present.message().find("offset 7 is already in the index"), std::string::npos);
  auto twice = index->AddBatch({1, 2, 1}, {v, v, v}, 2);
  ASSERT_FALSE(twice.ok());
  EXPECT_NE(twice.message().find("offset 1 appears twice"), std::string::npos);
  EXPECT_EQ(index->size(), 1u);
}

// Image rows for the snapshot tests: a graph of kImageRows mixture rows.
constexpr size_t kImageRows = 3000;

std::vector<Neighbor> Mapped(std::vector<Neighbor> r, const std::vector<uint32_t>& back) {
  for (auto& n : r) n.second = back[n.second];
  return r;
}

TEST(HnswIndex, ImageRoundTripRebuildsTheSameGraphUnderNewOffsets) {
  MixtureSampler sampler(kDim, 50, kDataSeed);
  const std::vector<float> data = sampler.Sample(kImageRows);
  const std::vector<float> queries = sampler.Sample(kQueries);
  for (Metric metric : {Metric::kL2, Metric::kCosine, Metric::kInnerProduct}) {
    SCOPED_TRACE(MetricName(metric));
    auto index = MakeIndex(kDim, metric);
    AddAll(*index, data);
    std::string image;
    std::vector<uint32_t> offsets;
    index->AppendImage(&image, &offsets);
    ASSERT_EQ(offsets.size(), kImageRows);
    // The new process numbers records differently: image node i (old offset offsets[i]) goes to
    // offset kImageRows - 1 - offsets[i].
    std::vector<uint32_t> targets(offsets.size()), back(kImageRows);
    for (size_t i = 0; i < offsets.size(); ++i) {
      targets[i] = static_cast<uint32_t>(kImageRows - 1 - offsets[i]);
      back[targets[i]] = offsets[i];
    }
    auto loaded = HnswIndex::FromImage(index->params(), image, targets,
                                       [&](uint32_t o) { return &data[size_t{back[o]} * kDim]; });
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    EXPECT_EQ((*loaded)->size(), kImageRows);
    for (size_t q = 0; q < kQueries; ++q) {
      ExpectSameNeighbors(Mapped((*loaded)->Search(&queries[q * kDim], kK, 50, nullptr), back),
                          index->Search(&queries[q * kDim], kK, 50, nullptr));
    }
    // The loaded graph keeps working as a graph: inserts, removals and updates (a vector is its
    // own nearest neighbour except under inner product).
    const std::vector<float> more = sampler.Sample(10);
    for (uint32_t i = 0; i < 10; ++i) {
      ASSERT_TRUE((*loaded)->Add(static_cast<uint32_t>(kImageRows) + i, &more[i * kDim]).ok());
      auto hit = (*loaded)->Search(&more[i * kDim], 1, nullptr);
      ASSERT_EQ(hit.size(), 1u);
      if (metric != Metric::kInnerProduct) {
        EXPECT_EQ(hit[0].second, kImageRows + i);
      }
    }
    EXPECT_TRUE((*loaded)->Remove(0));
    EXPECT_TRUE((*loaded)->Add(1, &more[0]).ok());
  }
}

TEST(HnswIndex, ImageWithDroppedNodesKeepsRecallAndNeverReturnsThem) {
  MixtureSampler sampler(kDim, 50, kDataSeed + 1);
  const std::vector<float> data = sampler.Sample(kImageRows);
  const std::vector<float> queries = sampler.Sample(kQueries);
  auto index = MakeIndex(kDim, Metric::kL2);
  AddAll(*index, data);
  // A removed node is not in the image.
  ASSERT_TRUE(index->Remove(5));
  std::string image;
  std::vector<uint32_t> offsets;
  index->AppendImage(&image, &offsets);
  ASSERT_EQ(offsets.size(), kImageRows - 1);
  EXPECT_EQ(std::count(offsets.begin(), offsets.end(), 5u), 0);
  // Drop every tenth node and the entry point (its image number is at byte 32 of the header).
  std::vector<uint32_t> targets(offsets);
  std::vector<uint8_t> dropped(kImageRows, 0);
  dropped[5] = 1;
  uint32_t entry = 0;
  std::memcpy(&entry, image.data() + 32, sizeof(entry));
  ASSERT_LT(entry, targets.size());
  auto drop = [&](size_t i) {
    if (targets[i] == HnswIndex::kDropNode) return;
    dropped[targets[i]] = 1;
    targets[i] = HnswIndex::kDropNode;
  };
  drop(entry);
  for (size_t i = 0; i < targets.size(); i += 10) drop(i);
  auto loaded = HnswIndex::FromImage(index->params(), image, targets,
                                     [&](uint32_t o) { return &data[size_t{o} * kDim]; });
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  size_t kept = 0;
  for (uint8_t d : dropped) kept += d ? 0 : 1;
  EXPECT_EQ((*loaded)->size(), kept);
  // Exact answers over the kept rows.
  std::vector<float> kept_rows;
  std::vector<uint32_t> kept_offsets;
  for (uint32_t o = 0; o < kImageRows; ++o) {
    if (dropped[o]) continue;
    kept_rows.insert(kept_rows.end(), &data[size_t{o} * kDim], &data[size_t{o + 1} * kDim]);
    kept_offsets.push_back(o);
  }
  const MatrixView matrix{kept_rows.data(), kept_offsets.size(), kDim, kDim};
  std::vector<std::vector<Neighbor>> exact, approx;
  for (size_t q = 0; q < kQueries; ++q) {
    exact.push_back(Mapped(BruteForceSearch(Metric::kL2, &queries[q * kDim], matrix, kK, nullptr),
                           kept_offsets));
    approx.push_back((*loaded)->Search(&queries[q * kDim], kK, 100, nullptr));
    for (const Neighbor& n : approx.back()) EXPECT_FALSE(dropped[n.second]) << n.second;
  }
  EXPECT_GE(Recall(approx, exact), 0.95);

  // Every node dropped: an empty graph, not an error.
  std::vector<uint32_t> none(offsets.size(), HnswIndex::kDropNode);
  auto empty = HnswIndex::FromImage(index->params(), image, none,
                                    [&](uint32_t o) { return &data[size_t{o} * kDim]; });
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ((*empty)->size(), 0u);
  EXPECT_TRUE((*empty)->Search(&queries[0], kK, nullptr).empty());
}

TEST(HnswIndex, MalformedImagesAreRefusedNeverLoaded) {
  MixtureSampler sampler(8, 10, kDataSeed + 2);
  constexpr size_t kRows = 400;
  const std::vector<float> data = sampler.Sample(kRows);
  auto index = MakeIndex(8, Metric::kL2);
  AddAll(*index, data);
  std::string image;
  std::vector<uint32_t> offsets;
  index->AppendImage(&image, &offsets);
  auto vector_of = [&](uint32_t o) { return &data[size_t{o % kRows} * 8]; };
  auto load = [&](std::string_view img, const HnswParams& params,
                  const std::vector<uint32_t>& targets) {
    return HnswIndex::FromImage(params, img, targets, vector_of);
  };
  ASSERT_TRUE(load(image, index->params(), offsets).ok());

  HnswParams other = index->params();
  other.max_neighbors = 8;
  auto wrong_m = load(image, other, offsets);
  ASSERT_FALSE(wrong_m.ok());
  EXPECT_NE(wrong_m.status().message().find("M 16; expected dim 8, metric 0, M 8"),
            std::string::npos)
      << wrong_m.status().message();
  other = index->params();
  other.dim = 9;
  EXPECT_FALSE(load(image, other, offsets).ok());
  EXPECT_FALSE(load(image, index->params(), {1, 2, 3}).ok());
  std::vector<uint32_t> twice(offsets);
  twice[1] = twice[0];
  auto repeated = load(image, index->params(), twice);
  ASSERT_FALSE(repeated.ok());
  EXPECT_NE(repeated.status().message().find("given twice"), std::string::npos);

  // Every truncation is refused.
  for (size_t len = 0; len < image.size(); len += (len < 64 ? 1 : 37)) {
    EXPECT_FALSE(load(std::string_view(image).substr(0, len), index->params(), offsets).ok())
        << "length " << len;
  }
  // A changed byte is refused, or yields a graph that searches only valid offsets (the
  // sanitizer build checks every access).
  std::mt19937_64 rng(7);
  std::uniform_int_distribution<size_t> pos(0, image.size() - 1);
  std::uniform_int_distribution<int> byte(0, 255);
  size_t refused = 0;
  for (int trial = 0; trial < 300; ++trial) {
    std::string bad = image;
    bad[pos(rng)] = static_cast<char>(byte(rng));
    auto g = load(bad, index->params(), offsets);
    if (!g.ok()) {
      ++refused;
      continue;
    }
    for (size_t q = 0; q < 5; ++q) {
      for (const Neighbor& n : (*g)->Search(&data[q * 8], 5, nullptr)) EXPECT_LT(n.second, kRows);
    }
  }
  EXPECT_GT(refused, 0u);
}

TEST(HnswIndex, ExternalVectorsWorkLikeOwnCopiesWithoutTheMemory) {
  constexpr size_t kRows = 5000;
  MixtureSampler sampler(kDim, 50, kDataSeed + 3);
  std::vector<float> data = sampler.Sample(kRows);
  const std::vector<float> queries = sampler.Sample(kQueries);
  const MatrixView matrix{data.data(), kRows, kDim, kDim};
  for (Metric metric : {Metric::kL2, Metric::kInnerProduct}) {
    SCOPED_TRACE(MetricName(metric));
    HnswParams params;
    params.dim = kDim;
    params.metric = metric;
    auto own = HnswIndex::Create(params);
    params.external_vectors = true;
    auto ext = HnswIndex::Create(params);
    ASSERT_TRUE(own.ok() && ext.ok());
    (*ext)->SetVectors(data.data());
    // Half one by one, half in a parallel batch.
    std::vector<uint32_t> offsets;
    std::vector<const float*> vectors;
    for (uint32_t i = 0; i < kRows; ++i) {
      ASSERT_TRUE((*own)->Add(i, &data[i * kDim]).ok());
      if (i < kRows / 2) {
        ASSERT_TRUE((*ext)->Add(i, &data[i * kDim]).ok());
      } else {
        offsets.push_back(i);
        vectors.push_back(&data[i * kDim]);
      }
    }
    ASSERT_TRUE((*ext)->AddBatch(offsets, vectors, 2).ok());
    // No copy of the vectors (the parallel build adds its lock stripes).
    EXPECT_LT((*ext)->MemoryBytes() + kRows * kDim * sizeof(float) * 8 / 10, (*own)->MemoryBytes());
    // The caller's matrix moves (it grew): the index follows the new base.
    std::vector<float> moved(data);
    std::fill(data.begin(), data.end(), 1e6f);
    (*ext)->SetVectors(moved.data());
    std::vector<std::vector<Neighbor>> exact, got_own, got_ext;
    for (size_t q = 0; q < kQueries; ++q) {
      exact.push_back(BruteForceSearch(metric, &queries[q * kDim], matrix, kK, nullptr));
      got_own.push_back((*own)->Search(&queries[q * kDim], kK, 100, nullptr));
      got_ext.push_back((*ext)->Search(&queries[q * kDim], kK, 100, nullptr));
    }
    // `matrix` views `data`, now overwritten: compare against the moved copy instead.
    const MatrixView now{moved.data(), kRows, kDim, kDim};
    for (size_t q = 0; q < kQueries; ++q) {
      exact[q] = BruteForceSearch(metric, &queries[q * kDim], now, kK, nullptr);
    }
    EXPECT_GE(Recall(got_ext, exact), 0.95);
    EXPECT_NEAR(Recall(got_ext, exact), Recall(got_own, exact), 0.02);
    data = moved;
    (*ext)->SetVectors(data.data());
    // An update of a row: Remove, change the row, Add again.
    ASSERT_TRUE((*ext)->Remove(7));
    std::vector<float> far(kDim, 50.0f);
    std::copy(far.begin(), far.end(), data.begin() + 7 * kDim);
    ASSERT_TRUE((*ext)->Add(7, &data[7 * kDim]).ok());
    auto hit = (*ext)->Search(far.data(), 1, nullptr);
    ASSERT_EQ(hit.size(), 1u);
    if (metric == Metric::kL2) {
      EXPECT_EQ(hit[0].second, 7u);
    }
  }
  HnswParams cosine;
  cosine.dim = 4;
  cosine.metric = Metric::kCosine;
  cosine.external_vectors = true;
  EXPECT_FALSE(HnswIndex::Create(cosine).ok());
}

}  // namespace
}  // namespace chromahouse
