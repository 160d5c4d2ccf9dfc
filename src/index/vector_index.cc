#include "index/vector_index.h"

#include <cmath>
#include <limits>
#include <string>

namespace chromahouse {

Status ValidateVector(uint32_t offset, const float* vector, size_t dim) {
  double norm_sq = 0;
  for (size_t i = 0; i < dim; ++i) {
    if (!std::isfinite(vector[i])) {
      return Status::InvalidArgument("vector for offset " + std::to_string(offset) +
                                     " has a non-finite component at index " + std::to_string(i));
    }
    norm_sq += double{vector[i]} * vector[i];
  }
  if (norm_sq > std::numeric_limits<float>::max()) {
    return Status::InvalidArgument("vector for offset " + std::to_string(offset) +
                                   " is too large: its squared norm overflows float32");
  }
  return Status::Ok();
}

}  // namespace chromahouse
