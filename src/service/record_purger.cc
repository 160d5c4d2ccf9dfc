#include "service/record_purger.h"

#include "common/log.h"

namespace chromahouse {

RecordPurger::RecordPurger(Storage* storage) : storage_(storage), thread_([this] { Loop(); }) {}

RecordPurger::~RecordPurger() {
  {
    MutexLock lock(mu_);
    stopping_ = true;
  }
  cv_.NotifyAll();
  thread_.join();
}

void RecordPurger::Purge(const std::vector<std::string>& collection_ids) {
  {
    MutexLock lock(mu_);
    queue_.insert(queue_.end(), collection_ids.begin(), collection_ids.end());
  }
  cv_.NotifyAll();
}

void RecordPurger::Loop() {
  MutexLock lock(mu_);
  while (true) {
    while (!stopping_ && queue_.empty()) cv_.Wait(mu_);
    if (stopping_) return;
    std::string id = queue_.front();
    queue_.pop_front();
    lock.Unlock();
    if (Status s = storage_->PurgeRecords(id); !s.ok()) {
      LOG_WARN("could not purge the records of deleted collection {}: {}", id, s.message());
    }
    lock.Lock();
  }
}

}  // namespace chromahouse
