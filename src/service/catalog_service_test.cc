#include "service/catalog_service.h"

#include <gtest/gtest.h>

#include "storage/memory/memory_storage.h"

namespace chromahouse {
namespace {

class CatalogServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(catalog_.Initialize().ok()); }

  Result<Collection> Create(const std::string& name, std::optional<Metadata> md = std::nullopt,
                            bool get_or_create = false) {
    CreateCollectionRequest req;
    req.name = name;
    req.metadata = std::move(md);
    req.get_or_create = get_or_create;
    return catalog_.CreateCollection("default_tenant", "default_database", req);
  }

  MemoryStorage storage_;
  VersionClock clock_;
  CatalogService catalog_{&storage_, &clock_};
};

TEST_F(CatalogServiceTest, DefaultsExistFromFirstStartAndAreNotDuplicated) {
  EXPECT_TRUE(catalog_.GetTenant("default_tenant").ok());
  auto db = catalog_.GetDatabase("default_tenant", "default_database");
  ASSERT_TRUE(db.ok());
  EXPECT_EQ(db->id, "00000000-0000-0000-0000-000000000000");
  ASSERT_TRUE(catalog_.Initialize().ok());  // a restart
  EXPECT_EQ(storage_.LoadDatabases()->size(), 1u);
  EXPECT_EQ(storage_.LoadTenants()->size(), 1u);
}

TEST_F(CatalogServiceTest, TenantRules) {
  EXPECT_TRUE(catalog_.CreateTenant("acme").ok());
  Status dup = catalog_.CreateTenant("acme");
  EXPECT_EQ(dup.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(dup.message(), "Tenant [acme] already exists");
  Status short_name = catalog_.CreateTenant("ab");
  EXPECT_EQ(short_name.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(short_name.message().find("String(\"ab\")"), std::string::npos);
  auto missing = catalog_.GetTenant("nope");
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.status().message(), "Tenant [nope] not found");
}

TEST_F(CatalogServiceTest, DatabasesAreListedByNameAndPaged) {
  for (const char* n : {"zeta", "Alpha", "beta"})
    ASSERT_TRUE(catalog_.CreateDatabase("t_x", n).ok());
  auto all = catalog_.ListDatabases("t_x", Page{});
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 3u);
  EXPECT_EQ((*all)[0].name, "Alpha");  // byte-wise order
  EXPECT_EQ((*all)[2].name, "zeta");
  auto page = catalog_.ListDatabases("t_x", Page{1, 1});
  ASSERT_EQ(page->size(), 1u);
  EXPECT_EQ((*page)[0].name, "beta");
  EXPECT_TRUE(catalog_.ListDatabases("t_x", Page{0, 0})->empty());
  EXPECT_TRUE(catalog_.ListDatabases("unknown", Page{})->empty());
  EXPECT_EQ(catalog_.CreateDatabase("t_x", "beta").code(), StatusCode::kAlreadyExists);
}

TEST_F(CatalogServiceTest, DatabaseNameRulesNameTheValue) {
  struct Case {
    const char* name;
    const char* message;
  } cases[] = {
      {"ab",
       "Expected a name containing 3-512 characters from [a-zA-Z0-9._-], starting and "
       "ending with a character in [a-zA-Z0-9]. Got: ab"},
      {"a..b", "Expected a name that does not contains two consecutive periods (..). Got a..b"},
      {"192.168.0.1", "Expected a name that is not a valid ip address. Got 192.168.0.1"},
      {"a+b+c", "Expected a name to contain at most one topology:  Got two `+` characters."},
      {"abc+-de",
       "Expected a name containing 3-512 characters from [a-zA-Z0-9._-], starting "
       "and ending with a character in [a-zA-Z0-9]. Got: -de"},
  };
  for (const auto& c : cases) {
    Status s = catalog_.CreateDatabase("default_tenant", c.name);
    EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << c.name;
    EXPECT_EQ(s.message(), c.message) << c.name;
  }
  EXPECT_TRUE(catalog_.CreateDatabase("default_tenant", "abc+def").ok());
  EXPECT_TRUE(catalog_.CreateDatabase("default_tenant", std::string(512, 'x')).ok());
  EXPECT_FALSE(catalog_.CreateDatabase("default_tenant", std::string(513, 'x')).ok());
}

TEST_F(CatalogServiceTest, DeletingADatabaseDeletesItsCollections) {
  ASSERT_TRUE(catalog_.CreateDatabase("default_tenant", "scratch").ok());
  CreateCollectionRequest req;
  req.name = "inside";
  ASSERT_TRUE(catalog_.CreateCollection("default_tenant", "scratch", req).ok());
  ASSERT_TRUE(catalog_.DeleteDatabase("default_tenant", "scratch").ok());
  EXPECT_EQ(catalog_.GetDatabase("default_tenant", "scratch").status().code(),
            StatusCode::kNotFound);
  ASSERT_TRUE(catalog_.CreateDatabase("default_tenant", "scratch").ok());
  EXPECT_EQ(*catalog_.CountCollections("default_tenant", "scratch"), 0);
  EXPECT_TRUE(storage_.LoadCollections()->empty());
  EXPECT_EQ(catalog_.DeleteDatabase("default_tenant", "nope").message(),
            "Database [nope] not found");
}

TEST_F(CatalogServiceTest, CollectionCreateGetOrCreateAndConflicts) {
  auto a = Create("alpha", Metadata{{"k", int64_t{1}}});
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  auto dup = Create("alpha");
  EXPECT_EQ(dup.status().code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(dup.status().message(), "Collection [alpha] already exists");
  auto same = Create("alpha", Metadata{{"other", int64_t{2}}}, /*get_or_create=*/true);
  ASSERT_TRUE(same.ok());
  EXPECT_EQ(same->id, a->id);
  EXPECT_EQ(same->metadata, a->metadata);  // existing collection returned unchanged
  CreateCollectionRequest req;
  req.name = "gamma";
  auto no_db = catalog_.CreateCollection("default_tenant", "nodb", req);
  EXPECT_EQ(no_db.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(no_db.status().message(), "Database [nodb] does not exist");
}

TEST_F(CatalogServiceTest, CollectionMetadataRules) {
  EXPECT_EQ(Create("c_one", Metadata{}).status().message(),
            "Validation error: metadata: Metadata cannot be empty");
  EXPECT_EQ(Create("c_one", Metadata{{"$x", int64_t{1}}}).status().message(),
            "Validation error: metadata: Metadata key cannot start with '#' or '$': $x");
  EXPECT_EQ(Create("c_one", Metadata{{"", int64_t{1}}}).status().message(),
            "Validation error: metadata: Metadata key cannot be empty");
  auto arr = Create("c_one", Metadata{{"a", std::vector<int64_t>{1, 2}}});
  EXPECT_EQ(arr.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(arr.status().message().find("'a'"), std::string::npos);
}

TEST_F(CatalogServiceTest, LegacyHnswMetadataAndConfigurationResolution) {
  auto legacy = Create("legacy", Metadata{{"hnsw:space", std::string("ip")},
                                          {"hnsw:M", int64_t{32}},
                                          {"hnsw:search_ef", int64_t{20}},
                                          {"hnsw:construction_ef", int64_t{150}}});
  ASSERT_TRUE(legacy.ok()) << legacy.status().ToString();
  EXPECT_EQ(legacy->configuration.hnsw.space, Space::kIp);
  EXPECT_EQ(legacy->configuration.hnsw.max_neighbors, 32);
  EXPECT_EQ(legacy->configuration.hnsw.ef_search, 20);
  EXPECT_EQ(legacy->configuration.hnsw.ef_construction, 150);
  EXPECT_TRUE(legacy->metadata->count("hnsw:space"));  // stays visible

  EXPECT_EQ(Create("bad1", Metadata{{"hnsw:unknown", int64_t{1}}}).status().message(),
            "Failed to parse hnsw parameters from segment metadata");
  EXPECT_FALSE(Create("bad2", Metadata{{"hnsw:space", int64_t{5}}}).ok());
  EXPECT_FALSE(Create("bad3", Metadata{{"hnsw:M", 1.5}}).ok());

  Metadata cosine{{"hnsw:space", std::string("cosine")}};
  CollectionConfigurationInput default_cfg;
  default_cfg.hnsw = HnswConfigInput{};
  default_cfg.hnsw->space = Space::kL2;
  auto r = CatalogService::ResolveConfiguration(default_cfg, cosine);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->hnsw.space, Space::kCosine);  // an all-default configuration yields to metadata

  CollectionConfigurationInput custom;
  custom.hnsw = HnswConfigInput{};
  custom.hnsw->ef_search = 50;
  r = CatalogService::ResolveConfiguration(custom, cosine);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->hnsw.space, Space::kL2);  // a non-default configuration wins completely
  EXPECT_EQ(r->hnsw.ef_search, 50);

  CollectionConfigurationInput spann;
  spann.spann = HnswConfigInput{};
  spann.spann->space = Space::kIp;
  r = CatalogService::ResolveConfiguration(spann, cosine);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->hnsw.space, Space::kIp);

  CollectionConfigurationInput both;
  both.hnsw = HnswConfigInput{};
  both.spann = HnswConfigInput{};
  EXPECT_EQ(CatalogService::ResolveConfiguration(both, std::nullopt).status().message(),
            "Multiple vector index configurations provided");
}

TEST_F(CatalogServiceTest, UpdateRenamesReplacesMetadataAndConfiguration) {
  auto a = Create("alpha", Metadata{{"x", int64_t{1}}, {"y", std::string("s")}});
  ASSERT_TRUE(Create("beta").ok());
  UpdateCollectionRequest rename;
  rename.new_name = "beta";
  EXPECT_EQ(catalog_.UpdateCollection(a->id, rename).code(), StatusCode::kAlreadyExists);
  rename.new_name = "ab";
  EXPECT_EQ(
      catalog_.UpdateCollection(a->id, rename).message().rfind("Validation error: new_name: ", 0),
      0u);
  UpdateCollectionRequest upd;
  upd.new_name = "alpha2";
  upd.new_metadata = Metadata{{"z", int64_t{2}}};
  upd.new_configuration = CollectionConfigurationInput{};
  upd.new_configuration->hnsw = HnswConfigInput{};
  upd.new_configuration->hnsw->ef_search = 55;
  ASSERT_TRUE(catalog_.UpdateCollection(a->id, upd).ok());
  auto got = catalog_.GetCollectionByName("default_tenant", "default_database", "alpha2");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->metadata, (Metadata{{"z", int64_t{2}}}));
  EXPECT_EQ(got->configuration.hnsw.ef_search, 55);
  EXPECT_EQ(
      catalog_.GetCollectionByName("default_tenant", "default_database", "alpha").status().code(),
      StatusCode::kNotFound);
  UpdateCollectionRequest clear;
  clear.clear_metadata = true;
  ASSERT_TRUE(catalog_.UpdateCollection(a->id, clear).ok());
  EXPECT_FALSE(catalog_.GetCollection(a->id)->metadata.has_value());
  EXPECT_EQ(catalog_.UpdateCollection("00000000-0000-0000-0000-000000000001", upd).message(),
            "Collection [00000000-0000-0000-0000-000000000001] does not exist.");
}

TEST_F(CatalogServiceTest, ListingIsByAscendingIdAndScoped) {
  for (const char* n : {"c_one", "c_two", "c_three"}) ASSERT_TRUE(Create(n).ok());
  auto rows = catalog_.ListCollections("default_tenant", "default_database", Page{});
  ASSERT_EQ(rows->size(), 3u);
  EXPECT_LT((*rows)[0].id, (*rows)[1].id);
  EXPECT_LT((*rows)[1].id, (*rows)[2].id);
  EXPECT_EQ(catalog_.ListCollections("default_tenant", "default_database", Page{2, 1})->size(), 2u);
  auto by_id = catalog_.GetCollectionById("other_tenant", "default_database", (*rows)[0].id);
  EXPECT_EQ(by_id.status().code(), StatusCode::kNotFound);
}

TEST_F(CatalogServiceTest, NothingChangesWhenStorageFails) {
  storage_.SetUnavailable(true);
  EXPECT_EQ(catalog_.CreateTenant("acme").code(), StatusCode::kUnavailable);
  EXPECT_EQ(Create("alpha").status().code(), StatusCode::kUnavailable);
  storage_.SetUnavailable(false);
  EXPECT_EQ(catalog_.GetTenant("acme").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(*catalog_.CountCollections("default_tenant", "default_database"), 0);
  EXPECT_TRUE(catalog_.CreateTenant("acme").ok());  // not left half-created
}

TEST_F(CatalogServiceTest, ResetRemovesEverythingButTheDefaults) {
  ASSERT_TRUE(catalog_.CreateTenant("acme").ok());
  ASSERT_TRUE(Create("alpha").ok());
  ASSERT_TRUE(catalog_.Reset().ok());
  EXPECT_FALSE(catalog_.GetTenant("acme").ok());
  EXPECT_TRUE(catalog_.GetDatabase("default_tenant", "default_database").ok());
  EXPECT_EQ(*catalog_.CountCollections("default_tenant", "default_database"), 0);
}

}  // namespace
}  // namespace chromahouse
