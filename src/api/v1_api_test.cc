// The v1 API (API.md §7) over the in-memory storage: routes, v1 body shapes and error names.
#include <gtest/gtest.h>

#include "api/api.h"
#include "api/test_support.h"

namespace chromahouse {
namespace {

class V1ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    options_.max_batch_size = 3;
    api_ = services_.MakeApi(options_);
  }

  HttpResponse Call(std::string method, const std::string& target, std::string body = "") {
    return api_->Handle(testing::MakeRequest(std::move(method), target, std::move(body)));
  }

  // Creates a collection through v1 and returns its id.
  std::string Create(const std::string& name) {
    HttpResponse r = Call("POST", "/api/v1/collections", R"({"name":")" + name + R"("})");
    EXPECT_EQ(r.status, 200) << r.body;
    return r.body.substr(7, 36);
  }

  ApiOptions options_;
  testing::InMemoryServices services_;
  std::unique_ptr<Api> api_;
};

TEST_F(V1ApiTest, SystemRoutesAcceptTrailingSlash) {
  for (const char* path : {"/api/v1", "/api/v1/heartbeat", "/api/v1/heartbeat/"}) {
    HttpResponse r = Call("GET", path);
    EXPECT_EQ(r.status, 200) << path;
    EXPECT_NE(r.body.find("nanosecond heartbeat"), std::string::npos) << path;
  }
  EXPECT_EQ(Call("GET", "/api/v1/pre-flight-checks").body, R"({"max_batch_size":3})");
  EXPECT_EQ(Call("GET", "/api/v1/version").body, "\"0.6.3\"");
  EXPECT_EQ(Call("POST", "/api/v1/reset").status, 400);
}

TEST_F(V1ApiTest, TenantsAndDatabasesUseQueryParameters) {
  EXPECT_EQ(Call("POST", "/api/v1/tenants", R"({"name":"acme"})").body, "null");
  EXPECT_EQ(Call("GET", "/api/v1/tenants/acme").body, R"({"name":"acme"})");
  EXPECT_EQ(Call("POST", "/api/v1/databases?tenant=acme", R"({"name":"prod"})").body, "null");
  HttpResponse db = Call("GET", "/api/v1/databases/prod?tenant=acme");
  EXPECT_EQ(db.status, 200);
  EXPECT_NE(db.body.find(R"("name":"prod","tenant":"acme")"), std::string::npos) << db.body;
  EXPECT_EQ(Call("GET", "/api/v1/databases/prod").status, 404);  // default_tenant has no prod
  HttpResponse c =
      Call("POST", "/api/v1/collections?tenant=acme&database=prod", R"({"name":"docs"})");
  EXPECT_EQ(c.status, 200);
  EXPECT_EQ(Call("GET", "/api/v1/count_collections?tenant=acme&database=prod").body, "1");
  EXPECT_EQ(Call("GET", "/api/v1/count_collections").body, "0");
  EXPECT_EQ(Call("GET", "/api/v1/collections/docs?tenant=acme&database=prod").status, 200);

  // The Python servers' v1 rule for database names is their length only (v2 refuses "test3!").
  EXPECT_EQ(Call("POST", "/api/v1/databases", R"({"name":"test3!"})").body, "null");
  EXPECT_EQ(Call("GET", "/api/v1/databases/test3!").status, 200);
  EXPECT_EQ(Call("POST", "/api/v2/tenants/default_tenant/databases", R"({"name":"test4!"})").status,
            400);
  EXPECT_EQ(
      Call("POST", "/api/v1/databases", R"({"name":"ab"})").body,
      R"({"error":"InvalidArgumentError","message":"Database name must be at least 3 characters long"})");
}

TEST_F(V1ApiTest, AnEmptyEmbeddingIsRefusedNamingItsPosition) {
  std::string coll = "/api/v1/collections/" + Create("empties");
  for (const char* route : {"/add", "/upsert", "/update"}) {
    HttpResponse r = Call("POST", coll + route, R"({"ids":["a","b"],"embeddings":[[1],[]]})");
    EXPECT_EQ(r.status, 400) << route;
    EXPECT_EQ(
        r.body,
        R"({"error":"InvalidArgumentError","message":"Expected each embedding in the embeddings to be a non-empty list, got empty embedding at pos 1"})")
        << route;
  }
  EXPECT_EQ(Call("GET", coll + "/count").body, "0");
}

TEST_F(V1ApiTest, CollectionCarriesTheLegacyConfiguration) {
  HttpResponse r = Call(
      "POST", "/api/v1/collections",
      R"({"name":"cos","configuration":{"hnsw_configuration":{"space":"cosine","M":32,"ef_search":10,"_type":"HNSWConfigurationInternal"},"_type":"CollectionConfigurationInternal"},"get_or_create":false})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(
      r.body.find(
          R"("configuration_json":{"hnsw_configuration":{"space":"cosine","ef_construction":100,"ef_search":10,)"),
      std::string::npos)
      << r.body;
  EXPECT_NE(r.body.find(R"("M":32,)"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find(R"("_type":"CollectionConfigurationInternal")"), std::string::npos);
  // get_or_create returns the existing collection; create of an existing name is 409.
  EXPECT_EQ(Call("POST", "/api/v1/collections", R"({"name":"cos","get_or_create":true})").status,
            200);
  HttpResponse dup = Call("POST", "/api/v1/collections", R"({"name":"cos"})");
  EXPECT_EQ(dup.status, 409);
  EXPECT_NE(dup.body.find(R"("error":"UniqueConstraintError")"), std::string::npos) << dup.body;
  HttpResponse list = Call("GET", "/api/v1/collections?limit=10");
  EXPECT_EQ(list.body.front(), '[');
  EXPECT_NE(list.body.find("hnsw_configuration"), std::string::npos);
}

TEST_F(V1ApiTest, RecordRoutesUseV1Shapes) {
  std::string coll = "/api/v1/collections/" + Create("recs");
  HttpResponse add = Call(
      "POST", coll + "/add",
      R"({"ids":["a","b"],"embeddings":[[1,0],[0,1]],"documents":["x","y"],"metadatas":[{"k":1},{"k":2}]})");
  EXPECT_EQ(add.status, 201);
  EXPECT_EQ(add.body, "true");
  EXPECT_EQ(Call("POST", coll + "/upsert", R"({"ids":["c"],"embeddings":[[1,1]]})").body, "null");
  EXPECT_EQ(Call("POST", coll + "/update", R"({"ids":["a"],"documents":["x2"]})").body, "null");
  EXPECT_EQ(Call("GET", coll + "/count").body, "3");

  // `{}` filters mean "no filter"; results carry "data" and "included".
  HttpResponse got = Call(
      "POST", coll + "/get",
      R"({"ids":null,"where":{},"where_document":{},"sort":null,"limit":null,"offset":null,"include":["documents"]})");
  ASSERT_EQ(got.status, 200) << got.body;
  EXPECT_EQ(
      got.body,
      R"({"ids":["a","b","c"],"embeddings":null,"documents":["x2","y",null],"uris":null,"metadatas":null,"data":null,"included":["documents"]})");
  HttpResponse q = Call(
      "POST", coll + "/query",
      R"({"query_embeddings":[[1,0]],"n_results":1,"where":{},"include":["distances","data"]})");
  ASSERT_EQ(q.status, 200) << q.body;
  EXPECT_EQ(
      q.body,
      R"({"ids":[["a"]],"embeddings":null,"documents":null,"uris":null,"metadatas":null,"distances":[[0.0]],"data":null,"included":["distances"]})");

  // v1 validates $and arity and refuses sort.
  EXPECT_EQ(Call("POST", coll + "/get", R"({"where":{"$and":[{"k":1}]}})").status, 400);
  EXPECT_EQ(Call("POST", coll + "/get", R"({"sort":"k"})").status, 400);

  // Delete needs ids or a filter ({} is none); then answers null.
  EXPECT_EQ(Call("POST", coll + "/delete", R"({})").status, 400);
  EXPECT_EQ(Call("POST", coll + "/delete", R"({"where":{}})").status, 400);
  EXPECT_EQ(Call("GET", coll + "/count").body, "3");
  EXPECT_EQ(Call("POST", coll + "/delete", R"({"where":{"k":2}})").body, "null");
  EXPECT_EQ(Call("GET", coll + "/count").body, "2");
}

TEST_F(V1ApiTest, BatchSizeIsEnforced) {
  std::string coll = "/api/v1/collections/" + Create("batch");
  HttpResponse r =
      Call("POST", coll + "/add", R"({"ids":["a","b","c","d"],"embeddings":[[1],[2],[3],[4]]})");
  EXPECT_EQ(r.status, 413);
  EXPECT_NE(r.body.find(R"("error":"BatchSizeExceededError")"), std::string::npos) << r.body;
  EXPECT_NE(r.body.find("more than 3 embeddings at once (got 4)"), std::string::npos) << r.body;
  EXPECT_EQ(Call("GET", coll + "/count").body, "0");
}

TEST_F(V1ApiTest, ErrorsUseV1Names) {
  HttpResponse missing = Call("GET", "/api/v1/collections/nope");
  EXPECT_EQ(missing.status, 400);
  EXPECT_NE(missing.body.find(R"("error":"InvalidCollection")"), std::string::npos) << missing.body;
  HttpResponse add = Call("POST", "/api/v1/collections/00000000-0000-0000-0000-000000000001/add",
                          R"({"ids":["a"],"embeddings":[[1]]})");
  EXPECT_EQ(add.status, 400);
  EXPECT_NE(add.body.find("InvalidCollection"), std::string::npos) << add.body;
  EXPECT_EQ(Call("GET", "/api/v1/tenants/none").status, 404);
}

TEST_F(V1ApiTest, RenameThroughPut) {
  std::string id = Create("old-name");
  EXPECT_EQ(Call("PUT", "/api/v1/collections/" + id, R"({"new_name":"new-name"})").body, "null");
  EXPECT_EQ(Call("GET", "/api/v1/collections/new-name").status, 200);
  EXPECT_EQ(Call("DELETE", "/api/v1/collections/new-name").body, "null");
  EXPECT_EQ(Call("GET", "/api/v1/collections/new-name").status, 400);
}

}  // namespace
}  // namespace chromahouse
