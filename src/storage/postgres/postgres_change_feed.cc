#include "storage/postgres/postgres_change_feed.h"

#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <charconv>

#include "common/log.h"
#include "common/uuid.h"
#include "storage/postgres/postgres_catalog_store.h"

namespace chromahouse {

PostgresChangeFeed::PostgresChangeFeed(std::string url)
    : url_(std::move(url)), tag_(NewUuidV4().substr(0, 8)) {
  wake_fd_ = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

PostgresChangeFeed::~PostgresChangeFeed() {
  Stop();
  if (wake_fd_ >= 0) close(wake_fd_);
}

void PostgresChangeFeed::Start(Handlers handlers) {
  handlers_ = std::move(handlers);
  thread_ = std::thread([this] { Run(); });
}

void PostgresChangeFeed::Stop() {
  stopping_ = true;
  Wake();
  if (thread_.joinable()) thread_.join();
}

void PostgresChangeFeed::Wake() {
  uint64_t one = 1;
  ssize_t n = write(wake_fd_, &one, sizeof one);
  (void)n;
}

void PostgresChangeFeed::AnnounceRecords(const std::string& collection_id, uint64_t version) {
  {
    MutexLock lock(mu_);
    uint64_t& queued = queued_[collection_id];
    queued = std::max(queued, version);
  }
  Wake();
}

bool PostgresChangeFeed::SendQueued(PgConnection& conn) {
  std::map<std::string, uint64_t> batch;
  {
    MutexLock lock(mu_);
    batch.swap(queued_);
  }
  for (auto it = batch.begin(); it != batch.end(); it = batch.erase(it)) {
    auto sent = conn.Exec(
        "announce a write", "SELECT pg_notify($1, $2)",
        {std::string(kRecordsChannel), tag_ + " " + it->first + " " + std::to_string(it->second)});
    if (!sent.ok()) {
      // Sent again on the next connection (queued again, newest version per collection).
      LOG_DEBUG("announcing a write failed: {}", sent.status().message());
      MutexLock lock(mu_);
      for (const auto& [id, version] : batch) {
        uint64_t& queued = queued_[id];
        queued = std::max(queued, version);
      }
      return false;
    }
    sent_.fetch_add(1);
  }
  return true;
}

void PostgresChangeFeed::Run() {
  std::unique_ptr<PgConnection> conn;
  while (!stopping_) {
    if (!conn) {
      auto connected = PgConnection::Connect(url_, 3, 5000);
      if (connected.ok()) {
        conn = std::move(connected).value();
        Status s = conn->Exec("listen", std::string("LISTEN ") + PostgresCatalogStore::kChannel +
                                            "; LISTEN " + kRecordsChannel)
                       .status();
        if (!s.ok()) conn.reset();
      }
      if (!conn) {
        pollfd wake{wake_fd_, POLLIN, 0};
        poll(&wake, 1, 1000);
        uint64_t drained;
        ssize_t n = read(wake_fd_, &drained, sizeof drained);
        (void)n;
        continue;
      }
      // Anything may have been missed before this connection listened.
      if (handlers_.on_missed) handlers_.on_missed();
    }
    if (!SendQueued(*conn)) {
      conn.reset();
      continue;
    }
    pollfd fds[2] = {{conn->Socket(), POLLIN, 0}, {wake_fd_, POLLIN, 0}};
    poll(fds, 2, 1000);
    if (fds[1].revents & POLLIN) {
      uint64_t drained;
      ssize_t n = read(wake_fd_, &drained, sizeof drained);
      (void)n;
    }
    if (!conn->ConsumeInput().ok() || !conn->ok()) {
      LOG_WARN(
          "lost the PostgreSQL change feed; reconnecting (other instances' writes are "
          "read again once it is back)");
      conn.reset();
      continue;
    }
    bool catalog = false;
    while (auto n = conn->NextNotification()) {
      received_.fetch_add(1);
      if (n->first == PostgresCatalogStore::kChannel) {
        catalog = true;
        continue;
      }
      // "<tag> <collection id> <version>"
      const std::string& p = n->second;
      const size_t a = p.find(' '), b = p.rfind(' ');
      if (a == std::string::npos || b == a) continue;
      if (std::string_view(p).substr(0, a) == tag_) continue;  // our own
      uint64_t version = 0;
      std::from_chars(p.data() + b + 1, p.data() + p.size(), version);
      if (handlers_.on_records) handlers_.on_records(p.substr(a + 1, b - a - 1), version);
    }
    if (catalog && handlers_.on_catalog) handlers_.on_catalog();
  }
}

}  // namespace chromahouse
