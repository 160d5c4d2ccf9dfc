// LifoWorkers: the threads that run request handlers. The thread that went idle last takes the
// next request. With a first-in-first-out hand-off (asio::thread_pool wakes the longest waiting
// thread) consecutive requests rotate through every worker, and each arrives on a thread whose
// caches went cold since its last turn: its search scratch (visited marks sized to the
// collection), its JSON parser's buffers, its stack. Under a steady load only as many threads
// stay busy as there are requests in flight.
//
// Thread-safe. Join() runs every task posted before it, then stops the threads.
#pragma once

#include <deque>
#include <functional>
#include <thread>
#include <vector>

#include "common/mutex.h"

namespace chromahouse {

class LifoWorkers {
 public:
  explicit LifoWorkers(int threads);
  ~LifoWorkers();
  LifoWorkers(const LifoWorkers&) = delete;
  LifoWorkers& operator=(const LifoWorkers&) = delete;

  void Post(std::function<void()> task);
  void Join();

 private:
  struct Idle {
    CondVar cv;          // waits on mu_
    bool woken = false;  // guarded by mu_
  };
  void Run();

  Mutex mu_;
  std::deque<std::function<void()>> tasks_ GUARDED_BY(mu_);
  std::vector<Idle*> idle_ GUARDED_BY(mu_);  // back = most recently idle
  bool stopping_ GUARDED_BY(mu_) = false;
  std::vector<std::thread> threads_;
};

}  // namespace chromahouse
