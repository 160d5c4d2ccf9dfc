// BufferPool: large strings kept for reuse across requests (response bodies of many MB).
//
// A fresh page costs ~20 µs on these machines (CLICKHOUSE-AND-LIBS.md §2.4), ~75 ms for a 15 MB
// JSON response, and the allocator hands buffers of 8 MiB and more back to the kernel as soon as
// they are freed. A buffer given back here keeps its pages for the next big response instead.
// Small buffers (below kMinBytes) are not worth keeping and are freed; the pool retains at most
// `max_bytes` of capacity in all (the largest buffers first out when it is full).
//
// Thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "common/mutex.h"

namespace chromahouse {

// Maps the pages of [data, data + bytes) writable in one system call instead of one fault per
// page on first touch (about 10× cheaper here); does nothing where the kernel cannot.
void Prefault(void* data, size_t bytes);

class BufferPool {
 public:
  static constexpr size_t kMinBytes = size_t{1} << 20;

  explicit BufferPool(size_t max_bytes) : max_bytes_(max_bytes) {}

  // The pool for HTTP response bodies (64 MiB retained at most).
  static BufferPool& Responses();

  // An empty string with at least `capacity` reserved: a kept buffer when one is large enough
  // (the smallest such), otherwise a new one whose pages are mapped at once (Prefault).
  std::string Take(size_t capacity);
  // Hands a buffer back (its contents are discarded).
  void Give(std::string&& buffer);

  size_t retained_bytes() const;
  size_t buffers() const;

 private:
  const size_t max_bytes_;
  mutable Mutex mu_;
  std::vector<std::string> kept_ GUARDED_BY(mu_);
  size_t kept_bytes_ GUARDED_BY(mu_) = 0;
};

}  // namespace chromahouse
