// Distance kernels for float32 vectors.
//
// Three metrics, with the exact definitions of hnswlib (and so of Chroma's local index):
//   kL2            Σ (aᵢ − bᵢ)²            squared, no square root
//   kInnerProduct  1 − a·b                  can be negative
//   kCosine        1 − a·b / (‖a‖‖b‖)       in [0, 2]; 1 when either vector is zero
//
// Every kernel has a portable scalar version and, on x86-64, an AVX2+FMA version compiled with
// a function-level target attribute (the rest of the binary needs no -mavx2). ActiveKernels()
// picks the best table once, from the CPU the process runs on. Kernels take any dimension;
// callers that pad rows with zeros (HnswIndex pads to 16 floats) get the same values.
//
// Indexes store cosine vectors normalised (NormalizedCopy) and then use PreparedDistanceFn, which
// is 1 − a·b for both kInnerProduct and kCosine. RawDistanceFn/Distance work on original vectors.
//
// All functions are thread-safe and never allocate.
#pragma once

#include <cstddef>
#include <string_view>

namespace chromahouse {

enum class Metric { kL2, kInnerProduct, kCosine };

// "l2", "ip" or "cosine".
std::string_view MetricName(Metric metric);

using DistanceFn = float (*)(const float* a, const float* b, size_t dim);

// One instruction-set variant of every kernel.
struct DistanceKernels {
  std::string_view isa;        // "scalar" or "avx2"
  DistanceFn l2_squared;       // Σ (aᵢ − bᵢ)²
  DistanceFn dot;              // Σ aᵢbᵢ
  DistanceFn ip_distance;      // 1 − Σ aᵢbᵢ
  DistanceFn cosine_distance;  // 1 − a·b / (‖a‖‖b‖) on raw vectors; 1 if either is zero
};

// Always available.
const DistanceKernels& ScalarKernels();
// nullptr unless the build targets x86-64 and the CPU reports AVX2 and FMA.
const DistanceKernels* Avx2Kernels();
// The fastest table the CPU supports (decided once, on first use).
const DistanceKernels& ActiveKernels();

// Distance between vectors prepared for `metric` (cosine: both unit length or zero).
DistanceFn PreparedDistanceFn(Metric metric, const DistanceKernels& kernels = ActiveKernels());
// Distance between original vectors (cosine normalises on the fly).
DistanceFn RawDistanceFn(Metric metric, const DistanceKernels& kernels = ActiveKernels());

// The distance of API.md §3.6 between two original vectors.
inline float Distance(Metric metric, const float* a, const float* b, size_t dim) {
  return RawDistanceFn(metric)(a, b, dim);
}

// True for metrics whose index copy is normalised (kCosine).
inline bool NeedsNormalization(Metric metric) { return metric == Metric::kCosine; }

// Writes `in` to `out` (both `dim` floats; may alias), scaled to unit length when `metric`
// needs normalisation. A zero vector stays zero.
void NormalizedCopy(Metric metric, const float* in, float* out, size_t dim);

}  // namespace chromahouse
