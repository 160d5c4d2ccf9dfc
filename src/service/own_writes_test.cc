// OwnWrites: reads of storage's write count run only while no write of this instance is in
// flight, and report how many writes this instance stored.
#include "service/own_writes.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>

namespace chromahouse {
namespace {

using std::chrono::milliseconds;

// Waits (at most 5 s) until `flag` is set; returns it.
bool WaitFor(const std::atomic<bool>& flag) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!flag.load() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(milliseconds(1));
  }
  return flag.load();
}

// With no write in flight the read runs, paired with the number of writes stored so far.
TEST(OwnWritesTest, WhileNoneInFlightRunsTheReadAndReportsTheStoredCount) {
  OwnWrites writes;
  auto before = writes.WhileNoneInFlight(milliseconds(20), [] { return 7; });
  ASSERT_TRUE(before.has_value());
  EXPECT_EQ(before->first, 7);
  EXPECT_EQ(before->second, 0u);
  {
    OwnWrites::Writing w(writes);
    w.Stored();
  }
  {
    OwnWrites::Writing w(writes);  // a write that failed: not counted
  }
  {
    OwnWrites::Writing w(writes);
    w.Stored();
  }
  auto after = writes.WhileNoneInFlight(milliseconds(20), [] { return std::string("read"); });
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->first, "read");
  EXPECT_EQ(after->second, 2u);
}

// A write in flight on another thread: nullopt after the timeout, and the read never runs.
TEST(OwnWritesTest, AWriteInFlightTimesOutWithoutRunningTheRead) {
  OwnWrites writes;
  std::atomic<bool> holding{false}, release{false};
  std::thread writer([&] {
    OwnWrites::Writing w(writes);
    holding = true;
    WaitFor(release);
    w.Stored();
  });
  ASSERT_TRUE(WaitFor(holding));
  bool ran = false;
  const auto started = std::chrono::steady_clock::now();
  auto result = writes.WhileNoneInFlight(milliseconds(20), [&] {
    ran = true;
    return 1;
  });
  const auto waited = std::chrono::steady_clock::now() - started;
  EXPECT_FALSE(result.has_value());
  EXPECT_FALSE(ran);
  EXPECT_GE(waited, milliseconds(15));  // it did wait for the write (about the timeout)
  release = true;
  writer.join();
  // The write ended: the read runs and sees it stored.
  auto later = writes.WhileNoneInFlight(milliseconds(20), [&] {
    ran = true;
    return 2;
  });
  ASSERT_TRUE(later.has_value());
  EXPECT_TRUE(ran);
  EXPECT_EQ(later->second, 1u);
}

}  // namespace
}  // namespace chromahouse
