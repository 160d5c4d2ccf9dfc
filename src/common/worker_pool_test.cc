#include "common/worker_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>

namespace chromahouse {
namespace {

TEST(WorkerPoolTest, RunsWorkOnTheCallerAndTheSameHelpersEveryTime) {
  WorkerPool pool(2);
  EXPECT_EQ(pool.helpers(), 2);
  std::mutex mu;
  std::set<std::thread::id> seen;
  for (int round = 0; round < 200; ++round) {
    const int n = 1 + round % 4;  // 4 asks for more than the pool has: 3 take part
    std::atomic<int> calls{0};
    std::atomic<int> inside{0};
    std::atomic<int> most{0};
    pool.Run(n, [&] {
      ++calls;
      const int now = ++inside;
      int m = most.load();
      while (now > m && !most.compare_exchange_weak(m, now)) {
      }
      {
        std::lock_guard lock(mu);
        seen.insert(std::this_thread::get_id());
      }
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      --inside;
    });
    // Run returns only after every call returned.
    EXPECT_EQ(inside.load(), 0);
    EXPECT_EQ(calls.load(), std::min(n, 3)) << "round " << round;
  }
  // Long-lived helpers: the caller and two pool threads, never new ones.
  EXPECT_EQ(seen.size(), 3u);
}

TEST(WorkerPoolTest, AnEmptyPoolRunsOnTheCaller) {
  WorkerPool pool(0);
  int calls = 0;
  pool.Run(4, [&] { ++calls; });
  EXPECT_EQ(calls, 1);
}

}  // namespace
}  // namespace chromahouse
