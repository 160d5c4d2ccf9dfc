// Decoded request values for the catalog routes. codec/ builds them from JSON (shape checks,
// 422); service/ validates their meaning (400) and applies them.
#pragma once

#include <functional>
#include <optional>
#include <string>

#include "core/catalog.h"
#include "core/metadata.h"

namespace chromahouse {

// HNSW keys as given by a client; absent keys keep their defaults (create) or current values
// (update).
struct HnswConfigInput {
  std::optional<Space> space;
  std::optional<int64_t> ef_construction;
  std::optional<int64_t> ef_search;
  std::optional<int64_t> max_neighbors;
  std::optional<int64_t> num_threads;
  std::optional<double> resize_factor;
  std::optional<int64_t> sync_threshold;
  std::optional<int64_t> batch_size;

  bool empty() const {
    return !space && !ef_construction && !ef_search && !max_neighbors && !num_threads &&
           !resize_factor && !sync_threshold && !batch_size;
  }
};

struct CollectionConfigurationInput {
  std::optional<HnswConfigInput> hnsw;
  // SPANN is a cloud index; on this server it becomes HNSW keeping the space (and ef_search).
  std::optional<HnswConfigInput> spann;
  // Present and not null: JSON text to store verbatim.
  std::optional<std::string> embedding_function_json;
};

struct CreateCollectionRequest {
  std::string name;
  std::optional<Metadata> metadata;
  std::optional<CollectionConfigurationInput> configuration;
  std::string schema_json;  // empty = none
  // The vector index the schema declares for `#embedding` (`schema.keys["#embedding"]`, else
  // `schema.defaults`): its space, HNSW parameters and embedding function. Applied where the
  // configuration leaves them open.
  std::optional<CollectionConfigurationInput> schema_vector_index;
  bool get_or_create = false;
};

struct UpdateCollectionRequest {
  std::optional<std::string> new_name;
  // The new metadata map (keys given as null already dropped); replaces the whole map.
  std::optional<Metadata> new_metadata;
  // new_metadata was given with every value null: the collection's metadata becomes null.
  bool clear_metadata = false;
  std::optional<CollectionConfigurationInput> new_configuration;
  // The stored schema of the collection (`schema_json`, not empty) as this change leaves it:
  // Chroma writes modify's HNSW parameters and embedding function into the schema too. Set with
  // new_configuration by the codec; applied in the catalog store's change step.
  std::function<std::string(const Collection&)> schema_patch;
};

struct Page {
  std::optional<int64_t> limit;
  int64_t offset = 0;
};

}  // namespace chromahouse
