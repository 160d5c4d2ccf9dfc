// GroupCommitWriter used directly (no RecordService): writers share storage writes, a group
// merges repeated ids in arrival order, and a failed storage write applies nothing.
#include "service/group_commit.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>

#include "collection/collection_cache.h"
#include "service/background_indexer.h"
#include "service/catalog_service.h"
#include "service/index_snapshot_writer.h"
#include "service/own_writes.h"
#include "service/record_committer.h"
#include "service/record_rules.h"
#include "storage/memory/memory_storage.h"

namespace chromahouse {
namespace {

using std::chrono::milliseconds;

// Memory storage whose record writes are slow (like a ClickHouse INSERT), counted, and can be
// held at a gate (bounded) or made to fail from the `fail_from`-th call on (1-based; 0 = never).
class SlowStorage : public MemoryStorage {
 public:
  Status WriteRecords(const std::string& collection_id,
                      const std::vector<RecordRow>& rows) override {
    const int call = calls.fetch_add(1) + 1;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (hold.load() && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(milliseconds(1));
    }
    std::this_thread::sleep_for(milliseconds(5));
    {
      std::lock_guard<std::mutex> lock(mu);
      last_rows = rows;
    }
    if (fail_from.load() > 0 && call >= fail_from.load()) return Status::Unavailable("down");
    return MemoryStorage::WriteRecords(collection_id, rows);
  }
  std::atomic<int> calls{0};
  std::atomic<bool> hold{false};
  std::atomic<int> fail_from{0};
  std::mutex mu;
  std::vector<RecordRow> last_rows;  // guarded by mu
};

class GroupCommitWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(catalog_.Initialize().ok());
    CreateCollectionRequest req;
    req.name = "writer";
    auto c = catalog_.CreateCollection("default_tenant", "default_database", req);
    ASSERT_TRUE(c.ok()) << c.status().ToString();
    auto loaded = cache_.Get(c->id, HnswParams{});
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    loaded_ = *loaded;
  }

  Status Write(RecordWriteKind kind, const RecordWriteRequest& req) {
    auto dim = ValidateWrite(req);
    if (!dim.ok()) return dim.status();
    return writer_.Write(*loaded_, kind, req, *dim);
  }

  static RecordWriteRequest Batch(int writer, int n) {
    RecordWriteRequest req;
    req.embeddings.emplace();
    for (int i = 0; i < n; ++i) {
      req.ids.push_back("w" + std::to_string(writer) + "-" + std::to_string(i));
      req.embeddings->emplace_back(std::vector<float>{float(writer), float(i), 1.0f});
    }
    return req;
  }

  // Waits (at most 5 s) until the storage saw `n` write calls.
  bool WaitForCalls(int n) {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (storage_.calls.load() < n && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(milliseconds(1));
    }
    return storage_.calls.load() >= n;
  }

  size_t StoredRows() { return storage_.LoadRecords(loaded_->id())->size(); }

  SlowStorage storage_;
  VersionClock clock_;
  CatalogService catalog_{&storage_, &clock_};
  CollectionCache cache_{&storage_, 0};
  OwnWrites own_writes_;
  IndexSnapshotWriter snapshots_{&storage_, &clock_};
  BackgroundIndexer indexer_{&cache_, &snapshots_};
  RecordCommitter committer_{&storage_, &cache_, &indexer_, &own_writes_};
  GroupCommitWriter writer_{&catalog_, &clock_, &committer_};
  std::shared_ptr<LoadedCollection> loaded_;
};

// Concurrent writers to one collection need fewer storage writes than requests; none is lost.
TEST_F(GroupCommitWriterTest, ConcurrentWritersShareStorageWrites) {
  constexpr int kWriters = 16, kPerWriter = 10, kRounds = 5;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      for (int round = 0; round < kRounds; ++round) {
        if (!Write(RecordWriteKind::kAdd, Batch(w * 100 + round, kPerWriter)).ok()) {
          failures.fetch_add(1);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  constexpr size_t kRecords = kWriters * kPerWriter * kRounds;
  EXPECT_EQ(failures.load(), 0);
  EXPECT_EQ(loaded_->size(), kRecords);
  EXPECT_EQ(StoredRows(), kRecords);
  EXPECT_LT(storage_.calls.load(), kWriters * kRounds / 2) << "no batching happened";
}

// An upsert and a later update of the same id in one group: one row, the update's values win.
TEST_F(GroupCommitWriterTest, RepeatedIdsInOneGroupTakeTheLaterRequestsValues) {
  storage_.hold = true;  // the first write holds the queue while the next two line up
  std::thread first([&] { EXPECT_TRUE(Write(RecordWriteKind::kAdd, Batch(0, 1)).ok()); });
  ASSERT_TRUE(WaitForCalls(1));
  RecordWriteRequest upsert;
  upsert.ids = {"x"};
  upsert.embeddings = std::vector<std::optional<std::vector<float>>>{std::vector<float>{1, 2, 3}};
  upsert.documents = std::vector<std::optional<std::string>>{"v1"};
  RecordWriteRequest update;
  update.ids = {"x"};
  update.documents = std::vector<std::optional<std::string>>{"v2"};
  std::thread second([&] { EXPECT_TRUE(Write(RecordWriteKind::kUpsert, upsert).ok()); });
  std::this_thread::sleep_for(milliseconds(50));  // (ordering only: the upsert queues first)
  std::thread third([&] { EXPECT_TRUE(Write(RecordWriteKind::kUpdate, update).ok()); });
  std::this_thread::sleep_for(milliseconds(50));
  storage_.hold = false;
  first.join();
  second.join();
  third.join();
  EXPECT_EQ(storage_.calls.load(), 2) << "the upsert and the update were not one group";
  {
    std::lock_guard<std::mutex> lock(storage_.mu);
    ASSERT_EQ(storage_.last_rows.size(), 1u);  // one full row for "x", not two
    EXPECT_EQ(storage_.last_rows[0].document, "v2");
    EXPECT_EQ(storage_.last_rows[0].embedding, (std::vector<float>{1, 2, 3}));
  }
  LoadedCollection::ReadLock lock(*loaded_);
  auto x = loaded_->store().Find("x");
  ASSERT_TRUE(x.has_value());
  EXPECT_EQ(loaded_->store().document(*x), "v2");
}

// A failed storage write answers every writer of the group with kUnavailable, applies nothing.
TEST_F(GroupCommitWriterTest, AStorageFailureFailsTheWholeGroupAndAppliesNothing) {
  storage_.hold = true;    // writers 1..7 queue behind writer 0, then commit as one group…
  storage_.fail_from = 2;  // …whose storage write fails (writer 0's succeeds)
  std::atomic<int> ok{0}, unavailable{0};
  auto write = [&](int w) {
    Status s = Write(RecordWriteKind::kAdd, Batch(w, 5));
    if (s.ok()) ok.fetch_add(1);
    if (s.code() == StatusCode::kUnavailable) unavailable.fetch_add(1);
  };
  std::vector<std::thread> threads;
  threads.emplace_back(write, 0);
  ASSERT_TRUE(WaitForCalls(1));
  for (int w = 1; w < 8; ++w) threads.emplace_back(write, w);
  std::this_thread::sleep_for(milliseconds(50));  // (ordering only: let them queue)
  storage_.hold = false;
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), 1);
  EXPECT_EQ(unavailable.load(), 7);
  EXPECT_EQ(storage_.calls.load(), 2) << "writers 1..7 were not one group";
  EXPECT_EQ(loaded_->size(), 5u);  // writer 0's records only
  EXPECT_EQ(StoredRows(), 5u);
  {
    LoadedCollection::ReadLock lock(*loaded_);
    EXPECT_FALSE(loaded_->store().Find("w1-0").has_value());
  }
  // Storage back: the same write goes through.
  storage_.fail_from = 0;
  EXPECT_TRUE(Write(RecordWriteKind::kAdd, Batch(1, 5)).ok());
  EXPECT_EQ(loaded_->size(), 10u);
}

}  // namespace
}  // namespace chromahouse
