// AlignedFloatBuffer: a zero-initialised float array whose start is 64-byte aligned (one cache
// line, one AVX-512 register). Move-only; Resize keeps the prefix and zeroes the rest.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>

namespace chromahouse {

class AlignedFloatBuffer {
 public:
  static constexpr size_t kAlignment = 64;

  AlignedFloatBuffer() = default;

  float* data() { return data_.get(); }
  const float* data() const { return data_.get(); }
  size_t size() const { return size_; }

  // Reallocates to `n` floats, copying min(n, size()) and zeroing the remainder.
  void Resize(size_t n) {
    size_t bytes = (n * sizeof(float) + kAlignment - 1) / kAlignment * kAlignment;
    std::unique_ptr<float, Free> fresh;
    if (bytes > 0) {
      fresh.reset(static_cast<float*>(std::aligned_alloc(kAlignment, bytes)));
      if (!fresh) throw std::bad_alloc();
      std::memset(fresh.get(), 0, bytes);
      if (size_ > 0) std::memcpy(fresh.get(), data_.get(), std::min(n, size_) * sizeof(float));
    }
    data_ = std::move(fresh);
    size_ = n;
  }

 private:
  struct Free {
    void operator()(float* p) const { std::free(p); }
  };
  std::unique_ptr<float, Free> data_;
  size_t size_ = 0;
};

}  // namespace chromahouse
