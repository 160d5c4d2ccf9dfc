// InstanceRegistry: the instances that share one record store announce themselves there (a
// beat every few seconds: instance key, where it keeps its catalog), so that an unsafe
// deployment is noticed: several instances with the catalog in ClickHouse, which cannot keep
// a collection name unique across processes.
//
// An instance whose catalog is in ClickHouse and that sees a live beat of any other instance
// (newer than the expiry, and written after this instance started: a crashed predecessor's
// last beats do not count) refuses catalog writes until none is seen: CatalogWritesAllowed
// names the other instance and the fix (--catalog-url). It cannot close every window: an
// instance that starts sees the others only at their next beat (they see it at once), so two
// instances can both write within one beat of the second one's start; an instance that
// stopped without a last beat counts as live for the others until its beat expires; and the
// comparison uses each host's clock (skew shortens or lengthens these times).
//
// Thread safety: all methods are thread-safe; `mu_` guards what the last look found.
#pragma once

#include <atomic>
#include <string>
#include <thread>
#include <vector>

#include "common/mutex.h"
#include "common/status.h"
#include "storage/storage.h"

namespace chromahouse {

class InstanceRegistry {
 public:
  struct Options {
    std::string instance;  // this instance's key: "<host>:<port>"
    bool catalog_in_clickhouse = true;
    int64_t beat_ms = 5000;
    int64_t expiry_ms = 15000;
  };
  InstanceRegistry(Storage* storage, Options options);
  ~InstanceRegistry();  // Stop()

  // Beats and looks once (errors are returned, and the background goes on anyway), then
  // beats in the background.
  Status Start();
  // Writes a last beat that says this instance stopped.
  void Stop();

  // Ok, or FailedPrecondition naming another live instance and the fix, while this instance
  // keeps its catalog in ClickHouse and another one shares the store.
  Status CatalogWritesAllowed() const;
  // The other live instances seen at the last look.
  std::vector<std::string> others() const;

  // One beat and look (the background loop's step; tests call it directly).
  Status BeatOnce();

 private:
  void Loop();

  Storage* const storage_;
  const Options options_;
  const int64_t started_ms_;
  mutable Mutex mu_;
  std::vector<std::string> others_ GUARDED_BY(mu_);
  bool warned_ GUARDED_BY(mu_) = false;
  CondVar cv_;  // waits on mu_
  bool stopping_ GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace chromahouse
