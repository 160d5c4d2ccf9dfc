// Authentication providers and tenant/database scoping, through the whole Api over the
// in-memory storage.
#include "api/auth.h"

#include <crypt.h>
#include <gtest/gtest.h>

#include <set>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "api/api.h"
#include "api/test_support.h"

namespace chromahouse {
namespace {

std::string Bcrypt(const std::string& password) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  EXPECT_NE(crypt_gensalt_rn("$2b$", 4, nullptr, 0, salt, sizeof salt), nullptr);
  crypt_data data{};
  return crypt_r(password.c_str(), salt, &data);
}

std::string Base64(const std::string& in) {
  static const char* kChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) out.push_back(kChars[(acc >> (bits -= 6)) & 63]);
  }
  if (bits > 0) out.push_back(kChars[(acc << (6 - bits)) & 63]);
  while (out.size() % 4) out.push_back('=');
  return out;
}

std::string WriteTemp(const std::string& name, const std::string& text) {
  auto path = std::filesystem::temp_directory_path() /
              ("chromahouse-auth-" + std::to_string(::getpid()) + "-" + name);
  std::ofstream(path) << text;
  return path.string();
}

TEST(VerifyBcryptTest, MatchesOnlyTheRightPassword) {
  std::string hash = Bcrypt("s3cret");
  EXPECT_TRUE(VerifyBcrypt("s3cret", hash));
  EXPECT_FALSE(VerifyBcrypt("s3cret ", hash));
  EXPECT_FALSE(VerifyBcrypt("", hash));
  EXPECT_FALSE(VerifyBcrypt("s3cret", "s3cret"));  // not a hash
  // htpasswd -B writes $2y$ hashes: same algorithm.
  std::string y = "$2y$" + hash.substr(4);
  EXPECT_TRUE(VerifyBcrypt("s3cret", y));
}

TEST(AuthenticatorTest, ConfigurationErrorsNameTheSetting) {
  EXPECT_EQ(Authenticator::Create({}).value(), nullptr);
  auto unknown = Authenticator::Create({.provider = "kerberos", .credentials = "x"});
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.status().message().find("auth_provider: unknown provider 'kerberos'"),
            std::string::npos);
  auto none = Authenticator::Create({.provider = "token"});
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.status().message().find("no credentials"), std::string::npos);
  auto plain = Authenticator::Create({.provider = "basic", .credentials = "admin:admin"});
  ASSERT_FALSE(plain.ok());
  EXPECT_NE(plain.status().message().find("user 'admin' needs a bcrypt password hash"),
            std::string::npos);
  EXPECT_EQ(plain.status().message().find("admin:admin"), std::string::npos);
  auto header =
      Authenticator::Create({.provider = "token", .credentials = "t", .token_header = "Cookie"});
  EXPECT_FALSE(header.ok());
  // Chroma's provider class names are accepted.
  auto chroma = Authenticator::Create(
      {.provider = "chromadb.auth.token_authn.TokenAuthenticationServerProvider",
       .credentials = "t"});
  ASSERT_TRUE(chroma.ok());
  EXPECT_EQ((*chroma)->kind(), Authenticator::Kind::kToken);
}

class AuthApiTest : public ::testing::Test {
 protected:
  void Use(AuthOptions auth_options) {
    auto auth = Authenticator::Create(auth_options);
    ASSERT_TRUE(auth.ok()) << auth.status().message();
    auth_ = std::move(auth).value();
    ApiOptions options;
    options.authenticator = auth_.get();
    options.allow_reset = true;
    api_ = services_.MakeApi(options);
  }

  HttpResponse Call(std::string method, const std::string& target, std::string body,
                    std::vector<std::pair<std::string, std::string>> headers) {
    return api_->Handle(
        testing::MakeRequest(std::move(method), target, std::move(body), std::move(headers)));
  }
  HttpResponse Get(const std::string& target,
                   std::vector<std::pair<std::string, std::string>> headers) {
    return Call("GET", target, "", std::move(headers));
  }

  testing::InMemoryServices services_;
  std::unique_ptr<Authenticator> auth_;
  std::unique_ptr<Api> api_;
};

constexpr const char* kColls =
    "/api/v2/tenants/default_tenant/databases/default_database/collections";

TEST_F(AuthApiTest, TokenInEitherHeader) {
  Use({.provider = "token", .credentials = "tok-123"});
  HttpResponse none = Get(kColls, {});
  EXPECT_EQ(none.status, 401);
  EXPECT_NE(none.body.find(R"("error":"AuthError")"), std::string::npos) << none.body;
  bool challenge = false;
  for (const auto& [k, v] : none.headers) challenge |= k == "www-authenticate" && v == "Bearer";
  EXPECT_TRUE(challenge);
  HttpResponse wrong = Get(kColls, {{"authorization", "Bearer tok-124"}});
  EXPECT_EQ(wrong.status, 401);
  EXPECT_EQ(wrong.body.find("tok-12"), std::string::npos) << "a token leaked: " << wrong.body;
  EXPECT_EQ(Get(kColls, {{"authorization", "Bearer tok-123"}}).status, 200);
  EXPECT_EQ(Get(kColls, {{"authorization", "bearer  tok-123"}}).status, 200);
  EXPECT_EQ(Get(kColls, {{"x-chroma-token", "tok-123"}}).status, 200);
  EXPECT_EQ(Get(kColls, {{"authorization", "Basic dG9rLTEyMw=="}}).status, 401);
  // The v1 API is guarded the same way.
  EXPECT_EQ(Get("/api/v1/collections", {}).status, 401);
  EXPECT_EQ(Get("/api/v1/collections", {{"x-chroma-token", "tok-123"}}).status, 200);
  // Open routes.
  for (const char* open : {"/api/v2/heartbeat", "/api/v2", "/api/v2/version",
                           "/api/v2/pre-flight-checks", "/api/v1/heartbeat", "/api/v1"}) {
    EXPECT_EQ(Get(open, {}).status, 200) << open;
  }
  // Unknown paths do not answer 404 to strangers.
  EXPECT_EQ(Get("/api/v2/nope", {}).status, 401);
  EXPECT_EQ(Get("/api/v2/auth/identity", {{"x-chroma-token", "tok-123"}}).body,
            R"({"user_id":"anonymous","tenant":"*","databases":["*"]})");
}

// Every route of the table, called without credentials: only those declared open answer
// without a 401 (the probes, the metrics and the API description); the console's static files
// are public too, and its API calls get a 401 without a browser challenge.
TEST_F(AuthApiTest, OnlyRoutesDeclaredOpenAnswerWithoutCredentials) {
  Use({.provider = "token", .credentials = "tok-123"});
  const std::set<std::string> open = {"GET /api/v2",
                                      "GET /api/v2/heartbeat",
                                      "GET /api/v2/version",
                                      "GET /api/v2/healthcheck",
                                      "GET /api/v2/pre-flight-checks",
                                      "GET /metrics",
                                      "GET /openapi.json",
                                      "GET /api/v1",
                                      "GET /api/v1/heartbeat",
                                      "GET /api/v1/version",
                                      "GET /api/v1/pre-flight-checks"};
  size_t routes = 0;
  for (const auto& [method, pattern] : api_->Routes()) {
    std::string target;
    for (size_t i = 0; i < pattern.size(); ++i) {
      if (pattern[i] != '{') {
        target += pattern[i];
        continue;
      }
      i = pattern.find('}', i);
      target += "x";
    }
    HttpResponse r = Call(method, target, method == "GET" ? "" : "{}", {});
    const bool is_open = open.contains(method + " " + pattern);
    if (is_open) {
      EXPECT_NE(r.status, 401) << method << " " << pattern;
    } else {
      EXPECT_EQ(r.status, 401) << method << " " << pattern;
    }
    ++routes;
  }
  EXPECT_GT(routes, 60u);
  EXPECT_EQ(Get("/console/", {}).status, 200);
  HttpResponse console_call = Get(kColls, {{"x-chromahouse-console", "1"}});
  EXPECT_EQ(console_call.status, 401);
  for (const auto& [k, v] : console_call.headers) EXPECT_NE(k, "www-authenticate");
}

TEST_F(AuthApiTest, TokenHeaderCanBeRestricted) {
  Use({.provider = "token", .credentials = "t1", .token_header = "X_CHROMA_TOKEN"});
  EXPECT_EQ(Get(kColls, {{"x-chroma-token", "t1"}}).status, 200);
  EXPECT_EQ(Get(kColls, {{"authorization", "Bearer t1"}}).status, 401);
}

TEST_F(AuthApiTest, BasicWithHtpasswd) {
  Use({.provider = "basic", .credentials = "admin:" + Bcrypt("pw1") + "\nbob:" + Bcrypt("pw2")});
  EXPECT_EQ(Get(kColls, {}).status, 401);
  EXPECT_EQ(Get(kColls, {{"authorization", "Basic " + Base64("admin:pw1")}}).status, 200);
  EXPECT_EQ(Get(kColls, {{"authorization", "Basic " + Base64("admin:pw1")}}).status, 200);
  EXPECT_EQ(Get(kColls, {{"authorization", "Basic " + Base64("bob:pw2")}}).status, 200);
  EXPECT_EQ(Get(kColls, {{"authorization", "Basic " + Base64("bob:pw1")}}).status, 401);
  EXPECT_EQ(Get(kColls, {{"authorization", "Basic " + Base64("eve:pw1")}}).status, 401);
  EXPECT_EQ(Get(kColls, {{"authorization", "Basic !!!"}}).status, 401);
  EXPECT_EQ(Get(kColls, {{"authorization", "Bearer pw1"}}).status, 401);
  EXPECT_EQ(Get("/api/v2/auth/identity", {{"authorization", "Basic " + Base64("bob:pw2")}}).body,
            R"({"user_id":"bob","tenant":"*","databases":["*"]})");
}

TEST_F(AuthApiTest, UsersFileScopesTenantsAndDatabases) {
  std::string file = WriteTemp("users.yaml", R"(users:
  - id: admin
    tokens: [admin-token]
  - id: alice
    tenant: acme
    databases: [prod]
    tokens: [alice-token, alice-token-2]
)");
  Use({.provider = "token", .credentials_file = file});
  std::filesystem::remove(file);
  auto admin = std::vector<std::pair<std::string, std::string>>{{"x-chroma-token", "admin-token"}};
  auto alice = std::vector<std::pair<std::string, std::string>>{{"x-chroma-token", "alice-token"}};
  ASSERT_EQ(Call("POST", "/api/v2/tenants", R"({"name":"acme"})", admin).status, 200);
  ASSERT_EQ(Call("POST", "/api/v2/tenants/acme/databases", R"({"name":"prod"})", admin).status,
            200);
  ASSERT_EQ(Call("POST", "/api/v2/tenants/acme/databases", R"({"name":"dev"})", admin).status, 200);
  HttpResponse theirs = Call("POST", kColls, R"({"name":"admins"})", admin);
  ASSERT_EQ(theirs.status, 200);
  std::string admin_coll = theirs.body.substr(7, 36);

  const std::string prod = "/api/v2/tenants/acme/databases/prod/collections";
  HttpResponse own = Call("POST", prod, R"({"name":"mine"})", alice);
  ASSERT_EQ(own.status, 200) << own.body;
  std::string own_id = own.body.substr(7, 36);
  EXPECT_EQ(Call("POST", prod + "/" + own_id + "/add", R"({"ids":["a"],"embeddings":[[1]]})", alice)
                .status,
            201);
  EXPECT_EQ(Get(prod, alice).status, 200);
  EXPECT_EQ(Get("/api/v2/auth/identity", alice).body,
            R"({"user_id":"alice","tenant":"acme","databases":["prod"]})");

  // Everything else is 403 with Chroma's AuthError body.
  HttpResponse other = Get(kColls, alice);
  EXPECT_EQ(other.status, 403);
  EXPECT_NE(
      other.body.find(
          R"({"error":"AuthError","message":"Forbidden: user 'alice' may not access tenant 'default_tenant'"})"),
      std::string::npos)
      << other.body;
  EXPECT_EQ(Get("/api/v2/tenants/acme/databases/dev/collections", alice).status, 403);
  EXPECT_EQ(Call("POST", "/api/v2/tenants", R"({"name":"evil"})", alice).status, 403);
  EXPECT_EQ(Call("POST", "/api/v2/tenants/acme/databases", R"({"name":"x"})", alice).status, 403);
  EXPECT_EQ(Call("POST", "/api/v2/reset", "", alice).status, 403);
  // Another tenant's collection by id, even through alice's own path, and through v1.
  EXPECT_EQ(Call("POST", prod + "/" + admin_coll + "/get", "{}", alice).status, 403);
  EXPECT_EQ(Call("POST", "/api/v1/collections/" + admin_coll + "/get", "{}", alice).status, 403);
  EXPECT_EQ(Call("POST", "/api/v1/collections/" + own_id + "/get", "{}", alice).status, 200);
  EXPECT_EQ(Get("/api/v1/collections", alice).status, 403);
  EXPECT_EQ(Get("/api/v1/collections?tenant=acme&database=prod", alice).status, 200);
  // Database listing shows only the caller's databases.
  EXPECT_EQ(Get("/api/v2/tenants/acme/databases", alice).body.find("dev"), std::string::npos);
  EXPECT_NE(Get("/api/v2/tenants/acme/databases", admin).body.find("dev"), std::string::npos);
  // The admin reaches everything.
  EXPECT_EQ(Call("POST", prod + "/" + own_id + "/get", "{}", admin).status, 200);
}

TEST_F(AuthApiTest, UsersFileErrors) {
  std::string dup =
      WriteTemp("dup.yaml", "users:\n  - id: a\n    tokens: [x]\n  - id: b\n    tokens: [x]\n");
  auto r = Authenticator::Create({.provider = "token", .credentials_file = dup});
  std::filesystem::remove(dup);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("user 'b' has a token that another user also has"),
            std::string::npos)
      << r.status().message();
  auto missing = Authenticator::Create({.provider = "token", .credentials_file = "/nonexistent"});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("/nonexistent"), std::string::npos);
}

}  // namespace
}  // namespace chromahouse
