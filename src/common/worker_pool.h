// WorkerPool: a few long-lived threads that run one parallel job at a time with the caller:
// Run(n, work) calls `work` on n threads (the caller's and n − 1 of the pool's) and returns when
// every call has returned. Threads that live on keep their thread-local scratch (a graph search's
// visited marks are megabytes at a million records), which threads started per job would
// allocate and fault in again every time.
//
// Thread safety: Run may be called from any thread, one job at a time (concurrent calls queue).
#pragma once

#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

#include "common/mutex.h"

namespace chromahouse {

class WorkerPool {
 public:
  // `threads` helpers (0 = Run uses the caller only). `on_start` runs first on each helper
  // (e.g. to lower its priority).
  explicit WorkerPool(int threads, std::function<void()> on_start = nullptr);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  int helpers() const { return static_cast<int>(threads_.size()); }
  void Run(int threads, const std::function<void()>& work);

 private:
  void Loop(size_t index);

  Mutex run_mu_ ACQUIRED_BEFORE(mu_);  // one job at a time
  Mutex mu_;
  CondVar cv_;       // waits on mu_: a new job or stop
  CondVar done_cv_;  // waits on mu_: the helpers finished the job
  const std::function<void()>* work_ GUARDED_BY(mu_) = nullptr;
  size_t wanted_ GUARDED_BY(mu_) = 0;   // helpers that take part in this job
  size_t running_ GUARDED_BY(mu_) = 0;  // helpers still in this job
  uint64_t generation_ GUARDED_BY(mu_) = 0;
  bool stop_ GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace chromahouse
