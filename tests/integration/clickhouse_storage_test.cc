// ClickHouseStorage end to end on two engines, with the same tests:
//  - "ClickHouse18": the real clickhouse-server 18.16 from Debian, over HTTP (the fixture
//    starts it), which is what the server runs on;
//  - "ClickHouseCurrent": chDB (ClickHouse 26.x in-process, from the npm package `chdb`), so
//    every statement the storage layer emits is also accepted by current ClickHouse releases.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <map>
#include <set>
#include <thread>

#include "chdb_transport.h"
#include "clickhouse_fixture.h"
#include "common/clock.h"
#include "service/catalog_service.h"

namespace chromahouse {
namespace {

enum class Engine { kClickHouse18, kClickHouseCurrent };

std::string ChdbDataPath() {
  static const std::string path = [] {
    char tmpl[] = "/tmp/chromahouse-chdb-XXXXXX";
    std::string p = mkdtemp(tmpl);
    return p;
  }();
  return path;
}

std::unique_ptr<SqlTransport> NewTransport(Engine engine) {
  if (engine == Engine::kClickHouse18) {
    CurlTransportOptions o;
    o.url = testing::ClickHouseUrl();
    return std::make_unique<CurlTransport>(o);
  }
  std::string lib = FindLibChdb();
  if (lib.empty()) return nullptr;
  auto t = ChdbTransport::Open(lib, ChdbDataPath());
  if (!t.ok()) {
    ADD_FAILURE() << t.status().ToString();
    return nullptr;
  }
  return std::move(t).value();
}

std::unique_ptr<ClickHouseStorage> NewStorage(Engine engine, const std::string& database) {
  auto transport = NewTransport(engine);
  if (!transport) return nullptr;
  return std::make_unique<ClickHouseStorage>(std::move(transport), database);
}

class ClickHouseStorageTest : public ::testing::TestWithParam<Engine> {
 protected:
  void SetUp() override {
    db_ = testing::FreshDatabaseName();
    storage_ = NewStorage(GetParam(), db_);
    if (!storage_) {
      // make test installs the chdb npm package; a missing library is a broken set-up, not a
      // reason to pass silently.
      if (std::getenv("CHROMAHOUSE_SKIP_CHDB")) GTEST_SKIP() << "libchdb.so not found";
      FAIL() << "libchdb.so not found: run 'make npm-deps' (or set CHROMAHOUSE_LIBCHDB)";
    }
    Status s = storage_->Initialize();
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  std::string db_;
  std::unique_ptr<ClickHouseStorage> storage_;
};

INSTANTIATE_TEST_SUITE_P(Engines, ClickHouseStorageTest,
                         ::testing::Values(Engine::kClickHouse18, Engine::kClickHouseCurrent),
                         [](const auto& info) {
                           return info.param == Engine::kClickHouse18 ? "ClickHouse18"
                                                                      : "ClickHouseCurrent";
                         });

TEST_P(ClickHouseStorageTest, InitializeIsIdempotentAndRecordsSchemaVersion) {
  ASSERT_TRUE(storage_->Initialize().ok());
  auto v = storage_->CurrentSchemaVersion();
  ASSERT_TRUE(v.ok()) << v.status().ToString();
  EXPECT_EQ(*v, ClickHouseStorage::LatestSchemaVersion());
}

TEST_P(ClickHouseStorageTest, NewestVersionWinsAndTombstonesHide) {
  ASSERT_TRUE(storage_
                  ->WriteTenants(
                      {{"t_one", std::nullopt, 10, false}, {"t_two", std::string("rn"), 10, false}})
                  .ok());
  ASSERT_TRUE(storage_->WriteTenants({{"t_one", std::nullopt, 5, true}}).ok());   // older: loses
  ASSERT_TRUE(storage_->WriteTenants({{"t_two", std::nullopt, 11, true}}).ok());  // newer: deletes
  auto tenants = storage_->LoadTenants();
  ASSERT_TRUE(tenants.ok()) << tenants.status().ToString();
  ASSERT_EQ(tenants->size(), 1u);
  EXPECT_EQ((*tenants)[0].name, "t_one");
  EXPECT_EQ((*tenants)[0].version, 10u);
}

TEST_P(ClickHouseStorageTest, CollectionsRoundTripExactly) {
  Collection c;
  c.id = "0b5d2c6e-5b8a-4f4e-9d0a-8f7c2d1e3a4b";
  c.name = "docs \"quoted\" \\ é";
  c.tenant = "tenant\n1";
  c.database = "db1";
  c.metadata = Metadata{{"i", int64_t{-3}},
                        {"f", 2.0},
                        {"s", std::string("x\ty")},
                        {"b", false},
                        {"big", int64_t{9223372036854775807}}};
  c.configuration.hnsw.space = Space::kIp;
  c.configuration.hnsw.ef_search = 7;
  c.configuration.embedding_function_json = R"({"type":"known","name":"n","config":{"k":[1,2]}})";
  c.schema_json = R"({"defaults":{}})";
  c.dimension = 128;
  c.version = (uint64_t{1} << 63) + 5;  // the full UInt64 range survives
  ASSERT_TRUE(storage_->WriteCollections({c}).ok());
  auto loaded = storage_->LoadCollections();
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ASSERT_EQ(loaded->size(), 1u);
  const Collection& got = (*loaded)[0];
  EXPECT_EQ(got.id, c.id);
  EXPECT_EQ(got.name, c.name);
  EXPECT_EQ(got.tenant, c.tenant);
  EXPECT_EQ(got.metadata, c.metadata);
  EXPECT_TRUE(std::holds_alternative<double>(got.metadata->at("f")));
  EXPECT_EQ(got.configuration.hnsw, c.configuration.hnsw);
  EXPECT_EQ(got.configuration.embedding_function_json, c.configuration.embedding_function_json);
  EXPECT_EQ(got.schema_json, c.schema_json);
  EXPECT_EQ(got.dimension, c.dimension);
  EXPECT_EQ(got.version, c.version);

  Collection null_fields = c;
  null_fields.metadata.reset();
  null_fields.schema_json.clear();
  null_fields.dimension.reset();
  null_fields.version = c.version + 1;
  ASSERT_TRUE(storage_->WriteCollections({null_fields}).ok());
  loaded = storage_->LoadCollections();
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_FALSE((*loaded)[0].metadata.has_value());
  EXPECT_TRUE((*loaded)[0].schema_json.empty());
  EXPECT_FALSE((*loaded)[0].dimension.has_value());
}

TEST_P(ClickHouseStorageTest, ResetEmptiesEveryCatalogTable) {
  ASSERT_TRUE(storage_->WriteTenants({{"t_one", std::nullopt, 1, false}}).ok());
  ASSERT_TRUE(storage_->WriteDatabases({{"id", "d_one", "t_one", 1, false}}).ok());
  ASSERT_TRUE(storage_->Reset().ok());
  EXPECT_TRUE(storage_->LoadTenants()->empty());
  EXPECT_TRUE(storage_->LoadDatabases()->empty());
}

TEST_P(ClickHouseStorageTest, CatalogSurvivesANewServiceInstance) {
  VersionClock clock;
  {
    CatalogService catalog(storage_.get(), &clock);
    ASSERT_TRUE(catalog.Initialize().ok());
    ASSERT_TRUE(catalog.CreateTenant("acme").ok());
    ASSERT_TRUE(catalog.CreateDatabase("acme", "prod").ok());
    CreateCollectionRequest req;
    req.name = "notes";
    req.metadata = Metadata{{"hnsw:space", std::string("cosine")}, {"n", 1.5}};
    ASSERT_TRUE(catalog.CreateCollection("acme", "prod", req).ok());
  }
  auto fresh_storage = NewStorage(GetParam(), db_);
  ASSERT_TRUE(fresh_storage->Initialize().ok());
  VersionClock clock2;
  CatalogService catalog(fresh_storage.get(), &clock2);
  ASSERT_TRUE(catalog.Initialize().ok());
  ASSERT_TRUE(catalog.GetTenant("acme").ok());
  auto c = catalog.GetCollectionByName("acme", "prod", "notes");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->configuration.hnsw.space, Space::kCosine);
  EXPECT_EQ(std::get<double>(c->metadata->at("n")), 1.5);
  // Defaults exist exactly once.
  auto dbs = catalog.ListDatabases("default_tenant", Page{});
  ASSERT_TRUE(dbs.ok());
  EXPECT_EQ(dbs->size(), 1u);
}

TEST_P(ClickHouseStorageTest, RecordsRoundTripBitExact) {
  const std::string coll = "7d5e1c2a-0000-4000-8000-000000000001";
  std::vector<RecordRow> rows;
  for (int i = 0; i < 300; ++i) {
    RecordRow r;
    r.id = "id-" + std::to_string(i) + (i % 7 == 0 ? "\"\\\n é" : "");
    r.version = 1000 + i;
    r.created = 1000 + i;
    r.embedding = {0.1f * i, -1e-45f, 3.4028235e38f, std::nextafter(1.0f, 2.0f)};
    if (i % 2) r.document = "doc " + std::to_string(i) + " with 'quotes' and \t tabs";
    if (i % 3 == 0) r.uri = "s3://bucket/" + std::to_string(i);
    if (i % 5) {
      r.metadata = Metadata{{"i", int64_t{i}},
                            {"f", 2.0},
                            {"b", i % 2 == 0},
                            {"arr", std::vector<std::string>{"x", "y"}}};
    }
    rows.push_back(std::move(r));
  }
  ASSERT_TRUE(storage_->WriteRecords(coll, rows).ok());
  // A newer version of record 1, a tombstone for record 2, and a stale (older) version of
  // record 3 that must lose.
  RecordRow newer = rows[1];
  newer.version = 5000;
  newer.embedding = {9, 9, 9, 9};
  RecordRow tomb;
  tomb.id = rows[2].id;
  tomb.version = 5001;
  tomb.created = rows[2].created;
  tomb.deleted = true;
  RecordRow stale = rows[3];
  stale.version = 1;
  stale.document = "stale";
  ASSERT_TRUE(storage_->WriteRecords(coll, {newer, tomb, stale}).ok());
  ASSERT_TRUE(storage_->WriteRecords("other-collection", {rows[0]}).ok());

  auto fresh = NewStorage(GetParam(), db_);  // a new process's view
  ASSERT_TRUE(fresh->Initialize().ok());
  auto loaded = fresh->LoadRecords(coll);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ASSERT_EQ(loaded->size(), 299u);
  std::map<std::string, RecordRow> by_id;
  for (auto& r : *loaded) by_id[r.id] = r;
  EXPECT_EQ(by_id.count(rows[2].id), 0u);
  EXPECT_EQ(by_id[rows[1].id].embedding, (std::vector<float>{9, 9, 9, 9}));
  EXPECT_EQ(by_id[rows[3].id].document, rows[3].document);
  for (size_t i = 4; i < rows.size(); ++i) {
    const RecordRow& want = rows[i];
    const RecordRow& got = by_id[want.id];
    ASSERT_EQ(std::memcmp(got.embedding.data(), want.embedding.data(), 16), 0) << want.id;
    EXPECT_EQ(got.document, want.document) << want.id;
    EXPECT_EQ(got.uri, want.uri) << want.id;
    EXPECT_EQ(got.metadata, want.metadata) << want.id;
    EXPECT_EQ(got.created, want.created);
    EXPECT_EQ(got.version, want.version);
  }
  EXPECT_EQ(fresh->LoadRecords("other-collection")->size(), 1u);
  ASSERT_TRUE(fresh->PurgeRecords("other-collection").ok());
}

// Fork: the copy happens inside ClickHouse, keeps every field bit for bit, and leaves the two
// collections independent.
TEST_P(ClickHouseStorageTest, CopiesOfRecordsAndIndexSnapshotsAreExactAndIndependent) {
  const std::string source = "7d5e1c2a-0000-4000-8000-0000000000f1";
  const std::string target = "7d5e1c2a-0000-4000-8000-0000000000f2";
  std::vector<RecordRow> rows;
  for (int i = 0; i < 50; ++i) {
    RecordRow r;
    r.id = "r" + std::to_string(i) + (i == 7 ? " 'quoted' é" : "");
    r.version = 100 + i;
    r.created = 100 + i;
    r.embedding = {0.5f * i, -1e-45f, std::nextafter(1.0f, 2.0f)};
    if (i % 2) r.document = "doc " + std::to_string(i);
    if (i % 3 == 0) r.uri = "s3://b/" + std::to_string(i);
    if (i % 5) r.metadata = Metadata{{"i", int64_t{i}}, {"tags", std::vector<std::string>{"a"}}};
    rows.push_back(std::move(r));
  }
  ASSERT_TRUE(storage_->WriteRecords(source, rows).ok());
  RecordRow tomb;
  tomb.id = rows[0].id;
  tomb.version = 500;
  tomb.deleted = true;
  ASSERT_TRUE(storage_->WriteRecords(source, {tomb}).ok());
  EXPECT_EQ(*storage_->CopyIndexSnapshot(source, target), false);  // none yet
  IndexSnapshotInfo info{300, 1, 149, 49, 11};
  ASSERT_TRUE(storage_->WriteIndexSnapshot(source, info, "graph-bytes").ok());

  Status copied = storage_->CopyRecords(source, target);
  ASSERT_TRUE(copied.ok()) << copied.ToString();
  auto snapshot = storage_->CopyIndexSnapshot(source, target);
  ASSERT_TRUE(snapshot.ok()) << snapshot.status().ToString();
  EXPECT_TRUE(*snapshot);

  auto loaded = storage_->LoadRecords(target);
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  ASSERT_EQ(loaded->size(), 49u);  // the tombstone came along
  std::map<std::string, RecordRow> by_id;
  for (auto& r : *loaded) by_id[r.id] = r;
  for (size_t i = 1; i < rows.size(); ++i) {
    const RecordRow& want = rows[i];
    const RecordRow& got = by_id[want.id];
    ASSERT_EQ(got.embedding.size(), 3u) << want.id;
    EXPECT_EQ(std::memcmp(got.embedding.data(), want.embedding.data(), 12), 0) << want.id;
    EXPECT_EQ(got.document, want.document);
    EXPECT_EQ(got.uri, want.uri);
    EXPECT_EQ(got.metadata, want.metadata);
    EXPECT_EQ(got.version, want.version);
    EXPECT_EQ(got.created, want.created);
  }
  auto found = storage_->FindIndexSnapshot(target);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->id, 300u);
  EXPECT_EQ((*found)->watermark, 149u);
  EXPECT_EQ(*storage_->ReadIndexSnapshot(target, **found), "graph-bytes");

  // Independent from now on: a write to the copy is not in the source, and purging the copy
  // leaves the source whole.
  ASSERT_TRUE(storage_->WriteRecords(target, {rows[0]}).ok());
  EXPECT_EQ(storage_->LoadRecords(target)->size(), 49u);  // the tombstone is newer
  RecordRow added = rows[1];
  added.id = "only-in-copy";
  added.version = 900;
  ASSERT_TRUE(storage_->WriteRecords(target, {added}).ok());
  EXPECT_EQ(storage_->LoadRecords(target)->size(), 50u);
  EXPECT_EQ(storage_->LoadRecords(source)->size(), 49u);

  // The lineage table: appended, read back whole, emptied by Reset.
  ASSERT_TRUE(storage_->WriteCollectionFork({source, source, target, 901}).ok());
  auto forks = storage_->LoadCollectionForks();
  ASSERT_TRUE(forks.ok()) << forks.status().ToString();
  ASSERT_EQ(forks->size(), 1u);
  EXPECT_EQ((*forks)[0].root, source);
  EXPECT_EQ((*forks)[0].target, target);
  EXPECT_EQ((*forks)[0].version, 901u);
  ASSERT_TRUE(storage_->Reset().ok());
  EXPECT_TRUE(storage_->LoadCollectionForks()->empty());
}

// The write count the refresh loop compares with its own writes: one more per INSERT of
// records, whoever makes it; merges leave it alone.
TEST_P(ClickHouseStorageTest, TheRecordWriteCountGrowsByOnePerWriteAndNotWithMerges) {
  auto first = storage_->RecordWriteCount();
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  ASSERT_TRUE(first->has_value());
  RecordRow row;
  row.id = "a";
  row.version = row.created = 1;
  row.embedding = {1, 2};
  for (int i = 0; i < 3; ++i) {
    row.version = row.created = static_cast<uint64_t>(10 + i);
    ASSERT_TRUE(storage_->WriteRecords("7d5e1c2a-0000-4000-8000-0000000000c1", {row}).ok());
  }
  auto other = NewStorage(GetParam(), db_);  // another instance's writes count too
  ASSERT_TRUE(other->WriteRecords("7d5e1c2a-0000-4000-8000-0000000000c2", {row}).ok());
  auto after = storage_->RecordWriteCount();
  ASSERT_TRUE(after.ok() && after->has_value());
  EXPECT_EQ(**after - **first, 4u);
  auto transport = NewTransport(GetParam());
  ASSERT_TRUE(transport->Execute("merge", "OPTIMIZE TABLE " + db_ + ".records FINAL").ok());
  auto merged = storage_->RecordWriteCount();
  ASSERT_TRUE(merged.ok() && merged->has_value());
  EXPECT_EQ(**merged, **after);
}

TEST_P(ClickHouseStorageTest, ScanRecordsStreamsEveryStoredRowInBatches) {
  const std::string coll = "7d5e1c2a-0000-4000-8000-0000000000bb";
  std::vector<RecordRow> rows;
  for (int i = 0; i < 10000; ++i) {
    RecordRow r;
    r.id = "s" + std::to_string(i);
    r.version = r.created = 100 + i;
    r.embedding = {float(i), 0.5f};
    if (i % 3 == 0) r.document = "d" + std::to_string(i);
    if (i % 4 == 0) r.metadata = Metadata{{"i", int64_t{i}}};
    rows.push_back(std::move(r));
  }
  Status w = storage_->WriteRecords(coll, rows);
  ASSERT_TRUE(w.ok()) << w.ToString();
  // A newer version of s1 and a tombstone of s2: the scan brings old and new rows alike.
  RecordRow newer = rows[1];
  newer.version = 50000;
  newer.embedding = {-1, -1};
  RecordRow tomb;
  tomb.id = "s2";
  tomb.version = 50001;
  tomb.deleted = true;
  ASSERT_TRUE(storage_->WriteRecords(coll, {newer, tomb}).ok());

  auto count = storage_->CountRecordRows(coll);
  ASSERT_TRUE(count.ok()) << count.status().ToString();
  std::map<std::string, RecordRow> newest;
  size_t seen = 0, batches = 0, largest = 0;
  Status s = storage_->ScanRecords(coll, [&](std::span<const RecordRow> batch) {
    ++batches;
    largest = std::max(largest, batch.size());
    for (const RecordRow& r : batch) {
      ++seen;
      auto it = newest.find(r.id);
      if (it == newest.end() || it->second.version < r.version) newest[r.id] = r;
    }
    return Status::Ok();
  });
  ASSERT_TRUE(s.ok()) << s.ToString();
  // Until ClickHouse merges, the old versions are there too; after, only the newest.
  EXPECT_GE(seen, 10000u);
  EXPECT_LE(seen, 10002u);
  EXPECT_GE(*count, seen);
  EXPECT_GE(batches, 3u);
  EXPECT_LE(largest, 4096u);
  ASSERT_EQ(newest.size(), 10000u);
  EXPECT_TRUE(newest["s2"].deleted);
  EXPECT_EQ(newest["s1"].embedding, (std::vector<float>{-1, -1}));
  auto loaded = storage_->LoadRecords(coll);
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded->size(), 9999u);
  for (const RecordRow& r : *loaded) {
    const RecordRow& n = newest[r.id];
    EXPECT_EQ(n.version, r.version) << r.id;
    EXPECT_EQ(n.embedding, r.embedding) << r.id;
    EXPECT_EQ(n.document, r.document) << r.id;
    EXPECT_EQ(n.metadata, r.metadata) << r.id;
    EXPECT_FALSE(n.deleted) << r.id;
  }
}

TEST_P(ClickHouseStorageTest, VersionSummariesAgreeWithTheVersionListsTheySummarise) {
  const std::string coll = "7d5e1c2a-0000-4000-8000-0000000000cc";
  // Real versions (milliseconds << 22 | counter, instance): their halves both vary.
  VersionClock clock(7);
  std::vector<RecordRow> rows;
  for (int i = 0; i < 3000; ++i) {
    RecordRow r;
    r.id = "v" + std::to_string(i % 2500);  // 500 ids twice: old versions are stored too
    r.version = r.created = clock.Next();
    r.deleted = i % 97 == 0;
    if (!r.deleted) r.embedding = {float(i)};
    rows.push_back(std::move(r));
  }
  ASSERT_TRUE(storage_->WriteRecords(coll, rows).ok());
  for (uint64_t from :
       {uint64_t{0}, rows[1000].version, rows[2999].version - 1, rows[2999].version}) {
    auto list = storage_->LoadRecordVersions(coll, from);
    ASSERT_TRUE(list.ok()) << list.status().ToString();
    Storage::VersionSummary want;
    for (const auto& [id, version] : *list) want.Add(version);
    auto got = storage_->SummarizeRecordVersions(coll, from);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    EXPECT_EQ(got->rows, want.rows) << from;
    EXPECT_EQ(got->high_sum, want.high_sum) << from;
    EXPECT_EQ(got->low_sum, want.low_sum) << from;
  }
  auto none = storage_->SummarizeRecordVersions("7d5e1c2a-0000-4000-8000-0000000000cd", 0);
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_EQ(none->rows, 0u);
}

TEST_P(ClickHouseStorageTest, TheCatalogFingerprintChangesWithEveryCatalogWriteOnly) {
  auto fingerprint = [this] {
    auto f = storage_->CatalogFingerprint();
    EXPECT_TRUE(f.ok()) << f.status().ToString();
    EXPECT_TRUE(f.ok() && f->has_value());
    return f.ok() && f->has_value() ? **f : std::string();
  };
  std::string before = fingerprint();
  EXPECT_EQ(fingerprint(), before) << "stable while nothing is written";
  RecordRow r;
  r.id = "x";
  r.version = r.created = 5;
  r.embedding = {1};
  ASSERT_TRUE(storage_->WriteRecords("7d5e1c2a-0000-4000-8000-0000000000ce", {r}).ok());
  EXPECT_EQ(fingerprint(), before) << "records are not catalog";
  std::set<std::string> seen{before};
  ASSERT_TRUE(storage_->WriteTenants({{"fp_tenant", std::nullopt, 10, false}}).ok());
  EXPECT_TRUE(seen.insert(fingerprint()).second) << "tenant write";
  ASSERT_TRUE(storage_
                  ->WriteDatabases(
                      {{"7d5e1c2a-0000-4000-8000-0000000000d0", "fp_db", "fp_tenant", 11, false}})
                  .ok());
  EXPECT_TRUE(seen.insert(fingerprint()).second) << "database write";
  Collection c;
  c.id = "7d5e1c2a-0000-4000-8000-0000000000cf";
  c.tenant = "fp_tenant";
  c.database = "fp_db";
  c.name = "fp";
  c.version = 12;
  ASSERT_TRUE(storage_->WriteCollections({c}).ok());
  EXPECT_TRUE(seen.insert(fingerprint()).second) << "collection write";
  c.version = 13;
  c.deleted = true;
  ASSERT_TRUE(storage_->WriteCollections({c}).ok());
  EXPECT_TRUE(seen.insert(fingerprint()).second) << "collection deletion";
}

TEST_P(ClickHouseStorageTest, IndexSnapshotsRoundTripInChunksAndOnlyWholeOnesAreFound) {
  const std::string coll = "7d5e1c2a-0000-4000-8000-0000000000aa";
  auto none = storage_->FindIndexSnapshot(coll);
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_FALSE(none->has_value());

  // 20 MiB and a bit (three 8 MiB chunks), every byte value, including NUL and newlines.
  std::string big((size_t{20} << 20) + 123, '\0');
  uint64_t x = 88172645463325252ull;
  for (char& c : big) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    c = static_cast<char>(x);
  }
  IndexSnapshotInfo info{100, 1, 4242, 77, big.size()};
  Status written = storage_->WriteIndexSnapshot(coll, info, big);
  ASSERT_TRUE(written.ok()) << written.ToString();
  auto fresh = NewStorage(GetParam(), db_);  // another instance's view
  ASSERT_TRUE(fresh->Initialize().ok());
  auto found = fresh->FindIndexSnapshot(coll);
  ASSERT_TRUE(found.ok()) << found.status().ToString();
  ASSERT_TRUE(found->has_value());
  EXPECT_EQ((*found)->id, 100u);
  EXPECT_EQ((*found)->format, 1u);
  EXPECT_EQ((*found)->watermark, 4242u);
  EXPECT_EQ((*found)->records, 77u);
  EXPECT_EQ((*found)->bytes, big.size());
  auto read = fresh->ReadIndexSnapshot(coll, **found);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_TRUE(*read == big) << "payload differs (" << read->size() << " bytes read)";

  // A newer one wins.
  IndexSnapshotInfo small{200, 1, 5000, 3, 5};
  ASSERT_TRUE(storage_->WriteIndexSnapshot(coll, small, "hello").ok());
  found = fresh->FindIndexSnapshot(coll);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->id, 200u);
  EXPECT_EQ(*fresh->ReadIndexSnapshot(coll, **found), "hello");
  // A newer but incomplete one (one chunk of two: a write that failed half way) is not found.
  auto raw = NewTransport(GetParam());
  ASSERT_TRUE(raw->Execute("test", "INSERT INTO " + db_ +
                                       ".index_snapshots (collection, snapshot, chunk, chunks, "
                                       "format, watermark, records, bytes, data) VALUES ('" +
                                       coll + "', 300, 0, 2, 1, 6000, 3, 10, 'abcde')")
                  .ok());
  found = fresh->FindIndexSnapshot(coll);
  ASSERT_TRUE(found.ok() && found->has_value());
  EXPECT_EQ((*found)->id, 200u);
  // Other collections have their own.
  auto other = fresh->FindIndexSnapshot("another-collection");
  ASSERT_TRUE(other.ok());
  EXPECT_FALSE(other->has_value());
  // A snapshot that is gone reads as NotFound.
  IndexSnapshotInfo gone{999, 1, 0, 0, 5};
  auto missing = fresh->ReadIndexSnapshot(coll, gone);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);

  // Purging a deleted collection removes its snapshots (a mutation: asynchronous).
  ASSERT_TRUE(storage_->PurgeRecords(coll).ok());
  bool purged = false;
  for (int i = 0; i < 200 && !purged; ++i) {
    found = fresh->FindIndexSnapshot(coll);
    ASSERT_TRUE(found.ok());
    purged = !found->has_value();
    if (!purged) std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  EXPECT_TRUE(purged);
  ASSERT_TRUE(storage_->WriteIndexSnapshot(coll, small, "hello").ok());
  ASSERT_TRUE(storage_->Reset().ok());
  found = fresh->FindIndexSnapshot(coll);
  ASSERT_TRUE(found.ok());
  EXPECT_FALSE(found->has_value());
}

TEST(ClickHouseUnavailable, ConnectionRefusedIsUnavailableWithTheAddress) {
  CurlTransportOptions o;
  o.url = "http://127.0.0.1:1";  // nothing listens on port 1
  o.max_attempts = 2;
  o.retry_backoff_ms = 1;
  o.log_errors = false;
  ClickHouseStorage storage(std::make_unique<CurlTransport>(o), "x");
  Status s = storage.Ping();
  EXPECT_EQ(s.code(), StatusCode::kUnavailable);
  EXPECT_NE(s.message().find("127.0.0.1:1"), std::string::npos) << s.message();
}

TEST(ClickHouseErrors, ServerErrorsCarryClickHousesMessage) {
  CurlTransportOptions o;
  o.url = testing::ClickHouseUrl();
  o.log_errors = false;
  CurlTransport t(o);
  auto r = t.Execute("bad statement", "SELEC 1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInternal);
  EXPECT_NE(r.status().message().find("Syntax error"), std::string::npos) << r.status().message();
  EXPECT_NE(r.status().message().find("bad statement"), std::string::npos);
}

}  // namespace
}  // namespace chromahouse

namespace chromahouse {
namespace {

TEST_P(ClickHouseStorageTest, InstanceBeatsKeepTheNewestPerInstance) {
  const int64_t now = NowMillis();
  ASSERT_TRUE(storage_->WriteInstanceBeat({"h:1", "clickhouse", now - 1000, true}).ok());
  ASSERT_TRUE(storage_->WriteInstanceBeat({"h:1", "clickhouse", now, false}).ok());  // stopped
  ASSERT_TRUE(storage_->WriteInstanceBeat({"h:2", "postgresql", now - 500, true}).ok());
  ASSERT_TRUE(storage_->WriteInstanceBeat({"h:3", "clickhouse", now - 60000, true}).ok());
  auto beats = storage_->LoadInstanceBeats(now - 15000);
  ASSERT_TRUE(beats.ok()) << beats.status().ToString();
  std::map<std::string, Storage::InstanceBeat> by_key;
  for (const auto& b : *beats) by_key[b.instance] = b;
  ASSERT_EQ(by_key.size(), 2u);  // h:3 beat too long ago
  EXPECT_FALSE(by_key["h:1"].alive);
  EXPECT_EQ(by_key["h:1"].seen_ms, now);
  EXPECT_TRUE(by_key["h:2"].alive);
  EXPECT_EQ(by_key["h:2"].catalog, "postgresql");
}

}  // namespace
}  // namespace chromahouse
