#include "index/distance.h"

#include <cmath>

// -DCHROMAHOUSE_DISABLE_SIMD builds the scalar kernels only (to test the fallback on x86).
#if (defined(__x86_64__) || defined(__i386__)) && !defined(CHROMAHOUSE_DISABLE_SIMD)
#include <immintrin.h>
#define CHROMAHOUSE_HAVE_AVX2_KERNELS 1
#endif

namespace chromahouse {
namespace {

// Combines the three sums of the cosine kernels. Double precision keeps ‖a‖²‖b‖² from
// overflowing for large components.
inline float CosineFromSums(float ab, float aa, float bb) {
  if (aa <= 0.0f || bb <= 0.0f) return 1.0f;  // a zero vector normalises to zero: a·b = 0
  return static_cast<float>(1.0 - static_cast<double>(ab) /
                                      std::sqrt(static_cast<double>(aa) * static_cast<double>(bb)));
}

// ---- Scalar. Four partial sums let the CPU overlap the additions without -ffast-math.

float L2SquaredScalar(const float* a, const float* b, size_t dim) {
  float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  size_t i = 0;
  for (; i + 4 <= dim; i += 4) {
    float d0 = a[i] - b[i], d1 = a[i + 1] - b[i + 1];
    float d2 = a[i + 2] - b[i + 2], d3 = a[i + 3] - b[i + 3];
    s0 += d0 * d0;
    s1 += d1 * d1;
    s2 += d2 * d2;
    s3 += d3 * d3;
  }
  for (; i < dim; ++i) {
    float d = a[i] - b[i];
    s0 += d * d;
  }
  return (s0 + s1) + (s2 + s3);
}

float DotScalar(const float* a, const float* b, size_t dim) {
  float s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  size_t i = 0;
  for (; i + 4 <= dim; i += 4) {
    s0 += a[i] * b[i];
    s1 += a[i + 1] * b[i + 1];
    s2 += a[i + 2] * b[i + 2];
    s3 += a[i + 3] * b[i + 3];
  }
  for (; i < dim; ++i) s0 += a[i] * b[i];
  return (s0 + s1) + (s2 + s3);
}

float IpDistanceScalar(const float* a, const float* b, size_t dim) {
  return 1.0f - DotScalar(a, b, dim);
}

float CosineDistanceScalar(const float* a, const float* b, size_t dim) {
  float ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < dim; ++i) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return CosineFromSums(ab, aa, bb);
}

const DistanceKernels kScalar = {"scalar", &L2SquaredScalar, &DotScalar, &IpDistanceScalar,
                                 &CosineDistanceScalar};

// ---- AVX2 + FMA. Compiled for that target per function; only called after the CPU check.

#ifdef CHROMAHOUSE_HAVE_AVX2_KERNELS

#define CH_AVX2 __attribute__((target("avx2,fma")))

CH_AVX2 inline float HorizontalSum(__m256 v) {
  __m128 sum = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  __m128 shuf = _mm_movehdup_ps(sum);
  sum = _mm_add_ps(sum, shuf);
  shuf = _mm_movehl_ps(shuf, sum);
  sum = _mm_add_ss(sum, shuf);
  return _mm_cvtss_f32(sum);
}

CH_AVX2 float L2SquaredAvx2(const float* a, const float* b, size_t dim) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  __m256 acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 32 <= dim; i += 32) {
    __m256 d0 = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
    __m256 d1 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8));
    __m256 d2 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16));
    __m256 d3 = _mm256_sub_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24));
    acc0 = _mm256_fmadd_ps(d0, d0, acc0);
    acc1 = _mm256_fmadd_ps(d1, d1, acc1);
    acc2 = _mm256_fmadd_ps(d2, d2, acc2);
    acc3 = _mm256_fmadd_ps(d3, d3, acc3);
  }
  for (; i + 8 <= dim; i += 8) {
    __m256 d = _mm256_sub_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i));
    acc0 = _mm256_fmadd_ps(d, d, acc0);
  }
  float sum = HorizontalSum(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)));
  for (; i < dim; ++i) {
    float d = a[i] - b[i];
    sum += d * d;
  }
  return sum;
}

CH_AVX2 float DotAvx2(const float* a, const float* b, size_t dim) {
  __m256 acc0 = _mm256_setzero_ps(), acc1 = _mm256_setzero_ps();
  __m256 acc2 = _mm256_setzero_ps(), acc3 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 32 <= dim; i += 32) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
    acc1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(b + i + 8), acc1);
    acc2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(b + i + 16), acc2);
    acc3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(b + i + 24), acc3);
  }
  for (; i + 8 <= dim; i += 8) {
    acc0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc0);
  }
  float sum = HorizontalSum(_mm256_add_ps(_mm256_add_ps(acc0, acc1), _mm256_add_ps(acc2, acc3)));
  for (; i < dim; ++i) sum += a[i] * b[i];
  return sum;
}

CH_AVX2 float IpDistanceAvx2(const float* a, const float* b, size_t dim) {
  return 1.0f - DotAvx2(a, b, dim);
}

CH_AVX2 float CosineDistanceAvx2(const float* a, const float* b, size_t dim) {
  // Two sets of accumulators: each FMA chain waits on its own previous result.
  __m256 ab0 = _mm256_setzero_ps(), aa0 = _mm256_setzero_ps(), bb0 = _mm256_setzero_ps();
  __m256 ab1 = _mm256_setzero_ps(), aa1 = _mm256_setzero_ps(), bb1 = _mm256_setzero_ps();
  size_t i = 0;
  for (; i + 16 <= dim; i += 16) {
    __m256 va0 = _mm256_loadu_ps(a + i), vb0 = _mm256_loadu_ps(b + i);
    __m256 va1 = _mm256_loadu_ps(a + i + 8), vb1 = _mm256_loadu_ps(b + i + 8);
    ab0 = _mm256_fmadd_ps(va0, vb0, ab0);
    aa0 = _mm256_fmadd_ps(va0, va0, aa0);
    bb0 = _mm256_fmadd_ps(vb0, vb0, bb0);
    ab1 = _mm256_fmadd_ps(va1, vb1, ab1);
    aa1 = _mm256_fmadd_ps(va1, va1, aa1);
    bb1 = _mm256_fmadd_ps(vb1, vb1, bb1);
  }
  for (; i + 8 <= dim; i += 8) {
    __m256 va = _mm256_loadu_ps(a + i), vb = _mm256_loadu_ps(b + i);
    ab0 = _mm256_fmadd_ps(va, vb, ab0);
    aa0 = _mm256_fmadd_ps(va, va, aa0);
    bb0 = _mm256_fmadd_ps(vb, vb, bb0);
  }
  float sab = HorizontalSum(_mm256_add_ps(ab0, ab1));
  float saa = HorizontalSum(_mm256_add_ps(aa0, aa1));
  float sbb = HorizontalSum(_mm256_add_ps(bb0, bb1));
  for (; i < dim; ++i) {
    sab += a[i] * b[i];
    saa += a[i] * a[i];
    sbb += b[i] * b[i];
  }
  return CosineFromSums(sab, saa, sbb);
}

#undef CH_AVX2

const DistanceKernels kAvx2 = {"avx2", &L2SquaredAvx2, &DotAvx2, &IpDistanceAvx2,
                               &CosineDistanceAvx2};

#endif  // CHROMAHOUSE_HAVE_AVX2_KERNELS

}  // namespace

std::string_view MetricName(Metric metric) {
  switch (metric) {
    case Metric::kL2: return "l2";
    case Metric::kInnerProduct: return "ip";
    case Metric::kCosine: return "cosine";
  }
  return "unknown";
}

const DistanceKernels& ScalarKernels() { return kScalar; }

const DistanceKernels* Avx2Kernels() {
#ifdef CHROMAHOUSE_HAVE_AVX2_KERNELS
  static const bool supported = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  return supported ? &kAvx2 : nullptr;
#else
  return nullptr;
#endif
}

const DistanceKernels& ActiveKernels() {
  static const DistanceKernels* const active = Avx2Kernels() ? Avx2Kernels() : &kScalar;
  return *active;
}

DistanceFn PreparedDistanceFn(Metric metric, const DistanceKernels& kernels) {
  return metric == Metric::kL2 ? kernels.l2_squared : kernels.ip_distance;
}

DistanceFn RawDistanceFn(Metric metric, const DistanceKernels& kernels) {
  switch (metric) {
    case Metric::kL2: return kernels.l2_squared;
    case Metric::kInnerProduct: return kernels.ip_distance;
    case Metric::kCosine: return kernels.cosine_distance;
  }
  return kernels.l2_squared;
}

void NormalizedCopy(Metric metric, const float* in, float* out, size_t dim) {
  if (!NeedsNormalization(metric)) {
    if (in != out) {
      for (size_t i = 0; i < dim; ++i) out[i] = in[i];
    }
    return;
  }
  double norm_sq = 0;
  for (size_t i = 0; i < dim; ++i) norm_sq += static_cast<double>(in[i]) * in[i];
  float scale = norm_sq > 0 ? static_cast<float>(1.0 / std::sqrt(norm_sq)) : 0.0f;
  for (size_t i = 0; i < dim; ++i) out[i] = in[i] * scale;
}

}  // namespace chromahouse
