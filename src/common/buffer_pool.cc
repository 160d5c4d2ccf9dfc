#include "common/buffer_pool.h"

#include <sys/mman.h>

#include <algorithm>
#include <cstdint>

namespace chromahouse {

void Prefault(void* data, size_t bytes) {
#ifdef MADV_POPULATE_WRITE
  // One system call maps every page (Linux 5.14+; older kernels refuse it and the pages fault
  // in one by one as before).
  const uintptr_t page = 4096;
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(data) + page - 1) & ~(page - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(data) + bytes) & ~(page - 1);
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_POPULATE_WRITE);
#else
  (void)data;
  (void)bytes;
#endif
}

BufferPool& BufferPool::Responses() {
  static BufferPool* pool = new BufferPool(size_t{64} << 20);
  return *pool;
}

std::string BufferPool::Take(size_t capacity) {
  std::string out;
  if (capacity >= kMinBytes) {
    MutexLock lock(mu_);
    auto best = kept_.end();
    for (auto it = kept_.begin(); it != kept_.end(); ++it) {
      if (it->capacity() >= capacity &&
          (best == kept_.end() || it->capacity() < best->capacity())) {
        best = it;
      }
    }
    if (best != kept_.end()) {
      kept_bytes_ -= best->capacity();
      out = std::move(*best);
      kept_.erase(best);
    }
  }
  out.clear();
  if (out.capacity() < capacity) {
    out.reserve(capacity);
    if (capacity >= kMinBytes) Prefault(out.data(), out.capacity());
  }
  return out;
}

void BufferPool::Give(std::string&& buffer) {
  const size_t bytes = buffer.capacity();
  if (bytes < kMinBytes || bytes > max_bytes_) return;  // freed with `buffer`'s owner
  std::string kept = std::move(buffer);
  kept.clear();
  MutexLock lock(mu_);
  // Room is made by dropping the smallest kept buffers: big ones are the expensive ones.
  while (kept_bytes_ + bytes > max_bytes_ && !kept_.empty()) {
    auto smallest = std::min_element(kept_.begin(), kept_.end(), [](const auto& a, const auto& b) {
      return a.capacity() < b.capacity();
    });
    if (smallest->capacity() >= bytes) return;  // not worth more than what is kept
    kept_bytes_ -= smallest->capacity();
    kept_.erase(smallest);
  }
  kept_bytes_ += bytes;
  kept_.push_back(std::move(kept));
}

size_t BufferPool::retained_bytes() const {
  MutexLock lock(mu_);
  return kept_bytes_;
}

size_t BufferPool::buffers() const {
  MutexLock lock(mu_);
  return kept_.size();
}

}  // namespace chromahouse
