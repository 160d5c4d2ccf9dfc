// BackgroundIndexer: the thread that moves written records into their collection's graph, in
// steps (VectorSearch::IndexStep) so that queries and writes never wait long for it, at a lower
// CPU priority than request threads. After catching up on a collection it re-measures the
// collection against the cache budget and offers it to the index snapshot writer.
//
// Thread safety: all methods are thread-safe; SetThreads before serving.
#pragma once

#include <atomic>
#include <deque>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <utility>

#include "collection/collection_cache.h"
#include "collection/loaded_collection.h"
#include "common/mutex.h"
#include "common/worker_pool.h"
#include "service/index_snapshot_writer.h"

namespace chromahouse {

class BackgroundIndexer {
 public:
  BackgroundIndexer(CollectionCache* cache, IndexSnapshotWriter* snapshots);
  ~BackgroundIndexer();  // stops after the step in progress

  // Threads of the bulk steps (a collection loaded without a snapshot, a large ingest);
  // 0 = one per core.
  void SetThreads(int threads);
  // Queues `loaded` (once, however often it is asked) when records wait for its graph.
  void ScheduleIfPending(const std::shared_ptr<LoadedCollection>& loaded);
  // Queues `loaded` whatever waits: its memory is measured again after the step (a document
  // index was built, for instance).
  void Schedule(const std::shared_ptr<LoadedCollection>& loaded);

 private:
  void Loop();

  CollectionCache* cache_;
  IndexSnapshotWriter* snapshots_;
  Mutex mu_;
  CondVar cv_;  // waits on mu_
  std::deque<std::pair<std::string, std::weak_ptr<LoadedCollection>>> queue_ GUARDED_BY(mu_);
  std::set<std::string> scheduled_ GUARDED_BY(mu_);  // the ids in queue_
  bool stopping_ GUARDED_BY(mu_) = false;
  std::atomic<bool> stop_steps_{false};  // stopping_, read between steps without mu_
  std::atomic<int> threads_{1};
  std::unique_ptr<WorkerPool> pool_;  // threads_ − 1 helpers, kept between steps
  HnswIndex::ParallelRunner runner_;
  std::thread thread_;
};

}  // namespace chromahouse
