#include "codec/schema_codec.h"

#include <algorithm>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "codec/json_body.h"

namespace chromahouse {
namespace {

using Names = std::vector<std::string_view>;

const Names kHnswFields = {"ef_construction", "max_neighbors",  "ef_search",    "num_threads",
                           "batch_size",      "sync_threshold", "resize_factor"};
const Names kSpannFields = {"search_nprobe",
                            "search_rng_factor",
                            "search_rng_epsilon",
                            "nreplica_count",
                            "write_rng_factor",
                            "write_rng_epsilon",
                            "split_threshold",
                            "num_samples_kmeans",
                            "initial_lambda",
                            "reassign_neighbor_count",
                            "merge_threshold",
                            "num_centers_to_merge_to",
                            "write_nprobe",
                            "ef_construction",
                            "ef_search",
                            "max_neighbors",
                            "center_drift_threshold",
                            "quantize"};
const Names kVectorIndexFields = {"space", "embedding_function", "source_key", "hnsw", "spann"};
const Names kSparseIndexFields = {"embedding_function", "source_key", "bm25", "algorithm"};

// The value types of a schema and their indexes (others are ignored, as by Chroma).
struct ValueType {
  std::string_view name;
  Names indexes;
};
const ValueType kValueTypes[] = {
    {"string", {"fts_index", "string_inverted_index"}},
    {"float_list", {"vector_index"}},
    {"sparse_vector", {"sparse_vector_index"}},
    {"int", {"int_inverted_index"}},
    {"float", {"float_inverted_index"}},
    {"bool", {"bool_inverted_index"}},
};

bool OneOf(std::string_view s, const Names& names) {
  for (auto n : names) {
    if (s == n) return true;
  }
  return false;
}

Status UnknownField(const std::string& path, std::string_view field, const Names& expected) {
  std::string list;
  for (auto e : expected) list += (list.empty() ? "`" : ", `") + std::string(e) + "`";
  return ShapeError(
      JoinPath(path, field),
      "unknown field `" + std::string(field) + "`, " +
          (expected.size() == 0 ? std::string("there are no fields") : "expected one of " + list));
}

Status OnlyFields(simdjson::dom::object obj, const std::string& path, const Names& allowed) {
  for (auto [key, value] : obj) {
    if (!OneOf(key, allowed)) return UnknownField(path, key, allowed);
  }
  return Status::Ok();
}

// An index entry: {enabled: bool, config: {…}} (other fields ignored); returns the config.
Result<simdjson::dom::object> CheckIndex(simdjson::dom::element el, const std::string& path,
                                         std::string_view config_struct) {
  simdjson::dom::object index;
  if (el.get(index)) return TypeError(path, el, "struct IndexType");
  simdjson::dom::element enabled, config;
  if (index.at_key("enabled").get(enabled)) return ShapeError(path, "missing field `enabled`");
  if (!enabled.is_bool()) return TypeError(JoinPath(path, "enabled"), enabled, "a boolean");
  if (index.at_key("config").get(config)) return ShapeError(path, "missing field `config`");
  simdjson::dom::object obj;
  if (config.get(obj)) {
    return TypeError(JoinPath(path, "config"), config, "struct " + std::string(config_struct));
  }
  return obj;
}

Status CheckVectorIndexConfig(simdjson::dom::object config, const std::string& path) {
  RETURN_IF_ERROR(OnlyFields(config, path, kVectorIndexFields));
  if (auto space = Field(config, "space"); space && !space->is_null()) {
    std::string_view s;
    if (space->get(s)) return TypeError(JoinPath(path, "space"), *space, "a string");
    if (s != "l2" && s != "cosine" && s != "ip") {
      return ShapeError(JoinPath(path, "space"), "unknown variant `" + std::string(s) +
                                                     "`, expected one of `l2`, `cosine`, `ip`");
    }
  }
  if (auto ef = Field(config, "embedding_function"); ef && !ef->is_null()) {
    const std::string epath = JoinPath(path, "embedding_function");
    simdjson::dom::object eobj;
    if (ef->get(eobj)) return TypeError(epath, *ef, "internally tagged enum");
    ASSIGN_OR_RETURN(std::string type, RequiredString(eobj, "type", epath));
    if (type != "legacy" && type != "known" && type != "unknown") {
      return ShapeError(JoinPath(epath, "type"), "unknown variant `" + type +
                                                     "`, expected one of `legacy`, `known`, "
                                                     "`unknown`");
    }
    if (type == "known") {
      RETURN_IF_ERROR(RequiredString(eobj, "name", epath).status());
      if (!Field(eobj, "config")) return ShapeError(epath, "missing field `config`");
    }
  }
  if (auto hnsw = Field(config, "hnsw"); hnsw && !hnsw->is_null()) {
    const std::string hpath = JoinPath(path, "hnsw");
    simdjson::dom::object hobj;
    if (hnsw->get(hobj)) return TypeError(hpath, *hnsw, "struct HnswIndexConfig");
    RETURN_IF_ERROR(OnlyFields(hobj, hpath, kHnswFields));
    for (auto field : kHnswFields) {
      if (field == "resize_factor") {
        RETURN_IF_ERROR(OptionalNumber(hobj, field, hpath).status());
      } else {
        RETURN_IF_ERROR(OptionalInt(hobj, field, hpath, /*non_negative=*/true).status());
      }
    }
  }
  if (auto spann = Field(config, "spann"); spann && !spann->is_null()) {
    const std::string spath = JoinPath(path, "spann");
    simdjson::dom::object sobj;
    if (spann->get(sobj)) return TypeError(spath, *spann, "struct SpannIndexConfig");
    RETURN_IF_ERROR(OnlyFields(sobj, spath, kSpannFields));
  }
  return Status::Ok();
}

// The shape of one value-types map (`defaults`, or one key's entry in `keys`).
Status CheckValueTypes(simdjson::dom::element el, const std::string& path,
                       std::string_view expected) {
  simdjson::dom::object types;
  if (el.get(types)) return TypeError(path, el, expected);
  for (const ValueType& vt : kValueTypes) {
    simdjson::dom::element type_el;
    if (types.at_key(vt.name).get(type_el) || type_el.is_null()) continue;
    const std::string tpath = JoinPath(path, vt.name);
    simdjson::dom::object indexes;
    if (type_el.get(indexes)) return TypeError(tpath, type_el, "struct ValueTypeIndexes");
    for (auto name : vt.indexes) {
      simdjson::dom::element index_el;
      if (indexes.at_key(name).get(index_el) || index_el.is_null()) continue;
      const std::string ipath = JoinPath(tpath, name);
      if (name == "vector_index") {
        ASSIGN_OR_RETURN(simdjson::dom::object config,
                         CheckIndex(index_el, ipath, "VectorIndexConfig"));
        RETURN_IF_ERROR(CheckVectorIndexConfig(config, JoinPath(ipath, "config")));
      } else if (name == "sparse_vector_index") {
        ASSIGN_OR_RETURN(simdjson::dom::object config,
                         CheckIndex(index_el, ipath, "SparseVectorIndexConfig"));
        RETURN_IF_ERROR(OnlyFields(config, JoinPath(ipath, "config"), kSparseIndexFields));
      } else {
        const bool fts = name == "fts_index";
        ASSIGN_OR_RETURN(
            simdjson::dom::object config,
            CheckIndex(index_el, ipath, fts ? "FtsIndexConfig" : "InvertedIndexConfig"));
        RETURN_IF_ERROR(OnlyFields(config, JoinPath(ipath, "config"), {}));
      }
    }
  }
  return Status::Ok();
}

// The element at schema[steps…], if every step is present.
std::optional<simdjson::dom::element> At(simdjson::dom::element root,
                                         std::initializer_list<std::string_view> steps) {
  simdjson::dom::element el = root;
  for (auto step : steps) {
    simdjson::dom::object obj;
    if (el.get(obj) || obj.at_key(step).get(el)) return std::nullopt;
  }
  return el;
}

bool Enabled(std::optional<simdjson::dom::element> index) {
  bool on = false;
  return index && !(*index)["enabled"].get(on) && on;
}

Status Rule(std::string message) {
  return Status::InvalidArgument("Validation error: schema: " + std::move(message));
}

// Chroma's defaults of the values a schema may set (see WriteSchema in catalog_codec.cc).
constexpr std::string_view kDefaultHnswInts[][2] = {{"ef_construction", "100"},
                                                    {"max_neighbors", "16"},
                                                    {"ef_search", "100"},
                                                    {"batch_size", "100"},
                                                    {"sync_threshold", "1000"}};

bool DefaultEmbeddingFunction(simdjson::dom::element ef) {
  if (ef.is_null()) return true;
  std::string_view type, name;
  if (ef["type"].get(type)) return false;
  return type == "unknown" || (type == "known" && !ef["name"].get(name) && name == "default");
}

bool HnswDiffers(simdjson::dom::element hnsw, bool count_threads);

// Whether a vector index config differs from the default one (`source_key` as `#document`).
bool VectorConfigDiffers(simdjson::dom::element config) {
  std::string_view space = "l2";
  if (auto s = At(config, {"space"}); s && !s->is_null() && !s->get(space) && space != "l2") {
    return true;
  }
  if (auto ef = At(config, {"embedding_function"}); ef && !DefaultEmbeddingFunction(*ef)) {
    return true;
  }
  if (At(config, {"spann"}) && !At(config, {"spann"})->is_null()) return true;
  auto hnsw = At(config, {"hnsw"});
  return hnsw && HnswDiffers(*hnsw, /*count_threads=*/false);
}

// Whether HNSW parameters differ from the defaults (`space` when given; `num_threads`, whose
// default is the server's core count, when `count_threads` and given at all).
bool HnswDiffers(simdjson::dom::element hnsw, bool count_threads) {
  if (hnsw.is_null()) return false;
  if (auto t = At(hnsw, {"num_threads"}); count_threads && t && !t->is_null()) return true;
  std::string_view space = "l2";
  if (auto s = At(hnsw, {"space"}); s && !s->is_null() && (s->get(space) || space != "l2")) {
    return true;
  }
  for (const auto& [field, value] : kDefaultHnswInts) {
    int64_t v = 0;
    if (auto el = At(hnsw, {field});
        el && !el->is_null() && (el->get(v) || std::to_string(v) != value)) {
      return true;
    }
  }
  double resize = 1.2;
  auto el = At(hnsw, {"resize_factor"});
  return el && !el->is_null() && (el->get(resize) || resize != 1.2);
}

}  // namespace

Status ValidateSchema(simdjson::dom::element root) {
  // 1. Shape.
  simdjson::dom::object schema;
  if (root.get(schema)) return TypeError("schema", root, "struct Schema");
  for (const char* field : {"defaults", "keys"}) {
    simdjson::dom::element el;
    if (schema.at_key(field).get(el)) {
      return ShapeError("schema", "missing field `" + std::string(field) + "`");
    }
  }
  RETURN_IF_ERROR(CheckValueTypes(*At(root, {"defaults"}), "schema.defaults", "struct ValueTypes"));
  simdjson::dom::object keys;
  if (At(root, {"keys"})->get(keys)) {
    return TypeError("schema.keys", *At(root, {"keys"}), "a map");
  }
  for (auto [key, types] : keys) {
    RETURN_IF_ERROR(CheckValueTypes(types, JoinPath("schema.keys", key), "struct ValueTypes"));
  }

  // 2. Rules.
  if (At(root, {"source_attached_function_id"})) {
    return Rule("Cannot set source_attached_function_id. This field is reserved for system use.");
  }
  const simdjson::dom::element defaults = *At(root, {"defaults"});
  if (Enabled(At(defaults, {"string", "fts_index"}))) {
    return Rule(
        "Full text search / regular expression index cannot be enabled by default. It "
        "can only be enabled on #document field.");
  }
  if (Enabled(At(defaults, {"float_list", "vector_index"}))) {
    return Rule(
        "Vector index cannot be enabled by default. It can only be enabled on "
        "#embedding field.");
  }
  if (Enabled(At(defaults, {"sparse_vector", "sparse_vector_index"}))) {
    return Rule(
        "Sparse vector index cannot be enabled by default. Please enable sparse vector "
        "index on specific keys. At most one sparse vector index is allowed for the "
        "collection.");
  }
  if (auto config = At(defaults, {"float_list", "vector_index", "config"});
      config && At(*config, {"hnsw"}) && !At(*config, {"hnsw"})->is_null() &&
      At(*config, {"spann"}) && !At(*config, {"spann"})->is_null()) {
    return Rule("Both spann and hnsw config cannot be present at the same time.");
  }
  std::vector<std::string> sparse_keys;
  for (auto [key, types_el] : keys) {
    const std::string k(key);
    simdjson::dom::object types;
    if (types_el.get(types)) continue;  // checked above
    auto has_type = [&types](std::string_view type) {
      simdjson::dom::element el;
      return !types.at_key(type).get(el) && !el.is_null();
    };
    if (k == "#embedding") {
      for (const ValueType& vt : kValueTypes) {
        if (vt.name != "float_list" && has_type(vt.name)) {
          return Rule("Embedding field cannot have any value types other than float_list: " + k);
        }
      }
      std::string_view source;
      if (auto s = At(types_el, {"float_list", "vector_index", "config", "source_key"});
          s && !s->is_null() && (s->get(source) || source != "#document")) {
        return Rule("Vector index can only source from #document");
      }
      continue;
    }
    if (k == "#document") {
      for (const ValueType& vt : kValueTypes) {
        if (vt.name != "string" && has_type(vt.name)) {
          return Rule("Document field cannot have any value types other than string: " + k);
        }
      }
      if (Enabled(At(types_el, {"string", "string_inverted_index"}))) {
        return Rule("String inverted index can not be enabled on #document key: " + k);
      }
      continue;
    }
    if (k.starts_with("#")) {
      return Rule(
          "key cannot begin with '#'. Keys starting with '#' are reserved for system "
          "use: " +
          k);
    }
    if (Enabled(At(types_el, {"string", "fts_index"}))) {
      return Rule(
          "Full text search / regular expression index can only be enabled on "
          "#document field: " +
          k);
    }
    if (Enabled(At(types_el, {"float_list", "vector_index"}))) {
      return Rule("Vector index can only be enabled on #embedding field: " + k);
    }
    if (Enabled(At(types_el, {"sparse_vector", "sparse_vector_index"}))) sparse_keys.push_back(k);
  }
  if (sparse_keys.size() > 1) {
    std::string list;
    for (const auto& k : sparse_keys) list += (list.empty() ? "\"" : ", \"") + k + "\"";
    return Rule("At most one sparse vector index is allowed for the collection: [" + list + "]");
  }
  // HNSW parameters Chroma's reconciliation refuses (the others are checked with the
  // configuration's own rules).
  std::string ranges;
  for (auto path : {std::initializer_list<std::string_view>{"keys", "#embedding", "float_list",
                                                            "vector_index", "config", "hnsw"},
                    std::initializer_list<std::string_view>{"defaults", "float_list",
                                                            "vector_index", "config", "hnsw"}}) {
    auto hnsw = At(root, path);
    if (!hnsw) continue;
    for (const char* field : {"batch_size", "sync_threshold"}) {
      int64_t v = 0;
      if (auto el = At(*hnsw, {field}); el && !el->get(v) && v < 2) {
        ranges += (ranges.empty() ? "" : "\n") + std::string(field) +
                  ": Validation error: range [{\"min\": Number(2), \"value\": Number(" +
                  std::to_string(v) + ")}]";
      }
    }
    if (!ranges.empty()) {
      return Status::InvalidArgument("Failed to reconcile schema: Invalid HNSW configuration: " +
                                     ranges);
    }
  }
  return Status::Ok();
}

bool SchemaDiffersFromDefault(simdjson::dom::element root) {
  if (auto cmek = At(root, {"cmek"}); cmek && !cmek->is_null()) return true;
  simdjson::dom::object keys;
  if (auto k = At(root, {"keys"}); k && !k->get(keys)) {
    for (auto [key, types] : keys) {
      if (key != "#embedding" && key != "#document") return true;
    }
  }
  // Every index switch against Chroma's default.
  struct Switch {
    std::initializer_list<std::string_view> path;
    bool default_on;
  };
  const Switch switches[] = {
      {{"defaults", "string", "fts_index"}, false},
      {{"defaults", "string", "string_inverted_index"}, true},
      {{"defaults", "float_list", "vector_index"}, false},
      {{"defaults", "sparse_vector", "sparse_vector_index"}, false},
      {{"defaults", "int", "int_inverted_index"}, true},
      {{"defaults", "float", "float_inverted_index"}, true},
      {{"defaults", "bool", "bool_inverted_index"}, true},
      {{"keys", "#embedding", "float_list", "vector_index"}, true},
      {{"keys", "#document", "string", "fts_index"}, true},
      {{"keys", "#document", "string", "string_inverted_index"}, false},
  };
  for (const Switch& s : switches) {
    auto index = At(root, s.path);
    if (!index || index->is_null()) continue;
    if (Enabled(index) != s.default_on) return true;
  }
  for (auto path :
       {std::initializer_list<std::string_view>{"defaults", "float_list", "vector_index", "config"},
        std::initializer_list<std::string_view>{"keys", "#embedding", "float_list", "vector_index",
                                                "config"}}) {
    if (auto config = At(root, path); config && VectorConfigDiffers(*config)) return true;
  }
  if (auto config = At(root, {"defaults", "sparse_vector", "sparse_vector_index", "config"})) {
    bool bm25 = false;
    if (auto b = At(*config, {"bm25"}); b && !b->get(bm25) && bm25) return true;
    if (auto ef = At(*config, {"embedding_function"}); ef && !DefaultEmbeddingFunction(*ef)) {
      return true;
    }
  }
  return false;
}

bool ConfigurationDiffersFromDefault(simdjson::dom::element root) {
  if (auto spann = At(root, {"spann"}); spann && !spann->is_null()) return true;
  if (auto ef = At(root, {"embedding_function"}); ef && !DefaultEmbeddingFunction(*ef)) {
    return true;
  }
  auto hnsw = At(root, {"hnsw"});
  return hnsw && HnswDiffers(*hnsw, /*count_threads=*/true);
}

namespace {

int64_t Cores() { return static_cast<int64_t>(std::max(1u, std::thread::hardware_concurrency())); }

// {"enabled": …, "config": {}}: an index without parameters.
void WritePlainIndex(JsonWriter& w, std::string_view name, bool enabled) {
  w.Key(name);
  w.BeginObject();
  w.Key("enabled");
  w.Bool(enabled);
  w.Key("config");
  w.BeginObject();
  w.EndObject();
  w.EndObject();
}

void WriteHnsw(JsonWriter& w, const HnswConfig& h) {
  w.Key("hnsw");
  w.BeginObject();
  w.Key("ef_construction");
  w.Int(h.ef_construction);
  w.Key("max_neighbors");
  w.Int(h.max_neighbors);
  w.Key("ef_search");
  w.Int(h.ef_search);
  w.Key("num_threads");
  w.Int(h.num_threads > 0 ? h.num_threads : Cores());
  w.Key("batch_size");
  w.Int(h.batch_size);
  w.Key("sync_threshold");
  w.Int(h.sync_threshold);
  w.Key("resize_factor");
  w.Double(h.resize_factor);
  w.EndObject();
}

// A vector index entry: `config` from a configuration (space, embedding function, HNSW).
void WriteVectorIndex(JsonWriter& w, const CollectionConfiguration& config, bool enabled,
                      bool with_source_key) {
  w.Key("vector_index");
  w.BeginObject();
  w.Key("enabled");
  w.Bool(enabled);
  w.Key("config");
  w.BeginObject();
  w.Key("space");
  w.String(SpaceName(config.hnsw.space));
  if (!config.embedding_function_json.empty()) {
    w.Key("embedding_function");
    w.Raw(config.embedding_function_json);
  }
  if (with_source_key) {
    w.Key("source_key");
    w.String("#document");
  }
  WriteHnsw(w, config.hnsw);
  w.EndObject();
  w.EndObject();
}

// The vector index config a stored schema gives (`config` of a vector_index entry), over
// Chroma's defaults; `change` (modify's) on top.
CollectionConfiguration StoredVectorConfig(std::optional<simdjson::dom::element> config,
                                           const CollectionConfigurationInput* change) {
  CollectionConfiguration out;
  if (config) {
    std::string_view space;
    if (auto s = At(*config, {"space"}); s && !s->get(space)) {
      if (auto parsed = ParseSpace(space)) out.hnsw.space = *parsed;
    }
    if (auto ef = At(*config, {"embedding_function"}); ef && !ef->is_null()) {
      out.embedding_function_json = std::string(simdjson::minify(*ef));
    }
    if (auto h = At(*config, {"hnsw"})) {
      int64_t v = 0;
      double d = 0;
      for (auto [field, target] :
           {std::pair<const char*, int64_t*>{"ef_construction", &out.hnsw.ef_construction},
            {"max_neighbors", &out.hnsw.max_neighbors},
            {"ef_search", &out.hnsw.ef_search},
            {"num_threads", &out.hnsw.num_threads},
            {"batch_size", &out.hnsw.batch_size},
            {"sync_threshold", &out.hnsw.sync_threshold}}) {
        if (auto el = At(*h, {field}); el && !el->get(v)) *target = v;
      }
      if (auto el = At(*h, {"resize_factor"}); el && !el->get(d)) out.hnsw.resize_factor = d;
    }
  }
  if (change) {
    if (const auto& h = change->hnsw) {
      if (h->ef_search) out.hnsw.ef_search = *h->ef_search;
      if (h->max_neighbors) out.hnsw.max_neighbors = *h->max_neighbors;
      if (h->num_threads) out.hnsw.num_threads = *h->num_threads;
      if (h->resize_factor) out.hnsw.resize_factor = *h->resize_factor;
      if (h->sync_threshold) out.hnsw.sync_threshold = *h->sync_threshold;
      if (h->batch_size) out.hnsw.batch_size = *h->batch_size;
    }
    if (change->embedding_function_json) {
      out.embedding_function_json = *change->embedding_function_json;
    }
  }
  return out;
}

// A sparse vector index entry as stored, with Chroma's defaults for what it leaves out.
void WriteSparseIndex(JsonWriter& w, std::optional<simdjson::dom::element> index) {
  bool enabled = false, bm25 = false;
  std::string ef = R"({"type":"unknown"})";
  std::optional<std::string_view> source_key;
  if (index) {
    bool b = false;
    if (auto e = At(*index, {"enabled"}); e && !e->get(b)) enabled = b;
    if (auto e = At(*index, {"config", "embedding_function"}); e && !e->is_null()) {
      ef = std::string(simdjson::minify(*e));
    }
    if (auto e = At(*index, {"config", "bm25"}); e && !e->get(b)) bm25 = b;
    std::string_view k;
    if (auto s = At(*index, {"config", "source_key"}); s && !s->get(k)) source_key = k;
  }
  w.Key("sparse_vector_index");
  w.BeginObject();
  w.Key("enabled");
  w.Bool(enabled);
  w.Key("config");
  w.BeginObject();
  w.Key("embedding_function");
  w.Raw(ef);
  if (source_key) {
    w.Key("source_key");
    w.String(*source_key);
  }
  w.Key("bm25");
  w.Bool(bm25);
  w.EndObject();
  w.EndObject();
}

// Chroma's default switch of an index in `defaults`, and in `#document`.
bool DefaultOn(std::string_view index) {
  return index == "string_inverted_index" || index == "int_inverted_index" ||
         index == "float_inverted_index" || index == "bool_inverted_index";
}

void WriteSchemaImpl(JsonWriter& w, const Collection& c,
                     const CollectionConfigurationInput* change) {
  thread_local simdjson::dom::parser parser;
  std::optional<simdjson::dom::element> stored;
  if (!c.schema_json.empty()) {
    simdjson::dom::element root;
    if (!parser.parse(c.schema_json).get(root) && root.is_object()) stored = root;
  }
  auto stored_at =
      [&](std::initializer_list<std::string_view> steps) -> std::optional<simdjson::dom::element> {
    if (!stored) return std::nullopt;
    auto el = At(*stored, steps);
    if (!el || el->is_null()) return std::nullopt;
    return el;
  };
  auto enabled_or = [](std::optional<simdjson::dom::element> index, bool fallback) {
    bool on = false;
    if (index && !(*index)["enabled"].get(on)) return on;
    return fallback;
  };

  w.BeginObject();
  w.Key("defaults");
  w.BeginObject();
  for (const ValueType& vt : kValueTypes) {
    w.Key(vt.name);
    w.BeginObject();
    for (auto index : vt.indexes) {
      auto given = stored_at({"defaults", vt.name, index});
      if (index == "vector_index") {
        if (stored) {
          // The schema's own default vector index (not the collection's: that is #embedding's).
          WriteVectorIndex(
              w, StoredVectorConfig(stored_at({"defaults", vt.name, index, "config"}), change),
              enabled_or(given, false), /*with_source_key=*/false);
        } else {
          WriteVectorIndex(w, c.configuration, false, false);
        }
      } else if (index == "sparse_vector_index") {
        WriteSparseIndex(w, given);
      } else {
        WritePlainIndex(w, index, enabled_or(given, DefaultOn(index)));
      }
    }
    w.EndObject();
  }
  w.EndObject();

  w.Key("keys");
  w.BeginObject();
  w.Key("#embedding");
  w.BeginObject();
  w.Key("float_list");
  w.BeginObject();
  WriteVectorIndex(
      w, c.configuration,
      enabled_or(stored_at({"keys", "#embedding", "float_list", "vector_index"}), true),
      /*with_source_key=*/true);
  w.EndObject();
  w.EndObject();
  w.Key("#document");
  w.BeginObject();
  w.Key("string");
  w.BeginObject();
  WritePlainIndex(w, "fts_index",
                  enabled_or(stored_at({"keys", "#document", "string", "fts_index"}), true));
  WritePlainIndex(
      w, "string_inverted_index",
      enabled_or(stored_at({"keys", "#document", "string", "string_inverted_index"}), false));
  w.EndObject();
  w.EndObject();
  simdjson::dom::object keys;
  if (auto k = stored_at({"keys"}); k && !k->get(keys)) {
    for (auto [key, types] : keys) {
      if (key == "#embedding" || key == "#document") continue;
      w.Key(key);
      w.BeginObject();
      for (const ValueType& vt : kValueTypes) {
        auto type = At(types, {vt.name});
        if (!type || !type->is_object()) continue;
        w.Key(vt.name);
        w.BeginObject();
        for (auto index : vt.indexes) {
          auto given = At(*type, {index});
          if (!given || given->is_null()) continue;
          if (index == "vector_index") {
            // Never enabled on a key (ValidateSchema): echoed as given.
            w.Key(index);
            w.BeginObject();
            w.Key("enabled");
            w.Bool(enabled_or(given, false));
            w.Key("config");
            if (auto config = At(*given, {"config"})) {
              w.Raw(simdjson::minify(*config));
            } else {
              w.BeginObject();
              w.EndObject();
            }
            w.EndObject();
          } else if (index == "sparse_vector_index") {
            WriteSparseIndex(w, given);
          } else {
            WritePlainIndex(w, index, enabled_or(given, false));
          }
        }
        w.EndObject();
      }
      w.EndObject();
    }
  }
  w.EndObject();
  if (auto cmek = stored_at({"cmek"})) {
    w.Key("cmek");
    w.Raw(simdjson::minify(*cmek));
  }
  w.EndObject();
}

}  // namespace

void WriteSchema(JsonWriter& w, const Collection& collection) {
  WriteSchemaImpl(w, collection, nullptr);
}

std::string PatchSchemaForModify(const Collection& collection,
                                 const CollectionConfigurationInput& change) {
  if (collection.schema_json.empty()) return "";
  JsonWriter w;
  WriteSchemaImpl(w, collection, &change);
  return w.Take();
}

SparseIndexSetting SparseIndexOf(std::string_view schema_json, std::string_view key) {
  SparseIndexSetting out;
  if (schema_json.empty()) return out;
  thread_local simdjson::dom::parser parser;
  simdjson::dom::element schema;
  if (parser.parse(schema_json.data(), schema_json.size()).get(schema)) return out;
  auto own = At(schema, {"keys", key, "sparse_vector", "sparse_vector_index"});
  auto defaults = At(schema, {"defaults", "sparse_vector", "sparse_vector_index"});
  out.enabled = own ? Enabled(own) : Enabled(defaults);
  bool bm25 = false;
  if (own && !(*own)["config"]["bm25"].get(bm25)) {
    out.bm25 = bm25;
  } else if (defaults && !(*defaults)["config"]["bm25"].get(bm25)) {
    out.bm25 = bm25;
  }
  return out;
}

}  // namespace chromahouse
