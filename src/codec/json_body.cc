#include "codec/json_body.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <thread>
#include <vector>

#include "common/mutex.h"

namespace chromahouse {

struct JsonBody::Scratch {
  simdjson::dom::parser parser;
  std::unique_ptr<char[]> padded;  // the body plus SIMDJSON_PADDING zero bytes
  size_t padded_capacity = 0;
};

namespace {

// The scratches not in use, most recently returned last (its pages are the likeliest to be
// resident and in cache).
class ScratchPool {
 public:
  std::unique_ptr<JsonBody::Scratch> Take() {
    {
      MutexLock lock(mu_);
      if (!free_.empty()) {
        auto s = std::move(free_.back());
        free_.pop_back();
        return s;
      }
    }
    return std::make_unique<JsonBody::Scratch>();
  }
  void Give(std::unique_ptr<JsonBody::Scratch> s) {
    if (s->parser.capacity() > JsonBody::kKeepBytes ||
        s->padded_capacity > JsonBody::kKeepBytes * 2) {
      return;  // released: a rare huge body does not stay
    }
    MutexLock lock(mu_);
    if (free_.size() < kept_) free_.push_back(std::move(s));
  }

 private:
  const size_t kept_ = std::max(2u, std::thread::hardware_concurrency());
  Mutex mu_;
  std::vector<std::unique_ptr<JsonBody::Scratch>> free_ GUARDED_BY(mu_);
};

ScratchPool& Pool() {
  static ScratchPool* pool = new ScratchPool();  // never destroyed: used until exit
  return *pool;
}

}  // namespace

JsonBody::JsonBody() : scratch_(Pool().Take()) {}

JsonBody::~JsonBody() { Pool().Give(std::move(scratch_)); }

Status JsonBody::Parse(std::string_view body) {
  if (body.empty()) {
    return Status::InvalidArgument(
        "Failed to parse the request body as JSON: EOF while parsing a value at line 1 column 0");
  }
  Scratch& s = *scratch_;
  const size_t need = body.size() + simdjson::SIMDJSON_PADDING;
  if (s.padded_capacity < need) {
    const size_t capacity = need + need / 4;
    s.padded.reset(new char[capacity]);  // not zeroed: only the body and its padding are read
    s.padded_capacity = capacity;
  }
  std::memcpy(s.padded.get(), body.data(), body.size());
  std::memset(s.padded.get() + body.size(), 0, simdjson::SIMDJSON_PADDING);
  if (auto err = s.parser.parse(s.padded.get(), body.size(), false).get(root_); err) {
    return Status::InvalidArgument(std::string("Failed to parse the request body as JSON: ") +
                                   simdjson::error_message(err));
  }
  return Status::Ok();
}

std::string JoinPath(std::string_view parent, std::string_view key) {
  if (parent.empty()) return std::string(key);
  return std::string(parent) + "." + std::string(key);
}

Status ShapeError(std::string_view path, std::string_view reason) {
  std::string msg = "Failed to deserialize the JSON body into the target type: ";
  if (!path.empty()) {
    msg += path;
    msg += ": ";
  }
  msg += reason;
  return Status::Unprocessable(std::move(msg));
}

std::string DescribeElement(simdjson::dom::element el) {
  using T = simdjson::dom::element_type;
  switch (el.type()) {
    case T::ARRAY: return "sequence";
    case T::OBJECT: return "map";
    case T::INT64: return "integer `" + std::to_string(int64_t(el.get_int64().value())) + "`";
    case T::UINT64: return "integer `" + std::to_string(uint64_t(el.get_uint64().value())) + "`";
    case T::DOUBLE: {
      std::string s = simdjson::minify(el);
      return "floating point `" + s + "`";
    }
    case T::STRING: {
      std::string s(el.get_string().value());
      if (s.size() > 64) s = s.substr(0, 64) + "…";
      return "string \"" + s + "\"";
    }
    case T::BOOL:
      return std::string("boolean `") + (el.get_bool().value() ? "true" : "false") + "`";
    case T::NULL_VALUE: return "null";
  }
  return "value";
}

Status TypeError(std::string_view path, simdjson::dom::element el, std::string_view expected) {
  return ShapeError(path,
                    "invalid type: " + DescribeElement(el) + ", expected " + std::string(expected));
}

Result<simdjson::dom::object> RequireObject(simdjson::dom::element el, std::string_view path) {
  simdjson::dom::object obj;
  if (el.get_object().get(obj)) return TypeError(path, el, "a map");
  return obj;
}

std::optional<simdjson::dom::element> Field(simdjson::dom::object obj, std::string_view key) {
  simdjson::dom::element el;
  if (obj.at_key(key).get(el)) return std::nullopt;
  if (el.is_null()) return std::nullopt;
  return el;
}

Result<std::optional<std::string>> OptionalString(simdjson::dom::object obj, std::string_view key,
                                                  std::string_view path) {
  auto el = Field(obj, key);
  if (!el) return std::optional<std::string>();
  std::string_view s;
  if (el->get_string().get(s)) return TypeError(JoinPath(path, key), *el, "a string");
  return std::optional<std::string>(std::string(s));
}

Result<std::string> RequiredString(simdjson::dom::object obj, std::string_view key,
                                   std::string_view path) {
  simdjson::dom::element el;
  if (obj.at_key(key).get(el)) {
    return ShapeError(path, "missing field `" + std::string(key) + "`");
  }
  std::string_view s;
  if (el.get_string().get(s)) return TypeError(JoinPath(path, key), el, "a string");
  return std::string(s);
}

Result<std::optional<bool>> OptionalBool(simdjson::dom::object obj, std::string_view key,
                                         std::string_view path) {
  auto el = Field(obj, key);
  if (!el) return std::optional<bool>();
  bool b;
  if (el->get_bool().get(b)) return TypeError(JoinPath(path, key), *el, "a boolean");
  return std::optional<bool>(b);
}

Result<std::optional<int64_t>> OptionalInt(simdjson::dom::object obj, std::string_view key,
                                           std::string_view path, bool non_negative) {
  auto el = Field(obj, key);
  if (!el) return std::optional<int64_t>();
  int64_t v;
  if (el->get_int64().get(v)) {
    return TypeError(JoinPath(path, key), *el, non_negative ? "usize" : "an integer");
  }
  if (non_negative && v < 0) {
    return ShapeError(JoinPath(path, key),
                      "invalid value: integer `" + std::to_string(v) + "`, expected usize");
  }
  return std::optional<int64_t>(v);
}

Result<std::optional<double>> OptionalNumber(simdjson::dom::object obj, std::string_view key,
                                             std::string_view path) {
  auto el = Field(obj, key);
  if (!el) return std::optional<double>();
  using T = simdjson::dom::element_type;
  switch (el->type()) {
    case T::DOUBLE: return std::optional<double>(el->get_double().value());
    case T::INT64: return std::optional<double>(double(el->get_int64().value()));
    case T::UINT64: return std::optional<double>(double(el->get_uint64().value()));
    default: return TypeError(JoinPath(path, key), *el, "f64");
  }
}

Status RejectDuplicateFields(simdjson::dom::object obj,
                             std::initializer_list<std::string_view> fields,
                             std::string_view path) {
  for (std::string_view f : fields) {
    int seen = 0;
    for (auto field : obj) seen += field.key == f ? 1 : 0;
    if (seen > 1) return ShapeError(path, "duplicate field `" + std::string(f) + "`");
  }
  return Status::Ok();
}

Result<std::optional<bool>> OptionalNonNullBool(simdjson::dom::object obj, std::string_view key,
                                                std::string_view path) {
  simdjson::dom::element el;
  if (obj.at_key(key).get(el)) return std::optional<bool>();
  bool b;
  if (el.get_bool().get(b)) return TypeError(JoinPath(path, key), el, "a boolean");
  return std::optional<bool>(b);
}

}  // namespace chromahouse
