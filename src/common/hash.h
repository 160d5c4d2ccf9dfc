// Hash64: a fast 64-bit hash of bytes (XXH3 from Debian's libxxhash-dev, compiled inline), for
// checksums of stored blobs and fingerprints of vectors. Not for security.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace chromahouse {

uint64_t Hash64(const void* data, size_t size);
inline uint64_t Hash64(std::string_view bytes) { return Hash64(bytes.data(), bytes.size()); }

}  // namespace chromahouse
