#include "service/background_indexer.h"

#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/log.h"

namespace chromahouse {
namespace {

// The graph is an optimisation that may lag: request threads get the CPU first (Linux applies
// a thread's nice value to that thread alone).
void LowerPriority(const char* who) {
  if (setpriority(PRIO_PROCESS, static_cast<id_t>(syscall(SYS_gettid)), 10) != 0) {
    LOG_DEBUG("could not lower the priority of {}", who);
  }
}

}  // namespace

BackgroundIndexer::BackgroundIndexer(CollectionCache* cache, IndexSnapshotWriter* snapshots)
    : cache_(cache), snapshots_(snapshots), thread_([this] { Loop(); }) {}

BackgroundIndexer::~BackgroundIndexer() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
    stop_steps_ = true;
  }
  cv_.NotifyAll();
  thread_.join();
}

void BackgroundIndexer::SetThreads(int threads) {
  if (threads <= 0) threads = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  // Before serving: the indexer is idle, nothing uses the pool yet.
  pool_ = threads > 1 ? std::make_unique<WorkerPool>(threads - 1,
                                                     [] { LowerPriority("an indexer helper"); })
                      : nullptr;
  runner_ = [this](int n, const std::function<void()>& work) { pool_->Run(n, work); };
  threads_ = threads;
}

void BackgroundIndexer::ScheduleIfPending(const std::shared_ptr<LoadedCollection>& loaded) {
  if (loaded && loaded->HasPendingIndexing()) Schedule(loaded);
}

void BackgroundIndexer::Schedule(const std::shared_ptr<LoadedCollection>& loaded) {
  if (!loaded) return;
  {
    MutexLock lock(mu_);
    if (!scheduled_.insert(loaded->id()).second) return;  // already queued
    queue_.emplace_back(loaded->id(), loaded);
  }
  cv_.NotifyOne();
}

void BackgroundIndexer::Loop() {
  LowerPriority("the indexer");
  MutexLock lock(mu_);
  while (true) {
    while (!stopping_ && queue_.empty()) cv_.Wait(mu_);
    if (stopping_) return;
    auto [id, weak] = queue_.front();
    queue_.pop_front();
    scheduled_.erase(id);
    lock.Unlock();
    if (auto loaded = weak.lock()) {
      while (loaded->IndexStep(threads_.load(), pool_ ? &runner_ : nullptr) && !stop_steps_) {
      }
      // The graph's memory counts against the cache budget.
      cache_->Touch(loaded->id());
      if (!stop_steps_) {
        if (auto written = snapshots_->WriteIfDue(*loaded); !written.ok()) {
          LOG_WARN("collection {}: index snapshot not written: {}", loaded->id(),
                   written.status().ToString());
        }
      }
    }
    lock.Lock();
  }
}

}  // namespace chromahouse
