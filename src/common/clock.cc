#include "common/clock.h"

#include <chrono>

namespace chromahouse {

int64_t NowNanos() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

int64_t NowMillis() { return NowNanos() / 1000000; }
int64_t NowSeconds() { return NowNanos() / 1000000000; }

uint64_t VersionClock::Next() {
  uint64_t wall = (static_cast<uint64_t>(NowMillis()) << 22) | instance_id_;
  MutexLock lock(mu_);
  uint64_t next = last_ + (1u << 8);
  next = (next & ~uint64_t{0xff}) | instance_id_;
  if (wall > next) next = wall;
  last_ = next;
  return next;
}

void VersionClock::Observe(uint64_t seen) {
  MutexLock lock(mu_);
  if (seen > last_) last_ = seen;
}

int64_t SteadyMillis() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace chromahouse
