#include "index/brute_force.h"

#include <algorithm>

namespace chromahouse {
namespace {

// Keeps the k smallest (distance, offset) pairs in a max-heap; Finish() sorts them.
class TopK {
 public:
  explicit TopK(size_t k) : k_(k) { heap_.reserve(k); }

  void Push(float distance, uint32_t offset) {
    Neighbor n{distance, offset};
    if (heap_.size() < k_) {
      heap_.push_back(n);
      std::push_heap(heap_.begin(), heap_.end());
    } else if (n < heap_.front()) {
      std::pop_heap(heap_.begin(), heap_.end());
      heap_.back() = n;
      std::push_heap(heap_.begin(), heap_.end());
    }
  }

  std::vector<Neighbor> Finish() && {
    std::sort_heap(heap_.begin(), heap_.end());
    return std::move(heap_);
  }

 private:
  size_t k_;
  std::vector<Neighbor> heap_;
};

template <typename Pred>
std::vector<Neighbor> ScanRows(Metric metric, const float* query, const MatrixView& matrix,
                               size_t k, Pred&& allowed) {
  if (k == 0) return {};
  DistanceFn dist = RawDistanceFn(metric);
  TopK top(std::min(k, matrix.rows));
  for (size_t row = 0; row < matrix.rows; ++row) {
    auto offset = static_cast<uint32_t>(row);
    if (!allowed(offset)) continue;
    top.Push(dist(query, matrix.Row(offset), matrix.dim), offset);
  }
  return std::move(top).Finish();
}

}  // namespace

std::vector<Neighbor> BruteForceSearch(Metric metric, const float* query, const MatrixView& matrix,
                                       size_t k, const AllowFn* allow) {
  if (allow == nullptr) return ScanRows(metric, query, matrix, k, [](uint32_t) { return true; });
  return ScanRows(metric, query, matrix, k, [allow](uint32_t offset) { return (*allow)(offset); });
}

std::vector<Neighbor> BruteForceSearch(Metric metric, const float* query, const MatrixView& matrix,
                                       std::span<const uint32_t> offsets, size_t k) {
  if (k == 0) return {};
  DistanceFn dist = RawDistanceFn(metric);
  TopK top(std::min(k, offsets.size()));
  for (uint32_t offset : offsets) {
    if (offset >= matrix.rows) continue;
    top.Push(dist(query, matrix.Row(offset), matrix.dim), offset);
  }
  return std::move(top).Finish();
}

BruteForceIndex::BruteForceIndex(size_t dim, Metric metric) : dim_(dim), metric_(metric) {}

Status BruteForceIndex::Add(uint32_t offset, const float* vector) {
  RETURN_IF_ERROR(ValidateVector(offset, vector, dim_));
  if (offset >= live_.size()) {
    live_.resize(size_t{offset} + 1, 0);
    vectors_.resize(live_.size() * dim_, 0.0f);
  }
  std::copy(vector, vector + dim_, vectors_.begin() + static_cast<ptrdiff_t>(offset * dim_));
  if (!live_[offset]) {
    live_[offset] = 1;
    ++live_count_;
  }
  return Status::Ok();
}

bool BruteForceIndex::Remove(uint32_t offset) {
  if (!Contains(offset)) return false;
  live_[offset] = 0;
  --live_count_;
  return true;
}

bool BruteForceIndex::Contains(uint32_t offset) const {
  return offset < live_.size() && live_[offset] != 0;
}

std::vector<Neighbor> BruteForceIndex::Search(const float* query, size_t k,
                                              const AllowFn* allow) const {
  MatrixView m = Matrix();
  if (allow == nullptr) {
    return ScanRows(metric_, query, m, k, [this](uint32_t offset) { return live_[offset] != 0; });
  }
  return ScanRows(metric_, query, m, k, [this, allow](uint32_t offset) {
    return live_[offset] != 0 && (*allow)(offset);
  });
}

size_t BruteForceIndex::MemoryBytes() const {
  return sizeof(*this) + vectors_.capacity() * sizeof(float) + live_.capacity();
}

}  // namespace chromahouse
