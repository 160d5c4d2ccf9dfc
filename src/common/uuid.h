// UUID helpers. Collection and database ids are random (version 4) UUIDs in canonical
// lower-case hyphenated form.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace chromahouse {

std::string NewUuidV4();

// Accepts the canonical hyphenated form and the 32-hex-digit simple form (any case) and returns
// the canonical lower-case hyphenated form, or nullopt when `text` is not a UUID.
std::optional<std::string> ParseUuid(std::string_view text);

inline constexpr std::string_view kNilUuid = "00000000-0000-0000-0000-000000000000";

}  // namespace chromahouse
