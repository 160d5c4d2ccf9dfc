#include "collection/collection_cache.h"

#include <algorithm>

#include "common/log.h"

namespace chromahouse {

Result<std::shared_ptr<LoadedCollection>> CollectionCache::Get(const std::string& collection_id,
                                                               const HnswParams& params) {
  std::shared_ptr<Entry> entry;
  {
    std::lock_guard lock(mu_);
    auto& slot = entries_[collection_id];
    if (!slot) slot = std::make_shared<Entry>();
    entry = slot;
  }
  std::lock_guard load_lock(entry->load_mu);
  if (entry->value) return entry->value;
  ASSIGN_OR_RETURN(std::vector<RecordRow> rows, storage_->LoadRecords(collection_id));
  auto loaded = std::make_shared<LoadedCollection>(collection_id, params);
  // Insertion order is the order of first writes.
  std::sort(rows.begin(), rows.end(),
            [](const RecordRow& a, const RecordRow& b) { return a.created < b.created; });
  auto changes = loaded->store.Apply(rows);
  loaded->search.OnApplied(loaded->store, changes);
  LOG_DEBUG("loaded collection {} ({} records)", collection_id, rows.size());
  entry->value = loaded;
  return loaded;
}

std::shared_ptr<LoadedCollection> CollectionCache::Find(const std::string& collection_id) {
  std::shared_ptr<Entry> entry;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(collection_id);
    if (it == entries_.end()) return nullptr;
    entry = it->second;
  }
  std::lock_guard load_lock(entry->load_mu);
  return entry->value;
}

void CollectionCache::Drop(const std::string& collection_id) {
  std::lock_guard lock(mu_);
  entries_.erase(collection_id);
}

void CollectionCache::Clear() {
  std::lock_guard lock(mu_);
  entries_.clear();
}

size_t CollectionCache::size() {
  std::lock_guard lock(mu_);
  return entries_.size();
}

}  // namespace chromahouse
