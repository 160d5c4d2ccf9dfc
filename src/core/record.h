// Record: one full version of a record as stored (every write appends a full new version; a
// delete appends a tombstone).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/metadata.h"

namespace chromahouse {

struct RecordRow {
  std::string id;
  uint64_t version = 0;
  // Version of the record's first insert: get() returns records in this order, and upserts
  // and updates keep it.
  uint64_t created = 0;
  bool deleted = false;
  std::vector<float> embedding;  // empty on tombstones
  std::optional<std::string> document;
  std::optional<std::string> uri;
  std::optional<Metadata> metadata;  // user metadata; nullopt = none
};

}  // namespace chromahouse
