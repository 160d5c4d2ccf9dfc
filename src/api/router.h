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

#include "api/http_types.h"
#include "common/status.h"

namespace chromahouse {

struct RouteContext {
  const HttpRequest& request;
  std::map<std::string, std::string, std::less<>> params;  // path captures, percent-decoded

  const std::string& Param(std::string_view name) const;
  // Query parameter (percent-decoded), or nullopt.
  std::optional<std::string> Query(std::string_view name) const;
  // How many times the query parameter occurs.
  int QueryCount(std::string_view name) const;
};

using Handler = std::function<Result<HttpResponse>(const RouteContext&)>;

class Router {
 public:
  // `takes_body`: the route reads a JSON body (Content-Type is checked).
  void Add(std::string method, std::string pattern, bool takes_body, Handler handler);
  HttpResponse Dispatch(const HttpRequest& request) const;

  // The pattern that matched a path (for access logs and metrics), or "unmatched".
  std::string PatternFor(const HttpRequest& request) const;

 private:
  struct Route {
    std::string method;
    std::string pattern;
    std::vector<std::string> segments;
    bool takes_body;
    Handler handler;
  };
  static bool Match(const Route& route, const std::vector<std::string_view>& path,
                    std::map<std::string, std::string, std::less<>>* params);

  std::vector<Route> routes_;
};

// Percent-decoding of a path segment or query value ('+' stays '+' in paths).
std::string PercentDecode(std::string_view text, bool plus_is_space);

// 200 (or `status`) with a JSON body.
HttpResponse JsonResponse(std::string body, int status = 200);

}  // namespace chromahouse
