// Decoded request values of the record routes (API.md §2.4, §3). codec/ builds them from JSON
// (shapes, 422); service/ applies Chroma's semantics.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/metadata.h"
#include "core/where.h"

namespace chromahouse {

// A metadata change: keys to set and keys to delete (null values on update/upsert).
struct MetadataPatch {
  Metadata set;
  std::vector<std::string> remove;
};

enum class RecordWriteKind { kAdd, kUpsert, kUpdate };

// add / upsert / update. Absent arrays are nullopt; null elements are nullopt ("unchanged" on
// update and upsert; on add only documents/uris/metadatas may hold nulls).
struct RecordWriteRequest {
  std::vector<std::string> ids;
  std::optional<std::vector<std::optional<std::vector<float>>>> embeddings;
  std::optional<std::vector<std::optional<std::string>>> documents;
  std::optional<std::vector<std::optional<std::string>>> uris;
  std::optional<std::vector<std::optional<MetadataPatch>>> metadatas;
};

enum class IncludeField { kDocuments, kEmbeddings, kMetadatas, kDistances, kUris };

struct Include {
  std::vector<IncludeField> fields;  // as given (echoed verbatim in responses)
  bool Has(IncludeField f) const {
    for (auto x : fields) {
      if (x == f) return true;
    }
    return false;
  }
};

struct GetRequest {
  std::optional<std::vector<std::string>> ids;
  std::optional<Where> where;
  std::optional<Where> where_document;
  std::optional<int64_t> limit;
  int64_t offset = 0;
  Include include;
};

struct QueryRequest {
  std::vector<std::vector<float>> query_embeddings;
  int64_t n_results = 10;
  std::optional<std::vector<std::string>> ids;
  std::optional<Where> where;
  std::optional<Where> where_document;
  Include include;
  // Chroma 1.x (the v2 API): `ids` without a filter that name a record that does not exist
  // fail the query (500 "Error executing plan: Internal error: Error finding id"), once the
  // collection has a dimension. The v1 API leaves them out.
  bool unknown_ids_fail = false;
};

struct DeleteRequest {
  std::optional<std::vector<std::string>> ids;
  std::optional<Where> where;
  std::optional<Where> where_document;
  std::optional<int64_t> limit;
};

// One record as returned by get/query (only the included columns are filled).
struct RecordView {
  std::string id;
  const float* embedding = nullptr;
  size_t dim = 0;
  const std::optional<std::string>* document = nullptr;
  const std::optional<std::string>* uri = nullptr;
  // The stored JSON text of the metadata (MetadataToJson), as RecordStore keeps it.
  const std::optional<std::string>* metadata_json = nullptr;
  float distance = 0;
};

}  // namespace chromahouse
