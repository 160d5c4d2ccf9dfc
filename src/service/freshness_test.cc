// Several instances over one storage (ARCHITECTURE.md "Freshness across instances"): each
// "instance" is its own CatalogService + RecordService + VersionClock (with its own instance id)
// over one shared MemoryStorage, exactly as two processes share one ClickHouse.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <random>
#include <thread>

#include "service/catalog_service.h"
#include "service/record_service.h"
#include "storage/memory/memory_storage.h"

namespace chromahouse {
namespace {

using Vec = std::vector<float>;

struct Instance {
  Instance(Storage* storage, uint8_t id, int64_t max_staleness_ms, int64_t window_ms = 2000,
           int64_t full_scan_seconds = 30)
      : clock(id), catalog(storage, &clock), records(&catalog, storage, &clock) {
    EXPECT_TRUE(catalog.Initialize().ok());
    catalog.SetDeletionListener([this](const std::vector<std::string>& ids, bool reset) {
      if (reset) {
        records.OnReset();
      } else {
        records.OnCollectionsDeleted(ids);
      }
    });
    records.EnableFreshness({max_staleness_ms, window_ms, full_scan_seconds});
  }
  ~Instance() { catalog.SetDeletionListener(nullptr); }

  VersionClock clock;
  CatalogService catalog;
  RecordService records;
};

RecordWriteRequest Rows(const std::vector<std::string>& ids, float value, const std::string& doc) {
  RecordWriteRequest r;
  r.ids = ids;
  r.embeddings.emplace();
  r.documents.emplace();
  for (size_t i = 0; i < ids.size(); ++i) {
    r.embeddings->push_back(Vec{value, float(i)});
    r.documents->push_back(doc);
  }
  return r;
}

// id → document, as an instance sees the collection.
std::map<std::string, std::string> Docs(Instance& inst, const std::string& collection) {
  std::map<std::string, std::string> out;
  GetRequest req;
  req.include.fields = {IncludeField::kDocuments};
  auto g = inst.records.Get(collection, req);
  EXPECT_TRUE(g.ok()) << g.status().ToString();
  if (!g.ok()) return out;
  for (const auto& v : g->records) out[v.id] = v.document && *v.document ? **v.document : "";
  return out;
}

std::string Create(Instance& inst, const std::string& name) {
  CreateCollectionRequest req;
  req.name = name;
  auto c = inst.catalog.CreateCollection("default_tenant", "default_database", req);
  EXPECT_TRUE(c.ok()) << c.status().ToString();
  return c.ok() ? c->id : "";
}

TEST(FreshnessTest, WritesOnOneInstanceAreReadOnTheOtherWhenCheckedEveryTime) {
  MemoryStorage storage;
  Instance a(&storage, 1, 0), b(&storage, 2, 0);
  std::string id = Create(a, "shared");
  // B learns about the collection from storage (catalog refresh), then reads A's writes.
  ASSERT_TRUE(a.records.Write(id, RecordWriteKind::kAdd, Rows({"x", "y"}, 1, "from-a")).ok());
  EXPECT_EQ(Docs(b, id), (std::map<std::string, std::string>{{"x", "from-a"}, {"y", "from-a"}}));
  // B writes (with A's versions observed, so B's update wins), A reads it back.
  ASSERT_TRUE(b.records.Write(id, RecordWriteKind::kUpsert, Rows({"y", "z"}, 2, "from-b")).ok());
  EXPECT_EQ(Docs(a, id), (std::map<std::string, std::string>{
                             {"x", "from-a"}, {"y", "from-b"}, {"z", "from-b"}}));
  // Deletes travel as tombstones.
  DeleteRequest del;
  del.ids = std::vector<std::string>{"x"};
  ASSERT_TRUE(a.records.Delete(id, del).ok());
  EXPECT_EQ(Docs(b, id).count("x"), 0u);
  EXPECT_EQ(b.records.Count(id).value(), 2);
}

TEST(FreshnessTest, StalenessIsBoundedByTheConfiguredTime) {
  MemoryStorage storage;
  Instance a(&storage, 1, -1), b(&storage, 2, 200);
  std::string id = Create(a, "bounded");
  ASSERT_TRUE(a.records.Write(id, RecordWriteKind::kAdd, Rows({"x"}, 1, "v1")).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  EXPECT_EQ(Docs(b, id), (std::map<std::string, std::string>{{"x", "v1"}}));
  ASSERT_TRUE(a.records.Write(id, RecordWriteKind::kUpsert, Rows({"x"}, 1, "v2")).ok());
  // Within 200 ms (plus scheduling slack) B sees the new version, refreshed in the background
  // or by the read itself.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(200 + 300);
  std::string seen;
  while (std::chrono::steady_clock::now() < deadline) {
    seen = Docs(b, id)["x"];
    if (seen == "v2") break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(seen, "v2");
}

TEST(FreshnessTest, ConcurrentUpsertsThroughTwoInstancesConverge) {
  MemoryStorage storage;
  Instance a(&storage, 1, 0), b(&storage, 2, 0);
  std::string id = Create(a, "contended");
  std::vector<std::string> ids;
  for (int i = 0; i < 20; ++i) ids.push_back("k" + std::to_string(i));
  auto writer = [&](Instance& inst, int seed) {
    std::mt19937 rng(seed);
    for (int round = 0; round < 50; ++round) {
      std::vector<std::string> some;
      for (const auto& k : ids) {
        if (rng() % 3 == 0) some.push_back(k);
      }
      if (some.empty()) continue;
      auto r = Rows(some, float(seed), "w" + std::to_string(seed) + "-" + std::to_string(round));
      ASSERT_TRUE(inst.records.Write(id, RecordWriteKind::kUpsert, r).ok());
    }
  };
  std::thread ta(writer, std::ref(a), 1), tb(writer, std::ref(b), 2);
  ta.join();
  tb.join();
  // A third instance loads from storage: the reference state.
  Instance c(&storage, 3, 0);
  auto truth = Docs(c, id);
  EXPECT_EQ(truth.size(), ids.size());
  EXPECT_EQ(Docs(a, id), truth);
  EXPECT_EQ(Docs(b, id), truth);
}

TEST(FreshnessTest, ARowCommittedLateWithAnOlderVersionIsPickedUpWithinTheWindow) {
  MemoryStorage storage;
  Instance a(&storage, 1, 0, /*window_ms=*/2000);
  std::string id = Create(a, "late");
  ASSERT_TRUE(a.records.Write(id, RecordWriteKind::kAdd, Rows({"x"}, 1, "x")).ok());
  ASSERT_EQ(Docs(a, id).size(), 1u);  // watermark now at x's version
  // Another instance assigned a version 500 ms ago but its INSERT lands only now.
  RecordRow late;
  late.id = "late";
  late.version = (uint64_t(NowMillis() - 500) << 22) | 9;
  late.created = late.version;
  late.embedding = {5, 5};
  late.document = "late";
  ASSERT_TRUE(storage.WriteRecords(id, {late}).ok());
  EXPECT_EQ(Docs(a, id).count("late"), 1u);
}

TEST(FreshnessTest, RowsArrivingLaterThanTheWindowAreFoundByTheFullScan) {
  // A replica that catches up after an outage delivers rows whose versions are far behind.
  MemoryStorage storage;
  Instance a(&storage, 1, 0, /*window_ms=*/2000, /*full_scan_seconds=*/1);
  std::string id = Create(a, "replica");
  ASSERT_TRUE(a.records.Write(id, RecordWriteKind::kAdd, Rows({"x"}, 1, "x")).ok());
  ASSERT_EQ(Docs(a, id).size(), 1u);
  RecordRow old;
  old.id = "from-the-replica";
  old.version = (uint64_t(NowMillis() - 60000) << 22) | 9;  // written a minute ago elsewhere
  old.created = old.version;
  old.embedding = {5, 5};
  ASSERT_TRUE(storage.WriteRecords(id, {old}).ok());
  EXPECT_EQ(Docs(a, id).count("from-the-replica"), 0u) << "beyond the window";
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  EXPECT_EQ(Docs(a, id).count("from-the-replica"), 1u) << "found by the full scan";
}

TEST(FreshnessTest, CatalogChangesPropagate) {
  MemoryStorage storage;
  Instance a(&storage, 1, 0), b(&storage, 2, 0);
  std::string id = Create(a, "cat-one");
  ASSERT_TRUE(a.records.Write(id, RecordWriteKind::kAdd, Rows({"x"}, 1, "x")).ok());
  EXPECT_EQ(b.catalog.GetCollectionByName("default_tenant", "default_database", "cat-one")->id, id);
  ASSERT_EQ(Docs(b, id).size(), 1u);  // loaded on B
  UpdateCollectionRequest rename;
  rename.new_name = "cat-two";
  ASSERT_TRUE(a.catalog.UpdateCollection(id, rename).ok());
  EXPECT_TRUE(b.catalog.GetCollectionByName("default_tenant", "default_database", "cat-two").ok());
  EXPECT_FALSE(b.catalog.GetCollectionByName("default_tenant", "default_database", "cat-one").ok());
  ASSERT_TRUE(a.catalog.DeleteCollection("default_tenant", "default_database", "cat-two").ok());
  auto gone = b.records.Count(id);
  ASSERT_FALSE(gone.ok());
  EXPECT_EQ(gone.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(b.records.cache_stats().collections, 0u) << "B dropped its copy";
  ASSERT_TRUE(a.catalog.CreateDatabase("default_tenant", "analytics").ok());
  EXPECT_TRUE(b.catalog.GetDatabase("default_tenant", "analytics").ok());
}

// Counts the reads a refresh makes.
class CountingStorage : public MemoryStorage {
 public:
  Result<std::vector<std::pair<std::string, uint64_t>>> LoadRecordVersions(
      const std::string& collection_id, uint64_t min_version) override {
    ++version_lists;
    return MemoryStorage::LoadRecordVersions(collection_id, min_version);
  }
  Result<VersionSummary> SummarizeRecordVersions(const std::string& collection_id,
                                                 uint64_t min_version) override {
    ++summaries;
    ASSIGN_OR_RETURN(auto versions, MemoryStorage::LoadRecordVersions(collection_id, min_version));
    VersionSummary out;
    for (const auto& [id, version] : versions) out.Add(version);
    return out;
  }
  Result<std::vector<Collection>> LoadCollections(bool include_deleted) override {
    ++catalog_reads;
    return MemoryStorage::LoadCollections(include_deleted);
  }
  Result<std::optional<uint64_t>> RecordWriteCount() override {
    ++write_counts;
    return MemoryStorage::RecordWriteCount();
  }
  Result<std::optional<std::string>> CatalogFingerprint() override {
    ++fingerprints;
    return MemoryStorage::CatalogFingerprint();
  }
  std::atomic<int> version_lists{0}, catalog_reads{0}, summaries{0}, write_counts{0},
      fingerprints{0};
};

TEST(FreshnessTest, RefreshesReadOnlySummariesWhileNothingArrivesFromElsewhere) {
  CountingStorage storage;
  Instance a(&storage, 1, 0), b(&storage, 2, 0);  // both check before every request
  std::string id = Create(a, "quiet");
  ASSERT_TRUE(a.records.Write(id, RecordWriteKind::kAdd, Rows({"x", "y"}, 1, "a")).ok());
  ASSERT_EQ(Docs(b, id).size(), 2u);
  ASSERT_EQ(Docs(a, id).size(), 2u);
  storage.version_lists = 0;
  storage.catalog_reads = 0;
  // Reads, and B's own writes: storage holds nothing B does not know about.
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(
        b.records.Write(id, RecordWriteKind::kUpsert, Rows({"b" + std::to_string(i)}, 2, "b"))
            .ok());
    ASSERT_EQ(Docs(b, id).size(), 3u + i);
  }
  EXPECT_EQ(storage.version_lists.load(), 0) << "summaries only";
  EXPECT_GE(storage.summaries.load(), 10);
  EXPECT_EQ(storage.catalog_reads.load(), 0) << "catalog fingerprint unchanged";
  // One write through A: B's summary differs, B reads the list and the row.
  ASSERT_TRUE(a.records.Write(id, RecordWriteKind::kUpsert, Rows({"x"}, 3, "a2")).ok());
  EXPECT_EQ(Docs(b, id)["x"], "a2");
  EXPECT_GE(storage.version_lists.load(), 1);
  const int lists = storage.version_lists.load();
  EXPECT_EQ(Docs(b, id)["x"], "a2");
  EXPECT_EQ(storage.version_lists.load(), lists) << "and is quiet again after it";
  // A catalog change on A: B reads the catalog again and sees it.
  ASSERT_TRUE(a.catalog.CreateDatabase("default_tenant", "quiet-db").ok());
  EXPECT_TRUE(b.catalog.GetDatabase("default_tenant", "quiet-db").ok());
  EXPECT_GE(storage.catalog_reads.load(), 1);
}

// With polling (freshness N > 0), the refresh loop first compares storage's write count with
// this instance's own writes: while nobody else writes, it reads no summaries at all (they read
// every version of a collection); a write from elsewhere is still read within the bound, also
// while this instance writes itself.
TEST(FreshnessTest, NothingIsPolledWhileNobodyElseWritesAndAForeignWriteIsStillSeen) {
  CountingStorage storage;
  Instance a(&storage, 1, 100);
  std::string id = Create(a, "alone");
  ASSERT_TRUE(a.records.Write(id, RecordWriteKind::kAdd, Rows({"x"}, 1, "a")).ok());
  ASSERT_EQ(Docs(a, id).size(), 1u);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the loop settles
  storage.summaries = 0;
  storage.version_lists = 0;
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(
        a.records.Write(id, RecordWriteKind::kUpsert, Rows({"a" + std::to_string(i)}, 2, "a"))
            .ok());
    ASSERT_EQ(Docs(a, id).size(), 2u + i);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  // Polling would have read a summary every 50 ms (~20 here); a stalled loop on a loaded
  // machine may let a request refresh once or twice.
  EXPECT_LE(storage.summaries.load(), 3) << "polled while alone";
  EXPECT_LE(storage.version_lists.load(), 1);

  // Another writer (straight into storage, as another instance's group commit): seen within
  // the bound, while A keeps writing.
  std::atomic<bool> stop{false};
  std::thread writer([&] {
    for (int i = 0; !stop; ++i) {
      (void)a.records.Write(id, RecordWriteKind::kUpsert,
                            Rows({"own" + std::to_string(i)}, 3, "a"));
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  });
  RecordRow foreign;
  foreign.id = "foreign";
  foreign.version = a.clock.Next() + 1000;  // another instance's clock
  foreign.created = foreign.version;
  foreign.embedding = {1, 2};
  foreign.document = "elsewhere";
  ASSERT_TRUE(storage.WriteRecords(id, {foreign}).ok());
  bool seen = false;
  const auto start = std::chrono::steady_clock::now();
  while (!seen && std::chrono::steady_clock::now() - start < std::chrono::seconds(2)) {
    seen = Docs(a, id).count("foreign") > 0;
    if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  stop = true;
  writer.join();
  EXPECT_TRUE(seen) << "a write from elsewhere was never read";
  EXPECT_GE(storage.summaries.load() + storage.version_lists.load(), 1);
}

// An instance nobody uses polls nothing (every poll is a query to ClickHouse); the first
// request after the rest still sees what another instance wrote meanwhile, and polling resumes.
TEST(FreshnessTest, AnIdleInstancePollsNothingAndCatchesUpOnTheNextRequest) {
  CountingStorage storage;
  VersionClock clock(1);
  CatalogService catalog(&storage, &clock);
  ASSERT_TRUE(catalog.Initialize().ok());
  RecordService records(&catalog, &storage, &clock);
  FreshnessOptions options;
  options.max_staleness_ms = 40;
  options.idle_after_ms = 300;
  records.EnableFreshness(options);
  CreateCollectionRequest req;
  req.name = "resting";
  auto c = catalog.CreateCollection("default_tenant", "default_database", req);
  ASSERT_TRUE(c.ok());
  ASSERT_TRUE(records.Write(c->id, RecordWriteKind::kAdd, Rows({"x"}, 1, "a")).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_GE(storage.write_counts.load(), 2) << "polls while in use";
  std::this_thread::sleep_for(std::chrono::milliseconds(400));  // past idle_after_ms
  storage.write_counts = 0;
  storage.fingerprints = 0;
  std::this_thread::sleep_for(std::chrono::milliseconds(500));  // ~25 periods
  EXPECT_EQ(storage.write_counts.load(), 0) << "polled while idle";
  EXPECT_EQ(storage.fingerprints.load(), 0) << "polled the catalog while idle";

  RecordRow foreign;
  foreign.id = "foreign";
  foreign.version = clock.Next() + 1000;  // another instance's write during the rest
  foreign.created = foreign.version;
  foreign.embedding = {1, 2};
  foreign.document = "elsewhere";
  ASSERT_TRUE(storage.WriteRecords(c->id, {foreign}).ok());
  GetRequest get;
  get.include.fields = {IncludeField::kDocuments};
  {
    auto g = records.Get(c->id, get);  // (a result holds the collection's read lock)
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    EXPECT_EQ(g->records.size(), 2u) << "the first request after the rest missed a foreign write";
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_GE(storage.write_counts.load(), 2) << "polling resumed";
}

// A storage whose record reads hang for a while and then fail, as a frozen ClickHouse's do
// until the statement times out.
class HangingStorage : public MemoryStorage {
 public:
  Result<VersionSummary> SummarizeRecordVersions(const std::string& collection_id,
                                                 uint64_t min_version) override {
    if (hang) return Hang();
    return MemoryStorage::SummarizeRecordVersions(collection_id, min_version);
  }
  Result<std::vector<std::pair<std::string, uint64_t>>> LoadRecordVersions(
      const std::string& collection_id, uint64_t min_version) override {
    if (hang) return Hang();
    return MemoryStorage::LoadRecordVersions(collection_id, min_version);
  }
  Status Hang() {
    ++hung_reads;
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    return Status::Unavailable("storage hangs");
  }
  std::atomic<bool> hang{false};
  std::atomic<int> hung_reads{0};
};

TEST(FreshnessTest, RequestsQueuedBehindAFailedRefreshDoNotEachWaitForStorage) {
  HangingStorage storage;
  Instance a(&storage, 1, 100);
  std::string id = Create(a, "hang");
  ASSERT_TRUE(a.records.Write(id, RecordWriteKind::kAdd, Rows({"x", "y"}, 1, "a")).ok());
  ASSERT_EQ(Docs(a, id).size(), 2u);
  storage.hang = true;
  std::this_thread::sleep_for(std::chrono::milliseconds(150));  // stale: reads must refresh
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::thread> readers;
  std::atomic<int> served{0};
  for (int i = 0; i < 6; ++i) {
    readers.emplace_back([&] {
      if (Docs(a, id).size() == 2u) served.fetch_add(1);  // from memory
    });
  }
  for (auto& t : readers) t.join();
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start)
                      .count();
  EXPECT_EQ(served.load(), 6);
  // One hung read (plus at most one from the background loop), not one per request in turn
  // (6 × 300 ms).
  EXPECT_LT(ms, 1000) << storage.hung_reads.load() << " hung reads";
  storage.hang = false;
}

TEST(FreshnessTest, OffMeansNoRereads) {
  MemoryStorage storage;
  Instance a(&storage, 1, -1), b(&storage, 2, -1);
  std::string id = Create(a, "isolated");
  EXPECT_FALSE(b.catalog.GetCollection(id).ok()) << "B never re-reads its catalog";
}

}  // namespace
}  // namespace chromahouse

namespace chromahouse {
namespace {

// Writes announced between instances (FreshnessOptions::announced, as with a PostgreSQL
// catalog): no polling; an announcement makes the other instance read storage in the
// background, and a missed one is caught up when the loss is reported.
TEST(AnnouncedFreshnessTest, AnAnnouncedWriteIsReadWithoutPollingAndALostOneIsCaughtUp) {
  MemoryStorage storage;
  Instance a(&storage, 1, -1), b(&storage, 2, -1);
  FreshnessOptions announced{100, 2000, 0};
  announced.announced = true;
  announced.announced_fallback_ms = 3600 * 1000;  // never within this test
  b.records.EnableFreshness(announced);
  // A's writes are handed to B as the feed would hand them.
  a.records.SetStoredListener(
      [&b](const std::string& id, uint64_t version) { b.records.OnAnnouncedWrite(id, version); });
  std::string id = Create(a, "announced");
  ASSERT_TRUE(b.catalog.RefreshIfOlderThan(-1).ok());
  EXPECT_TRUE(Docs(b, id).empty());  // loaded by B

  ASSERT_TRUE(a.records.Write(id, RecordWriteKind::kAdd, Rows({"x"}, 1, "first")).ok());
  // Visible on B at once (the announcement marks the collection stale before A returns).
  EXPECT_EQ(Docs(b, id), (std::map<std::string, std::string>{{"x", "first"}}));

  // A write B never hears of stays unseen: nothing polls…
  a.records.SetStoredListener(nullptr);
  ASSERT_TRUE(a.records.Write(id, RecordWriteKind::kUpsert, Rows({"x"}, 2, "second")).ok());
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  EXPECT_EQ(Docs(b, id), (std::map<std::string, std::string>{{"x", "first"}}));
  // …until the feed reports that news may have been lost; the background refresh catches up.
  b.records.OnAnnouncementsMissed();
  bool seen = false;
  for (int i = 0; i < 200 && !seen; ++i) {
    seen = Docs(b, id) == std::map<std::string, std::string>{{"x", "second"}};
    if (!seen) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_TRUE(seen);

  // Rows commit out of version order: an announcement of a version lower than rows already
  // read still names new rows (instances C and B committing after A's higher version).
  ASSERT_TRUE(a.records.Write(id, RecordWriteKind::kUpsert, Rows({"y"}, 3, "late")).ok());
  b.records.OnAnnouncedWrite(id, 1);
  EXPECT_EQ(Docs(b, id), (std::map<std::string, std::string>{{"x", "second"}, {"y", "late"}}));
}

}  // namespace
}  // namespace chromahouse
