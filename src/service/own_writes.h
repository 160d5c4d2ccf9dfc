// OwnWrites: counts the record writes this instance stored, so that the freshness loop
// (service/collection_refresher.h) can tell whether anybody else wrote: storage's write count
// (Storage::RecordWriteCount) is read while no write of this instance is in flight and compared
// with this count.
//
// Thread safety: all methods are thread-safe.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>
#include <utility>

#include "common/mutex.h"

namespace chromahouse {

class OwnWrites {
 public:
  // Held around each record write to storage; Stored() counts it once storage has it.
  class SCOPED_CAPABILITY Writing {
   public:
    explicit Writing(OwnWrites& writes) ACQUIRE_SHARED(writes.mu_)
        : writes_(writes), lock_(writes.mu_) {}
    ~Writing() RELEASE() = default;
    void Stored() { writes_.stored_.fetch_add(1); }

   private:
    OwnWrites& writes_;
    ReaderLock lock_;
  };

  // Runs `read` while no write of this instance is in flight (waiting at most `timeout` for
  // those in flight to end) and returns its value with the number of writes stored so far;
  // nullopt when they did not end in time (`read` is not run then).
  template <class Read>
  auto WhileNoneInFlight(std::chrono::milliseconds timeout, Read&& read)
      -> std::optional<std::pair<decltype(read()), uint64_t>> {
    if (!mu_.try_lock_for(timeout)) return std::nullopt;
    auto value = read();
    const uint64_t stored = stored_.load();
    mu_.unlock();
    return std::make_pair(std::move(value), stored);
  }

 private:
  SharedMutex mu_;  // held shared by each write in flight
  std::atomic<uint64_t> stored_{0};
};

}  // namespace chromahouse
