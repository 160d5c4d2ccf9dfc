#include "common/hash.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace chromahouse {

uint64_t Hash64(const void* data, size_t size) { return XXH3_64bits(data, size); }

}  // namespace chromahouse
