#include "service/collection_refresher.h"

#include <algorithm>
#include <chrono>
#include <utility>
#include <vector>

#include "common/log.h"
#include "common/metrics.h"

namespace chromahouse {

CollectionRefresher::~CollectionRefresher() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
    stop_ = true;
  }
  cv_.NotifyAll();
  if (thread_.joinable()) thread_.join();
}

void CollectionRefresher::Enable(FreshnessOptions options) {
  options_ = options;
  committer_->SetRefreshWindow(options.max_staleness_ms < 0 ? -1 : options.window_ms);
  if (options.announced) {
    catalog_->SetMaxStaleness(options.announced_fallback_ms);
    if (!thread_.joinable()) thread_ = std::thread([this] { AnnouncedLoop(); });
    return;
  }
  catalog_->SetMaxStaleness(options.max_staleness_ms);
  if (options.max_staleness_ms > 0 && !thread_.joinable()) {
    thread_ = std::thread([this] { PollLoop(); });
  }
}

void CollectionRefresher::BeforeUse(LoadedCollection& loaded) {
  RefreshState& state = loaded.refresh;
  const int64_t now = SteadyMillis();
  state.used_ms.store(now);
  const int64_t max_staleness =
      options_.announced ? options_.announced_fallback_ms : options_.max_staleness_ms;
  if (max_staleness < 0) return;
  if (now - state.refreshed_ms.load() < max_staleness && !state.HasAnnouncement()) return;
  // (A failed refresh counts as one for a while: see Refresh.)
  if (Status s = Refresh(loaded, max_staleness == 0 ? -1 : max_staleness); !s.ok()) {
    LOG_WARN("collection {} may be stale: {}", loaded.id(), s.message());
  }
}

void CollectionRefresher::Wake() { cv_.NotifyAll(); }

void CollectionRefresher::OnAnnouncedWrite(const std::string& collection_id, uint64_t version) {
  auto loaded = cache_->Find(collection_id);
  if (!loaded) return;  // read whole from storage when it is loaded
  // Any announcement calls for a refresh, whatever its version: rows commit out of version
  // order, so one of a lower version than rows already read may be new.
  (void)version;
  loaded->refresh.announced.fetch_add(1);
  {
    MutexLock lock(mu_);
    refresh_wanted_ = true;
  }
  Wake();
}

void CollectionRefresher::OnAnnouncedCatalogChange() {
  {
    MutexLock lock(mu_);
    catalog_announced_ = refresh_wanted_ = true;
  }
  Wake();
}

void CollectionRefresher::OnAnnouncementsMissed() {
  {
    MutexLock lock(mu_);
    announcements_missed_ = refresh_wanted_ = true;
  }
  Wake();
}

void CollectionRefresher::AnnouncedLoop() {
  MutexLock lock(mu_);
  while (true) {
    while (!stopping_ && !refresh_wanted_) cv_.Wait(mu_);
    if (stopping_) return;
    refresh_wanted_ = false;
    const bool catalog = std::exchange(catalog_announced_, false);
    const bool missed = std::exchange(announcements_missed_, false);
    lock.Unlock();
    if (catalog || missed) {
      Status s = catalog_->RefreshIfOlderThan(-1);
      if (!s.ok()) LOG_DEBUG("catalog refresh failed: {}", s.message());
    }
    for (const auto& loaded : cache_->Loaded()) {
      if (stop_) break;
      if (!missed && !loaded->refresh.HasAnnouncement()) continue;
      // Unless news was lost, a collection whose announcements a request served meanwhile (while
      // this loop waited for its turn) is not read again: any age counts as fresh then.
      Status s = Refresh(*loaded, missed ? -1 : std::numeric_limits<int64_t>::max());
      if (!s.ok()) LOG_DEBUG("refresh of collection {} failed: {}", loaded->id(), s.message());
    }
    lock.Lock();
  }
}

void CollectionRefresher::PollLoop() {
  // Keeps collections in use fresh so that requests rarely wait for a refresh themselves.
  const int64_t period = std::max<int64_t>(options_.max_staleness_ms / 2, 5);
  MutexLock lock(mu_);
  while (!stopping_) {
    cv_.WaitFor(mu_, std::chrono::milliseconds(period));
    if (stopping_) return;
    if (SteadyMillis() - catalog_->last_used_ms() > options_.idle_after_ms) continue;
    lock.Unlock();
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
    for (const auto& loaded : cache_->Loaded()) {
      if (stop_) break;
      RefreshState& state = loaded->refresh;
      if (now - state.used_ms.load() > options_.idle_after_ms) continue;  // refreshed on next use
      if (quiet && !state.HasAnnouncement()) {
        int64_t refreshed = state.refreshed_ms.load();
        while (refreshed >= previous_look_end && refreshed < look_end &&
               !state.refreshed_ms.compare_exchange_weak(refreshed, look_end)) {
        }
        if (state.refreshed_ms.load() >= look_end) continue;
      }
      Status s = Refresh(*loaded, period);
      if (!s.ok()) LOG_DEBUG("refresh of collection {} failed: {}", loaded->id(), s.message());
    }
    lock.Lock();
  }
}

bool CollectionRefresher::QuietSinceLastLook() {
  // Waits for this instance's writes in flight, a few ms at most (else: cannot tell).
  std::optional<uint64_t> count;
  uint64_t own = 0;
  auto look = own_writes_->WhileNoneInFlight(std::chrono::milliseconds(20),
                                             [this] { return storage_->RecordWriteCount(); });
  if (look && look->first.ok()) {
    count = *look->first;
    own = look->second;
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

Status CollectionRefresher::Refresh(LoadedCollection& loaded, int64_t max_age_ms) {
  RefreshState& state = loaded.refresh;
  RefreshState::Turn turn(state);
  const int64_t start = SteadyMillis();
  // Another request may have refreshed (or tried to) while this one waited for the turn.
  if (max_age_ms >= 0 && start - state.refreshed_ms.load() <= max_age_ms &&
      !state.HasAnnouncement()) {
    return Status::Ok();
  }
  // Writes announced before this point are read now; later ones call for another refresh.
  const uint64_t announced = state.announced.load();
  Status s = RefreshLocked(loaded, start);
  // Storage is away (or hangs until the statement times out): the requests waiting for this
  // turn are served from memory instead of each waiting for storage in turn (the fallback age
  // rule tries again later).
  if (!s.ok()) state.refreshed_ms.store(SteadyMillis());
  uint64_t served = state.announced_served.load();
  while (served < announced && !state.announced_served.compare_exchange_weak(served, announced)) {
  }
  return s;
}

Status CollectionRefresher::RefreshLocked(LoadedCollection& loaded, int64_t start) {
  RefreshState& state = loaded.refresh;
  const uint64_t watermark = state.watermark.load();
  const uint64_t window = static_cast<uint64_t>(std::max<int64_t>(options_.window_ms, 0)) << 22;
  // (Not while every look since the last full scan found nothing written elsewhere.)
  const bool full_scan = options_.full_scan_seconds > 0 &&
                         start - state.full_scan_ms.load() >= options_.full_scan_seconds * 1000 &&
                         unsettled_ms_.load() >= state.full_scan_ms.load();
  const uint64_t from = full_scan ? 0 : watermark > window ? watermark - window : 0;
  if (!full_scan && state.window_known() && !state.HasAnnouncement()) {
    // Usually nothing arrived from elsewhere: storage holds exactly the versions this instance
    // knows about, and a summary of them (one row from ClickHouse) says so. (After an
    // announced write something did arrive: the summary is skipped.)
    ASSIGN_OR_RETURN(Storage::VersionSummary stored,
                     storage_->SummarizeRecordVersions(loaded.id(), from));
    Storage::VersionSummary known;
    const std::vector<uint64_t> versions = state.KnownAbove(from);
    for (uint64_t version : versions) known.Add(version);
    if (stored == known) {
      const uint64_t highest = versions.empty() ? watermark : std::max(watermark, versions.back());
      clock_->Observe(highest);
      state.watermark.store(highest);
      state.refreshed_ms.store(start);
      return Status::Ok();
    }
  }
  const size_t mark = state.NotedMark();  // versions noted from here on may be missing below
  ASSIGN_OR_RETURN(auto versions, storage_->LoadRecordVersions(loaded.id(), from));
  if (full_scan) state.full_scan_ms.store(start);
  uint64_t highest = watermark;
  std::vector<std::string> missing;
  {
    LoadedCollection::ReadLock data(loaded);
    for (const auto& [id, version] : versions) {
      highest = std::max(highest, version);
      if (loaded.store().KnownVersion(id) < version) missing.push_back(id);
    }
  }
  if (!missing.empty()) {
    std::sort(missing.begin(), missing.end());
    missing.erase(std::unique(missing.begin(), missing.end()), missing.end());
    ASSIGN_OR_RETURN(std::vector<RecordRow> rows,
                     storage_->LoadRecordsByIds(loaded.id(), missing, from));
    std::sort(rows.begin(), rows.end(),
              [](const RecordRow& a, const RecordRow& b) { return a.created < b.created; });
    committer_->Apply(loaded, rows);
    static Counter& refreshed = Metrics().GetCounter(
        "chromahouse_refresh_rows_total",
        "Rows written by other instances and applied to loaded collections", {});
    refreshed.Add(static_cast<int64_t>(rows.size()));
  }
  // What storage holds above the next refresh's window, and what writers stored meanwhile.
  const uint64_t keep_above = highest > window ? highest - window : 0;
  std::vector<uint64_t> known;
  for (const auto& [id, version] : versions) {
    if (version > keep_above) known.push_back(version);
  }
  state.ReplaceWindow(std::move(known), mark);
  clock_->Observe(highest);
  state.watermark.store(highest);
  state.refreshed_ms.store(start);
  return Status::Ok();
}

}  // namespace chromahouse
