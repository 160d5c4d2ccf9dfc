// warmup_bench: time from "collection not cached" to "first query answered" and to "graph
// complete", with and without an index snapshot, next to a plain ClickHouse read of the same rows
// (the baseline, measured in the same run).
//
// What runs (one process, ClickHouse as the server uses it: the embedded clickhouse-server in a
// temporary directory, or --clickhouse-url):
//   1. n generated vectors (bench/data.h, stream 0; ids "r<i>", no documents or metadata) are
//      written to a fresh database through ClickHouseStorage::WriteRecords in batches of 20,000.
//   2. Baseline: `SELECT <every record column> … FORMAT RowBinary` of the collection, streamed and
//      discarded (run once before, untimed, so that every later read finds the same page cache).
//   3. Without a snapshot: a CollectionCache loads the collection (what the server does on a
//      miss: rows streamed and parsed, newest version per id, the RecordStore filled); one query
//      is answered (all records wait for the graph, so it is an exact scan); then the graph is
//      built as the server's background indexer builds it (VectorSearch::IndexStep: --threads
//      threads, default one per core, while many records wait).
//   4. The graph's snapshot is encoded and written (RecordService does this after indexing).
//   5. With the snapshot: a new cache loads the collection again; the snapshot is read while the
//      rows stream in and adopted; one query is answered by the graph; nothing is left to index.
//   6. A fork: the rows and the snapshot copied inside ClickHouse (Storage::CopyRecords,
//      CopyIndexSnapshot, as POST …/fork does), then the fork warmed up as in 5.
//   Recall@10 at ef 100 of --queries held-out queries (stream 1) against exact ground truth is
//   reported for the rebuilt and the adopted graph (they must agree: the same graph).
//
// Build: cmake --build build --target warmup_bench   (bench/CMakeLists.txt)
// Run:   nice build/warmup_bench [--n 1000000] [--dim 128] [--queries 100] [--threads 0]
//                                [--clickhouse-url URL] [--out PATH] [--smoke]
// --smoke: n = 20,000, dim 32, 50 queries (a flag after it still counts); exits non-zero unless
// the snapshot is adopted with every node and both graphs answer alike (no timing targets).
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "collection/collection_cache.h"
#include "collection/index_snapshot.h"
#include "common/log.h"
#include "common/worker_pool.h"
#include "data.h"
#include "server/embedded_clickhouse.h"
#include "storage/clickhouse/clickhouse_storage.h"

using namespace chromahouse;
using namespace chromahouse::bench;

namespace {

struct Options {
  size_t n = 1000000;
  size_t dim = 128;
  size_t queries = 100;
  int threads = 0;  // the indexer's bulk threads, as --indexer-threads (0 = one per core)
  std::string clickhouse_url;
  std::string out;
  bool smoke = false;
};

[[noreturn]] void Usage(const char* error) {
  std::fprintf(stderr, "warmup_bench: %s\nRun with --help for more information.\n", error);
  std::exit(2);
}

Options Parse(int argc, char** argv) {
  Options o;
  CLI::App app{
      "warmup_bench: warm-up of a collection from ClickHouse with and without an index "
      "snapshot, against a plain SELECT of the same rows",
      "warmup_bench"};
  FlagDefaults(app);
  // Applied in command-line order: --smoke sets n, dim and queries, a later flag sets them again.
  app.add_option("--n", o.n, "records written and loaded")->trigger_on_parse();
  app.add_option("--dim", o.dim, "vector dimension")->trigger_on_parse();
  app.add_option("--queries", o.queries, "held-out queries for recall@10")->trigger_on_parse();
  app.add_option("--threads", o.threads, "the indexer's threads (0 = one per core)");
  app.add_option("--clickhouse-url", o.clickhouse_url,
                 "use this ClickHouse instead of an embedded clickhouse-server");
  app.add_option("--out", o.out, "also write the results to this JSON file");
  app.add_flag_callback(
         "--smoke",
         [&o] {
           o.smoke = true;
           o.n = 20000;
           o.dim = 32;
           o.queries = 50;
         },
         "quick check: n = 20,000, dim 32, 50 queries; fails unless the snapshot "
         "is adopted")
      ->trigger_on_parse();
  ParseFlags(app, argc, argv);
  if (o.threads == 0)
    o.threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (o.n < VectorSearch::kIndexMinRecords || o.dim == 0 || o.queries == 0) {
    Usage("need --n >= 1024, --dim >= 1, --queries >= 1");
  }
  return o;
}

void Check(const Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "warmup_bench: %s: %s\n", what, s.ToString().c_str());
    std::exit(1);
  }
}

struct LoadTimes {
  double load = 0;         // cache miss → collection in memory (rows, and the snapshot if any)
  double first_query = 0;  // … → first query answered
  double graph = 0;        // … → nothing left to index
  SearchPath first_path = SearchPath::kNone;
  size_t pending_at_first = 0;  // records the first query scanned exactly (not in the graph yet)
  double recall = 0;            // recall@10 of the held-out queries once the graph is complete
  size_t indexed = 0;
  std::vector<std::vector<std::string>> answers;  // ids per query
};

// Loads `collection` through a fresh cache and times the warm-up; the cache is returned so that
// the caller decides when its memory goes.
std::unique_ptr<CollectionCache> WarmUp(ClickHouseStorage& storage, const std::string& collection,
                                        const HnswParams& params, const std::vector<float>& queries,
                                        const std::vector<uint32_t>& truth, size_t dim, int threads,
                                        LoadTimes* t) {
  auto cache = std::make_unique<CollectionCache>(&storage, 0);
  const auto start = Clock::now();
  auto got = cache->Get(collection, params);
  Check(got.status(), "load");
  std::shared_ptr<LoadedCollection> loaded = *got;
  t->load = Seconds(start, Clock::now());
  {
    LoadedCollection::ReadLock data(*loaded);
    loaded->search().Search(loaded->store(), queries.data(), 10, nullptr, params.ef_search,
                            &t->first_path);
    t->pending_at_first = loaded->search().pending();
  }
  t->first_query = Seconds(start, Clock::now());
  // The server's background indexer (service/background_indexer.h) with its helper threads.
  WorkerPool pool(threads - 1);
  const HnswIndex::ParallelRunner runner = [&pool](int n, const std::function<void()>& work) {
    pool.Run(n, work);
  };
  while (loaded->IndexStep(threads, &runner)) {
  }
  t->graph = Seconds(start, Clock::now());
  t->indexed = loaded->search().indexed();
  const size_t nq = queries.size() / dim;
  size_t hits = 0;
  LoadedCollection::ReadLock data(*loaded);
  for (size_t q = 0; q < nq; ++q) {
    SearchPath path;
    auto found = loaded->search().Search(loaded->store(), queries.data() + q * dim, 10, nullptr,
                                         params.ef_search, &path);
    std::vector<std::string> ids;
    for (const Neighbor& nb : found) {
      const std::string& id = loaded->store().id(nb.second);
      ids.push_back(id);
      const uint32_t index = static_cast<uint32_t>(std::stoul(id.substr(1)));
      hits += std::count(truth.begin() + q * 10, truth.begin() + (q + 1) * 10, index);
    }
    t->answers.push_back(std::move(ids));
  }
  t->recall = double(hits) / double(nq * 10);
  return cache;
}

}  // namespace

int main(int argc, char** argv) {
  const Options o = Parse(argc, argv);
  SetLogLevel(o.smoke ? "warning" : "info");
  const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  std::printf("# warmup_bench: %zu x %zu (l2), %zu queries; load average at start: %s\n", o.n,
              o.dim, o.queries, LoadAverage().c_str());

  // ClickHouse.
  std::unique_ptr<EmbeddedClickHouse> embedded;
  std::string dir;
  std::string url = o.clickhouse_url;
  if (url.empty()) {
    char tmpl[] = "/tmp/chromahouse-warmup-XXXXXX";
    dir = mkdtemp(tmpl);
    EmbeddedClickHouseOptions eo;
    eo.data_dir = dir;
    embedded = std::make_unique<EmbeddedClickHouse>(eo);
    Check(embedded->Start(), "starting clickhouse-server");
    url = embedded->url();
  }
  CurlTransportOptions to;
  to.url = url;
  const std::string database = "warmup_bench_" + std::to_string(getpid());
  ClickHouseStorage storage(std::make_unique<CurlTransport>(to), database);
  Check(storage.Initialize(), "schema");
  auto described = storage.Describe();
  std::printf("# %s\n", described.ok() ? described->c_str() : "ClickHouse");

  // Data, ground truth, rows.
  MixtureSpec spec;
  spec.dim = o.dim;
  GaussianMixture mixture(spec);
  const std::vector<float> data = mixture.Generate(GaussianMixture::kDataStream, o.n, hw);
  const std::vector<float> queries = mixture.Generate(GaussianMixture::kQueryStream, o.queries, hw);
  bool cached = false;
  const std::vector<uint32_t> truth =
      CachedGroundTruth(Metric::kL2, data, queries, o.dim, 10, hw, &cached, nullptr);
  const std::string collection = "warmup-collection";
  auto t0 = Clock::now();
  for (size_t first = 0; first < o.n; first += 20000) {
    std::vector<RecordRow> rows;
    for (size_t i = first; i < std::min(o.n, first + 20000); ++i) {
      RecordRow r;
      r.id = "r" + std::to_string(i);
      r.version = r.created = i + 1;
      r.embedding.assign(data.begin() + i * o.dim, data.begin() + (i + 1) * o.dim);
      rows.push_back(std::move(r));
    }
    Check(storage.WriteRecords(collection, rows), "insert");
  }
  const double insert_s = Seconds(t0, Clock::now());
  std::printf("# inserted %zu rows in %.2f s (%.0f rows/s)\n", o.n, insert_s,
              double(o.n) / insert_s);

  // Baseline: a plain read of the same rows.
  CurlTransport raw(to);
  // Streamed as ClickHouse produces it (the raw read), and held by ClickHouse until the query ends
  // (wait_end_of_query, as the server's loader reads rows: a failure can never look like a
  // shorter collection).
  auto plain_read = [&](bool streamed) {
    size_t bytes = 0;
    Check(raw.ExecuteStreaming(
              "bench read",
              "SELECT id, ver, created, deleted, embedding, document, uri, "
              "metadata FROM " +
                  database + ".records WHERE collection = '" + collection + "' FORMAT RowBinary",
              [&](std::string_view chunk) {
                bytes += chunk.size();
                return Status::Ok();
              },
              0, streamed),
          "plain read");
    return bytes;
  };
  plain_read(true);  // page cache
  t0 = Clock::now();
  const size_t plain_bytes = plain_read(true);
  const double plain_s = Seconds(t0, Clock::now());
  t0 = Clock::now();
  plain_read(false);
  const double buffered_s = Seconds(t0, Clock::now());
  std::printf("# plain SELECT: %.1f MiB in %.2f s streamed, %.2f s buffered\n",
              double(plain_bytes) / 1048576.0, plain_s, buffered_s);
  std::fflush(stdout);

  HnswParams params;
  params.metric = Metric::kL2;
  LoadTimes cold;
  double encode_s = 0, write_s = 0;
  size_t snapshot_bytes = 0;
  {
    auto cache = WarmUp(storage, collection, params, queries, truth, o.dim, o.threads, &cold);
    std::printf("# without a snapshot: loaded %.2f s, first query %.2f s, graph %.2f s\n",
                cold.load, cold.first_query, cold.graph);
    std::fflush(stdout);
    std::shared_ptr<LoadedCollection> loaded = cache->Find(collection);
    std::optional<std::string> payload;
    t0 = Clock::now();
    {
      LoadedCollection::ReadLock data(*loaded);
      payload = loaded->search().Snapshot(loaded->store(), loaded->refresh.watermark.load());
    }
    encode_s = Seconds(t0, Clock::now());
    if (!payload) Check(Status::Internal("no snapshot to write"), "snapshot");
    snapshot_bytes = payload->size();
    IndexSnapshotInfo info;
    info.id = 1;
    info.format = kIndexSnapshotFormat;
    info.watermark = loaded->refresh.watermark.load();
    info.records = loaded->search().indexed();
    info.bytes = payload->size();
    t0 = Clock::now();
    Check(storage.WriteIndexSnapshot(collection, info, *payload), "snapshot write");
    write_s = Seconds(t0, Clock::now());
    t0 = Clock::now();
    auto found = storage.FindIndexSnapshot(collection);
    Check(found.status(), "find snapshot");
    const auto t1 = Clock::now();
    auto read = storage.ReadIndexSnapshot(collection, **found);
    Check(read.status(), "read snapshot");
    std::printf("# snapshot alone: found in %.3f s, read in %.3f s\n", Seconds(t0, t1),
                Seconds(t1, Clock::now()));
  }
  LoadTimes warm;
  { auto cache = WarmUp(storage, collection, params, queries, truth, o.dim, o.threads, &warm); }
  // 6. A fork of the collection (CatalogService::ForkCollection's storage steps: its rows and its
  // snapshot copied inside ClickHouse), then the fork's warm-up as another instance would do it.
  const std::string fork_collection = "warmup-fork";
  t0 = Clock::now();
  Check(storage.CopyRecords(collection, fork_collection), "fork: copy records");
  const double copy_s = Seconds(t0, Clock::now());
  auto snapshot_copied = storage.CopyIndexSnapshot(collection, fork_collection);
  Check(snapshot_copied.status(), "fork: copy snapshot");
  const double fork_s = Seconds(t0, Clock::now());
  LoadTimes forked;
  {
    auto cache =
        WarmUp(storage, fork_collection, params, queries, truth, o.dim, o.threads, &forked);
  }
  const auto stats_ok = warm.first_path == SearchPath::kHnsw && warm.pending_at_first == 0 &&
                        warm.indexed == o.n && warm.answers == cold.answers && *snapshot_copied &&
                        forked.first_path == SearchPath::kHnsw && forked.pending_at_first == 0 &&
                        forked.indexed == o.n && forked.answers == cold.answers;

  auto row = [&](const char* what, double s) {
    std::printf("%-44s %9.2f %10.2fx\n", what, s, s / plain_s);
  };
  std::printf("\n%-44s %9s %11s\n", "step (from cache miss)", "seconds", "vs SELECT");
  row("plain SELECT of the rows (RowBinary)", plain_s);
  row("  the same, held until the query ends", buffered_s);
  row("no snapshot: rows loaded", cold.load);
  row("no snapshot: first query answered", cold.first_query);
  row(("no snapshot: graph complete (" + std::to_string(o.threads) + " threads)").c_str(),
      cold.graph);
  row("snapshot: rows + snapshot loaded", warm.load);
  row("snapshot: first query answered", warm.first_query);
  row("snapshot: graph complete", warm.graph);
  row("fork: rows copied in ClickHouse", copy_s);
  row("fork: rows + snapshot copied", fork_s);
  row("fork: first query on the fork (from the fork)", fork_s + forked.first_query);
  row("fork: its graph complete (from the fork)", fork_s + forked.graph);
  std::printf("snapshot: %.1f MiB (%.1f B/record), encoded %.2f s, written %.2f s\n",
              double(snapshot_bytes) / 1048576.0, double(snapshot_bytes) / double(o.n), encode_s,
              write_s);
  std::printf(
      "graph complete with a snapshot: %.1fx sooner; records the first query scanned "
      "exactly: %zu without, %zu with\n",
      cold.graph / warm.graph, cold.pending_at_first, warm.pending_at_first);
  std::printf("recall@10 (ef 100): rebuilt %.3f, adopted %.3f; same answers: %s\n", cold.recall,
              warm.recall, warm.answers == cold.answers ? "yes" : "NO");

  if (!o.out.empty()) {
    std::string j = "{\n  \"bench\": \"warmup\", \"n\": " + std::to_string(o.n) +
                    ", \"dim\": " + std::to_string(o.dim) + ",\n";
    j += "  \"plain_select_s\": " + JsonNum(plain_s) +
         ", \"plain_select_buffered_s\": " + JsonNum(buffered_s) +
         ", \"plain_select_bytes\": " + std::to_string(plain_bytes) + ",\n";
    auto times = [&](const char* name, const LoadTimes& t) {
      return std::string("  \"") + name + "\": {\"load_s\": " + JsonNum(t.load) +
             ", \"first_query_s\": " + JsonNum(t.first_query) +
             ", \"graph_s\": " + JsonNum(t.graph) + ", \"recall_at_10\": " + JsonNum(t.recall) +
             "},\n";
    };
    j += times("without_snapshot", cold);
    j += times("with_snapshot", warm);
    j += times("fork_warm_up", forked);
    j += "  \"fork_copy_rows_s\": " + JsonNum(copy_s) + ", \"fork_copy_s\": " + JsonNum(fork_s) +
         ",\n";
    j += "  \"snapshot_bytes\": " + std::to_string(snapshot_bytes) +
         ", \"encode_s\": " + JsonNum(encode_s) + ", \"write_s\": " + JsonNum(write_s) +
         ", \"insert_s\": " + JsonNum(insert_s) +
         ",\n  \"same_answers\": " + (warm.answers == cold.answers ? "true" : "false") +
         ", \"load_average\": " + JsonStr(LoadAverage()) + "\n}\n";
    std::FILE* f = std::fopen(o.out.c_str(), "w");
    if (f) {
      std::fputs(j.c_str(), f);
      std::fclose(f);
    }
  }
  (void)raw.Execute("drop", "DROP DATABASE IF EXISTS " + database);
  if (embedded) embedded->Stop();
  if (!dir.empty()) std::filesystem::remove_all(dir);
  if (!stats_ok) {
    std::fprintf(stderr,
                 "warmup_bench: the snapshot was not adopted as it should be "
                 "(path %d, indexed %zu of %zu, same answers %d; the fork: snapshot "
                 "copied %d, path %d, indexed %zu, same answers %d)\n",
                 int(warm.first_path), warm.indexed, o.n, int(warm.answers == cold.answers),
                 int(*snapshot_copied), int(forked.first_path), forked.indexed,
                 int(forked.answers == cold.answers));
    return 1;
  }
  return 0;
}
