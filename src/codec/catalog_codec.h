// JSON ↔ catalog values for the Chroma v2 wire format (API.md §2.1–2.3, §5, §6).
#pragma once

#include <string>
#include <string_view>

#include "common/json_writer.h"
#include "common/status.h"
#include "core/catalog.h"
#include "core/requests.h"
#include "core/where.h"

namespace chromahouse {

// Bodies of POST /tenants and POST …/databases: {"name": str}.
Result<std::string> DecodeNameBody(std::string_view body);
// Body of PATCH /tenants/{t}: {"resource_name": str}.
Result<std::string> DecodeUpdateTenant(std::string_view body);
Result<CreateCollectionRequest> DecodeCreateCollection(std::string_view body);
Result<UpdateCollectionRequest> DecodeUpdateCollection(std::string_view body);
// The body of a fork: `{"new_name": str}` (the new collection's name).
Result<std::string> DecodeForkCollection(std::string_view body);

void WriteTenant(JsonWriter& w, const Tenant& tenant);
void WriteDatabase(JsonWriter& w, const Database& database);
// The Collection object of API.md §2.1 (configuration_json always an object).
void WriteCollection(JsonWriter& w, const Collection& collection);

// The v1 API (API.md §7): create-collection bodies may carry the legacy configuration
// {"hnsw_configuration": {"space", "ef_construction", "ef_search", "M", …}}, translated here;
// the Collection object carries that legacy configuration format.
Result<CreateCollectionRequest> DecodeCreateCollectionV1(std::string_view body);
void WriteCollectionV1(JsonWriter& w, const Collection& collection);

// The index switches of a collection's schema (`schema_json`, as given at creation) applied to
// a read's filters, as Chroma 1.x applies them: a metadata condition on a key whose inverted
// index for the operand's type is disabled (per key in `keys`, else in `defaults`) is refused
// ("Cannot filter using metadata key 'k' with type 'Str' because indexing is disabled"), and
// so is any document condition when `#document`'s full-text index is disabled.
Status CheckFiltersAgainstSchema(std::string_view schema_json, const Where* where,
                                 const Where* where_document);

}  // namespace chromahouse
