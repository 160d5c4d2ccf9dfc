#include "index/distance.h"

#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

namespace chromahouse {
namespace {

constexpr uint64_t kSeed = 20240611;

// Every kernel table this CPU can run.
std::vector<const DistanceKernels*> AllKernels() {
  std::vector<const DistanceKernels*> all = {&ScalarKernels()};
  if (Avx2Kernels() != nullptr) all.push_back(Avx2Kernels());
  return all;
}

TEST(Distance, MetricNames) {
  EXPECT_EQ(MetricName(Metric::kL2), "l2");
  EXPECT_EQ(MetricName(Metric::kInnerProduct), "ip");
  EXPECT_EQ(MetricName(Metric::kCosine), "cosine");
}

TEST(Distance, ExactValuesFromApiDoc) {
  for (const DistanceKernels* k : AllKernels()) {
    SCOPED_TRACE(std::string(k->isa));
    const float a[] = {1, 0}, b[] = {0, 2};
    EXPECT_FLOAT_EQ(RawDistanceFn(Metric::kL2, *k)(a, b, 2), 5.0f);  // squared, no root
    const float c[] = {3, 4}, d[] = {2, 0};
    EXPECT_FLOAT_EQ(RawDistanceFn(Metric::kInnerProduct, *k)(c, d, 2), -5.0f);  // 1 - 6
    EXPECT_FLOAT_EQ(RawDistanceFn(Metric::kCosine, *k)(a, b, 2), 1.0f);         // orthogonal
    const float e[] = {4, 3};
    EXPECT_NEAR(RawDistanceFn(Metric::kCosine, *k)(c, e, 2), 1.0f - 24.0f / 25.0f, 1e-6);
    const float f[] = {6, 8}, g[] = {-1, 0};
    EXPECT_NEAR(RawDistanceFn(Metric::kCosine, *k)(c, f, 2), 0.0f, 1e-6);  // same direction
    EXPECT_NEAR(RawDistanceFn(Metric::kCosine, *k)(a, g, 2), 2.0f, 1e-6);  // opposite
  }
  const float a[] = {1, 0}, b[] = {0, 2};
  EXPECT_FLOAT_EQ(Distance(Metric::kL2, a, b, 2), 5.0f);
}

TEST(Distance, CosineWithZeroVectorIsOne) {
  const float zero[] = {0, 0, 0}, v[] = {1, 2, 3};
  for (const DistanceKernels* k : AllKernels()) {
    SCOPED_TRACE(std::string(k->isa));
    EXPECT_FLOAT_EQ(k->cosine_distance(zero, v, 3), 1.0f);
    EXPECT_FLOAT_EQ(k->cosine_distance(zero, zero, 3), 1.0f);
  }
  float n[3];
  NormalizedCopy(Metric::kCosine, zero, n, 3);
  EXPECT_FLOAT_EQ(PreparedDistanceFn(Metric::kCosine)(n, n, 3), 1.0f);
}

TEST(Distance, NormalizedCopyOnlyScalesForCosine) {
  const float v[] = {3, 4};
  float out[2];
  NormalizedCopy(Metric::kCosine, v, out, 2);
  EXPECT_FLOAT_EQ(out[0], 0.6f);
  EXPECT_FLOAT_EQ(out[1], 0.8f);
  NormalizedCopy(Metric::kL2, v, out, 2);
  EXPECT_FLOAT_EQ(out[0], 3.0f);
  NormalizedCopy(Metric::kInnerProduct, v, out, 2);
  EXPECT_FLOAT_EQ(out[1], 4.0f);
}

TEST(Distance, PreparedCosineMatchesRawCosine) {
  std::mt19937_64 rng(kSeed);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  for (size_t dim : {1, 3, 7, 17, 128}) {
    std::vector<float> a(dim), b(dim), na(dim), nb(dim);
    for (size_t i = 0; i < dim; ++i) a[i] = normal(rng), b[i] = normal(rng);
    NormalizedCopy(Metric::kCosine, a.data(), na.data(), dim);
    NormalizedCopy(Metric::kCosine, b.data(), nb.data(), dim);
    EXPECT_NEAR(PreparedDistanceFn(Metric::kCosine)(na.data(), nb.data(), dim),
                Distance(Metric::kCosine, a.data(), b.data(), dim), 1e-5)
        << "seed " << kSeed << " dim " << dim;
  }
}

// Double-precision references.
struct Reference {
  double l2 = 0, dot = 0, abs_dot = 0, aa = 0, bb = 0;
};

Reference Compute(const std::vector<float>& a, const std::vector<float>& b) {
  Reference r;
  for (size_t i = 0; i < a.size(); ++i) {
    double d = double{a[i]} - b[i];
    r.l2 += d * d;
    r.dot += double{a[i]} * b[i];
    r.abs_dot += std::fabs(double{a[i]} * b[i]);
    r.aa += double{a[i]} * a[i];
    r.bb += double{b[i]} * b[i];
  }
  return r;
}

TEST(Distance, Avx2MatchesScalarOnOddDimensions) {
  const DistanceKernels* simd = Avx2Kernels();
  if (simd == nullptr) GTEST_SKIP() << "CPU without AVX2+FMA: only the scalar kernels run";
  const DistanceKernels& scalar = ScalarKernels();
  std::mt19937_64 rng(kSeed);
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::uniform_real_distribution<float> scale(0.01f, 100.0f);
  for (size_t dim : {1, 3, 7, 8, 15, 16, 17, 31, 33, 64, 128, 1000, 1024}) {
    for (int trial = 0; trial < 20; ++trial) {
      SCOPED_TRACE("seed " + std::to_string(kSeed) + " dim " + std::to_string(dim) + " trial " +
                   std::to_string(trial));
      std::vector<float> a(dim), b(dim);
      float sa = scale(rng), sb = scale(rng);
      for (size_t i = 0; i < dim; ++i) a[i] = normal(rng) * sa, b[i] = normal(rng) * sb;
      const Reference ref = Compute(a, b);
      // Summation order differs between kernels: allow a few ulps of the magnitudes summed.
      const double l2_tol = 1e-5 * ref.l2 + 1e-30;
      const double dot_tol = 1e-5 * ref.abs_dot + 1e-30;
      for (const DistanceKernels* k : {&scalar, simd}) {
        SCOPED_TRACE(std::string(k->isa));
        EXPECT_NEAR(k->l2_squared(a.data(), b.data(), dim), ref.l2, l2_tol);
        EXPECT_NEAR(k->dot(a.data(), b.data(), dim), ref.dot, dot_tol);
        EXPECT_NEAR(k->ip_distance(a.data(), b.data(), dim), 1.0 - ref.dot, dot_tol + 1e-6);
        EXPECT_NEAR(k->cosine_distance(a.data(), b.data(), dim),
                    1.0 - ref.dot / std::sqrt(ref.aa * ref.bb),
                    1e-5 * ref.abs_dot / std::sqrt(ref.aa * ref.bb) + 1e-6);
      }
      EXPECT_NEAR(simd->l2_squared(a.data(), b.data(), dim),
                  scalar.l2_squared(a.data(), b.data(), dim), 2 * l2_tol);
      EXPECT_NEAR(simd->dot(a.data(), b.data(), dim), scalar.dot(a.data(), b.data(), dim),
                  2 * dot_tol);
    }
  }
}

TEST(Distance, ActiveKernelsPreferAvx2WhenAvailable) {
  if (Avx2Kernels() != nullptr) {
    EXPECT_EQ(ActiveKernels().isa, "avx2");
  } else {
    EXPECT_EQ(ActiveKernels().isa, "scalar");
  }
}

}  // namespace
}  // namespace chromahouse
