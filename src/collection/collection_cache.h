// CollectionCache: the collections whose records are in memory.
//
// A miss loads the collection's records from Storage in one read; concurrent misses on the
// same collection share that load. Each LoadedCollection carries its own locks
// (collection/loaded_collection.h); the cache's mutex is never held across I/O nor while one
// of a collection's locks is taken.
// A load also looks for the collection's newest index snapshot (collection/index_snapshot.h), read
// while the rows stream in, and adopts it as the graph when it fits; otherwise the graph is
// built in the background as for new writes.
// Memory: each entry's size is measured after its load and after each write; past the budget
// the least recently used collections not in use by any request are dropped (they reload from
// Storage on their next use).
#pragma once

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "collection/loaded_collection.h"
#include "common/mutex.h"
#include "common/status.h"
#include "storage/storage.h"

namespace chromahouse {

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
    Mutex load_mu;  // one load at a time
    std::shared_ptr<LoadedCollection> value GUARDED_BY(load_mu);
    // Guarded by the cache's mu_ (not expressible on a nested struct's members):
    uint64_t last_used = 0;
    size_t bytes = 0;
  };
  void EvictLocked(const std::string& keep) REQUIRES(mu_);
  // A miss: reads the collection's rows (and its newest index snapshot, at the same time).
  Result<std::shared_ptr<LoadedCollection>> Load(const std::string& collection_id,
                                                 const HnswParams& params);
  struct SnapshotRead {
    Status status;
    std::optional<IndexSnapshotInfo> info;
    std::string payload;
    int64_t read_ms = 0;  // finding and reading it
  };
  SnapshotRead ReadNewestSnapshot(const std::string& collection_id);
  // The graph of a collection just read: adopted from `snap` when it fits, else built by the
  // background indexer from scratch.
  void SetUpGraph(LoadedCollection& loaded, const SnapshotRead& snap) REQUIRES(loaded.data_mu_);
  // Adopts `snapshot` (read for `loaded`) as its graph; false when there is none or it is refused.
  bool AdoptSnapshot(LoadedCollection& loaded, const IndexSnapshotInfo& info,
                     std::string_view payload, int64_t read_ms) REQUIRES(loaded.data_mu_);

  Storage* storage_;
  const size_t budget_bytes_;
  Mutex mu_;
  std::map<std::string, std::shared_ptr<Entry>> entries_ GUARDED_BY(mu_);
  uint64_t tick_ GUARDED_BY(mu_) = 0;
  Stats stats_ GUARDED_BY(mu_);
};

}  // namespace chromahouse
