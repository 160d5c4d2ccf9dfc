#include "codec/catalog_codec.h"

#include <algorithm>
#include <initializer_list>

#include "codec/json_body.h"
#include "codec/metadata_codec.h"
#include "codec/schema_codec.h"

namespace chromahouse {
namespace {

using Keys = std::initializer_list<std::string_view>;

Status RejectUnknownKeys(simdjson::dom::object obj, Keys allowed, std::string_view path) {
  for (auto field : obj) {
    bool known = false;
    for (auto k : allowed) known = known || field.key == k;
    if (known) continue;
    std::string expected;
    for (auto k : allowed) {
      if (!expected.empty()) expected += ", ";
      expected += "`" + std::string(k) + "`";
    }
    return ShapeError(JoinPath(path, field.key), "unknown field `" + std::string(field.key) +
                                                     "`, expected one of " + expected);
  }
  return Status::Ok();
}

Result<std::optional<Space>> DecodeSpace(simdjson::dom::object obj, std::string_view path) {
  ASSIGN_OR_RETURN(auto text, OptionalString(obj, "space", path));
  if (!text) return std::optional<Space>();
  auto space = ParseSpace(*text);
  if (!space) {
    return ShapeError(JoinPath(path, "space"),
                      "unknown variant `" + *text + "`, expected one of `l2`, `cosine`, `ip`");
  }
  return std::optional<Space>(*space);
}

// Reads the HNSW-style keys present in `obj` (after the caller has checked which are allowed).
Status ReadHnswKeys(simdjson::dom::object obj, std::string_view path, HnswConfigInput* in) {
  ASSIGN_OR_RETURN(in->space, DecodeSpace(obj, path));
  ASSIGN_OR_RETURN(in->ef_construction, OptionalInt(obj, "ef_construction", path, true));
  ASSIGN_OR_RETURN(in->ef_search, OptionalInt(obj, "ef_search", path, true));
  ASSIGN_OR_RETURN(in->max_neighbors, OptionalInt(obj, "max_neighbors", path, true));
  ASSIGN_OR_RETURN(in->num_threads, OptionalInt(obj, "num_threads", path, true));
  ASSIGN_OR_RETURN(in->resize_factor, OptionalNumber(obj, "resize_factor", path));
  ASSIGN_OR_RETURN(in->sync_threshold, OptionalInt(obj, "sync_threshold", path, true));
  ASSIGN_OR_RETURN(in->batch_size, OptionalInt(obj, "batch_size", path, true));
  // SPANN-only integer keys are validated for type but otherwise unused on this server.
  for (const char* k : {"search_nprobe", "write_nprobe", "reassign_neighbor_count",
                        "split_threshold", "merge_threshold"}) {
    ASSIGN_OR_RETURN(auto ignored, OptionalInt(obj, k, path, true));
    (void)ignored;
  }
  return Status::Ok();
}

// An embedding function's configuration (`legacy`, `known` with name and config, `unknown`),
// as JSON text to store verbatim.
Result<std::string> DecodeEmbeddingFunction(simdjson::dom::element ef, const std::string& epath) {
  ASSIGN_OR_RETURN(simdjson::dom::object eobj, RequireObject(ef, epath));
  ASSIGN_OR_RETURN(std::string type, RequiredString(eobj, "type", epath));
  if (type != "legacy" && type != "known" && type != "unknown") {
    return ShapeError(
        JoinPath(epath, "type"),
        "unknown variant `" + type + "`, expected one of `legacy`, `known`, `unknown`");
  }
  if (type == "known") {
    ASSIGN_OR_RETURN(std::string name, RequiredString(eobj, "name", epath));
    (void)name;
    simdjson::dom::element config;
    if (eobj.at_key("config").get(config)) return ShapeError(epath, "missing field `config`");
  }
  return std::string(simdjson::minify(ef));
}

// `for_update` selects the keys that may change after creation (API.md §2.3).
Result<std::optional<CollectionConfigurationInput>> DecodeConfiguration(
    simdjson::dom::object parent, std::string_view key, bool for_update) {
  auto el = Field(parent, key);
  if (!el) return std::optional<CollectionConfigurationInput>();
  std::string path(key);
  ASSIGN_OR_RETURN(simdjson::dom::object obj, RequireObject(*el, path));
  CollectionConfigurationInput out;
  if (auto h = Field(obj, "hnsw")) {
    std::string hpath = JoinPath(path, "hnsw");
    ASSIGN_OR_RETURN(simdjson::dom::object hobj, RequireObject(*h, hpath));
    if (for_update) {
      RETURN_IF_ERROR(RejectUnknownKeys(hobj,
                                        {"ef_search", "max_neighbors", "num_threads",
                                         "resize_factor", "sync_threshold", "batch_size"},
                                        hpath));
    } else {
      RETURN_IF_ERROR(
          RejectUnknownKeys(hobj,
                            {"space", "ef_construction", "ef_search", "max_neighbors",
                             "num_threads", "resize_factor", "sync_threshold", "batch_size"},
                            hpath));
    }
    HnswConfigInput in;
    RETURN_IF_ERROR(ReadHnswKeys(hobj, hpath, &in));
    out.hnsw = in;
  }
  if (auto s = Field(obj, "spann")) {
    std::string spath = JoinPath(path, "spann");
    ASSIGN_OR_RETURN(simdjson::dom::object sobj, RequireObject(*s, spath));
    if (for_update) {
      RETURN_IF_ERROR(RejectUnknownKeys(sobj, {"search_nprobe", "ef_search"}, spath));
    } else {
      RETURN_IF_ERROR(RejectUnknownKeys(
          sobj,
          {"search_nprobe", "write_nprobe", "space", "ef_construction", "ef_search",
           "max_neighbors", "reassign_neighbor_count", "split_threshold", "merge_threshold"},
          spath));
    }
    HnswConfigInput in;
    RETURN_IF_ERROR(ReadHnswKeys(sobj, spath, &in));
    out.spann = in;
  }
  if (auto ef = Field(obj, "embedding_function")) {
    ASSIGN_OR_RETURN(out.embedding_function_json,
                     DecodeEmbeddingFunction(*ef, JoinPath(path, "embedding_function")));
  }
  return std::optional<CollectionConfigurationInput>(std::move(out));
}

// The vector index a schema declares for the embeddings: keys["#embedding"].float_list.
// vector_index.config (nullopt: none). The schema's `defaults.float_list` is its own and does
// not decide the collection's index, as in Chroma.
Result<std::optional<CollectionConfigurationInput>> DecodeSchemaVectorIndex(
    simdjson::dom::object schema) {
  auto config_at =
      [&schema](std::initializer_list<const char*> steps) -> std::optional<simdjson::dom::object> {
    simdjson::dom::object obj = schema;
    for (const char* step : steps) {
      simdjson::dom::element el;
      if (obj.at_key(step).get(el) || el.get(obj)) return std::nullopt;
    }
    return obj;
  };
  const std::string path = "schema.keys.#embedding.float_list.vector_index.config";
  auto config = config_at({"keys", "#embedding", "float_list", "vector_index", "config"});
  if (!config) return std::optional<CollectionConfigurationInput>();
  CollectionConfigurationInput out;
  HnswConfigInput index;
  ASSIGN_OR_RETURN(index.space, DecodeSpace(*config, path));
  for (const char* kind : {"hnsw", "spann"}) {
    if (auto h = Field(*config, kind)) {
      const std::string hpath = JoinPath(path, kind);
      ASSIGN_OR_RETURN(simdjson::dom::object hobj, RequireObject(*h, hpath));
      const auto space = index.space;
      if (std::string_view(kind) == "hnsw") {
        RETURN_IF_ERROR(ReadHnswKeys(hobj, hpath, &index));
      }
      index.space = space;  // the space is the config's, not the index's
    }
  }
  out.hnsw = index;
  if (auto ef = Field(*config, "embedding_function"); ef && !ef->is_null()) {
    ASSIGN_OR_RETURN(out.embedding_function_json,
                     DecodeEmbeddingFunction(*ef, JoinPath(path, "embedding_function")));
  }
  return std::optional<CollectionConfigurationInput>(std::move(out));
}

void WriteHnswConfig(JsonWriter& w, const HnswConfig& h) {
  w.BeginObject();
  w.Key("space");
  w.String(SpaceName(h.space));
  w.Key("ef_construction");
  w.Int(h.ef_construction);
  w.Key("ef_search");
  w.Int(h.ef_search);
  w.Key("max_neighbors");
  w.Int(h.max_neighbors);
  w.Key("resize_factor");
  w.Double(h.resize_factor);
  w.Key("sync_threshold");
  w.Int(h.sync_threshold);
  w.EndObject();
}

}  // namespace

Result<std::string> DecodeNameBody(std::string_view body) {
  JsonBody json;
  RETURN_IF_ERROR(json.Parse(body));
  ASSIGN_OR_RETURN(simdjson::dom::object obj, RequireObject(json.root(), ""));
  RETURN_IF_ERROR(RejectDuplicateFields(obj, {"name"}, ""));
  return RequiredString(obj, "name", "");
}

Result<std::string> DecodeUpdateTenant(std::string_view body) {
  JsonBody json;
  RETURN_IF_ERROR(json.Parse(body));
  ASSIGN_OR_RETURN(simdjson::dom::object obj, RequireObject(json.root(), ""));
  RETURN_IF_ERROR(RejectDuplicateFields(obj, {"resource_name"}, ""));
  return RequiredString(obj, "resource_name", "");
}

Result<CreateCollectionRequest> DecodeCreateCollection(std::string_view body) {
  JsonBody json;
  RETURN_IF_ERROR(json.Parse(body));
  ASSIGN_OR_RETURN(simdjson::dom::object obj, RequireObject(json.root(), ""));
  RETURN_IF_ERROR(RejectDuplicateFields(
      obj, {"name", "metadata", "configuration", "schema", "get_or_create"}, ""));
  CreateCollectionRequest req;
  ASSIGN_OR_RETURN(req.name, RequiredString(obj, "name", ""));
  if (auto md = Field(obj, "metadata")) {
    ASSIGN_OR_RETURN(simdjson::dom::object mobj, RequireObject(*md, "metadata"));
    ASSIGN_OR_RETURN(Metadata m, DecodeMetadata(mobj, "metadata", MetadataNulls::kReject, nullptr));
    // An object that held only empty arrays is still "given" (and then empty → 400).
    req.metadata = std::move(m);
  }
  ASSIGN_OR_RETURN(req.configuration, DecodeConfiguration(obj, "configuration", false));
  if (auto schema = Field(obj, "schema"); schema && !schema->is_null()) {
    RETURN_IF_ERROR(ValidateSchema(*schema));
    simdjson::dom::object sobj = schema->get_object().value_unsafe();
    // A schema and a configuration may not both ask for something (Chroma 1.x).
    // Stored as given when it asks for anything (WriteSchema fills it up as Chroma does), and
    // its #embedding index is then the collection's; a schema that asks for nothing is
    // Chroma's default, and the configuration decides.
    if (SchemaDiffersFromDefault(*schema)) {
      if (auto config = Field(obj, "configuration"); config && config->is_object()) {
        if (ConfigurationDiffersFromDefault(*config)) {
          return Status::InvalidArgument(
              "Failed to reconcile schema: Cannot set both collection config and schema "
              "simultaneously");
        }
        req.configuration.reset();  // all defaults: the schema decides
      }
      req.schema_json = simdjson::minify(*schema);
      ASSIGN_OR_RETURN(req.schema_vector_index, DecodeSchemaVectorIndex(sobj));
    }
  }
  ASSIGN_OR_RETURN(auto goc, OptionalNonNullBool(obj, "get_or_create", ""));
  req.get_or_create = goc.value_or(false);
  return req;
}

Result<UpdateCollectionRequest> DecodeUpdateCollection(std::string_view body) {
  JsonBody json;
  RETURN_IF_ERROR(json.Parse(body));
  ASSIGN_OR_RETURN(simdjson::dom::object obj, RequireObject(json.root(), ""));
  RETURN_IF_ERROR(
      RejectDuplicateFields(obj, {"new_name", "new_metadata", "new_configuration"}, ""));
  UpdateCollectionRequest req;
  ASSIGN_OR_RETURN(req.new_name, OptionalString(obj, "new_name", ""));
  if (auto md = Field(obj, "new_metadata")) {
    ASSIGN_OR_RETURN(simdjson::dom::object mobj, RequireObject(*md, "new_metadata"));
    std::vector<std::string> dropped;
    ASSIGN_OR_RETURN(Metadata m,
                     DecodeMetadata(mobj, "new_metadata", MetadataNulls::kCollect, &dropped));
    // Keys given as null are simply dropped from the new map; a map of nulls only clears
    // the metadata (Chroma sets it to null).
    if (m.empty() && !dropped.empty()) {
      req.clear_metadata = true;
    } else {
      req.new_metadata = std::move(m);
    }
  }
  ASSIGN_OR_RETURN(req.new_configuration, DecodeConfiguration(obj, "new_configuration", true));
  if (req.new_configuration) {
    req.schema_patch = [change = *req.new_configuration](const Collection& c) {
      return PatchSchemaForModify(c, change);
    };
  }
  return req;
}

Result<std::string> DecodeForkCollection(std::string_view body) {
  JsonBody json;
  RETURN_IF_ERROR(json.Parse(body));
  ASSIGN_OR_RETURN(simdjson::dom::object obj, RequireObject(json.root(), ""));
  RETURN_IF_ERROR(RejectDuplicateFields(obj, {"new_name"}, ""));
  return RequiredString(obj, "new_name", "");
}

void WriteTenant(JsonWriter& w, const Tenant& tenant) {
  w.BeginObject();
  w.Key("name");
  w.String(tenant.name);
  w.Key("resource_name");
  if (tenant.resource_name) {
    w.String(*tenant.resource_name);
  } else {
    w.Null();
  }
  w.EndObject();
}

void WriteDatabase(JsonWriter& w, const Database& database) {
  w.BeginObject();
  w.Key("id");
  w.String(database.id);
  w.Key("name");
  w.String(database.name);
  w.Key("tenant");
  w.String(database.tenant);
  w.EndObject();
}

namespace {

// metadata, dimension, tenant, database: the same in the v2 and the v1 Collection object.
void WriteCollectionOwnFields(JsonWriter& w, const Collection& c) {
  w.Key("metadata");
  if (c.metadata) {
    WriteMetadata(w, *c.metadata, /*hide_reserved=*/false);
  } else {
    w.Null();
  }
  w.Key("dimension");
  if (c.dimension) {
    w.Int(*c.dimension);
  } else {
    w.Null();
  }
  w.Key("tenant");
  w.String(c.tenant);
  w.Key("database");
  w.String(c.database);
}

}  // namespace

void WriteCollection(JsonWriter& w, const Collection& c) {
  w.BeginObject();
  w.Key("id");
  w.String(c.id);
  w.Key("name");
  w.String(c.name);
  w.Key("configuration_json");
  w.BeginObject();
  w.Key("hnsw");
  WriteHnswConfig(w, c.configuration.hnsw);
  w.Key("spann");
  w.Null();
  w.Key("embedding_function");
  if (c.configuration.embedding_function_json.empty()) {
    w.Null();
  } else {
    w.Raw(c.configuration.embedding_function_json);
  }
  w.EndObject();
  w.Key("schema");
  WriteSchema(w, c);
  WriteCollectionOwnFields(w, c);
  w.Key("log_position");
  w.Int(0);
  w.Key("version");
  w.Int(0);
  w.EndObject();
}

namespace {

// Chroma's names of the value types a metadata operand can have, and their schema entries.
struct ValueType {
  const char* name;         // in messages
  const char* schema_type;  // key under defaults / keys[k]
  const char* index;        // the inverted index's name
};

std::optional<ValueType> OperandType(const MetadataValue& operand) {
  static constexpr ValueType kStr{"Str", "string", "string_inverted_index"};
  static constexpr ValueType kInt{"Int", "int", "int_inverted_index"};
  static constexpr ValueType kFloat{"Float", "float", "float_inverted_index"};
  static constexpr ValueType kBool{"Bool", "bool", "bool_inverted_index"};
  return std::visit(
      [](const auto& v) -> std::optional<ValueType> {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string> ||
                      std::is_same_v<T, std::vector<std::string>>) {
          return kStr;
        } else if constexpr (std::is_same_v<T, int64_t> ||
                             std::is_same_v<T, std::vector<int64_t>>) {
          return kInt;
        } else if constexpr (std::is_same_v<T, double> || std::is_same_v<T, std::vector<double>>) {
          return kFloat;
        } else if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, std::vector<bool>>) {
          return kBool;
        } else {
          return std::nullopt;
        }
      },
      operand);
}

// `enabled` of schema[a][b][c]…: nullopt when a step is missing.
std::optional<bool> EnabledAt(simdjson::dom::element root,
                              std::initializer_list<std::string_view> steps) {
  simdjson::dom::element el = root;
  for (std::string_view step : steps) {
    simdjson::dom::object obj;
    if (el.get(obj) || obj.at_key(step).get(el)) return std::nullopt;
  }
  bool enabled;
  if (el["enabled"].get(enabled)) return std::nullopt;
  return enabled;
}

Status CheckWhere(simdjson::dom::element schema, const Where& where) {
  if (const auto* c = std::get_if<WhereComposite>(&where.node)) {
    for (const Where& child : c->children) RETURN_IF_ERROR(CheckWhere(schema, child));
    return Status::Ok();
  }
  if (std::holds_alternative<DocumentCondition>(where.node)) {
    if (EnabledAt(schema, {"keys", "#document", "string", "fts_index"}) == false) {
      return Status::InvalidArgument(
          "Cannot filter using full-text search because FTS indexing is disabled");
    }
    return Status::Ok();
  }
  const auto& m = std::get<MetadataCondition>(where.node);
  const auto type = OperandType(m.operand);
  if (!type) return Status::Ok();
  auto enabled = EnabledAt(schema, {"keys", m.key, type->schema_type, type->index});
  if (!enabled) enabled = EnabledAt(schema, {"defaults", type->schema_type, type->index});
  if (enabled == false) {
    return Status::InvalidArgument("Cannot filter using metadata key '" + m.key + "' with type '" +
                                   type->name + "' because indexing is disabled");
  }
  return Status::Ok();
}

}  // namespace

Status CheckFiltersAgainstSchema(std::string_view schema_json, const Where* where,
                                 const Where* where_document) {
  if (schema_json.empty() || (!where && !where_document)) return Status::Ok();
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element schema;
  if (parser.parse(schema_json.data(), schema_json.size()).get(schema)) return Status::Ok();
  if (where) RETURN_IF_ERROR(CheckWhere(schema, *where));
  if (where_document) RETURN_IF_ERROR(CheckWhere(schema, *where_document));
  return Status::Ok();
}

Result<CreateCollectionRequest> DecodeCreateCollectionV1(std::string_view body) {
  JsonBody json;
  RETURN_IF_ERROR(json.Parse(body));
  ASSIGN_OR_RETURN(simdjson::dom::object obj, RequireObject(json.root(), ""));
  simdjson::dom::element config;
  simdjson::dom::object legacy;
  if (obj.at_key("configuration").get(config) || config.is_null() ||
      config.at_key("hnsw_configuration").get_object().get(legacy)) {
    return DecodeCreateCollection(body);
  }
  // The rewrite keeps one "configuration": refuse duplicates first, as DecodeCreateCollection.
  RETURN_IF_ERROR(RejectDuplicateFields(
      obj, {"name", "metadata", "configuration", "schema", "get_or_create"}, ""));
  // Rewrite the body with the configuration in the v2 shape, keeping every other field.
  static constexpr std::pair<std::string_view, std::string_view> kKeys[] = {
      {"space", "space"},
      {"ef_construction", "ef_construction"},
      {"ef_search", "ef_search"},
      {"M", "max_neighbors"},
      {"resize_factor", "resize_factor"},
      {"sync_threshold", "sync_threshold"},
      {"batch_size", "batch_size"},
      {"num_threads", "num_threads"}};
  JsonWriter w;
  w.BeginObject();
  for (auto field : obj) {
    if (field.key == "configuration") continue;
    w.Key(field.key);
    w.Raw(simdjson::minify(field.value));
  }
  w.Key("configuration");
  w.BeginObject();
  w.Key("hnsw");
  w.BeginObject();
  for (auto [from, to] : kKeys) {
    simdjson::dom::element v;
    if (legacy.at_key(from).get(v) || v.is_null()) continue;
    w.Key(to);
    w.Raw(simdjson::minify(v));
  }
  w.EndObject();
  w.EndObject();
  w.EndObject();
  return DecodeCreateCollection(w.Take());
}

void WriteCollectionV1(JsonWriter& w, const Collection& c) {
  const HnswConfig& h = c.configuration.hnsw;
  w.BeginObject();
  w.Key("id");
  w.String(c.id);
  w.Key("name");
  w.String(c.name);
  w.Key("configuration_json");
  w.BeginObject();
  w.Key("hnsw_configuration");
  w.BeginObject();
  w.Key("space");
  w.String(SpaceName(h.space));
  w.Key("ef_construction");
  w.Int(h.ef_construction);
  w.Key("ef_search");
  w.Int(h.ef_search);
  w.Key("num_threads");
  w.Int(h.num_threads);
  w.Key("M");
  w.Int(h.max_neighbors);
  w.Key("resize_factor");
  w.Double(h.resize_factor);
  w.Key("batch_size");
  w.Int(h.batch_size);
  w.Key("sync_threshold");
  w.Int(h.sync_threshold);
  w.Key("_type");
  w.String("HNSWConfigurationInternal");
  w.EndObject();
  w.Key("_type");
  w.String("CollectionConfigurationInternal");
  w.EndObject();
  WriteCollectionOwnFields(w, c);
  w.Key("version");
  w.Int(0);
  w.Key("log_position");
  w.Int(0);
  w.EndObject();
}

}  // namespace chromahouse
