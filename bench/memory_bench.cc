// memory_bench: resident memory of a loaded collection against its payload (float32 vectors +
// HNSW graph links), and whether it stays put over evict / reload / re-index cycles.
//
// Target (memory item of the benchmark issue): after loading n × dim (1M × 128), the server's
// resident memory for the collection ≤ 1.25 × (n·dim·4 bytes of vectors + the graph's links),
// and no growth over repeated load/evict cycles (< 2 % from the first reload to the last).
//
// What runs (all in one process, linked with jemalloc exactly as build/chromahouse is, so
// malloc/new are jemalloc's with the server's default options):
//   1. Ingest: n generated vectors (bench/data.h, stream 0) go through a RecordService into a
//      MemoryStorage in batches of --batch (default 5461, the server's max_batch_size), as
//      `add` requests with ids and embeddings only (no documents, uris or metadata; --docs adds
//      a 15-character document). Ids are "r<i>" (fits std::string's inline buffer) or, with
//      --ids uuid, 36-character UUID strings (one heap block each). Two small "evictor"
//      collections (8 records) are written too. The writer service is then destroyed (its
//      cache, graph and threads go), jemalloc's unused pages are purged once, and the process
//      is measured: baseline B = storage (std::map of rows) + catalog + the process itself.
//   2. Load: a reader RecordService with a 1-byte cache budget opens the collection (the cache
//      loads it from storage, as the server does from ClickHouse) and its background indexer
//      builds the HNSW graph; GetIndexingStatus is polled until pending == 0, one query checks
//      the graph answers (a record's own vector finds it at distance 0), the process settles
//      (--settle-ms, default 12 s, longer than jemalloc's 10 s dirty-page decay, with a cheap
//      catalog read every 20 ms standing in for light traffic) and is measured.
//   3. Cycles (--cycles, default 5): evict — open an evictor collection; with the 1-byte budget
//      the cache drops the big one (the least recently used one no request holds), exactly the
//      path the server's LRU takes; retried until the cache reports only the evictor loaded —,
//      settle, measure; reload + re-index as in 2, settle, measure.
//   4. The reader is destroyed and the process measured again (should return to ≈ B).
//   5. Breakdown (skip with --no-breakdown): each part of a loaded collection is rebuilt on its
//      own from the same rows and measured as a jemalloc `stats.allocated` difference (the
//      RecordStore as a whole, replicas of its id → offset map and per-record columns, an
//      HnswIndex reserved for n nodes); the graph's upper-level blocks are computed exactly by
//      replaying the index's level generator (same seed, same draws) and sizing each block with
//      nallocx. The sum is set against the measured allocated difference of the real load.
//
// Measures at every checkpoint: VmRSS / RssAnon / VmHWM (/proc/self/status), LazyFree
// (/proc/self/smaps_rollup), jemalloc stats.allocated / active / resident / mapped / retained
// and dirty + muzzy pages, in total and per arena (after "epoch" and a tcache flush), minor page
// faults (getrusage) and the time of each phase. Eviction uses the cache budget because
// RecordService has no eviction call of its own (OnCollectionsDeleted also purges storage).
// Reported: loaded = VmRSS(after load) − B; ideal = n·dim·4 + links, links = n·(1 + 2M)·4
// (level 0) + 4 × upper-level slots (replayed levels: each node of level L ≥ 1 has L × (1 + M)
// slots); ratio = loaded / ideal (target ≤ 1.25); RSS after each reload and the growth from
// the first to the last (target < 2 % of the loaded collection).
//
// Build: cmake --build build --target memory_bench   (bench/CMakeLists.txt)
// Run:   nice build/memory_bench [--n 1000000] [--dim 128] [--cycles 5] [--batch 5461]
//                                [--ids short|uuid] [--docs] [--settle-ms 12000] [--purge]
//                                [--no-breakdown] [--out PATH] [--smoke]
// --purge: after each measurement, also purge jemalloc's unused pages (arena.<all>.purge) and
// read VmRSS again — the collection's resident memory without allocator-held free pages (this
// changes what later phases find: freed pages are no longer there to reuse).
// --smoke: n = 2000, 2 cycles, settle 100 ms, JSON to /tmp unless --out; exits non-zero when a
// load does not answer its check query, an eviction does not happen, or jemalloc is not the
// process's allocator (no memory targets: at 2,000 records fixed costs dominate).
#include <jemalloc/jemalloc.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "bench_util.h"
#include "collection/id_index.h"
#include "collection/record_store.h"
#include "collection/sparse_column.h"
#include "collection/vector_search.h"
#include "data.h"
#include "index/hnsw_index.h"
#include "service/catalog_service.h"
#include "service/record_service.h"
#include "storage/memory/memory_storage.h"

namespace chromahouse::bench {
namespace {

constexpr double kRatioTarget = 1.25;
constexpr double kGrowthTarget = 0.02;
constexpr size_t kEvictorRecords = 8;

struct Options {
  size_t n = 1000000;
  size_t dim = 128;
  size_t cycles = 5;
  size_t batch = 5461;
  bool uuid_ids = false;
  bool docs = false;
  size_t settle_ms = 12000;
  bool breakdown = true;
  bool purge = false;
  std::string out;
  bool smoke = false;
};

[[noreturn]] void Usage(const char* msg) {
  std::fprintf(stderr, "memory_bench: %s\nRun with --help for more information.\n", msg);
  std::exit(2);
}

Options Parse(int argc, char** argv) {
  Options o;
  std::string ids = "short";
  CLI::App app{
      "memory_bench: resident memory of a loaded collection against its payload, over "
      "evict / reload cycles",
      "memory_bench"};
  FlagDefaults(app);
  app.add_option("--n", o.n, "records ingested and loaded");
  app.add_option("--dim", o.dim, "vector dimension");
  app.add_option("--cycles", o.cycles, "evict / reload / re-index cycles");
  app.add_option("--batch", o.batch, "records per add request (the server's max_batch_size)");
  app.add_option("--ids", ids, "record ids: short (\"r<i>\") or uuid (36-character UUID strings)")
      ->check(CLI::IsMember({"short", "uuid"}));
  app.add_flag("--docs", o.docs, "add a 15-character document to every record");
  app.add_option("--settle-ms", o.settle_ms, "settling time before each measurement (ms)");
  app.add_flag("--purge", o.purge,
               "after each measurement also purge jemalloc's unused pages and read VmRSS again");
  app.add_flag_callback(
      "--no-breakdown", [&o] { o.breakdown = false; },
      "skip the breakdown of a loaded collection into its parts");
  app.add_option("--out", o.out,
                 "JSON results (default bench/results/memory_<n>.json; with --smoke, in /tmp)");
  app.add_flag("--smoke", o.smoke,
               "quick check: n = 2000, 2 cycles, settle 100 ms unless given; no memory targets");
  ParseFlags(app, argc, argv);
  o.uuid_ids = ids == "uuid";
  if (o.smoke) {
    if (!app.count("--n")) o.n = 2000;
    if (!app.count("--cycles")) o.cycles = 2;
    if (!app.count("--settle-ms")) o.settle_ms = 100;
  }
  if (o.n < 1 || o.dim < 1 || o.batch < 1 || o.cycles < 1) {
    Usage("n, dim, batch and cycles must be >= 1");
  }
  if (o.out.empty()) {
    o.out = o.smoke ? "/tmp/chromahouse-bench-cache/memory_smoke.json"
                    : "bench/results/memory_" + std::to_string(o.n) + ".json";
  }
  return o;
}

// ---- measuring ---------------------------------------------------------------------------

template <typename T>
T JeGet(const char* name) {
  T v{};
  size_t sz = sizeof(v);
  if (mallctl(name, &v, &sz, nullptr, 0) != 0) return T{};
  return v;
}

// Flushes this thread's cache of small blocks (which jemalloc counts as allocated) and
// refreshes the statistics.
void JeRefresh() {
  mallctl("thread.tcache.flush", nullptr, nullptr, nullptr, 0);
  uint64_t epoch = 1;
  size_t sz = sizeof(epoch);
  mallctl("epoch", &epoch, &sz, &epoch, sz);
}

size_t JeAllocated() {
  JeRefresh();
  return JeGet<size_t>("stats.allocated");
}

const std::string kAllArenas = "stats.arenas." + std::to_string(MALLCTL_ARENAS_ALL);

void JePurgeAll() {
  const std::string name = "arena." + std::to_string(MALLCTL_ARENAS_ALL) + ".purge";
  mallctl(name.c_str(), nullptr, nullptr, nullptr, 0);
}

struct Sample {
  std::string label;
  double seconds = 0;  // since start
  size_t vm_rss = 0, rss_anon = 0, vm_hwm = 0;
  size_t allocated = 0, active = 0, resident = 0, mapped = 0, retained = 0, metadata = 0;
  size_t dirty = 0, muzzy = 0;  // bytes in unused pages jemalloc still holds
  std::string dirty_by_arena;   // "arena:MiB" of the arenas holding > 1 MiB of dirty pages
  size_t lazy_free = 0;         // LazyFree (smaps_rollup): MADV_FREE'd pages still in VmRSS
  long minflt = 0;              // minor faults since start
  size_t vm_rss_purged = 0;     // --purge: VmRSS right after jemalloc purged its unused pages
};

long MinorFaults() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_minflt;
}

// VmRSS, RssAnon and VmHWM in bytes.
void ReadStatus(size_t* rss, size_t* anon, size_t* hwm) {
  std::ifstream in("/proc/self/status");
  std::string line;
  while (std::getline(in, line)) {
    auto field = [&](const char* key, size_t* out) {
      if (line.rfind(key, 0) == 0)
        *out = size_t(std::strtoull(line.c_str() + std::strlen(key), nullptr, 10)) * 1024;
    };
    field("VmRSS:", rss);
    field("RssAnon:", anon);
    field("VmHWM:", hwm);
  }
}

// LazyFree of /proc/self/smaps_rollup, in bytes (0 when unavailable).
size_t ReadLazyFree() {
  std::ifstream in("/proc/self/smaps_rollup");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("LazyFree:", 0) == 0)
      return size_t(std::strtoull(line.c_str() + 9, nullptr, 10)) * 1024;
  }
  return 0;
}

// Resets VmHWM to the current RSS (Linux ≥ 4.0); harmless when refused.
void ResetPeak() {
  std::ofstream out("/proc/self/clear_refs");
  out << "5";
}

Clock::time_point g_start;

Sample Measure(const std::string& label) {
  Sample s;
  s.label = label;
  s.seconds = Seconds(g_start, Clock::now());
  ReadStatus(&s.vm_rss, &s.rss_anon, &s.vm_hwm);
  JeRefresh();
  s.allocated = JeGet<size_t>("stats.allocated");
  s.active = JeGet<size_t>("stats.active");
  s.resident = JeGet<size_t>("stats.resident");
  s.mapped = JeGet<size_t>("stats.mapped");
  s.retained = JeGet<size_t>("stats.retained");
  s.metadata = JeGet<size_t>("stats.metadata");
  const size_t page = JeGet<size_t>("arenas.page");
  s.dirty = JeGet<size_t>((kAllArenas + ".pdirty").c_str()) * page;
  s.muzzy = JeGet<size_t>((kAllArenas + ".pmuzzy").c_str()) * page;
  const unsigned arenas = JeGet<unsigned>("arenas.narenas");
  for (unsigned i = 0; i < arenas; ++i) {
    const size_t d =
        JeGet<size_t>(("stats.arenas." + std::to_string(i) + ".pdirty").c_str()) * page;
    if (d > (size_t{1} << 20)) {
      if (!s.dirty_by_arena.empty()) s.dirty_by_arena += " ";
      s.dirty_by_arena += std::to_string(i) + ":" + Fmt("%.0f", double(d) / 1048576.0);
    }
  }
  s.lazy_free = ReadLazyFree();
  s.minflt = MinorFaults();
  return s;
}

// True when malloc is jemalloc's (its allocated counter sees a malloc).
bool JemallocIsMalloc() {
  static void* volatile sink;
  const size_t before = JeAllocated();
  sink = std::malloc(size_t{64} << 20);
  const size_t after = JeAllocated();
  std::free(sink);
  return after >= before + (size_t{64} << 20);
}

// libstdc++'s vector growth by one element at a time (VectorSearch's is_pending flags grow by
// resize(offset + 1)): capacity doubles from 1.
size_t GrownCapacity(size_t n) {
  size_t cap = 0;
  for (size_t size = 0; size < n; ++size) {
    if (size == cap) cap += std::max<size_t>(cap, 1);
  }
  return cap;
}

double MiB(double bytes) { return bytes / 1048576.0; }
std::string MiBs(double bytes) { return Fmt("%.1f", MiB(bytes)); }
std::string SignedMiBs(double bytes) { return Fmt("%+.1f", MiB(bytes)); }

// ---- data ----------------------------------------------------------------------------------

std::string IdOf(size_t i, bool uuid) {
  if (!uuid) return "r" + std::to_string(i);
  uint64_t s = 0xC0FFEEull + i;
  const uint64_t a = SplitMix64(s), b = SplitMix64(s);
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%08x-%04x-4%03x-%04x-%012llx", unsigned(a >> 32),
                unsigned((a >> 16) & 0xFFFF), unsigned(a & 0xFFF), unsigned(0x8000 | (b >> 50)),
                static_cast<unsigned long long>(b & 0xFFFFFFFFFFFFull));
  return buf;
}

std::string DocOf(size_t i) { return "document " + std::to_string(i); }

struct LoadRun {
  std::string label;
  double load_seconds = 0;   // the request that missed the cache (storage read + apply)
  double index_seconds = 0;  // background graph build, until pending == 0
  long load_faults = 0, index_faults = 0;
  size_t peak_rss = 0;     // VmHWM at the end of the load request (reset just before)
  size_t cache_bytes = 0;  // what the cache's budget accounting sees (RecordStore::MemoryBytes)
  int64_t indexed = 0;
  bool query_ok = false;
};

struct Breakdown {
  bool done = false;
  size_t rows = 0;                // storage.LoadRecords result (transient during a load)
  size_t store = 0;               // RecordStore after Apply(rows)
  size_t store_memory_bytes = 0;  // RecordStore::MemoryBytes() (the cache budget's figure)
  size_t matrix_alloc = 0, matrix_touched = 0;  // RecordStore's float matrix
  size_t id_map = 0, id_map_buckets = 0;        // replica of the id → offset map
  size_t columns = 0;      // replica of the per-offset columns (incl. heap id strings)
  size_t id_heap = 0;      // of which heap blocks of ids longer than the inline buffer
  size_t doc_heap = 0;     // documents too long for the inline buffer
  size_t order = 0;        // replica of the insertion-order vector
  size_t store_other = 0;  // store − the parts above
  size_t hnsw_fixed = 0;   // HnswIndex::Create + Reserve(n), measured
  size_t hnsw_vectors = 0, hnsw_links0 = 0, hnsw_node = 0;  // computed parts of hnsw_fixed
  size_t upper_slots = 0, upper_alloc = 0;                  // replayed levels
  size_t nodes_by_level[4] = {0, 0, 0, 0};                  // levels 0, 1, 2, >= 3
  size_t is_pending = 0;                                    // VectorSearch's per-offset flags
  size_t scratch = 0;  // search scratch: visited marks of the indexer and query threads
  size_t stride = 0;
  double store_touched = 0, hnsw_touched = 0;
};

std::string JsonSample(const Sample& s) {
  std::ostringstream o;
  o << "{\"label\": " << JsonStr(s.label) << ", \"seconds\": " << JsonNum(s.seconds)
    << ", \"vm_rss\": " << s.vm_rss << ", \"rss_anon\": " << s.rss_anon
    << ", \"vm_hwm\": " << s.vm_hwm << ", \"je_allocated\": " << s.allocated
    << ", \"je_active\": " << s.active << ", \"je_resident\": " << s.resident
    << ", \"je_mapped\": " << s.mapped << ", \"je_retained\": " << s.retained
    << ", \"je_metadata\": " << s.metadata << ", \"je_dirty\": " << s.dirty
    << ", \"je_muzzy\": " << s.muzzy << ", \"je_dirty_by_arena_mib\": " << JsonStr(s.dirty_by_arena)
    << ", \"lazy_free\": " << s.lazy_free << ", \"vm_rss_purged\": " << s.vm_rss_purged
    << ", \"minflt\": " << s.minflt << "}";
  return o.str();
}

int Main(int argc, char** argv) {
  g_start = Clock::now();
  const Options o = Parse(argc, argv);
  const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  const std::string load_start = LoadAverage();
  std::vector<Sample> samples;
  samples.push_back(Measure("start"));

  const bool jemalloc_ok = JemallocIsMalloc();
  const char* je_version = JeGet<const char*>("version");
  const ssize_t dirty_decay = JeGet<ssize_t>("opt.dirty_decay_ms");
  const ssize_t muzzy_decay = JeGet<ssize_t>("opt.muzzy_decay_ms");
  const size_t oversize = JeGet<size_t>("opt.oversize_threshold");
  const unsigned narenas = JeGet<unsigned>("opt.narenas");
  const bool background = JeGet<bool>("opt.background_thread");
  const bool retain = JeGet<bool>("opt.retain");
  const char* thp = JeGet<const char*>("opt.thp");
  std::printf(
      "# memory_bench: n=%zu dim=%zu cycles=%zu batch=%zu ids=%s docs=%s settle=%zums; "
      "load average at start: %s\n",
      o.n, o.dim, o.cycles, o.batch, o.uuid_ids ? "uuid" : "short", o.docs ? "yes" : "no",
      o.settle_ms, load_start.c_str());
  std::printf(
      "# jemalloc %s (malloc is jemalloc: %s): dirty_decay_ms=%zd muzzy_decay_ms=%zd "
      "oversize_threshold=%zu narenas=%u background_thread=%d retain=%d thp=%s\n",
      je_version ? je_version : "?", jemalloc_ok ? "yes" : "NO", dirty_decay, muzzy_decay, oversize,
      narenas, int(background), int(retain), thp ? thp : "?");
  std::fflush(stdout);
  if (!jemalloc_ok) {
    std::fprintf(stderr, "memory_bench: jemalloc is not the process's allocator\n");
    return 1;
  }

  MemoryStorage storage;
  VersionClock clock;
  CatalogService catalog(&storage, &clock);
  if (Status s = catalog.Initialize(); !s.ok()) {
    std::fprintf(stderr, "catalog: %s\n", s.ToString().c_str());
    return 1;
  }
  auto create = [&](const std::string& name) {
    CreateCollectionRequest req;
    req.name = name;
    auto c = catalog.CreateCollection("default_tenant", "default_database", req);
    if (!c.ok()) {
      std::fprintf(stderr, "create %s: %s\n", name.c_str(), c.status().ToString().c_str());
      std::exit(1);
    }
    return *c;
  };
  const Collection big = create("memory_bench");
  const std::vector<std::string> evictors = {create("evictor_a").id, create("evictor_b").id};
  const size_t M = size_t(big.configuration.hnsw.max_neighbors);
  const size_t ef_construction = size_t(big.configuration.hnsw.ef_construction);

  MixtureSpec spec;
  spec.dim = o.dim;
  if (o.smoke) spec.clusters = std::min<size_t>(spec.clusters, std::max<size_t>(1, o.n / 100));
  GaussianMixture mixture(spec);

  // A measurement; with --purge a second VmRSS right after jemalloc returned its unused pages.
  auto checkpoint = [&](const std::string& label) {
    Sample s = Measure(label);
    if (o.purge) {
      JePurgeAll();
      size_t anon = 0, hwm = 0;
      ReadStatus(&s.vm_rss_purged, &anon, &hwm);
    }
    samples.push_back(s);
  };
  auto settle = [&](size_t ms) {
    const auto end = Clock::now() + std::chrono::milliseconds(ms);
    while (Clock::now() < end) {
      (void)catalog.GetCollection(big.id);  // light traffic: a few allocations on this thread
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  };

  // 1. Ingest through a writer service, then drop it.
  double ingest_s = 0;
  size_t writer_cache_bytes = 0;
  {
    RecordService writer(&catalog, &storage, &clock);
    auto t0 = Clock::now();
    for (size_t start = 0; start < o.n; start += o.batch) {
      const size_t m = std::min(o.batch, o.n - start);
      RecordWriteRequest req;
      req.ids.resize(m);
      req.embeddings.emplace(m);
      if (o.docs) req.documents.emplace(m);
      GaussianMixture::ParallelFor(m, hw, [&](size_t j) {
        req.ids[j] = IdOf(start + j, o.uuid_ids);
        auto& e = (*req.embeddings)[j];
        e.emplace(o.dim);
        mixture.Sample(GaussianMixture::kDataStream, start + j, e->data());
        if (o.docs) (*req.documents)[j] = DocOf(start + j);
      });
      if (Status s = writer.Write(big.id, RecordWriteKind::kAdd, req); !s.ok()) {
        std::fprintf(stderr, "ingest at %zu: %s\n", start, s.ToString().c_str());
        return 1;
      }
    }
    ingest_s = Seconds(t0, Clock::now());
    for (size_t k = 0; k < evictors.size(); ++k) {
      RecordWriteRequest req;
      req.embeddings.emplace();
      for (size_t j = 0; j < kEvictorRecords; ++j) {
        req.ids.push_back("e" + std::to_string(j));
        std::vector<float> v(o.dim);
        mixture.Sample(GaussianMixture::kQueryStream, k * kEvictorRecords + j, v.data());
        req.embeddings->push_back(std::move(v));
      }
      if (Status s = writer.Write(evictors[k], RecordWriteKind::kAdd, req); !s.ok()) {
        std::fprintf(stderr, "evictor ingest: %s\n", s.ToString().c_str());
        return 1;
      }
    }
    writer_cache_bytes = writer.cache_stats().bytes;
  }
  std::printf("# ingest through RecordService: %.2fs, %.0f records/s (writer destroyed)\n",
              ingest_s, double(o.n) / ingest_s);
  std::fflush(stdout);
  samples.push_back(Measure("after ingest, writer destroyed"));
  JePurgeAll();  // the writer's garbage is not part of the baseline
  settle(o.settle_ms);
  checkpoint("B: storage only (purged once)");
  const Sample base = samples.back();

  // 2.–3. A reader service with a 1-byte budget: opening another collection evicts this one.
  auto reader = std::make_unique<RecordService>(&catalog, &storage, &clock, /*budget=*/1);
  reader->SetIndexerThreads(0);  // one per core, as the server
  const size_t probe = o.n / 2;
  std::vector<float> probe_vec(o.dim);
  mixture.Sample(GaussianMixture::kDataStream, probe, probe_vec.data());
  const std::string probe_id = IdOf(probe, o.uuid_ids);
  const auto poll = std::chrono::milliseconds(o.smoke ? 2 : 50);
  std::vector<LoadRun> loads;
  bool all_ok = true;

  auto load_big = [&](const std::string& label) {
    LoadRun run;
    run.label = label;
    ResetPeak();
    const long f0 = MinorFaults();
    auto t0 = Clock::now();
    auto st = reader->GetIndexingStatus(big.id);  // cache miss: loads from storage
    auto t1 = Clock::now();
    const long f1 = MinorFaults();
    size_t rss = 0, anon = 0;
    ReadStatus(&rss, &anon, &run.peak_rss);
    run.load_seconds = Seconds(t0, t1);
    run.load_faults = f1 - f0;
    while (st.ok() && st->pending > 0) {
      std::this_thread::sleep_for(poll);
      st = reader->GetIndexingStatus(big.id);
    }
    if (!st.ok()) {
      std::fprintf(stderr, "indexing status: %s\n", st.status().ToString().c_str());
      std::exit(1);
    }
    run.index_seconds = Seconds(t1, Clock::now());
    run.index_faults = MinorFaults() - f1;
    run.indexed = st->indexed;
    {
      QueryRequest q;
      q.query_embeddings = {probe_vec};
      q.n_results = 1;
      q.include.fields = {IncludeField::kDistances};
      auto r = reader->Query(big.id, q);  // holds the collection until the scope ends
      run.query_ok = r.ok() && r->per_query.size() == 1 && r->per_query[0].size() == 1 &&
                     r->per_query[0][0].id == probe_id && r->per_query[0][0].distance <= 1e-6f;
    }
    run.cache_bytes = reader->cache_stats().bytes;
    if (!run.query_ok) {
      std::fprintf(stderr, "memory_bench: %s: the check query did not find %s\n", label.c_str(),
                   probe_id.c_str());
      all_ok = false;
    }
    std::printf(
        "# %s: load %.2fs (%ld minor faults, peak RSS %s MiB), graph %.2fs "
        "(%ld faults, %lld indexed)\n",
        label.c_str(), run.load_seconds, run.load_faults, MiBs(run.peak_rss).c_str(),
        run.index_seconds, run.index_faults, static_cast<long long>(run.indexed));
    std::fflush(stdout);
    loads.push_back(run);
    settle(o.settle_ms);
    checkpoint(label);
  };

  size_t evictor_turn = 0;
  int evict_retries = 0;
  auto evict_big = [&](const std::string& label) {
    const int64_t before = reader->cache_stats().evictions;
    for (int attempt = 0;; ++attempt) {
      auto st = reader->GetIndexingStatus(evictors[evictor_turn++ % evictors.size()]);
      if (!st.ok()) {
        std::fprintf(stderr, "evictor: %s\n", st.status().ToString().c_str());
        std::exit(1);
      }
      auto cs = reader->cache_stats();
      if (cs.collections == 1 && cs.evictions > before) break;
      // The indexer may still hold the collection for a moment after pending reached 0.
      if (attempt >= 500) {
        std::fprintf(stderr, "memory_bench: %s: the collection was never evicted\n", label.c_str());
        all_ok = false;
        break;
      }
      ++evict_retries;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    settle(o.settle_ms);
    checkpoint(label);
  };

  load_big("loaded (first load + graph)");
  const Sample loaded = samples.back();
  std::vector<Sample> evicted, reloaded;
  for (size_t c = 1; c <= o.cycles; ++c) {
    evict_big("cycle " + std::to_string(c) + ": evicted");
    evicted.push_back(samples.back());
    load_big("cycle " + std::to_string(c) + ": reloaded + graph");
    reloaded.push_back(samples.back());
  }
  // The arena jemalloc reserves for allocations >= oversize_threshold (created on first use,
  // index opt.narenas) and its decay times.
  const unsigned huge_arena = narenas;
  const ssize_t huge_dirty_decay =
      JeGet<ssize_t>(("arena." + std::to_string(huge_arena) + ".dirty_decay_ms").c_str());
  const ssize_t huge_muzzy_decay =
      JeGet<ssize_t>(("arena." + std::to_string(huge_arena) + ".muzzy_decay_ms").c_str());
  std::printf("# arena %u (allocations >= %zu bytes): dirty_decay_ms=%zd muzzy_decay_ms=%zd\n",
              huge_arena, oversize, huge_dirty_decay, huge_muzzy_decay);
  const CollectionCache::Stats reader_stats = reader->cache_stats();
  reader.reset();
  settle(o.settle_ms);
  checkpoint("reader destroyed");

  // 5. Breakdown: the parts of a loaded collection, rebuilt one by one.
  Breakdown b;
  const bool graph = o.n >= VectorSearch::kIndexMinRecords;
  if (o.breakdown) {
    b.done = true;
    auto rows_or = storage.LoadRecords(big.id);
    size_t a0 = JeAllocated();
    {
      auto tmp = storage.LoadRecords(big.id);
      b.rows = JeAllocated() - a0;
    }
    std::vector<RecordRow> rows = std::move(rows_or).value();
    std::sort(rows.begin(), rows.end(),
              [](const RecordRow& x, const RecordRow& y) { return x.created < y.created; });
    {
      a0 = JeAllocated();
      auto store = std::make_unique<RecordStore>(Metric::kL2);
      { auto changes = store->Apply(rows); }
      b.store = JeAllocated() - a0;
      b.store_memory_bytes = store->MemoryBytes();
    }
    // A load reserves the store for the counted rows (Storage::CountRecordRows).
    b.matrix_alloc = nallocx(o.n * o.dim * sizeof(float), MALLOCX_ALIGN(64));
    b.matrix_touched = o.n * o.dim * sizeof(float);
    {
      a0 = JeAllocated();
      IdIndex map;  // as RecordStore's (keyed by the id column, which is counted apart)
      for (size_t i = 0; i < rows.size(); ++i) map.Insert(rows[i].id, uint32_t(i));
      b.id_map = JeAllocated() - a0;
      b.id_map_buckets = map.MemoryBytes() / sizeof(uint64_t);
    }
    {
      a0 = JeAllocated();
      std::vector<std::string> ids;
      SparseColumn<std::string> documents, uris;
      SparseColumn<Metadata> metadatas;
      std::vector<uint64_t> versions, created;
      std::vector<uint8_t> live;
      ids.reserve(rows.size());
      documents.Reserve(rows.size());
      uris.Reserve(rows.size());
      metadatas.Reserve(rows.size());
      versions.reserve(rows.size());
      created.reserve(rows.size());
      live.reserve(rows.size());
      for (size_t i = 0; i < rows.size(); ++i) {
        ids.emplace_back();
        documents.AppendEmpty();
        uris.AppendEmpty();
        metadatas.AppendEmpty();
        versions.push_back(0);
        created.push_back(0);
        live.push_back(0);
        ids[i] = rows[i].id;
        documents.Set(static_cast<uint32_t>(i), rows[i].document);
        if (ids[i].size() > 15) b.id_heap += nallocx(ids[i].size() + 1, 0);
        if (rows[i].document && rows[i].document->size() > 15) {
          b.doc_heap += nallocx(rows[i].document->size() + 1, 0);
        }
      }
      b.columns = JeAllocated() - a0;
    }
    {
      a0 = JeAllocated();
      std::vector<std::pair<uint64_t, uint32_t>> order;
      for (size_t i = 0; i < rows.size(); ++i) order.emplace_back(rows[i].created, uint32_t(i));
      b.order = JeAllocated() - a0;
    }
    const size_t parts = b.matrix_alloc + b.id_map + b.columns + b.order;
    b.store_other = b.store > parts ? b.store - parts : 0;
    rows.clear();
    rows.shrink_to_fit();
    if (graph) {
      HnswParams p;
      p.dim = o.dim;
      p.metric = Metric::kL2;
      p.max_neighbors = M;
      p.ef_construction = ef_construction;
      p.external_vectors = true;  // as VectorSearch builds l2 graphs: over the store's matrix
      b.stride = (o.dim + 15) / 16 * 16;
      a0 = JeAllocated();
      {
        auto index = HnswIndex::Create(p);
        if (index.ok()) (*index)->Reserve(o.n);
        b.hnsw_fixed = JeAllocated() - a0;
      }
      b.hnsw_vectors = 0;  // no copy of the vectors (external_vectors)
      b.hnsw_links0 = nallocx(o.n * (1 + 2 * M) * sizeof(uint32_t), 0);
      b.hnsw_node = nallocx(o.n * sizeof(void*), 0) + 2 * nallocx(o.n, 0);
      // Replay HnswIndex::RandomLevel: mt19937_64(seed), level = ⌊−ln(1 − U) / ln M⌋.
      std::mt19937_64 rng(p.seed);
      std::uniform_real_distribution<double> uniform(0.0, 1.0);
      const double mult = 1.0 / std::log(double(M));
      for (size_t i = 0; i < o.n; ++i) {
        const double r = 1.0 - uniform(rng);
        const int level = int(std::min(-std::log(r) * mult, 16.0));
        ++b.nodes_by_level[std::min(level, 3)];
        if (level > 0) {
          const size_t slots = size_t(level) * (M + 1);
          b.upper_slots += slots;
          b.upper_alloc += nallocx(slots * sizeof(uint32_t), 0);
        }
      }
      b.is_pending = nallocx(GrownCapacity(o.n), 0);
      b.scratch = 2 * nallocx(o.n * sizeof(uint16_t), 0);  // indexer thread + query thread
    }
  }

  // ---- results ------------------------------------------------------------------------------
  const double vectors_bytes = double(o.n) * double(o.dim) * 4.0;
  // Graph links: level 0 = (1 + 2M) uint32 per node; upper levels from the replayed levels
  // (or their expectation, n / (M − 1) levels of (1 + M) slots, without the breakdown).
  double upper_links = 0;
  if (graph) {
    upper_links =
        b.done ? double(b.upper_slots) * 4.0 : double(o.n) / double(M - 1) * double(M + 1) * 4.0;
  }
  const double links0 = graph ? double(o.n) * double(1 + 2 * M) * 4.0 : 0.0;
  const double ideal = vectors_bytes + links0 + upper_links;
  const double loaded_rss = double(loaded.vm_rss) - double(base.vm_rss);
  const double loaded_live = (double(loaded.vm_rss) - double(loaded.dirty + loaded.muzzy)) -
                             (double(base.vm_rss) - double(base.dirty + base.muzzy));
  const double loaded_alloc = double(loaded.allocated) - double(base.allocated);
  const double ratio = loaded_rss / ideal;
  const double ratio_live = loaded_live / ideal;
  const double loaded_purged = double(loaded.vm_rss_purged) - double(base.vm_rss_purged);
  const double ratio_purged = loaded_purged / ideal;
  const double r_first = double(reloaded.front().vm_rss);
  const double r_last = double(reloaded.back().vm_rss);
  double r_max = 0;
  for (const Sample& s : reloaded) r_max = std::max(r_max, double(s.vm_rss));
  const double growth = r_last - r_first;
  const double growth_frac = growth / (r_first - double(base.vm_rss));
  const double growth_max_frac = (r_max - r_first) / (r_first - double(base.vm_rss));
  const double evicted_last = double(evicted.back().vm_rss) - double(base.vm_rss);
  const bool ratio_pass = ratio <= kRatioTarget;
  const bool growth_pass = growth_frac < kGrowthTarget;

  std::printf(
      "\n| checkpoint | VmRSS MiB | − B MiB | jemalloc allocated MiB | jemalloc resident "
      "MiB | dirty + muzzy MiB (arena:MiB) | LazyFree MiB | VmRSS after purge MiB | minor faults "
      "since previous | t (s) |\n"
      "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  long prev_flt = 0;
  for (const Sample& s : samples) {
    std::printf("| %s | %s | %s | %s | %s | %s%s | %s | %s | %ld | %.1f |\n", s.label.c_str(),
                MiBs(s.vm_rss).c_str(), SignedMiBs(double(s.vm_rss) - double(base.vm_rss)).c_str(),
                MiBs(s.allocated).c_str(), MiBs(s.resident).c_str(),
                MiBs(s.dirty + s.muzzy).c_str(),
                s.dirty_by_arena.empty() ? "" : (" (" + s.dirty_by_arena + ")").c_str(),
                MiBs(s.lazy_free).c_str(), s.vm_rss_purged ? MiBs(s.vm_rss_purged).c_str() : "",
                s.minflt - prev_flt, s.seconds);
    prev_flt = s.minflt;
  }

  std::printf(
      "\n| load | storage read + apply | minor faults | peak VmHWM MiB | graph build | "
      "faults during build | cache budget sees MiB |\n|---|---:|---:|---:|---:|---:|---:|\n");
  for (const LoadRun& r : loads) {
    std::printf("| %s | %.2f s | %ld | %s | %.1f s | %ld | %s |\n", r.label.c_str(), r.load_seconds,
                r.load_faults, MiBs(r.peak_rss).c_str(), r.index_seconds, r.index_faults,
                MiBs(r.cache_bytes).c_str());
  }

  std::printf("\n| measure | value | target | verdict |\n|---|---:|---|---|\n");
  std::printf("| loaded collection: VmRSS after load − B | %s MiB (%.0f B/record) | | |\n",
              MiBs(loaded_rss).c_str(), loaded_rss / double(o.n));
  std::printf("| same, less jemalloc's unused dirty/muzzy pages | %s MiB (%.0f B/record) | | |\n",
              MiBs(loaded_live).c_str(), loaded_live / double(o.n));
  std::printf("| same, jemalloc stats.allocated difference | %s MiB (%.0f B/record) | | |\n",
              MiBs(loaded_alloc).c_str(), loaded_alloc / double(o.n));
  std::printf(
      "| ideal: vectors %s + level-0 links %s + upper links %s | %s MiB (%.0f B/record) | | |\n",
      MiBs(vectors_bytes).c_str(), MiBs(links0).c_str(), MiBs(upper_links).c_str(),
      MiBs(ideal).c_str(), ideal / double(o.n));
  std::printf("| ratio loaded / ideal | %.3f | ≤ %.2f | %s |\n", ratio, kRatioTarget,
              ratio_pass ? "PASS" : "MISS");
  std::printf("| ratio without allocator dirty pages | %.3f | | |\n", ratio_live);
  if (o.purge) {
    std::printf(
        "| loaded collection, both VmRSS right after a jemalloc purge | %s MiB (%.0f "
        "B/record), ratio %.3f | | |\n",
        MiBs(loaded_purged).c_str(), loaded_purged / double(o.n), ratio_purged);
  }
  std::printf("| VmRSS after reload 1 / %zu (max) | %s / %s (%s) MiB | | |\n", o.cycles,
              MiBs(r_first).c_str(), MiBs(r_last).c_str(), MiBs(r_max).c_str());
  std::printf(
      "| growth reload 1 → %zu, of the loaded collection | %s MiB, %+.2f %% (max %+.2f %%) | "
      "< %.0f %% | %s |\n",
      o.cycles, SignedMiBs(growth).c_str(), growth_frac * 100, growth_max_frac * 100,
      kGrowthTarget * 100, growth_pass ? "PASS" : "MISS");
  std::printf("| VmRSS after the last eviction − B | %s MiB | | |\n",
              SignedMiBs(evicted_last).c_str());
  std::printf(
      "| cache budget accounting of the loaded collection (RecordStore::MemoryBytes) | "
      "%s MiB | | |\n",
      MiBs(loads.front().cache_bytes).c_str());

  if (b.done) {
    const double n = double(o.n);
    // allocated: what jemalloc hands out (size classes, vector capacity); touched: the bytes
    // written (a block's untouched tail costs address space, not resident pages, unless it
    // reuses pages that were resident already).
    auto row = [&](const char* what, double alloc, double touched, const std::string& how) {
      const std::string t = touched < 0 ? "| " : MiBs(touched) + " | " + Fmt("%.1f", touched / n);
      std::printf("| %s | %s | %.1f | %s | %s |\n", what, MiBs(alloc).c_str(), alloc / n, t.c_str(),
                  how.c_str());
    };
    // Without documents, uris and metadata: a 4-byte slot each (collection/sparse_column.h).
    const double column_bytes =
        double(sizeof(std::string) + 3 * sizeof(uint32_t) + 2 * sizeof(uint64_t) + 1);
    std::printf(
        "\n| part of a loaded collection | MiB allocated | B/record | MiB touched | "
        "B/record | how |\n|---|---:|---:|---:|---:|---|\n");
    row("RecordStore: float32 matrix", double(b.matrix_alloc), double(b.matrix_touched),
        "computed: reserved for the counted rows; n × dim × 4 touched");
    row("RecordStore: per-offset columns (id string, document, uri, metadata, 2 versions, live)",
        double(b.columns), n * column_bytes + double(b.id_heap + b.doc_heap),
        Fmt("replica, measured; sizeof %.0f B per record + heap strings", column_bytes));
    row("  of which heap blocks of ids > 15 chars", double(b.id_heap), double(b.id_heap),
        "nallocx");
    row("  of which heap blocks of documents > 15 chars", double(b.doc_heap), double(b.doc_heap),
        "nallocx");
    row("RecordStore: insertion order (created, offset)", double(b.order), n * 16,
        "replica, measured");
    row("RecordStore: id → offset index (open addressing)", double(b.id_map), double(b.id_map),
        "replica, measured; " + std::to_string(b.id_map_buckets) + " slots");
    row("RecordStore: rest (metadata index, free list, …)", double(b.store_other), -1,
        "store − parts");
    const double store_touched = double(b.matrix_touched) + n * column_bytes +
                                 double(b.id_heap + b.doc_heap) + n * 16 + double(b.id_map);
    row("RecordStore total", double(b.store), store_touched, "measured (Apply of the loaded rows)");
    double hnsw_touched = 0;
    if (graph) {
      const double vec_t = 0,  // none: the graph reads the store's matrix (external_vectors)
          links_t = n * double(1 + 2 * M) * 4, node_t = n * (sizeof(void*) + 2);
      hnsw_touched = vec_t + links_t + node_t + double(b.upper_alloc) + n + n * 2 * 2;
      row("HnswIndex: vector copy", double(b.hnsw_vectors), vec_t,
          "none for l2 and ip: the graph reads the store's matrix");
      row("HnswIndex: level-0 links", double(b.hnsw_links0), links_t,
          "computed: (1 + 2M) × 4 per node");
      row("HnswIndex: upper-level blocks", double(b.upper_alloc), double(b.upper_alloc),
          "replayed levels, nallocx; " + std::to_string(b.upper_slots) +
              " slots, nodes at level 1/2/≥3: " + std::to_string(b.nodes_by_level[1]) + "/" +
              std::to_string(b.nodes_by_level[2]) + "/" + std::to_string(b.nodes_by_level[3]));
      row("HnswIndex: per node pointer + state + level", double(b.hnsw_node), node_t, "computed");
      row("HnswIndex fixed arrays (Create + Reserve(n))", double(b.hnsw_fixed), -1,
          "measured (the three computed rows above but the upper blocks)");
      row("VectorSearch: is_pending flags", double(b.is_pending), n, "computed");
      row("search scratch (visited marks, 2 threads)", double(b.scratch), n * 4, "computed");
    }
    const double sum = double(b.store + b.hnsw_fixed + b.upper_alloc + b.is_pending + b.scratch);
    row("sum of parts", sum, store_touched + hnsw_touched, "");
    row("measured: jemalloc allocated after load − B", loaded_alloc, -1, "");
    row("measured: VmRSS after load − B", loaded_rss, -1, "");
    if (o.purge) row("measured: VmRSS after load − B, both purged", loaded_purged, -1, "");
    row("storage.LoadRecords result (for comparison: loads stream batches of 4,096)",
        double(b.rows), -1, "measured");
    b.store_touched = store_touched;
    b.hnsw_touched = hnsw_touched;
  }
  std::printf(
      "\n# writer cache accounting at the end of ingest: %s MiB; reader: %lld misses, "
      "%lld evictions, %d eviction retries\n",
      MiBs(writer_cache_bytes).c_str(), static_cast<long long>(reader_stats.misses),
      static_cast<long long>(reader_stats.evictions), evict_retries);

  // JSON.
  std::ostringstream j;
  j << "{\n  \"benchmark\": \"memory\",\n";
  j << "  \"params\": {\"n\": " << o.n << ", \"dim\": " << o.dim << ", \"cycles\": " << o.cycles
    << ", \"batch\": " << o.batch << ", \"ids\": " << JsonStr(o.uuid_ids ? "uuid" : "short")
    << ", \"documents\": " << (o.docs ? "true" : "false") << ", \"metric\": \"l2\", \"M\": " << M
    << ", \"ef_construction\": " << ef_construction << ", \"clusters\": " << spec.clusters
    << ", \"settle_ms\": " << o.settle_ms << ", \"purge\": " << (o.purge ? "true" : "false")
    << ", \"cache_budget_bytes\": 1"
    << ", \"smoke\": " << (o.smoke ? "true" : "false") << "},\n";
  j << "  \"jemalloc\": {\"version\": " << JsonStr(je_version ? je_version : "")
    << ", \"is_malloc\": " << (jemalloc_ok ? "true" : "false")
    << ", \"dirty_decay_ms\": " << dirty_decay << ", \"muzzy_decay_ms\": " << muzzy_decay
    << ", \"oversize_threshold\": " << oversize << ", \"narenas\": " << narenas
    << ", \"background_thread\": " << (background ? "true" : "false")
    << ", \"huge_arena\": " << huge_arena << ", \"huge_arena_dirty_decay_ms\": " << huge_dirty_decay
    << ", \"huge_arena_muzzy_decay_ms\": " << huge_muzzy_decay
    << ", \"retain\": " << (retain ? "true" : "false") << ", \"thp\": " << JsonStr(thp ? thp : "")
    << "},\n";
  j << "  \"clock\": \"wall\", \"load_average\": {\"start\": " << JsonStr(load_start)
    << ", \"end\": " << JsonStr(LoadAverage()) << "},\n";
  j << "  \"ingest_seconds\": " << JsonNum(ingest_s) << ",\n";
  j << "  \"checkpoints\": [\n";
  for (size_t i = 0; i < samples.size(); ++i) {
    j << "    " << JsonSample(samples[i]) << (i + 1 < samples.size() ? ",\n" : "\n");
  }
  j << "  ],\n  \"loads\": [\n";
  for (size_t i = 0; i < loads.size(); ++i) {
    const LoadRun& r = loads[i];
    j << "    {\"label\": " << JsonStr(r.label) << ", \"load_seconds\": " << JsonNum(r.load_seconds)
      << ", \"load_minor_faults\": " << r.load_faults << ", \"peak_vm_hwm\": " << r.peak_rss
      << ", \"index_seconds\": " << JsonNum(r.index_seconds)
      << ", \"index_minor_faults\": " << r.index_faults << ", \"indexed\": " << r.indexed
      << ", \"cache_accounted_bytes\": " << r.cache_bytes
      << ", \"query_ok\": " << (r.query_ok ? "true" : "false") << "}"
      << (i + 1 < loads.size() ? ",\n" : "\n");
  }
  j << "  ],\n";
  j << "  \"result\": {\"baseline_vm_rss\": " << base.vm_rss
    << ", \"loaded_rss_bytes\": " << JsonNum(loaded_rss)
    << ", \"loaded_rss_less_dirty_bytes\": " << JsonNum(loaded_live)
    << ", \"loaded_allocated_bytes\": " << JsonNum(loaded_alloc)
    << ", \"ideal_bytes\": " << JsonNum(ideal)
    << ", \"ideal_vectors_bytes\": " << JsonNum(vectors_bytes)
    << ", \"ideal_links0_bytes\": " << JsonNum(links0)
    << ", \"ideal_upper_links_bytes\": " << JsonNum(upper_links)
    << ", \"ratio\": " << JsonNum(ratio) << ", \"ratio_less_dirty\": " << JsonNum(ratio_live)
    << ", \"loaded_rss_purged_bytes\": " << (o.purge ? JsonNum(loaded_purged) : "null")
    << ", \"ratio_purged\": " << (o.purge ? JsonNum(ratio_purged) : "null")
    << ", \"ratio_target\": " << kRatioTarget
    << ", \"ratio_verdict\": " << JsonStr(ratio_pass ? "PASS" : "MISS")
    << ", \"reloaded_vm_rss\": [";
  for (size_t i = 0; i < reloaded.size(); ++i) j << (i ? ", " : "") << reloaded[i].vm_rss;
  j << "], \"evicted_vm_rss\": [";
  for (size_t i = 0; i < evicted.size(); ++i) j << (i ? ", " : "") << evicted[i].vm_rss;
  j << "], \"growth_bytes\": " << JsonNum(growth)
    << ", \"growth_fraction_of_loaded\": " << JsonNum(growth_frac)
    << ", \"growth_max_fraction_of_loaded\": " << JsonNum(growth_max_frac)
    << ", \"growth_target\": " << kGrowthTarget
    << ", \"growth_verdict\": " << JsonStr(growth_pass ? "PASS" : "MISS")
    << ", \"evicted_last_minus_baseline_bytes\": " << JsonNum(evicted_last)
    << ", \"evictions\": " << reader_stats.evictions << ", \"eviction_retries\": " << evict_retries
    << "},\n";
  j << "  \"breakdown\": ";
  if (!b.done) {
    j << "null\n";
  } else {
    j << "{\"load_records_transient\": " << b.rows << ", \"record_store\": " << b.store
      << ", \"record_store_memory_bytes\": " << b.store_memory_bytes
      << ", \"matrix_allocated\": " << b.matrix_alloc
      << ", \"matrix_touched\": " << b.matrix_touched << ", \"columns\": " << b.columns
      << ", \"id_heap\": " << b.id_heap << ", \"document_heap\": " << b.doc_heap
      << ", \"insertion_order\": " << b.order << ", \"id_map\": " << b.id_map
      << ", \"id_map_buckets\": " << b.id_map_buckets << ", \"store_other\": " << b.store_other
      << ", \"hnsw_fixed\": " << b.hnsw_fixed << ", \"hnsw_vectors\": " << b.hnsw_vectors
      << ", \"hnsw_stride\": " << b.stride << ", \"hnsw_links0\": " << b.hnsw_links0
      << ", \"hnsw_node_arrays\": " << b.hnsw_node << ", \"hnsw_upper_slots\": " << b.upper_slots
      << ", \"hnsw_upper_allocated\": " << b.upper_alloc << ", \"is_pending\": " << b.is_pending
      << ", \"scratch\": " << b.scratch << ", \"store_touched\": " << JsonNum(b.store_touched)
      << ", \"hnsw_touched\": " << JsonNum(b.hnsw_touched) << "}\n";
  }
  j << "}\n";
  {
    std::error_code ec;
    std::filesystem::path p(o.out);
    if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), ec);
    std::ofstream out(o.out, std::ios::trunc);
    out << j.str();
    if (!out) {
      std::fprintf(stderr, "memory_bench: cannot write %s\n", o.out.c_str());
      return 1;
    }
  }
  std::printf("# load average at end: %s; wrote %s\n", LoadAverage().c_str(), o.out.c_str());
  if (!all_ok) return 1;
  if (reader_stats.evictions < int64_t(o.cycles)) {
    std::fprintf(stderr, "memory_bench: %lld evictions < %zu cycles\n",
                 static_cast<long long>(reader_stats.evictions), o.cycles);
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace chromahouse::bench

int main(int argc, char** argv) { return chromahouse::bench::Main(argc, argv); }
