// A collection Schema given on create (Chroma 1.x, API.md §6.4), checked as Chroma checks it.
//
// Chroma reads a schema in two steps and so does this file:
//  1. Its shape (serde in Chroma): `defaults` (value types) and `keys` (key → value types) are
//     maps; every known index (`fts_index`, `string_inverted_index`, `vector_index`,
//     `sparse_vector_index`, `int_inverted_index`, `float_inverted_index`,
//     `bool_inverted_index`) is `{enabled: bool, config: {…}}`; configs have only their own
//     fields. A shape error is 422 "Failed to deserialize the JSON body into the target type:
//     <path>: …". Unknown value types and index names are ignored, as Chroma ignores them.
//  2. Its rules, 400 "Validation error: schema: …": keys beginning with '#' are reserved
//     (`#document` and `#embedding` excepted); full-text search only on `#document`, vector
//     indexes only on `#embedding` (sourced from `#document`), neither enabled by default;
//     `#embedding` holds only `float_list` and `#document` only `string`; no string inverted
//     index on `#document`; a sparse vector index only per key, at most one; HNSW's
//     `batch_size` and `sync_threshold` at least 2.
// Turning any index off is allowed.
#pragma once

#include <simdjson.h>

#include <string>

#include "common/json_writer.h"
#include "common/status.h"
#include "core/catalog.h"
#include "core/requests.h"

namespace chromahouse {

// `schema` is the request's `schema` value (not null).
Status ValidateSchema(simdjson::dom::element schema);

// Whether the schema asks for anything but Chroma's default (a schema may be given together
// with a configuration only when one of them is the default): true when it names a key other
// than `#document` and `#embedding`, or sets an index's switch or parameters otherwise than the
// default does. `num_threads` and embedding functions that are null, `unknown` or the known
// `default` do not count (Chroma ignores them in this comparison).
bool SchemaDiffersFromDefault(simdjson::dom::element schema);
// The same question for a create's `configuration` (HNSW parameters and space against Chroma's
// defaults, any SPANN parameters, the embedding function as above).
bool ConfigurationDiffersFromDefault(simdjson::dom::element configuration);

// A collection's schema as Chroma 1.x returns it. Without a stored schema (`schema_json` empty:
// none given, or one that asked for nothing) it is Chroma's default with the collection's
// vector index in `defaults.float_list` and `#embedding`. With one, the stored schema filled up
// as Chroma fills it: every index of `defaults` and of `#document` that it leaves out takes its
// default, vector index configs get Chroma's HNSW defaults, unknown value types and index names
// are dropped, and embedding functions that are null, `unknown` or the known `default` are left
// out. `#embedding`'s vector index always shows the collection's configuration (its space,
// HNSW parameters and embedding function: they decided it), with the stored `enabled`.
void WriteSchema(JsonWriter& w, const Collection& collection);

// Modify: Chroma writes the new HNSW parameters and embedding function into both vector indexes
// of the schema. The collection's stored schema with `change` applied to its
// `defaults.float_list` vector index (`#embedding` follows the configuration anyway), filled up
// as WriteSchema fills it; empty when the collection has no stored schema.
std::string PatchSchemaForModify(const Collection& collection,
                                 const CollectionConfigurationInput& change);

// What a collection's schema says of the sparse vector index of metadata key `key` (a search's
// sparse `$knn`): `keys[key].sparse_vector.sparse_vector_index`, else `defaults`'s. Without a
// stored schema: disabled.
struct SparseIndexSetting {
  bool enabled = false;
  bool bm25 = false;
};
SparseIndexSetting SparseIndexOf(std::string_view schema_json, std::string_view key);

}  // namespace chromahouse
