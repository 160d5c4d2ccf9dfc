// Index snapshots across instances: instance A's graph, saved in the shared storage, becomes the
// graph of instance B when B loads the collection (no rebuild), and a bad snapshot only costs B
// a rebuild.
#include <gtest/gtest.h>

#include <chrono>
#include <random>
#include <thread>

#include "collection/index_snapshot.h"
#include "service/catalog_service.h"
#include "service/record_service.h"
#include "storage/memory/memory_storage.h"

namespace chromahouse {
namespace {

constexpr size_t kDim = 8;
constexpr size_t kRecords = 3000;

struct Instance {
  Instance(Storage* storage, uint8_t id, size_t snapshot_min_records)
      : clock(id), catalog(storage, &clock), records(&catalog, storage, &clock) {
    EXPECT_TRUE(catalog.Initialize().ok());
    SnapshotOptions options;
    options.min_records = snapshot_min_records;
    records.SetSnapshotOptions(options);
  }
  VersionClock clock;
  CatalogService catalog;
  RecordService records;
};

RecordWriteRequest RandomRows(size_t first, size_t count, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  RecordWriteRequest r;
  r.embeddings.emplace();
  for (size_t i = first; i < first + count; ++i) {
    r.ids.push_back("r" + std::to_string(i));
    std::vector<float> v(kDim);
    for (float& x : v) x = normal(rng);
    r.embeddings->push_back(std::move(v));
  }
  return r;
}

// (id, distance) of the 10 nearest of a few fixed queries.
std::vector<std::pair<std::string, float>> Answers(RecordService& records, const std::string& id) {
  std::mt19937_64 rng(99);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  QueryRequest q;
  for (int i = 0; i < 20; ++i) {
    std::vector<float> v(kDim);
    for (float& x : v) x = normal(rng);
    q.query_embeddings.push_back(std::move(v));
  }
  q.n_results = 10;
  q.include.fields = {IncludeField::kDistances};
  auto result = records.Query(id, q);
  EXPECT_TRUE(result.ok()) << result.status().ToString();
  std::vector<std::pair<std::string, float>> out;
  if (!result.ok()) return out;
  for (const auto& one : result->per_query) {
    for (const RecordView& v : one) out.emplace_back(v.id, v.distance);
  }
  return out;
}

// Waits until storage holds a snapshot of `id` newer than `after`.
std::optional<IndexSnapshotInfo> WaitForSnapshot(Storage& storage, const std::string& id,
                                                 uint64_t after) {
  for (int i = 0; i < 500; ++i) {
    auto found = storage.FindIndexSnapshot(id);
    if (found.ok() && *found && (*found)->id > after) return *found;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return std::nullopt;
}

std::string CreateCollection(Instance& inst) {
  CreateCollectionRequest req;
  req.name = "snap";
  auto c = inst.catalog.CreateCollection("default_tenant", "default_database", req);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? c->id : "";
}

TEST(SnapshotTest, AnotherInstanceAdoptsTheGraphInsteadOfRebuildingIt) {
  MemoryStorage storage;
  Instance a(&storage, 1, 1500);
  const std::string id = CreateCollection(a);
  // One write: the indexer catches up once, at kRecords records (with several writes it might
  // catch up, and snapshot, in between).
  ASSERT_TRUE(a.records.Write(id, RecordWriteKind::kAdd, RandomRows(0, kRecords, 1)).ok());
  a.records.WaitIndexed(id);
  // The indexer writes the snapshot once it has caught up.
  auto snap = WaitForSnapshot(storage, id, 0);
  ASSERT_TRUE(snap.has_value());
  EXPECT_EQ(snap->records, kRecords);
  EXPECT_EQ(snap->format, kIndexSnapshotFormat);
  // Storage shows the snapshot a moment before the writer counts it.
  for (int i = 0; i < 500 && a.records.snapshot_counts().written == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(a.records.snapshot_counts().written, 1);
  EXPECT_GT(a.records.snapshot_counts().bytes, 0);
  // Nothing changed since: no second snapshot.
  auto again = a.records.MaybeWriteSnapshot(id);
  ASSERT_TRUE(again.ok());
  EXPECT_FALSE(*again);

  Instance b(&storage, 2, 1500);
  const auto expected = Answers(a.records, id);
  EXPECT_EQ(Answers(b.records, id), expected);
  EXPECT_EQ(b.records.cache_stats().snapshots_adopted, 1);
  auto status = b.records.GetIndexingStatus(id);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->indexed, static_cast<int64_t>(kRecords));
  EXPECT_EQ(status->pending, 0);
  EXPECT_EQ(b.records.path_counts().hnsw, 20);  // the adopted graph answered

  // A changes a third of the vectors: past the 20 % threshold, a new snapshot follows.
  ASSERT_TRUE(a.records.Write(id, RecordWriteKind::kUpsert, RandomRows(0, 1000, 7)).ok());
  a.records.WaitIndexed(id);
  auto newer = WaitForSnapshot(storage, id, snap->id);
  ASSERT_TRUE(newer.has_value());
  for (int i = 0; i < 500 && a.records.snapshot_counts().written < 2; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(a.records.snapshot_counts().written, 2);

  // A third instance adopts the newer one and agrees with A.
  Instance c(&storage, 3, 0);
  EXPECT_EQ(Answers(c.records, id), Answers(a.records, id));
  EXPECT_EQ(c.records.cache_stats().snapshots_adopted, 1);
  EXPECT_EQ(c.records.snapshot_counts().written, 0);  // min_records 0: it writes none
}

TEST(SnapshotTest, ABadSnapshotIsRefusedAndTheGraphRebuilt) {
  MemoryStorage storage;
  Instance a(&storage, 1, 0);
  const std::string id = CreateCollection(a);
  ASSERT_TRUE(a.records.Write(id, RecordWriteKind::kAdd, RandomRows(0, kRecords, 1)).ok());
  a.records.WaitIndexed(id);
  IndexSnapshotInfo info;
  info.id = a.clock.Next();
  info.format = kIndexSnapshotFormat;
  info.records = kRecords;
  const std::string garbage(4096, 'x');
  info.bytes = garbage.size();
  ASSERT_TRUE(storage.WriteIndexSnapshot(id, info, garbage).ok());

  Instance b(&storage, 2, 0);
  const auto expected = Answers(a.records, id);
  b.records.WaitIndexed(id);            // nothing loaded yet: returns at once
  auto first = Answers(b.records, id);  // loads; the tail is scanned exactly meanwhile
  EXPECT_EQ(b.records.cache_stats().snapshots_refused, 1);
  EXPECT_EQ(b.records.cache_stats().snapshots_adopted, 0);
  b.records.WaitIndexed(id);
  auto status = b.records.GetIndexingStatus(id);
  ASSERT_TRUE(status.ok());
  EXPECT_EQ(status->indexed, static_cast<int64_t>(kRecords));
  // Same records and distances as A (graph or exact scan alike, at this size and ef).
  EXPECT_EQ(first.size(), expected.size());
  EXPECT_EQ(Answers(b.records, id), expected);
}

}  // namespace
}  // namespace chromahouse
