#include "api/console.h"

#include <fstream>
#include <sstream>

#include "api/console_files.h"
#include "common/hash.h"

namespace chromahouse {
namespace {

std::string ContentType(std::string_view path) {
  auto ext = path.substr(path.rfind('.') == std::string_view::npos ? path.size() : path.rfind('.'));
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".js" || ext == ".mjs") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".png") return "image/png";
  if (ext == ".ico") return "image/x-icon";
  if (ext == ".json") return "application/json";
  if (ext == ".txt") return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

// A relative path without empty, "." or ".." segments (nothing outside the folder).
bool SafePath(std::string_view path) {
  if (path.empty() || path.front() == '/') return false;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view segment = path.substr(start, end - start);
    if (segment.empty() || segment == "." || segment == ".." ||
        segment.find('\\') != std::string_view::npos) {
      return false;
    }
    start = end + 1;
  }
  return true;
}

HttpResponse Plain(int status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.json = false;
  r.body = std::move(body);
  r.headers.emplace_back("content-type", "text/plain; charset=utf-8");
  return r;
}

}  // namespace

std::optional<std::string> Console::Read(const std::string& path) const {
  if (dir_.empty()) {
    for (const EmbeddedFile& f : ConsoleFiles()) {
      if (f.path == path) return std::string(f.data);
    }
    return std::nullopt;
  }
  std::ifstream in(dir_ + "/" + path, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

std::optional<HttpResponse> Console::Serve(const HttpRequest& request) const {
  const std::string& path = request.path;
  if (!Handles(path)) return std::nullopt;
  if (request.method != "GET" && request.method != "HEAD") {
    HttpResponse r = Plain(405, "");
    r.headers.emplace_back("allow", "GET, HEAD");
    return r;
  }
  if (path == "/" || path == "/console") {
    HttpResponse r = Plain(302, "");
    r.headers.emplace_back("location", "/console/");
    return r;
  }
  std::string file = path.substr(std::string_view("/console/").size());
  if (file.empty()) file = "index.html";
  HttpResponse r;
  std::optional<std::string> bytes;
  if (SafePath(file)) bytes = Read(file);
  if (!bytes) {
    r = Plain(404, "Not found: " + path + "\n");
  } else {
    const std::string etag = "\"" + std::to_string(Hash64(*bytes)) + "\"";
    r.json = false;
    r.headers.emplace_back("etag", etag);
    r.headers.emplace_back("cache-control", "no-cache");
    if (request.Header("if-none-match") == etag) {
      r.status = 304;
    } else {
      r.headers.emplace_back("content-type", ContentType(file));
      r.body = std::move(*bytes);
    }
  }
  r.headers.emplace_back("content-security-policy", kContentSecurityPolicy);
  r.headers.emplace_back("x-content-type-options", "nosniff");
  r.headers.emplace_back("referrer-policy", "no-referrer");
  r.omit_body = request.method == "HEAD";
  return r;
}

}  // namespace chromahouse
