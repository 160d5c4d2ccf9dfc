// IndexSnapshotWriter: the policy that decides when a collection's graph is saved to Storage as
// an index snapshot (collection/index_snapshot.h), and the writing itself. A later load adopts
// the snapshot instead of building the graph again.
//
// Thread safety: WriteIfDue may run for different collections at once (the background indexer
// calls it after catching up; tests and benchmarks directly). SetOptions before serving.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>

#include "collection/loaded_collection.h"
#include "common/clock.h"
#include "common/status.h"
#include "storage/storage.h"

namespace chromahouse {

struct SnapshotOptions {
  // Collections with at least this many records get snapshots of their graph; 0 = never write
  // any (snapshots that exist are still read).
  size_t min_records = 0;
  // A new snapshot once this fraction of the records changed (or were never in one).
  double change_fraction = 0.2;
};

class IndexSnapshotWriter {
 public:
  IndexSnapshotWriter(Storage* storage, VersionClock* clock) : storage_(storage), clock_(clock) {}

  void SetOptions(SnapshotOptions options) { options_ = options; }
  // Writes a snapshot of `loaded`'s graph if the policy calls for one: enough records, enough
  // of them changed since the last snapshot, no newer snapshot by another instance, a graph
  // holding every record. Returns whether one was written. After a failure, no new attempt for
  // a minute.
  Result<bool> WriteIfDue(LoadedCollection& loaded);

  struct Counts {
    int64_t written = 0;
    int64_t failed = 0;
    int64_t bytes = 0;
  };
  Counts counts() const { return {written_.load(), failed_.load(), bytes_.load()}; }

 private:
  Storage* storage_;
  VersionClock* clock_;
  SnapshotOptions options_;
  std::atomic<int64_t> written_{0};
  std::atomic<int64_t> failed_{0};
  std::atomic<int64_t> bytes_{0};
};

}  // namespace chromahouse
