// AlignedAllocator: a std::allocator replacement whose blocks start on an `Alignment`-byte
// boundary, for vectors of floats that SIMD kernels read (std::vector<float, AlignedAllocator<
// float, 64>> keeps the usual growth and move semantics).
#pragma once

#include <cstddef>
#include <new>

namespace chromahouse {

template <typename T, size_t Alignment>
struct AlignedAllocator {
  using value_type = T;
  template <typename U>
  struct rebind {
    using other = AlignedAllocator<U, Alignment>;
  };

  AlignedAllocator() = default;
  template <typename U>
  AlignedAllocator(const AlignedAllocator<U, Alignment>&) {}  // NOLINT

  T* allocate(size_t n) {
    return static_cast<T*>(::operator new (n * sizeof(T), std::align_val_t{Alignment}));
  }
  void deallocate(T* p, size_t) { ::operator delete (p, std::align_val_t{Alignment}); }

  template <typename U>
  bool operator==(const AlignedAllocator<U, Alignment>&) const {
    return true;
  }
};

}  // namespace chromahouse
