// Exact k-nearest-neighbour search.
//
// BruteForceSearch scans rows of a caller-owned matrix (row = offset) and computes the exact
// distance of API.md §3.6 on the original vectors. The caller's planner uses it when a filter
// leaves few offsets; tests use it as the oracle for HnswIndex. Cost: one distance per scanned
// row plus O(log k) per kept row; no allocation beyond the result.
//
// BruteForceIndex owns its vectors and implements VectorIndex with the same scan.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "index/distance.h"
#include "index/vector_index.h"

namespace chromahouse {

// A read-only row-major float matrix: row r starts at data + r * stride.
struct MatrixView {
  const float* data = nullptr;
  size_t rows = 0;
  size_t dim = 0;
  size_t stride = 0;  // floats from one row to the next, >= dim

  const float* Row(uint32_t offset) const { return data + size_t{offset} * stride; }
};

// The k rows of `matrix` nearest to `query`, over all rows for which `allow` (if not null) is
// true, sorted by (distance, offset).
std::vector<Neighbor> BruteForceSearch(Metric metric, const float* query, const MatrixView& matrix,
                                       size_t k, const AllowFn* allow);

// The same over an explicit list of offsets (e.g. the output of a filter). Offsets >=
// matrix.rows are skipped; the list should not repeat an offset (a repeat is reported twice).
std::vector<Neighbor> BruteForceSearch(Metric metric, const float* query, const MatrixView& matrix,
                                       std::span<const uint32_t> offsets, size_t k);

// Exact VectorIndex over vectors it owns (one dense row per offset up to the largest one).
// Thread safety: see VectorIndex.
class BruteForceIndex final : public VectorIndex {
 public:
  BruteForceIndex(size_t dim, Metric metric);

  size_t dim() const override { return dim_; }
  Metric metric() const override { return metric_; }

  Status Add(uint32_t offset, const float* vector) override;
  bool Remove(uint32_t offset) override;
  bool Contains(uint32_t offset) const override;
  std::vector<Neighbor> Search(const float* query, size_t k, const AllowFn* allow) const override;
  size_t size() const override { return live_count_; }
  size_t MemoryBytes() const override;

  // The stored rows (including rows that are not live).
  MatrixView Matrix() const { return {vectors_.data(), live_.size(), dim_, dim_}; }

 private:
  size_t dim_;
  Metric metric_;
  std::vector<float> vectors_;  // live_.size() rows of dim_ floats
  std::vector<uint8_t> live_;   // 1 if the offset holds a live vector
  size_t live_count_ = 0;
};

}  // namespace chromahouse
