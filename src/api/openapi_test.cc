// The OpenAPI document (api/openapi.json) against the route table: valid JSON, OpenAPI 3.0.3,
// every route documented and every documented operation served, every $ref resolvable.
#include "api/openapi.h"

#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <cctype>
#include <set>

#include "api/api.h"
#include "api/test_support.h"

namespace chromahouse {
namespace {

using MethodAndPath = std::pair<std::string, std::string>;

constexpr std::string_view kHttpMethods[] = {"get",     "put",  "post",  "delete",
                                             "options", "head", "patch", "trace"};

bool IsOperation(std::string_view key) {
  return std::find(std::begin(kHttpMethods), std::end(kHttpMethods), key) != std::end(kHttpMethods);
}

// The element as an object (a test failure when it is none), held by value: iterating over a
// member of a temporary simdjson_result would dangle.
simdjson::dom::object AsObject(simdjson::dom::element el) {
  simdjson::dom::object obj;
  EXPECT_EQ(el.get_object().get(obj), simdjson::SUCCESS);
  return obj;
}

class OpenApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    api_ = services_.MakeApi(options_);
    text_ = simdjson::padded_string(OpenApiDocument());
    ASSERT_EQ(parser_.parse(text_).get(doc_), simdjson::SUCCESS) << "not valid JSON";
    ASSERT_EQ(doc_["paths"].get(paths_), simdjson::SUCCESS) << "no paths";
  }

  HttpResponse Get(std::string path) {
    HttpRequest req;
    req.method = "GET";
    req.path = std::move(path);
    return api_->Handle(req);
  }

  // Follows a local reference ("#/components/…"); false when it leads nowhere.
  bool Resolve(std::string_view ref, simdjson::dom::element* out) const {
    if (!ref.starts_with("#/")) return false;
    return doc_.at_pointer(ref.substr(1)).get(*out) == simdjson::SUCCESS;
  }

  // An object that may be a {"$ref": …}, resolved (one level is all the document uses).
  simdjson::dom::object Deref(simdjson::dom::element el) const {
    std::string_view ref;
    if (el.at_key("$ref").get_string().get(ref) == simdjson::SUCCESS) {
      simdjson::dom::element target;
      EXPECT_TRUE(Resolve(ref, &target)) << ref;
      el = target;
    }
    simdjson::dom::object obj;
    EXPECT_EQ(el.get_object().get(obj), simdjson::SUCCESS);
    return obj;
  }

  // Every {"$ref": …} under `el`, with the JSON pointer of the object holding it.
  void CollectRefs(simdjson::dom::element el, const std::string& where,
                   std::vector<std::pair<std::string, std::string>>* refs) const {
    if (el.is_object()) {
      for (auto field : AsObject(el)) {
        std::string path = where + "/" + std::string(field.key);
        if (field.key == "$ref") {
          std::string_view ref;
          EXPECT_EQ(field.value.get_string().get(ref), simdjson::SUCCESS) << path;
          refs->emplace_back(where, std::string(ref));
        } else {
          CollectRefs(field.value, path, refs);
        }
      }
    } else if (el.is_array()) {
      simdjson::dom::array items = el.get_array().value_unsafe();
      size_t i = 0;
      for (auto item : items) CollectRefs(item, where + "/" + std::to_string(i++), refs);
    }
  }

  // (METHOD, path) of every operation of the document.
  std::set<MethodAndPath> DocumentedOperations() const {
    std::set<MethodAndPath> out;
    for (auto path : AsObject(paths_)) {
      for (auto field : AsObject(path.value)) {
        if (!IsOperation(field.key)) continue;  // "parameters", "summary", …
        std::string method(field.key);
        std::transform(method.begin(), method.end(), method.begin(), ::toupper);
        out.emplace(method, std::string(path.key));
      }
    }
    return out;
  }

  ApiOptions options_;
  testing::InMemoryServices services_;
  std::unique_ptr<Api> api_;
  simdjson::padded_string text_;
  simdjson::dom::parser parser_;
  simdjson::dom::element doc_;
  simdjson::dom::element paths_;
};

TEST_F(OpenApiTest, IsOpenApi303DescribingChromahouse) {
  std::string_view version, title, info_version, description;
  ASSERT_EQ(doc_["openapi"].get_string().get(version), simdjson::SUCCESS);
  EXPECT_EQ(version, "3.0.3");
  ASSERT_EQ(doc_["info"]["title"].get_string().get(title), simdjson::SUCCESS);
  EXPECT_EQ(title, "chromahouse");
  ASSERT_EQ(doc_["info"]["version"].get_string().get(info_version), simdjson::SUCCESS);
  EXPECT_EQ(info_version, "0.1.0");
  ASSERT_EQ(doc_["info"]["description"].get_string().get(description), simdjson::SUCCESS);
  EXPECT_NE(description.find("v2"), std::string_view::npos);
  EXPECT_NE(description.find("v1"), std::string_view::npos);
  for (const char* scheme : {"bearerAuth", "chromaToken", "basicAuth"}) {
    EXPECT_TRUE(doc_.at_pointer(std::string("/components/securitySchemes/") + scheme).is_object())
        << scheme;
  }
}

TEST_F(OpenApiTest, EveryRouteIsDocumentedAndEveryOperationIsServed) {
  std::set<MethodAndPath> served;
  for (auto& route : api_->Routes()) served.insert(route);
  std::set<MethodAndPath> documented = DocumentedOperations();
  for (const auto& [method, path] : served) {
    EXPECT_TRUE(documented.count({method, path})) << "not documented: " << method << " " << path;
  }
  for (const auto& [method, path] : documented) {
    EXPECT_TRUE(served.count({method, path})) << "not served: " << method << " " << path;
  }
  EXPECT_TRUE(served.count({"GET", "/openapi.json"}));
}

TEST_F(OpenApiTest, EveryRefResolves) {
  std::vector<std::pair<std::string, std::string>> refs;
  CollectRefs(doc_, "", &refs);
  EXPECT_GT(refs.size(), 100u);
  for (const auto& [where, ref] : refs) {
    simdjson::dom::element target;
    EXPECT_TRUE(Resolve(ref, &target)) << ref << " at " << where;
  }
}

TEST_F(OpenApiTest, EveryOperationHasResponsesAndItsPathParameters) {
  for (auto path : AsObject(paths_)) {
    // The {placeholders} of the path…
    std::set<std::string> placeholders;
    std::string_view p = path.key;
    for (size_t open = p.find('{'); open != std::string_view::npos; open = p.find('{', open + 1)) {
      placeholders.emplace(p.substr(open + 1, p.find('}', open) - open - 1));
    }
    // …are exactly its path parameters (declared on the path or on each operation).
    std::set<std::string> path_level;
    simdjson::dom::array params;
    auto collect = [&](simdjson::dom::array list, std::set<std::string>* into) {
      for (auto param : list) {
        simdjson::dom::object obj = Deref(param);
        std::string_view in, name;
        ASSERT_EQ(obj["in"].get_string().get(in), simdjson::SUCCESS);
        ASSERT_EQ(obj["name"].get_string().get(name), simdjson::SUCCESS);
        if (in == "path") into->emplace(name);
      }
    };
    if (path.value["parameters"].get_array().get(params) == simdjson::SUCCESS) {
      collect(params, &path_level);
    }
    for (auto op : AsObject(path.value)) {
      if (!IsOperation(op.key)) continue;
      std::string name = std::string(op.key) + " " + std::string(path.key);
      std::set<std::string> declared = path_level;
      if (op.value["parameters"].get_array().get(params) == simdjson::SUCCESS) {
        collect(params, &declared);
      }
      EXPECT_EQ(declared, placeholders) << name;
      simdjson::dom::object responses;
      ASSERT_EQ(op.value["responses"].get_object().get(responses), simdjson::SUCCESS) << name;
      EXPECT_GT(responses.size(), 0u) << name;
      std::string_view operation_id;
      EXPECT_EQ(op.value["operationId"].get_string().get(operation_id), simdjson::SUCCESS) << name;
    }
  }
}

TEST_F(OpenApiTest, ServedVerbatimAsJson) {
  HttpResponse r = Get("/openapi.json");
  EXPECT_EQ(r.status, 200);
  EXPECT_TRUE(r.json);
  EXPECT_EQ(r.body, OpenApiDocument());
}

TEST_F(OpenApiTest, NeedsNoCredentials) {
  auto auth = Authenticator::Create({.provider = "token", .credentials = "tok-123"});
  ASSERT_TRUE(auth.ok()) << auth.status().message();
  ApiOptions options;
  options.authenticator = auth->get();
  Api api(options, &services_.catalog, &services_.records);
  HttpRequest req;
  req.method = "GET";
  req.path = "/openapi.json";
  EXPECT_EQ(api.Handle(req).status, 200);
  req.path = "/api/v2/auth/identity";
  EXPECT_EQ(api.Handle(req).status, 401);
}

}  // namespace
}  // namespace chromahouse
