// Deterministic synthetic embeddings and cached exact ground truth for the benchmarks.
//
// The data is a Gaussian mixture meant to look like real embeddings rather than uniform noise:
//   - `clusters` centres (default 1000), each drawn as N(0, 1) per dimension times a global
//     spectrum g_d = (1 + d)^(-spectrum_decay), so variance falls off across dimensions as in
//     the PCA spectrum of real embedding models (effective dimension ≈ 18 at d = 128, decay 0.5);
//   - cluster weights drawn from Exp(1) (uneven cluster sizes);
//   - anisotropic clusters: the spread of cluster c along dimension d is
//     spread · g_d · LogNormal(0, spread_sigma), drawn once per (c, d);
//   - a point = its cluster's centre + spread ⊙ N(0, 1).
// With spread 1.0 the clusters overlap, so neighbours are not just "the rest of my cluster":
// at 100k × 128, M = 16, ef_construction = 100, HNSW needs ef ≈ 48 for recall@10 0.95 and
// ef ≈ 128–192 for 0.99 (spread 0.5 reaches 0.95 at ef 10, which says little about a graph).
// Rotations would change nothing (l2, ip and cosine are rotation invariant), so axes stay put.
//
// Every vector is a pure function of (seed, stream, index): stream 0 holds the indexed rows,
// stream 1 the held-out queries (same distribution, never inserted). The generator uses its own
// xoshiro256** and Box–Muller, not <random>'s distributions, so the numbers are the same with any
// standard library. Generation and ground truth run on all cores.
//
// Ground truth (exact top-k ids per query, by BruteForceSearch on the original vectors) is cached
// in /tmp/chromahouse-bench-cache/, keyed by the parameters and a hash of the data itself.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "index/brute_force.h"
#include "index/distance.h"

namespace chromahouse::bench {

inline uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// xoshiro256** seeded through SplitMix64; uniform in [0, 1) and standard normal (Box–Muller).
class Rng {
 public:
  explicit Rng(uint64_t seed) {
    for (uint64_t& w : s_) w = SplitMix64(seed);
  }
  uint64_t Next() {
    const uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }
  double Uniform() { return double(Next() >> 11) * 0x1.0p-53; }
  double Normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    double u1 = 1.0 - Uniform();  // (0, 1]
    double u2 = Uniform();
    double r = std::sqrt(-2.0 * std::log(u1));
    spare_ = r * std::sin(2.0 * M_PI * u2);
    has_spare_ = true;
    return r * std::cos(2.0 * M_PI * u2);
  }

 private:
  static uint64_t Rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
  uint64_t s_[4];
  double spare_ = 0;
  bool has_spare_ = false;
};

struct MixtureSpec {
  size_t dim = 128;
  size_t clusters = 1000;
  uint64_t seed = 1;
  double spectrum_decay = 0.5;  // g_d = (1 + d)^-decay
  double spread = 1.0;          // within-cluster spread relative to the centres' scale
  double spread_sigma = 0.5;    // log-normal sigma of the per-(cluster, dimension) spread
};

class GaussianMixture {
 public:
  static constexpr uint64_t kDataStream = 0;
  static constexpr uint64_t kQueryStream = 1;

  explicit GaussianMixture(const MixtureSpec& spec) : spec_(spec) {
    const size_t d = spec.dim, c = spec.clusters;
    Rng rng(spec.seed ^ 0x6D69787475726531ull);
    std::vector<double> g(d);
    for (size_t j = 0; j < d; ++j) g[j] = std::pow(1.0 + double(j), -spec.spectrum_decay);
    centres_.resize(c * d);
    spreads_.resize(c * d);
    cumulative_.resize(c);
    double total = 0;
    for (size_t k = 0; k < c; ++k) {
      for (size_t j = 0; j < d; ++j) {
        centres_[k * d + j] = float(g[j] * rng.Normal());
        spreads_[k * d + j] =
            float(spec.spread * g[j] * std::exp(spec.spread_sigma * rng.Normal()));
      }
      total += -std::log(1.0 - rng.Uniform());  // Exp(1) weight
      cumulative_[k] = total;
    }
    for (double& w : cumulative_) w /= total;
  }

  const MixtureSpec& spec() const { return spec_; }

  // Writes vector `index` of `stream` (dim floats) to `out`.
  void Sample(uint64_t stream, uint64_t index, float* out) const {
    uint64_t s = spec_.seed * 0x100000001B3ull + stream;
    s = SplitMix64(s) ^ index;
    Rng rng(SplitMix64(s));
    const double u = rng.Uniform();
    size_t k =
        size_t(std::upper_bound(cumulative_.begin(), cumulative_.end(), u) - cumulative_.begin());
    if (k >= spec_.clusters) k = spec_.clusters - 1;
    const float* c = centres_.data() + k * spec_.dim;
    const float* sp = spreads_.data() + k * spec_.dim;
    for (size_t j = 0; j < spec_.dim; ++j) out[j] = c[j] + sp[j] * float(rng.Normal());
  }

  // n vectors of `stream`, row-major, generated on `threads` threads.
  std::vector<float> Generate(uint64_t stream, size_t n, unsigned threads) const {
    std::vector<float> out(n * spec_.dim);
    ParallelFor(n, threads, [&](size_t i) { Sample(stream, i, out.data() + i * spec_.dim); });
    return out;
  }

  template <typename Fn>
  static void ParallelFor(size_t n, unsigned threads, const Fn& fn) {
    threads = std::max(1u, threads);
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        for (size_t i = t; i < n; i += threads) fn(i);
      });
    }
    for (std::thread& th : pool) th.join();
  }

 private:
  MixtureSpec spec_;
  std::vector<float> centres_;
  std::vector<float> spreads_;
  std::vector<double> cumulative_;
};

// FNV-1a over the raw bytes: identifies a data set in cache keys.
inline uint64_t HashFloats(const std::vector<float>& v) {
  uint64_t h = 0xCBF29CE484222325ull;
  const auto* p = reinterpret_cast<const unsigned char*>(v.data());
  for (size_t i = 0, n = v.size() * sizeof(float); i < n; ++i) {
    h ^= p[i];
    h *= 0x100000001B3ull;
  }
  return h;
}

// Exact top-k offsets of every query (q × k, row-major; short rows padded with UINT32_MAX).
inline std::vector<uint32_t> ExactTopK(Metric metric, const std::vector<float>& data,
                                       const std::vector<float>& queries, size_t dim, size_t k,
                                       unsigned threads) {
  const size_t n = data.size() / dim, q = queries.size() / dim;
  MatrixView view{data.data(), n, dim, dim};
  std::vector<uint32_t> ids(q * k, UINT32_MAX);
  GaussianMixture::ParallelFor(q, threads, [&](size_t i) {
    std::vector<Neighbor> top =
        BruteForceSearch(metric, queries.data() + i * dim, view, k, nullptr);
    for (size_t j = 0; j < top.size() && j < k; ++j) ids[i * k + j] = top[j].second;
  });
  return ids;
}

// ExactTopK, read from / written to the cache directory. `cached` tells which happened.
inline std::vector<uint32_t> CachedGroundTruth(Metric metric, const std::vector<float>& data,
                                               const std::vector<float>& queries, size_t dim,
                                               size_t k, unsigned threads, bool* cached,
                                               std::string* path_out) {
  const size_t n = data.size() / dim, q = queries.size() / dim;
  const uint64_t dh = HashFloats(data), qh = HashFloats(queries);
  char name[256];
  std::snprintf(name, sizeof(name), "%s_n%zu_d%zu_q%zu_k%zu_%016llx_%016llx.gt",
                std::string(MetricName(metric)).c_str(), n, dim, q, k,
                static_cast<unsigned long long>(dh), static_cast<unsigned long long>(qh));
  const std::filesystem::path dir = "/tmp/chromahouse-bench-cache";
  const std::filesystem::path path = dir / name;
  if (path_out) *path_out = path.string();
  std::vector<uint32_t> ids(q * k);
  {
    std::ifstream in(path, std::ios::binary);
    if (in && in.read(reinterpret_cast<char*>(ids.data()), std::streamsize(ids.size() * 4)) &&
        in.peek() == std::char_traits<char>::eof()) {
      if (cached) *cached = true;
      return ids;
    }
  }
  ids = ExactTopK(metric, data, queries, dim, k, threads);
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  const std::filesystem::path tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(ids.data()), std::streamsize(ids.size() * 4));
  }
  std::filesystem::rename(tmp, path, ec);
  if (cached) *cached = false;
  return ids;
}

}  // namespace chromahouse::bench
