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
// set is small (≤ kBruteForceMax) or a small fraction of the collection (< 1/20), otherwise the
// graph. Each query reports the path it took.
//
// Thread safety: the caller holds the collection's data lock (shared for Search and
// IndexSome, exclusive for OnApplied); `mu_` additionally serialises graph changes against
// searches. Lock order: data lock → mu_.
#pragma once

#include <atomic>
#include <memory>
#include <shared_mutex>
#include <vector>

#include "collection/record_store.h"
#include "index/hnsw_index.h"

namespace chromahouse {

enum class SearchPath { kNone, kBruteForce, kHnsw };

class VectorSearch {
 public:
  // Collections below this size are searched exactly and get no graph.
  static constexpr size_t kIndexMinRecords = 1024;
  static constexpr size_t kBruteForceMax = 2048;

  explicit VectorSearch(HnswParams params) : params_(params) {}

  // After RecordStore::Apply: `changes` are (offset, live now). Data lock held exclusively.
  void OnApplied(const RecordStore& store, const std::vector<std::pair<uint32_t, bool>>& changes);
  // Inserts up to `max_inserts` pending offsets into the graph. Data lock held shared.
  // Returns true while more work is pending.
  bool IndexSome(const RecordStore& store, size_t max_inserts);
  bool HasPending() const;

  // The k nearest among `allowed` (nullptr = every live record), sorted by distance.
  std::vector<Neighbor> Search(const RecordStore& store, const float* query, size_t k,
                               const std::vector<uint32_t>* allowed, size_t ef,
                               SearchPath* path) const;

  size_t indexed() const;
  size_t pending() const;

 private:
  void MarkPendingLocked(uint32_t offset);

  HnswParams params_;
  mutable std::shared_mutex mu_;
  std::unique_ptr<HnswIndex> index_;  // guarded by mu_; created at kIndexMinRecords records
  std::vector<uint32_t> pending_;     // guarded by mu_; may hold stale entries
  std::vector<uint8_t> is_pending_;   // guarded by mu_; per offset
  size_t pending_count_ = 0;          // guarded by mu_
};

}  // namespace chromahouse
