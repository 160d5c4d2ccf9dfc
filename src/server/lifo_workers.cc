#include "server/lifo_workers.h"

#include <algorithm>

namespace chromahouse {

LifoWorkers::LifoWorkers(int threads) {
  for (int i = 0; i < std::max(1, threads); ++i) threads_.emplace_back([this] { Run(); });
}

LifoWorkers::~LifoWorkers() { Join(); }

void LifoWorkers::Post(std::function<void()> task) {
  MutexLock lock(mu_);
  tasks_.push_back(std::move(task));
  if (!idle_.empty()) {
    Idle* next = idle_.back();
    idle_.pop_back();
    next->woken = true;
    next->cv.NotifyOne();
  }
}

void LifoWorkers::Run() {
  Idle self;
  MutexLock lock(mu_);
  while (true) {
    if (!tasks_.empty()) {
      std::function<void()> task = std::move(tasks_.front());
      tasks_.pop_front();
      lock.Unlock();
      task();
      task = nullptr;  // destroyed outside the lock
      lock.Lock();
      continue;
    }
    if (stopping_) return;
    self.woken = false;
    idle_.push_back(&self);
    while (!self.woken && !stopping_) self.cv.Wait(mu_);
    // Woken by Post (already off the stack) or by Join (still on it).
    std::erase(idle_, &self);
  }
}

void LifoWorkers::Join() {
  {
    MutexLock lock(mu_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
    for (Idle* w : idle_) w->cv.NotifyOne();
  }
  for (auto& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

}  // namespace chromahouse
