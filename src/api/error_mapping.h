// The one table from StatusCode to HTTP status and Chroma error name (API.md §1.1).
#pragma once

#include <string_view>

#include "api/http_types.h"
#include "common/status.h"

namespace chromahouse {

struct ErrorMapping {
  int http_status;
  std::string_view error_name;
};

ErrorMapping MapStatus(StatusCode code);

// {"error": name, "message": text} with the mapped HTTP status and a chroma-trace-id header.
HttpResponse ErrorResponse(const Status& status);
// The v1 API's error bodies (Python servers 0.5/0.6, API.md §7.2): a missing collection is
// 400 InvalidCollection, an existing one 409 UniqueConstraintError, a too-big batch 413
// BatchSizeExceededError, back-pressure 429 RateLimitError.
HttpResponse V1ErrorResponse(const Status& status);
// Authentication (401) and authorization (403) failures: {"error": "AuthError", "message"}.
HttpResponse AuthErrorResponse(const Status& status);
// An empty-bodied error (404 for unknown paths, 405 for wrong methods), with chroma-trace-id.
HttpResponse EmptyErrorResponse(int http_status);

inline constexpr std::string_view kTraceIdZero = "00000000000000000000000000000000";

}  // namespace chromahouse
