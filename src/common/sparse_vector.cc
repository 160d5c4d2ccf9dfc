#include "common/sparse_vector.h"

#include <cmath>

namespace chromahouse {

std::optional<std::string> SparseVector::Problem() const {
  // Chroma's messages, then what exactly is wrong.
  if (values.size() != indices.size() || (!tokens.empty() && tokens.size() != indices.size())) {
    std::string counts =
        std::to_string(indices.size()) + " indices, " + std::to_string(values.size()) + " values";
    if (!tokens.empty()) counts += ", " + std::to_string(tokens.size()) + " tokens";
    return "Sparse vector indices, values, and tokens (when present) must have the same length "
           "(" +
           counts + ")";
  }
  for (size_t i = 1; i < indices.size(); ++i) {
    if (indices[i] <= indices[i - 1]) {
      return "Sparse vector indices must be sorted in strictly ascending order (no duplicates) "
             "(index " +
             std::to_string(indices[i]) + " at position " + std::to_string(i) + " follows " +
             std::to_string(indices[i - 1]) + ")";
    }
  }
  for (size_t i = 0; i < values.size(); ++i) {
    if (!std::isfinite(values[i])) {
      return "Sparse vector values must be finite (value at position " + std::to_string(i) +
             " is not)";
    }
  }
  return std::nullopt;
}

double SparseVector::Dot(const SparseVector& other) const {
  double sum = 0;
  size_t i = 0, j = 0;
  while (i < indices.size() && j < other.indices.size()) {
    if (indices[i] < other.indices[j]) {
      ++i;
    } else if (indices[i] > other.indices[j]) {
      ++j;
    } else {
      sum += double(values[i++]) * double(other.values[j++]);
    }
  }
  return sum;
}

}  // namespace chromahouse
