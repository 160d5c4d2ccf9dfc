// System routes: heartbeat, version, healthcheck, pre-flight-checks, identity, metrics, the
// OpenAPI document, reset.
#include "api/api.h"
#include "api/api_internal.h"
#include "api/openapi.h"
#include "common/clock.h"
#include "common/json_writer.h"
#include "common/metrics.h"

namespace chromahouse {
namespace {

std::string Heartbeat() {
  JsonWriter w;
  w.BeginObject();
  w.Key("nanosecond heartbeat");
  w.Int(NowNanos());
  w.EndObject();
  return w.Take();
}

}  // namespace

void Api::AddSystemRoutes() {
  auto heartbeat = [](const RouteContext&) -> Result<HttpResponse> {
    return JsonResponse(Heartbeat());
  };
  // Open (no credentials): the probes a load balancer or client makes before anything else, and
  // the metrics and API description.
  constexpr RouteRules kOpen{false, Access::kOpen};
  router_.Add("GET", "/api/v2", kOpen, heartbeat);
  router_.Add("GET", "/api/v2/heartbeat", kOpen, heartbeat);
  router_.Add("GET", "/api/v2/version", kOpen, [](const RouteContext&) -> Result<HttpResponse> {
    return JsonResponse("\"1.0.0\"");
  });
  router_.Add("GET", "/api/v2/healthcheck", kOpen,
              [this](const RouteContext&) -> Result<HttpResponse> {
                bool ready = records_->Ready().ok();
                JsonWriter w;
                w.BeginObject();
                w.Key("is_executor_ready");
                w.Bool(ready);
                w.Key("is_log_client_ready");
                w.Bool(ready);
                w.EndObject();
                return JsonResponse(w.Take(), ready ? 200 : 503);
              });
  router_.Add("GET", "/api/v2/pre-flight-checks", kOpen,
              [this](const RouteContext&) -> Result<HttpResponse> {
                JsonWriter w;
                w.BeginObject();
                w.Key("max_batch_size");
                w.Int(options_.max_batch_size);
                w.Key("supports_base64_encoding");
                w.Bool(true);
                w.EndObject();
                return JsonResponse(w.Take());
              });
  router_.Add("GET", "/api/v2/auth/identity", false,
              [this](const RouteContext& ctx) -> Result<HttpResponse> {
                return JsonResponse(IdentityJson(ctx));
              });
  // Prometheus text exposition of every metric (common/metrics.h).
  router_.Add("GET", "/metrics", kOpen, [](const RouteContext&) -> Result<HttpResponse> {
    HttpResponse res;
    res.body = Metrics().Render();
    res.json = false;
    res.headers.emplace_back("content-type", "text/plain; version=0.0.4; charset=utf-8");
    return res;
  });
  // The OpenAPI description of every route (api/openapi.json), verbatim.
  router_.Add("GET", "/openapi.json", kOpen, [](const RouteContext&) -> Result<HttpResponse> {
    return JsonResponse(std::string(OpenApiDocument()));
  });
  router_.Add("POST", "/api/v2/reset", RouteRules{false, Access::kUnrestricted},
              [this](const RouteContext&) -> Result<HttpResponse> {
                if (!options_.allow_reset)
                  return Status::PermissionDenied("Reset is disabled by config");
                RETURN_IF_ERROR(catalog_->Reset());
                return JsonResponse("true");
              });
}

}  // namespace chromahouse
