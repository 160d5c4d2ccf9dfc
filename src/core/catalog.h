// Catalog values: tenants, databases, collections and a collection's configuration.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "core/metadata.h"

namespace chromahouse {

inline constexpr std::string_view kDefaultTenant = "default_tenant";
inline constexpr std::string_view kDefaultDatabase = "default_database";

struct Tenant {
  std::string name;
  std::optional<std::string> resource_name;
  uint64_t version = 0;
  bool deleted = false;
};

struct Database {
  std::string id;  // canonical UUID
  std::string name;
  std::string tenant;
  uint64_t version = 0;
  bool deleted = false;
};

enum class Space { kL2, kCosine, kIp };
std::string_view SpaceName(Space space);
std::optional<Space> ParseSpace(std::string_view name);

// HNSW parameters of a collection. Defaults are those of Chroma 1.x.
struct HnswConfig {
  Space space = Space::kL2;
  int64_t ef_construction = 100;
  int64_t ef_search = 100;
  int64_t max_neighbors = 16;
  double resize_factor = 1.2;
  int64_t sync_threshold = 1000;
  // Accepted on input, never echoed (as in Chroma); 0 means "the number of cores".
  int64_t num_threads = 0;
  int64_t batch_size = 100;

  bool operator==(const HnswConfig&) const = default;
};

struct CollectionConfiguration {
  HnswConfig hnsw;
  // The embedding-function configuration, stored and echoed verbatim as JSON text; empty = null.
  std::string embedding_function_json;
};

struct Collection {
  std::string id;  // canonical UUID
  std::string name;
  std::string tenant;
  std::string database;
  std::optional<Metadata> metadata;
  CollectionConfiguration configuration;
  std::string schema_json;  // verbatim JSON text of a user-given schema; empty = null
  std::optional<int64_t> dimension;
  uint64_t version = 0;  // row version in storage (not Chroma's "version" field, which is 0)
  bool deleted = false;
};

// One fork in a collection's lineage: `target` was forked from `source`; `root` is the
// collection the lineage started with (the source's root, or the source when it is none's fork).
// Forks are counted per lineage, also once their collections are deleted (as Chroma counts).
struct CollectionFork {
  std::string root;
  std::string source;
  std::string target;
  uint64_t version = 0;  // the catalog version of the fork
};

}  // namespace chromahouse

namespace chromahouse {

// The stored form of a configuration (a JSON object with every HNSW parameter and the
// embedding-function JSON). Used by storage implementations.
std::string ConfigurationToStoredJson(const CollectionConfiguration& config);
Result<CollectionConfiguration> ConfigurationFromStoredJson(std::string_view json);

}  // namespace chromahouse
