// Version clock: 64-bit versions that order all writes to one row across instances.
//
// Layout (high to low): 42 bits of milliseconds since the Unix epoch, 14 bits of counter within
// the millisecond, 8 bits of instance id. Versions from one clock strictly increase, even if the
// wall clock steps back. ReplacingMergeTree keeps the row with the highest version, and the
// server's memory applies the same rule.
#pragma once

#include <cstdint>

#include "common/mutex.h"

namespace chromahouse {

class VersionClock {
 public:
  explicit VersionClock(uint8_t instance_id = 0) : instance_id_(instance_id) {}

  // Thread-safe.
  uint64_t Next();

  // Makes every later Next() larger than `seen` (e.g. after loading rows written elsewhere).
  void Observe(uint64_t seen);

  static uint64_t MillisOf(uint64_t version) { return version >> 22; }

 private:
  Mutex mu_;
  uint64_t last_ GUARDED_BY(mu_) = 0;
  const uint8_t instance_id_;
};

int64_t NowNanos();
int64_t NowMillis();
int64_t NowSeconds();
// Milliseconds of a monotonic clock (for intervals, never for versions).
int64_t SteadyMillis();

}  // namespace chromahouse
