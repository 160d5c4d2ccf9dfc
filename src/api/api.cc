#include "api/api.h"

#include "api/error_mapping.h"
#include "codec/catalog_codec.h"
#include "common/json_writer.h"
#include "common/metrics.h"
#include "common/uuid.h"

namespace chromahouse {

Api::Api(ApiOptions options, CatalogService* catalog, RecordService* records)
    : options_(std::move(options)),
      catalog_(catalog),
      records_(records),
      console_(options_.console, options_.console_dir) {
  AddSystemRoutes();
  AddTenantRoutes();
  AddCollectionRoutes();
  AddUnsupportedRoutes();
  AddRecordRoutes();
  AddV1Routes();
  router_.SetGuard([this](const RouteContext& ctx) { return Authorize(ctx); });
}

Status Api::CheckBatchSize(size_t records) const {
  if (static_cast<int64_t>(records) <= options_.max_batch_size) return Status::Ok();
  return Status(StatusCode::kPayloadTooLarge,
                "Cannot submit more than " + std::to_string(options_.max_batch_size) +
                    " embeddings at once (got " + std::to_string(records) +
                    "). Please submit your embeddings in batches of size " +
                    std::to_string(options_.max_batch_size) + " or less.");
}

Status Api::CheckSchemaFilters(const std::string& collection_id, const std::optional<Where>& where,
                               const std::optional<Where>& where_document) const {
  if (!where && !where_document) return Status::Ok();
  auto c = catalog_->GetCollection(collection_id);
  if (!c.ok()) return Status::Ok();  // the read itself answers 404
  return CheckFiltersAgainstSchema(c->schema_json, where ? &*where : nullptr,
                                   where_document ? &*where_document : nullptr);
}

Status Api::WithinWriteBudget(size_t bytes, const std::function<Status()>& fn) const {
  const int64_t n = static_cast<int64_t>(bytes);
  int64_t before = pending_write_bytes_.fetch_add(n);
  if (before > 0 && before + n > options_.max_pending_write_bytes) {
    pending_write_bytes_.fetch_sub(n);
    Metrics()
        .GetCounter("chromahouse_http_rejected_total",
                    "Requests refused by back-pressure or limits, by reason",
                    {{"reason", "pending_writes"}})
        .Add();
    return Status::ResourceExhausted(
        "Too many writes in progress: " + std::to_string(before) +
        " bytes are waiting for ClickHouse (max_pending_write_bytes is " +
        std::to_string(options_.max_pending_write_bytes) + "); retry later");
  }
  Status s = fn();
  pending_write_bytes_.fetch_sub(n);
  return s;
}

std::string Api::IdentityJson(const RouteContext& ctx) const {
  JsonWriter w;
  w.BeginObject();
  w.Key("user_id");
  w.String(ctx.identity ? ctx.identity->user_id : "");
  w.Key("tenant");
  w.String(ctx.identity ? ctx.identity->tenant : "default_tenant");
  w.Key("databases");
  w.BeginArray();
  if (ctx.identity) {
    for (const auto& d : ctx.identity->databases) w.String(d);
  } else {
    w.String("default_database");
  }
  w.EndArray();
  w.EndObject();
  return w.Take();
}

std::optional<HttpResponse> Api::Authorize(const RouteContext& ctx) const {
  const Identity* id = ctx.identity;
  if (id == nullptr || id->Unrestricted()) return std::nullopt;
  auto deny = [&](const std::string& what) {
    return AuthErrorResponse(
        Status::PermissionDenied("user '" + id->user_id + "' may not access " + what));
  };
  const std::string& path = ctx.request.path;
  const bool v1 = path.starts_with("/api/v1");
  const Access access = ctx.rules.access;
  if (access == Access::kOpen) return std::nullopt;
  if (access == Access::kUnrestricted) return deny(path);

  // A route that names a collection by id: the collection's own tenant and database decide.
  if (ctx.params.count("collection_id")) {
    if (auto uuid = ParseUuid(ctx.Param("collection_id"))) {
      auto c = catalog_->GetCollection(*uuid);
      if (c.ok() && !id->AllowsDatabase(c->tenant, c->database)) {
        return deny("collection " + *uuid);
      }
    }
    if (v1) return std::nullopt;
  }
  // Creating a tenant or a database: the new name must be in scope.
  std::optional<std::string> created;
  if (access == Access::kCreatesTenant || access == Access::kCreatesDatabase) {
    auto name = DecodeNameBody(ctx.request.body);
    if (!name.ok()) return std::nullopt;  // the handler answers 400
    created = *name;
  }

  std::optional<std::string> tenant, database;
  if (v1) {
    std::string_view rest = std::string_view(path).substr(7);
    if (rest.starts_with("/tenants")) {
      tenant = ctx.params.count("tenant") ? ctx.Param("tenant") : created.value_or("");
    } else if (rest.starts_with("/databases")) {
      tenant = ctx.Query("tenant").value_or("default_tenant");
      database = ctx.params.count("database") ? ctx.Param("database") : created.value_or("");
    } else if (rest.starts_with("/collections") || rest.starts_with("/count_collections")) {
      tenant = ctx.Query("tenant").value_or("default_tenant");
      database = ctx.Query("database").value_or("default_database");
    }
  } else {
    if (ctx.params.count("tenant")) {
      tenant = ctx.Param("tenant");
    } else if (created && access == Access::kCreatesTenant) {
      tenant = *created;
    }
    if (ctx.params.count("database")) {
      database = ctx.Param("database");
    } else if (created && access == Access::kCreatesDatabase) {
      database = *created;
    }
  }
  if (tenant && !id->AllowsTenant(*tenant)) return deny("tenant '" + *tenant + "'");
  if (tenant && database && !id->AllowsDatabase(*tenant, *database)) {
    return deny("database '" + *database + "' of tenant '" + *tenant + "'");
  }
  return std::nullopt;
}

void Api::ApplyCors(const HttpRequest& request, HttpResponse* response) const {
  if (options_.cors_allow_origins.empty()) return;
  std::string_view origin = request.Header("origin");
  bool any = false, listed = false;
  for (const auto& o : options_.cors_allow_origins) {
    any = any || o == "*";
    listed = listed || o == origin;
  }
  if (any) {
    response->headers.emplace_back("access-control-allow-origin",
                                   origin.empty() ? "*" : std::string(origin));
  } else if (listed && !origin.empty()) {
    response->headers.emplace_back("access-control-allow-origin", std::string(origin));
  } else {
    return;
  }
  response->headers.emplace_back("vary", "origin");
}

HttpResponse Api::Handle(const HttpRequest& original) const {
  // The v1 API also accepts a trailing slash.
  const HttpRequest* req = &original;
  HttpRequest trimmed;
  if (original.path.size() > 7 && original.path.starts_with("/api/v1/") &&
      original.path.back() == '/') {
    trimmed = original;
    trimmed.path.pop_back();
    req = &trimmed;
  }
  const HttpRequest& request = *req;
  // The console's static files are public: everything they show comes through the API below.
  if (auto page = console_.Serve(request)) {
    ApplyCors(request, &*page);
    return *page;
  }
  HttpResponse res;
  std::optional<Identity> identity;
  const bool preflight = request.method == "OPTIONS" && !options_.cors_allow_origins.empty();
  const std::optional<RouteRules> rules = router_.RulesFor(request);
  const bool open = rules && rules->access == Access::kOpen;
  if (options_.authenticator && !preflight && !open) {
    auto who = options_.authenticator->Authenticate(request);
    if (!who.ok()) {
      res = AuthErrorResponse(who.status());
      // Not to the console (it asks for credentials itself; a challenge would make the browser
      // pop up its own password dialog). The console marks its calls with this header.
      if (!request.HasHeader("x-chromahouse-console")) {
        res.headers.emplace_back("www-authenticate",
                                 options_.authenticator->kind() == Authenticator::Kind::kBasic
                                     ? R"(Basic realm="chromahouse")"
                                     : "Bearer");
      }
      res.omit_body = request.method == "HEAD";
      ApplyCors(request, &res);
      return res;
    }
    identity = std::move(who).value();
  }
  if (preflight) {
    res = JsonResponse("", 200);
    res.json = false;
    res.headers.emplace_back("access-control-allow-methods",
                             "GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS");
    std::string_view asked = request.Header("access-control-request-headers");
    res.headers.emplace_back("access-control-allow-headers",
                             asked.empty() ? std::string("*") : std::string(asked));
    res.headers.emplace_back("access-control-max-age", "86400");
  } else {
    res = router_.Dispatch(request, identity ? &*identity : nullptr);
  }
  ApplyCors(request, &res);
  return res;
}

}  // namespace chromahouse
