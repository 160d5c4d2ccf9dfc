// Group commit: concurrent writers to one collection share storage writes, and every write is
// applied exactly once and in a consistent order.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "service/catalog_service.h"
#include "service/record_service.h"
#include "storage/memory/memory_storage.h"

namespace chromahouse {
namespace {

// Memory storage whose record writes are slow (like a ClickHouse INSERT) and counted.
class SlowStorage : public MemoryStorage {
 public:
  Status WriteRecords(const std::string& collection_id,
                      const std::vector<RecordRow>& rows) override {
    calls.fetch_add(1);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (fail.load()) return Status::Unavailable("storage down");
    return MemoryStorage::WriteRecords(collection_id, rows);
  }
  std::atomic<int> calls{0};
  std::atomic<bool> fail{false};
};

class GroupCommitTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(catalog_.Initialize().ok());
    CreateCollectionRequest req;
    req.name = "group";
    auto c = catalog_.CreateCollection("default_tenant", "default_database", req);
    ASSERT_TRUE(c.ok());
    id_ = c->id;
  }

  static RecordWriteRequest Batch(int writer, int n) {
    RecordWriteRequest req;
    std::vector<std::optional<std::vector<float>>> embeddings;
    for (int i = 0; i < n; ++i) {
      req.ids.push_back("w" + std::to_string(writer) + "-" + std::to_string(i));
      embeddings.emplace_back(std::vector<float>{float(writer), float(i), 1.0f});
    }
    req.embeddings = std::move(embeddings);
    return req;
  }

  SlowStorage storage_;
  VersionClock clock_;
  CatalogService catalog_{&storage_, &clock_};
  RecordService records_{&catalog_, &storage_, &clock_};
  std::string id_;
};

TEST_F(GroupCommitTest, ConcurrentWritersShareStorageWrites) {
  constexpr int kWriters = 16, kPerWriter = 20, kRounds = 5;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (int round = 0; round < kRounds; ++round) {
        RecordWriteRequest req = Batch(w * 100 + round, kPerWriter);
        if (!records_.Write(id_, RecordWriteKind::kAdd, req).ok()) failures.fetch_add(1);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(*records_.Count(id_), kWriters * kPerWriter * kRounds);
  EXPECT_EQ(storage_.LoadRecords(id_)->size(), size_t{kWriters * kPerWriter * kRounds});
  // 80 requests; with 16 writers waiting behind 5 ms writes, most commits carry several.
  EXPECT_LT(storage_.calls.load(), kWriters * kRounds / 2) << "no batching happened";
}

TEST_F(GroupCommitTest, AFailedGroupAppliesNothingAndEveryWriterSeesTheError) {
  storage_.fail = true;
  std::vector<std::thread> threads;
  std::atomic<int> unavailable{0};
  for (int w = 0; w < 8; ++w) {
    threads.emplace_back([&, w] {
      RecordWriteRequest req = Batch(w, 5);
      Status s = records_.Write(id_, RecordWriteKind::kAdd, req);
      if (s.code() == StatusCode::kUnavailable) unavailable.fetch_add(1);
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(unavailable.load(), 8);
  EXPECT_EQ(*records_.Count(id_), 0);
  storage_.fail = false;
  RecordWriteRequest req = Batch(1, 5);
  EXPECT_TRUE(records_.Write(id_, RecordWriteKind::kAdd, req).ok());
  EXPECT_EQ(*records_.Count(id_), 5);
}

TEST_F(GroupCommitTest, ADimensionMismatchFailsOnlyThatWriter) {
  RecordWriteRequest first = Batch(1, 3);
  ASSERT_TRUE(records_.Write(id_, RecordWriteKind::kAdd, first).ok());
  RecordWriteRequest wrong;
  wrong.ids = {"bad"};
  wrong.embeddings = std::vector<std::optional<std::vector<float>>>{std::vector<float>{1, 2}};
  Status s = records_.Write(id_, RecordWriteKind::kAdd, wrong);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "Collection expecting embedding with dimension of 3, got 2");
  EXPECT_EQ(*records_.Count(id_), 3);
}

}  // namespace
}  // namespace chromahouse

namespace chromahouse {
namespace {

TEST(CollectionCacheBudget, EvictsLeastRecentlyUsedAndReloadsIdentically) {
  MemoryStorage storage;
  VersionClock clock;
  CatalogService catalog(&storage, &clock);
  ASSERT_TRUE(catalog.Initialize().ok());
  // A budget that holds about two of these collections.
  RecordService records(&catalog, &storage, &clock, /*cache_budget_bytes=*/150 * 1024);
  std::vector<std::string> ids;
  for (int c = 0; c < 5; ++c) {
    CreateCollectionRequest req;
    req.name = "budget" + std::to_string(c);
    auto created = catalog.CreateCollection("default_tenant", "default_database", req);
    ASSERT_TRUE(created.ok());
    ids.push_back(created->id);
    RecordWriteRequest w;
    std::vector<std::optional<std::vector<float>>> embeddings;
    for (int i = 0; i < 200; ++i) {
      w.ids.push_back("r" + std::to_string(i));
      embeddings.emplace_back(std::vector<float>(64, float(c * 1000 + i)));
    }
    w.embeddings = std::move(embeddings);
    ASSERT_TRUE(records.Write(created->id, RecordWriteKind::kAdd, w).ok());
  }
  auto stats = records.cache_stats();
  EXPECT_GT(stats.evictions, 0);
  EXPECT_LE(stats.bytes, size_t{150 * 1024});
  // Every collection still answers, evicted or not, with the same records.
  for (int c = 0; c < 5; ++c) {
    QueryRequest q;
    q.query_embeddings = {std::vector<float>(64, float(c * 1000 + 7))};
    q.n_results = 1;
    auto r = records.Query(ids[c], q);
    ASSERT_TRUE(r.ok());
    ASSERT_EQ(r->per_query[0].size(), 1u);
    EXPECT_EQ(r->per_query[0][0].id, "r7");
    EXPECT_EQ(*records.Count(ids[c]), 200);
  }
  EXPECT_GT(records.cache_stats().misses, 5);  // evicted collections were loaded again
}

}  // namespace
}  // namespace chromahouse
