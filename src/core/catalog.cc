#include "core/catalog.h"

namespace chromahouse {

std::string_view SpaceName(Space space) {
  switch (space) {
    case Space::kL2: return "l2";
    case Space::kCosine: return "cosine";
    case Space::kIp: return "ip";
  }
  return "l2";
}

std::optional<Space> ParseSpace(std::string_view name) {
  if (name == "l2") return Space::kL2;
  if (name == "cosine") return Space::kCosine;
  if (name == "ip") return Space::kIp;
  return std::nullopt;
}

}  // namespace chromahouse

#include <simdjson.h>

#include "common/json_writer.h"

namespace chromahouse {

std::string ConfigurationToStoredJson(const CollectionConfiguration& config) {
  JsonWriter w;
  w.BeginObject();
  w.Key("hnsw");
  w.BeginObject();
  w.Key("space");
  w.String(SpaceName(config.hnsw.space));
  w.Key("ef_construction");
  w.Int(config.hnsw.ef_construction);
  w.Key("ef_search");
  w.Int(config.hnsw.ef_search);
  w.Key("max_neighbors");
  w.Int(config.hnsw.max_neighbors);
  w.Key("resize_factor");
  w.Double(config.hnsw.resize_factor);
  w.Key("sync_threshold");
  w.Int(config.hnsw.sync_threshold);
  w.Key("num_threads");
  w.Int(config.hnsw.num_threads);
  w.Key("batch_size");
  w.Int(config.hnsw.batch_size);
  w.EndObject();
  w.Key("embedding_function");
  if (config.embedding_function_json.empty()) {
    w.Null();
  } else {
    w.Raw(config.embedding_function_json);
  }
  w.EndObject();
  return w.Take();
}

Result<CollectionConfiguration> ConfigurationFromStoredJson(std::string_view json) {
  thread_local simdjson::dom::parser parser;
  simdjson::padded_string padded(json);
  simdjson::dom::element root;
  if (parser.parse(padded).get(root)) return Status::Internal("stored configuration is not JSON");
  CollectionConfiguration out;
  simdjson::dom::object hnsw;
  if (!root["hnsw"].get_object().get(hnsw)) {
    std::string_view space;
    if (!hnsw["space"].get_string().get(space)) {
      auto parsed = ParseSpace(space);
      if (!parsed) return Status::Internal("stored configuration has unknown space");
      out.hnsw.space = *parsed;
    }
    auto get_int = [&](const char* key, int64_t* dst) {
      int64_t v;
      if (!hnsw[key].get_int64().get(v)) *dst = v;
    };
    get_int("ef_construction", &out.hnsw.ef_construction);
    get_int("ef_search", &out.hnsw.ef_search);
    get_int("max_neighbors", &out.hnsw.max_neighbors);
    get_int("sync_threshold", &out.hnsw.sync_threshold);
    get_int("num_threads", &out.hnsw.num_threads);
    get_int("batch_size", &out.hnsw.batch_size);
    double rf;
    if (!hnsw["resize_factor"].get_double().get(rf)) out.hnsw.resize_factor = rf;
  }
  simdjson::dom::element ef;
  if (!root["embedding_function"].get(ef) && !ef.is_null()) {
    out.embedding_function_json = simdjson::minify(ef);
  }
  return out;
}

}  // namespace chromahouse
