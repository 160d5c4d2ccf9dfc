#include "server/lifo_workers.h"

#include <gtest/gtest.h>

#include <atomic>
#include <future>
#include <set>
#include <thread>

namespace chromahouse {
namespace {

TEST(LifoWorkers, RunsEveryTaskAndJoinDrainsTheQueue) {
  std::atomic<int> done{0};
  {
    LifoWorkers workers(4);
    for (int i = 0; i < 1000; ++i) workers.Post([&done] { done.fetch_add(1); });
    workers.Join();
    EXPECT_EQ(done.load(), 1000);
    workers.Join();  // twice is harmless
  }
  EXPECT_EQ(done.load(), 1000);
}

TEST(LifoWorkers, RequestsOneAfterAnotherStayOnTheSameFewThreads) {
  // A FIFO pool of 16 would hand 200 sequential requests to all 16 threads in turn.
  LifoWorkers workers(16);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // all idle
  std::set<std::thread::id> used;
  for (int i = 0; i < 200; ++i) {
    std::promise<std::thread::id> ran;
    auto f = ran.get_future();
    workers.Post([&ran] { ran.set_value(std::this_thread::get_id()); });
    used.insert(f.get());
    // The worker answers before it parks: let it get back on the idle stack, as the next
    // request of a client does (a loaded machine otherwise hands it to another thread).
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  // LIFO reuses the thread that just finished; a thread descheduled for longer than the pause
  // above may still miss its turn, so a few more may be used — still far from FIFO's 16.
  EXPECT_LE(used.size(), 8u);
}

TEST(LifoWorkers, ConcurrentTasksUseSeveralThreads) {
  LifoWorkers workers(4);
  std::atomic<int> inside{0}, most{0};
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  for (int i = 0; i < 4; ++i) {
    workers.Post([&, gate] {
      int now = inside.fetch_add(1) + 1;
      int seen = most.load();
      while (now > seen && !most.compare_exchange_weak(seen, now)) {
      }
      gate.wait();
      inside.fetch_sub(1);
    });
  }
  for (int i = 0; i < 500 && most.load() < 4; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_EQ(most.load(), 4) << "four blocked tasks run on four threads at once";
  release.set_value();
  workers.Join();
}

}  // namespace
}  // namespace chromahouse
