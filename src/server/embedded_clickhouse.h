// EmbeddedClickHouse: a supervised clickhouse-server child for the embedded default mode.
//
// Layout under the data directory:
//   <dir>/chromahouse.lock      held (flock) by the running chromahouse: a second server on the
//                               same directory fails at once instead of sharing the data
//   <dir>/clickhouse/           generated config.xml + users.xml, data/, tmp/, log/, …
// The child listens on loopback only, on free ports chosen at start. A supervisor thread
// restarts it when it dies (logging the exit status and the tail of its error log). The child
// gets PR_SET_PDEATHSIG, so it is stopped even if chromahouse itself is killed with SIGKILL.
#pragma once

#include <atomic>
#include <string>
#include <thread>

#include "common/status.h"

#include "common/mutex.h"

namespace chromahouse {

struct EmbeddedClickHouseOptions {
  std::string data_dir;
  std::string binary = "clickhouse-server";
  int start_timeout_seconds = 60;
};

class EmbeddedClickHouse {
 public:
  explicit EmbeddedClickHouse(EmbeddedClickHouseOptions options);
  ~EmbeddedClickHouse();

  // Takes the directory lock, writes the config, starts the child and waits until it answers.
  Status Start();
  // Stops the child (SIGTERM, then SIGKILL after 30 s) and the supervisor.
  void Stop();

  std::string url() const { return "http://127.0.0.1:" + std::to_string(http_port_); }
  int pid() const { return child_pid_.load(); }
  int restarts() const { return restarts_.load(); }

 private:
  Status AcquireLock();
  Status WriteConfig();
  int Spawn();  // returns the child's pid, or -1
  void Supervise();
  std::string ErrorLogTail() const;

  EmbeddedClickHouseOptions options_;
  std::string ch_dir_;
  int lock_fd_ = -1;
  int http_port_ = 0;
  int tcp_port_ = 0;
  std::thread supervisor_;
  std::atomic<int> child_pid_{0};
  std::atomic<int> restarts_{0};
  Mutex mu_;
  CondVar cv_;  // waits on mu_
  bool stop_ GUARDED_BY(mu_) = false;
  std::atomic<bool> spawn_failed_{false};
};

}  // namespace chromahouse
