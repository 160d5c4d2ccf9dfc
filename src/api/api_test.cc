// The HTTP surface over the in-memory storage: transport rules of API.md §1 and the catalog
// routes' statuses and bodies.
#include "api/api.h"

#include <gtest/gtest.h>

#include <thread>

#include "api/console_files.h"
#include "api/test_support.h"

namespace chromahouse {
namespace {

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override { api_ = services_.MakeApi(options_); }

  HttpResponse Call(std::string method, const std::string& target, std::string body = "",
                    std::vector<std::pair<std::string, std::string>> headers = {}) {
    return api_->Handle(
        testing::MakeRequest(std::move(method), target, std::move(body), std::move(headers)));
  }

  static bool HasHeader(const HttpResponse& r, const std::string& name,
                        std::string* value = nullptr) {
    for (const auto& [k, v] : r.headers) {
      if (k == name) {
        if (value) *value = v;
        return true;
      }
    }
    return false;
  }

  static constexpr const char* kColls =
      "/api/v2/tenants/default_tenant/databases/default_database/collections";

  ApiOptions options_;
  testing::InMemoryServices services_;
  std::unique_ptr<Api> api_;
};

TEST_F(ApiTest, UnknownPathIs404WithEmptyBodyAndTraceId) {
  for (const char* path :
       {"/api/v2/nope", "/api/v2/heartbeat/", "/consoles", "/api/v2//heartbeat"}) {
    HttpResponse r = Call("GET", path);
    EXPECT_EQ(r.status, 404) << path;
    EXPECT_TRUE(r.body.empty());
    EXPECT_FALSE(r.json);
    EXPECT_TRUE(HasHeader(r, "chroma-trace-id"));
  }
}

TEST_F(ApiTest, ConsoleIsServedWithItsTypesCachingAndContentSecurityPolicy) {
  HttpResponse r = Call("GET", "/");
  EXPECT_EQ(r.status, 302);
  std::string value;
  ASSERT_TRUE(HasHeader(r, "location", &value));
  EXPECT_EQ(value, "/console/");
  EXPECT_EQ(Call("GET", "/console").status, 302);

  r = Call("GET", "/console/");
  ASSERT_EQ(r.status, 200);
  EXPECT_FALSE(r.json);
  ASSERT_TRUE(HasHeader(r, "content-type", &value));
  EXPECT_EQ(value, "text/html; charset=utf-8");
  EXPECT_NE(r.body.find("<html"), std::string::npos);
  ASSERT_TRUE(HasHeader(r, "content-security-policy", &value));
  EXPECT_EQ(value, Console::kContentSecurityPolicy);
  EXPECT_NE(value.find("script-src 'self'"), std::string::npos);
  ASSERT_TRUE(HasHeader(r, "cache-control", &value));
  EXPECT_EQ(value, "no-cache");
  std::string etag;
  ASSERT_TRUE(HasHeader(r, "etag", &etag));
  EXPECT_EQ(Call("GET", "/console/index.html").body, r.body);
  HttpResponse again = Call("GET", "/console/", "", {{"if-none-match", etag}});
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());

  // Every embedded file, with the type its extension says.
  for (const EmbeddedFile& f : ConsoleFiles()) {
    HttpResponse file = Call("GET", "/console/" + std::string(f.path));
    EXPECT_EQ(file.status, 200) << f.path;
    EXPECT_EQ(file.body, f.data) << f.path;
    ASSERT_TRUE(HasHeader(file, "content-type", &value)) << f.path;
    if (f.path.ends_with(".js")) {
      EXPECT_EQ(value, "text/javascript; charset=utf-8");
    } else if (f.path.ends_with(".css")) {
      EXPECT_EQ(value, "text/css; charset=utf-8");
    }
  }
  EXPECT_EQ(Call("GET", "/console/nope.js").status, 404);
  EXPECT_EQ(Call("GET", "/console/../README.md").status, 404);
  EXPECT_EQ(Call("POST", "/console/index.html").status, 405);
  HttpResponse head = Call("HEAD", "/console/");
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.omit_body);
}

TEST_F(ApiTest, ConsoleCanBeTurnedOff) {
  options_.console = false;
  api_ = services_.MakeApi(options_);
  EXPECT_EQ(Call("GET", "/").status, 404);
  EXPECT_EQ(Call("GET", "/console/").status, 404);
}

TEST_F(ApiTest, WrongMethodIs405WithAllowHeader) {
  HttpResponse r = Call("POST", "/api/v2/heartbeat");
  EXPECT_EQ(r.status, 405);
  std::string allow;
  ASSERT_TRUE(HasHeader(r, "allow", &allow));
  EXPECT_EQ(allow, "GET,HEAD");
}

TEST_F(ApiTest, HeadRunsGetWithoutBodyAndSuccessHasNoTraceId) {
  HttpResponse r = Call("HEAD", "/api/v2/heartbeat");
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.omit_body);
  EXPECT_FALSE(r.body.empty());  // kept for Content-Length
  EXPECT_FALSE(HasHeader(r, "chroma-trace-id"));
}

TEST_F(ApiTest, SystemRoutesHaveChromasShapes) {
  EXPECT_EQ(Call("GET", "/api/v2/version").body, "\"1.0.0\"");
  EXPECT_EQ(Call("GET", "/api/v2/pre-flight-checks").body,
            R"({"max_batch_size":5461,"supports_base64_encoding":true})");
  EXPECT_EQ(Call("GET", "/api/v2/auth/identity").body,
            R"({"user_id":"","tenant":"default_tenant","databases":["default_database"]})");
  EXPECT_NE(Call("GET", "/api/v2").body.find("\"nanosecond heartbeat\":"), std::string::npos);
  HttpResponse reset = Call("POST", "/api/v2/reset");
  EXPECT_EQ(reset.status, 403);
  EXPECT_EQ(reset.body, R"({"error":"ChromaError","message":"Reset is disabled by config"})");
}

TEST_F(ApiTest, HealthcheckIs503WhileStorageIsUnavailable) {
  EXPECT_EQ(Call("GET", "/api/v2/healthcheck").status, 200);
  services_.storage.SetUnavailable(true);
  HttpResponse r = Call("GET", "/api/v2/healthcheck");
  EXPECT_EQ(r.status, 503);
  EXPECT_EQ(r.body, R"({"is_executor_ready":false,"is_log_client_ready":false})");
  HttpResponse write = Call("POST", "/api/v2/tenants", R"({"name":"acme"})");
  EXPECT_EQ(write.status, 503);
  EXPECT_NE(write.body.find("\"error\":\"ChromaError\""), std::string::npos);
  services_.storage.SetUnavailable(false);
  EXPECT_EQ(Call("GET", "/api/v2/healthcheck").status, 200);
}

TEST_F(ApiTest, ContentTypeRules) {
  auto with_type = [&](const char* type) {
    return Call("POST", "/api/v2/tenants", R"({"name":"t_ct"})", {{"content-type", type}}).status;
  };
  EXPECT_EQ(with_type("text/plain"), 415);
  EXPECT_EQ(with_type(""), 415);
  EXPECT_EQ(with_type("application/x-json"), 415);
  EXPECT_EQ(with_type("application/json; charset=utf-8"), 200);
  EXPECT_EQ(with_type("application/vnd.api+json"), 409);  // accepted, then a duplicate
  EXPECT_EQ(Call("POST", "/api/v2/tenants", R"({"name":"t_ct2"})").status, 200);  // no header
  HttpResponse r = Call("POST", "/api/v2/tenants", "x", {{"content-type", "text/plain"}});
  EXPECT_EQ(
      r.body,
      R"({"error":"ChromaError","message":"Expected request with `Content-Type: application/json`"})");
}

TEST_F(ApiTest, MalformedJsonIs400AndWrongShapeIs422) {
  HttpResponse bad = Call("POST", "/api/v2/tenants", "{\"name\": \"x\"");
  EXPECT_EQ(bad.status, 400);
  EXPECT_NE(bad.body.find("\"error\":\"InvalidArgumentError\""), std::string::npos);
  EXPECT_NE(bad.body.find("Failed to parse the request body as JSON: "), std::string::npos);
  EXPECT_EQ(Call("POST", "/api/v2/tenants", "").status, 400);
  HttpResponse shape = Call("POST", "/api/v2/tenants", R"({"name":5})");
  EXPECT_EQ(shape.status, 422);
  EXPECT_NE(shape.body.find(
                "Failed to deserialize the JSON body into the target type: name: invalid type: "
                "integer `5`, expected a string"),
            std::string::npos)
      << shape.body;
  EXPECT_EQ(Call("POST", "/api/v2/tenants", R"({})").status, 422);
  EXPECT_EQ(Call("POST", "/api/v2/tenants", R"([])").status, 422);
  EXPECT_EQ(Call("POST", "/api/v2/tenants", R"({"name":"a","name":"b"})").status, 422);
}

TEST_F(ApiTest, CollectionLifecycleOverHttp) {
  HttpResponse created = Call("POST", kColls, R"({"name":"docs","metadata":{"f":2.0,"i":3}})");
  ASSERT_EQ(created.status, 200) << created.body;
  EXPECT_NE(created.body.find(R"("metadata":{"f":2.0,"i":3})"), std::string::npos);
  EXPECT_NE(
      created.body.find(
          R"("configuration_json":{"hnsw":{"space":"l2","ef_construction":100,"ef_search":100,"max_neighbors":16,"resize_factor":1.2,"sync_threshold":1000},"spann":null,"embedding_function":null})"),
      std::string::npos)
      << created.body;
  std::string id = created.body.substr(7, 36);
  EXPECT_EQ(Call("POST", kColls, R"({"name":"docs"})").status, 409);
  EXPECT_EQ(Call("GET", std::string(kColls) + "/docs").status, 200);
  EXPECT_EQ(Call("GET", std::string(kColls) + "/by-id/" + id).status, 200);
  EXPECT_EQ(Call("GET", std::string(kColls) + "/by-id/nope").status, 400);
  EXPECT_EQ(
      Call("GET", "/api/v2/tenants/default_tenant/databases/default_database/collections_count")
          .body,
      "1");
  EXPECT_EQ(Call("PUT", std::string(kColls) + "/" + id, R"({"new_name":"docs2"})").status, 200);
  EXPECT_EQ(Call("PUT", std::string(kColls) + "/not-a-uuid", R"({})").status, 400);
  HttpResponse missing = Call("GET", std::string(kColls) + "/docs");
  EXPECT_EQ(missing.status, 404);
  EXPECT_EQ(missing.body,
            R"({"error":"NotFoundError","message":"Collection [docs] does not exist"})");
  EXPECT_EQ(Call("DELETE", std::string(kColls) + "/docs2").status, 200);
  EXPECT_EQ(Call("GET", std::string(kColls)).body, "[]");
}

TEST_F(ApiTest, QueryStringErrorsAre400) {
  std::string base = "/api/v2/tenants/default_tenant/databases";
  EXPECT_EQ(Call("GET", base + "?limit=1").status, 200);
  for (const char* q : {"?limit=abc", "?limit=-1", "?offset=1.5", "?limit=", "?limit=99999999999",
                        "?limit=1&limit=2"}) {
    HttpResponse r = Call("GET", base + q);
    EXPECT_EQ(r.status, 400) << q;
    EXPECT_NE(r.body.find("Failed to deserialize query string: "), std::string::npos) << q;
  }
}

TEST_F(ApiTest, CloudOnlyRoutesAnswerLikeTheLocalServer) {
  HttpResponse created = Call("POST", kColls, R"({"name":"docs"})");
  std::string id = created.body.substr(7, 36);
  std::string coll = std::string(kColls) + "/" + id;
  EXPECT_EQ(Call("GET", coll + "/functions/f").status, 404);
}

TEST_F(ApiTest, ForkCopiesTheCollectionAndCountsItsLineage) {
  HttpResponse created = Call("POST", kColls, R"({"name":"docs","metadata":{"topic":"cats"}})");
  std::string source = std::string(kColls) + "/" + created.body.substr(7, 36);
  EXPECT_EQ(Call("GET", source + "/fork_count").body, R"({"count":0})");
  ASSERT_EQ(Call("POST", source + "/add",
                 R"({"ids":["a","b"],"embeddings":[[1,0],[0,1]],"documents":["A","B"]})")
                .status,
            201);

  HttpResponse forked = Call("POST", source + "/fork", R"({"new_name":"docs-fork"})");
  ASSERT_EQ(forked.status, 200) << forked.body;
  EXPECT_NE(forked.body.find(R"("name":"docs-fork")"), std::string::npos) << forked.body;
  EXPECT_NE(forked.body.find(R"("metadata":{"topic":"cats"})"), std::string::npos);
  EXPECT_NE(forked.body.find(R"("dimension":2)"), std::string::npos);
  const std::string fork_id = forked.body.substr(7, 36);
  ASSERT_NE(fork_id, created.body.substr(7, 36));
  std::string fork = std::string(kColls) + "/" + fork_id;
  EXPECT_EQ(Call("GET", fork + "/count").body, "2");
  EXPECT_EQ(Call("GET", std::string(kColls) + "/docs-fork").status, 200);

  // Writes to one side never show in the other.
  ASSERT_EQ(Call("POST", fork + "/add", R"({"ids":["c"],"embeddings":[[1,1]]})").status, 201);
  ASSERT_EQ(Call("POST", source + "/delete", R"({"ids":["a"]})").status, 200);
  EXPECT_EQ(Call("GET", source + "/count").body, "1");
  EXPECT_EQ(Call("GET", fork + "/count").body, "3");
  EXPECT_NE(Call("POST", fork + "/get", R"({"ids":["a"]})").body.find(R"("documents":["A"])"),
            std::string::npos);

  // Counted per lineage: the source, its fork and the fork's fork all answer 2.
  ASSERT_EQ(Call("POST", fork + "/fork", R"({"new_name":"docs-fork-2"})").status, 200);
  EXPECT_EQ(Call("GET", source + "/fork_count").body, R"({"count":2})");
  EXPECT_EQ(Call("GET", fork + "/fork_count").body, R"({"count":2})");
  HttpResponse other = Call("POST", kColls, R"({"name":"other"})");
  EXPECT_EQ(Call("GET", std::string(kColls) + "/" + other.body.substr(7, 36) + "/fork_count").body,
            R"({"count":0})");

  // Name clashes and name rules as for create; the body needs new_name.
  HttpResponse clash = Call("POST", source + "/fork", R"({"new_name":"other"})");
  EXPECT_EQ(clash.status, 409);
  EXPECT_NE(clash.body.find("Collection [other] already exists"), std::string::npos) << clash.body;
  EXPECT_EQ(Call("POST", source + "/fork", R"({"new_name":"x"})").status, 400);
  EXPECT_EQ(Call("POST", source + "/fork", R"({})").status, 422);
  EXPECT_EQ(
      Call("GET", std::string(kColls) + "/00000000-0000-0000-0000-000000000001/fork_count").status,
      404);
  EXPECT_EQ(
      Call("POST", std::string(kColls) + "/00000000-0000-0000-0000-000000000001/fork",
           R"({"new_name":"x"})")
          .body,
      R"({"error":"NotFoundError","message":"Collection [00000000-0000-0000-0000-000000000001] does not exist"})");
  EXPECT_EQ(Call("POST",
                 "/api/v2/tenants/default_tenant/databases/db/collections/" +
                     created.body.substr(7, 36) + "/fork",
                 R"({"new_name":"x"})")
                .status,
            400);
  // A collection of another database is not found there.
  ASSERT_EQ(Call("POST", "/api/v2/tenants/default_tenant/databases", R"({"name":"second"})").status,
            200);
  EXPECT_EQ(Call("POST",
                 "/api/v2/tenants/default_tenant/databases/second/collections/" +
                     created.body.substr(7, 36) + "/fork",
                 R"({"new_name":"elsewhere"})")
                .status,
            404);
}

TEST_F(ApiTest, IndexingStatusCountsRecords) {
  HttpResponse created = Call("POST", kColls, R"({"name":"indexed"})");
  std::string coll = std::string(kColls) + "/" + created.body.substr(7, 36);
  EXPECT_EQ(
      Call("GET", coll + "/indexing_status").body,
      R"({"op_indexing_progress":1.0,"num_unindexed_ops":0,"num_indexed_ops":0,"total_ops":0})");
  ASSERT_EQ(Call("POST", coll + "/add", R"({"ids":["a","b"],"embeddings":[[1,2],[3,4]]})").status,
            201);
  // Two records: too few for a graph, so searched exactly and reported as indexed.
  EXPECT_EQ(
      Call("GET", coll + "/indexing_status").body,
      R"({"op_indexing_progress":1.0,"num_unindexed_ops":0,"num_indexed_ops":2,"total_ops":2})");
}

// Chroma 1.5.9 answers a v2 query whose `ids` name a missing record with a 500 InternalError.
TEST_F(ApiTest, QueryByAnUnknownIdIsAnInternalErrorAsInChroma) {
  HttpResponse created = Call("POST", kColls, R"({"name":"query_ids"})");
  std::string coll = std::string(kColls) + "/" + created.body.substr(7, 36);
  ASSERT_EQ(Call("POST", coll + "/add", R"({"ids":["a","b"],"embeddings":[[1,2],[3,4]]})").status,
            201);
  HttpResponse r = Call("POST", coll + "/query",
                        R"({"query_embeddings":[[1,2]],"ids":["a","gone"],"n_results":1})");
  EXPECT_EQ(r.status, 500);
  EXPECT_EQ(
      r.body,
      R"({"error":"InternalError","message":"Error executing plan: Internal error: Error finding id"})");
  r = Call("POST", coll + "/query",
           R"({"query_embeddings":[[1,2]],"ids":["a"],"n_results":1,"include":[]})");
  EXPECT_EQ(r.status, 200);
}

// Chroma 1.x returns a Schema on every collection (compared with Chroma 1.5.9's answers); a
// schema given on create drives the vector index and the embedding function.
TEST_F(ApiTest, CollectionsCarryChromasSchemaAndAGivenSchemaDrivesTheIndex) {
  HttpResponse plain = Call("POST", kColls, R"({"name":"plain_schema"})");
  ASSERT_EQ(plain.status, 200);
  const std::string threads = std::to_string(std::max(1u, std::thread::hardware_concurrency()));
  const std::string hnsw =
      R"("hnsw":{"ef_construction":100,"max_neighbors":16,"ef_search":100,"num_threads":)" +
      threads + R"(,"batch_size":100,"sync_threshold":1000,"resize_factor":1.2})";
  EXPECT_NE(
      plain.body.find(
          R"("schema":{"defaults":{"string":{"fts_index":{"enabled":false,"config":{}},"string_inverted_index":{"enabled":true,"config":{}}},"float_list":{"vector_index":{"enabled":false,"config":{"space":"l2",)" +
          hnsw +
          R"(}}},"sparse_vector":{"sparse_vector_index":{"enabled":false,"config":{"embedding_function":{"type":"unknown"},"bm25":false}}},"int":{"int_inverted_index":{"enabled":true,"config":{}}},"float":{"float_inverted_index":{"enabled":true,"config":{}}},"bool":{"bool_inverted_index":{"enabled":true,"config":{}}}},"keys":{"#embedding":{"float_list":{"vector_index":{"enabled":true,"config":{"space":"l2","source_key":"#document",)" +
          hnsw +
          R"(}}}},"#document":{"string":{"fts_index":{"enabled":true,"config":{}},"string_inverted_index":{"enabled":false,"config":{}}}}}})"),
      std::string::npos)
      << plain.body;

  // Only a schema: its space and embedding function become the collection's.
  HttpResponse created = Call(
      "POST", kColls,
      R"({"name":"cosine_by_schema","schema":{"defaults":{},"keys":{"#embedding":{"float_list":{"vector_index":{"enabled":true,"config":{"space":"cosine","embedding_function":{"type":"legacy"},"source_key":"#document"}}}},"tags":{"string":{"string_inverted_index":{"enabled":false,"config":{}}}}}}})");
  ASSERT_EQ(created.status, 200) << created.body;
  EXPECT_NE(created.body.find(R"("configuration_json":{"hnsw":{"space":"cosine")"),
            std::string::npos);
  EXPECT_NE(created.body.find(R"("embedding_function":{"type":"legacy"}},"schema")"),
            std::string::npos)
      << created.body;
  // A key the client configured is kept.
  EXPECT_NE(created.body.find(
                R"("tags":{"string":{"string_inverted_index":{"enabled":false,"config":{}}}})"),
            std::string::npos);
  std::string coll = std::string(kColls) + "/" + created.body.substr(7, 36);
  ASSERT_EQ(Call("POST", coll + "/add", R"({"ids":["a","b"],"embeddings":[[2,0],[0,3]]})").status,
            201);
  HttpResponse q = Call("POST", coll + "/query",
                        R"({"query_embeddings":[[1,0]],"n_results":2,"include":["distances"]})");
  EXPECT_NE(q.body.find(R"("distances":[[0.0,1.0]])"), std::string::npos) << q.body;
}

// How a given schema is kept, as Chroma 1.5.9 keeps it (its answers to the same requests): the
// schema's own defaults.float_list is independent of #embedding (which is the collection's
// index), what it leaves out gets Chroma's defaults, unknown names are dropped, a schema that asks
// for nothing is the default, and modify writes HNSW parameters into both vector indexes.
TEST_F(ApiTest, AGivenSchemaIsKeptAsChromaKeepsItAndModifyPatchesIt) {
  auto field = [](const std::string& body, const std::string& after, const std::string& what) {
    size_t at = body.find(after);
    return at == std::string::npos ? std::string("<no ") + after + ">"
                                   : body.substr(at + after.size(), what.size());
  };
  HttpResponse created = Call(
      "POST", kColls,
      R"({"name":"own_defaults","schema":{"defaults":{"float_list":{"vector_index":{"enabled":false,"config":{"space":"ip","hnsw":{"ef_construction":50,"ef_search":33}}}},"string":{"fts_index":{"enabled":false,"config":{}},"bogus_index":{"enabled":true,"config":{}}}},"keys":{"#embedding":{"float_list":{"vector_index":{"enabled":false,"config":{}}}},"#document":{"string":{"fts_index":{"enabled":false,"config":{}}}}}}})");
  ASSERT_EQ(created.status, 200) << created.body;
  const std::string& b = created.body;
  EXPECT_NE(
      b.find(
          R"("configuration_json":{"hnsw":{"space":"l2","ef_construction":100,"ef_search":100,)"),
      std::string::npos)
      << b;
  EXPECT_NE(
      b.find(
          R"("float_list":{"vector_index":{"enabled":false,"config":{"space":"ip","hnsw":{"ef_construction":50,"max_neighbors":16,"ef_search":33,)"),
      std::string::npos)
      << b;
  EXPECT_NE(
      b.find(
          R"("#embedding":{"float_list":{"vector_index":{"enabled":false,"config":{"space":"l2","source_key":"#document",)"),
      std::string::npos)
      << b;
  // Filled up (#document's inverted index, defaults.string's) and unknown names dropped.
  EXPECT_NE(
      b.find(
          R"("#document":{"string":{"fts_index":{"enabled":false,"config":{}},"string_inverted_index":{"enabled":false,"config":{}}}})"),
      std::string::npos)
      << b;
  EXPECT_NE(
      b.find(
          R"("string":{"fts_index":{"enabled":false,"config":{}},"string_inverted_index":{"enabled":true,"config":{}}})"),
      std::string::npos)
      << b;
  EXPECT_EQ(b.find("bogus_index"), std::string::npos) << b;

  // Modify: into the configuration, #embedding and the schema's own defaults (which keep ip/33).
  std::string coll = std::string(kColls) + "/" + b.substr(7, 36);
  ASSERT_EQ(Call("PUT", coll, R"({"new_configuration":{"hnsw":{"max_neighbors":20}}})").status,
            200);
  HttpResponse got = Call("GET", std::string(kColls) + "/own_defaults");
  EXPECT_EQ(
      field(
          got.body,
          R"("configuration_json":{"hnsw":{"space":"l2","ef_construction":100,"ef_search":100,"max_neighbors":)",
          "20"),
      "20")
      << got.body;
  EXPECT_NE(
      got.body.find(
          R"("vector_index":{"enabled":false,"config":{"space":"ip","hnsw":{"ef_construction":50,"max_neighbors":20,"ef_search":33,)"),
      std::string::npos)
      << got.body;
  EXPECT_NE(got.body.find(
                R"("source_key":"#document","hnsw":{"ef_construction":100,"max_neighbors":20,)"),
            std::string::npos)
      << got.body;

  // The known default embedding function alone asks for nothing: the default schema, no
  // embedding function. Next to another change it is kept.
  HttpResponse alone = Call(
      "POST", kColls,
      R"({"name":"ef_alone","schema":{"defaults":{},"keys":{"#embedding":{"float_list":{"vector_index":{"enabled":true,"config":{"embedding_function":{"type":"known","name":"default","config":{}}}}}}}}})");
  ASSERT_EQ(alone.status, 200) << alone.body;
  EXPECT_NE(alone.body.find(R"("spann":null,"embedding_function":null})"), std::string::npos)
      << alone.body;
  HttpResponse with = Call(
      "POST", kColls,
      R"({"name":"ef_cosine","schema":{"defaults":{},"keys":{"#embedding":{"float_list":{"vector_index":{"enabled":true,"config":{"space":"cosine","embedding_function":{"type":"known","name":"default","config":{}}}}}}}}})");
  ASSERT_EQ(with.status, 200) << with.body;
  EXPECT_NE(with.body.find(
                R"("embedding_function":{"type":"known","name":"default","config":{}}},"schema")"),
            std::string::npos)
      << with.body;
  // A default-valued configuration next to a schema: the schema decides.
  HttpResponse both = Call(
      "POST", kColls,
      R"({"name":"schema_wins","configuration":{"hnsw":{}},"schema":{"defaults":{},"keys":{"#embedding":{"float_list":{"vector_index":{"enabled":true,"config":{"space":"cosine"}}}}}}})");
  ASSERT_EQ(both.status, 200) << both.body;
  EXPECT_NE(both.body.find(R"("configuration_json":{"hnsw":{"space":"cosine")"), std::string::npos)
      << both.body;
}

// A schema that disables an inverted index or full-text search makes filters on it fail, with
// Chroma 1.5.9's messages; other keys and types filter as usual.
TEST_F(ApiTest, IndexesASchemaDisablesRefuseTheirFilters) {
  HttpResponse created = Call(
      "POST", kColls,
      R"({"name":"switches","schema":{"defaults":{"int":{"int_inverted_index":{"enabled":false,"config":{}}}},"keys":{"tags":{"string":{"string_inverted_index":{"enabled":false,"config":{}}}},"m":{"int":{"int_inverted_index":{"enabled":true,"config":{}}}},"#document":{"string":{"fts_index":{"enabled":false,"config":{}}}}}}})");
  ASSERT_EQ(created.status, 200) << created.body;
  std::string coll = std::string(kColls) + "/" + created.body.substr(7, 36);
  ASSERT_EQ(
      Call(
          "POST", coll + "/add",
          R"({"ids":["a"],"embeddings":[[1,0]],"metadatas":[{"tags":"x","n":1,"m":2,"s":"y"}],"documents":["hello"]})")
          .status,
      201);
  struct Case {
    const char* route;
    const char* body;
    const char* message;  // nullptr: accepted
  } cases[] = {
      {"/get", R"({"where":{"tags":"x"}})",
       "Cannot filter using metadata key 'tags' with type 'Str' because indexing is disabled"},
      {"/get", R"({"where":{"n":1}})",
       "Cannot filter using metadata key 'n' with type 'Int' because indexing is disabled"},
      {"/get", R"({"where":{"$and":[{"s":"y"},{"tags":{"$in":["x"]}}]}})",
       "Cannot filter using metadata key 'tags' with type 'Str' because indexing is disabled"},
      {"/get", R"({"where_document":{"$contains":"hel"}})",
       "Cannot filter using full-text search because FTS indexing is disabled"},
      {"/query", R"({"query_embeddings":[[1,0]],"where":{"tags":"x"}})",
       "Cannot filter using metadata key 'tags' with type 'Str' because indexing is disabled"},
      {"/delete", R"({"where":{"n":1}})",
       "Cannot filter using metadata key 'n' with type 'Int' because indexing is disabled"},
      {"/get", R"({"where":{"s":"y"}})", nullptr},
      {"/get", R"({"where":{"m":2}})", nullptr},  // the key's own switch beats the default
  };
  for (const auto& c : cases) {
    HttpResponse r = Call("POST", coll + c.route, c.body);
    if (c.message) {
      EXPECT_EQ(r.status, 400) << c.body;
      EXPECT_EQ(r.body,
                std::string(R"({"error":"InvalidArgumentError","message":")") + c.message + "\"}")
          << c.body;
    } else {
      EXPECT_EQ(r.status, 200) << c.body << " " << r.body;
    }
  }
}

TEST_F(ApiTest, CorsWhenConfigured) {
  options_.cors_allow_origins = {"http://app.example"};
  api_ = services_.MakeApi(options_);
  HttpResponse pre =
      Call("OPTIONS", "/api/v2/tenants", "",
           {{"origin", "http://app.example"}, {"access-control-request-method", "POST"}});
  EXPECT_EQ(pre.status, 200);
  std::string origin;
  ASSERT_TRUE(HasHeader(pre, "access-control-allow-origin", &origin));
  EXPECT_EQ(origin, "http://app.example");
  HttpResponse other = Call("GET", "/api/v2/heartbeat", "", {{"origin", "http://evil.example"}});
  EXPECT_FALSE(HasHeader(other, "access-control-allow-origin"));
}

TEST_F(ApiTest, BatchesAboveMaxBatchSizeAre413) {
  options_.max_batch_size = 2;
  api_ = services_.MakeApi(options_);
  HttpResponse created = Call("POST", kColls, R"({"name":"batched"})");
  std::string coll = std::string(kColls) + "/" + created.body.substr(7, 36);
  HttpResponse big =
      Call("POST", coll + "/upsert", R"({"ids":["a","b","c"],"embeddings":[[1],[2],[3]]})");
  EXPECT_EQ(big.status, 413);
  EXPECT_NE(big.body.find("Cannot submit more than 2 embeddings at once (got 3)"),
            std::string::npos)
      << big.body;
  EXPECT_EQ(Call("GET", coll + "/count").body, "0");
  EXPECT_EQ(Call("POST", coll + "/add", R"({"ids":["a","b"],"embeddings":[[1],[2]]})").status, 201);
}

TEST_F(ApiTest, WithoutCorsOptionsIs405) {
  EXPECT_EQ(Call("OPTIONS", "/api/v2/tenants").status, 405);
}

}  // namespace
}  // namespace chromahouse
