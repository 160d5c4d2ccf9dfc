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

#include "common/status.h"

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

}  // namespace chromahouse
