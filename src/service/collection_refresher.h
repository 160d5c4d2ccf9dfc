// CollectionRefresher: freshness of loaded collections relative to writes by other instances
// on the same storage (ARCHITECTURE.md "Freshness across instances").
//
// A refresh reads the (id, version) pairs newer than the collection's watermark minus a window,
// then the rows it lacks, and applies them (RecordCommitter::Apply; idempotent by version).
// While the versions storage holds above the window are those this instance knows of (one
// summary row compared), nothing more is read. Requests refresh a collection that is too old
// before using it (BeforeUse); a background thread keeps collections in use fresh: polled every
// max_staleness / 2, where one cheap read of storage's write count (OwnWrites) first tells
// whether anybody else wrote at all, or — with announcements (a ChangeFeed calls
// OnAnnouncedWrite …) — as soon as a write is announced.
//
// Thread safety: all methods are thread-safe; Enable once, before serving.
#pragma once

#include <atomic>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <thread>

#include "collection/collection_cache.h"
#include "collection/loaded_collection.h"
#include "common/clock.h"
#include "common/mutex.h"
#include "common/status.h"
#include "service/catalog_service.h"
#include "service/own_writes.h"
#include "service/record_committer.h"
#include "storage/storage.h"

namespace chromahouse {

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
  // An instance that served no request on the catalog or a collection for this long polls
  // nothing (neither the catalog's fingerprint nor storage's write count; collections unused
  // this long are never refreshed in the background): the first request after the rest checks
  // the catalog and its collection itself, by the age rule above. An idle instance then costs
  // its ClickHouse nothing (each poll is a query: 36 a second by default).
  int64_t idle_after_ms = 60000;
};

class CollectionRefresher {
 public:
  CollectionRefresher(CatalogService* catalog, Storage* storage, VersionClock* clock,
                      CollectionCache* cache, RecordCommitter* committer, OwnWrites* own_writes)
      : catalog_(catalog),
        storage_(storage),
        clock_(clock),
        cache_(cache),
        committer_(committer),
        own_writes_(own_writes) {}
  ~CollectionRefresher();  // stops the background thread

  // Turns refreshing on (starts the background thread when the options call for one).
  void Enable(FreshnessOptions options);
  // A request is about to use `loaded`: refreshes it first when it is too old or a write to it
  // was announced. When storage cannot be read, the request is served from memory (writes fail
  // anyway until storage is back).
  void BeforeUse(LoadedCollection& loaded);
  // Brings `loaded` up to date with storage. `max_age_ms` >= 0 skips the work if a refresh
  // finished that recently. When storage cannot be read, the attempt counts as a refresh for
  // `max_age_ms`: requests queued behind it do not each wait for storage in turn.
  Status Refresh(LoadedCollection& loaded, int64_t max_age_ms = -1);

  // News from other instances: rows of `collection_id` up to `version` are stored; the catalog
  // changed; news may have been lost (refresh everything). Cheap, never block on storage.
  void OnAnnouncedWrite(const std::string& collection_id, uint64_t version);
  void OnAnnouncedCatalogChange();
  void OnAnnouncementsMissed();

 private:
  // Refresh's work, under the collection's refresh turn.
  Status RefreshLocked(LoadedCollection& loaded, int64_t start);
  // The background thread when polling: keeps collections in use fresh.
  void PollLoop();
  // The background thread when writes are announced: refreshes what announcements name.
  void AnnouncedLoop();
  // Whether anything was written to storage's records from elsewhere since the last look (see
  // the header note); any doubt counts as "written elsewhere". Poll thread only.
  bool QuietSinceLastLook();
  void Wake();

  CatalogService* catalog_;
  Storage* storage_;
  VersionClock* clock_;
  CollectionCache* cache_;
  RecordCommitter* committer_;
  OwnWrites* own_writes_;
  FreshnessOptions options_;  // set by Enable, before serving

  Mutex mu_;    // guards the loop's wake-up state
  CondVar cv_;  // waits on mu_
  bool stopping_ GUARDED_BY(mu_) = false;
  bool refresh_wanted_ GUARDED_BY(mu_) = false;
  bool catalog_announced_ GUARDED_BY(mu_) = false;
  bool announcements_missed_ GUARDED_BY(mu_) = false;
  std::atomic<bool> stop_{false};  // stopping_, read between collections without mu_
  std::thread thread_;

  // The last look at storage's write count (poll thread only).
  std::optional<uint64_t> look_count_;  // storage's count then
  uint64_t look_own_ = 0;               // this instance's stored writes then
  int64_t look_end_ms_ = 0;             // when it ended (after its count)
  // The last time a look found writes from elsewhere or could not tell; the maximum while no
  // look was made (announced or per-request freshness: full scans as scheduled). A collection's
  // scheduled full scan is skipped when nothing was unsettled since its last one.
  std::atomic<int64_t> unsettled_ms_{std::numeric_limits<int64_t>::max()};
};

}  // namespace chromahouse
