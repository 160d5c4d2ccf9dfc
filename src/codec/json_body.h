// JsonBody: a parsed request body plus the helpers that turn JSON shape errors into Chroma's
// statuses: unparsable JSON → 400 "Failed to parse the request body as JSON: …", wrong types or
// missing fields → 422 "Failed to deserialize the JSON body into the target type: …".
// The simdjson DOM never leaves codec/.
#pragma once

#include <simdjson.h>

#include <initializer_list>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace chromahouse {

// Parsing reuses a parser and a padded copy of the body (simdjson reads past the end, so a body
// is always copied once) from a small shared pool, so that a request does not allocate, and
// fault in, fresh buffers of several times its size (a parser holds ~14 bytes per byte of the
// largest body it parsed). The pool keeps as many as the machine has cores (at least 2) — not
// one per request thread, whose idle buffers would add up to tens of MB; buffers grown past
// kKeepBytes of JSON are released when the JsonBody goes.
class JsonBody {
 public:
  static constexpr size_t kKeepBytes = size_t{4} << 20;
  JsonBody();
  ~JsonBody();
  JsonBody(const JsonBody&) = delete;
  JsonBody& operator=(const JsonBody&) = delete;

  // Parses `body`; an empty body is a parse error, as in Chroma.
  Status Parse(std::string_view body);
  simdjson::dom::element root() const { return root_; }

  struct Scratch;  // a parser and a padded buffer (json_body.cc)

 private:
  std::unique_ptr<Scratch> scratch_;  // taken from the pool, given back by the destructor
  simdjson::dom::element root_;
};

// 422 with serde-style wording, e.g. ShapeError("name", "invalid type: integer `5`, expected a
// string").
Status ShapeError(std::string_view path, std::string_view reason);
// "invalid type: <kind of el>, expected <expected>" at `path`.
Status TypeError(std::string_view path, simdjson::dom::element el, std::string_view expected);
// Describes an element the way serde does ("integer `5`", "string \"x\"", "map", "sequence").
std::string DescribeElement(simdjson::dom::element el);

// Field readers. A field that is absent or null yields nullopt (for Option<T> fields); a field
// of the wrong type is a 422 naming the path.
Result<simdjson::dom::object> RequireObject(simdjson::dom::element el, std::string_view path);
Result<std::optional<std::string>> OptionalString(simdjson::dom::object obj, std::string_view key,
                                                  std::string_view path);
Result<std::string> RequiredString(simdjson::dom::object obj, std::string_view key,
                                   std::string_view path);
Result<std::optional<bool>> OptionalBool(simdjson::dom::object obj, std::string_view key,
                                         std::string_view path);
Result<std::optional<int64_t>> OptionalInt(simdjson::dom::object obj, std::string_view key,
                                           std::string_view path, bool non_negative);
Result<std::optional<double>> OptionalNumber(simdjson::dom::object obj, std::string_view key,
                                             std::string_view path);
// The field's element when present and not null.
std::optional<simdjson::dom::element> Field(simdjson::dom::object obj, std::string_view key);

std::string JoinPath(std::string_view parent, std::string_view key);

// 422 "duplicate field `k`" when one of `fields` appears twice in `obj` (serde's rule for
// struct fields; other keys may repeat).
Status RejectDuplicateFields(simdjson::dom::object obj,
                             std::initializer_list<std::string_view> fields, std::string_view path);
// A required bool-typed field that may be absent but not null ("get_or_create").
Result<std::optional<bool>> OptionalNonNullBool(simdjson::dom::object obj, std::string_view key,
                                                std::string_view path);

}  // namespace chromahouse
