// Fuzz target: the JSON request decoders of codec/ (record_codec.h, catalog_codec.h) and the
// encoders of what they decode.
//
// Input: one selector byte, then the request body. The selector picks the decoder:
//   'a' add, 'u' upsert, 'p' update (DecodeRecordWrite), 'g' DecodeGet, 'q' DecodeQuery,
//   'd' DecodeDelete, 'n' DecodeNameBody, 't' DecodeUpdateTenant, 'c' DecodeCreateCollection,
//   'm' DecodeUpdateCollection; any other byte picks by its value modulo 10 in that order.
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
//   - response encoders (EncodeGetResponse, EncodeQueryResponse, WriteCollection, WriteTenant,
//     WriteDatabase) write valid JSON.
#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
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
};
constexpr std::string_view kSelectors = "aupgqdntcm";

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
  std::vector<std::optional<Metadata>> metadata(n);
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
    if (const auto* m = Row(req.metadatas, i); m && *m) metadata[i] = (*m)->set;
    v.metadata = &metadata[i];
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
  FUZZ_CHECK(again->ids == req.ids && again->where == req.where &&
                 again->where_document == req.where_document && again->limit == req.limit &&
                 again->offset == req.offset && again->include.fields == req.include.fields,
             "re-encoded get decodes differently: " + text.substr(0, 300));
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
  bool same_embeddings = again->query_embeddings.size() == req.query_embeddings.size();
  for (size_t i = 0; same_embeddings && i < req.query_embeddings.size(); ++i) {
    same_embeddings = fuzz::SameBits(again->query_embeddings[i], req.query_embeddings[i]);
  }
  FUZZ_CHECK(same_embeddings && again->n_results == req.n_results && again->ids == req.ids &&
                 again->where == req.where && again->where_document == req.where_document &&
                 again->include.fields == req.include.fields,
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
  FUZZ_CHECK(again->ids == req.ids && again->where == req.where &&
                 again->where_document == req.where_document && again->limit == req.limit,
             "re-encoded delete decodes differently: " + text.substr(0, 300));
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
  FUZZ_CHECK(again->name == req.name && again->metadata == req.metadata &&
                 SameConfiguration(again->configuration, req.configuration) &&
                 again->schema_json == req.schema_json && again->get_or_create == req.get_or_create,
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
  const std::string stored = ConfigurationToStoredJson(c.configuration);
  Result<CollectionConfiguration> back = ConfigurationFromStoredJson(stored);
  FUZZ_CHECK(back.ok() && back->hnsw == c.configuration.hnsw &&
                 back->embedding_function_json == c.configuration.embedding_function_json,
             "stored configuration does not round trip: " + stored.substr(0, 300));
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
