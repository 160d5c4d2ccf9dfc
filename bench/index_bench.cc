// index_bench: chromahouse's HnswIndex against Debian's hnswlib 0.6.2, in one process.
//
// Benchmark 1 of the speed issue. Same data, same M = 16 and ef_construction = 100, one thread
// unless stated; every figure is a ratio against hnswlib measured in the same run.
//   - build throughput (inserts/s) on one thread (the two builds interleaved in batches of 1000
//     inserts, so machine noise hits both); on two threads where the index allows it
//     (HnswIndex is single-writer: Add needs exclusive access, so that row reads n/a; hnswlib's
//     own two-thread rate is printed for reference);
//   - query throughput (single thread, k = 10) over an ef sweep, recall@10 against exact
//     ground truth; the best QPS at recall >= 0.95 and >= 0.99 for each index;
//   - bytes per vector, vectors + graph: ours is MemoryBytes() / n; hnswlib's is computed from
//     its public fields (level-0 block × max_elements, upper link lists, the per-element
//     pointer and level). The RSS growth over each build is printed as a cross-check.
// Data: bench/data.h (seeded Gaussian mixture, held-out queries, cached brute-force truth).
// Clock: single-thread phases use the thread's CPU time unless --wall (see Stopwatch); the
// query sweep interleaves the two indexes and keeps each one's fastest of --reps passes.
//
// hnswlib picks its SIMD kernels at compile time (__SSE__/__AVX__) and at run time
// (AVXCapable()). Our kernels are AVX2+FMA chosen at run time, so hnswlib is compiled here with
// AVX2+FMA too (a target pragma around its include), whatever the command line says: the same
// vector width on both sides. -DBENCH_HNSWLIB_PLAIN leaves it to the command line (SSE on a
// plain x86-64 build) and the output says which.
//
// Build (from the repo root, after the project build):
//   g++ -std=c++20 -O3 -g -Isrc bench/index_bench.cc build/src/libch_index.a
//       build/src/libch_common.a -lspdlog -lfmt -lpthread -o /tmp/index_bench
// Run: /tmp/index_bench [--n 100000] [--dim 128] [--queries 1000] [--metric l2|cosine|ip]
//      [--seed 1] [--clusters 1000] [--decay 0.5] [--spread 1.0] [--reps 3] [--ef 10,16,...]
//      [--out PATH] [--smoke] [--no-hnswlib-2t] [--wall]
// --smoke: n = 2000, 50 queries, one repetition, JSON to /tmp unless --out; exits non-zero when
// either index fails to reach recall 0.9 anywhere in the sweep (a correctness check, not a
// speed check).
#include <cpuid.h>
#include <immintrin.h>
#include <sys/resource.h>
#include <unistd.h>
#include <x86intrin.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <queue>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#if defined(__x86_64__) && !defined(BENCH_HNSWLIB_PLAIN)
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#ifndef USE_SSE
#define USE_SSE
#endif
#ifndef USE_AVX
#define USE_AVX
#endif
#define BENCH_HNSWLIB_FORCED_AVX 1
#include <hnswlib/hnswlib.h>
#pragma GCC pop_options
#else
#include <hnswlib/hnswlib.h>
#endif

#include "bench_util.h"
#include "data.h"
#include "index/distance.h"
#include "index/hnsw_index.h"

namespace chromahouse::bench {
namespace {

double ThreadCpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

// Single-thread phases are timed on the calling thread's CPU clock by default: on a shared
// two-core machine (a build running beside the benchmark) wall time mostly measures waiting for
// a core. --wall switches to wall time. Multi-threaded phases always use wall time.
bool g_wall_clock = false;

class Stopwatch {
 public:
  Stopwatch() : wall_(Clock::now()), cpu_(ThreadCpuSeconds()) {}
  double Wall() const { return Seconds(wall_, Clock::now()); }
  double Cpu() const { return ThreadCpuSeconds() - cpu_; }
  double SingleThread() const { return g_wall_clock ? Wall() : Cpu(); }

 private:
  Clock::time_point wall_;
  double cpu_;
};

constexpr size_t kM = 16;
constexpr size_t kEfConstruction = 100;
constexpr size_t kK = 10;
constexpr uint64_t kLevelSeed = 100;

struct Options {
  size_t n = 100000;
  size_t dim = 128;
  size_t queries = 1000;
  Metric metric = Metric::kL2;
  uint64_t seed = 1;
  size_t clusters = 1000;
  double decay = MixtureSpec{}.spectrum_decay;
  double spread = MixtureSpec{}.spread;
  int reps = 3;
  std::vector<size_t> efs = {10, 16, 24, 32, 48, 64, 96, 128, 192, 256};
  std::string out;
  bool smoke = false;
  bool hnswlib_2t = true;
  bool wall = false;
};

[[noreturn]] void Usage(const char* msg) {
  std::fprintf(stderr, "index_bench: %s\nRun with --help for more information.\n", msg);
  std::exit(2);
}

Options Parse(int argc, char** argv) {
  Options o;
  CLI::App app{"index_bench: chromahouse's HnswIndex against Debian's hnswlib, in one process",
               "index_bench"};
  FlagDefaults(app);
  app.add_option("--n", o.n, "vectors indexed");
  app.add_option("--dim", o.dim, "vector dimension");
  app.add_option("--queries", o.queries, "held-out queries, recall@10 against exact ground truth");
  const std::map<std::string, Metric> metrics = {
      {"l2", Metric::kL2}, {"cosine", Metric::kCosine}, {"ip", Metric::kInnerProduct}};
  app.add_option("--metric", o.metric, "distance metric")
      ->transform(CLI::CheckedTransformer(metrics).description("{l2,cosine,ip}"))
      ->default_str("l2");
  app.add_option("--seed", o.seed, "seed of the Gaussian mixture (bench/data.h)");
  app.add_option("--clusters", o.clusters, "clusters of the Gaussian mixture");
  app.add_option("--decay", o.decay, "spectrum decay of the mixture: g_d = (1 + d)^-decay");
  app.add_option("--spread", o.spread, "within-cluster spread relative to the centres' scale");
  app.add_option("--reps", o.reps, "passes of the query sweep, each index's fastest kept");
  // One comma-separated list per --ef; a later --ef replaces it.
  app.add_option("--ef", o.efs, "ef values of the query sweep, comma-separated")
      ->delimiter(',')
      ->allow_extra_args(false)
      ->trigger_on_parse();
  app.add_option("--out", o.out,
                 "JSON results (default bench/results/index_<metric>.json; with --smoke, in /tmp)");
  app.add_flag("--smoke", o.smoke,
               "quick check: n = 2000, 50 queries, one rep unless given; fails below recall 0.9");
  app.add_flag_callback(
      "--no-hnswlib-2t", [&o] { o.hnswlib_2t = false; }, "skip hnswlib's two-thread build");
  app.add_flag("--wall", o.wall, "time single-thread phases on the wall clock, not on CPU time");
  ParseFlags(app, argc, argv);
  if (o.smoke) {
    if (!app.count("--n")) o.n = 2000;
    if (!app.count("--queries")) o.queries = 50;
    if (!app.count("--reps")) o.reps = 1;
    o.clusters = std::min<size_t>(o.clusters, std::max<size_t>(1, o.n / 100));
  }
  if (o.n < 1 || o.dim < 1 || o.queries < 1 || o.clusters < 1 || o.reps < 1) {
    Usage("n, dim, queries, clusters and reps must be >= 1");
  }
  if (std::ranges::find(o.efs, size_t{0}) != o.efs.end()) Usage("bad --ef list");
  if (!(o.decay >= 0) || !(o.spread >= 0)) Usage("--decay and --spread must be >= 0");
  if (o.out.empty()) {
    o.out = o.smoke ? "/tmp/chromahouse-bench-cache/index_" + std::string(MetricName(o.metric)) +
                          "_smoke.json"
                    : "bench/results/index_" + std::string(MetricName(o.metric)) + ".json";
  }
  return o;
}

size_t RssBytes() {
  std::ifstream statm("/proc/self/statm");
  size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * size_t(sysconf(_SC_PAGESIZE));
}

std::string CpuModel() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      size_t colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(" \t", colon + 1));
    }
  }
  return "unknown";
}

void Normalize(const float* in, float* out, size_t dim) {
  double s = 0;
  for (size_t j = 0; j < dim; ++j) s += double(in[j]) * in[j];
  const float inv = s > 0 ? float(1.0 / std::sqrt(s)) : 0.0f;
  for (size_t j = 0; j < dim; ++j) out[j] = in[j] * inv;
}

// ---------------------------------------------------------------------------------------------
// The two indexes behind one shape: Build (timed by the caller), Search into k ids.

class Ours {
 public:
  explicit Ours(const Options& o) : o_(o) {}

  void Create() {
    HnswParams p;
    p.dim = o_.dim;
    p.metric = o_.metric;
    p.max_neighbors = kM;
    p.ef_construction = kEfConstruction;
    p.seed = kLevelSeed;
    auto created = HnswIndex::Create(p);
    if (!created.ok()) {
      std::fprintf(stderr, "HnswIndex::Create: %s\n", created.status().ToString().c_str());
      std::exit(1);
    }
    index_ = std::move(created.value());
    index_->Reserve(o_.n);
  }

  // Adds rows [begin, end) at offsets begin..end-1.
  void AddRange(const std::vector<float>& data, size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) {
      Status s = index_->Add(uint32_t(i), data.data() + i * o_.dim);
      if (!s.ok()) {
        std::fprintf(stderr, "HnswIndex::Add(%zu): %s\n", i, s.ToString().c_str());
        std::exit(1);
      }
    }
  }

  // All rows with AddBatch on `threads` threads (the parallel build).
  void AddAllBatch(const std::vector<float>& data, int threads) {
    std::vector<uint32_t> offsets(o_.n);
    std::vector<const float*> vectors(o_.n);
    for (size_t i = 0; i < o_.n; ++i) {
      offsets[i] = uint32_t(i);
      vectors[i] = data.data() + i * o_.dim;
    }
    Status s = index_->AddBatch(offsets, vectors, threads);
    if (!s.ok()) {
      std::fprintf(stderr, "HnswIndex::AddBatch: %s\n", s.ToString().c_str());
      std::exit(1);
    }
  }

  void Search(const float* q, size_t ef, uint32_t* out) const {
    std::vector<Neighbor> r = index_->Search(q, kK, ef, nullptr);
    for (size_t j = 0; j < kK; ++j) out[j] = j < r.size() ? r[j].second : UINT32_MAX;
  }

  size_t VectorsAndGraphBytes() const { return index_->MemoryBytes(); }

 private:
  const Options& o_;
  std::unique_ptr<HnswIndex> index_;
};

class Hnswlib {
 public:
  explicit Hnswlib(const Options& o) : o_(o), norm_(o.metric == Metric::kCosine) {
    if (o.metric == Metric::kL2) {
      space_ = std::make_unique<hnswlib::L2Space>(o.dim);
    } else {
      space_ = std::make_unique<hnswlib::InnerProductSpace>(o.dim);
    }
  }

  void Create() {
    index_ = std::make_unique<hnswlib::HierarchicalNSW<float>>(space_.get(), o_.n, kM,
                                                               kEfConstruction, kLevelSeed);
  }

  // Cosine: hnswlib has no cosine space; like Chroma's Python layer, normalise and use ip. The
  // normalisation is inside the timed loop, as our index normalises inside Add and Search.
  void Add(const std::vector<float>& data, size_t i, std::vector<float>& buf) {
    const float* v = data.data() + i * o_.dim;
    if (norm_) {
      buf.resize(o_.dim);
      Normalize(v, buf.data(), o_.dim);
      v = buf.data();
    }
    index_->addPoint(v, hnswlib::labeltype(i));
  }

  void AddRange(const std::vector<float>& data, size_t begin, size_t end) {
    for (size_t i = begin; i < end; ++i) Add(data, i, qbuf_);
  }

  // All rows on `threads` threads. As hnswlib's Python binding does: the first point alone,
  // then the rest concurrently.
  void AddAllConcurrently(const std::vector<float>& data, unsigned threads) {
    Add(data, 0, qbuf_);
    std::vector<std::thread> pool;
    for (unsigned t = 0; t < threads; ++t) {
      pool.emplace_back([&, t] {
        std::vector<float> local;
        for (size_t i = 1 + t; i < o_.n; i += threads) Add(data, i, local);
      });
    }
    for (std::thread& th : pool) th.join();
  }

  void SetEf(size_t ef) { index_->setEf(ef); }

  void Search(const float* q, uint32_t* out) {
    if (norm_) {
      qbuf_.resize(o_.dim);
      Normalize(q, qbuf_.data(), o_.dim);
      q = qbuf_.data();
    }
    auto pq = index_->searchKnn(q, kK);
    size_t j = pq.size();
    for (size_t x = j; x < kK; ++x) out[x] = UINT32_MAX;
    while (!pq.empty()) {
      out[--j] = uint32_t(pq.top().second);
      pq.pop();
    }
  }

  // Vectors + graph, from hnswlib 0.6.2's public fields: the level-0 block (links, vector,
  // label) for every slot, upper-level link lists of the inserted elements, and the per-slot
  // linkLists_ pointer and element level.
  size_t VectorsAndGraphBytes() const {
    const auto& h = *index_;
    size_t bytes = h.max_elements_ * h.size_data_per_element_;
    bytes += h.max_elements_ * (sizeof(char*) + sizeof(int));
    for (size_t i = 0; i < h.cur_element_count; ++i) {
      bytes += size_t(h.element_levels_[i]) * h.size_links_per_element_;
    }
    return bytes;
  }
  // What hnswlib also holds per index: a mutex per slot, 65536 update mutexes, the label hash
  // map (≈ one 32-byte node + one bucket pointer per element) and one visited list.
  size_t BookkeepingBytes() const {
    const auto& h = *index_;
    return h.link_list_locks_.size() * sizeof(std::mutex) +
           h.link_list_update_locks_.size() * sizeof(std::mutex) + h.label_lookup_.size() * 32 +
           h.label_lookup_.bucket_count() * sizeof(void*) +
           h.max_elements_ * sizeof(hnswlib::vl_type);
  }

  void Reset() { index_.reset(); }

 private:
  const Options& o_;
  bool norm_;
  std::unique_ptr<hnswlib::SpaceInterface<float>> space_;
  std::unique_ptr<hnswlib::HierarchicalNSW<float>> index_;
  std::vector<float> qbuf_;
};

// ---------------------------------------------------------------------------------------------

struct SweepPoint {
  size_t ef = 0;
  double recall = 0;
  double qps = 0;
};

double Recall(const std::vector<uint32_t>& got, const std::vector<uint32_t>& truth, size_t q) {
  size_t hits = 0;
  for (size_t i = 0; i < q; ++i) {
    const uint32_t* t = truth.data() + i * kK;
    const uint32_t* g = got.data() + i * kK;
    for (size_t a = 0; a < kK; ++a) {
      if (g[a] == UINT32_MAX) continue;
      for (size_t b = 0; b < kK; ++b) {
        if (g[a] == t[b]) {
          ++hits;
          break;
        }
      }
    }
  }
  return double(hits) / double(q * kK);
}

// Best QPS among sweep points with recall >= target (index into `pts`, or -1).
int BestAt(const std::vector<SweepPoint>& pts, double target) {
  int best = -1;
  for (size_t i = 0; i < pts.size(); ++i) {
    if (pts[i].recall >= target && (best < 0 || pts[i].qps > pts[size_t(best)].qps)) best = int(i);
  }
  return best;
}

// QPS at exactly recall `target`, interpolating log(QPS) linearly in recall between the two
// sweep points around it (sweep in ascending ef). NaN when the sweep never reaches the target;
// the first point's QPS when even the smallest ef exceeds it (`clamped` set).
double InterpolatedQps(const std::vector<SweepPoint>& pts, double target, bool* clamped) {
  *clamped = false;
  for (size_t i = 0; i < pts.size(); ++i) {
    if (pts[i].recall < target) continue;
    if (i == 0) {
      *clamped = true;
      return pts[0].qps;
    }
    const SweepPoint& a = pts[i - 1];
    const SweepPoint& b = pts[i];
    const double f = b.recall > a.recall ? (target - a.recall) / (b.recall - a.recall) : 1.0;
    return std::exp(std::log(a.qps) + f * (std::log(b.qps) - std::log(a.qps)));
  }
  return NAN;
}

std::string Rate(double v) {
  char buf[64];
  if (v >= 1e6) std::snprintf(buf, sizeof(buf), "%.2fM", v / 1e6);
  else if (v >= 1e4) std::snprintf(buf, sizeof(buf), "%.1fk", v / 1e3);
  else std::snprintf(buf, sizeof(buf), "%.0f", v);
  return buf;
}

int Main(int argc, char** argv) {
  const Options o = Parse(argc, argv);
  g_wall_clock = o.wall;
  const std::string load_start = LoadAverage();
  const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  const std::string metric_name(MetricName(o.metric));
#ifdef BENCH_HNSWLIB_FORCED_AVX
  const std::string hnswlib_isa = AVXCapable() ? "avx2 (forced by target pragma)" : "sse";
#elif defined(USE_AVX)
  const std::string hnswlib_isa = AVXCapable() ? "avx (command line)" : "sse";
#elif defined(USE_SSE)
  const std::string hnswlib_isa = "sse (command line)";
#else
  const std::string hnswlib_isa = "scalar";
#endif
  const std::string our_isa(ActiveKernels().isa);

  std::printf(
      "# index_bench: n=%zu dim=%zu queries=%zu metric=%s seed=%llu clusters=%zu M=%zu "
      "ef_construction=%zu k=%zu reps=%d\n",
      o.n, o.dim, o.queries, metric_name.c_str(), (unsigned long long)o.seed, o.clusters, kM,
      kEfConstruction, kK, o.reps);
  std::printf(
      "# cpu: %s, %u hardware threads; chromahouse kernels: %s; hnswlib 0.6.2 kernels: %s\n",
      CpuModel().c_str(), hw, our_isa.c_str(), hnswlib_isa.c_str());
  std::printf("# single-thread timings: %s; load average at start: %s\n",
              o.wall ? "wall clock" : "thread CPU time (--wall for wall clock)",
              load_start.c_str());
  std::fflush(stdout);

  // Data and ground truth.
  auto t0 = Clock::now();
  MixtureSpec spec;
  spec.dim = o.dim;
  spec.clusters = o.clusters;
  spec.seed = o.seed;
  spec.spectrum_decay = o.decay;
  spec.spread = o.spread;
  GaussianMixture mixture(spec);
  const std::vector<float> data = mixture.Generate(GaussianMixture::kDataStream, o.n, hw);
  const std::vector<float> queries = mixture.Generate(GaussianMixture::kQueryStream, o.queries, hw);
  auto t1 = Clock::now();
  bool gt_cached = false;
  std::string gt_path;
  const std::vector<uint32_t> truth =
      CachedGroundTruth(o.metric, data, queries, o.dim, kK, hw, &gt_cached, &gt_path);
  auto t2 = Clock::now();
  std::printf("# data %.2fs; ground truth %s %.2fs (%s)\n", Seconds(t0, t1),
              gt_cached ? "cached" : "computed", Seconds(t1, t2), gt_path.c_str());
  std::fflush(stdout);

  // Builds. hnswlib's two-thread build first (reference only). Then both one-thread builds,
  // interleaved in batches of kBuildBatch inserts (alternating which index goes first), each
  // index's batches timed and summed: a slow patch of a shared machine hits both equally. RSS
  // growth per batch is summed the same way, as a cross-check of the memory figures.
  Ours ours(o);
  Hnswlib theirs(o);
  double theirs_build2_s = NAN;
  if (o.hnswlib_2t && hw >= 2) {
    theirs.Create();
    Stopwatch sw;
    theirs.AddAllConcurrently(data, 2);
    theirs_build2_s = sw.Wall();
    theirs.Reset();
    std::printf("# hnswlib build (2 threads, reference): %.2fs\n", theirs_build2_s);
    std::fflush(stdout);
  }
  // Our parallel build (AddBatch, 2 threads, wall time), then its recall at ef 100 against the
  // exact answers, so that speed is not bought with quality.
  double ours_build2_s = NAN, ours_build2_recall = NAN;
  if (hw >= 2) {
    ours.Create();
    Stopwatch sw;
    ours.AddAllBatch(data, 2);
    ours_build2_s = sw.Wall();
    std::vector<uint32_t> ids(o.queries * kK);
    for (size_t q = 0; q < o.queries; ++q) {
      ours.Search(queries.data() + q * o.dim, 100, ids.data() + q * kK);
    }
    ours_build2_recall = Recall(ids, truth, o.queries);
    std::printf("# chromahouse build (2 threads, AddBatch): %.2fs, recall@10 at ef 100: %.4f\n",
                ours_build2_s, ours_build2_recall);
    std::fflush(stdout);
  }
  constexpr size_t kBuildBatch = 1000;
  double ours_build_s = 0, ours_build_wall = 0, theirs_build_s = 0, theirs_build_wall = 0;
  ptrdiff_t ours_rss_signed = 0, theirs_rss_signed = 0;
  auto build_step = [&](bool mine, size_t begin, size_t end) {
    const size_t rss0 = RssBytes();
    Stopwatch sw;
    if (mine) {
      if (begin == 0) ours.Create();
      ours.AddRange(data, begin, end);
    } else {
      if (begin == 0) theirs.Create();
      theirs.AddRange(data, begin, end);
    }
    (mine ? ours_build_s : theirs_build_s) += sw.SingleThread();
    (mine ? ours_build_wall : theirs_build_wall) += sw.Wall();
    (mine ? ours_rss_signed : theirs_rss_signed) += ptrdiff_t(RssBytes()) - ptrdiff_t(rss0);
  };
  for (size_t begin = 0, batch = 0; begin < o.n; begin += kBuildBatch, ++batch) {
    const size_t end = std::min(o.n, begin + kBuildBatch);
    build_step(batch % 2 == 0, begin, end);
    build_step(batch % 2 != 0, begin, end);
  }
  const size_t ours_rss = size_t(std::max<ptrdiff_t>(0, ours_rss_signed));
  const size_t theirs_rss = size_t(std::max<ptrdiff_t>(0, theirs_rss_signed));
  std::printf(
      "# one-thread builds, interleaved in batches of %zu: chromahouse %.2fs (wall %.2fs), "
      "hnswlib %.2fs (wall %.2fs)\n",
      kBuildBatch, ours_build_s, ours_build_wall, theirs_build_s, theirs_build_wall);
  std::fflush(stdout);

  // Query sweep, single thread. Each ef runs `reps` times, ours and hnswlib interleaved; the
  // fastest pass counts (results are deterministic, so recall is the same every pass).
  std::vector<uint32_t> got(o.queries * kK);
  auto run_ours = [&](size_t ef) {
    Stopwatch sw;
    for (size_t i = 0; i < o.queries; ++i)
      ours.Search(queries.data() + i * o.dim, ef, &got[i * kK]);
    return sw.SingleThread();
  };
  auto run_theirs = [&](size_t ef) {
    theirs.SetEf(ef);
    Stopwatch sw;
    for (size_t i = 0; i < o.queries; ++i) theirs.Search(queries.data() + i * o.dim, &got[i * kK]);
    return sw.SingleThread();
  };
  run_ours(o.efs.front());  // warm-up: scratch, visited lists, page cache of the graph
  run_theirs(o.efs.front());

  std::vector<SweepPoint> ours_pts, theirs_pts;
  for (size_t ef : o.efs) {
    double best_ours = 1e300, best_theirs = 1e300, r_ours = 0, r_theirs = 0;
    for (int rep = 0; rep < o.reps; ++rep) {
      best_ours = std::min(best_ours, run_ours(ef));
      r_ours = Recall(got, truth, o.queries);
      best_theirs = std::min(best_theirs, run_theirs(ef));
      r_theirs = Recall(got, truth, o.queries);
    }
    ours_pts.push_back({ef, r_ours, double(o.queries) / best_ours});
    theirs_pts.push_back({ef, r_theirs, double(o.queries) / best_theirs});
  }

  // Report.
  std::printf(
      "\n| ef | chromahouse recall@10 | chromahouse QPS | hnswlib recall@10 | hnswlib QPS | "
      "QPS ratio |\n|---:|---:|---:|---:|---:|---:|\n");
  for (size_t i = 0; i < o.efs.size(); ++i) {
    std::printf("| %zu | %.4f | %s | %.4f | %s | %.2f× |\n", o.efs[i], ours_pts[i].recall,
                Rate(ours_pts[i].qps).c_str(), theirs_pts[i].recall,
                Rate(theirs_pts[i].qps).c_str(), ours_pts[i].qps / theirs_pts[i].qps);
  }

  struct Row {
    std::string measure, ours, theirs, ratio, target, verdict;
  };
  std::vector<Row> rows;
  std::string json_targets;
  auto add_json = [&](const std::string& key, double ours_v, double theirs_v, double ratio,
                      const std::string& target, const std::string& verdict,
                      const std::string& extra) {
    if (!json_targets.empty()) json_targets += ",\n";
    json_targets += "    " + JsonStr(key) + ": {\"chromahouse\": " + JsonNum(ours_v) +
                    ", \"hnswlib\": " + JsonNum(theirs_v) + ", \"ratio\": " + JsonNum(ratio) +
                    ", \"target\": " + JsonStr(target) + ", \"verdict\": " + JsonStr(verdict) +
                    extra + "}";
  };

  for (double target : {0.95, 0.99}) {
    const int a = BestAt(ours_pts, target), b = BestAt(theirs_pts, target);
    auto cell = [](const std::vector<SweepPoint>& p, int i) {
      if (i < 0) return std::string("not reached");
      return Rate(p[size_t(i)].qps) + " QPS (ef " + std::to_string(p[size_t(i)].ef) + ", r " +
             Fmt("%.3f", p[size_t(i)].recall) + ")";
    };
    const double ratio =
        (a >= 0 && b >= 0) ? ours_pts[size_t(a)].qps / theirs_pts[size_t(b)].qps : NAN;
    const std::string verdict =
        std::isnan(ratio) ? (a < 0 ? "MISS" : "n/a") : (ratio >= 1.2 ? "PASS" : "MISS");
    const std::string key = "query_qps_recall_" + Fmt("%.2f", target);
    rows.push_back({"query QPS @ recall@10 ≥ " + Fmt("%.2f", target) + ", 1 thread",
                    cell(ours_pts, a), cell(theirs_pts, b),
                    std::isnan(ratio) ? "—" : Fmt("%.2f×", ratio), "≥ 1.20×", verdict});
    add_json(
        key, a >= 0 ? ours_pts[size_t(a)].qps : NAN, b >= 0 ? theirs_pts[size_t(b)].qps : NAN,
        ratio, ">= 1.2x", verdict,
        ", \"chromahouse_ef\": " + (a >= 0 ? std::to_string(ours_pts[size_t(a)].ef) : "null") +
            ", \"hnswlib_ef\": " + (b >= 0 ? std::to_string(theirs_pts[size_t(b)].ef) : "null"));
    // The same at exactly `target`, free of the ef grid's steps (a check on the row above).
    bool ca = false, cb = false;
    const double ia = InterpolatedQps(ours_pts, target, &ca);
    const double ib = InterpolatedQps(theirs_pts, target, &cb);
    const double iratio = ia / ib;
    auto icell = [](double v, bool clamped) {
      if (std::isnan(v)) return std::string("not reached");
      return (clamped ? "≥ " : "") + Rate(v) + " QPS";
    };
    const std::string iverdict =
        std::isnan(iratio) || ca || cb ? "n/a" : (iratio >= 1.2 ? "PASS" : "MISS");
    rows.push_back({"  (interpolated at recall " + Fmt("%.2f", target) + ")", icell(ia, ca),
                    icell(ib, cb), std::isnan(iratio) ? "—" : Fmt("%.2f×", iratio), "≥ 1.20×",
                    iverdict});
    add_json(key + "_interpolated", ia, ib, iratio, ">= 1.2x", iverdict,
             std::string(", \"clamped\": ") + (ca || cb ? "true" : "false"));
  }

  const double ours_ips = double(o.n) / ours_build_s, theirs_ips = double(o.n) / theirs_build_s;
  {
    const double ratio = ours_ips / theirs_ips;
    const std::string verdict = ratio >= 1.0 ? "PASS" : "MISS";
    rows.push_back({"build, 1 thread (inserts/s)", Rate(ours_ips) + "/s", Rate(theirs_ips) + "/s",
                    Fmt("%.2f×", ratio), "≥ 1.00×", verdict});
    add_json("build_1t_inserts_per_s", ours_ips, theirs_ips, ratio, ">= 1.0x", verdict, "");
  }
  {
    const double theirs2 = double(o.n) / theirs_build2_s;
    std::string theirs_cell = std::isnan(theirs_build2_s)
                                  ? "not run"
                                  : Rate(theirs2) + "/s wall (" +
                                        Fmt("%.2f×", theirs2 * theirs_build_wall / double(o.n)) +
                                        " its 1T wall; reference)";
    const double ours2 = double(o.n) / ours_build2_s;
    // Against our own one-thread build's wall time (both wall clock).
    const double own_ratio = ours2 * ours_build_wall / double(o.n);
    const std::string verdict = std::isnan(ours_build2_s) ? "n/a"
                                : own_ratio >= 1.7        ? "PASS"
                                                          : "MISS";
    rows.push_back({"build, 2 threads (inserts/s)",
                    std::isnan(ours_build2_s)
                        ? std::string("not run (one core)")
                        : Rate(ours2) + "/s wall (" + Fmt("%.2f×", own_ratio) +
                              " own 1T wall; recall " + Fmt("%.3f", ours_build2_recall) + ")",
                    theirs_cell, std::isnan(theirs_build2_s) ? "—" : Fmt("%.2f×", ours2 / theirs2),
                    "≥ 1.70× own 1T", verdict});
    add_json("build_2t_inserts_per_s", ours2, std::isnan(theirs_build2_s) ? NAN : theirs2,
             own_ratio, ">= 1.7x own 1-thread rate", verdict,
             ", \"recall_at_ef100\": " + Fmt("%.4f", ours_build2_recall));
  }
  const double ours_bpv = double(ours.VectorsAndGraphBytes()) / double(o.n);
  const double theirs_bpv = double(theirs.VectorsAndGraphBytes()) / double(o.n);
  {
    const double ratio = ours_bpv / theirs_bpv;
    const std::string verdict = ratio <= 1.0 ? "PASS" : "MISS";
    rows.push_back({"bytes/vector, vectors + graph", Fmt("%.1f", ours_bpv), Fmt("%.1f", theirs_bpv),
                    Fmt("%.3f×", ratio), "≤ 1.00×", verdict});
    add_json("bytes_per_vector", ours_bpv, theirs_bpv, ratio, "<= 1.0x", verdict,
             ", \"method\": \"chromahouse MemoryBytes()/n; hnswlib from public fields: "
             "max_elements*size_data_per_element + levels*size_links_per_element + "
             "(pointer + level) per slot\"");
  }
  const double theirs_book = double(theirs.BookkeepingBytes()) / double(o.n);
  rows.push_back({"bytes/vector, RSS growth over the build (cross-check)",
                  Fmt("%.1f", double(ours_rss) / double(o.n)),
                  Fmt("%.1f", double(theirs_rss) / double(o.n)) + " (+" + Fmt("%.1f", theirs_book) +
                      " locks/labels est.)",
                  Fmt("%.3f×", double(ours_rss) / double(theirs_rss)), "info", ""});

  std::printf("\n| measure | chromahouse | hnswlib | ratio | target |\n|---|---:|---:|---:|---|\n");
  for (const Row& r : rows) {
    std::printf("| %s | %s | %s | %s | %s%s%s |\n", r.measure.c_str(), r.ours.c_str(),
                r.theirs.c_str(), r.ratio.c_str(), r.target.c_str(), r.verdict.empty() ? "" : " ",
                r.verdict.c_str());
  }

  // JSON.
  std::string sweep;
  for (size_t i = 0; i < o.efs.size(); ++i) {
    if (i) sweep += ",\n";
    sweep += "    {\"ef\": " + std::to_string(o.efs[i]) +
             ", \"chromahouse_recall\": " + JsonNum(ours_pts[i].recall) +
             ", \"chromahouse_qps\": " + JsonNum(ours_pts[i].qps) +
             ", \"hnswlib_recall\": " + JsonNum(theirs_pts[i].recall) +
             ", \"hnswlib_qps\": " + JsonNum(theirs_pts[i].qps) + "}";
  }
  std::string json = "{\n  \"benchmark\": \"index\",\n";
  json += "  \"params\": {\"n\": " + std::to_string(o.n) + ", \"dim\": " + std::to_string(o.dim) +
          ", \"queries\": " + std::to_string(o.queries) + ", \"metric\": " + JsonStr(metric_name) +
          ", \"seed\": " + std::to_string(o.seed) +
          ", \"clusters\": " + std::to_string(o.clusters) + ", \"decay\": " + JsonNum(o.decay) +
          ", \"spread\": " + JsonNum(o.spread) + ", \"M\": " + std::to_string(kM) +
          ", \"ef_construction\": " + std::to_string(kEfConstruction) +
          ", \"k\": " + std::to_string(kK) + ", \"reps\": " + std::to_string(o.reps) +
          ", \"smoke\": " + (o.smoke ? "true" : "false") + "},\n";
  json += "  \"env\": {\"cpu\": " + JsonStr(CpuModel()) +
          ", \"hardware_threads\": " + std::to_string(hw) +
          ", \"chromahouse_kernels\": " + JsonStr(our_isa) +
          ", \"hnswlib\": \"Debian libhnswlib-dev 0.6.2\", \"hnswlib_kernels\": " +
          JsonStr(hnswlib_isa) + "},\n";
  json += "  \"clock\": " + JsonStr(o.wall ? "wall" : "thread_cpu") +
          ", \"load_average\": {\"start\": " + JsonStr(load_start) +
          ", \"end\": " + JsonStr(LoadAverage()) + "},\n";
  json += "  \"build_seconds\": {\"chromahouse_1t\": " + JsonNum(ours_build_s) +
          ", \"chromahouse_1t_wall\": " + JsonNum(ours_build_wall) +
          ", \"hnswlib_1t\": " + JsonNum(theirs_build_s) +
          ", \"hnswlib_1t_wall\": " + JsonNum(theirs_build_wall) +
          ", \"hnswlib_2t_wall\": " + JsonNum(theirs_build2_s) + "},\n";
  json += "  \"memory\": {\"chromahouse_bytes_per_vector\": " + JsonNum(ours_bpv) +
          ", \"hnswlib_bytes_per_vector\": " + JsonNum(theirs_bpv) +
          ", \"hnswlib_bookkeeping_bytes_per_vector\": " + JsonNum(theirs_book) +
          ", \"chromahouse_rss_growth_per_vector\": " + JsonNum(double(ours_rss) / double(o.n)) +
          ", \"hnswlib_rss_growth_per_vector\": " + JsonNum(double(theirs_rss) / double(o.n)) +
          "},\n";
  json += "  \"targets\": {\n" + json_targets + "\n  },\n";
  json += "  \"sweep\": [\n" + sweep + "\n  ]\n}\n";
  {
    std::error_code ec;
    std::filesystem::path p(o.out);
    if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), ec);
    std::ofstream out(o.out, std::ios::trunc);
    out << json;
    if (!out) {
      std::fprintf(stderr, "index_bench: cannot write %s\n", o.out.c_str());
      return 1;
    }
  }
  std::printf("\n# load average at end: %s; wrote %s\n", LoadAverage().c_str(), o.out.c_str());

  if (o.smoke) {
    double max_ours = 0, max_theirs = 0;
    for (size_t i = 0; i < o.efs.size(); ++i) {
      max_ours = std::max(max_ours, ours_pts[i].recall);
      max_theirs = std::max(max_theirs, theirs_pts[i].recall);
    }
    if (max_ours < 0.9 || max_theirs < 0.9) {
      std::fprintf(stderr,
                   "index_bench --smoke: best recall chromahouse %.3f, hnswlib %.3f < 0.9\n",
                   max_ours, max_theirs);
      return 1;
    }
  }
  return 0;
}

}  // namespace
}  // namespace chromahouse::bench

int main(int argc, char** argv) { return chromahouse::bench::Main(argc, argv); }
