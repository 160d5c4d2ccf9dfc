#include "collection/sparse_column.h"

#include <gtest/gtest.h>

#include <string>

namespace chromahouse {
namespace {

TEST(SparseColumn, AbsentValuesCostASlotAndFreedSlotsAreReused) {
  SparseColumn<std::string> c;
  c.Reserve(1000);
  for (int i = 0; i < 1000; ++i) c.AppendEmpty();
  EXPECT_FALSE(c.Get(0).has_value());
  EXPECT_FALSE(c.Get(999).has_value());
  const size_t empty_bytes = c.MemoryBytes();
  EXPECT_LE(empty_bytes, 1000 * sizeof(uint32_t) + 64);
  c.Set(5, std::string("five"));
  c.Set(700, std::string("seven hundred"));
  EXPECT_EQ(*c.Get(5), "five");
  EXPECT_EQ(*c.Get(700), "seven hundred");
  EXPECT_FALSE(c.Get(6).has_value());
  c.Set(5, std::string("FIVE"));  // overwrite in place
  EXPECT_EQ(*c.Get(5), "FIVE");
  c.Set(5, std::nullopt);  // = Reset
  EXPECT_FALSE(c.Get(5).has_value());
  c.Set(9, std::string("nine"));  // takes 5's freed slot: no growth
  EXPECT_EQ(*c.Get(9), "nine");
  EXPECT_EQ(*c.Get(700), "seven hundred");
  c.Reset(9);
  c.Reset(9);   // twice is harmless
  c.Reset(10);  // never set
  EXPECT_FALSE(c.Get(9).has_value());
  EXPECT_EQ(*c.Get(700), "seven hundred");
}

TEST(SparseColumn, MatchesADenseColumnUnderRandomChanges) {
  SparseColumn<std::string> sparse;
  std::vector<std::optional<std::string>> dense;
  uint64_t state = 42;
  auto next = [&state] {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<uint32_t>(state >> 33);
  };
  for (int step = 0; step < 20000; ++step) {
    if (dense.size() < 50 || next() % 10 == 0) {
      dense.emplace_back();
      sparse.AppendEmpty();
    }
    const uint32_t r = next() % dense.size();
    if (next() % 3 == 0) {
      dense[r].reset();
      sparse.Reset(r);
    } else {
      dense[r] = std::to_string(step);
      sparse.Set(r, dense[r]);
    }
  }
  for (uint32_t r = 0; r < dense.size(); ++r) ASSERT_EQ(sparse.Get(r), dense[r]) << r;
}

}  // namespace
}  // namespace chromahouse
