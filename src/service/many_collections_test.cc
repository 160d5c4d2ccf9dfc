// Many small collections under a cache budget smaller than their total: every read answers
// correctly (evicted collections are reloaded from storage), the accounted memory stays within
// the budget plus the one collection a request is using, and evictions are counted.
#include <gtest/gtest.h>

#include <random>

#include "service/catalog_service.h"
#include "service/record_service.h"
#include "storage/memory/memory_storage.h"

namespace chromahouse {
namespace {

constexpr int kCollections = 1000;
constexpr int kRecords = 40;
constexpr int kDim = 8;

std::vector<float> Vector(int collection, int record) {
  std::vector<float> v(kDim);
  for (int d = 0; d < kDim; ++d) v[d] = float((collection * 31 + record * 7 + d * 3) % 97);
  return v;
}

TEST(ManyCollectionsTest, BudgetHoldsAndEveryQueryIsRight) {
  MemoryStorage storage;
  VersionClock clock;
  CatalogService catalog(&storage, &clock);
  ASSERT_TRUE(catalog.Initialize().ok());

  // Writes go through an unbounded service; reads through a bounded one over the same storage.
  RecordService writer(&catalog, &storage, &clock);
  std::vector<std::string> ids;
  for (int c = 0; c < kCollections; ++c) {
    CreateCollectionRequest create;
    create.name = "coll-" + std::to_string(c);
    auto made = catalog.CreateCollection("default_tenant", "default_database", create);
    ASSERT_TRUE(made.ok()) << made.status().ToString();
    ids.push_back(made->id);
    RecordWriteRequest w;
    w.embeddings.emplace();
    w.documents.emplace();
    for (int r = 0; r < kRecords; ++r) {
      w.ids.push_back("r" + std::to_string(r));
      w.embeddings->push_back(Vector(c, r));
      w.documents->push_back("c" + std::to_string(c) + "r" + std::to_string(r));
    }
    ASSERT_TRUE(writer.Write(made->id, RecordWriteKind::kAdd, w).ok());
  }
  const size_t total = writer.cache_stats().bytes;
  ASSERT_GT(total, 0u);
  const size_t per_collection = total / kCollections;
  const size_t budget = total / 8;

  RecordService reader(&catalog, &storage, &clock, budget);
  std::mt19937 rng(7);
  size_t max_bytes = 0;
  for (int round = 0; round < 3 * kCollections; ++round) {
    int c = static_cast<int>(rng() % kCollections);
    int target = static_cast<int>(rng() % kRecords);
    QueryRequest q;
    q.query_embeddings = {Vector(c, target)};
    q.n_results = 1;
    q.include.fields = {IncludeField::kDocuments, IncludeField::kDistances};
    auto result = reader.Query(ids[c], q);
    ASSERT_TRUE(result.ok()) << result.status().ToString();
    ASSERT_EQ(result->per_query[0].size(), 1u);
    const RecordView& hit = result->per_query[0][0];
    // Exact match of the query vector (ties broken towards the record itself or an equal one).
    EXPECT_EQ(hit.distance, 0.0f) << "collection " << c << " record " << target;
    EXPECT_EQ(**hit.document, "c" + std::to_string(c) + "r" + hit.id.substr(1));
    max_bytes = std::max(max_bytes, reader.cache_stats().bytes);
  }
  auto stats = reader.cache_stats();
  EXPECT_LE(max_bytes, budget + 2 * per_collection)
      << "budget " << budget << " bytes, one collection ~" << per_collection;
  EXPECT_GT(stats.evictions, int64_t{2 * kCollections});
  EXPECT_EQ(stats.misses, stats.evictions + static_cast<int64_t>(stats.collections));
  // Loaded collections are sized exactly (the writer's grew geometrically), so more of them
  // than budget / per_collection may fit; what they hold stays within the budget.
  EXPECT_LE(stats.bytes, budget + 2 * per_collection);
  EXPECT_LT(stats.collections, static_cast<size_t>(kCollections) / 2);
}

}  // namespace
}  // namespace chromahouse
