// RecordService: Chroma's record semantics (API.md §3) on top of the catalog, the collection
// cache and Storage.
//
// Writes: validate (service/record_rules.h) → join the collection's group-commit queue → the
// writer at the front of the queue computes full new row versions for every queued request from
// the current state (record_rules.h's MergeWrite, in arrival order) → one Storage write for the
// group → apply in memory → every writer of the group replies. If Storage fails,
// nothing is applied and the error (kUnavailable → 503) goes back to the client, who may retry.
// Reads: shared lock → the `where`/`where_document` filter (collection/filter_planner.h: the
// metadata and document indexes, records checked one by one where they cannot answer) →
// nearest neighbours as the collection's planner chooses (HNSW graph, filtered graph walk or an
// exact scan; records not yet in the graph are scanned exactly) → project `include`.
// In the background: the indexer adds written records to the graph, index snapshots are written
// to Storage as the graph grows, deleted collections' rows are purged, and with several
// instances collections are refreshed with other instances' writes (polled, or announced
// through the change feed).
//
// Thread safety: all methods are thread-safe.
#pragma once

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <shared_mutex>
#include <string>
#include <thread>
#include <vector>

#include "collection/collection_cache.h"
#include "common/clock.h"
#include "common/worker_pool.h"
#include "core/record_requests.h"
#include "core/search.h"
#include "service/catalog_service.h"
#include "storage/storage.h"

namespace chromahouse {

// Results hold a shared lock on the collection while they are encoded.
struct GetResult {
  std::shared_ptr<LoadedCollection> collection;
  std::shared_lock<std::shared_mutex> lock;
  std::vector<RecordView> records;
};

struct SearchResult {
  std::shared_ptr<LoadedCollection> collection;
  std::shared_lock<std::shared_mutex> lock;
  std::vector<std::vector<RecordView>> per_search;  // `distance` holds the score
};

struct QueryResult {
  std::shared_ptr<LoadedCollection> collection;
  std::shared_lock<std::shared_mutex> lock;
  std::vector<std::vector<RecordView>> per_query;
};

// Freshness of loaded collections relative to writes by other instances on the same storage
// (ARCHITECTURE.md "Freshness across instances").
struct FreshnessOptions {
  // -1: never re-read storage (a single instance); 0: re-read before every request; N: a
  // collection in use is at most N ms behind storage (kept fresh in the background; a request
  // that finds it older re-reads first).
  int64_t max_staleness_ms = -1;
  // How far behind the highest version seen a refresh looks again, for rows that were committed
  // late with older versions (a concurrent writer's INSERT that took long).
  int64_t window_ms = 2000;
  // Every this many seconds a refresh compares all of a collection's (id, version) pairs
  // instead of the window only: rows that reached this ClickHouse node later than the window
  // (a replica catching up after an outage, a clock far behind) are found too. 0 = never.
  int64_t full_scan_seconds = 30;
  // Other instances announce their writes (a ChangeFeed calls OnAnnouncedWrite, OnAnnounced-
  // CatalogChange and OnAnnouncementsMissed): a collection is refreshed in the background as
  // soon as a write to it is announced, so the age rule above is only the fallback, applied
  // by requests after `announced_fallback_ms`; nothing is read for collections nobody writes.
  bool announced = false;
  int64_t announced_fallback_ms = 30000;
};

// Index snapshots written by this instance (collection/index_snapshot.h).
struct SnapshotOptions {
  // Collections with at least this many records get snapshots of their graph; 0 = never write
  // any (snapshots that exist are still read).
  size_t min_records = 0;
  // A new snapshot once this fraction of the records changed (or were never in one).
  double change_fraction = 0.2;
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
  void SetSnapshotOptions(SnapshotOptions options) { snapshots_ = options; }
  // Writes the snapshot of `collection_id`'s graph now if the policy calls for one (the indexer
  // does this when it catches up; tests and benchmarks call it directly). Returns whether one
  // was written.
  Result<bool> MaybeWriteSnapshot(const std::string& collection_id);
  struct SnapshotCounts {
    int64_t written = 0;
    int64_t failed = 0;
    int64_t bytes = 0;
  };
  SnapshotCounts snapshot_counts() const {
    return {snapshots_written_.load(), snapshots_failed_.load(), snapshot_bytes_.load()};
  }

  // Turns on refreshing from storage (see FreshnessOptions); call once, before serving.
  void EnableFreshness(FreshnessOptions options);
  // Brings a loaded collection up to date with storage: reads the (id, version) pairs newer
  // than its watermark minus the window, then the rows it lacks, and applies them (idempotent
  // by version). `max_age_ms` >= 0 skips the work if a refresh finished that recently.
  // When storage cannot be read, the attempt counts as a refresh for `max_age_ms`: requests
  // queued behind it do not each wait for storage in turn.
  Status Refresh(LoadedCollection& loaded, int64_t max_age_ms = -1);

  // Called when collections are deleted: forget them and purge their records in the background.
  void OnCollectionsDeleted(const std::vector<std::string>& ids);
  // Called after a reset: forget every loaded collection.
  void OnReset();

  // News from other instances (FreshnessOptions::announced): rows of `collection_id` up to
  // `version` are stored; the catalog changed; news may have been lost (refresh everything).
  // Cheap, never block on storage: the refresh itself runs in the background.
  void OnAnnouncedWrite(const std::string& collection_id, uint64_t version);
  void OnAnnouncedCatalogChange();
  void OnAnnouncementsMissed();
  // Called with the collection and the highest version of every write once storage holds it
  // (to announce it to other instances). Set before serving.
  using StoredListener = std::function<void(const std::string& collection_id, uint64_t version)>;
  void SetStoredListener(StoredListener listener) { stored_listener_ = std::move(listener); }

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
  // Refresh's work, under the collection's refresh_mu.
  Status RefreshLocked(LoadedCollection& loaded, int64_t start);
  Result<std::pair<Collection, std::shared_ptr<LoadedCollection>>> Open(
      const std::string& collection_id);
  // Offsets of live records matching ids/where/where_document, in insertion order.
  std::vector<uint32_t> Select(const RecordStore& store,
                               const std::optional<std::vector<std::string>>& ids,
                               const std::optional<Where>& where,
                               const std::optional<Where>& where_document) const;
  void PurgeLoop();
  void IndexLoop();
  Result<bool> WriteSnapshotIfDue(LoadedCollection& loaded);
  void ScheduleIndexing(const std::shared_ptr<LoadedCollection>& loaded);
  // After a read that may have built the collection's document index (its first document
  // filter): the background indexer re-measures the collection against the cache budget.
  void RemeasureIfIndexBuilt(const std::shared_ptr<LoadedCollection>& loaded, bool built_before);
  // Applies committed rows to memory and hands new vectors to the background indexer.
  void ApplyRows(LoadedCollection& loaded, const std::vector<RecordRow>& rows);
  // Commits a group of queued writes in one storage write; sets each write's status.
  void CommitGroup(const std::string& collection_id, LoadedCollection& loaded,
                   const std::vector<PendingWrite*>& group);

  CatalogService* catalog_;
  Storage* storage_;
  VersionClock* clock_;
  CollectionCache cache_;

  std::mutex purge_mu_;
  std::condition_variable purge_cv_;
  std::deque<std::string> purge_queue_;  // guarded by purge_mu_
  std::atomic<bool> stopping_{false};    // set under purge_mu_ and index_mu_
  std::thread purge_thread_;

  std::mutex index_mu_;
  std::condition_variable index_cv_;
  std::deque<std::pair<std::string, std::weak_ptr<LoadedCollection>>>
      index_queue_;  // guarded by index_mu_

  std::set<std::string> index_scheduled_;  // guarded by index_mu_
  std::thread index_thread_;
  void RefreshLoop();
  // The refresh thread when writes are announced: refreshes what announcements name.
  void AnnouncedRefreshLoop();
  // Tells the stored listener about rows just written.
  void AnnounceStored(const std::string& collection_id, const std::vector<RecordRow>& rows);
  FreshnessOptions freshness_;
  StoredListener stored_listener_;
  bool catalog_announced_ = false;     // guarded by refresh_loop_mu_
  bool announcements_missed_ = false;  // guarded by refresh_loop_mu_
  bool refresh_wanted_ = false;        // guarded by refresh_loop_mu_
  std::mutex refresh_loop_mu_;
  std::condition_variable refresh_loop_cv_;
  std::thread refresh_thread_;

  // Whether anything was written to storage's records from elsewhere since the last look: one
  // cheap read of storage's write count (Storage::RecordWriteCount) compared with this
  // instance's own writes, so that the refresh loop skips the per-collection summaries (which
  // read every version of a collection) while nobody else writes. The count is read with
  // `writes_mu_` held exclusively (no write of this instance in flight), waiting at most a few
  // ms for it; any doubt counts as "written elsewhere". Refresh loop thread only, except
  // `writes_mu_`, `own_writes_` and `unsettled_ms_`.
  bool QuietSinceLastLook();
  std::shared_timed_mutex writes_mu_;    // held shared around each record write
  std::atomic<uint64_t> own_writes_{0};  // record writes stored by this instance
  std::optional<uint64_t> look_count_;   // storage's count at the last look
  uint64_t look_own_ = 0;                // own_writes_ at the last look
  int64_t look_end_ms_ = 0;              // when the last look ended (after its count)
  // The last time a look found writes from elsewhere or could not tell; the maximum while no
  // look was made (announced or per-request freshness: full scans as scheduled). A collection's
  // scheduled full scan is skipped when nothing was unsettled since its last one.
  std::atomic<int64_t> unsettled_ms_{std::numeric_limits<int64_t>::max()};
  SnapshotOptions snapshots_;
  std::atomic<int> indexer_threads_{1};
  std::unique_ptr<WorkerPool> index_pool_;  // indexer_threads_ − 1 helpers, kept between steps
  HnswIndex::ParallelRunner index_runner_;
  std::atomic<int64_t> snapshots_written_{0};
  std::atomic<int64_t> snapshots_failed_{0};
  std::atomic<int64_t> snapshot_bytes_{0};
  std::atomic<int64_t> brute_force_queries_{0};
  std::atomic<int64_t> hnsw_queries_{0};
};

}  // namespace chromahouse
