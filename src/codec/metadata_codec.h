// JSON → Metadata with Chroma's typing rules (API.md §3.3): strings, int64, float64 (a number
// with a decimal point or exponent stays a float), bools, and non-empty homogeneous arrays
// (ints mixed with floats make a float array; an empty array is dropped), and sparse vectors
// ({"#type": "sparse_vector", ...}, core/metadata.h; their rules are checked by the record
// service). Other objects and mixed arrays are 422.
#pragma once

#include <simdjson.h>

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "core/metadata.h"

namespace chromahouse {

enum class MetadataNulls {
  kReject,   // null value → 422 (add, create collection)
  kCollect,  // null value → its key goes to `null_keys` (update/upsert: delete that key)
};

Result<Metadata> DecodeMetadata(simdjson::dom::object obj, std::string_view path,
                                MetadataNulls nulls, std::vector<std::string>* null_keys);

}  // namespace chromahouse
