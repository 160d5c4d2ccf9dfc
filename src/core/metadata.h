// Metadata: the typed key/value maps attached to collections and records.
//
// Values keep their JSON kind: a number written with a decimal point or exponent is a float
// (2.0 stays a float), an integer is an int64, and arrays are homogeneous.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/json_writer.h"
#include "common/status.h"

namespace chromahouse {

using MetadataValue = std::variant<bool, int64_t, double, std::string, std::vector<bool>,
                                   std::vector<int64_t>, std::vector<double>,
                                   std::vector<std::string>>;

using Metadata = std::map<std::string, MetadataValue, std::less<>>;

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
