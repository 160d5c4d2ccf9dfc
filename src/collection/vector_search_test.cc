// VectorSearch: the graph plus the exact tail, and the planner's choice of path.
#include "collection/vector_search.h"

#include <gtest/gtest.h>

#include <random>
#include <set>

namespace chromahouse {
namespace {

std::vector<RecordRow> RandomRows(size_t n, size_t dim, uint64_t seed, uint64_t first_version) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal;
  std::vector<RecordRow> rows(n);
  for (size_t i = 0; i < n; ++i) {
    rows[i].id = "r" + std::to_string(i);
    rows[i].version = rows[i].created = first_version + i;
    rows[i].embedding.resize(dim);
    // Clustered: 32 centres plus noise.
    float centre = static_cast<float>(i % 32);
    for (auto& x : rows[i].embedding) x = centre + normal(rng) * 0.5f;
  }
  return rows;
}

double Recall(const std::vector<Neighbor>& got, const std::vector<Neighbor>& truth) {
  std::set<uint32_t> want;
  for (auto [d, o] : truth) want.insert(o);
  size_t hits = 0;
  for (auto [d, o] : got) hits += want.count(o);
  return truth.empty() ? 1.0 : double(hits) / double(truth.size());
}

class VectorSearchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    HnswParams p;
    p.metric = Metric::kL2;
    search_ = std::make_unique<VectorSearch>(p);
    Apply(RandomRows(5000, 16, 7, 1));
  }
  void Apply(const std::vector<RecordRow>& rows) {
    auto changes = store_.Apply(rows);
    search_->OnApplied(store_, changes);
  }
  std::vector<Neighbor> Exact(const float* q, size_t k, const std::vector<uint32_t>* allowed) {
    std::vector<uint32_t> all = allowed ? *allowed : store_.OffsetsInInsertionOrder();
    return store_.Nearest(q, all, k);
  }

  RecordStore store_{Metric::kL2};
  std::unique_ptr<VectorSearch> search_;
};

TEST_F(VectorSearchTest, UnindexedRecordsAreFoundExactlyThroughTheTail) {
  ASSERT_EQ(search_->pending(), 5000u);  // nothing indexed yet: writes never waited
  SearchPath path;
  const float* q = store_.embedding(123);
  auto got = search_->Search(store_, q, 10, nullptr, 100, &path);
  EXPECT_EQ(path, SearchPath::kHnsw);
  EXPECT_EQ(got, Exact(q, 10, nullptr));
}

TEST_F(VectorSearchTest, AWaitingRequestEndsASingleThreadStepAfterOneInsert) {
  ASSERT_EQ(search_->pending(), 5000u);
  EXPECT_TRUE(search_->IndexStep(store_, 1));
  EXPECT_EQ(search_->indexed(), VectorSearch::kStep);  // nobody waiting: a whole step
  {
    VectorSearch::Waiting waiting(*search_);
    EXPECT_TRUE(search_->IndexStep(store_, 1));
    EXPECT_EQ(search_->indexed(), VectorSearch::kStep + 1);  // one insert, then it yields
    EXPECT_TRUE(search_->IndexStep(store_, 1));
    EXPECT_EQ(search_->indexed(), VectorSearch::kStep + 2);  // but it always makes progress
  }
  EXPECT_TRUE(search_->IndexStep(store_, 1));
  EXPECT_EQ(search_->indexed(), 2 * VectorSearch::kStep + 2);
  EXPECT_EQ(search_->indexed() + search_->pending(), 5000u);
}

TEST(VectorSearchBulkTest, AWaitingRequestEndsABulkStepEarlyAndNothingIsLost) {
  HnswParams p;
  p.metric = Metric::kL2;
  VectorSearch search(p);
  RecordStore store(Metric::kL2);
  auto rows = RandomRows(VectorSearch::kBulkPending + 1000, 16, 11, 1);
  search.OnApplied(store, store.Apply(rows));
  const size_t total = rows.size();
  {
    VectorSearch::Waiting waiting(search);
    EXPECT_TRUE(search.IndexStep(store, 2));
    EXPECT_GE(search.indexed(), HnswIndex::kMinBeforeStop);
    EXPECT_LT(search.indexed(), VectorSearch::kBulkStep);  // not the whole step
    EXPECT_EQ(search.indexed() + search.pending(), total);
  }
  EXPECT_TRUE(search.IndexStep(store, 2));
  const size_t after_whole_step = search.indexed();
  EXPECT_GE(after_whole_step, VectorSearch::kBulkStep);
  while (search.IndexStep(store, 2)) {
  }
  EXPECT_EQ(search.indexed(), total);
  EXPECT_EQ(search.pending(), 0u);
  // Every record is found by the graph (no tail left).
  SearchPath path;
  for (uint32_t o : {0u, 1000u, 4000u}) {
    auto got = search.Search(store, store.embedding(o), 1, nullptr, 100, &path);
    EXPECT_EQ(path, SearchPath::kHnsw);
    ASSERT_FALSE(got.empty());
    EXPECT_EQ(got[0].second, o);
  }
}

TEST_F(VectorSearchTest, GraphReachesHighRecallAndStaysExactOnDistances) {
  while (search_->IndexSome(store_, 256)) {
  }
  EXPECT_EQ(search_->pending(), 0u);
  EXPECT_EQ(search_->indexed(), 5000u);
  auto queries = RandomRows(100, 16, 99, 1'000'000);
  double recall = 0;
  for (const auto& q : queries) {
    SearchPath path;
    auto got = search_->Search(store_, q.embedding.data(), 10, nullptr, 100, &path);
    ASSERT_EQ(path, SearchPath::kHnsw);
    auto truth = Exact(q.embedding.data(), 10, nullptr);
    recall += Recall(got, truth);
    for (auto [d, o] : got) {
      // Distances come from the stored vectors, whichever path found the record.
      float exact = RawDistanceFn(Metric::kL2)(q.embedding.data(), store_.embedding(o), 16);
      EXPECT_FLOAT_EQ(d, exact);
    }
  }
  EXPECT_GE(recall / 100, 0.95);
}

TEST_F(VectorSearchTest, PlannerUsesBruteForceForSmallAllowedSets) {
  while (search_->IndexSome(store_, 1024)) {
  }
  std::vector<uint32_t> small;  // 1% of the records
  for (uint32_t o = 0; o < 5000; o += 100) small.push_back(o);
  SearchPath path;
  const float* q = store_.embedding(4321);
  auto got = search_->Search(store_, q, 10, &small, 100, &path);
  EXPECT_EQ(path, SearchPath::kBruteForce);
  EXPECT_EQ(got, Exact(q, 10, &small));

  std::vector<uint32_t> half;
  for (uint32_t o = 0; o < 5000; o += 2) half.push_back(o);
  // 2,500 × 16 floats is a cheap exact scan: brute force with the default planner...
  got = search_->Search(store_, q, 10, &half, 100, &path);
  EXPECT_EQ(path, SearchPath::kBruteForce);
  EXPECT_EQ(got, Exact(q, 10, &half));
  // ...and the filtered graph once the scan is deemed too expensive.
  HnswParams p;
  VectorSearch graph_first(p, PlannerOptions{2048, 0});
  graph_first.OnApplied(store_, {});
  while (graph_first.IndexSome(store_, 1024)) {
  }
  got = graph_first.Search(store_, q, 10, &half, 100, &path);
  EXPECT_EQ(path, SearchPath::kHnsw);
  for (auto [d, o] : got) EXPECT_EQ(o % 2, 0u) << "a filtered-out record was returned";
  EXPECT_GE(Recall(got, Exact(q, 10, &half)), 0.9);
}

TEST_F(VectorSearchTest, IndexerStepsAreBulkAndParallelWhileManyRecordsWait) {
  // 5,000 waiting: bulk steps of kBulkStep with two threads.
  ASSERT_TRUE(search_->IndexStep(store_, 2));
  EXPECT_EQ(search_->pending(), 5000u - VectorSearch::kBulkStep);
  EXPECT_EQ(search_->indexed(), VectorSearch::kBulkStep);
  // Records already in the graph that change meanwhile are re-inserted (Add), new ones batched.
  std::vector<RecordRow> moved;
  for (const char* id : {"r4999", "r4998", "r10"}) {
    RecordRow r = store_.Row(*store_.Find(id));
    r.version = 20'000'000 + moved.size();
    for (float& x : r.embedding) x += 0.25f;
    moved.push_back(r);
  }
  Apply(moved);
  while (search_->pending() >= VectorSearch::kBulkPending)
    ASSERT_TRUE(search_->IndexStep(store_, 2));
  // Below the threshold: small single-thread steps.
  const size_t before = search_->pending();
  search_->IndexStep(store_, 2);
  EXPECT_EQ(search_->pending(), before - VectorSearch::kStep);
  while (search_->IndexStep(store_, 2)) {
  }
  EXPECT_EQ(search_->indexed(), 5000u);
  auto queries = RandomRows(100, 16, 98, 1'000'000);
  double recall = 0;
  for (const auto& q : queries) {
    SearchPath path;
    auto got = search_->Search(store_, q.embedding.data(), 10, nullptr, 100, &path);
    ASSERT_EQ(path, SearchPath::kHnsw);
    recall += Recall(got, Exact(q.embedding.data(), 10, nullptr));
  }
  EXPECT_GE(recall / 100, 0.95);
  for (const RecordRow& r : moved) {
    SearchPath path;
    auto got = search_->Search(store_, r.embedding.data(), 1, nullptr, 100, &path);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(store_.id(got[0].second), r.id);
  }
}

TEST_F(VectorSearchTest, AVectorTheGraphRefusesDoesNotFailItsBulkStep) {
  // Finite but with a squared norm beyond float32 (the API accepts it; the graph does not).
  RecordRow huge = store_.Row(*store_.Find("r4999"));
  huge.id = "huge";
  huge.version = huge.created = 30'000'000;
  std::fill(huge.embedding.begin(), huge.embedding.end(), 1e20f);
  Apply({huge});
  while (search_->IndexStep(store_, 2)) {
  }
  // Every other record made it into the graph.
  EXPECT_EQ(search_->indexed(), 5000u);
  EXPECT_EQ(search_->pending(), 0u);
  // The refused one is still found (searched exactly), until it changes.
  SearchPath path;
  auto got = search_->Search(store_, huge.embedding.data(), 1, nullptr, 100, &path);
  EXPECT_EQ(path, SearchPath::kHnsw);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(store_.id(got[0].second), "huge");
  RecordRow tame = huge;
  tame.version = 30'000'001;
  std::fill(tame.embedding.begin(), tame.embedding.end(), 7.0f);
  Apply({tame});
  while (search_->IndexStep(store_, 2)) {
  }
  EXPECT_EQ(search_->indexed(), 5001u);
  got = search_->Search(store_, tame.embedding.data(), 1, nullptr, 100, &path);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(store_.id(got[0].second), "huge");
}

TEST_F(VectorSearchTest, UpdatesAndDeletesAreReflectedBeforeAndAfterIndexing) {
  while (search_->IndexSome(store_, 1024)) {
  }
  // Move r0 far away, delete r1.
  RecordRow moved = store_.Row(*store_.Find("r0"));
  moved.version = 10'000'000;
  std::fill(moved.embedding.begin(), moved.embedding.end(), 1000.0f);
  RecordRow gone;
  gone.id = "r1";
  gone.version = 10'000'001;
  gone.deleted = true;
  Apply({moved, gone});
  std::vector<float> far(16, 1000.0f);
  SearchPath path;
  for (int round = 0; round < 2; ++round) {
    auto got = search_->Search(store_, far.data(), 1, nullptr, 100, &path);
    ASSERT_EQ(got.size(), 1u);
    EXPECT_EQ(store_.id(got[0].second), "r0") << "round " << round;
    EXPECT_FLOAT_EQ(got[0].first, 0.0f);
    for (auto [d, o] :
         search_->Search(store_, store_.embedding(*store_.Find("r2")), 50, nullptr, 100, &path)) {
      EXPECT_NE(store_.id(o), "r1");
    }
    while (search_->IndexSome(store_, 1024)) {
    }
  }
}

TEST(VectorSearchSmall, SmallCollectionsHaveNoGraph) {
  RecordStore store(Metric::kCosine);
  VectorSearch search(HnswParams{});
  auto changes = store.Apply(RandomRows(100, 4, 1, 1));
  search.OnApplied(store, changes);
  EXPECT_FALSE(search.HasPending());
  SearchPath path;
  auto got = search.Search(store, store.embedding(5), 3, nullptr, 100, &path);
  EXPECT_EQ(path, SearchPath::kBruteForce);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].second, 5u);
}

}  // namespace
}  // namespace chromahouse
