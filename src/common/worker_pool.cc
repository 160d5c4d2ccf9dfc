#include "common/worker_pool.h"

#include <algorithm>

namespace chromahouse {

WorkerPool::WorkerPool(int threads, std::function<void()> on_start) {
  for (int i = 0; i < threads; ++i) {
    threads_.emplace_back([this, i, on_start] {
      if (on_start) on_start();
      Loop(static_cast<size_t>(i));
    });
  }
}

WorkerPool::~WorkerPool() {
  {
    MutexLock lock(mu_);
    stop_ = true;
  }
  cv_.NotifyAll();
  for (auto& t : threads_) t.join();
}

void WorkerPool::Loop(size_t index) {
  uint64_t seen = 0;
  MutexLock lock(mu_);
  while (true) {
    while (!stop_ && generation_ == seen) cv_.Wait(mu_);
    if (stop_) return;
    seen = generation_;
    if (index >= wanted_) continue;  // not needed for this job
    const std::function<void()>* work = work_;
    lock.Unlock();
    (*work)();
    lock.Lock();
    if (--running_ == 0) done_cv_.NotifyAll();
  }
}

void WorkerPool::Run(int threads, const std::function<void()>& work) {
  MutexLock run_lock(run_mu_);
  const size_t helpers =
      threads > 1 ? std::min(static_cast<size_t>(threads - 1), threads_.size()) : 0;
  if (helpers > 0) {
    MutexLock lock(mu_);
    work_ = &work;
    wanted_ = helpers;
    running_ = helpers;
    ++generation_;
  }
  cv_.NotifyAll();
  work();
  if (helpers > 0) {
    MutexLock lock(mu_);
    while (running_ != 0) done_cv_.Wait(mu_);
    work_ = nullptr;
  }
}

}  // namespace chromahouse
