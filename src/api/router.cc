#include "api/router.h"

#include <algorithm>

#include "api/error_mapping.h"
#include "common/log.h"

namespace chromahouse {
namespace {

std::vector<std::string_view> SplitPath(std::string_view path) {
  std::vector<std::string_view> out;
  if (path.empty() || path[0] != '/') return out;
  size_t pos = 1;
  while (true) {
    size_t next = path.find('/', pos);
    if (next == std::string_view::npos) {
      out.push_back(path.substr(pos));
      break;
    }
    out.push_back(path.substr(pos, next - pos));
    pos = next + 1;
  }
  return out;
}

int HexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool IsJsonContentType(std::string_view value) {
  size_t semi = value.find(';');
  std::string_view type = value.substr(0, semi);
  while (!type.empty() && type.back() == ' ') type.remove_suffix(1);
  while (!type.empty() && type.front() == ' ') type.remove_prefix(1);
  std::string lower(type);
  std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
  // Like Chroma (axum): application/json, any application/*+json, and application/json+….
  if (!lower.starts_with("application/")) return false;
  return lower == "application/json" || lower.ends_with("+json") ||
         lower.starts_with("application/json+");
}

}  // namespace

std::string PercentDecode(std::string_view text, bool plus_is_space) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (c == '%' && i + 2 < text.size()) {
      int hi = HexDigit(text[i + 1]), lo = HexDigit(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(plus_is_space && c == '+' ? ' ' : c);
  }
  return out;
}

const std::string& RouteContext::Param(std::string_view name) const {
  static const std::string kEmpty;
  auto it = params.find(name);
  return it == params.end() ? kEmpty : it->second;
}

std::optional<std::string> RouteContext::Query(std::string_view name) const {
  std::string_view q = request.query;
  size_t pos = 0;
  while (pos <= q.size()) {
    size_t end = q.find('&', pos);
    if (end == std::string_view::npos) end = q.size();
    std::string_view pair = q.substr(pos, end - pos);
    size_t eq = pair.find('=');
    std::string key = PercentDecode(pair.substr(0, eq), true);
    if (key == name) {
      return eq == std::string_view::npos ? std::string()
                                          : PercentDecode(pair.substr(eq + 1), true);
    }
    pos = end + 1;
  }
  return std::nullopt;
}

int RouteContext::QueryCount(std::string_view name) const {
  std::string_view q = request.query;
  int count = 0;
  size_t pos = 0;
  while (pos <= q.size() && !q.empty()) {
    size_t end = q.find('&', pos);
    if (end == std::string_view::npos) end = q.size();
    std::string_view pair = q.substr(pos, end - pos);
    if (PercentDecode(pair.substr(0, pair.find('=')), true) == name) ++count;
    pos = end + 1;
  }
  return count;
}

HttpResponse JsonResponse(std::string body, int status) {
  HttpResponse res;
  res.status = status;
  res.body = std::move(body);
  return res;
}

void Router::Add(std::string method, std::string pattern, RouteRules rules, Handler handler,
                 ErrorRenderer render_error) {
  Route r{std::move(method), pattern, {}, rules, std::move(handler), std::move(render_error)};
  for (auto seg : SplitPath(pattern)) r.segments.emplace_back(seg);
  routes_.push_back(std::move(r));
}

bool Router::Match(const Route& route, const std::vector<std::string_view>& path,
                   std::map<std::string, std::string, std::less<>>* params) {
  if (route.segments.size() != path.size()) return false;
  for (size_t i = 0; i < path.size(); ++i) {
    const std::string& seg = route.segments[i];
    if (seg.size() > 2 && seg.front() == '{' && seg.back() == '}') {
      if (path[i].empty()) return false;
      if (params) (*params)[seg.substr(1, seg.size() - 2)] = PercentDecode(path[i], false);
    } else if (seg != path[i]) {
      return false;
    }
  }
  return true;
}

std::string Router::PatternFor(const HttpRequest& request) const {
  auto path = SplitPath(request.path);
  for (const auto& r : routes_) {
    if (Match(r, path, nullptr)) return r.pattern;
  }
  return "unmatched";
}

std::vector<std::pair<std::string, std::string>> Router::Routes() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& r : routes_) out.emplace_back(r.method, r.pattern);
  return out;
}

const Router::Route* Router::Find(const HttpRequest& request,
                                  std::map<std::string, std::string, std::less<>>* params,
                                  std::vector<std::string>* allowed) const {
  auto path = SplitPath(request.path);
  const std::string method = request.method == "HEAD" ? std::string("GET") : request.method;
  // A literal segment beats a capture: try routes in registration order, but prefer the
  // route whose pattern has more literal segments when several match.
  const Route* best = nullptr;
  int best_literals = -1;
  for (const auto& r : routes_) {
    std::map<std::string, std::string, std::less<>> captured;
    if (!Match(r, path, &captured)) continue;
    if (r.method != method) {
      if (allowed && std::find(allowed->begin(), allowed->end(), r.method) == allowed->end()) {
        allowed->push_back(r.method);
      }
      continue;
    }
    int literals = 0;
    for (const auto& s : r.segments) literals += (s.empty() || s.front() != '{') ? 1 : 0;
    if (literals > best_literals) {
      best = &r;
      best_literals = literals;
      if (params) *params = std::move(captured);
    }
  }
  return best;
}

std::optional<RouteRules> Router::RulesFor(const HttpRequest& request) const {
  if (const Route* r = Find(request, nullptr, nullptr)) return r->rules;
  auto path = SplitPath(request.path);
  for (const auto& r : routes_) {
    if (Match(r, path, nullptr)) return r.rules;
  }
  return std::nullopt;
}

HttpResponse Router::Dispatch(const HttpRequest& request, const Identity* identity) const {
  const bool head = request.method == "HEAD";
  std::vector<std::string> allowed;
  std::map<std::string, std::string, std::less<>> best_params;
  const Route* best = Find(request, &best_params, &allowed);
  if (!best) {
    if (allowed.empty()) return EmptyErrorResponse(404);
    HttpResponse res = EmptyErrorResponse(405);
    std::string allow;
    for (const auto& m : allowed) {
      if (!allow.empty()) allow += ",";
      allow += m;
      if (m == "GET") allow += ",HEAD";
    }
    res.headers.emplace_back("allow", allow);
    return res;
  }
  auto render = [best](const Status& s) {
    return best->render_error ? best->render_error(s) : ErrorResponse(s);
  };
  RouteContext ctx{request, std::move(best_params), identity, best->rules};
  HttpResponse res;
  try {
    if (auto denied = guard_ ? guard_(ctx) : std::nullopt) {
      res = std::move(*denied);
    } else if (best->rules.takes_body && request.HasHeader("content-type") &&
               !IsJsonContentType(request.Header("content-type"))) {
      res = render(Status(StatusCode::kUnsupportedMediaType,
                          "Expected request with `Content-Type: application/json`"));
    } else {
      Result<HttpResponse> result = best->handler(ctx);
      res = result.ok() ? std::move(result).value() : render(result.status());
    }
  } catch (const std::exception& e) {
    LOG_ERROR("unhandled exception in {} {}: {}", request.method, best->pattern, e.what());
    res = render(Status::Internal(std::string("internal error: ") + e.what()));
  }
  if (head) res.omit_body = true;
  return res;
}

}  // namespace chromahouse
