// Router: matches method + path against the route table and dispatches to a handler.
//
// Each route declares its rules (RouteRules: whether it reads a JSON body, and who may call it),
// which the API's authentication and authorization read instead of inspecting paths.
// Patterns are literal segments and `{name}` captures, e.g.
// "/api/v2/tenants/{tenant}/databases/{database}". Unknown paths answer 404 with an empty body,
// known paths with another method 405 with an `allow` header, HEAD runs GET without a body.
// Routes that take a JSON body check Content-Type first (415). A handler's Status error becomes
// Chroma's error body; an exception escaping a handler becomes a logged 500.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "api/auth.h"
#include "api/http_types.h"
#include "common/status.h"

namespace chromahouse {

// Who may call a route, declared with it (Api::Handle authenticates, Api::Authorize scopes).
enum class Access {
  kScoped,           // an authenticated caller whose scope holds what the route names (its
                     // tenant, database or collection)
  kOpen,             // anyone, without credentials (heartbeat, version, metrics, …)
  kUnrestricted,     // only callers without scope limits (reset)
  kCreatesTenant,    // scoped by the tenant named in the body
  kCreatesDatabase,  // scoped by the database named in the body, in the route's tenant
};

struct RouteRules {
  bool takes_body = false;  // the route reads a JSON body (Content-Type is checked)
  Access access = Access::kScoped;
};

struct RouteContext {
  const HttpRequest& request;
  std::map<std::string, std::string, std::less<>> params;  // path captures, percent-decoded
  const Identity* identity = nullptr;                      // null when auth is off
  RouteRules rules;                                        // the matched route's

  const std::string& Param(std::string_view name) const;
  // Query parameter (percent-decoded), or nullopt.
  std::optional<std::string> Query(std::string_view name) const;
  // How many times the query parameter occurs.
  int QueryCount(std::string_view name) const;
};

using Handler = std::function<Result<HttpResponse>(const RouteContext&)>;
// Runs before every handler (after matching); a response it returns is sent instead.
using Guard = std::function<std::optional<HttpResponse>(const RouteContext&)>;
// Turns a handler's error into a response (default: ErrorResponse, Chroma 1.x's body).
using ErrorRenderer = std::function<HttpResponse(const Status&)>;

class Router {
 public:
  void Add(std::string method, std::string pattern, RouteRules rules, Handler handler,
           ErrorRenderer render_error = nullptr);
  // A scoped route; `takes_body`: it reads a JSON body.
  void Add(std::string method, std::string pattern, bool takes_body, Handler handler,
           ErrorRenderer render_error = nullptr) {
    Add(std::move(method), std::move(pattern), RouteRules{takes_body, Access::kScoped},
        std::move(handler), std::move(render_error));
  }
  // The rules of the route `request` would be dispatched to; for a path known only with other
  // methods, those of the first such route (all routes of a path share their openness);
  // nullopt for an unknown path.
  std::optional<RouteRules> RulesFor(const HttpRequest& request) const;
  HttpResponse Dispatch(const HttpRequest& request, const Identity* identity = nullptr) const;
  void SetGuard(Guard guard) { guard_ = std::move(guard); }
  // (method, pattern) of every route, in registration order.
  std::vector<std::pair<std::string, std::string>> Routes() const;

  // The pattern that matched a path (for access logs and metrics), or "unmatched".
  std::string PatternFor(const HttpRequest& request) const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    RouteRules rules;
    Handler handler;
    ErrorRenderer render_error;
  };
  static bool Match(const Route& route, const std::vector<std::string_view>& path,
                    std::map<std::string, std::string, std::less<>>* params);
  // The route for `request` (HEAD as GET; more literal segments win), or nullptr; `allowed`
  // (optional) collects the methods of routes with the same path.
  const Route* Find(const HttpRequest& request,
                    std::map<std::string, std::string, std::less<>>* params,
                    std::vector<std::string>* allowed) const;

  std::vector<Route> routes_;
  Guard guard_;
};

// Percent-decoding of a path segment or query value ('+' stays '+' in paths).
std::string PercentDecode(std::string_view text, bool plus_is_space);

// 200 (or `status`) with a JSON body.
HttpResponse JsonResponse(std::string body, int status = 200);

}  // namespace chromahouse
