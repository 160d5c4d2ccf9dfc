// Metadata: the typed key/value maps attached to collections and records.
//
// Values keep their JSON kind: a number written with a decimal point or exponent is a float
// (2.0 stays a float), an integer is an int64, and arrays are homogeneous.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/json_writer.h"
#include "common/sparse_vector.h"
#include "common/status.h"

namespace chromahouse {

// A sparse vector as a metadata value: shared and immutable, so that a metadata value stays
// small (the vector's arrays live once, whatever copies of the metadata exist).
struct SparseValue {
  std::shared_ptr<const SparseVector> vector;

  explicit SparseValue(SparseVector v)
      : vector(std::make_shared<const SparseVector>(std::move(v))) {}
  const SparseVector& operator*() const { return *vector; }
  const SparseVector* operator->() const { return vector.get(); }
  bool operator==(const SparseValue& other) const { return *vector == *other.vector; }
};

using MetadataValue =
    std::variant<bool, int64_t, double, std::string, std::vector<bool>, std::vector<int64_t>,
                 std::vector<double>, std::vector<std::string>, SparseValue>;

using Metadata = std::map<std::string, MetadataValue, std::less<>>;

void WriteSparseVector(JsonWriter& w, const SparseVector& v);
// Writes `value` as JSON (floats always with a decimal point).
void WriteMetadataValue(JsonWriter& w, const MetadataValue& value);
// Writes the map as a JSON object. Keys starting with "chroma:" are skipped when
// `hide_reserved` is set (they are internal and never shown to clients).
void WriteMetadata(JsonWriter& w, const Metadata& metadata, bool hide_reserved);
std::string MetadataToJson(const Metadata& metadata);

// Parses JSON written by MetadataToJson (the stored form). Numbers with '.', 'e' or 'E' are
// floats, others ints; integers beyond int64 become floats.
Result<Metadata> MetadataFromJson(std::string_view json);

}  // namespace chromahouse
