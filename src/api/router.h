// Router: matches method + path against the route table and dispatches to a handler.
//
// Patterns are literal segments and `{name}` captures, e.g.
// "/api/v2/tenants/{tenant}/databases/{database}". Unknown paths answer 404 with an empty body,
// known paths with another method 405 with an `allow` header, HEAD runs GET without a body.
// Routes that take a JSON body check Content-Type first (415). A handler's Status error becomes
// Chroma's error body; an exception escaping a handler becomes a logged 500.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include "api/auth.h"
#include "api/http_types.h"
#include "common/status.h"

namespace chromahouse {

struct RouteContext {
  const HttpRequest& request;
  std::map<std::string, std::string, std::less<>> params;  // path captures, percent-decoded
  const Identity* identity = nullptr;                      // null when auth is off

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
  // `takes_body`: the route reads a JSON body (Content-Type is checked).
  void Add(std::string method, std::string pattern, bool takes_body, Handler handler,
           ErrorRenderer render_error = nullptr);
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
    bool takes_body;
    Handler handler;
    ErrorRenderer render_error;
  };
  static bool Match(const Route& route, const std::vector<std::string_view>& path,
                    std::map<std::string, std::string, std::less<>>* params);

  std::vector<Route> routes_;
  Guard guard_;
};

// Percent-decoding of a path segment or query value ('+' stays '+' in paths).
std::string PercentDecode(std::string_view text, bool plus_is_space);

// 200 (or `status`) with a JSON body.
HttpResponse JsonResponse(std::string body, int status = 200);

}  // namespace chromahouse
