// RecordService: Chroma's record semantics (API.md §3) on top of the catalog, the collection
// cache and Storage. It composes one class per job and keeps the read path itself:
//   record_rules.h            the request checks and what one write makes of a record (pure);
//   group_commit.h            add/update/upsert through the per-collection group commit;
//   record_committer.h        rows made durable (storage) and visible (memory, indexer, news);
//   collection_refresher.h    freshness across instances (polled or announced refreshes);
//   background_indexer.h      the graph catching up with writes, in steps;
//   index_snapshot_writer.h   when a graph is saved as an index snapshot;
//   record_purger.h           deleted collections' rows removed in the background.
// Reads: the collection's read lock (collection/loaded_collection.h) → the `where`/
// `where_document` filter (collection/filter_planner.h: the metadata and document indexes,
// records checked one by one where they cannot answer) → nearest neighbours as the
// collection's planner chooses (HNSW graph, filtered graph walk or an exact scan; records not
// yet in the graph are scanned exactly) → project `include`. Results carry a CollectionRead:
// the views stay valid while the response is encoded.
//
// Thread safety: all methods are thread-safe.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "collection/collection_cache.h"
#include "collection/loaded_collection.h"
#include "common/clock.h"
#include "core/record_requests.h"
#include "core/search.h"
#include "service/background_indexer.h"
#include "service/catalog_service.h"
#include "service/collection_refresher.h"
#include "service/group_commit.h"
#include "service/index_snapshot_writer.h"
#include "service/own_writes.h"
#include "service/record_committer.h"
#include "service/record_purger.h"
#include "storage/storage.h"

namespace chromahouse {

struct GetResult {
  CollectionRead read;
  std::vector<RecordView> records;
};

struct SearchResult {
  CollectionRead read;
  std::vector<std::vector<RecordView>> per_search;  // `distance` holds the score
};

struct QueryResult {
  CollectionRead read;
  std::vector<std::vector<RecordView>> per_query;
};

class RecordService {
 public:
  // `cache_budget_bytes` bounds the memory of loaded collections (0 = unbounded).
  RecordService(CatalogService* catalog, Storage* storage, VersionClock* clock,
                size_t cache_budget_bytes = 0);
  ~RecordService();

  Status Write(const std::string& collection_id, RecordWriteKind kind,
               const RecordWriteRequest& request);
  Result<int64_t> Delete(const std::string& collection_id, const DeleteRequest& request);
  Result<GetResult> Get(const std::string& collection_id, const GetRequest& request);
  Result<QueryResult> Query(const std::string& collection_id, const QueryRequest& request);
  Result<int64_t> Count(const std::string& collection_id);
  // Chroma's hybrid search (service/search_executor.h). `bm25_keys`: the sparse keys whose
  // schema says `bm25`.
  Result<SearchResult> Search(const std::string& collection_id, const SearchRequest& request,
                              const std::map<std::string, bool, std::less<>>& bm25_keys);
  // Whether the record store answers (the readiness probe).
  Status Ready() { return storage_->Ping(); }

  // Threads of the background indexer's bulk steps (a collection loaded without a snapshot, a
  // large ingest); 0 = one per core. Call before serving.
  void SetIndexerThreads(int threads);
  // Sets when graphs are saved as index snapshots; call before serving.
  void SetSnapshotOptions(SnapshotOptions options) { snapshots_.SetOptions(options); }
  // Writes the snapshot of `collection_id`'s graph now if the policy calls for one (the indexer
  // does this when it catches up; tests and benchmarks call it directly). Returns whether one
  // was written.
  Result<bool> MaybeWriteSnapshot(const std::string& collection_id);
  using SnapshotCounts = IndexSnapshotWriter::Counts;
  SnapshotCounts snapshot_counts() const { return snapshots_.counts(); }

  // Turns on refreshing from storage (see FreshnessOptions); call once, before serving.
  void EnableFreshness(FreshnessOptions options) { refresher_.Enable(options); }

  // Called when collections are deleted: forget them and purge their records in the background.
  void OnCollectionsDeleted(const std::vector<std::string>& ids);
  // Called after a reset: forget every loaded collection.
  void OnReset();

  // News from other instances (FreshnessOptions::announced): rows of `collection_id` up to
  // `version` are stored; the catalog changed; news may have been lost (refresh everything).
  // Cheap, never block on storage: the refresh itself runs in the background.
  void OnAnnouncedWrite(const std::string& collection_id, uint64_t version) {
    refresher_.OnAnnouncedWrite(collection_id, version);
  }
  void OnAnnouncedCatalogChange() { refresher_.OnAnnouncedCatalogChange(); }
  void OnAnnouncementsMissed() { refresher_.OnAnnouncementsMissed(); }
  // Called with the collection and the highest version of every write once storage holds it
  // (to announce it to other instances). Set before serving.
  using StoredListener = RecordCommitter::StoredListener;
  void SetStoredListener(StoredListener listener) {
    committer_.SetStoredListener(std::move(listener));
  }

  // Which search path queries took (for tests and metrics).
  struct PathCounts {
    int64_t brute_force = 0;
    int64_t hnsw = 0;
  };
  PathCounts path_counts() const { return {brute_force_queries_.load(), hnsw_queries_.load()}; }
  CollectionCache::Stats cache_stats() { return cache_.stats(); }
  // Each collection loaded in this instance: its memory and its index snapshot (the version the
  // snapshot was written at, 0 = none).
  struct LoadedInfo {
    std::string id;
    size_t bytes = 0;
    uint64_t snapshot_version = 0;
  };
  std::vector<LoadedInfo> LoadedCollections();

  // How far the background indexer is for a collection: records in the graph and records
  // waiting for it (collections too small for a graph count as fully indexed).
  struct IndexingStatus {
    int64_t indexed = 0;
    int64_t pending = 0;
  };
  Result<IndexingStatus> GetIndexingStatus(const std::string& collection_id);
  // Waits until the background indexer has caught up on `collection_id` (tests, benchmarks).
  void WaitIndexed(const std::string& collection_id);

 private:
  // The collection and its loaded records, made fresh for a request (and queued for the
  // indexer when records wait for the graph).
  Result<std::pair<Collection, std::shared_ptr<LoadedCollection>>> Open(
      const std::string& collection_id);
  // Offsets of live records matching ids/where/where_document, in insertion order.
  std::vector<uint32_t> Select(const RecordStore& store,
                               const std::optional<std::vector<std::string>>& ids,
                               const std::optional<Where>& where,
                               const std::optional<Where>& where_document) const;
  // After a read that may have built the collection's document index (its first document
  // filter): the background indexer re-measures the collection against the cache budget.
  void RemeasureIfIndexBuilt(const std::shared_ptr<LoadedCollection>& loaded, bool built_before,
                             bool built_now);

  CatalogService* catalog_;
  Storage* storage_;
  VersionClock* clock_;
  // Members in the order they are built; the threads (indexer, refresher, purger) stop, in
  // reverse order, before what they use goes.
  CollectionCache cache_;
  OwnWrites own_writes_;
  IndexSnapshotWriter snapshots_;
  BackgroundIndexer indexer_;
  RecordCommitter committer_;
  GroupCommitWriter writer_;
  CollectionRefresher refresher_;
  RecordPurger purger_;
  std::atomic<int64_t> brute_force_queries_{0};
  std::atomic<int64_t> hnsw_queries_{0};
};

}  // namespace chromahouse
