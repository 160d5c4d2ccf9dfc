// search_bench: the search engine of the hybrid Search API (API.md §13), in process, each figure
// next to an exact baseline measured in the same run.
//
// Part 1, hybrid ranking: n documents (default 100k) drawn from a Zipf vocabulary, each with a
// dense 128-d vector (bench/data.h's mixture) and its BM25 vector as Chroma's client computes it
// (term frequency saturated with k = 1.2, b = 0.75, average length 256; one dimension per word),
// stored under metadata key "bm25" (sparse index, BM25 idf). For each query (a dense vector and
// three words): the SearchExecutor's answer for
//   - dense: $knn on the embedding (the HNSW graph), k = 10,
//   - bm25: $knn on "bm25" (the inverted index, MaxScore), k = 10,
//   - rrf: −(1/(60 + rank_dense) + 1/(60 + rank_bm25)), each leaf's top 50 with a default of 50
//     (records in either list), k = 10,
// against brute-force exact scoring of the same expression (every record's distance and BM25
// score): latency p50/p99 of both, the ratio, and recall@10 against the exact answer.
//
// Part 2, document filters: m documents (default 1M; short sentences of the same vocabulary)
// where marker words make `$contains` match 0.1 %, 1 % and 10 % of them. Each filter through
// the filter planner (trigram index + exact check of the candidates) against checking every
// document (the scan the planner falls back to); the index's build time and memory.
//
// Run: build/search_bench [--n 100000] [--m 1000000] [--queries 200] [--out PATH] [--smoke]
// --smoke: n = 3000, m = 20000, 30 queries; exits non-zero when a recall@10 < 0.9 or a filter's
// answer differs from the scan's.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "bench_util.h"
#include "collection/filter_planner.h"
#include "collection/record_store.h"
#include "collection/vector_search.h"
#include "data.h"
#include "filter/evaluator.h"
#include "service/search_executor.h"

namespace chromahouse::bench {
namespace {

constexpr size_t kK = 10;
constexpr size_t kEf = 100;
constexpr uint32_t kRrfLimit = 50;

struct Options {
  size_t n = 100000;
  size_t m = 1000000;
  size_t dim = 128;
  size_t queries = 200;
  size_t vocabulary = 30000;
  std::string out;
  bool smoke = false;
};

Options Parse(int argc, char** argv) {
  Options o;
  CLI::App app{"search_bench: hybrid search and document filters against exact baselines",
               "search_bench"};
  FlagDefaults(app);
  app.add_option("--n", o.n, "documents with dense and BM25 vectors (part 1)");
  app.add_option("--m", o.m, "documents for the $contains filters (part 2)");
  app.add_option("--dim", o.dim, "dense vector dimension");
  app.add_option("--queries", o.queries, "queries per rank form");
  app.add_option("--vocabulary", o.vocabulary, "distinct words");
  app.add_option("--out", o.out, "JSON results (default bench/results/search.json)");
  app.add_flag("--smoke", o.smoke, "quick check (n = 3000, m = 20000, 30 queries)");
  ParseFlags(app, argc, argv);
  if (o.smoke) {
    if (!app.count("--n")) o.n = 3000;
    if (!app.count("--m")) o.m = 20000;
    if (!app.count("--queries")) o.queries = 30;
    if (!app.count("--vocabulary")) o.vocabulary = 3000;
  }
  if (o.out.empty()) {
    o.out =
        o.smoke ? "/tmp/chromahouse-bench-cache/search_smoke.json" : "bench/results/search.json";
  }
  return o;
}

std::string Ms(double s) { return Fmt("%.3f ms", s * 1e3); }

// Words "w<rank>" drawn with probability ∝ 1 / rank (Zipf, s = 1).
class Zipf {
 public:
  Zipf(size_t words, uint64_t seed) : rng_(seed), cdf_(words) {
    double sum = 0;
    for (size_t i = 0; i < words; ++i) cdf_[i] = sum += 1.0 / double(i + 1);
    for (double& c : cdf_) c /= sum;
  }
  uint32_t Next() {
    const double u = std::uniform_real_distribution<double>(0, 1)(rng_);
    return static_cast<uint32_t>(std::lower_bound(cdf_.begin(), cdf_.end(), u) - cdf_.begin());
  }
  std::mt19937_64& rng() { return rng_; }

 private:
  std::mt19937_64 rng_;
  std::vector<double> cdf_;
};

std::string Word(uint32_t w) {
  // Letters only (base 26, no digits), so that marker words share no trigram with them.
  std::string s = "w";
  do {
    s += char('a' + w % 26);
    w /= 26;
  } while (w > 0);
  return s;
}

// Chroma's client-side BM25 weights (one dimension per word).
SparseVector Bm25Vector(const std::vector<uint32_t>& words) {
  std::map<uint32_t, int> tf;
  for (uint32_t w : words) ++tf[w];
  const double k = 1.2, b = 0.75, avg = 256.0, len = double(words.size());
  SparseVector v;
  for (auto [w, f] : tf) {
    v.indices.push_back(w);
    v.values.push_back(float(f * (k + 1) / (f + k * (1 - b + b * len / avg))));
  }
  return v;
}

RankExpr KnnExpr(KnnRank knn) {
  RankExpr e;
  e.op = RankOp::kKnn;
  e.knn = std::make_shared<KnnRank>(std::move(knn));
  return e;
}

RankExpr Val(float v) {
  RankExpr e;
  e.op = RankOp::kVal;
  e.value = v;
  return e;
}

RankExpr Nary(RankOp op, std::vector<RankExpr> children) {
  RankExpr e;
  e.op = op;
  e.children = std::move(children);
  return e;
}

// The client's Rrf: −Σ 1 / (60 + rank_i).
RankExpr Rrf(RankExpr a, RankExpr b) {
  auto term = [](RankExpr r) {
    RankExpr div;
    div.op = RankOp::kDiv;
    div.children = {Val(1), Nary(RankOp::kSum, {std::move(r), Val(60)})};
    return div;
  };
  return Nary(RankOp::kMul,
              {Nary(RankOp::kSum, {term(std::move(a)), term(std::move(b))}), Val(-1)});
}

struct Figures {
  std::string name;
  double p50 = 0, p99 = 0, exact_p50 = 0, exact_p99 = 0, recall = 0;
};

double Recall(const std::vector<uint32_t>& got, const std::vector<uint32_t>& want) {
  if (want.empty()) return 1.0;
  std::unordered_set<uint32_t> w(want.begin(), want.end());
  size_t hit = 0;
  for (uint32_t o : got) hit += w.count(o);
  return double(hit) / double(want.size());
}

// Exact top-k of (score, offset) ascending.
std::vector<uint32_t> TopAscending(std::vector<std::pair<float, uint32_t>> all, size_t k) {
  k = std::min(k, all.size());
  std::partial_sort(all.begin(), all.begin() + ptrdiff_t(k), all.end());
  std::vector<uint32_t> out;
  for (size_t i = 0; i < k; ++i) out.push_back(all[i].second);
  return out;
}

int Main(int argc, char** argv) {
  const Options o = Parse(argc, argv);
  const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  std::printf(
      "# search_bench: n=%zu m=%zu dim=%zu queries=%zu vocabulary=%zu k=%zu; load "
      "average at start: %s\n",
      o.n, o.m, o.dim, o.queries, o.vocabulary, kK, LoadAverage().c_str());
  std::fflush(stdout);
  bool failed = false;

  // ---- Part 1: hybrid ranking.
  MixtureSpec spec;
  spec.dim = o.dim;
  if (o.smoke) spec.clusters = std::min<size_t>(spec.clusters, std::max<size_t>(1, o.n / 100));
  GaussianMixture mixture(spec);
  const std::vector<float> data = mixture.Generate(GaussianMixture::kDataStream, o.n, hw);
  const std::vector<float> qdata = mixture.Generate(GaussianMixture::kQueryStream, o.queries, hw);
  Zipf zipf(o.vocabulary, 7);
  RecordStore store(Metric::kL2);
  std::vector<std::shared_ptr<const SparseVector>> bm25(o.n);
  auto t0 = Clock::now();
  std::vector<std::pair<uint32_t, bool>> changes;
  {
    std::vector<RecordRow> rows(o.n);
    for (size_t i = 0; i < o.n; ++i) {
      RecordRow& r = rows[i];
      r.id = "d" + std::to_string(i);
      r.version = r.created = i + 1;
      r.embedding.assign(data.begin() + ptrdiff_t(i * o.dim),
                         data.begin() + ptrdiff_t((i + 1) * o.dim));
      std::vector<uint32_t> words(20 + zipf.rng()() % 100);
      for (auto& w : words) w = zipf.Next();
      SparseValue value(Bm25Vector(words));
      bm25[i] = value.vector;
      r.metadata = Metadata{{"bm25", MetadataValue(std::move(value))}};
    }
    changes = store.Apply(rows);
  }
  HnswParams params;
  params.dim = o.dim;
  params.metric = Metric::kL2;
  params.max_neighbors = 16;
  params.ef_construction = 100;
  VectorSearch search(params);
  search.OnApplied(store, changes);
  while (search.IndexSome(store, 4096, int(hw))) {
  }
  const SparseIndex* index = store.sparse_index("bm25");
  std::printf(
      "# part 1: %zu documents, graph and sparse index built in %.1fs; sparse index "
      "%.1f MiB\n",
      store.size(), Seconds(t0, Clock::now()), double(index->MemoryBytes()) / (1 << 20));
  std::fflush(stdout);

  std::map<std::string, bool, std::less<>> bm25_keys{{"bm25", true}};
  SearchExecutor executor(store, search, o.dim, kEf, bm25_keys);
  std::vector<Figures> figures = {{"dense"}, {"bm25"}, {"rrf(dense, bm25)"}};
  std::vector<std::vector<double>> t(3), te(3);
  std::vector<double> recalls[3];
  for (size_t q = 0; q < o.queries; ++q) {
    std::vector<float> dense(qdata.begin() + ptrdiff_t(q * o.dim),
                             qdata.begin() + ptrdiff_t((q + 1) * o.dim));
    // Three words of the middle of the vocabulary (the very frequent ones are stopwords).
    std::vector<uint32_t> qwords;
    while (qwords.size() < 3) {
      uint32_t w = zipf.Next();
      if (w >= 20) qwords.push_back(w);
    }
    SparseVector qs = Bm25Vector(qwords);
    KnnRank dk;
    dk.query = dense;
    dk.limit = kK;
    KnnRank sk;
    sk.query = qs;
    sk.key = "bm25";
    sk.limit = kK;
    KnnRank dr = dk, sr = sk;
    dr.limit = sr.limit = kRrfLimit;
    dr.return_rank = sr.return_rank = true;
    dr.default_score = sr.default_score = float(kRrfLimit);
    SearchQuery queries[3];
    queries[0].rank = KnnExpr(dk);
    queries[1].rank = KnnExpr(sk);
    queries[2].rank = Rrf(KnnExpr(dr), KnnExpr(sr));
    for (auto& sq : queries) sq.limit = kK;

    // Exact: every record's distance and BM25 score.
    auto e0 = Clock::now();
    std::vector<std::pair<float, uint32_t>> dist;
    dist.reserve(o.n);
    for (uint32_t i = 0; i < o.n; ++i) {
      dist.emplace_back(Distance(Metric::kL2, dense.data(), store.embedding(i), o.dim), i);
    }
    std::vector<uint32_t> exact_dense = TopAscending(dist, kK);
    auto e1 = Clock::now();
    // Every record's BM25 score, the best k kept (SparseIndex::TopKByScan).
    std::vector<uint32_t> exact_bm25;
    for (const auto& s : index->TopKByScan(qs, kK, nullptr, store.size())) {
      exact_bm25.push_back(s.offset);
    }
    auto e2 = Clock::now();
    // RRF: ranks from the exact top-50 of each (the dense scan above, a BM25 scan), default 50.
    std::vector<uint32_t> d50 = TopAscending(dist, kRrfLimit), b50;
    for (const auto& s : index->TopKByScan(qs, kRrfLimit, nullptr, store.size())) {
      b50.push_back(s.offset);
    }
    std::map<uint32_t, float> fused;
    for (size_t r = 0; r < d50.size(); ++r) fused[d50[r]] += 1.0f / (60 + float(r));
    for (size_t r = 0; r < b50.size(); ++r) fused[b50[r]] += 1.0f / (60 + float(r));
    for (auto& [off, v] : fused) {
      const bool in_d = std::find(d50.begin(), d50.end(), off) != d50.end();
      const bool in_b = std::find(b50.begin(), b50.end(), off) != b50.end();
      if (!in_d) v += 1.0f / (60 + float(kRrfLimit));
      if (!in_b) v += 1.0f / (60 + float(kRrfLimit));
    }
    std::vector<std::pair<float, uint32_t>> fl;
    for (auto [off, v] : fused) fl.emplace_back(-v, off);
    std::vector<uint32_t> exact_rrf = TopAscending(fl, kK);
    auto e3 = Clock::now();
    te[0].push_back(Seconds(e0, e1));
    te[1].push_back(Seconds(e1, e2));
    te[2].push_back(Seconds(e0, e1) + Seconds(e2, e3));  // both scans and the fusion
    const std::vector<uint32_t>* exact[3] = {&exact_dense, &exact_bm25, &exact_rrf};

    for (int f = 0; f < 3; ++f) {
      auto s0 = Clock::now();
      auto hits = executor.Run(queries[f]);
      t[f].push_back(Seconds(s0, Clock::now()));
      if (!hits.ok()) {
        std::fprintf(stderr, "search failed: %s\n", hits.status().ToString().c_str());
        return 1;
      }
      std::vector<uint32_t> got;
      for (const auto& h : *hits) got.push_back(h.offset);
      recalls[f].push_back(Recall(got, *exact[f]));
    }
  }
  std::printf("%-18s %12s %12s %14s %14s %8s %10s\n", "rank", "p50", "p99", "exact p50",
              "exact p99", "ratio", "recall@10");
  for (int f = 0; f < 3; ++f) {
    Figures& g = figures[f];
    g.p50 = Percentile(t[f], 0.5);
    g.p99 = Percentile(t[f], 0.99);
    g.exact_p50 = Percentile(te[f], 0.5);
    g.exact_p99 = Percentile(te[f], 0.99);
    double sum = 0;
    for (double r : recalls[f]) sum += r;
    g.recall = sum / double(recalls[f].size());
    std::printf("%-18s %12s %12s %14s %14s %7.1fx %10.3f\n", g.name.c_str(), Ms(g.p50).c_str(),
                Ms(g.p99).c_str(), Ms(g.exact_p50).c_str(), Ms(g.exact_p99).c_str(),
                g.exact_p50 / g.p50, g.recall);
    if (g.recall < 0.9) failed = true;
  }
  std::fflush(stdout);

  // ---- Part 2: $contains through the trigram index against the scan.
  RecordStore docs(Metric::kL2);
  const std::vector<std::pair<std::string, double>> markers = {
      {"qjxv0001", 0.001}, {"zqkp0010", 0.01}, {"xvjq0100", 0.1}};
  {
    std::mt19937_64 rng(11);
    std::uniform_real_distribution<double> u(0, 1);
    const size_t batch = 100000;
    for (size_t start = 0; start < o.m; start += batch) {
      std::vector<RecordRow> rows;
      for (size_t i = start; i < std::min(o.m, start + batch); ++i) {
        RecordRow r;
        r.id = "s" + std::to_string(i);
        r.version = r.created = i + 1;
        r.embedding = {1.0f};
        std::string text;
        const size_t words = 6 + rng() % 10;
        for (size_t w = 0; w < words; ++w) text += (w ? " " : "") + Word(zipf.Next());
        for (const auto& [marker, share] : markers) {
          if (u(rng) < share) text += " " + marker;
        }
        r.document = std::move(text);
        rows.push_back(std::move(r));
      }
      docs.Apply(rows);
    }
  }
  size_t doc_bytes = 0;
  for (uint32_t i = 0; i < docs.capacity(); ++i) doc_bytes += docs.document(i)->size();
  auto b0 = Clock::now();
  const DocumentIndex& doc_index = docs.document_index();
  const double build = Seconds(b0, Clock::now());
  std::printf(
      "# part 2: %zu documents (%.1f MiB of text); trigram index built in %.2fs, %.1f "
      "MiB\n",
      docs.size(), double(doc_bytes) / (1 << 20), build,
      double(doc_index.MemoryBytes()) / (1 << 20));
  std::printf("%-12s %10s %12s %12s %8s\n", "selectivity", "matches", "index", "scan", "ratio");
  struct ContainsFigure {
    double share;
    size_t matches;
    double index_s, scan_s;
  };
  std::vector<ContainsFigure> contains;
  const int reps = o.smoke ? 3 : 5;
  for (const auto& [marker, share] : markers) {
    Where where{DocumentCondition{DocumentOp::kContains, marker, nullptr}};
    std::vector<double> ti, ts;
    size_t matches = 0, scanned_matches = 0;
    for (int r = 0; r < reps; ++r) {
      auto s0 = Clock::now();
      FilterPlanner planner(docs);
      OffsetBitmap got = planner.Evaluate(where);
      auto s1 = Clock::now();
      size_t n = 0;
      for (uint32_t i = 0; i < docs.capacity(); ++i) {
        const auto& d = docs.document(i);
        if (docs.IsLive(i) && Matches(where, nullptr, d ? &*d : nullptr)) ++n;
      }
      auto s2 = Clock::now();
      ti.push_back(Seconds(s0, s1));
      ts.push_back(Seconds(s1, s2));
      matches = got.size();
      scanned_matches = n;
    }
    if (matches != scanned_matches) {
      std::fprintf(stderr, "$contains %s: index %zu matches, scan %zu\n", marker.c_str(), matches,
                   scanned_matches);
      failed = true;
    }
    ContainsFigure c{share, matches, Percentile(ti, 0.5), Percentile(ts, 0.5)};
    contains.push_back(c);
    std::printf("%-12s %10zu %12s %12s %7.1fx\n", Fmt("%.1f %%", share * 100).c_str(), matches,
                Ms(c.index_s).c_str(), Ms(c.scan_s).c_str(), c.scan_s / c.index_s);
  }
  std::printf("# load average at end: %s\n", LoadAverage().c_str());

  std::filesystem::create_directories(std::filesystem::path(o.out).parent_path());
  std::ofstream out(o.out);
  out << "{\"n\":" << o.n << ",\"m\":" << o.m << ",\"dim\":" << o.dim
      << ",\"queries\":" << o.queries << ",\"load_average\":" << JsonStr(LoadAverage())
      << ",\"rank\":[";
  for (size_t f = 0; f < figures.size(); ++f) {
    const auto& g = figures[f];
    out << (f ? "," : "") << "{\"name\":" << JsonStr(g.name) << ",\"p50_s\":" << JsonNum(g.p50)
        << ",\"p99_s\":" << JsonNum(g.p99) << ",\"exact_p50_s\":" << JsonNum(g.exact_p50)
        << ",\"exact_p99_s\":" << JsonNum(g.exact_p99) << ",\"recall_at_10\":" << JsonNum(g.recall)
        << "}";
  }
  out << "],\"contains\":[";
  for (size_t i = 0; i < contains.size(); ++i) {
    const auto& c = contains[i];
    out << (i ? "," : "") << "{\"selectivity\":" << JsonNum(c.share) << ",\"matches\":" << c.matches
        << ",\"index_s\":" << JsonNum(c.index_s) << ",\"scan_s\":" << JsonNum(c.scan_s) << "}";
  }
  out << "],\"document_index_build_s\":" << JsonNum(build)
      << ",\"document_index_bytes\":" << doc_index.MemoryBytes() << "}\n";
  return failed ? 1 : 0;
}

}  // namespace
}  // namespace chromahouse::bench

int main(int argc, char** argv) { return chromahouse::bench::Main(argc, argv); }
