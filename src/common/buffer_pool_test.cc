#include "common/buffer_pool.h"

#include <gtest/gtest.h>

#include <vector>

namespace chromahouse {
namespace {

constexpr size_t kMiB = size_t{1} << 20;

TEST(BufferPool, AGivenBufferIsTakenAgainWithItsPages) {
  BufferPool pool(16 * kMiB);
  std::string a = pool.Take(4 * kMiB);
  EXPECT_TRUE(a.empty());
  EXPECT_GE(a.capacity(), 4 * kMiB);
  a.assign(3 * kMiB, 'x');
  const char* data = a.data();
  pool.Give(std::move(a));
  EXPECT_EQ(pool.buffers(), 1u);
  std::string b = pool.Take(2 * kMiB);
  EXPECT_EQ(b.data(), data) << "the same allocation";
  EXPECT_TRUE(b.empty()) << "contents discarded";
  EXPECT_EQ(pool.buffers(), 0u);
  EXPECT_EQ(pool.retained_bytes(), 0u);
}

TEST(BufferPool, TheSmallestLargeEnoughBufferIsTaken) {
  BufferPool pool(64 * kMiB);
  std::vector<std::string> held;
  for (size_t mib : {8, 2, 4}) held.push_back(pool.Take(mib * kMiB));
  for (auto& h : held) pool.Give(std::move(h));
  EXPECT_EQ(pool.buffers(), 3u);
  std::string b = pool.Take(3 * kMiB);
  EXPECT_GE(b.capacity(), 4 * kMiB);
  EXPECT_LT(b.capacity(), 8 * kMiB);
  std::string big = pool.Take(32 * kMiB);  // none large enough: a new one
  EXPECT_GE(big.capacity(), 32 * kMiB);
  EXPECT_EQ(pool.buffers(), 2u);
}

TEST(BufferPool, SmallBuffersAreNotKeptAndTheTotalIsBounded) {
  BufferPool pool(10 * kMiB);
  std::string small(1000, 'x');
  pool.Give(std::move(small));
  EXPECT_EQ(pool.buffers(), 0u);
  EXPECT_TRUE(pool.Take(100).capacity() < BufferPool::kMinBytes) << "small takes are not pooled";
  pool.Give(pool.Take(12 * kMiB));  // larger than the whole pool
  EXPECT_EQ(pool.buffers(), 0u);
  std::string a = pool.Take(4 * kMiB), b = pool.Take(4 * kMiB);
  pool.Give(std::move(a));
  pool.Give(std::move(b));
  EXPECT_EQ(pool.buffers(), 2u);
  EXPECT_LE(pool.retained_bytes(), 10 * kMiB);
  pool.Give(pool.Take(6 * kMiB));  // makes room by dropping the smallest
  EXPECT_LE(pool.retained_bytes(), 10 * kMiB);
  EXPECT_EQ(pool.buffers(), 2u);
  EXPECT_GE(pool.Take(6 * kMiB).capacity(), 6 * kMiB);
}

}  // namespace
}  // namespace chromahouse
