// RecordPurger: removes the stored records of deleted collections in the background (the
// catalog forgets a collection at once; its rows go later).
//
// Thread safety: all methods are thread-safe.
#pragma once

#include <deque>
#include <string>
#include <thread>
#include <vector>

#include "common/mutex.h"
#include "storage/storage.h"

namespace chromahouse {

class RecordPurger {
 public:
  explicit RecordPurger(Storage* storage);
  ~RecordPurger();  // after the purge in progress; queued ones are left (orphans, harmless)

  void Purge(const std::vector<std::string>& collection_ids);

 private:
  void Loop();

  Storage* storage_;
  Mutex mu_;
  CondVar cv_;  // waits on mu_
  std::deque<std::string> queue_ GUARDED_BY(mu_);
  bool stopping_ GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace chromahouse
