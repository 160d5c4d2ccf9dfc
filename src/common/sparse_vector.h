// SparseVector: a vector of a few non-zero dimensions out of 2^32 (the sparse embeddings of
// a search, API.md §13).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace chromahouse {

// A sparse vector: dimensions `indices` (strictly ascending) with `values`, and
// optionally the `tokens` each dimension stands for (as many as indices; empty = none given).
// On the wire and in storage: {"#type": "sparse_vector", "indices": [...], "values": [...],
// "tokens": [...]}.
struct SparseVector {
  std::vector<uint32_t> indices;
  std::vector<float> values;
  std::vector<std::string> tokens;

  bool operator==(const SparseVector&) const = default;
  // Chroma's rules: as many values (and tokens, if any) as indices, indices strictly
  // ascending, values finite. Returns what is wrong, or nullopt.
  std::optional<std::string> Problem() const;
  // Σ values[i] * other.values[j] over the shared indices.
  double Dot(const SparseVector& other) const;
};

}  // namespace chromahouse
