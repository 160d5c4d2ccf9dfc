#include "api/api.h"

#include "api/error_mapping.h"

namespace chromahouse {

Api::Api(ApiOptions options, CatalogService* catalog, RecordService* records, Storage* storage)
    : options_(std::move(options)), catalog_(catalog), records_(records), storage_(storage) {
  AddSystemRoutes();
  AddTenantRoutes();
  AddCollectionRoutes();
  AddUnsupportedRoutes();
  AddRecordRoutes();
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

HttpResponse Api::Handle(const HttpRequest& request) const {
  HttpResponse res;
  if (request.path == "/api/v1" || request.path.starts_with("/api/v1/")) {
    // The retired v1 API answers like Chroma 1.x does.
    if (request.method == "POST") {
      res = EmptyErrorResponse(405);
    } else {
      res = JsonResponse(
          R"({"error":"Unimplemented","message":"The v1 API is deprecated. Please use /v2 apis"})",
          410);
      res.headers.emplace_back("chroma-trace-id", std::string(kTraceIdZero));
      res.omit_body = request.method == "HEAD";
    }
  } else if (request.method == "OPTIONS" && !options_.cors_allow_origins.empty()) {
    res = JsonResponse("", 200);
    res.json = false;
    res.headers.emplace_back("access-control-allow-methods",
                             "GET, POST, PUT, PATCH, DELETE, HEAD, OPTIONS");
    std::string_view asked = request.Header("access-control-request-headers");
    res.headers.emplace_back("access-control-allow-headers",
                             asked.empty() ? std::string("*") : std::string(asked));
    res.headers.emplace_back("access-control-max-age", "86400");
  } else {
    res = router_.Dispatch(request);
  }
  ApplyCors(request, &res);
  return res;
}

}  // namespace chromahouse
