#include "api/error_mapping.h"

#include "common/json_writer.h"

namespace chromahouse {

ErrorMapping MapStatus(StatusCode code) {
  switch (code) {
    case StatusCode::kOk: return {200, ""};
    case StatusCode::kInvalidArgument: return {400, "InvalidArgumentError"};
    case StatusCode::kNotFound: return {404, "NotFoundError"};
    case StatusCode::kAlreadyExists: return {409, "ChromaError"};
    case StatusCode::kPermissionDenied: return {403, "ChromaError"};
    case StatusCode::kUnauthenticated: return {401, "ChromaError"};
    case StatusCode::kResourceExhausted: return {429, "ChromaError"};
    case StatusCode::kFailedPrecondition: return {412, "ChromaError"};
    case StatusCode::kUnimplemented: return {501, "ChromaError"};
    case StatusCode::kInternal: return {500, "InternalError"};
    case StatusCode::kUnknown: return {500, "ChromaError"};
    case StatusCode::kUnavailable: return {503, "ChromaError"};
    case StatusCode::kDeadlineExceeded: return {504, "ChromaError"};
    case StatusCode::kCancelled: return {400, "ChromaError"};
    case StatusCode::kUnprocessableEntity: return {422, "ChromaError"};
    case StatusCode::kPayloadTooLarge: return {413, "ChromaError"};
    case StatusCode::kUnsupportedMediaType: return {415, "ChromaError"};
  }
  return {500, "ChromaError"};
}

HttpResponse ErrorResponse(const Status& status) {
  ErrorMapping m = MapStatus(status.code());
  HttpResponse res;
  res.status = m.http_status;
  JsonWriter w(&res.body);
  w.BeginObject();
  w.Key("error");
  w.String(m.error_name);
  w.Key("message");
  w.String(status.message());
  w.EndObject();
  res.headers.emplace_back("chroma-trace-id", std::string(kTraceIdZero));
  return res;
}

namespace {

HttpResponse NamedError(int http_status, std::string_view name, const std::string& message) {
  HttpResponse res;
  res.status = http_status;
  JsonWriter w(&res.body);
  w.BeginObject();
  w.Key("error");
  w.String(name);
  w.Key("message");
  w.String(message);
  w.EndObject();
  res.headers.emplace_back("chroma-trace-id", std::string(kTraceIdZero));
  return res;
}

}  // namespace

HttpResponse V1ErrorResponse(const Status& status) {
  switch (status.code()) {
    case StatusCode::kNotFound:
      if (status.message().starts_with("Collection")) {
        return NamedError(400, "InvalidCollection", status.message());
      }
      return NamedError(404, "NotFoundError", status.message());
    case StatusCode::kAlreadyExists:
      return NamedError(409, "UniqueConstraintError", status.message());
    case StatusCode::kPayloadTooLarge:
      return NamedError(413, "BatchSizeExceededError", status.message());
    case StatusCode::kResourceExhausted: return NamedError(429, "RateLimitError", status.message());
    case StatusCode::kUnauthenticated:
    case StatusCode::kPermissionDenied: return AuthErrorResponse(status);
    default: return ErrorResponse(status);
  }
}

HttpResponse AuthErrorResponse(const Status& status) {
  bool authn = status.code() == StatusCode::kUnauthenticated;
  return NamedError(authn ? 401 : 403, "AuthError",
                    std::string(authn ? "Unauthorized: " : "Forbidden: ") + status.message());
}

HttpResponse EmptyErrorResponse(int http_status) {
  HttpResponse res;
  res.status = http_status;
  res.json = false;
  res.headers.emplace_back("chroma-trace-id", std::string(kTraceIdZero));
  return res;
}

}  // namespace chromahouse
