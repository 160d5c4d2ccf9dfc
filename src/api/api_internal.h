// Helpers shared by the handler files of api/ (not part of the module's interface).
#pragma once

#include <string>

#include "api/router.h"
#include "common/status.h"
#include "core/requests.h"

namespace chromahouse {

// The {collection_id} path segment as a canonical UUID; 400 when it is not one.
Result<std::string> CollectionIdParam(const RouteContext& ctx);
// `limit` / `offset` query parameters (u32; 400 naming the parameter otherwise).
Result<Page> ReadPage(const RouteContext& ctx);
// 400 when the {database} segment is shorter than 3 characters.
Status ValidateDatabaseSegment(const RouteContext& ctx);

}  // namespace chromahouse
