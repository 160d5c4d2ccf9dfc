// Transport-independent HTTP request and response values. The HTTP server (server/) fills an
// HttpRequest and writes the HttpResponse; everything in api/ works on these only.
#pragma once

#include <string>
#include <utility>
#include <vector>

namespace chromahouse {

struct HttpRequest {
  std::string method;  // upper case
  std::string path;    // without the query string, not decoded
  std::string query;   // after '?', not decoded
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;

  // First header with that (lower-case) name, or empty.
  std::string_view Header(std::string_view name) const {
    for (const auto& [k, v] : headers) {
      if (k == name) return v;
    }
    return {};
  }
  bool HasHeader(std::string_view name) const {
    for (const auto& [k, v] : headers) {
      if (k == name) return true;
    }
    return false;
  }
};

struct HttpResponse {
  int status = 200;
  std::string body;
  // Content-Type application/json unless `json` is false (then no content type is sent).
  bool json = true;
  std::vector<std::pair<std::string, std::string>> headers;
  // Set for HEAD: send the headers of the response, not its body.
  bool omit_body = false;
};

}  // namespace chromahouse
