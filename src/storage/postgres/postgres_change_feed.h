// PostgresChangeFeed: ChangeFeed over PostgreSQL's LISTEN/NOTIFY, on the catalog's database.
//
// Channels: `chromahouse_catalog` (sent by PostgresCatalogStore in every catalog transaction)
// and `chromahouse_records` (payload "<instance tag> <collection id> <version>"). One thread
// holds one connection that listens and also sends this instance's announcements, which
// Announce queues (newest version per collection) and wakes the thread for through an eventfd.
// After a connection is lost it reconnects every second; every (re)connection reports
// `on_missed`, since notifications sent meanwhile are gone.
//
// Thread safety: see ChangeFeed. `mu_` guards the queued announcements.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <string>
#include <thread>

#include "common/mutex.h"
#include "storage/change_feed.h"
#include "storage/postgres/pg_connection.h"

namespace chromahouse {

class PostgresChangeFeed : public ChangeFeed {
 public:
  static constexpr const char* kRecordsChannel = "chromahouse_records";

  explicit PostgresChangeFeed(std::string url);
  ~PostgresChangeFeed() override;

  void Start(Handlers handlers) override;
  void Stop() override;
  void AnnounceRecords(const std::string& collection_id, uint64_t version) override;

  // Notifications received and announcements sent so far (for tests and metrics).
  uint64_t received() const { return received_.load(); }
  uint64_t sent() const { return sent_.load(); }

 private:
  void Run();
  void Wake();
  // Sends the queued announcements; false when the connection failed.
  bool SendQueued(PgConnection& conn);

  const std::string url_;
  const std::string tag_;  // this instance's mark on its announcements
  Handlers handlers_;
  int wake_fd_ = -1;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> received_{0}, sent_{0};
  std::thread thread_;
  Mutex mu_;
  std::map<std::string, uint64_t> queued_ GUARDED_BY(mu_);  // collection id → newest version
};

}  // namespace chromahouse
