// JSON ↔ catalog values for the Chroma v2 wire format (API.md §2.1–2.3, §5, §6).
#pragma once

#include <string>
#include <string_view>

#include "common/json_writer.h"
#include "common/status.h"
#include "core/catalog.h"
#include "core/requests.h"

namespace chromahouse {

// Bodies of POST /tenants and POST …/databases: {"name": str}.
Result<std::string> DecodeNameBody(std::string_view body);
// Body of PATCH /tenants/{t}: {"resource_name": str}.
Result<std::string> DecodeUpdateTenant(std::string_view body);
Result<CreateCollectionRequest> DecodeCreateCollection(std::string_view body);
Result<UpdateCollectionRequest> DecodeUpdateCollection(std::string_view body);

void WriteTenant(JsonWriter& w, const Tenant& tenant);
void WriteDatabase(JsonWriter& w, const Database& database);
// The Collection object of API.md §2.1 (configuration_json always an object).
void WriteCollection(JsonWriter& w, const Collection& collection);

// The v1 API (API.md §7): create-collection bodies may carry the legacy configuration
// {"hnsw_configuration": {"space", "ef_construction", "ef_search", "M", …}}, translated here;
// the Collection object carries that legacy configuration format.
Result<CreateCollectionRequest> DecodeCreateCollectionV1(std::string_view body);
void WriteCollectionV1(JsonWriter& w, const Collection& collection);

}  // namespace chromahouse
