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
    std::lock_guard lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  for (auto& t : threads_) t.join();
}

void WorkerPool::Loop(size_t index) {
  uint64_t seen = 0;
  std::unique_lock lock(mu_);
  while (true) {
    cv_.wait(lock, [&] { return stop_ || generation_ != seen; });
    if (stop_) return;
    seen = generation_;
    if (index >= wanted_) continue;  // not needed for this job
    const std::function<void()>* work = work_;
    lock.unlock();
    (*work)();
    lock.lock();
    if (--running_ == 0) done_cv_.notify_all();
  }
}

void WorkerPool::Run(int threads, const std::function<void()>& work) {
  std::lock_guard run_lock(run_mu_);
  const size_t helpers =
      threads > 1 ? std::min(static_cast<size_t>(threads - 1), threads_.size()) : 0;
  if (helpers > 0) {
    std::lock_guard lock(mu_);
    work_ = &work;
    wanted_ = helpers;
    running_ = helpers;
    ++generation_;
  }
  cv_.notify_all();
  work();
  if (helpers > 0) {
    std::unique_lock lock(mu_);
    done_cv_.wait(lock, [&] { return running_ == 0; });
    work_ = nullptr;
  }
}

}  // namespace chromahouse
