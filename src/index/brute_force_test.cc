#include "index/brute_force.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

namespace chromahouse {
namespace {

// Five 2-d points; offset 3 duplicates offset 1 so ties are broken by offset.
// clang-format off
const std::vector<float> kPoints = {
    0, 0,   // 0
    1, 0,   // 1
    0, 3,   // 2
    1, 0,   // 3
    -2, 0,  // 4
};
// clang-format on

MatrixView Points() { return {kPoints.data(), 5, 2, 2}; }

std::vector<uint32_t> Offsets(const std::vector<Neighbor>& result) {
  std::vector<uint32_t> out;
  for (const Neighbor& n : result) out.push_back(n.second);
  return out;
}

TEST(BruteForceSearch, SortsByDistanceThenOffset) {
  const float q[] = {1, 0};
  std::vector<Neighbor> r = BruteForceSearch(Metric::kL2, q, Points(), 10, nullptr);
  ASSERT_EQ(r.size(), 5u);
  EXPECT_EQ(Offsets(r), (std::vector<uint32_t>{1, 3, 0, 4, 2}));
  EXPECT_FLOAT_EQ(r[0].first, 0.0f);
  EXPECT_FLOAT_EQ(r[2].first, 1.0f);
  EXPECT_FLOAT_EQ(r[3].first, 9.0f);
  EXPECT_FLOAT_EQ(r[4].first, 10.0f);
}

TEST(BruteForceSearch, KeepsOnlyK) {
  const float q[] = {1, 0};
  EXPECT_EQ(Offsets(BruteForceSearch(Metric::kL2, q, Points(), 2, nullptr)),
            (std::vector<uint32_t>{1, 3}));
  EXPECT_TRUE(BruteForceSearch(Metric::kL2, q, Points(), 0, nullptr).empty());
  EXPECT_TRUE(BruteForceSearch(Metric::kL2, q, MatrixView{nullptr, 0, 2, 2}, 3, nullptr).empty());
}

TEST(BruteForceSearch, AllowPredicateSkipsRows) {
  const float q[] = {1, 0};
  AllowFn even = [](uint32_t offset) { return offset % 2 == 0; };
  EXPECT_EQ(Offsets(BruteForceSearch(Metric::kL2, q, Points(), 10, &even)),
            (std::vector<uint32_t>{0, 4, 2}));
}

TEST(BruteForceSearch, ExplicitOffsetListSkipsOutOfRange) {
  const float q[] = {0, 0};
  std::vector<uint32_t> list = {4, 2, 99, 1};
  std::vector<Neighbor> r = BruteForceSearch(Metric::kL2, q, Points(), list, 2);
  EXPECT_EQ(Offsets(r), (std::vector<uint32_t>{1, 4}));
  EXPECT_TRUE(BruteForceSearch(Metric::kL2, q, Points(), std::vector<uint32_t>{}, 2).empty());
}

TEST(BruteForceSearch, InnerProductAndCosineUseOriginalVectors) {
  const float q[] = {3, 4};
  // ip: 1 - q·x -> offset 2 (0,3): -11; 1/3: -2; 0: 1; 4: 7.
  EXPECT_EQ(Offsets(BruteForceSearch(Metric::kInnerProduct, q, Points(), 10, nullptr)),
            (std::vector<uint32_t>{2, 1, 3, 0, 4}));
  std::vector<Neighbor> cos = BruteForceSearch(Metric::kCosine, q, Points(), 10, nullptr);
  // cosine: (0,3) -> 0.2, (1,0) -> 0.4, zero vector -> 1, (-2,0) -> 1.6.
  EXPECT_EQ(Offsets(cos), (std::vector<uint32_t>{2, 1, 3, 0, 4}));
  EXPECT_NEAR(cos[0].first, 0.2f, 1e-6);
  EXPECT_NEAR(cos[1].first, 0.4f, 1e-6);
  EXPECT_NEAR(cos[3].first, 1.0f, 1e-6);
  EXPECT_NEAR(cos[4].first, 1.6f, 1e-6);
}

TEST(BruteForceSearch, StrideLargerThanDim) {
  // Rows of 3 floats of which the first 2 are the vector.
  const std::vector<float> padded = {0, 0, 99, 5, 5, 99, 1, 1, 99};
  const float q[] = {1, 1};
  std::vector<Neighbor> r =
      BruteForceSearch(Metric::kL2, q, MatrixView{padded.data(), 3, 2, 3}, 3, nullptr);
  EXPECT_EQ(Offsets(r), (std::vector<uint32_t>{2, 0, 1}));
  EXPECT_FLOAT_EQ(r[1].first, 2.0f);
}

TEST(BruteForceIndex, AddRemoveUpdate) {
  BruteForceIndex index(2, Metric::kL2);
  EXPECT_EQ(index.size(), 0u);
  const float q[] = {0, 0};
  EXPECT_TRUE(index.Search(q, 5, nullptr).empty());

  for (uint32_t i = 0; i < 5; ++i) ASSERT_TRUE(index.Add(i, &kPoints[2 * i]).ok());
  // Offsets need not be dense: a gap is simply not live.
  const float far[] = {10, 10};
  ASSERT_TRUE(index.Add(9, far).ok());
  EXPECT_EQ(index.size(), 6u);
  EXPECT_FALSE(index.Contains(7));
  EXPECT_EQ(Offsets(index.Search(q, 10, nullptr)), (std::vector<uint32_t>{0, 1, 3, 4, 2, 9}));

  EXPECT_TRUE(index.Remove(0));
  EXPECT_FALSE(index.Remove(0));
  EXPECT_FALSE(index.Remove(7));
  EXPECT_EQ(index.size(), 5u);
  EXPECT_EQ(Offsets(index.Search(q, 2, nullptr)), (std::vector<uint32_t>{1, 3}));

  const float moved[] = {0.1f, 0};
  ASSERT_TRUE(index.Add(9, moved).ok());  // update in place
  EXPECT_EQ(index.size(), 5u);
  EXPECT_EQ(Offsets(index.Search(q, 1, nullptr)), (std::vector<uint32_t>{9}));

  AllowFn not_nine = [](uint32_t offset) { return offset != 9; };
  EXPECT_EQ(Offsets(index.Search(q, 1, &not_nine)), (std::vector<uint32_t>{1}));
  EXPECT_GT(index.MemoryBytes(), 10 * 2 * sizeof(float));
}

TEST(BruteForceIndex, RejectsNonFiniteComponents) {
  BruteForceIndex index(2, Metric::kCosine);
  const float nan[] = {1, std::nanf("")};
  const float inf[] = {INFINITY, 0};
  Status s = index.Add(3, nan);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("offset 3"), std::string::npos) << s.message();
  EXPECT_EQ(index.Add(0, inf).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(index.size(), 0u);
}

}  // namespace
}  // namespace chromahouse
