// BackgroundIndexer: written records reach the collection's graph in the background, null
// schedules are ignored, and destroying the indexer does not wait for queued work.
#include "service/background_indexer.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <thread>

#include "collection/collection_cache.h"
#include "service/index_snapshot_writer.h"
#include "service/own_writes.h"
#include "service/record_committer.h"
#include "storage/memory/memory_storage.h"

namespace chromahouse {
namespace {

constexpr size_t kRecords = VectorSearch::kIndexMinRecords + 476;  // enough for a graph

// `n` new records with `dim`-dimensional vectors, versions from `clock`.
std::vector<RecordRow> Rows(VersionClock& clock, const std::string& prefix, size_t n, size_t dim) {
  std::vector<RecordRow> rows(n);
  for (size_t i = 0; i < n; ++i) {
    rows[i].id = prefix + std::to_string(i);
    rows[i].version = rows[i].created = clock.Next();
    rows[i].embedding.resize(dim);
    for (size_t d = 0; d < dim; ++d) rows[i].embedding[d] = float((i * 31 + d * 7) % 97);
  }
  return rows;
}

// Polls (at most ~20 s) until `loaded` has no records waiting for its graph.
bool WaitIndexed(const LoadedCollection& loaded) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (loaded.HasPendingIndexing() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return !loaded.HasPendingIndexing();
}

class BackgroundIndexerTest : public ::testing::Test {
 protected:
  MemoryStorage storage_;
  VersionClock clock_;
  CollectionCache cache_{&storage_, 0};
  OwnWrites own_writes_;
  IndexSnapshotWriter snapshots_{&storage_, &clock_};
  BackgroundIndexer indexer_{&cache_, &snapshots_};
  RecordCommitter committer_{&storage_, &cache_, &indexer_, &own_writes_};
};

// Records committed in several writes end up in the graph without anybody stepping it.
TEST_F(BackgroundIndexerTest, CommittedRecordsReachTheGraph) {
  auto loaded = cache_.Get("c1", HnswParams{});
  ASSERT_TRUE(loaded.ok());
  const std::vector<RecordRow> rows = Rows(clock_, "r", kRecords, 8);
  for (size_t start = 0; start < rows.size(); start += 500) {
    std::vector<RecordRow> part(rows.begin() + long(start),
                                rows.begin() + long(std::min(start + 500, rows.size())));
    ASSERT_TRUE(committer_.Commit(**loaded, part).ok());
  }
  EXPECT_EQ((*loaded)->size(), kRecords);
  ASSERT_TRUE(WaitIndexed(**loaded)) << (*loaded)->search().pending() << " still pending";
  EXPECT_EQ((*loaded)->search().indexed(), kRecords);
}

// Null schedules are ignored, and the indexer still serves a real collection afterwards.
TEST_F(BackgroundIndexerTest, ScheduleIfPendingWithNullIsHarmless) {
  indexer_.ScheduleIfPending(nullptr);
  indexer_.Schedule(nullptr);
  auto loaded = std::make_shared<LoadedCollection>("c2", HnswParams{});
  loaded->Apply(Rows(clock_, "r", kRecords, 4), UINT64_MAX);
  ASSERT_TRUE(loaded->HasPendingIndexing());
  indexer_.ScheduleIfPending(loaded);
  ASSERT_TRUE(WaitIndexed(*loaded));
  EXPECT_EQ(loaded->search().indexed(), kRecords);
}

// Destroying the indexer with much work queued stops after the step in progress.
TEST_F(BackgroundIndexerTest, DestroyingWithQueuedWorkReturnsPromptly) {
  HnswParams slow;
  slow.ef_construction = 400;  // indexing all of this takes many seconds
  std::vector<std::shared_ptr<LoadedCollection>> big;
  auto indexer = std::make_unique<BackgroundIndexer>(&cache_, &snapshots_);
  for (int c = 0; c < 2; ++c) {
    big.push_back(std::make_shared<LoadedCollection>("big" + std::to_string(c), slow));
    big.back()->Apply(Rows(clock_, "r", 20000, 64), UINT64_MAX);
    indexer->ScheduleIfPending(big.back());
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(20));  // a step is under way
  const auto started = std::chrono::steady_clock::now();
  indexer.reset();
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_LT(took, std::chrono::seconds(1));
  // The work really was left undone (else this test proved nothing).
  EXPECT_TRUE(big[0]->HasPendingIndexing());
  EXPECT_TRUE(big[1]->HasPendingIndexing());
}

}  // namespace
}  // namespace chromahouse
