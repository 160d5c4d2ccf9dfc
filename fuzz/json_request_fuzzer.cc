// Fuzz target: the JSON request decoders of codec/ (record_codec.h, catalog_codec.h) and the
// encoders of what they decode, for the v2 API and the v1 API's variants.
//
// Input: one selector byte, then the request body. The selector picks the decoder:
//   'a' add, 'u' upsert, 'p' update (DecodeRecordWrite), 'g' DecodeGet, 'q' DecodeQuery,
//   'd' DecodeDelete, 'n' DecodeNameBody, 't' DecodeUpdateTenant, 'c' DecodeCreateCollection,
//   'm' DecodeUpdateCollection, and the v1 API's: 'G' DecodeGet, 'Q' DecodeQuery, 'D' DecodeDelete
//   (WhereDialect::kV1), 'C' DecodeCreateCollectionV1; any other byte picks by its value modulo 14
//   in that order.
// Invariants (abort() on violation):
//   - a rejected body is a 400 or a 422, never another code (no Internal "cannot re-read");
//   - an embedding is rejected as "NaN or infinity" only if it holds a number beyond float32's
//     range or a base64 row decoding to NaN/Inf; an accepted number is the float32 nearest to
//     its decimal value (checked within one ulp of simdjson's double rounded to float);
//   - every decoded where / where_document survives the EncodeWhere round trip;
//   - a decoded request, written back canonically (the fields it holds, in JSON), decodes to
//     the same request; for writes, the get response of the written records (EncodeGetResponse)
//     decodes, as a write of the same kind, to the same ids, embeddings (bit for bit),
//     documents, uris and visible metadata;
//   - stored forms round trip: MetadataFromJson(MetadataToJson(m)) == m, and
//     ConfigurationFromStoredJson(ConfigurationToStoredJson(c)) == c;
//   - response encoders (EncodeGetResponse, EncodeQueryResponse, WriteCollection,
//     WriteCollectionV1, WriteTenant, WriteDatabase) write valid JSON;
//   - v1 get / query / delete: a body both dialects accept decodes to the same request; a body
//     v1 accepts decodes, in v2, to the same request once rewritten without its v1-only forms
//     ("data" taken out of include, a top-level {} filter written as {"$and": []}, i.e.
//     Where::MatchAll()); the v1 responses (EncodeGetResponse / EncodeQueryResponse with v1) are
//     the v2 ones, key for key, with "data": null added and "include" renamed "included";
//   - v1 create collection: a body without a legacy configuration (no "configuration" whose
//     first "hnsw_configuration" member is an object) decodes exactly as DecodeCreateCollection
//     decodes it, same status on failure; with one, it decodes iff the v2 body with each such
//     configuration replaced by {"hnsw": {…}} (the legacy keys space, ef_construction,
//     ef_search, M → max_neighbors, resize_factor, sync_threshold, batch_size, num_threads, their
//     values as written; other keys dropped) decodes, to the same request; the legacy
//     configuration WriteCollectionV1 writes, sent back in a v1 create body, decodes to the same
//     HNSW parameters.
#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "codec/catalog_codec.h"
#include "codec/record_codec.h"
#include "codec/where_codec.h"
#include "common/json_writer.h"
#include "core/catalog.h"
#include "core/metadata.h"
#include "fuzz/fuzz_util.h"

namespace chromahouse {
namespace {

using fuzz::StatusText;

// 2^128 - 2^103: the smallest magnitude that rounds to infinity as a float32 (exact in double).
constexpr double kFloat32Overflow = 340282356779733661637539395458142568448.0;

enum class Decoder {
  kAdd,
  kUpsert,
  kUpdate,
  kGet,
  kQuery,
  kDelete,
  kNameBody,
  kUpdateTenant,
  kCreateCollection,
  kUpdateCollection,
  kGetV1,
  kQueryV1,
  kDeleteV1,
  kCreateCollectionV1,
};
constexpr std::string_view kSelectors = "aupgqdntcmGQDC";

Decoder Select(uint8_t byte) {
  size_t at = kSelectors.find(static_cast<char>(byte));
  if (at == std::string_view::npos) at = byte % kSelectors.size();
  return static_cast<Decoder>(at);
}

// ---------------------------------------------------------------------------------------------
// Errors and embeddings.

void CheckError(const Status& status) {
  FUZZ_CHECK(status.code() == StatusCode::kInvalidArgument ||
                 status.code() == StatusCode::kUnprocessableEntity,
             "a rejected body is neither 400 nor 422: " + StatusText(status));
}

double NumberOf(simdjson::dom::element x) {
  using T = simdjson::dom::element_type;
  switch (x.type()) {
    case T::INT64: return double(x.get_int64().value());
    case T::UINT64: return double(x.get_uint64().value());
    default: return x.get_double().value();
  }
}

// The array at top-level key `field` of an accepted body.
simdjson::dom::array FieldArray(simdjson::dom::parser& parser, std::string_view body,
                                std::string_view field) {
  simdjson::dom::element root;
  FUZZ_CHECK(fuzz::ParseJson(parser, body, &root), std::string("accepted body is not JSON"));
  simdjson::dom::array arr;
  FUZZ_CHECK(!root[field].get_array().get(arr), "accepted body has no array " + std::string(field));
  return arr;
}

// `rows[i]` is the decoded row i (nullptr for a null or base64 row).
void CheckNumberRows(std::string_view body, std::string_view field,
                     const std::vector<const std::vector<float>*>& rows) {
  simdjson::dom::parser parser;
  simdjson::dom::array outer = FieldArray(parser, body, field);
  FUZZ_CHECK(outer.size() == rows.size(), std::string(field) + ": row count differs");
  size_t i = 0;
  for (simdjson::dom::element row : outer) {
    simdjson::dom::array inner;
    if (row.get_array().get(inner)) {
      ++i;
      continue;
    }
    const std::vector<float>* decoded = rows[i];
    FUZZ_CHECK(decoded != nullptr && decoded->size() == inner.size(),
               std::string(field) + ": row " + std::to_string(i) + " lost numbers");
    size_t j = 0;
    for (simdjson::dom::element x : inner) {
      const double d = NumberOf(x);
      const float f = (*decoded)[j++];
      auto where = [&] {
        return std::string(field) + "[" + std::to_string(i) + "] " + simdjson::minify(x) + " -> " +
               std::to_string(f);
      };
      FUZZ_CHECK(std::isfinite(f) && std::fabs(d) < kFloat32Overflow,
                 "a number beyond float32's range was accepted: " + where());
      // |d| < 2^128 - 2^103 rounds to at most FLT_MAX.
      constexpr float kMax = std::numeric_limits<float>::max();
      const float g = std::fabs(d) <= kMax ? static_cast<float>(d) : d > 0 ? kMax : -kMax;
      FUZZ_CHECK(f == g || f == std::nextafter(g, INFINITY) || f == std::nextafter(g, -INFINITY),
                 "an embedding number is not rounded to the nearest float32: " + where());
    }
    ++i;
  }
}

// A "NaN or infinity" rejection must have a cause in the body.
void CheckNonFiniteRejection(std::string_view body, std::string_view field, const Status& status) {
  // The message quotes no input here (an invalid base64 string is quoted, so match the form).
  const std::string prefix = "Validation error: " + std::string(field) + ": embedding at index ";
  if (!status.message().starts_with(prefix) ||
      !status.message().ends_with("contains NaN or infinity")) {
    return;
  }
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  FUZZ_CHECK(fuzz::ParseJson(parser, body, &root),
             "non-JSON body rejected as NaN: " + StatusText(status));
  simdjson::dom::array outer;
  FUZZ_CHECK(!root[field].get_array().get(outer), "NaN rejection without " + std::string(field));
  bool cause = false;
  for (simdjson::dom::element row : outer) {
    simdjson::dom::array inner;
    std::string_view text;
    if (!row.get_array().get(inner)) {
      for (simdjson::dom::element x : inner) {
        cause = cause || (x.is_number() && std::fabs(NumberOf(x)) >= kFloat32Overflow);
      }
    } else if (!row.get_string().get(text)) {
      Result<std::vector<float>> floats = DecodeBase64Floats(text);
      if (!floats.ok()) continue;
      for (float f : *floats) cause = cause || !std::isfinite(f);
    }
  }
  FUZZ_CHECK(cause, "finite embeddings rejected: " + StatusText(status) + " for " +
                        std::string(body.substr(0, 300)));
}

// ---------------------------------------------------------------------------------------------
// Raw JSON text: the v1 → v2 rewrites below keep every value's text as written (so they do not
// share the codec's re-encoding). Only used on bodies simdjson has parsed, i.e. valid JSON.

size_t SkipSpace(std::string_view t, size_t i) {
  while (i < t.size() && (t[i] == ' ' || t[i] == '\t' || t[i] == '\n' || t[i] == '\r')) ++i;
  return i;
}

// `t[i]` is the opening quote; returns the index past the closing one.
size_t StringEnd(std::string_view t, size_t i) {
  for (++i; i < t.size() && t[i] != '"'; ++i) {
    if (t[i] == '\\') ++i;
  }
  return std::min(i + 1, t.size());
}

// `t[i]` starts a value; returns the index past its end.
size_t ValueEnd(std::string_view t, size_t i) {
  if (i >= t.size()) return i;
  if (t[i] == '"') return StringEnd(t, i);
  if (t[i] == '{' || t[i] == '[') {
    int depth = 0;
    while (i < t.size()) {
      if (t[i] == '"') {
        i = StringEnd(t, i);
        continue;
      }
      if (t[i] == '{' || t[i] == '[') ++depth;
      if (t[i] == '}' || t[i] == ']') --depth;
      ++i;
      if (depth == 0) break;
    }
    return i;
  }
  while (i < t.size() && std::string_view(",]} \t\n\r").find(t[i]) == std::string_view::npos) ++i;
  return i;
}

std::string_view Trim(std::string_view t) {
  const size_t begin = SkipSpace(t, 0);
  return t.substr(begin, ValueEnd(t, begin) - begin);
}

// The string a JSON string literal holds; nullopt for any other value.
std::optional<std::string> AsString(std::string_view raw) {
  if (raw.empty() || raw.front() != '"') return std::nullopt;
  simdjson::dom::parser parser;
  simdjson::dom::element el;
  std::string_view s;
  if (!fuzz::ParseJson(parser, raw, &el) || el.get_string().get(s)) return std::nullopt;
  return std::string(s);
}

struct Member {
  std::string key;  // unescaped; empty for array elements
  std::string_view value;
};

// The members of an object's text, in order and duplicates included, or the elements of an
// array's text; nothing for any other value.
std::vector<Member> Children(std::string_view raw) {
  std::vector<Member> out;
  const std::string_view t = Trim(raw);
  if (t.empty() || (t.front() != '{' && t.front() != '[')) return out;
  const bool object = t.front() == '{';
  size_t i = SkipSpace(t, 1);
  while (i < t.size() && t[i] != '}' && t[i] != ']') {
    Member m;
    if (object) {
      const size_t key_end = StringEnd(t, i);
      m.key = AsString(t.substr(i, key_end - i)).value_or("");
      i = SkipSpace(t, SkipSpace(t, key_end) + 1);  // past the ':'
    }
    const size_t end = ValueEnd(t, i);
    m.value = t.substr(i, end - i);
    out.push_back(std::move(m));
    i = SkipSpace(t, end);
    if (i < t.size() && t[i] == ',') i = SkipSpace(t, i + 1);
  }
  return out;
}

bool IsObjectText(std::string_view raw) {
  const std::string_view t = Trim(raw);
  return !t.empty() && t.front() == '{';
}

bool IsJsonObject(std::string_view body) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  return fuzz::ParseJson(parser, body, &root) && root.is_object();
}

// ---------------------------------------------------------------------------------------------
// Canonical re-encoding of decoded requests.

void WriteStrings(JsonWriter& w, const std::vector<std::string>& values) {
  w.BeginArray();
  for (const auto& v : values) w.String(v);
  w.EndArray();
}

void WriteFloats(JsonWriter& w, const std::vector<float>& values) {
  w.BeginArray();
  for (float f : values) w.Float(f);
  w.EndArray();
}

void WriteInclude(JsonWriter& w, const Include& include) {
  w.Key("include");
  w.BeginArray();
  for (IncludeField f : include.fields) w.String(IncludeName(f));
  w.EndArray();
}

void WriteFilters(JsonWriter& w, const std::optional<Where>& where,
                  const std::optional<Where>& where_document) {
  if (where) {
    w.Key("where");
    w.Raw(EncodeWhere(*where));
  }
  if (where_document) {
    w.Key("where_document");
    fuzz::WriteWhereDocument(w, *where_document);
  }
}

void CheckFilters(const std::optional<Where>& where, const std::optional<Where>& where_document) {
  if (where) fuzz::CheckWhereRoundTrip(*where);
  if (where_document) fuzz::CheckWhereDocumentRoundTrip(*where_document);
}

void CheckStoredMetadata(const Metadata& metadata) {
  const std::string json = MetadataToJson(metadata);
  Result<Metadata> back = MetadataFromJson(json);
  FUZZ_CHECK(back.ok() && *back == metadata, "stored metadata does not round trip: " + json);
}

// Parses an encoder's output; returns the root.
simdjson::dom::element ParseOutput(simdjson::dom::parser& parser, const std::string& json,
                                   const char* encoder) {
  simdjson::dom::element root;
  FUZZ_CHECK(fuzz::ParseJson(parser, json, &root),
             std::string(encoder) + " wrote invalid JSON: " + json.substr(0, 300));
  return root;
}

void CheckIncludeEcho(const std::string& response, const Include& include, const char* encoder) {
  simdjson::dom::parser parser;
  simdjson::dom::element root = ParseOutput(parser, response, encoder);
  simdjson::dom::array echoed;
  FUZZ_CHECK(!root["include"].get_array().get(echoed), std::string(encoder) + ": no include");
  std::vector<std::string> names;
  for (simdjson::dom::element e : echoed) names.emplace_back(e.get_string().value());
  std::vector<std::string> want;
  for (IncludeField f : include.fields) want.emplace_back(IncludeName(f));
  FUZZ_CHECK(names == want, std::string(encoder) + " does not echo include verbatim");
}

// ---------------------------------------------------------------------------------------------
// add / upsert / update

struct WrittenRecord {
  std::string id;
  std::vector<float> embedding;  // empty when absent or null
  std::optional<std::string> document;
  std::optional<std::string> uri;
  Metadata visible_metadata;  // keys not starting with "chroma:"
};

template <typename T>
const T* Row(const std::optional<std::vector<T>>& column, size_t i) {
  return column && i < column->size() ? &(*column)[i] : nullptr;
}

std::vector<WrittenRecord> Written(const RecordWriteRequest& req) {
  std::vector<WrittenRecord> out(req.ids.size());
  for (size_t i = 0; i < req.ids.size(); ++i) {
    WrittenRecord& r = out[i];
    r.id = req.ids[i];
    if (const auto* e = Row(req.embeddings, i); e && *e) r.embedding = **e;
    if (const auto* d = Row(req.documents, i)) r.document = *d;
    if (const auto* u = Row(req.uris, i)) r.uri = *u;
    if (const auto* m = Row(req.metadatas, i); m && *m) {
      for (const auto& [key, value] : (*m)->set) {
        if (!key.starts_with("chroma:")) r.visible_metadata.emplace(key, value);
      }
    }
  }
  return out;
}

bool SameRecords(const std::vector<WrittenRecord>& a, const std::vector<WrittenRecord>& b,
                 std::string* why) {
  if (a.size() != b.size()) {
    *why = "record count " + std::to_string(a.size()) + " vs " + std::to_string(b.size());
    return false;
  }
  for (size_t i = 0; i < a.size(); ++i) {
    const char* field = a[i].id != b[i].id                                ? "id"
                        : !fuzz::SameBits(a[i].embedding, b[i].embedding) ? "embedding"
                        : a[i].document != b[i].document                  ? "document"
                        : a[i].uri != b[i].uri                            ? "uri"
                        : a[i].visible_metadata != b[i].visible_metadata  ? "metadata"
                                                                          : nullptr;
    if (field != nullptr) {
      *why = std::string(field) + " of record " + std::to_string(i);
      return false;
    }
  }
  return true;
}

void CheckRecordWrite(std::string_view body, RecordWriteKind kind, const RecordWriteRequest& req) {
  std::vector<const std::vector<float>*> rows;
  if (req.embeddings) {
    for (const auto& row : *req.embeddings) {
      FUZZ_CHECK(
          !row || std::all_of(row->begin(), row->end(), [](float f) { return std::isfinite(f); }),
          std::string("an accepted embedding holds NaN or infinity"));
      rows.push_back(row ? &*row : nullptr);
    }
    // Base64 rows are checked by base64_fuzzer; here only rows written as numbers.
    CheckNumberRows(body, "embeddings", rows);
  }
  if (req.metadatas) {
    for (const auto& patch : *req.metadatas) {
      if (patch) CheckStoredMetadata(patch->set);
    }
  }

  // The get response of these records, sent back as a write of the same kind.
  const size_t n = req.ids.size();
  std::vector<std::optional<std::string>> metadata(n);
  std::vector<RecordView> views(n);
  for (size_t i = 0; i < n; ++i) {
    RecordView& v = views[i];
    v.id = req.ids[i];
    if (const auto* e = Row(req.embeddings, i); e && *e) {
      v.embedding = (*e)->data();
      v.dim = (*e)->size();
    }
    v.document = Row(req.documents, i);
    v.uri = Row(req.uris, i);
    if (const auto* m = Row(req.metadatas, i); m && *m) metadata[i] = MetadataToJson((*m)->set);
    v.metadata_json = &metadata[i];
  }
  Include all{{IncludeField::kDocuments, IncludeField::kEmbeddings, IncludeField::kMetadatas,
               IncludeField::kUris}};
  const std::string response = EncodeGetResponse(views, all);
  CheckIncludeEcho(response, all, "EncodeGetResponse");
  Result<RecordWriteRequest> again = DecodeRecordWrite(response, kind);
  FUZZ_CHECK(again.ok(), "a get response does not decode as a write: " +
                             StatusText(again.status()) + " for " + response.substr(0, 300));
  std::string why;
  FUZZ_CHECK(SameRecords(Written(req), Written(*again), &why),
             "a get response, written back, changes the records (" + why +
                 "): " + response.substr(0, 300));
}

// ---------------------------------------------------------------------------------------------
// get / query / delete

bool SameGet(const GetRequest& a, const GetRequest& b) {
  return a.ids == b.ids && a.where == b.where && a.where_document == b.where_document &&
         a.limit == b.limit && a.offset == b.offset && a.include.fields == b.include.fields;
}

bool SameQuery(const QueryRequest& a, const QueryRequest& b) {
  bool same_embeddings = a.query_embeddings.size() == b.query_embeddings.size();
  for (size_t i = 0; same_embeddings && i < a.query_embeddings.size(); ++i) {
    same_embeddings = fuzz::SameBits(a.query_embeddings[i], b.query_embeddings[i]);
  }
  return same_embeddings && a.n_results == b.n_results && a.ids == b.ids && a.where == b.where &&
         a.where_document == b.where_document && a.include.fields == b.include.fields;
}

bool SameDelete(const DeleteRequest& a, const DeleteRequest& b) {
  return a.ids == b.ids && a.where == b.where && a.where_document == b.where_document &&
         a.limit == b.limit;
}

void CheckGet(const GetRequest& req) {
  CheckFilters(req.where, req.where_document);
  JsonWriter w;
  w.BeginObject();
  if (req.ids) {
    w.Key("ids");
    WriteStrings(w, *req.ids);
  }
  WriteFilters(w, req.where, req.where_document);
  if (req.limit) {
    w.Key("limit");
    w.Int(*req.limit);
  }
  w.Key("offset");
  w.Int(req.offset);
  WriteInclude(w, req.include);
  w.EndObject();
  const std::string text = w.Take();
  Result<GetRequest> again = DecodeGet(text);
  FUZZ_CHECK(again.ok(), "re-encoded get does not decode: " + StatusText(again.status()) + " for " +
                             text.substr(0, 300));
  FUZZ_CHECK(SameGet(*again, req), "re-encoded get decodes differently: " + text.substr(0, 300));
  CheckIncludeEcho(EncodeGetResponse({}, req.include), req.include, "EncodeGetResponse");
}

void CheckQuery(std::string_view body, const QueryRequest& req) {
  std::vector<const std::vector<float>*> rows;
  for (const auto& row : req.query_embeddings) rows.push_back(&row);
  CheckNumberRows(body, "query_embeddings", rows);
  CheckFilters(req.where, req.where_document);
  JsonWriter w;
  w.BeginObject();
  w.Key("query_embeddings");
  w.BeginArray();
  for (const auto& row : req.query_embeddings) WriteFloats(w, row);
  w.EndArray();
  w.Key("n_results");
  w.Int(req.n_results);
  if (req.ids) {
    w.Key("ids");
    WriteStrings(w, *req.ids);
  }
  WriteFilters(w, req.where, req.where_document);
  WriteInclude(w, req.include);
  w.EndObject();
  const std::string text = w.Take();
  Result<QueryRequest> again = DecodeQuery(text);
  FUZZ_CHECK(again.ok(), "re-encoded query does not decode: " + StatusText(again.status()) +
                             " for " + text.substr(0, 300));
  FUZZ_CHECK(SameQuery(*again, req),
             "re-encoded query decodes differently: " + text.substr(0, 300));
  CheckIncludeEcho(
      EncodeQueryResponse(std::vector<std::vector<RecordView>>(req.query_embeddings.size()),
                          req.include),
      req.include, "EncodeQueryResponse");
}

void CheckDelete(const DeleteRequest& req) {
  CheckFilters(req.where, req.where_document);
  JsonWriter w;
  w.BeginObject();
  if (req.ids) {
    w.Key("ids");
    WriteStrings(w, *req.ids);
  }
  WriteFilters(w, req.where, req.where_document);
  if (req.limit) {
    w.Key("limit");
    w.Int(*req.limit);
  }
  w.EndObject();
  const std::string text = w.Take();
  Result<DeleteRequest> again = DecodeDelete(text);
  FUZZ_CHECK(again.ok(), "re-encoded delete does not decode: " + StatusText(again.status()) +
                             " for " + text.substr(0, 300));
  FUZZ_CHECK(SameDelete(*again, req),
             "re-encoded delete decodes differently: " + text.substr(0, 300));
}

// ---------------------------------------------------------------------------------------------
// v1 get / query / delete

// The v2 body that reads as the v1 body `body` does: "data" taken out of include, a top-level
// {} where / where_document (v1: no filter) written as {"$and": []}, Where::MatchAll(); every
// other value as written. nullopt when `body` is not a JSON object.
std::optional<std::string> V2BodyOfV1(std::string_view body) {
  if (!IsJsonObject(body)) return std::nullopt;
  JsonWriter w;
  w.BeginObject();
  for (const Member& m : Children(body)) {
    w.Key(m.key);
    if (m.key == "include" && !Trim(m.value).empty() && Trim(m.value).front() == '[') {
      w.BeginArray();
      for (const Member& e : Children(m.value)) {
        if (AsString(e.value) != "data") w.Raw(e.value);
      }
      w.EndArray();
    } else if ((m.key == "where" || m.key == "where_document") && IsObjectText(m.value) &&
               Children(m.value).empty()) {
      w.Raw(R"({"$and":[]})");
    } else {
      w.Raw(m.value);
    }
  }
  w.EndObject();
  return w.Take();
}

// `v1` was decoded from `body` in the v1 dialect: v2 reads the body (if it accepts it) and its
// v2 rewrite as the same request.
template <typename Request, typename Decode, typename Same>
void CheckV1Request(std::string_view body, const Request& v1, Decode decode, Same same,
                    const char* what) {
  Result<Request> v2 = decode(body, WhereDialect::kV2);
  FUZZ_CHECK(!v2.ok() || same(*v2, v1),
             std::string("v1 and v2 decode a ") + what +
                 " body differently: " + std::string(body.substr(0, 300)));
  const std::optional<std::string> rewritten = V2BodyOfV1(body);
  FUZZ_CHECK(rewritten.has_value(),
             std::string("v1 accepted a ") + what + " body that is no object");
  Result<Request> again = decode(*rewritten, WhereDialect::kV2);
  FUZZ_CHECK(again.ok(), std::string("the v2 rewrite of an accepted v1 ") + what +
                             " body is rejected: " + StatusText(again.status()) + " for " +
                             rewritten->substr(0, 300));
  FUZZ_CHECK(same(*again, v1), std::string("the v2 rewrite of a v1 ") + what +
                                   " body decodes differently: " + rewritten->substr(0, 300));
}

// Records for the response encoders: every column filled, then every column empty.
const std::vector<RecordView>& SampleRecords() {
  static const std::vector<float> embedding = {0.5f, -0.0f, 3.4028235e38f, 1.4e-45f};
  static const std::optional<std::string> document = std::string("doc \"q\"\n\u00e9");
  static const std::optional<std::string> uri = std::string("s3://bucket/key");
  static const std::optional<std::string> none;
  static const std::optional<std::string> metadata = MetadataToJson(
      Metadata{{"k", int64_t{1}}, {"f", 2.0}, {"chroma:document", std::string("hidden")}});
  static const std::optional<std::string> no_metadata;
  static const std::vector<RecordView> records = {
      RecordView{"id-1", embedding.data(), embedding.size(), &document, &uri, &metadata, 0.25f},
      RecordView{"", nullptr, 0, &none, &none, &no_metadata, -0.0f},
  };
  return records;
}

// `v1` is `v2` with "data": null added and "include" renamed "included", key for key.
void CheckV1Response(const std::string& v2, const std::string& v1, const char* encoder) {
  simdjson::dom::parser parser2;
  simdjson::dom::parser parser1;
  const std::string name = std::string(encoder) + "(v1)";
  simdjson::dom::object root2;
  simdjson::dom::object root1;
  FUZZ_CHECK(!ParseOutput(parser2, v2, encoder).get_object().get(root2),
             std::string(encoder) + " wrote no object");
  FUZZ_CHECK(!ParseOutput(parser1, v1, name.c_str()).get_object().get(root1),
             name + " wrote no object");
  FUZZ_CHECK(root1.size() == root2.size() + 1, name +
                                                   " has other keys than the v2 response plus "
                                                   "\"data\": " +
                                                   v1.substr(0, 300));
  simdjson::dom::element data;
  FUZZ_CHECK(!root1.at_key("data").get(data) && data.is_null(), name + ": \"data\" is not null");
  simdjson::dom::element unused;
  FUZZ_CHECK(root1.at_key("include").get(unused), name + " writes \"include\"");
  for (auto field : root2) {
    const std::string_view key = field.key == "include" ? "included" : field.key;
    simdjson::dom::element value;
    FUZZ_CHECK(!root1.at_key(key).get(value), name + " lacks \"" + std::string(key) + "\"");
    FUZZ_CHECK(
        simdjson::minify(value) == simdjson::minify(field.value),
        name + ": \"" + std::string(key) + "\" differs from the v2 response: " + v1.substr(0, 300));
  }
}

void CheckV1GetResponse(const Include& include) {
  for (const std::vector<RecordView>& records : {std::vector<RecordView>(), SampleRecords()}) {
    const std::string v1 = EncodeGetResponse(records, include, /*v1=*/true);
    CheckV1Response(EncodeGetResponse(records, include), v1, "EncodeGetResponse");
  }
}

void CheckV1QueryResponse(size_t queries, const Include& include) {
  std::vector<std::vector<RecordView>> per_query(queries);
  for (size_t i = 0; i < per_query.size(); i += 2) per_query[i] = SampleRecords();
  CheckV1Response(EncodeQueryResponse(per_query, include),
                  EncodeQueryResponse(per_query, include, /*v1=*/true), "EncodeQueryResponse");
}

// ---------------------------------------------------------------------------------------------
// Catalog

void CheckName(const std::string& name, const char* key, Decoder decoder) {
  JsonWriter w;
  w.BeginObject();
  w.Key(key);
  w.String(name);
  w.EndObject();
  const std::string text = w.Take();
  Result<std::string> again =
      decoder == Decoder::kNameBody ? DecodeNameBody(text) : DecodeUpdateTenant(text);
  FUZZ_CHECK(again.ok() && *again == name, "re-encoded name body decodes differently: " + text);

  JsonWriter out;
  out.BeginArray();
  WriteTenant(out, Tenant{name, name, 0, false});
  WriteTenant(out, Tenant{name, std::nullopt, 0, false});
  WriteDatabase(out, Database{"00000000-0000-0000-0000-000000000000", name, name, 0, false});
  out.EndArray();
  simdjson::dom::parser parser;
  ParseOutput(parser, out.Take(), "WriteTenant/WriteDatabase");
}

void WriteHnswInput(JsonWriter& w, const HnswConfigInput& h) {
  w.BeginObject();
  if (h.space) {
    w.Key("space");
    w.String(SpaceName(*h.space));
  }
  auto integer = [&w](const char* key, const std::optional<int64_t>& v) {
    if (!v) return;
    w.Key(key);
    w.Int(*v);
  };
  integer("ef_construction", h.ef_construction);
  integer("ef_search", h.ef_search);
  integer("max_neighbors", h.max_neighbors);
  integer("num_threads", h.num_threads);
  if (h.resize_factor) {
    w.Key("resize_factor");
    w.Double(*h.resize_factor);
  }
  integer("sync_threshold", h.sync_threshold);
  integer("batch_size", h.batch_size);
  w.EndObject();
}

void WriteConfigurationInput(JsonWriter& w, const CollectionConfigurationInput& c) {
  w.BeginObject();
  if (c.hnsw) {
    w.Key("hnsw");
    WriteHnswInput(w, *c.hnsw);
  }
  if (c.spann) {
    w.Key("spann");
    WriteHnswInput(w, *c.spann);
  }
  if (c.embedding_function_json) {
    w.Key("embedding_function");
    w.Raw(*c.embedding_function_json);
  }
  w.EndObject();
}

bool SameHnsw(const std::optional<HnswConfigInput>& a, const std::optional<HnswConfigInput>& b) {
  if (a.has_value() != b.has_value()) return false;
  if (!a) return true;
  return a->space == b->space && a->ef_construction == b->ef_construction &&
         a->ef_search == b->ef_search && a->max_neighbors == b->max_neighbors &&
         a->num_threads == b->num_threads && a->resize_factor == b->resize_factor &&
         a->sync_threshold == b->sync_threshold && a->batch_size == b->batch_size;
}

bool SameConfiguration(const std::optional<CollectionConfigurationInput>& a,
                       const std::optional<CollectionConfigurationInput>& b) {
  if (a.has_value() != b.has_value()) return false;
  if (!a) return true;
  return SameHnsw(a->hnsw, b->hnsw) && SameHnsw(a->spann, b->spann) &&
         a->embedding_function_json == b->embedding_function_json;
}

void ApplyHnsw(const HnswConfigInput& in, HnswConfig* out) {
  if (in.space) out->space = *in.space;
  if (in.ef_construction) out->ef_construction = *in.ef_construction;
  if (in.ef_search) out->ef_search = *in.ef_search;
  if (in.max_neighbors) out->max_neighbors = *in.max_neighbors;
  if (in.num_threads) out->num_threads = *in.num_threads;
  if (in.resize_factor) out->resize_factor = *in.resize_factor;
  if (in.sync_threshold) out->sync_threshold = *in.sync_threshold;
  if (in.batch_size) out->batch_size = *in.batch_size;
}

bool SameCreate(const CreateCollectionRequest& a, const CreateCollectionRequest& b) {
  return a.name == b.name && a.metadata == b.metadata &&
         SameConfiguration(a.configuration, b.configuration) && a.schema_json == b.schema_json &&
         a.get_or_create == b.get_or_create;
}

// The legacy keys of a v1 "hnsw_configuration" and their v2 names.
constexpr std::pair<std::string_view, std::string_view> kLegacyHnswKeys[] = {
    {"space", "space"},
    {"ef_construction", "ef_construction"},
    {"ef_search", "ef_search"},
    {"M", "max_neighbors"},
    {"resize_factor", "resize_factor"},
    {"sync_threshold", "sync_threshold"},
    {"batch_size", "batch_size"},
    {"num_threads", "num_threads"},
};

// The legacy HNSW configuration a "configuration" value holds: its first "hnsw_configuration"
// member, when that is an object.
std::optional<std::string_view> LegacyHnsw(std::string_view configuration) {
  for (const Member& m : Children(IsObjectText(configuration) ? configuration : "")) {
    if (m.key != "hnsw_configuration") continue;
    if (IsObjectText(m.value)) return m.value;
    return std::nullopt;
  }
  return std::nullopt;
}

// The v2 create-collection body equivalent to a v1 one: each "configuration" holding a legacy
// configuration becomes {"hnsw": {…}} with the legacy keys renamed (in their order, values and
// duplicates as written, other keys dropped); everything else as written. nullopt when no
// "configuration" holds a legacy configuration (or `body` is not a JSON object).
std::optional<std::string> V2BodyOfLegacy(std::string_view body) {
  if (!IsJsonObject(body)) return std::nullopt;
  bool legacy = false;
  JsonWriter w;
  w.BeginObject();
  for (const Member& m : Children(body)) {
    w.Key(m.key);
    const std::optional<std::string_view> hnsw =
        m.key == "configuration" ? LegacyHnsw(m.value) : std::nullopt;
    if (!hnsw) {
      w.Raw(m.value);
      continue;
    }
    legacy = true;
    w.BeginObject();
    w.Key("hnsw");
    w.BeginObject();
    for (const Member& k : Children(*hnsw)) {
      for (auto [from, to] : kLegacyHnswKeys) {
        if (k.key != from) continue;
        w.Key(to);
        w.Raw(k.value);
      }
    }
    w.EndObject();
    w.EndObject();
  }
  w.EndObject();
  if (!legacy) return std::nullopt;
  return w.Take();
}

// WriteCollectionV1's legacy configuration, sent back in a v1 create body, gives `hnsw` again.
void CheckCollectionV1(const Collection& c) {
  JsonWriter out;
  WriteCollectionV1(out, c);
  const std::string json = out.Take();
  simdjson::dom::parser parser;
  simdjson::dom::element root = ParseOutput(parser, json, "WriteCollectionV1");
  simdjson::dom::element legacy;
  FUZZ_CHECK(!root["configuration_json"]["hnsw_configuration"].get(legacy) && legacy.is_object(),
             "WriteCollectionV1 writes no hnsw_configuration: " + json.substr(0, 300));
  JsonWriter w;
  w.BeginObject();
  w.Key("name");
  w.String(c.name);
  w.Key("configuration");
  w.BeginObject();
  w.Key("hnsw_configuration");
  w.Raw(simdjson::minify(legacy));
  w.EndObject();
  w.EndObject();
  const std::string body = w.Take();
  Result<CreateCollectionRequest> again = DecodeCreateCollectionV1(body);
  FUZZ_CHECK(again.ok() && again->configuration && again->configuration->hnsw,
             "WriteCollectionV1's configuration does not decode as a v1 create body: " +
                 StatusText(again.status()) + " for " + body.substr(0, 300));
  HnswConfig hnsw;
  ApplyHnsw(*again->configuration->hnsw, &hnsw);
  FUZZ_CHECK(
      hnsw == c.configuration.hnsw,
      "WriteCollectionV1's configuration decodes to other parameters: " + body.substr(0, 300));
}

void CheckCreateCollection(const CreateCollectionRequest& req) {
  if (req.metadata) CheckStoredMetadata(*req.metadata);
  JsonWriter w;
  w.BeginObject();
  w.Key("name");
  w.String(req.name);
  if (req.metadata) {
    w.Key("metadata");
    WriteMetadata(w, *req.metadata, /*hide_reserved=*/false);
  }
  if (req.configuration) {
    w.Key("configuration");
    WriteConfigurationInput(w, *req.configuration);
  }
  if (!req.schema_json.empty()) {
    w.Key("schema");
    w.Raw(req.schema_json);
  }
  w.Key("get_or_create");
  w.Bool(req.get_or_create);
  w.EndObject();
  const std::string text = w.Take();
  Result<CreateCollectionRequest> again = DecodeCreateCollection(text);
  FUZZ_CHECK(again.ok(), "re-encoded create collection does not decode: " +
                             StatusText(again.status()) + " for " + text.substr(0, 300));
  FUZZ_CHECK(SameCreate(*again, req),
             "re-encoded create collection decodes differently: " + text.substr(0, 300));

  // The collection it would create: its JSON and its stored configuration.
  Collection c;
  c.id = "00000000-0000-0000-0000-000000000000";
  c.name = req.name;
  c.tenant = std::string(kDefaultTenant);
  c.database = std::string(kDefaultDatabase);
  c.metadata = req.metadata;
  if (req.configuration) {
    if (req.configuration->spann) ApplyHnsw(*req.configuration->spann, &c.configuration.hnsw);
    if (req.configuration->hnsw) ApplyHnsw(*req.configuration->hnsw, &c.configuration.hnsw);
    c.configuration.embedding_function_json =
        req.configuration->embedding_function_json.value_or("");
  }
  c.schema_json = req.schema_json;
  JsonWriter out;
  WriteCollection(out, c);
  simdjson::dom::parser parser;
  ParseOutput(parser, out.Take(), "WriteCollection");
  CheckCollectionV1(c);
  const std::string stored = ConfigurationToStoredJson(c.configuration);
  Result<CollectionConfiguration> back = ConfigurationFromStoredJson(stored);
  FUZZ_CHECK(back.ok() && back->hnsw == c.configuration.hnsw &&
                 back->embedding_function_json == c.configuration.embedding_function_json,
             "stored configuration does not round trip: " + stored.substr(0, 300));
}

// `r` is DecodeCreateCollectionV1(body).
void CheckCreateCollectionV1(std::string_view body, const Result<CreateCollectionRequest>& r) {
  const std::optional<std::string> v2_body = V2BodyOfLegacy(body);
  if (!v2_body) {
    Result<CreateCollectionRequest> v2 = DecodeCreateCollection(body);
    FUZZ_CHECK(r.ok() == v2.ok() && (r.ok() ? SameCreate(*r, *v2)
                                            : r.status().code() == v2.status().code() &&
                                                  r.status().message() == v2.status().message()),
               "a v1 create body without a legacy configuration decodes otherwise than in v2: " +
                   StatusText(r.status()) + " vs " + StatusText(v2.status()) + " for " +
                   std::string(body.substr(0, 300)));
    return;
  }
  Result<CreateCollectionRequest> v2 = DecodeCreateCollection(*v2_body);
  FUZZ_CHECK(r.ok() == v2.ok(), "a v1 create body and its v2 equivalent are not both accepted: " +
                                    StatusText(r.status()) + " vs " + StatusText(v2.status()) +
                                    " for " + std::string(body.substr(0, 300)) + " and " +
                                    v2_body->substr(0, 300));
  FUZZ_CHECK(!r.ok() || SameCreate(*r, *v2),
             "a v1 create body and its v2 equivalent decode differently: " +
                 std::string(body.substr(0, 300)) + " and " + v2_body->substr(0, 300));
}

void CheckUpdateCollection(const UpdateCollectionRequest& req) {
  if (req.new_metadata) CheckStoredMetadata(*req.new_metadata);
  JsonWriter w;
  w.BeginObject();
  if (req.new_name) {
    w.Key("new_name");
    w.String(*req.new_name);
  }
  if (req.clear_metadata) {
    w.Key("new_metadata");
    w.BeginObject();
    w.Key("cleared");
    w.Null();
    w.EndObject();
  } else if (req.new_metadata) {
    w.Key("new_metadata");
    WriteMetadata(w, *req.new_metadata, /*hide_reserved=*/false);
  }
  if (req.new_configuration) {
    w.Key("new_configuration");
    WriteConfigurationInput(w, *req.new_configuration);
  }
  w.EndObject();
  const std::string text = w.Take();
  Result<UpdateCollectionRequest> again = DecodeUpdateCollection(text);
  FUZZ_CHECK(again.ok(), "re-encoded update collection does not decode: " +
                             StatusText(again.status()) + " for " + text.substr(0, 300));
  FUZZ_CHECK(again->new_name == req.new_name && again->new_metadata == req.new_metadata &&
                 again->clear_metadata == req.clear_metadata &&
                 SameConfiguration(again->new_configuration, req.new_configuration),
             "re-encoded update collection decodes differently: " + text.substr(0, 300));
}

// ---------------------------------------------------------------------------------------------

void Run(Decoder decoder, std::string_view body) {
  switch (decoder) {
    case Decoder::kAdd:
    case Decoder::kUpsert:
    case Decoder::kUpdate: {
      const RecordWriteKind kind = decoder == Decoder::kAdd      ? RecordWriteKind::kAdd
                                   : decoder == Decoder::kUpsert ? RecordWriteKind::kUpsert
                                                                 : RecordWriteKind::kUpdate;
      Result<RecordWriteRequest> r = DecodeRecordWrite(body, kind);
      if (!r.ok()) {
        CheckError(r.status());
        CheckNonFiniteRejection(body, "embeddings", r.status());
        return;
      }
      CheckRecordWrite(body, kind, *r);
      return;
    }
    case Decoder::kGet: {
      Result<GetRequest> r = DecodeGet(body);
      if (!r.ok()) return CheckError(r.status());
      return CheckGet(*r);
    }
    case Decoder::kQuery: {
      Result<QueryRequest> r = DecodeQuery(body);
      if (!r.ok()) {
        CheckError(r.status());
        CheckNonFiniteRejection(body, "query_embeddings", r.status());
        return;
      }
      return CheckQuery(body, *r);
    }
    case Decoder::kDelete: {
      Result<DeleteRequest> r = DecodeDelete(body);
      if (!r.ok()) return CheckError(r.status());
      return CheckDelete(*r);
    }
    case Decoder::kNameBody:
    case Decoder::kUpdateTenant: {
      Result<std::string> r =
          decoder == Decoder::kNameBody ? DecodeNameBody(body) : DecodeUpdateTenant(body);
      if (!r.ok()) return CheckError(r.status());
      return CheckName(*r, decoder == Decoder::kNameBody ? "name" : "resource_name", decoder);
    }
    case Decoder::kCreateCollection: {
      Result<CreateCollectionRequest> r = DecodeCreateCollection(body);
      if (!r.ok()) return CheckError(r.status());
      return CheckCreateCollection(*r);
    }
    case Decoder::kUpdateCollection: {
      Result<UpdateCollectionRequest> r = DecodeUpdateCollection(body);
      if (!r.ok()) return CheckError(r.status());
      return CheckUpdateCollection(*r);
    }
    case Decoder::kGetV1: {
      Result<GetRequest> r = DecodeGet(body, WhereDialect::kV1);
      if (!r.ok()) return CheckError(r.status());
      CheckV1Request(
          body, *r, [](std::string_view b, WhereDialect d) { return DecodeGet(b, d); }, SameGet,
          "get");
      CheckGet(*r);
      return CheckV1GetResponse(r->include);
    }
    case Decoder::kQueryV1: {
      Result<QueryRequest> r = DecodeQuery(body, WhereDialect::kV1);
      if (!r.ok()) {
        CheckError(r.status());
        CheckNonFiniteRejection(body, "query_embeddings", r.status());
        return;
      }
      CheckV1Request(
          body, *r, [](std::string_view b, WhereDialect d) { return DecodeQuery(b, d); }, SameQuery,
          "query");
      CheckQuery(body, *r);
      return CheckV1QueryResponse(r->query_embeddings.size(), r->include);
    }
    case Decoder::kDeleteV1: {
      Result<DeleteRequest> r = DecodeDelete(body, WhereDialect::kV1);
      if (!r.ok()) return CheckError(r.status());
      CheckV1Request(
          body, *r, [](std::string_view b, WhereDialect d) { return DecodeDelete(b, d); },
          SameDelete, "delete");
      return CheckDelete(*r);
    }
    case Decoder::kCreateCollectionV1: {
      Result<CreateCollectionRequest> r = DecodeCreateCollectionV1(body);
      if (!r.ok()) CheckError(r.status());
      CheckCreateCollectionV1(body, r);
      if (r.ok()) CheckCreateCollection(*r);
      return;
    }
  }
}

}  // namespace
}  // namespace chromahouse

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  chromahouse::Run(chromahouse::Select(data[0]), body);
  return 0;
}
