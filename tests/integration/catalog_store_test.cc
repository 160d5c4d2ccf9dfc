// The catalog's semantics on every catalog store, through CatalogService as the server uses it:
//  - "ClickHouse18" / "ClickHouseCurrent": StorageCatalogStore on ClickHouse 18.16 and on chDB
//    (the single-instance default);
//  - "PostgreSQL": PostgresCatalogStore on a real PostgreSQL 15 started by the fixture.
// Several services on one store play several server instances.
#include <gtest/gtest.h>

#include <libpq-fe.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <set>
#include <thread>

#include "chdb_transport.h"
#include "clickhouse_fixture.h"
#include "common/clock.h"
#include "postgres_fixture.h"
#include "service/catalog_service.h"
#include "storage/postgres/postgres_catalog_store.h"
#include "storage/storage_catalog_store.h"

namespace chromahouse {
namespace {

CreateCollectionRequest Named(const std::string& name) {
  CreateCollectionRequest req;
  req.name = name;
  return req;
}

enum class Store { kClickHouse18, kClickHouseCurrent, kPostgres };

std::string ChdbPath() {
  static const std::string path = [] {
    char tmpl[] = "/tmp/chromahouse-chdb-cat-XXXXXX";
    return std::string(mkdtemp(tmpl));
  }();
  return path;
}

// One "instance": its own connection(s) to the shared store, its own clock and catalog cache.
struct Instance {
  std::unique_ptr<ClickHouseStorage> storage;  // ClickHouse stores only
  std::unique_ptr<CatalogStore> store;
  VersionClock clock;
  std::unique_ptr<CatalogService> catalog;
};

class CatalogStoreTest : public ::testing::TestWithParam<Store> {
 protected:
  void SetUp() override {
    if (GetParam() == Store::kPostgres) {
      url_ = testing::FreshPostgresUrl();
    } else {
      database_ = testing::FreshDatabaseName();
    }
  }

  std::unique_ptr<Instance> NewInstance() {
    auto i = std::make_unique<Instance>();
    if (GetParam() == Store::kPostgres) {
      i->store = std::make_unique<PostgresCatalogStore>(PostgresCatalogOptions{url_});
      i->catalog = std::make_unique<CatalogService>(i->store.get(), nullptr);
    } else {
      std::unique_ptr<SqlTransport> transport;
      if (GetParam() == Store::kClickHouse18) {
        CurlTransportOptions o;
        o.url = testing::ClickHouseUrl();
        transport = std::make_unique<CurlTransport>(o);
      } else {
        std::string lib = FindLibChdb();
        if (lib.empty()) {
          if (std::getenv("CHROMAHOUSE_SKIP_CHDB")) return nullptr;
          ADD_FAILURE() << "libchdb.so not found: run 'make npm-deps'";
          return nullptr;
        }
        auto t = ChdbTransport::Open(lib, ChdbPath());
        if (!t.ok()) {
          ADD_FAILURE() << t.status().ToString();
          return nullptr;
        }
        transport = std::move(t).value();
      }
      i->storage = std::make_unique<ClickHouseStorage>(std::move(transport), database_);
      Status s = i->storage->Initialize();
      EXPECT_TRUE(s.ok()) << s.ToString();
      i->store = std::make_unique<StorageCatalogStore>(i->storage.get(), &i->clock);
      i->catalog = std::make_unique<CatalogService>(i->store.get(), i->storage.get());
    }
    Status s = i->catalog->Initialize();
    EXPECT_TRUE(s.ok()) << s.ToString();
    return i;
  }

  static Result<Collection> Create(CatalogService& catalog, const std::string& name,
                                   bool get_or_create = false,
                                   std::optional<Metadata> metadata = std::nullopt) {
    CreateCollectionRequest req;
    req.name = name;
    req.get_or_create = get_or_create;
    req.metadata = std::move(metadata);
    return catalog.CreateCollection("default_tenant", "default_database", req);
  }

  std::string url_, database_;
};

INSTANTIATE_TEST_SUITE_P(Stores, CatalogStoreTest,
                         ::testing::Values(Store::kClickHouse18, Store::kClickHouseCurrent,
                                           Store::kPostgres),
                         [](const auto& info) {
                           switch (info.param) {
                             case Store::kClickHouse18: return "ClickHouse18";
                             case Store::kClickHouseCurrent: return "ClickHouseCurrent";
                             default: return "PostgreSQL";
                           }
                         });

TEST_P(CatalogStoreTest, CollectionRulesAnswerAsChromaDoes) {
  auto a = NewInstance();
  if (!a) GTEST_SKIP();
  auto first = Create(*a->catalog, "books", false, Metadata{{"topic", std::string("sf")}});
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto dup = Create(*a->catalog, "books");
  EXPECT_EQ(dup.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(dup.status().message(), "Collection [books] already exists");
  auto again = Create(*a->catalog, "books", /*get_or_create=*/true);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->id, first->id);
  ASSERT_TRUE(again->metadata.has_value());
  EXPECT_EQ(std::get<std::string>(again->metadata->at("topic")), "sf");

  ASSERT_TRUE(Create(*a->catalog, "films").ok());
  UpdateCollectionRequest rename;
  rename.new_name = "films";
  Status taken = a->catalog->UpdateCollection(first->id, rename);
  EXPECT_EQ(taken.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(taken.message(), "Collection [films] already exists");
  rename.new_name = "novels";
  ASSERT_TRUE(a->catalog->UpdateCollection(first->id, rename).ok());
  EXPECT_EQ(a->catalog->GetCollectionByName("default_tenant", "default_database", "books")
                .status()
                .code(),
            StatusCode::kNotFound);
  ASSERT_TRUE(a->catalog->SetDimension(first->id, 3).ok());

  Status missing_db =
      a->catalog->CreateCollection("default_tenant", "nowhere", Named("xyz")).status();
  EXPECT_EQ(missing_db.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(missing_db.message(), "Database [nowhere] does not exist");

  // Delete, then create again: a new collection under the old name.
  ASSERT_TRUE(a->catalog->DeleteCollection("default_tenant", "default_database", "films").ok());
  EXPECT_EQ(a->catalog->DeleteCollection("default_tenant", "default_database", "films").message(),
            "Collection [films] does not exist");
  auto films2 = Create(*a->catalog, "films");
  ASSERT_TRUE(films2.ok());

  // A restart reads everything back from the store.
  auto restarted = NewInstance();
  auto novels =
      restarted->catalog->GetCollectionByName("default_tenant", "default_database", "novels");
  ASSERT_TRUE(novels.ok()) << novels.status().ToString();
  EXPECT_EQ(novels->id, first->id);
  EXPECT_EQ(novels->dimension, 3);
  auto listed = restarted->catalog->ListCollections("default_tenant", "default_database", Page{});
  ASSERT_TRUE(listed.ok());
  EXPECT_EQ(listed->size(), 2u);
  EXPECT_EQ(restarted->catalog->GetCollection(films2->id)->name, "films");
}

TEST_P(CatalogStoreTest, TenantsAndDatabases) {
  auto a = NewInstance();
  if (!a) GTEST_SKIP();
  ASSERT_TRUE(a->catalog->CreateTenant("acme").ok());
  EXPECT_EQ(a->catalog->CreateTenant("acme").message(), "Tenant [acme] already exists");
  ASSERT_TRUE(a->catalog->CreateDatabase("acme", "prod").ok());
  EXPECT_EQ(a->catalog->CreateDatabase("acme", "prod").message(), "Database [prod] already exists");
  auto db = a->catalog->GetDatabase("acme", "prod");
  ASSERT_TRUE(db.ok());
  EXPECT_EQ(db->id.size(), 36u);
  ASSERT_TRUE(a->catalog->CreateCollection("acme", "prod", Named("inside")).ok());
  ASSERT_TRUE(a->catalog->DeleteDatabase("acme", "prod").ok());
  EXPECT_EQ(a->catalog->DeleteDatabase("acme", "prod").message(), "Database [prod] not found");
  // Created again: empty, with a new id.
  ASSERT_TRUE(a->catalog->CreateDatabase("acme", "prod").ok());
  EXPECT_NE(a->catalog->GetDatabase("acme", "prod")->id, db->id);
  auto restarted = NewInstance();
  EXPECT_TRUE(restarted->catalog->ListCollections("acme", "prod", Page{})->empty());
  EXPECT_TRUE(restarted->catalog->GetTenant("acme").ok());

  ASSERT_TRUE(a->catalog->Reset().ok());
  EXPECT_EQ(a->catalog->GetTenant("acme").status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(a->catalog->GetDatabase("default_tenant", "default_database").ok());
}

TEST_P(CatalogStoreTest, ForksCopyTheCollectionAndAreCountedPerLineage) {
  auto a = NewInstance();
  if (!a) GTEST_SKIP();
  auto source = Create(*a->catalog, "origin", false, Metadata{{"topic", std::string("sf")}});
  ASSERT_TRUE(source.ok());
  ASSERT_TRUE(a->catalog->SetDimension(source->id, 4).ok());
  ASSERT_TRUE(Create(*a->catalog, "taken").ok());
  EXPECT_EQ(*a->store->CountForks(source->id), 0u);

  auto fork = a->store->ForkCollection(source->id, "7d5e1c2a-0000-4000-8000-00000000f001", "f1");
  ASSERT_TRUE(fork.ok()) << fork.status().ToString();
  EXPECT_EQ(fork->id, "7d5e1c2a-0000-4000-8000-00000000f001");
  EXPECT_EQ(fork->name, "f1");
  EXPECT_EQ(fork->dimension, 4);
  EXPECT_EQ(std::get<std::string>(fork->metadata->at("topic")), "sf");
  EXPECT_EQ(a->store->ForkCollection(source->id, "7d5e1c2a-0000-4000-8000-00000000f002", "taken")
                .status()
                .code(),
            StatusCode::kAlreadyExists);
  EXPECT_EQ(a->store
                ->ForkCollection("7d5e1c2a-0000-4000-8000-00000000ffff",
                                 "7d5e1c2a-0000-4000-8000-00000000f003", "f3")
                .status()
                .code(),
            StatusCode::kNotFound);
  // The fork's fork belongs to the same lineage; another instance reads it all back.
  ASSERT_TRUE(
      a->store->ForkCollection(fork->id, "7d5e1c2a-0000-4000-8000-00000000f004", "f4").ok());
  auto b = NewInstance();
  EXPECT_EQ(*b->store->CountForks(source->id), 2u);
  EXPECT_EQ(*b->store->CountForks(fork->id), 2u);
  EXPECT_EQ(*b->store->CountForks("7d5e1c2a-0000-4000-8000-00000000f004"), 2u);
  auto f4 = b->catalog->GetCollectionByName("default_tenant", "default_database", "f4");
  ASSERT_TRUE(f4.ok()) << f4.status().ToString();
  EXPECT_EQ(f4->dimension, 4);
  // Deleting a fork does not uncount it; Reset forgets the lineage.
  ASSERT_TRUE(b->catalog->DeleteCollection("default_tenant", "default_database", "f1").ok());
  EXPECT_EQ(*b->store->CountForks(source->id), 2u);
  EXPECT_EQ(b->store->LoadForks()->size(), 2u);
  ASSERT_TRUE(b->catalog->Reset().ok());
  EXPECT_TRUE(b->store->LoadForks()->empty());
}

// Two instances, one after the other: the second decides by the store, not by its cache.
TEST_P(CatalogStoreTest, AnotherInstancesCatalogIsRespectedWithoutARefresh) {
  auto a = NewInstance();
  if (!a) GTEST_SKIP();
  auto b = NewInstance();
  auto created = Create(*a->catalog, "shared");
  ASSERT_TRUE(created.ok());
  EXPECT_EQ(Create(*b->catalog, "shared").status().code(), StatusCode::kAlreadyExists);
  auto got = Create(*b->catalog, "shared", /*get_or_create=*/true);
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->id, created->id);
  ASSERT_TRUE(Create(*b->catalog, "other").ok());
  UpdateCollectionRequest rename;
  rename.new_name = "other";
  EXPECT_EQ(a->catalog->UpdateCollection(created->id, rename).code(), StatusCode::kAlreadyExists);
  // A delete through A is seen by B's refresh.
  ASSERT_TRUE(a->catalog->DeleteCollection("default_tenant", "default_database", "shared").ok());
  ASSERT_TRUE(b->catalog->RefreshIfOlderThan(-1).ok());
  EXPECT_EQ(b->catalog->GetCollection(created->id).status().code(), StatusCode::kNotFound);
  EXPECT_TRUE(b->catalog->GetCollectionByName("default_tenant", "default_database", "other").ok());
}

// Several instances at the same moment: only a transactional store can promise this.
TEST_P(CatalogStoreTest, ConcurrentCreatesThroughSeveralInstancesYieldOneCollectionPerName) {
  if (GetParam() != Store::kPostgres) GTEST_SKIP() << "one instance only on this store";
  std::vector<std::unique_ptr<Instance>> instances;
  for (int i = 0; i < 3; ++i) instances.push_back(NewInstance());
  constexpr int kNames = 20;
  std::atomic<int> created{0}, conflicts{0};
  std::mutex mu;
  std::map<std::string, std::set<std::string>> ids_by_name;  // guarded by mu
  std::vector<std::thread> threads;
  for (int t = 0; t < 6; ++t) {
    threads.emplace_back([&, t] {
      CatalogService& catalog = *instances[t % 3]->catalog;
      for (int n = 0; n < kNames; ++n) {
        const std::string name = "race_" + std::to_string(n);
        const bool get_or_create = t >= 3;
        auto r = Create(catalog, name, get_or_create);
        if (r.ok()) {
          if (!get_or_create) created.fetch_add(1);
          std::lock_guard lock(mu);
          ids_by_name[name].insert(r->id);
        } else {
          EXPECT_EQ(r.status().code(), StatusCode::kAlreadyExists) << r.status().ToString();
          conflicts.fetch_add(1);
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  for (const auto& [name, ids] : ids_by_name) {
    EXPECT_EQ(ids.size(), 1u) << name << " has " << ids.size() << " collections";
  }
  EXPECT_EQ(ids_by_name.size(), static_cast<size_t>(kNames));
  for (auto& instance : instances) {
    ASSERT_TRUE(instance->catalog->RefreshIfOlderThan(-1).ok());
    EXPECT_EQ(instance->catalog->CountCollections("default_tenant", "default_database").value(),
              kNames);
  }
}

TEST_P(CatalogStoreTest, ARefreshReadsNothingWhileTheCatalogStaysTheSame) {
  auto a = NewInstance();
  if (!a) GTEST_SKIP();
  auto before = a->store->Fingerprint();
  ASSERT_TRUE(before.ok());
  ASSERT_TRUE(before->has_value());
  EXPECT_EQ(*a->store->Fingerprint().value(), **before);
  ASSERT_TRUE(Create(*a->catalog, "changes").ok());
  EXPECT_NE(*a->store->Fingerprint().value(), **before);
  // A get_or_create of an existing collection changes nothing.
  auto after = a->store->Fingerprint().value();
  ASSERT_TRUE(Create(*a->catalog, "changes", true).ok());
  EXPECT_EQ(a->store->Fingerprint().value(), after);
}

// ---- PostgreSQL only ----

class PostgresCatalogTest : public ::testing::Test {
 protected:
  void SetUp() override { url_ = testing::FreshPostgresUrl(); }
  void Sql(const std::string& sql) {
    PGconn* conn = PQconnectdb(url_.c_str());
    PGresult* r = PQexec(conn, sql.c_str());
    ASSERT_TRUE(PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK)
        << PQerrorMessage(conn);
    PQclear(r);
    PQfinish(conn);
  }
  std::string url_;
};

TEST_F(PostgresCatalogTest, MigrationsAreRecordedAndANewerSchemaIsRefused) {
  PostgresCatalogStore store(PostgresCatalogOptions{url_});
  ASSERT_TRUE(store.Initialize().ok());
  ASSERT_TRUE(store.Initialize().ok());  // idempotent
  Sql("INSERT INTO schema_migrations (version, description) VALUES (999, 'from the future')");
  PostgresCatalogStore newer(PostgresCatalogOptions{url_});
  Status s = newer.Initialize();
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(s.message().find("schema version 999, newer than this build understands"),
            std::string::npos)
      << s.message();
}

TEST_F(PostgresCatalogTest, ANameIsUniqueInTheDatabaseItself) {
  PostgresCatalogStore store(PostgresCatalogOptions{url_});
  ASSERT_TRUE(store.Initialize().ok());
  Collection spec;
  spec.name = "one";
  spec.tenant = "default_tenant";
  spec.database = "default_database";
  ASSERT_TRUE(store.CreateCollection(spec, false).ok());
  // Even a writer that skips the checks cannot add a second live "one".
  PGconn* conn = PQconnectdb(url_.c_str());
  PGresult* r =
      PQexec(conn,
             "INSERT INTO collections (id, tenant, \"database\", name, configuration, "
             "version) VALUES ('x', 'default_tenant', 'default_database', 'one', '{}', 1)");
  EXPECT_EQ(PQresultStatus(r), PGRES_FATAL_ERROR);
  EXPECT_STREQ(PQresultErrorField(r, PG_DIAG_SQLSTATE), "23505");
  PQclear(r);
  PQfinish(conn);
}

TEST_F(PostgresCatalogTest, WhilePostgresIsDownWritesAre503AndLoadedReadsGoOn) {
  PostgresCatalogStore store(PostgresCatalogOptions{url_});
  CatalogService catalog(&store, nullptr);
  ASSERT_TRUE(catalog.Initialize().ok());
  catalog.SetMaxStaleness(0);  // would re-read the catalog before every call
  CreateCollectionRequest req;
  req.name = "kept";
  auto kept = catalog.CreateCollection("default_tenant", "default_database", req);
  ASSERT_TRUE(kept.ok());

  testing::StopPostgres();
  req.name = "refused";
  auto refused = catalog.CreateCollection("default_tenant", "default_database", req);
  EXPECT_EQ(refused.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(refused.status().message().find("PostgreSQL"), std::string::npos)
      << refused.status().message();
  auto read = catalog.GetCollectionByName("default_tenant", "default_database", "kept");
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ(read->id, kept->id);

  testing::StartPostgres();
  auto after = catalog.CreateCollection("default_tenant", "default_database", req);
  EXPECT_TRUE(after.ok()) << after.status().ToString();
}

TEST_F(PostgresCatalogTest, APostgresRestartWhileIdleCostsNoFailedRequest) {
  PostgresCatalogStore store(PostgresCatalogOptions{url_});
  CatalogService catalog(&store, nullptr);
  ASSERT_TRUE(catalog.Initialize().ok());
  CreateCollectionRequest req;
  req.name = "before";
  ASSERT_TRUE(catalog.CreateCollection("default_tenant", "default_database", req).ok());
  testing::StopPostgres();
  testing::StartPostgres();
  req.name = "after";
  auto after = catalog.CreateCollection("default_tenant", "default_database", req);
  EXPECT_TRUE(after.ok()) << after.status().ToString();
}

TEST_F(PostgresCatalogTest, ImportCopiesOnceAndRefusesATakenName) {
  PostgresCatalogStore store(PostgresCatalogOptions{url_});
  ASSERT_TRUE(store.Initialize().ok());
  CatalogSnapshot snapshot;
  snapshot.tenants.push_back(Tenant{"acme", std::nullopt, 1, false});
  snapshot.databases.push_back(
      Database{"7d5e1c2a-0000-4000-8000-0000000000d0", "prod", "acme", 1, false});
  Collection c;
  c.id = "7d5e1c2a-0000-4000-8000-0000000000c1";
  c.name = "docs";
  c.tenant = "acme";
  c.database = "prod";
  c.metadata = Metadata{{"k", int64_t{1}}};
  c.dimension = 8;
  c.version = 123456789012345;
  snapshot.collections.push_back(c);
  auto copied = store.Import(snapshot);
  ASSERT_TRUE(copied.ok()) << copied.status().ToString();
  EXPECT_EQ(*copied, 3u);
  ASSERT_TRUE(store.Import(snapshot).ok());  // idempotent
  auto loaded = store.Load(false);
  ASSERT_TRUE(loaded.ok());
  ASSERT_EQ(loaded->collections.size(), 1u);
  EXPECT_EQ(loaded->collections[0].id, c.id);
  EXPECT_EQ(loaded->collections[0].dimension, 8);
  // Versions continue from the store's own epoch, so later changes win over copied rows.
  EXPECT_LT(loaded->collections[0].version, 1000u);

  Collection other = c;
  other.id = "7d5e1c2a-0000-4000-8000-0000000000c2";
  snapshot.collections = {other};
  auto refused = store.Import(snapshot);
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("acme/prod/docs"), std::string::npos)
      << refused.status().message();
}

}  // namespace
}  // namespace chromahouse
