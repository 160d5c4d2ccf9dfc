// VectorSearch: nearest-neighbour search over a collection's records — an HNSW graph plus an
// exact scan of the records not yet in the graph — and the planner that picks brute force or
// the graph.
//
// Writes never wait for the graph: OnApplied() only marks changed offsets pending (and removes
// stale nodes); IndexSome() moves pending offsets into the graph in small steps from a
// background thread. A query searches the graph (with an allow-predicate when filtered) and
// scans the pending tail exactly, so every acknowledged record is visible at once. The final
// distances are recomputed exactly from the stored vectors, whichever path found them.
//
// Planner: brute force over the allowed offsets when there is no graph yet, when the allowed
// set is small (≤ brute_force_max records, or an exact scan of at most brute_force_max_floats
// floats — about 20k records at 128 dimensions, ~0.25 ms) or a small fraction of the
// collection (< 1/20); otherwise the graph with an allow-predicate, which slows down as the
// filter gets selective (bench/filtered_bench.cc measured a 10 % filter at 3.8× the unfiltered
// graph search, while an exact scan of 10k × 128 takes about 0.13 ms). Each query reports the
// path it took.
//
// Thread safety: the caller holds the collection's data lock (shared for Search and
// IndexSome, exclusive for OnApplied); `mu_` additionally serialises graph changes against
// searches. Lock order: data lock → mu_.
#pragma once

#include <atomic>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "collection/record_store.h"
#include "common/mutex.h"
#include "index/hnsw_index.h"

namespace chromahouse {

enum class SearchPath { kNone, kBruteForce, kHnsw };

// The planner's thresholds (see the design note above).
struct PlannerOptions {
  size_t brute_force_max = 2048;                        // records
  size_t brute_force_max_floats = size_t{20000} * 128;  // allowed records × dimension
};

class VectorSearch {
 public:
  // Collections below this size are searched exactly and get no graph.
  static constexpr size_t kIndexMinRecords = 1024;
  // The graph reads the store's matrix (no copy of the vectors) except for cosine, whose graph
  // keeps normalised copies.
  explicit VectorSearch(HnswParams params, PlannerOptions planner = {})
      : params_(params), planner_(planner) {
    params_.external_vectors = params_.metric != Metric::kCosine;
  }

  // After RecordStore::Apply: `changes` are (offset, live now). Data lock held exclusively.
  void OnApplied(const RecordStore& store, const std::vector<std::pair<uint32_t, bool>>& changes);
  // Inserts up to `max_inserts` pending offsets into the graph, new ones with `threads` threads
  // (HnswIndex::AddBatch). Data lock held shared. Returns true while more work is pending.
  bool IndexSome(const RecordStore& store, size_t max_inserts, int threads = 1,
                 const HnswIndex::ParallelRunner* runner = nullptr);
  // One step of the background indexer: while many records wait (a load without a snapshot, a
  // large ingest), kBulkStep of them with `threads` threads; otherwise kStep on one thread, so
  // that searches (which wait for a step) are never held up for long. Same return value.
  static constexpr size_t kStep = 32;
  static constexpr size_t kBulkStep = 512;
  static constexpr size_t kBulkPending = 4096;
  bool IndexStep(const RecordStore& store, int threads,
                 const HnswIndex::ParallelRunner* runner = nullptr);
  bool HasPending() const;

  // Marks a request waiting for a lock that an indexing step holds (the collection's data lock
  // for a write, this object's lock for a search) for its lifetime: single-thread steps end
  // after the record in progress instead of finishing their kStep records, so an acknowledged
  // write or a query waits for one graph insert (~0.1–0.2 ms), not a whole step; bulk steps
  // (kBulkStep on several threads) end after HnswIndex::kMinBeforeStop inserts at the least.
  class Waiting {
   public:
    explicit Waiting(const VectorSearch& s) : s_(s) { s_.waiters_.fetch_add(1); }
    ~Waiting() { s_.waiters_.fetch_sub(1); }
    Waiting(const Waiting&) = delete;
    Waiting& operator=(const Waiting&) = delete;

   private:
    const VectorSearch& s_;
  };

  // The k nearest among `allowed` (live offsets; nullptr = every live record), sorted by
  // distance.
  std::vector<Neighbor> Search(const RecordStore& store, const float* query, size_t k,
                               const OffsetBitmap* allowed, size_t ef, SearchPath* path) const;
  std::vector<Neighbor> Search(const RecordStore& store, const float* query, size_t k,
                               std::nullptr_t, size_t ef, SearchPath* path) const {
    return Search(store, query, k, static_cast<const OffsetBitmap*>(nullptr), ef, path);
  }
  // The same for a list of offsets (tests and benchmarks).
  std::vector<Neighbor> Search(const RecordStore& store, const float* query, size_t k,
                               const std::vector<uint32_t>* allowed, size_t ef,
                               SearchPath* path) const {
    if (!allowed) return Search(store, query, k, nullptr, ef, path);
    const OffsetBitmap bitmap = OffsetBitmap::FromOffsets(*allowed);
    return Search(store, query, k, &bitmap, ef, path);
  }

  // Snapshots (collection/index_snapshot.h). The graph's snapshot covering `watermark`, or
  // nothing while there is no graph or records are still waiting for it. Data lock held shared.
  std::optional<std::string> Snapshot(const RecordStore& store, uint64_t watermark) const;
  // Adopts a snapshot as the graph of a collection that has none yet (just loaded): records it
  // lacks or holds with another vector become pending. On an error (corrupt, other parameters)
  // nothing changes and the caller goes on as without a snapshot. Data lock held exclusively.
  struct Adopted {
    size_t reused = 0, changed = 0, dropped = 0, pending = 0;
    uint64_t watermark = 0;
  };
  Result<Adopted> AdoptSnapshot(const RecordStore& store, std::string_view payload);

  size_t indexed() const;
  size_t pending() const;
  // Bytes of the graph (with its copy of the vectors) and the pending list.
  size_t MemoryBytes() const;

 private:
  void MarkPendingLocked(uint32_t offset) REQUIRES(mu_);

  HnswParams params_;
  PlannerOptions planner_;
  mutable SharedMutex mu_;
  mutable std::atomic<int> waiters_{0};               // see Waiting
  std::unique_ptr<HnswIndex> index_ GUARDED_BY(mu_);  // created at kIndexMinRecords records
  std::vector<uint32_t> pending_ GUARDED_BY(mu_);     // may hold stale entries
  std::vector<uint8_t> is_pending_ GUARDED_BY(mu_);   // per offset
  // Written under mu_ (exclusive); also read without it by HasPending and pending, which must
  // not wait for an indexing step (every request asks HasPending).
  std::atomic<size_t> pending_count_{0};
  std::atomic<bool> has_index_{false};
  // Records whose vector the graph refuses (HnswIndex's ValidateVector: a squared norm beyond
  // float32): never in the graph, so every search scans them exactly. Guarded by mu_; `refused_`
  // may hold stale entries (flag cleared when the record changes).
  std::vector<uint32_t> refused_ GUARDED_BY(mu_);
  std::vector<uint8_t> is_refused_ GUARDED_BY(mu_);
  size_t refused_count_ GUARDED_BY(mu_) = 0;
};

}  // namespace chromahouse
