// VectorIndex: the seam between a collection and its k-NN structure.
//
// Vectors are addressed by dense uint32_t offsets that the caller owns and reuses (offset r is
// row r of the caller's matrix). An index never invents or renumbers offsets. Implementations:
// HnswIndex (approximate, graph) and BruteForceIndex (exact; the oracle in tests).
//
// Thread safety (all implementations): const methods may run concurrently with each other;
// Add and Remove need exclusive access (the caller's lock, e.g. a shared_mutex per collection).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include "common/status.h"
#include "index/distance.h"

namespace chromahouse {

// (distance, offset). Results are sorted ascending by distance, then by offset.
using Neighbor = std::pair<float, uint32_t>;

// Filter hook for search: returns true for offsets that may appear in the result. Called from
// the searching thread, at most once per visited offset; must not call back into the index.
using AllowFn = std::function<bool(uint32_t offset)>;

// OK unless a component is NaN or infinite, or ‖vector‖² overflows a float (distances would be
// infinite and rank nothing): then InvalidArgument naming the offset. Used by every Add.
Status ValidateVector(uint32_t offset, const float* vector, size_t dim);

class VectorIndex {
 public:
  virtual ~VectorIndex() = default;

  virtual size_t dim() const = 0;
  virtual Metric metric() const = 0;

  // Inserts `vector` (dim() floats, copied) at `offset`, or replaces the vector already there;
  // a removed offset becomes live again. InvalidArgument when ValidateVector fails.
  virtual Status Add(uint32_t offset, const float* vector) = 0;
  // Marks `offset` removed; false if it was not live.
  virtual bool Remove(uint32_t offset) = 0;
  virtual bool Contains(uint32_t offset) const = 0;

  // Up to k live offsets nearest to `query` (dim() floats) for which `allow` (if not null)
  // returns true, sorted by (distance, offset).
  virtual std::vector<Neighbor> Search(const float* query, size_t k,
                                       const AllowFn* allow) const = 0;

  // Number of live offsets.
  virtual size_t size() const = 0;
  // Bytes held by the index, including reserved capacity.
  virtual size_t MemoryBytes() const = 0;
};

}  // namespace chromahouse
