// Api: the whole HTTP surface of the server as one object — the route tables of API.md §2 (v2)
// and §7 (v1), authentication and scoping, CORS — on top of the services. Thread-safe: Handle() may
// run on many threads at once.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "api/auth.h"
#include "api/console.h"
#include "api/http_types.h"
#include "api/router.h"
#include "service/catalog_service.h"
#include "service/record_service.h"

namespace chromahouse {

struct ApiOptions {
  bool allow_reset = false;
  int64_t max_batch_size = 5461;
  std::vector<std::string> cors_allow_origins;   // empty = CORS off
  const Authenticator* authenticator = nullptr;  // null = no authentication
  // Request bytes of writes in progress (waiting for or in their group commit); a write that
  // would go beyond answers 429. One write alone is always admitted.
  int64_t max_pending_write_bytes = 512 * 1024 * 1024;
  // The web console at /console/ (api/console.h): served at all, and from which folder
  // (empty = the files embedded at build time).
  bool console = true;
  std::string console_dir;
};

class Api {
 public:
  Api(ApiOptions options, CatalogService* catalog, RecordService* records);

  HttpResponse Handle(const HttpRequest& request) const;
  // Route pattern for logs ("/api/v2/tenants/{tenant}"), or "unmatched".
  std::string RouteName(const HttpRequest& request) const {
    return console_.Handles(request.path) ? "/console" : router_.PatternFor(request);
  }
  std::vector<std::pair<std::string, std::string>> Routes() const { return router_.Routes(); }

 private:
  void AddSystemRoutes();
  void AddTenantRoutes();
  void AddCollectionRoutes();
  void AddUnsupportedRoutes();
  void AddRecordRoutes();
  void AddV1Routes();
  // Authorization of an authenticated caller for the matched route (403 outside its tenant
  // and databases); nullopt = allowed.
  std::optional<HttpResponse> Authorize(const RouteContext& ctx) const;
  // GET /auth/identity: the caller, or the default identity when auth is off.
  std::string IdentityJson(const RouteContext& ctx) const;
  // 413 when a write carries more records than max_batch_size (reported by pre-flight).
  Status CheckBatchSize(size_t records) const;
  // A read's filters against the collection's schema (indexes it disabled refuse them).
  Status CheckSchemaFilters(const std::string& collection_id, const std::optional<Where>& where,
                            const std::optional<Where>& where_document) const;
  // Runs a write (`fn`) inside the pending-write budget; 429 when the budget is spent.
  Status WithinWriteBudget(size_t bytes, const std::function<Status()>& fn) const;
  void ApplyCors(const HttpRequest& request, HttpResponse* response) const;

  ApiOptions options_;
  CatalogService* catalog_;
  RecordService* records_;
  Router router_;
  Console console_;
  mutable std::atomic<int64_t> pending_write_bytes_{0};
};

}  // namespace chromahouse
