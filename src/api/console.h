// Console: serves the web console's static files (console/ at the top of the repository) —
// embedded in the binary (api/console_files.h), or read from a folder for development — at
// /console/, with `/` and `/console` redirecting there.
//
// The files are public (they hold no data; the console reads everything through the API with
// the caller's credentials). Each answer carries its content type, `Cache-Control: no-cache`
// with an ETag (a later request with `If-None-Match` gets 304), and a content security policy
// that allows only the console's own scripts, styles and API calls.
//
// Thread-safe (const after construction).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "api/http_types.h"

namespace chromahouse {

class Console {
 public:
  // `dir` empty: the embedded files; otherwise files are read from `dir` at each request.
  // `enabled` false: nothing is served (Serve always answers nullopt).
  Console(bool enabled, std::string dir) : enabled_(enabled), dir_(std::move(dir)) {}

  // The response for a console path ("/", "/console", "/console/…"), or nullopt for any other
  // path.
  std::optional<HttpResponse> Serve(const HttpRequest& request) const;
  // Whether Serve answers `path`.
  bool Handles(std::string_view path) const {
    return enabled_ && (path == "/" || path == "/console" || path.starts_with("/console/"));
  }

  static constexpr const char* kContentSecurityPolicy =
      "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
      "connect-src 'self'; font-src 'self'; base-uri 'none'; form-action 'none'; "
      "frame-ancestors 'none'";

 private:
  // The bytes of console file `path` ("index.html"), or nullopt.
  std::optional<std::string> Read(const std::string& path) const;

  bool enabled_;
  std::string dir_;
};

}  // namespace chromahouse
