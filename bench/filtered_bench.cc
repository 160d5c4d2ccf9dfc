// filtered_bench: filtered vector search through VectorSearch's planner.
//
// Benchmark 2 of the speed issue: filters matching 50%, 10%, 1% and 0.1% of a 100k collection
// must keep recall@10 >= 0.95 (the planner switches to brute force where the graph would miss),
// with the latency at each selectivity printed next to the unfiltered latency.
//
// Setup: a RecordStore + VectorSearch (HNSW M = 16, ef_construction = 100, l2) over n generated
// vectors (bench/data.h), record i = id "r<i>", version = created = i + 1, metadata
// {"bucket": i % 1000}. The graph is built with OnApplied + IndexSome (timed). For each
// selectivity s the allowed set is the offsets whose bucket < s·1000, in insertion order
// (nullptr when unfiltered); each held-out query runs Search(k = 10, ef = 100) and is compared
// with the exact RecordStore::Nearest over the same set. Latency is per query, wall clock.
//
// Build (from the repo root, after the project build):
//   g++ -std=c++20 -O3 -g -include utility -Isrc -Ibench bench/filtered_bench.cc
//       build/src/libch_collection.a build/src/libch_filter.a build/src/libch_index.a
//       build/src/libch_storage.a build/src/libch_core.a build/src/libch_common.a
//       -lsimdjson -lre2 -lcurl -lspdlog -lfmt -lpthread -o /tmp/filtered_bench
// Run: /tmp/filtered_bench [--n 100000] [--dim 128] [--queries 200] [--out PATH] [--smoke]
// --smoke: n = 5000, 30 queries, JSON to /tmp unless --out; exits non-zero when any
// selectivity's recall@10 < 0.9.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "bench_util.h"
#include "collection/record_store.h"
#include "collection/vector_search.h"
#include "data.h"

namespace chromahouse::bench {
namespace {

constexpr size_t kK = 10;
constexpr size_t kEf = 100;
constexpr size_t kBuckets = 1000;

struct Options {
  size_t n = 100000;
  size_t dim = 128;
  size_t queries = 200;
  std::string out;
  bool smoke = false;
};

[[noreturn]] void Usage(const char* msg) {
  std::fprintf(stderr, "filtered_bench: %s\nRun with --help for more information.\n", msg);
  std::exit(2);
}

Options Parse(int argc, char** argv) {
  Options o;
  CLI::App app{"filtered_bench: filtered vector search through VectorSearch's planner",
               "filtered_bench"};
  FlagDefaults(app);
  app.add_option("--n", o.n, "records in the collection");
  app.add_option("--dim", o.dim, "vector dimension");
  app.add_option("--queries", o.queries, "held-out queries per selectivity");
  app.add_option("--out", o.out,
                 "JSON results (default bench/results/filtered_l2.json; with --smoke, in /tmp)");
  app.add_flag("--smoke", o.smoke,
               "quick check: n = 5000, 30 queries unless given; fails when a recall@10 < 0.9");
  ParseFlags(app, argc, argv);
  if (o.smoke) {
    if (!app.count("--n")) o.n = 5000;
    if (!app.count("--queries")) o.queries = 30;
  }
  if (o.n < 1 || o.dim < 1 || o.queries < 1) Usage("n, dim and queries must be >= 1");
  if (o.out.empty()) {
    o.out = o.smoke ? "/tmp/chromahouse-bench-cache/filtered_l2_smoke.json"
                    : "bench/results/filtered_l2.json";
  }
  return o;
}

std::string Micros(double seconds) {
  const double us = seconds * 1e6;
  if (us >= 1000) return Fmt("%.2f ms", us / 1000);
  if (us >= 10) return Fmt("%.0f µs", us);
  return Fmt("%.1f µs", us);
}

struct Result {
  double selectivity = 0;
  size_t allowed = 0;
  size_t brute = 0, hnsw = 0, none = 0;
  double recall = 0;
  double p50 = 0, p99 = 0, mean = 0;
};

int Main(int argc, char** argv) {
  const Options o = Parse(argc, argv);
  const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  const std::string load_start = LoadAverage();
  std::printf(
      "# filtered_bench: n=%zu dim=%zu queries=%zu metric=l2 M=16 ef_construction=100 "
      "ef=%zu k=%zu; load average at start: %s\n",
      o.n, o.dim, o.queries, kEf, kK, load_start.c_str());
  std::fflush(stdout);

  // Data.
  auto t0 = Clock::now();
  MixtureSpec spec;
  spec.dim = o.dim;
  if (o.smoke) spec.clusters = std::min<size_t>(spec.clusters, std::max<size_t>(1, o.n / 100));
  GaussianMixture mixture(spec);
  const std::vector<float> data = mixture.Generate(GaussianMixture::kDataStream, o.n, hw);
  const std::vector<float> queries = mixture.Generate(GaussianMixture::kQueryStream, o.queries, hw);

  // Store.
  RecordStore store(Metric::kL2);
  std::vector<std::pair<uint32_t, bool>> changes;
  {
    std::vector<RecordRow> rows(o.n);
    for (size_t i = 0; i < o.n; ++i) {
      RecordRow& r = rows[i];
      r.id = "r" + std::to_string(i);
      r.version = r.created = i + 1;
      r.embedding.assign(data.begin() + ptrdiff_t(i * o.dim),
                         data.begin() + ptrdiff_t((i + 1) * o.dim));
      r.metadata = Metadata{{"bucket", MetadataValue(int64_t(i % kBuckets))}};
    }
    changes = store.Apply(rows);
  }
  auto t1 = Clock::now();
  std::printf("# data + RecordStore::Apply: %.2fs (%zu records)\n", Seconds(t0, t1), store.size());
  std::fflush(stdout);

  // Graph.
  HnswParams params;
  params.dim = o.dim;
  params.metric = Metric::kL2;
  params.max_neighbors = 16;
  params.ef_construction = 100;
  VectorSearch search(params);
  auto b0 = Clock::now();
  search.OnApplied(store, changes);
  while (search.IndexSome(store, 4096)) {
  }
  auto b1 = Clock::now();
  const double build_s = Seconds(b0, b1);
  std::printf(
      "# graph build (OnApplied + IndexSome(4096) loop): %.2fs, %.0f inserts/s; "
      "indexed %zu, pending %zu\n",
      build_s, double(o.n) / build_s, search.indexed(), search.pending());
  std::fflush(stdout);

  // Offsets and their buckets.
  const std::vector<uint32_t> all = store.OffsetsInInsertionOrder();
  std::vector<int64_t> bucket_of(store.capacity(), -1);
  for (uint32_t off : all) {
    const auto& md = store.metadata(off);
    if (md) {
      auto it = md->find("bucket");
      if (it != md->end()) bucket_of[off] = std::get<int64_t>(it->second);
    }
  }

  const std::vector<double> selectivities = {1.0, 0.5, 0.1, 0.01, 0.001};
  std::vector<Result> results;
  for (double s : selectivities) {
    Result res;
    res.selectivity = s;
    std::vector<uint32_t> allowed_vec;
    const std::vector<uint32_t>* allowed = nullptr;
    if (s < 1.0) {
      const int64_t limit = int64_t(std::llround(s * double(kBuckets)));
      for (uint32_t off : all) {
        if (bucket_of[off] >= 0 && bucket_of[off] < limit) allowed_vec.push_back(off);
      }
      allowed = &allowed_vec;
    }
    const std::vector<uint32_t>& exact_set = allowed ? allowed_vec : all;
    res.allowed = exact_set.size();

    // Warm-up (scratch buffers, caches).
    {
      SearchPath p = SearchPath::kNone;
      for (size_t i = 0; i < std::min<size_t>(5, o.queries); ++i) {
        search.Search(store, queries.data() + i * o.dim, kK, allowed, kEf, &p);
      }
    }

    std::vector<double> lat;
    lat.reserve(o.queries);
    size_t hits = 0, expected = 0;
    for (size_t i = 0; i < o.queries; ++i) {
      const float* q = queries.data() + i * o.dim;
      SearchPath path = SearchPath::kNone;
      auto q0 = Clock::now();
      std::vector<Neighbor> got = search.Search(store, q, kK, allowed, kEf, &path);
      auto q1 = Clock::now();
      lat.push_back(Seconds(q0, q1));
      switch (path) {
        case SearchPath::kBruteForce: ++res.brute; break;
        case SearchPath::kHnsw: ++res.hnsw; break;
        default: ++res.none; break;
      }
      const std::vector<Neighbor> truth = store.Nearest(q, exact_set, kK);
      std::unordered_set<uint32_t> t;
      for (const Neighbor& nb : truth) t.insert(nb.second);
      expected += truth.size();
      for (const Neighbor& nb : got) hits += t.count(nb.second);
    }
    res.recall = expected ? double(hits) / double(expected) : 1.0;
    res.p50 = Percentile(lat, 0.50);
    res.p99 = Percentile(lat, 0.99);
    double sum = 0;
    for (double x : lat) sum += x;
    res.mean = sum / double(lat.size());
    results.push_back(res);
  }

  auto paths = [](const Result& r) {
    std::string p;
    auto add = [&](const char* name, size_t c) {
      if (!c) return;
      if (!p.empty()) p += ", ";
      p += std::string(name) + " ×" + std::to_string(c);
    };
    add("brute force", r.brute);
    add("hnsw", r.hnsw);
    add("none", r.none);
    return p;
  };

  const double base_p50 = results.front().p50;
  bool all_pass = true;
  double min_recall = 1.0;
  std::printf(
      "\n| selectivity | allowed records | path(s) taken | recall@10 | p50 latency | "
      "p99 latency | ratio to unfiltered p50 | target (recall ≥ 0.95) |\n"
      "|---:|---:|---|---:|---:|---:|---:|---|\n");
  for (const Result& r : results) {
    const bool pass = r.recall >= 0.95;
    all_pass = all_pass && pass;
    min_recall = std::min(min_recall, r.recall);
    std::printf(
        "| %s | %zu | %s | %.4f | %s | %s | %.2f× | %s |\n",
        r.selectivity >= 1.0 ? "100% (unfiltered)" : Fmt("%g%%", r.selectivity * 100).c_str(),
        r.allowed, paths(r).c_str(), r.recall, Micros(r.p50).c_str(), Micros(r.p99).c_str(),
        r.p50 / base_p50, pass ? "PASS" : "MISS");
  }

  // JSON.
  std::string rows;
  for (const Result& r : results) {
    if (!rows.empty()) rows += ",\n";
    rows += "    {\"selectivity\": " + JsonNum(r.selectivity) +
            ", \"allowed\": " + std::to_string(r.allowed) +
            ", \"paths\": {\"brute_force\": " + std::to_string(r.brute) +
            ", \"hnsw\": " + std::to_string(r.hnsw) + ", \"none\": " + std::to_string(r.none) +
            "}, \"recall_at_10\": " + JsonNum(r.recall) + ", \"p50_seconds\": " + JsonNum(r.p50) +
            ", \"p99_seconds\": " + JsonNum(r.p99) + ", \"mean_seconds\": " + JsonNum(r.mean) +
            ", \"p50_ratio_to_unfiltered\": " + JsonNum(r.p50 / base_p50) +
            ", \"target\": \"recall >= 0.95\", \"verdict\": " +
            JsonStr(r.recall >= 0.95 ? "PASS" : "MISS") + "}";
  }
  std::string json = "{\n  \"benchmark\": \"filtered\",\n";
  json +=
      "  \"params\": {\"n\": " + std::to_string(o.n) + ", \"dim\": " + std::to_string(o.dim) +
      ", \"queries\": " + std::to_string(o.queries) +
      ", \"metric\": \"l2\", \"M\": 16, \"ef_construction\": 100, \"ef\": " + std::to_string(kEf) +
      ", \"k\": " + std::to_string(kK) + ", \"clusters\": " + std::to_string(spec.clusters) +
      ", \"buckets\": " + std::to_string(kBuckets) +
      ", \"brute_force_max\": " + std::to_string(PlannerOptions{}.brute_force_max) +
      ", \"brute_force_max_floats\": " + std::to_string(PlannerOptions{}.brute_force_max_floats) +
      ", \"smoke\": " + (o.smoke ? "true" : "false") + "},\n";
  json += "  \"clock\": \"wall\", \"load_average\": {\"start\": " + JsonStr(load_start) +
          ", \"end\": " + JsonStr(LoadAverage()) + "},\n";
  json += "  \"build_seconds\": " + JsonNum(build_s) + ",\n";
  json += "  \"all_pass\": " + std::string(all_pass ? "true" : "false") + ",\n";
  json += "  \"selectivities\": [\n" + rows + "\n  ]\n}\n";
  {
    std::error_code ec;
    std::filesystem::path p(o.out);
    if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), ec);
    std::ofstream out(o.out, std::ios::trunc);
    out << json;
    if (!out) {
      std::fprintf(stderr, "filtered_bench: cannot write %s\n", o.out.c_str());
      return 1;
    }
  }
  std::printf("\n# load average at end: %s; wrote %s\n", LoadAverage().c_str(), o.out.c_str());

  if (o.smoke && min_recall < 0.9) {
    std::fprintf(stderr, "filtered_bench --smoke: min recall@10 %.3f < 0.9\n", min_recall);
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace chromahouse::bench

int main(int argc, char** argv) { return chromahouse::bench::Main(argc, argv); }
