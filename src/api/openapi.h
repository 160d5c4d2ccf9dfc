// The OpenAPI 3.0.3 description of every route (src/api/openapi.json), embedded in the binary
// at configure time and served verbatim by GET /openapi.json.
#pragma once

#include <string_view>

namespace chromahouse {

std::string_view OpenApiDocument();

}  // namespace chromahouse
