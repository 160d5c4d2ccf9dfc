#include "codec/record_codec.h"

#include <bit>

#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

#include "codec/json_body.h"
#include "codec/metadata_codec.h"
#include "codec/where_codec.h"
#include "common/json_writer.h"

namespace chromahouse {
namespace {

using T = simdjson::dom::element_type;

// Number token text → float32, rounded once (from_chars is correctly rounded).
bool ParseFloat32(std::string_view token, float* out) {
  while (!token.empty() && (token.back() == ' ' || token.back() == '\n' || token.back() == '\t' ||
                            token.back() == '\r' || token.back() == ',' || token.back() == ']')) {
    token.remove_suffix(1);
  }
  if (!token.empty() && token.front() == '+') return false;
  auto [ptr, ec] = std::from_chars(token.data(), token.data() + token.size(), *out);
  if (ec == std::errc::result_out_of_range) {
    // Overflow and underflow alike. A magnitude below 1 rounds to ±0, as in Chroma (5e-76 is
    // 0.0 there); anything else to ±inf, rejected later. Read as a double to tell them apart; a
    // double out of range here is an underflow too, since the DOM pass has already refused
    // numbers beyond the double range.
    double d = 0;
    auto wide = std::from_chars(token.data(), token.data() + token.size(), d);
    const bool tiny = wide.ec == std::errc::result_out_of_range || std::fabs(d) < 1;
    const bool negative = token.front() == '-';
    *out = tiny ? (negative ? -0.0f : 0.0f) : (negative ? -INFINITY : INFINITY);
    return true;
  }
  return ec == std::errc() && ptr == token.data() + token.size();
}

// The float32 nearest to a JSON number from simdjson's DOM value, when that is certain without
// its text: integers convert with one rounding; a double converts with one more rounding,
// which can differ from rounding the decimal text directly only when the double lies within
// an ulp of a point halfway between two floats (or the result is subnormal, where the text
// decides). False = ask the text (ReadFloatRows).
inline bool FloatFromDom(simdjson::dom::element x, T type, float* out) {
  if (type == T::INT64) {
    *out = static_cast<float>(x.get_int64().value_unsafe());
    return true;
  }
  if (type == T::UINT64) {
    *out = static_cast<float>(x.get_uint64().value_unsafe());
    return true;
  }
  const double d = x.get_double().value_unsafe();
  const float f = static_cast<float>(d);
  const double df = f;
  if (df == d) {
    *out = f;
    return true;
  }
  const uint32_t bits = std::bit_cast<uint32_t>(f);
  if ((bits & 0x7f800000u) == 0x7f800000u) {
    // Beyond float32's range (rejected as infinite by the caller), unless the double sits on
    // the boundary, 2^128 - 2^103, where only the text can tell.
    if (std::fabs(std::fabs(d) - 0x1.ffffffp+127) <= std::fabs(d) * 0x1p-51) return false;
    *out = f;
    return true;
  }
  if ((bits & 0x7f800000u) == 0) return false;  // zero or subnormal from a non-zero: the text
  // The float next to f on d's side: one step of the bit pattern (away from zero when d is
  // farther from zero than f, towards it otherwise).
  const bool away = std::fabs(d) > std::fabs(df);
  const float g = std::bit_cast<float>(away ? bits + 1 : bits - 1);
  const double mid = (df + static_cast<double>(g)) / 2;  // exact: 25 significant bits
  if (std::fabs(d - mid) <= std::fabs(d) * 0x1p-51) return false;
  *out = f;
  return true;
}

Status NonFinite(std::string_view field, size_t row) {
  return Status::InvalidArgument("Validation error: " + std::string(field) +
                                 ": embedding at index " + std::to_string(row) +
                                 " contains NaN or infinity");
}

// Reads the float32 values of `field` (an array of number arrays, possibly with nulls) with
// simdjson's on-demand parser, which exposes each number's text. The DOM pass has already
// checked the shape.
Status ReadFloatRows(std::string_view body, std::string_view field,
                     std::vector<std::optional<std::vector<float>>>* rows) {
  simdjson::ondemand::parser parser;
  simdjson::padded_string padded(body);
  simdjson::ondemand::document doc;
  if (parser.iterate(padded).get(doc)) return Status::Internal("cannot re-read request body");
  simdjson::ondemand::object obj;
  if (doc.get_object().get(obj)) return Status::Internal("cannot re-read request body");
  for (auto f : obj) {
    std::string_view key;
    if (f.unescaped_key().get(key)) return Status::Internal("cannot re-read request body");
    if (key != field) continue;
    simdjson::ondemand::array outer;
    if (f.value().get_array().get(outer)) return Status::Internal("cannot re-read embeddings");
    size_t row = 0;
    for (auto element : outer) {
      simdjson::ondemand::value v;
      if (element.get(v)) return Status::Internal("cannot re-read embeddings");
      bool is_null = false;
      if (!v.is_null().get(is_null) && is_null) {
        ++row;
        continue;
      }
      simdjson::ondemand::array inner;
      if (v.get_array().get(inner)) {
        ++row;  // a base64 string: decoded from the DOM
        continue;
      }
      std::vector<float>& out = *(*rows)[row];
      out.clear();
      for (auto number : inner) {
        simdjson::ondemand::value nv;
        if (number.get(nv)) return Status::Internal("cannot re-read embeddings");
        std::string_view token = nv.raw_json_token();
        float x;
        if (!ParseFloat32(token, &x)) {
          return Status::InvalidArgument("Validation error: " + std::string(field) +
                                         ": invalid number " + std::string(token));
        }
        if (!std::isfinite(x)) return NonFinite(field, row);
        out.push_back(x);
      }
      ++row;
    }
    return Status::Ok();
  }
  return Status::Ok();
}

Result<std::vector<std::string>> DecodeIds(simdjson::dom::element el, std::string_view path) {
  simdjson::dom::array arr;
  if (el.get_array().get(arr)) return TypeError(path, el, "a sequence");
  std::vector<std::string> ids;
  ids.reserve(arr.size());
  size_t i = 0;
  for (auto e : arr) {
    std::string_view s;
    if (e.get_string().get(s)) {
      return TypeError(std::string(path) + "[" + std::to_string(i) + "]", e, "a string");
    }
    ids.emplace_back(s);
    ++i;
  }
  return ids;
}

Result<std::optional<std::vector<std::optional<std::string>>>> DecodeOptionalStrings(
    simdjson::dom::object obj, std::string_view key) {
  auto el = Field(obj, key);
  if (!el) return std::optional<std::vector<std::optional<std::string>>>();
  simdjson::dom::array arr;
  if (el->get_array().get(arr)) return TypeError(key, *el, "a sequence");
  std::vector<std::optional<std::string>> out;
  out.reserve(arr.size());
  size_t i = 0;
  for (auto e : arr) {
    if (e.is_null()) {
      out.emplace_back();
    } else {
      std::string_view s;
      if (e.get_string().get(s)) {
        return TypeError(std::string(key) + "[" + std::to_string(i) + "]", e, "a string");
      }
      out.emplace_back(std::string(s));
    }
    ++i;
  }
  return std::optional<std::vector<std::optional<std::string>>>(std::move(out));
}

// Embeddings of a write: arrays of numbers, or base64 strings (never mixed).
Result<std::optional<std::vector<std::optional<std::vector<float>>>>> DecodeWriteEmbeddings(
    std::string_view body, simdjson::dom::object obj, bool allow_null_rows, bool required) {
  using Rows = std::vector<std::optional<std::vector<float>>>;
  simdjson::dom::element el;
  bool present = !obj.at_key("embeddings").get(el);
  if (!present || el.is_null()) {
    if (required) return ShapeError("", "missing field `embeddings`");
    return std::optional<Rows>();
  }
  simdjson::dom::array arr;
  if (el.get_array().get(arr)) return TypeError("embeddings", el, "a sequence");
  Rows rows;
  rows.reserve(arr.size());
  int kind = 0;  // 1 = arrays, 2 = strings
  bool need_tokens = false;
  std::optional<size_t> first_non_finite;  // reported after the shape is checked, as before
  size_t i = 0;
  for (auto e : arr) {
    std::string path = "embeddings[" + std::to_string(i) + "]";
    if (e.is_null()) {
      if (!allow_null_rows) return TypeError(path, e, "a sequence of floats or a base64 string");
      rows.emplace_back();
    } else if (e.type() == T::ARRAY) {
      if (kind == 2) return ShapeError(path, "embeddings mix float arrays and base64 strings");
      kind = 1;
      simdjson::dom::array inner = e.get_array().value();
      rows.emplace_back(std::vector<float>());
      std::vector<float>& out = *rows.back();
      out.reserve(inner.size());
      size_t j = 0;
      for (auto x : inner) {
        T t = x.type();
        if (t != T::DOUBLE && t != T::INT64 && t != T::UINT64) {
          return TypeError(path + "[" + std::to_string(j) + "]", x, "f32");
        }
        float v = 0;
        // Values that the double cannot round exactly are read again from the text.
        if (!need_tokens && !FloatFromDom(x, t, &v)) need_tokens = true;
        if (!need_tokens) {
          if (!std::isfinite(v) && !first_non_finite) first_non_finite = i;
          out.push_back(v);
        }
        ++j;
      }
    } else if (e.type() == T::STRING) {
      if (kind == 1) return ShapeError(path, "embeddings mix float arrays and base64 strings");
      kind = 2;
      ASSIGN_OR_RETURN(std::vector<float> v, DecodeBase64Floats(e.get_string().value()));
      for (float x : v) {
        if (!std::isfinite(x)) return NonFinite("embeddings", i);
      }
      rows.emplace_back(std::move(v));
    } else {
      return TypeError(path, e, "a sequence of floats or a base64 string");
    }
    ++i;
  }
  if (need_tokens) {
    RETURN_IF_ERROR(ReadFloatRows(body, "embeddings", &rows));
  } else if (first_non_finite) {
    return NonFinite("embeddings", *first_non_finite);
  }
  return std::optional<Rows>(std::move(rows));
}

Result<std::optional<std::vector<std::optional<MetadataPatch>>>> DecodeMetadatas(
    simdjson::dom::object obj, bool nulls_delete) {
  using Rows = std::vector<std::optional<MetadataPatch>>;
  auto el = Field(obj, "metadatas");
  if (!el) return std::optional<Rows>();
  simdjson::dom::array arr;
  if (el->get_array().get(arr)) return TypeError("metadatas", *el, "a sequence");
  Rows rows;
  rows.reserve(arr.size());
  size_t i = 0;
  for (auto e : arr) {
    std::string path = "metadatas[" + std::to_string(i) + "]";
    if (e.is_null()) {
      rows.emplace_back();
    } else {
      simdjson::dom::object mobj;
      if (e.get_object().get(mobj)) return TypeError(path, e, "a map");
      MetadataPatch patch;
      ASSIGN_OR_RETURN(
          patch.set, DecodeMetadata(mobj, path,
                                    nulls_delete ? MetadataNulls::kCollect : MetadataNulls::kReject,
                                    &patch.remove));
      rows.emplace_back(std::move(patch));
    }
    ++i;
  }
  return std::optional<Rows>(std::move(rows));
}

// v1 clients may also name "data" (a column this server never fills; it is answered as null).
Result<Include> DecodeInclude(simdjson::dom::object obj, std::vector<IncludeField> defaults,
                              WhereDialect dialect) {
  Include inc;
  simdjson::dom::element present;
  if (obj.at_key("include").get(present)) {
    inc.fields = std::move(defaults);
    return inc;
  }
  auto el = std::optional<simdjson::dom::element>(present);  // null is a 422, as in Chroma
  simdjson::dom::array arr;
  if (el->get_array().get(arr)) return TypeError("include", *el, "a sequence");
  size_t i = 0;
  for (auto e : arr) {
    std::string path = "include[" + std::to_string(i++) + "]";
    std::string_view s;
    if (e.get_string().get(s)) return TypeError(path, e, "a string");
    if (s == "documents") inc.fields.push_back(IncludeField::kDocuments);
    else if (s == "embeddings") inc.fields.push_back(IncludeField::kEmbeddings);
    else if (s == "metadatas") inc.fields.push_back(IncludeField::kMetadatas);
    else if (s == "distances") inc.fields.push_back(IncludeField::kDistances);
    else if (s == "uris") inc.fields.push_back(IncludeField::kUris);
    else if (s == "data" && dialect == WhereDialect::kV1) continue;
    else {
      return ShapeError(path, "unknown variant `" + std::string(s) +
                                  "`, expected one of `distances`, `documents`, `embeddings`, "
                                  "`metadatas`, `uris`");
    }
  }
  return inc;
}

Result<std::optional<std::vector<std::string>>> DecodeOptionalIds(simdjson::dom::object obj) {
  auto el = Field(obj, "ids");
  if (!el) return std::optional<std::vector<std::string>>();
  ASSIGN_OR_RETURN(auto ids, DecodeIds(*el, "ids"));
  return std::optional<std::vector<std::string>>(std::move(ids));
}

Status DecodeFilters(simdjson::dom::object obj, std::optional<Where>* where,
                     std::optional<Where>* where_document, WhereDialect dialect) {
  if (auto w = Field(obj, "where")) {
    ASSIGN_OR_RETURN(Where v, DecodeWhere(*w, dialect));
    *where = std::move(v);
  }
  if (auto w = Field(obj, "where_document")) {
    ASSIGN_OR_RETURN(Where v, DecodeWhereDocument(*w, dialect));
    *where_document = std::move(v);
  }
  return Status::Ok();
}

// A u32 field (limit, offset, n_results): 422 beyond 2^32 − 1, as in Chroma.
Result<std::optional<int64_t>> OptionalU32(simdjson::dom::object obj, std::string_view key) {
  ASSIGN_OR_RETURN(auto v, OptionalInt(obj, key, "", true));
  if (v && *v > int64_t{UINT32_MAX}) {
    return ShapeError(key, "invalid value: integer `" + std::to_string(*v) + "`, expected u32");
  }
  return v;
}

Result<simdjson::dom::object> ParseObject(JsonBody& json, std::string_view body,
                                          std::initializer_list<std::string_view> fields) {
  RETURN_IF_ERROR(json.Parse(body));
  ASSIGN_OR_RETURN(simdjson::dom::object obj, RequireObject(json.root(), ""));
  RETURN_IF_ERROR(RejectDuplicateFields(obj, fields, ""));
  return obj;
}

}  // namespace

Result<std::vector<float>> DecodeBase64Floats(std::string_view text) {
  // 0..63 for the alphabet, 64 for '=', 255 for anything else.
  static constexpr auto kValue = [] {
    std::array<uint8_t, 256> t{};
    t.fill(255);
    const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    for (int k = 0; k < 64; ++k) t[static_cast<unsigned char>(alphabet[k])] = uint8_t(k);
    t['='] = 64;
    return t;
  }();
  auto bad = [&](const std::string& why) {
    std::string shown(text.substr(0, 64));
    if (text.size() > 64) shown += "…";
    return Status::InvalidArgument("Invalid base64 string: " + why + " (\"" + shown + "\")");
  };
  if (text.size() % 4 != 0) return bad("length is not a multiple of 4");
  if (text.empty()) return std::vector<float>();
  // Padding only in the last quad: decoded length is known before decoding.
  size_t pad = 0;
  if (text.back() == '=') pad = text[text.size() - 2] == '=' ? 2 : 1;
  const size_t byte_count = text.size() / 4 * 3 - pad;
  if (byte_count % 4 != 0) {
    return bad("decoded length " + std::to_string(byte_count) + " is not a multiple of 4");
  }
  std::vector<float> out(byte_count / 4);
  auto* dst = reinterpret_cast<unsigned char*>(out.data());
  const auto* src = reinterpret_cast<const unsigned char*>(text.data());
  const size_t quads = text.size() / 4;
  // Every quad but the last: four alphabet characters, three bytes.
  for (size_t q = 0; q + 1 < quads; ++q) {
    const unsigned char* c = src + q * 4;
    const uint32_t a = kValue[c[0]], b = kValue[c[1]], d = kValue[c[2]], e = kValue[c[3]];
    if ((a | b | d | e) >= 64) {
      for (int k = 0; k < 4; ++k) {
        if (kValue[c[k]] == 64) return bad("padding in the middle");
        if (kValue[c[k]] == 255) {
          return bad("invalid character at offset " + std::to_string(q * 4 + k));
        }
      }
    }
    const uint32_t triple = (a << 18) | (b << 12) | (d << 6) | e;
    dst[0] = static_cast<unsigned char>(triple >> 16);
    dst[1] = static_cast<unsigned char>(triple >> 8);
    dst[2] = static_cast<unsigned char>(triple);
    dst += 3;
  }
  // The last quad, with its padding.
  const size_t i = (quads - 1) * 4;
  uint32_t v[4];
  for (size_t k = 0; k < 4; ++k) {
    const uint8_t x = kValue[src[i + k]];
    if (x == 64 && k >= 4 - pad) {
      v[k] = 0;
    } else if (x == 64) {
      return bad("padding in the middle");
    } else if (x == 255) {
      return bad("invalid character at offset " + std::to_string(i + k));
    } else {
      v[k] = x;
    }
  }
  // Canonical encodings only (RFC 4648 §3.5), as Chroma's decoder (the Rust base64 crate's
  // STANDARD engine) requires: the bits after the last byte, before the padding, are zero.
  if ((pad == 1 && (v[2] & 0x3) != 0) || (pad == 2 && (v[1] & 0xf) != 0)) {
    return bad("non-zero bits before the padding at offset " + std::to_string(i + 3 - pad));
  }
  const uint32_t triple = (v[0] << 18) | (v[1] << 12) | (v[2] << 6) | v[3];
  *dst++ = static_cast<unsigned char>(triple >> 16);
  if (pad < 2) *dst++ = static_cast<unsigned char>(triple >> 8);
  if (pad < 1) *dst++ = static_cast<unsigned char>(triple);
  return out;
}

std::string_view IncludeName(IncludeField field) {
  switch (field) {
    case IncludeField::kDocuments: return "documents";
    case IncludeField::kEmbeddings: return "embeddings";
    case IncludeField::kMetadatas: return "metadatas";
    case IncludeField::kDistances: return "distances";
    case IncludeField::kUris: return "uris";
  }
  return "";
}

Result<RecordWriteRequest> DecodeRecordWrite(std::string_view body, RecordWriteKind kind) {
  JsonBody json;
  ASSIGN_OR_RETURN(
      simdjson::dom::object obj,
      ParseObject(json, body, {"ids", "embeddings", "documents", "uris", "metadatas"}));
  RecordWriteRequest req;
  simdjson::dom::element ids_el;
  if (obj.at_key("ids").get(ids_el)) return ShapeError("", "missing field `ids`");
  ASSIGN_OR_RETURN(req.ids, DecodeIds(ids_el, "ids"));
  // Null rows ("unchanged") are allowed only in update; Chroma refuses them in upsert.
  ASSIGN_OR_RETURN(req.embeddings,
                   DecodeWriteEmbeddings(body, obj, kind == RecordWriteKind::kUpdate,
                                         kind != RecordWriteKind::kUpdate));
  ASSIGN_OR_RETURN(req.documents, DecodeOptionalStrings(obj, "documents"));
  ASSIGN_OR_RETURN(req.uris, DecodeOptionalStrings(obj, "uris"));
  ASSIGN_OR_RETURN(req.metadatas, DecodeMetadatas(obj, kind != RecordWriteKind::kAdd));
  return req;
}

Result<GetRequest> DecodeGet(std::string_view body, WhereDialect dialect) {
  JsonBody json;
  ASSIGN_OR_RETURN(
      simdjson::dom::object obj,
      ParseObject(json, body, {"ids", "where", "where_document", "limit", "offset", "include"}));
  GetRequest req;
  if (dialect == WhereDialect::kV1) {
    // v1 clients send `"sort": null`; a sort was never implemented (Chroma answered 500).
    if (Field(obj, "sort")) {
      return Status::InvalidArgument("Sorting is not supported: `sort` must be null or absent");
    }
  }
  ASSIGN_OR_RETURN(req.ids, DecodeOptionalIds(obj));
  RETURN_IF_ERROR(DecodeFilters(obj, &req.where, &req.where_document, dialect));
  ASSIGN_OR_RETURN(req.limit, OptionalU32(obj, "limit"));
  ASSIGN_OR_RETURN(auto offset, OptionalU32(obj, "offset"));
  req.offset = offset.value_or(0);
  ASSIGN_OR_RETURN(
      req.include,
      DecodeInclude(obj, {IncludeField::kDocuments, IncludeField::kMetadatas}, dialect));
  return req;
}

Result<QueryRequest> DecodeQuery(std::string_view body, WhereDialect dialect) {
  JsonBody json;
  ASSIGN_OR_RETURN(simdjson::dom::object obj, ParseObject(json, body,
                                                          {"query_embeddings", "n_results", "ids",
                                                           "where", "where_document", "include"}));
  QueryRequest req;
  simdjson::dom::element qe;
  if (obj.at_key("query_embeddings").get(qe) || qe.is_null()) {
    return ShapeError("", "missing field `query_embeddings`");
  }
  simdjson::dom::array arr;
  if (qe.get_array().get(arr)) return TypeError("query_embeddings", qe, "a sequence");
  std::vector<std::optional<std::vector<float>>> rows;
  size_t i = 0;
  bool need_tokens = false;
  for (auto e : arr) {
    std::string path = "query_embeddings[" + std::to_string(i++) + "]";
    simdjson::dom::array inner;
    if (e.get_array().get(inner)) return TypeError(path, e, "a sequence");
    size_t j = 0;
    for (auto x : inner) {
      T t = x.type();
      if (t != T::DOUBLE && t != T::INT64 && t != T::UINT64) {
        return TypeError(path + "[" + std::to_string(j) + "]", x, "f32");
      }
      ++j;
    }
    need_tokens = need_tokens || inner.size() > 0;
    rows.emplace_back(std::vector<float>());
  }
  if (need_tokens) RETURN_IF_ERROR(ReadFloatRows(body, "query_embeddings", &rows));
  for (auto& r : rows) req.query_embeddings.push_back(std::move(*r));
  ASSIGN_OR_RETURN(auto n, OptionalU32(obj, "n_results"));
  req.n_results = n.value_or(10);
  ASSIGN_OR_RETURN(req.ids, DecodeOptionalIds(obj));
  RETURN_IF_ERROR(DecodeFilters(obj, &req.where, &req.where_document, dialect));
  ASSIGN_OR_RETURN(req.include, DecodeInclude(obj,
                                              {IncludeField::kDocuments, IncludeField::kMetadatas,
                                               IncludeField::kDistances},
                                              dialect));
  return req;
}

Result<DeleteRequest> DecodeDelete(std::string_view body, WhereDialect dialect) {
  JsonBody json;
  ASSIGN_OR_RETURN(simdjson::dom::object obj,
                   ParseObject(json, body, {"ids", "where", "where_document", "limit"}));
  DeleteRequest req;
  ASSIGN_OR_RETURN(req.ids, DecodeOptionalIds(obj));
  RETURN_IF_ERROR(DecodeFilters(obj, &req.where, &req.where_document, dialect));
  ASSIGN_OR_RETURN(req.limit, OptionalU32(obj, "limit"));
  return req;
}

}  // namespace chromahouse

namespace chromahouse {
namespace {

void WriteEmbedding(JsonWriter& w, const RecordView& v) {
  w.BeginArray();
  for (size_t i = 0; i < v.dim; ++i) w.Float(v.embedding[i]);
  w.EndArray();
}

void WriteOptionalString(JsonWriter& w, const std::optional<std::string>* s) {
  if (s && *s) {
    w.String(**s);
  } else {
    w.Null();
  }
}

void WriteRecordMetadata(JsonWriter& w, const RecordView& v) {
  const std::string* json = v.metadata_json && *v.metadata_json ? &**v.metadata_json : nullptr;
  bool has_user_keys = false;
  std::optional<Metadata> parsed;
  if (json != nullptr && *json != "{}") {
    if (json->find("\"chroma:") == std::string::npos) {
      // No reserved key: the stored text is the answer, copied as it is.
      w.Raw(*json);
      return;
    }
    if (auto md = MetadataFromJson(*json); md.ok()) parsed = std::move(md).value();
    if (parsed) {
      for (const auto& [key, value] : *parsed) {
        if (!key.starts_with("chroma:")) has_user_keys = true;
      }
    }
  }
  if (has_user_keys) {
    WriteMetadata(w, *parsed, /*hide_reserved=*/true);
  } else if (v.uri && *v.uri) {
    // Chroma keeps the URI as a reserved metadata key, so such a record reads back as {}.
    w.BeginObject();
    w.EndObject();
  } else {
    w.Null();
  }
}

// Writes one column for `records` (a list), or null when the column is not included.
template <typename Fn>
void Column(JsonWriter& w, const char* key, bool included, const std::vector<RecordView>& records,
            Fn&& fn) {
  w.Key(key);
  if (!included) {
    w.Null();
    return;
  }
  w.BeginArray();
  for (const auto& r : records) fn(w, r);
  w.EndArray();
}

template <typename Fn>
void NestedColumn(JsonWriter& w, const char* key, bool included,
                  const std::vector<std::vector<RecordView>>& per_query, Fn&& fn) {
  w.Key(key);
  if (!included) {
    w.Null();
    return;
  }
  w.BeginArray();
  for (const auto& records : per_query) {
    w.BeginArray();
    for (const auto& r : records) fn(w, r);
    w.EndArray();
  }
  w.EndArray();
}

void WriteInclude(JsonWriter& w, const Include& include, bool v1) {
  if (v1) {
    w.Key("data");
    w.Null();
  }
  w.Key(v1 ? "included" : "include");
  w.BeginArray();
  for (auto f : include.fields) w.String(IncludeName(f));
  w.EndArray();
}

}  // namespace

size_t EncodedSizeEstimate(const std::vector<RecordView>& records, const Include& include) {
  size_t dim = records.empty() ? 0 : records[0].dim;
  return 64 + records.size() * (48 + (include.Has(IncludeField::kEmbeddings) ? dim * 12 : 0));
}

size_t EncodedSizeEstimate(const std::vector<std::vector<RecordView>>& per_query,
                           const Include& include) {
  size_t out = 64;
  for (const auto& records : per_query) out += EncodedSizeEstimate(records, include) + 16;
  return out;
}

std::string EncodeGetResponse(const std::vector<RecordView>& records, const Include& include,
                              bool v1, std::string buffer) {
  std::string out = std::move(buffer);
  out.clear();
  out.reserve(EncodedSizeEstimate(records, include));
  JsonWriter w(&out);
  w.BeginObject();
  Column(w, "ids", true, records, [](JsonWriter& w, const RecordView& r) { w.String(r.id); });
  Column(w, "embeddings", include.Has(IncludeField::kEmbeddings), records, WriteEmbedding);
  Column(w, "documents", include.Has(IncludeField::kDocuments), records,
         [](JsonWriter& w, const RecordView& r) { WriteOptionalString(w, r.document); });
  Column(w, "uris", include.Has(IncludeField::kUris), records,
         [](JsonWriter& w, const RecordView& r) { WriteOptionalString(w, r.uri); });
  Column(w, "metadatas", include.Has(IncludeField::kMetadatas), records, WriteRecordMetadata);
  WriteInclude(w, include, v1);
  w.EndObject();
  return out;
}

std::string EncodeQueryResponse(const std::vector<std::vector<RecordView>>& per_query,
                                const Include& include, bool v1, std::string buffer) {
  std::string out = std::move(buffer);
  out.clear();
  JsonWriter w(&out);
  w.BeginObject();
  NestedColumn(w, "ids", true, per_query,
               [](JsonWriter& w, const RecordView& r) { w.String(r.id); });
  NestedColumn(w, "embeddings", include.Has(IncludeField::kEmbeddings), per_query, WriteEmbedding);
  NestedColumn(w, "documents", include.Has(IncludeField::kDocuments), per_query,
               [](JsonWriter& w, const RecordView& r) { WriteOptionalString(w, r.document); });
  NestedColumn(w, "uris", include.Has(IncludeField::kUris), per_query,
               [](JsonWriter& w, const RecordView& r) { WriteOptionalString(w, r.uri); });
  NestedColumn(w, "metadatas", include.Has(IncludeField::kMetadatas), per_query,
               WriteRecordMetadata);
  NestedColumn(w, "distances", include.Has(IncludeField::kDistances), per_query,
               [](JsonWriter& w, const RecordView& r) { w.Float(r.distance); });
  WriteInclude(w, include, v1);
  w.EndObject();
  return out;
}

}  // namespace chromahouse
