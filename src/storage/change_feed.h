// ChangeFeed: how instances tell each other about changes as they happen, so that a write
// acknowledged by one is seen by the others at once instead of at their next poll.
//
// Two kinds of news: the catalog changed, and "collection X holds rows up to version V"
// (announced by the instance that wrote them, after storage accepted them). An instance never
// hears its own announcements. News can be lost (a connection cut): `on_missed` then says that
// anything may have changed meanwhile, and the receiver catches up by reading storage.
//
// Thread safety: Announce may be called from any thread and never blocks on the network; the
// handlers run on the feed's own thread, one at a time.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace chromahouse {

class ChangeFeed {
 public:
  struct Handlers {
    std::function<void()> on_catalog;
    std::function<void(const std::string& collection_id, uint64_t version)> on_records;
    std::function<void()> on_missed;
  };
  virtual ~ChangeFeed() = default;

  // Starts listening; the handlers are called until Stop.
  virtual void Start(Handlers handlers) = 0;
  virtual void Stop() = 0;
  // Announces rows stored in `collection_id` up to `version` (coalesced per collection).
  virtual void AnnounceRecords(const std::string& collection_id, uint64_t version) = 0;
};

}  // namespace chromahouse
