// CollectionCache: the collections whose records are in memory.
//
// A miss loads the collection's records from Storage in one read; concurrent misses on the
// same collection share that load. Each LoadedCollection carries its locks:
//   queue_mu   guards the group-commit queue of writers;
//   writer_mu  serialises commits to the collection (held across the storage write and the
//              apply, so ClickHouse order equals memory order);
//   data_mu    readers take it shared; applying a write takes it exclusively (short).
// Lock order: cache mutex (never held across I/O) → queue_mu (never held across I/O) →
// writer_mu → data_mu.
// A load also looks for the collection's newest index snapshot (collection/index_snapshot.h), read
// while the rows stream in, and adopts it as the graph when it fits; otherwise the graph is
// built in the background as for new writes.
// Memory: each entry's size is measured after its load and after each write; past the budget
// the least recently used collections not in use by any request are dropped (they reload from
// Storage on their next use).
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>

#include "collection/record_store.h"
#include "collection/vector_search.h"
#include "common/status.h"
#include "core/record_requests.h"
#include "storage/storage.h"

namespace chromahouse {

// A write waiting in a collection's group-commit queue (see service/record_service.cc).
struct PendingWrite {
  RecordWriteKind kind;
  const RecordWriteRequest* request;
  size_t request_dim;  // the request's embedding dimension, 0 when it carries none
  Status status;
  bool done = false;           // guarded by the collection's queue_mu
  std::condition_variable cv;  // waits on queue_mu
};

struct LoadedCollection {
  LoadedCollection(std::string collection_id, const HnswParams& params)
      : id(std::move(collection_id)), store(params.metric), search(params) {}
  const std::string id;
  std::mutex writer_mu;
  std::shared_mutex data_mu;
  RecordStore store;    // guarded by data_mu
  VectorSearch search;  // see vector_search.h for its locking
  // Group commit: writers queue here; the one at the front commits everything queued behind
  // it in one storage write.
  std::mutex queue_mu;
  std::deque<PendingWrite*> queue;  // guarded by queue_mu
  // Freshness across instances (see RecordService::Refresh): the highest version read from
  // storage, when storage was last read (steady milliseconds), and when a request last used
  // the collection. One refresh at a time.
  std::atomic<uint64_t> watermark{0};
  std::atomic<int64_t> refreshed_ms{0};
  std::atomic<int64_t> used_ms{0};
  std::atomic<int64_t> full_scan_ms{0};  // when every (id, version) was last compared
  // Writes announced by other instances (RecordService::OnAnnouncedWrite): how many were
  // announced, and how many of them the last refresh started after. Stale while the first is
  // larger. (A count, not the highest version: writes commit out of version order, so a
  // lower version can arrive after a higher one was read.)
  std::atomic<uint64_t> announced{0};
  std::atomic<uint64_t> announced_served{0};
  bool HasAnnouncement() const { return announced.load() > announced_served.load(); }
  std::mutex refresh_mu;
  // Versions known to be stored above the refresh window: what the last full read of the window
  // returned plus what this instance wrote since (RecordService::Refresh compares a summary of
  // them with storage's and reads nothing more while they agree). Writers append after their
  // storage write; refreshes sort and prune (under refresh_mu).
  std::mutex window_mu;
  std::vector<uint64_t> window_versions;  // guarded by window_mu
  std::atomic<bool> window_known{false};  // set by the first full read of the window
  void NoteStored(const std::vector<RecordRow>& rows) {
    if (!window_known.load()) return;  // nothing to compare with yet (or no refreshes at all)
    std::lock_guard lock(window_mu);
    for (const auto& r : rows) window_versions.push_back(r.version);
  }
  // Index snapshots: the newest snapshot this instance adopted or wrote, and the records changed
  // (or never in a snapshot) since.
  std::atomic<uint64_t> snapshot_id{0};
  std::atomic<uint64_t> changes_since_snapshot{0};
  std::atomic<int64_t> snapshot_retry_ms{0};  // no new attempt before (steady ms) after a failure
};

class CollectionCache {
 public:
  // `budget_bytes` bounds the memory of loaded collections (0 = no bound): past it, the least
  // recently used collections that no request is using are evicted.
  CollectionCache(Storage* storage, size_t budget_bytes)
      : storage_(storage), budget_bytes_(budget_bytes) {}

  // The loaded collection, loading it on a miss. Thread-safe.
  // `params` (metric, M, ef_construction) shape the collection's vector index.
  Result<std::shared_ptr<LoadedCollection>> Get(const std::string& collection_id,
                                                const HnswParams& params);
  // The loaded collection if it is in memory (no load), else nullptr.
  std::shared_ptr<LoadedCollection> Find(const std::string& collection_id);
  // Every collection currently loaded (those being loaded right now are skipped).
  std::vector<std::shared_ptr<LoadedCollection>> Loaded();
  // Forgets a collection (deleted, or reset).
  void Drop(const std::string& collection_id);
  void Clear();
  size_t size();
  // Re-measures `collection_id` after a write and evicts if over budget.
  void Touch(const std::string& collection_id);

  // The bytes each loaded collection was last measured at, by id.
  std::map<std::string, size_t> Sizes();

  struct Stats {
    size_t collections = 0;
    size_t bytes = 0;
    int64_t hits = 0;
    int64_t misses = 0;
    int64_t evictions = 0;
    int64_t snapshots_adopted = 0;  // loads that took their graph from an index snapshot
    int64_t snapshots_refused = 0;  // loads whose snapshot was unusable (graph rebuilt)
  };
  Stats stats();

 private:
  struct Entry {
    std::mutex load_mu;
    std::shared_ptr<LoadedCollection> value;  // guarded by load_mu
    // Guarded by the cache's mu_:
    uint64_t last_used = 0;
    size_t bytes = 0;
  };
  void EvictLocked(const std::string& keep);
  // Adopts `snapshot` (read for `loaded`) as its graph; false when there is none or it is refused.
  bool AdoptSnapshot(LoadedCollection& loaded, const IndexSnapshotInfo& info,
                     std::string_view payload, int64_t read_ms);

  Storage* storage_;
  const size_t budget_bytes_;
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<Entry>> entries_;  // guarded by mu_
  uint64_t tick_ = 0;                                      // guarded by mu_
  Stats stats_;                                            // guarded by mu_
};

}  // namespace chromahouse
