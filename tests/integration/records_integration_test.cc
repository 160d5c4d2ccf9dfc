// The record engine on a real ClickHouse 18.16: data written through RecordService survives a
// ClickHouse restart and a new server instance bit-exact, and collections evicted from the
// cache reload from ClickHouse and answer identically.
#include <gtest/gtest.h>

#include <cstring>

#include "clickhouse_fixture.h"
#include "service/catalog_service.h"
#include "service/record_service.h"

namespace chromahouse {
namespace {

struct Server {
  explicit Server(const std::string& database, size_t budget = 0) {
    CurlTransportOptions o;
    o.url = testing::ClickHouseUrl();
    storage = std::make_unique<ClickHouseStorage>(std::make_unique<CurlTransport>(o), database);
    EXPECT_TRUE(storage->Initialize().ok());
    catalog = std::make_unique<CatalogService>(storage.get(), &clock);
    EXPECT_TRUE(catalog->Initialize().ok());
    records = std::make_unique<RecordService>(catalog.get(), storage.get(), &clock, budget);
  }
  VersionClock clock;
  std::unique_ptr<ClickHouseStorage> storage;
  std::unique_ptr<CatalogService> catalog;
  std::unique_ptr<RecordService> records;
};

RecordWriteRequest Rows(int collection, int n) {
  RecordWriteRequest w;
  std::vector<std::optional<std::vector<float>>> embeddings;
  std::vector<std::optional<std::string>> documents;
  std::vector<std::optional<MetadataPatch>> metadatas;
  for (int i = 0; i < n; ++i) {
    w.ids.push_back("id-" + std::to_string(i));
    embeddings.emplace_back(
        std::vector<float>{0.1f * float(i), 1e-45f, -3.4028235e38f, float(collection)});
    documents.emplace_back(i % 2 ? std::optional<std::string>("doc " + std::to_string(i))
                                 : std::nullopt);
    MetadataPatch p;
    p.set = Metadata{{"i", int64_t{i}}, {"f", 2.0}, {"tags", std::vector<std::string>{"a", "b"}}};
    metadatas.emplace_back(std::move(p));
  }
  w.embeddings = std::move(embeddings);
  w.documents = std::move(documents);
  w.metadatas = std::move(metadatas);
  return w;
}

std::string Snapshot(RecordService& records, const std::string& id) {
  GetRequest g;
  g.include.fields = {IncludeField::kEmbeddings, IncludeField::kDocuments,
                      IncludeField::kMetadatas};
  auto r = records.Get(id, g);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  std::string out;
  for (const auto& v : r->records) {
    out += v.id + "|";
    out.append(reinterpret_cast<const char*>(v.embedding), v.dim * sizeof(float));
    out += "|" + (*v.document).value_or("<none>") + "|" +
           (*v.metadata_json ? **v.metadata_json : "null") + "\n";
  }
  return out;
}

TEST(RecordsOnClickHouse, SurviveAClickHouseRestartBitExact) {
  std::string db = testing::FreshDatabaseName();
  std::string id, before;
  {
    Server s(db);
    CreateCollectionRequest req;
    req.name = "restart_me";
    auto c = s.catalog->CreateCollection("default_tenant", "default_database", req);
    ASSERT_TRUE(c.ok());
    id = c->id;
    RecordWriteRequest w = Rows(1, 500);
    ASSERT_TRUE(s.records->Write(id, RecordWriteKind::kAdd, w).ok());
    DeleteRequest d;
    d.ids = std::vector<std::string>{"id-3", "id-4"};
    ASSERT_TRUE(s.records->Delete(id, d).ok());
    before = Snapshot(*s.records, id);
  }
  testing::RestartClickHouse();
  Server again(db);
  EXPECT_EQ(Snapshot(*again.records, id), before);
  EXPECT_EQ(*again.records->Count(id), 498);
  auto c = again.catalog->GetCollection(id);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->dimension, 4);
}

TEST(RecordsOnClickHouse, EvictedCollectionsReloadAndAnswerIdentically) {
  // The budget holds two of the six collections: measured on one first.
  size_t one = 0;
  {
    Server probe(testing::FreshDatabaseName());
    CreateCollectionRequest req;
    req.name = "probe";
    auto created = probe.catalog->CreateCollection("default_tenant", "default_database", req);
    ASSERT_TRUE(created.ok());
    ASSERT_TRUE(probe.records->Write(created->id, RecordWriteKind::kAdd, Rows(0, 150)).ok());
    one = probe.records->cache_stats().bytes;
    ASSERT_GT(one, 0u);
  }
  const size_t budget = one * 5 / 2;
  Server s(testing::FreshDatabaseName(), budget);
  std::vector<std::string> ids;
  std::vector<std::string> snapshots;
  for (int c = 0; c < 6; ++c) {
    CreateCollectionRequest req;
    req.name = "evict" + std::to_string(c);
    auto created = s.catalog->CreateCollection("default_tenant", "default_database", req);
    ASSERT_TRUE(created.ok());
    ids.push_back(created->id);
    RecordWriteRequest w = Rows(c, 150);
    ASSERT_TRUE(s.records->Write(created->id, RecordWriteKind::kAdd, w).ok());
    snapshots.push_back(Snapshot(*s.records, created->id));
  }
  EXPECT_GT(s.records->cache_stats().evictions, 0);
  for (int c = 0; c < 6; ++c) EXPECT_EQ(Snapshot(*s.records, ids[c]), snapshots[c]) << c;
  EXPECT_LE(s.records->cache_stats().bytes, budget);
  EXPECT_LE(s.records->cache_stats().collections, 2u);
}

}  // namespace
}  // namespace chromahouse
