#include "service/record_service.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <limits>
#include <unordered_map>
#include <unordered_set>

#include "collection/filter_planner.h"
#include "collection/index_snapshot.h"
#include "common/log.h"
#include "common/metrics.h"
#include "filter/evaluator.h"
#include "service/record_rules.h"
#include "service/search_executor.h"

namespace chromahouse {
namespace {

HnswParams IndexParams(const Collection& c) {
  HnswParams p;
  switch (c.configuration.hnsw.space) {
    case Space::kL2: p.metric = Metric::kL2; break;
    case Space::kCosine: p.metric = Metric::kCosine; break;
    case Space::kIp: p.metric = Metric::kInnerProduct; break;
  }
  p.max_neighbors =
      static_cast<size_t>(std::clamp<int64_t>(c.configuration.hnsw.max_neighbors, 2, 4096));
  p.ef_construction =
      static_cast<size_t>(std::max<int64_t>(c.configuration.hnsw.ef_construction, 1));
  p.ef_search = static_cast<size_t>(std::max<int64_t>(c.configuration.hnsw.ef_search, 1));
  return p;
}

[[maybe_unused]] Metric MetricOf(Space space) {
  switch (space) {
    case Space::kL2: return Metric::kL2;
    case Space::kCosine: return Metric::kCosine;
    case Space::kIp: return Metric::kInnerProduct;
  }
  return Metric::kL2;
}

// A read-only view of the record at `offset` (valid while the collection's lock is held).
RecordView ViewOf(const RecordStore& store, uint32_t offset) {
  RecordView v;
  v.id = store.id(offset);
  v.embedding = store.embedding(offset);
  v.dim = store.dim();
  v.document = &store.document(offset);
  v.uri = &store.uri(offset);
  v.metadata = &store.metadata(offset);
  return v;
}

// Counts how filters were answered (chromahouse_filter_plan_total).
void CountFilterPlan(const FilterPlanner::Counts& counts) {
  auto add = [](const char* path, int64_t n) {
    if (n == 0) return;
    Metrics()
        .GetCounter("chromahouse_filter_plan_total",
                    "Filter steps by how they were answered: subtrees by the metadata index, "
                    "document conditions narrowed by the document index, records checked one "
                    "by one",
                    {{"path", path}})
        .Add(n);
  };
  add("metadata_index", counts.metadata_index);
  add("document_index", counts.document_index);
  add("record_checked", counts.records_checked);
}

// The live offsets matching `where` and `where_document` (either may be absent), among `scope`
// when given (a request's ids: only those are checked).
OffsetBitmap FilterMatching(const RecordStore& store, const std::optional<Where>& where,
                            const std::optional<Where>& where_document,
                            const OffsetBitmap* scope = nullptr) {
  FilterPlanner planner(store);
  const Where filter = where && where_document ? Where::And({*where, *where_document})
                       : where                 ? *where
                                               : *where_document;
  OffsetBitmap out = scope ? planner.Evaluate(filter, *scope) : planner.Evaluate(filter);
  CountFilterPlan(planner.counts());
  return out;
}

// Upper bound on the rows of one group commit (one INSERT).
constexpr size_t kMaxGroupRows = 50000;

Status DimensionMismatch(size_t expected, size_t got) {
  return Status::InvalidArgument("Collection expecting embedding with dimension of " +
                                 std::to_string(expected) + ", got " + std::to_string(got));
}

}  // namespace

RecordService::RecordService(CatalogService* catalog, Storage* storage, VersionClock* clock,
                             size_t cache_budget_bytes)
    : catalog_(catalog), storage_(storage), clock_(clock), cache_(storage, cache_budget_bytes) {
  purge_thread_ = std::thread([this] { PurgeLoop(); });
  index_thread_ = std::thread([this] { IndexLoop(); });
}

void RecordService::ApplyRows(LoadedCollection& loaded, const std::vector<RecordRow>& rows) {
  {
    std::unique_lock data(loaded.data_mu, std::defer_lock);
    {
      VectorSearch::Waiting waiting(loaded.search);  // an indexing step ends early
      data.lock();
    }
    auto changes = loaded.store.Apply(rows);
    loaded.search.OnApplied(loaded.store, changes);
    loaded.changes_since_snapshot.fetch_add(changes.size());
    // Tombstones only matter for rows that a refresh can still bring (within the window behind
    // the watermark); with freshness off, none can.
    if (loaded.store.tombstone_count() > 1024 + loaded.store.size() / 4) {
      const uint64_t window = static_cast<uint64_t>(std::max<int64_t>(freshness_.window_ms, 0))
                              << 22;
      const uint64_t watermark = loaded.watermark.load();
      loaded.store.PruneTombstones(freshness_.max_staleness_ms < 0 ? UINT64_MAX
                                   : watermark > window            ? watermark - window
                                                                   : 0);
    }
  }
  cache_.Touch(loaded.id);
  if (loaded.search.HasPending()) ScheduleIndexing(cache_.Find(loaded.id));
}

void RecordService::SetIndexerThreads(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  // Before serving (see the header): the indexer is idle, nothing uses the pool yet.
  index_pool_ =
      threads > 1
          ? std::make_unique<WorkerPool>(
                threads - 1,
                [] {
                  // Helpers of the indexer: as nice as the indexer itself.
                  if (setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 10) != 0) {
                    LOG_DEBUG("could not lower an indexer helper's priority");
                  }
                })
          : nullptr;
  index_runner_ = [this](int n, const std::function<void()>& work) { index_pool_->Run(n, work); };
  indexer_threads_ = threads;
}

void RecordService::ScheduleIndexing(const std::shared_ptr<LoadedCollection>& loaded) {
  if (!loaded) return;
  std::lock_guard lock(index_mu_);
  if (!index_scheduled_.insert(loaded->id).second) return;  // already queued
  index_queue_.emplace_back(loaded->id, loaded);
  index_cv_.notify_one();
}

void RecordService::RemeasureIfIndexBuilt(const std::shared_ptr<LoadedCollection>& loaded,
                                          bool built_before) {
  if (!built_before && loaded->store.document_index_built()) ScheduleIndexing(loaded);
}

void RecordService::IndexLoop() {
  // The graph is an optimisation that may lag: give request threads the CPU first (Linux
  // applies a thread's nice value to that thread alone).
  if (setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 10) != 0) {
    LOG_DEBUG("could not lower the indexer's priority");
  }
  std::unique_lock lock(index_mu_);
  while (true) {
    index_cv_.wait(lock, [this] { return stopping_ || !index_queue_.empty(); });
    if (stopping_) return;
    auto [id, weak] = index_queue_.front();
    index_queue_.pop_front();
    index_scheduled_.erase(id);
    lock.unlock();
    if (auto loaded = weak.lock()) {
      // Steps (see VectorSearch::IndexStep), so that queries and writes never wait long for the
      // graph.
      bool more = true;
      while (more) {
        {
          std::shared_lock data(loaded->data_mu);
          more = loaded->search.IndexStep(loaded->store, indexer_threads_.load(),
                                          index_pool_ ? &index_runner_ : nullptr);
        }
        if (stopping_) break;
      }
      // The graph's memory counts against the cache budget.
      cache_.Touch(loaded->id);
      if (!stopping_) {
        if (auto written = WriteSnapshotIfDue(*loaded); !written.ok()) {
          LOG_WARN("collection {}: index snapshot not written: {}", loaded->id,
                   written.status().ToString());
        }
      }
    }
    lock.lock();
  }
}

Result<bool> RecordService::MaybeWriteSnapshot(const std::string& collection_id) {
  auto loaded = cache_.Find(collection_id);
  if (!loaded) return false;
  return WriteSnapshotIfDue(*loaded);
}

Result<bool> RecordService::WriteSnapshotIfDue(LoadedCollection& loaded) {
  if (snapshots_.min_records == 0 || SteadyMillis() < loaded.snapshot_retry_ms.load()) {
    return false;
  }
  size_t size = 0;
  {
    std::shared_lock data(loaded.data_mu);
    size = loaded.store.size();
  }
  const uint64_t changes = loaded.changes_since_snapshot.load();
  if (size < snapshots_.min_records ||
      static_cast<double>(changes) < std::max(1.0, snapshots_.change_fraction * double(size))) {
    return false;
  }
  // Another instance may keep this collection's snapshot fresh already.
  auto latest = storage_->FindIndexSnapshot(loaded.id);
  if (latest.ok() && *latest && (*latest)->id > loaded.snapshot_id.load() &&
      (*latest)->watermark >= loaded.watermark.load()) {
    loaded.snapshot_id.store((*latest)->id);
    loaded.changes_since_snapshot.fetch_sub(changes);
    return false;
  }
  const int64_t started = SteadyMillis();
  std::optional<std::string> payload;
  IndexSnapshotInfo info;
  {
    std::shared_lock data(loaded.data_mu);
    info.watermark = loaded.watermark.load();
    payload = loaded.search.Snapshot(loaded.store, info.watermark);
    info.records = loaded.search.indexed();
  }
  if (!payload) return false;  // no graph yet, or records still waiting for it
  const int64_t encoded = SteadyMillis();
  info.id = clock_->Next();
  info.format = kIndexSnapshotFormat;
  info.bytes = payload->size();
  if (Status s = storage_->WriteIndexSnapshot(loaded.id, info, *payload); !s.ok()) {
    ++snapshots_failed_;
    loaded.snapshot_retry_ms.store(SteadyMillis() + 60000);
    return s;
  }
  ++snapshots_written_;
  snapshot_bytes_ += static_cast<int64_t>(info.bytes);
  loaded.snapshot_id.store(info.id);
  loaded.changes_since_snapshot.fetch_sub(changes);
  LOG_INFO(
      "collection {}: index snapshot {} written ({} nodes, {} MiB; encoded in {} ms, "
      "stored in {} ms)",
      loaded.id, info.id, info.records, info.bytes >> 20, encoded - started,
      SteadyMillis() - encoded);
  return true;
}

void RecordService::WaitIndexed(const std::string& collection_id) {
  while (true) {
    auto loaded = cache_.Find(collection_id);
    if (!loaded || !loaded->search.HasPending()) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

RecordService::~RecordService() {
  {
    std::lock_guard lock(purge_mu_);
    stopping_ = true;
  }
  purge_cv_.notify_all();
  { std::lock_guard lock(refresh_loop_mu_); }
  refresh_loop_cv_.notify_all();
  if (refresh_thread_.joinable()) refresh_thread_.join();
  { std::lock_guard lock(index_mu_); }
  index_cv_.notify_all();
  purge_thread_.join();
  index_thread_.join();
}

void RecordService::EnableFreshness(FreshnessOptions options) {
  freshness_ = options;
  if (options.announced) {
    catalog_->SetMaxStaleness(options.announced_fallback_ms);
    if (!refresh_thread_.joinable()) {
      refresh_thread_ = std::thread([this] { AnnouncedRefreshLoop(); });
    }
    return;
  }
  catalog_->SetMaxStaleness(options.max_staleness_ms);
  if (options.max_staleness_ms > 0 && !refresh_thread_.joinable()) {
    refresh_thread_ = std::thread([this] { RefreshLoop(); });
  }
}

void RecordService::OnAnnouncedWrite(const std::string& collection_id, uint64_t version) {
  auto loaded = cache_.Find(collection_id);
  if (!loaded) return;  // read whole from storage when it is loaded
  // Any announcement calls for a refresh, whatever its version: rows commit out of version
  // order, so one of a lower version than rows already read may be new.
  (void)version;
  loaded->announced.fetch_add(1);
  {
    std::lock_guard lock(refresh_loop_mu_);
    refresh_wanted_ = true;
  }
  refresh_loop_cv_.notify_all();
}

void RecordService::OnAnnouncedCatalogChange() {
  {
    std::lock_guard lock(refresh_loop_mu_);
    catalog_announced_ = refresh_wanted_ = true;
  }
  refresh_loop_cv_.notify_all();
}

void RecordService::OnAnnouncementsMissed() {
  {
    std::lock_guard lock(refresh_loop_mu_);
    announcements_missed_ = refresh_wanted_ = true;
  }
  refresh_loop_cv_.notify_all();
}

void RecordService::AnnounceStored(const std::string& collection_id,
                                   const std::vector<RecordRow>& rows) {
  if (!stored_listener_ || rows.empty()) return;
  uint64_t highest = 0;
  for (const RecordRow& r : rows) highest = std::max(highest, r.version);
  stored_listener_(collection_id, highest);
}

void RecordService::AnnouncedRefreshLoop() {
  std::unique_lock lock(refresh_loop_mu_);
  while (!stopping_) {
    refresh_loop_cv_.wait(lock, [this] { return stopping_ || refresh_wanted_; });
    if (stopping_) return;
    refresh_wanted_ = false;
    const bool catalog = std::exchange(catalog_announced_, false);
    const bool missed = std::exchange(announcements_missed_, false);
    lock.unlock();
    if (catalog || missed) {
      Status s = catalog_->RefreshIfOlderThan(-1);
      if (!s.ok()) LOG_DEBUG("catalog refresh failed: {}", s.message());
    }
    for (const auto& loaded : cache_.Loaded()) {
      if (stopping_) break;
      if (!missed && !loaded->HasAnnouncement()) continue;
      // Unless news was lost, a collection whose announcements a request served meanwhile (while
      // this loop waited for its lock) is not read again: any age counts as fresh then.
      Status s = Refresh(*loaded, missed ? -1 : std::numeric_limits<int64_t>::max());
      if (!s.ok()) LOG_DEBUG("refresh of collection {} failed: {}", loaded->id, s.message());
    }
    lock.lock();
  }
}

Status RecordService::Refresh(LoadedCollection& loaded, int64_t max_age_ms) {
  std::lock_guard refresh_lock(loaded.refresh_mu);
  const int64_t start = SteadyMillis();
  // Another request may have refreshed (or tried to) while this one waited for the lock.
  if (max_age_ms >= 0 && start - loaded.refreshed_ms.load() <= max_age_ms &&
      !loaded.HasAnnouncement()) {
    return Status::Ok();
  }
  // Writes announced before this point are read now; later ones call for another refresh.
  const uint64_t announced = loaded.announced.load();
  Status s = RefreshLocked(loaded, start);
  // Storage is away (or hangs until the statement times out): the requests waiting for this
  // lock are served from memory instead of each waiting for storage in turn (the fallback
  // age rule tries again later).
  if (!s.ok()) loaded.refreshed_ms.store(SteadyMillis());
  uint64_t served = loaded.announced_served.load();
  while (served < announced && !loaded.announced_served.compare_exchange_weak(served, announced)) {
  }
  return s;
}

Status RecordService::RefreshLocked(LoadedCollection& loaded, int64_t start) {
  const uint64_t watermark = loaded.watermark.load();
  const uint64_t window = static_cast<uint64_t>(std::max<int64_t>(freshness_.window_ms, 0)) << 22;
  // (Not while every look since the last full scan found nothing written elsewhere.)
  const bool full_scan =
      freshness_.full_scan_seconds > 0 &&
      start - loaded.full_scan_ms.load() >= freshness_.full_scan_seconds * 1000 &&
      unsettled_ms_.load() >= loaded.full_scan_ms.load();
  const uint64_t from = full_scan ? 0 : watermark > window ? watermark - window : 0;
  if (!full_scan && loaded.window_known.load() && !loaded.HasAnnouncement()) {
    // Usually nothing arrived from elsewhere: storage holds exactly the versions this instance
    // knows about, and a summary of them (one row from ClickHouse) says so. (After an
    // announced write something did arrive: the summary is skipped.)
    ASSIGN_OR_RETURN(Storage::VersionSummary stored,
                     storage_->SummarizeRecordVersions(loaded.id, from));
    Storage::VersionSummary known;
    uint64_t highest = watermark;
    {
      std::lock_guard lock(loaded.window_mu);
      auto& v = loaded.window_versions;
      std::sort(v.begin(), v.end());
      v.erase(std::unique(v.begin(), v.end()), v.end());
      v.erase(v.begin(), std::upper_bound(v.begin(), v.end(), from));
      for (uint64_t version : v) known.Add(version);
      if (!v.empty()) highest = std::max(highest, v.back());
    }
    if (stored == known) {
      clock_->Observe(highest);
      loaded.watermark.store(highest);
      loaded.refreshed_ms.store(start);
      return Status::Ok();
    }
  }
  size_t noted_before = 0;  // versions noted by writers from here on may be missing below
  {
    std::lock_guard lock(loaded.window_mu);
    noted_before = loaded.window_versions.size();
  }
  ASSIGN_OR_RETURN(auto versions, storage_->LoadRecordVersions(loaded.id, from));
  if (full_scan) loaded.full_scan_ms.store(start);
  uint64_t highest = watermark;
  std::vector<std::string> missing;
  {
    std::shared_lock data(loaded.data_mu);
    for (const auto& [id, version] : versions) {
      highest = std::max(highest, version);
      if (loaded.store.KnownVersion(id) < version) missing.push_back(id);
    }
  }
  if (!missing.empty()) {
    std::sort(missing.begin(), missing.end());
    missing.erase(std::unique(missing.begin(), missing.end()), missing.end());
    ASSIGN_OR_RETURN(std::vector<RecordRow> rows,
                     storage_->LoadRecordsByIds(loaded.id, missing, from));
    std::sort(rows.begin(), rows.end(),
              [](const RecordRow& a, const RecordRow& b) { return a.created < b.created; });
    ApplyRows(loaded, rows);
    static Counter& refreshed = Metrics().GetCounter(
        "chromahouse_refresh_rows_total",
        "Rows written by other instances and applied to loaded collections", {});
    refreshed.Add(static_cast<int64_t>(rows.size()));
  }
  {
    // What storage holds above the next refresh's window, and what writers stored meanwhile.
    const uint64_t keep_above = highest > window ? highest - window : 0;
    std::lock_guard lock(loaded.window_mu);
    std::vector<uint64_t> known;
    for (const auto& [id, version] : versions) {
      if (version > keep_above) known.push_back(version);
    }
    known.insert(known.end(), loaded.window_versions.begin() + static_cast<ptrdiff_t>(noted_before),
                 loaded.window_versions.end());
    loaded.window_versions = std::move(known);
  }
  loaded.window_known.store(true);
  clock_->Observe(highest);
  loaded.watermark.store(highest);
  loaded.refreshed_ms.store(start);
  return Status::Ok();
}

void RecordService::RefreshLoop() {
  // Keeps collections in use fresh so that requests rarely wait for a refresh themselves.
  const int64_t period = std::max<int64_t>(freshness_.max_staleness_ms / 2, 5);
  std::unique_lock lock(refresh_loop_mu_);
  while (!stopping_) {
    refresh_loop_cv_.wait_for(lock, std::chrono::milliseconds(period));
    if (stopping_) return;
    lock.unlock();
    Status catalog = catalog_->RefreshIfOlderThan(period);
    if (!catalog.ok()) LOG_DEBUG("catalog refresh failed: {}", catalog.message());
    // Nobody else wrote between the last look and this one: a collection that was fresh at
    // the last look's end (refreshed after it, or carried forward by it) holds what storage
    // held at this look's count, and is carried forward to its end (a write from elsewhere
    // after the count shows at the next look, one period later).
    const int64_t previous_look_end = look_end_ms_;
    const bool quiet = QuietSinceLastLook();
    const int64_t look_end = look_end_ms_;
    const int64_t now = SteadyMillis();
    for (const auto& loaded : cache_.Loaded()) {
      if (stopping_) break;
      if (now - loaded->used_ms.load() > 60000) continue;  // idle: refreshed on next use
      if (quiet && !loaded->HasAnnouncement()) {
        int64_t refreshed = loaded->refreshed_ms.load();
        while (refreshed >= previous_look_end && refreshed < look_end &&
               !loaded->refreshed_ms.compare_exchange_weak(refreshed, look_end)) {
        }
        if (loaded->refreshed_ms.load() >= look_end) continue;
      }
      Status s = Refresh(*loaded, period);
      if (!s.ok()) LOG_DEBUG("refresh of collection {} failed: {}", loaded->id, s.message());
    }
    lock.lock();
  }
}

bool RecordService::QuietSinceLastLook() {
  std::unique_lock counted(writes_mu_, std::defer_lock);
  std::optional<uint64_t> count;
  uint64_t own = 0;
  // Waits for this instance's writes in flight, a few ms at most (else: cannot tell).
  if (counted.try_lock_for(std::chrono::milliseconds(20))) {
    auto read = storage_->RecordWriteCount();
    if (read.ok()) count = *read;
    own = own_writes_.load();
    counted.unlock();
  }
  const bool quiet =
      count && look_count_ && *count >= *look_count_ && *count - *look_count_ == own - look_own_;
  if (count) {
    look_count_ = count;
    look_own_ = own;
  } else {
    look_count_.reset();
  }
  look_end_ms_ = SteadyMillis();
  if (!quiet) unsettled_ms_.store(look_end_ms_);
  return quiet;
}

void RecordService::PurgeLoop() {
  std::unique_lock lock(purge_mu_);
  while (true) {
    purge_cv_.wait(lock, [this] { return stopping_ || !purge_queue_.empty(); });
    if (stopping_) return;
    std::string id = purge_queue_.front();
    purge_queue_.pop_front();
    lock.unlock();
    if (Status s = storage_->PurgeRecords(id); !s.ok()) {
      LOG_WARN("could not purge the records of deleted collection {}: {}", id, s.message());
    }
    lock.lock();
  }
}

void RecordService::OnCollectionsDeleted(const std::vector<std::string>& ids) {
  for (const auto& id : ids) cache_.Drop(id);
  {
    std::lock_guard lock(purge_mu_);
    for (const auto& id : ids) purge_queue_.push_back(id);
  }
  purge_cv_.notify_all();
}

void RecordService::OnReset() { cache_.Clear(); }

Result<std::pair<Collection, std::shared_ptr<LoadedCollection>>> RecordService::Open(
    const std::string& collection_id) {
  ASSIGN_OR_RETURN(Collection c, catalog_->GetCollection(collection_id));
  ASSIGN_OR_RETURN(auto loaded, cache_.Get(collection_id, IndexParams(c)));
  const int64_t now = SteadyMillis();
  loaded->used_ms.store(now);
  const int64_t max_staleness =
      freshness_.announced ? freshness_.announced_fallback_ms : freshness_.max_staleness_ms;
  if (max_staleness >= 0 &&
      (now - loaded->refreshed_ms.load() >= max_staleness || loaded->HasAnnouncement())) {
    // Stale: catch up with other instances' writes first. If storage cannot be read, the
    // request is served from memory (writes will fail anyway until storage is back).
    // (A failed refresh counts as one for a while: see Refresh.)
    if (Status s = Refresh(*loaded, max_staleness == 0 ? -1 : max_staleness); !s.ok()) {
      LOG_WARN("collection {} may be stale: {}", collection_id, s.message());
    }
  }
  if (loaded->search.HasPending()) ScheduleIndexing(loaded);
  return std::make_pair(std::move(c), std::move(loaded));
}

Status RecordService::Write(const std::string& collection_id, RecordWriteKind kind,
                            const RecordWriteRequest& req) {
  // Stateless checks first (service/record_rules.h).
  ASSIGN_OR_RETURN(const size_t request_dim, ValidateWrite(req));
  const size_t n = req.ids.size();
  ASSIGN_OR_RETURN(auto opened, Open(collection_id));
  auto& loaded = opened.second;
  if (n == 0) return Status::Ok();

  PendingWrite self{kind, &req, request_dim, Status::Ok()};
  std::unique_lock queue_lock(loaded->queue_mu);
  loaded->queue.push_back(&self);
  while (!self.done && loaded->queue.front() != &self) self.cv.wait(queue_lock);
  if (self.done) return self.status;

  // This writer leads: it commits itself and everything queued behind it (up to a bound).
  std::vector<PendingWrite*> group;
  size_t group_rows = 0;
  for (PendingWrite* w : loaded->queue) {
    if (!group.empty() && group_rows + w->request->ids.size() > kMaxGroupRows) break;
    group.push_back(w);
    group_rows += w->request->ids.size();
  }
  queue_lock.unlock();
  CommitGroup(collection_id, *loaded, group);
  queue_lock.lock();
  for (size_t i = 0; i < group.size(); ++i) loaded->queue.pop_front();
  Status mine = self.status;
  Status unavailable;
  for (PendingWrite* w : group) {
    if (w->status.code() == StatusCode::kUnavailable) unavailable = w->status;
    w->done = true;
    if (w != &self) w->cv.notify_one();
  }
  if (!unavailable.ok()) {
    // Storage failed while these writes waited behind the group: answer them now (503, retry)
    // instead of letting each wait for another time-out. Later writes try storage again.
    while (!loaded->queue.empty()) {
      PendingWrite* w = loaded->queue.front();
      loaded->queue.pop_front();
      w->status = unavailable;
      w->done = true;
      w->cv.notify_one();
    }
  }
  if (!loaded->queue.empty()) loaded->queue.front()->cv.notify_one();
  return mine;
}

void RecordService::CommitGroup(const std::string& collection_id, LoadedCollection& loaded,
                                const std::vector<PendingWrite*>& group) {
  std::lock_guard writer(loaded.writer_mu);
  const RecordStore& store = loaded.store;
  // The collection's dimension: fixed by the first write that carries embeddings. The catalog
  // is read again here: an earlier group may have set it.
  size_t dim = store.dim();
  if (dim == 0) {
    auto c = catalog_->GetCollection(collection_id);
    if (!c.ok()) {
      for (PendingWrite* w : group) w->status = c.status();
      return;
    }
    if (c->dimension) dim = static_cast<size_t>(*c->dimension);
  }

  // Full new versions of every touched record; `pending` maps ids to rows of this group, so
  // that later requests (and repeated ids) see earlier ones.
  std::vector<RecordRow> rows;
  std::unordered_map<std::string, size_t> pending;
  std::vector<PendingWrite*> committed;
  for (PendingWrite* w : group) {
    const RecordWriteRequest& req = *w->request;
    if (w->request_dim != 0) {
      if (dim != 0 && dim != w->request_dim) {
        w->status = DimensionMismatch(dim, w->request_dim);
        continue;
      }
      if (dim == 0) {
        Status s = catalog_->SetDimension(collection_id, static_cast<int64_t>(w->request_dim));
        if (!s.ok()) {
          w->status = s;
          continue;
        }
        dim = w->request_dim;
      }
    }
    committed.push_back(w);
    for (size_t i = 0; i < req.ids.size(); ++i) {
      const std::string& id = req.ids[i];
      const RecordRow* current = nullptr;
      RecordRow existing;
      if (auto p = pending.find(id); p != pending.end()) {
        current = &rows[p->second];
      } else if (auto o = store.Find(id)) {
        existing = store.Row(*o);
        current = &existing;
      }
      std::optional<RecordRow> merged = MergeWrite(w->kind, req, i, current);
      if (!merged) continue;
      RecordRow row = std::move(*merged);
      row.version = clock_->Next();
      if (row.created == 0) row.created = row.version;
      if (auto p = pending.find(id); p != pending.end()) {
        rows[p->second] = std::move(row);
      } else {
        pending.emplace(id, rows.size());
        rows.push_back(std::move(row));
      }
    }
  }
  if (rows.empty()) return;
  auto write_start = std::chrono::steady_clock::now();
  Status s;
  {
    std::shared_lock counted(writes_mu_);
    s = storage_->WriteRecords(collection_id, rows);
    if (s.ok()) own_writes_.fetch_add(1);
  }
  static Histogram& commit_rows = Metrics().GetHistogram(
      "chromahouse_group_commit_rows", "Rows per group commit (one ClickHouse INSERT)", {},
      Histogram::ExponentialBuckets(16));
  static Histogram& commit_requests =
      Metrics().GetHistogram("chromahouse_group_commit_requests", "Write requests per group commit",
                             {}, Histogram::ExponentialBuckets(10));
  static Histogram& insert_seconds = Metrics().GetHistogram(
      "chromahouse_group_commit_insert_seconds", "Time of the ClickHouse INSERT of a group commit",
      {}, Histogram::LatencyBuckets());
  static Counter& ingested = Metrics().GetCounter(
      "chromahouse_rows_ingested_total",
      "Record rows (adds, updates, upserts) durably written to ClickHouse", {});
  commit_rows.Observe(static_cast<double>(rows.size()));
  commit_requests.Observe(static_cast<double>(group.size()));
  insert_seconds.Observe(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - write_start).count());
  if (s.ok()) ingested.Add(static_cast<int64_t>(rows.size()));
  LOG_DEBUG(
      "group commit to {}: {} requests, {} rows, storage write {:.2f} ms", collection_id,
      group.size(), rows.size(),
      std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - write_start)
          .count());
  if (!s.ok()) {
    // Nothing is applied: every request of the group fails and may be retried.
    for (PendingWrite* w : committed) w->status = s;
    return;
  }
  loaded.NoteStored(rows);
  ApplyRows(loaded, rows);
  AnnounceStored(collection_id, rows);
}

std::vector<uint32_t> RecordService::Select(const RecordStore& store,
                                            const std::optional<std::vector<std::string>>& ids,
                                            const std::optional<Where>& where,
                                            const std::optional<Where>& where_document) const {
  std::vector<uint32_t> offsets;
  if (ids) {
    std::unordered_set<uint32_t> seen;
    for (const auto& id : *ids) {
      if (auto o = store.Find(id); o && seen.insert(*o).second) offsets.push_back(*o);
    }
    std::sort(offsets.begin(), offsets.end(),
              [&store](uint32_t a, uint32_t b) { return store.created(a) < store.created(b); });
  } else {
    offsets = store.OffsetsInInsertionOrder();
  }
  if (!where && !where_document) return offsets;
  std::optional<OffsetBitmap> scope;
  if (ids) scope = OffsetBitmap::FromOffsets(offsets);
  OffsetBitmap matching = FilterMatching(store, where, where_document, scope ? &*scope : nullptr);
  std::erase_if(offsets, [&matching](uint32_t o) { return !matching.Contains(o); });
  return offsets;
}

Result<int64_t> RecordService::Delete(const std::string& collection_id, const DeleteRequest& req) {
  const bool has_filter = req.where.has_value() || req.where_document.has_value();
  if (req.limit && !has_filter) {
    return Status::InvalidArgument("limit can only be specified when a where clause is provided");
  }
  if (req.ids && req.ids->empty() && !has_filter) {
    return Status::InvalidArgument("Either ids or where must be specified");
  }
  ASSIGN_OR_RETURN(auto opened, Open(collection_id));
  auto& loaded = opened.second;
  if (!req.ids && !has_filter) return int64_t{0};

  std::lock_guard writer(loaded->writer_mu);
  std::vector<uint32_t> offsets;
  {
    std::shared_lock data(loaded->data_mu);
    const bool built = loaded->store.document_index_built();
    offsets = Select(loaded->store, req.ids, req.where, req.where_document);
    RemeasureIfIndexBuilt(loaded, built);
  }
  if (req.limit && offsets.size() > static_cast<size_t>(*req.limit)) {
    offsets.resize(static_cast<size_t>(*req.limit));
  }
  std::vector<RecordRow> tombstones;
  tombstones.reserve(offsets.size());
  for (uint32_t o : offsets) {
    RecordRow t;
    t.id = loaded->store.id(o);
    t.version = clock_->Next();
    t.created = loaded->store.created(o);
    t.deleted = true;
    tombstones.push_back(std::move(t));
  }
  if (!tombstones.empty()) {
    {
      std::shared_lock counted(writes_mu_);
      RETURN_IF_ERROR(storage_->WriteRecords(collection_id, tombstones));
      own_writes_.fetch_add(1);
    }
    loaded->NoteStored(tombstones);
    AnnounceStored(collection_id, tombstones);
    static Counter& deleted = Metrics().GetCounter(
        "chromahouse_rows_deleted_total", "Records deleted (tombstones written to ClickHouse)", {});
    deleted.Add(static_cast<int64_t>(tombstones.size()));
    ApplyRows(*loaded, tombstones);
  }
  // Chroma reports the number of ids sent when deleting by ids alone.
  if (!has_filter) return static_cast<int64_t>(req.ids->size());
  return static_cast<int64_t>(tombstones.size());
}

Result<GetResult> RecordService::Get(const std::string& collection_id, const GetRequest& req) {
  ASSIGN_OR_RETURN(auto opened, Open(collection_id));
  GetResult result;
  result.collection = opened.second;
  result.lock = std::shared_lock(result.collection->data_mu);
  const RecordStore& store = result.collection->store;
  const bool built = store.document_index_built();
  std::vector<uint32_t> offsets = Select(store, req.ids, req.where, req.where_document);
  RemeasureIfIndexBuilt(result.collection, built);
  size_t begin = std::min(offsets.size(), static_cast<size_t>(req.offset));
  size_t end = offsets.size();
  if (req.limit) end = std::min(end, begin + static_cast<size_t>(*req.limit));
  result.records.reserve(end - begin);
  for (size_t i = begin; i < end; ++i) result.records.push_back(ViewOf(store, offsets[i]));
  return result;
}

Result<QueryResult> RecordService::Query(const std::string& collection_id,
                                         const QueryRequest& req) {
  ASSIGN_OR_RETURN(auto opened, Open(collection_id));
  QueryResult result;
  result.collection = opened.second;
  result.lock = std::shared_lock(result.collection->data_mu);
  const RecordStore& store = result.collection->store;
  size_t dim = store.dim();
  if (dim == 0 && opened.first.dimension) dim = static_cast<size_t>(*opened.first.dimension);
  for (const auto& q : req.query_embeddings) {
    if (q.size() != req.query_embeddings[0].size()) {
      return Status::InvalidArgument("Inconsistent dimensions in provided embeddings");
    }
  }
  for (const auto& q : req.query_embeddings) {
    if (dim != 0 && q.size() != dim) return DimensionMismatch(dim, q.size());
  }
  result.per_query.resize(req.query_embeddings.size());
  if (dim == 0) return result;  // nothing was ever written
  if (req.unknown_ids_fail && req.ids && !req.where && !req.where_document) {
    for (const auto& id : *req.ids) {
      if (!store.Find(id)) {
        return Status::Internal("Error executing plan: Internal error: Error finding id");
      }
    }
  }
  if (store.size() == 0) return result;  // nothing to search
  const bool filtered = req.ids || req.where || req.where_document;
  // The allowed set (no order needed: the nearest decide).
  std::optional<OffsetBitmap> allowed;
  const bool built = store.document_index_built();
  if (filtered && !req.ids) {
    allowed = FilterMatching(store, req.where, req.where_document);
  } else if (filtered) {
    allowed = OffsetBitmap::FromOffsets(Select(store, req.ids, req.where, req.where_document));
  }
  RemeasureIfIndexBuilt(result.collection, built);
  const size_t ef =
      static_cast<size_t>(std::max<int64_t>(opened.first.configuration.hnsw.ef_search, 1));
  for (size_t qi = 0; qi < req.query_embeddings.size(); ++qi) {
    SearchPath path;
    auto neighbors = result.collection->search.Search(store, req.query_embeddings[qi].data(),
                                                      static_cast<size_t>(req.n_results),
                                                      allowed ? &*allowed : nullptr, ef, &path);
    if (path == SearchPath::kHnsw) hnsw_queries_.fetch_add(1);
    if (path == SearchPath::kBruteForce) brute_force_queries_.fetch_add(1);
    auto& out = result.per_query[qi];
    out.reserve(neighbors.size());
    for (auto [distance, o] : neighbors) {
      out.push_back(ViewOf(store, o));
      out.back().distance = distance;
    }
  }
  return result;
}

Result<RecordService::IndexingStatus> RecordService::GetIndexingStatus(
    const std::string& collection_id) {
  ASSIGN_OR_RETURN(auto opened, Open(collection_id));
  std::shared_lock data(opened.second->data_mu);
  IndexingStatus status;
  status.pending = static_cast<int64_t>(opened.second->search.pending());
  status.indexed = static_cast<int64_t>(opened.second->store.size()) - status.pending;
  return status;
}

Result<int64_t> RecordService::Count(const std::string& collection_id) {
  ASSIGN_OR_RETURN(auto opened, Open(collection_id));
  std::shared_lock data(opened.second->data_mu);
  return static_cast<int64_t>(opened.second->store.size());
}

Result<SearchResult> RecordService::Search(
    const std::string& collection_id, const SearchRequest& request,
    const std::map<std::string, bool, std::less<>>& bm25_keys) {
  ASSIGN_OR_RETURN(auto opened, Open(collection_id));
  SearchResult result;
  result.collection = opened.second;
  result.lock = std::shared_lock(result.collection->data_mu);
  const RecordStore& store = result.collection->store;
  size_t dim = store.dim();
  if (dim == 0 && opened.first.dimension) dim = static_cast<size_t>(*opened.first.dimension);
  const size_t ef =
      static_cast<size_t>(std::max<int64_t>(opened.first.configuration.hnsw.ef_search, 1));
  const bool built = store.document_index_built();
  SearchExecutor executor(store, result.collection->search, dim, ef, bm25_keys);
  for (const SearchQuery& q : request.searches) {
    ASSIGN_OR_RETURN(auto hits, executor.Run(q));
    auto& out = result.per_search.emplace_back();
    out.reserve(hits.size());
    for (const auto& h : hits) {
      out.push_back(ViewOf(store, h.offset));
      out.back().distance = h.score;
    }
  }
  RemeasureIfIndexBuilt(result.collection, built);
  const auto& paths = executor.paths();
  auto count = [](const char* kind, const char* path, int64_t n) {
    if (n == 0) return;
    Metrics()
        .GetCounter("chromahouse_search_plan_total",
                    "Search rank leaves by how they were answered: dense (graph or exact scan), "
                    "sparse (index or the filter's records scored one by one)",
                    {{"step", kind}, {"path", path}})
        .Add(n);
  };
  count("dense_knn", "graph", paths.dense_graph);
  count("dense_knn", "exact", paths.dense_exact);
  count("sparse_knn", "index", paths.sparse_index);
  count("sparse_knn", "filtered", paths.sparse_filtered);
  CountFilterPlan(
      {paths.filter_metadata_index, paths.filter_document_index, paths.filter_records_checked});
  hnsw_queries_.fetch_add(paths.dense_graph);
  brute_force_queries_.fetch_add(paths.dense_exact);
  return result;
}

std::vector<RecordService::LoadedInfo> RecordService::LoadedCollections() {
  std::map<std::string, size_t> sizes = cache_.Sizes();
  std::vector<LoadedInfo> out;
  for (const auto& loaded : cache_.Loaded()) {
    auto it = sizes.find(loaded->id);
    out.push_back({loaded->id, it == sizes.end() ? 0 : it->second, loaded->snapshot_id.load()});
  }
  return out;
}

}  // namespace chromahouse
