// Name rules for tenants, databases and collections (Chroma 1.x, API.md §10).
#pragma once

#include <string_view>

#include "common/status.h"

namespace chromahouse {

// Collections, and databases on create: 3–512 characters of [a-zA-Z0-9._-], alphanumeric first
// and last character, no "..", not an IPv4 or IPv6 address; one '+' may join two such parts.
// `field` names the request field in the message ("name" on create, "new_name" on modify).
Status ValidateCollectionName(std::string_view name, std::string_view field = "name");
Status ValidateDatabaseNameForCreate(std::string_view name);
// Other routes only require at least 3 characters.
Status ValidateDatabaseNameLength(std::string_view name);
Status ValidateTenantName(std::string_view name);

}  // namespace chromahouse
