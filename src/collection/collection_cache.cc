#include "collection/collection_cache.h"

#include <algorithm>
#include <future>
#include <optional>

#include "common/clock.h"
#include "common/log.h"

namespace chromahouse {

Result<std::shared_ptr<LoadedCollection>> CollectionCache::Get(const std::string& collection_id,
                                                               const HnswParams& params) {
  std::shared_ptr<Entry> entry;
  {
    MutexLock lock(mu_);
    auto& slot = entries_[collection_id];
    if (!slot) slot = std::make_shared<Entry>();
    entry = slot;
    entry->last_used = ++tick_;
  }
  MutexLock load_lock(entry->load_mu);
  if (entry->value) {
    MutexLock lock(mu_);
    ++stats_.hits;
    return entry->value;
  }
  ASSIGN_OR_RETURN(std::shared_ptr<LoadedCollection> loaded, Load(collection_id, params));
  const size_t bytes = loaded->MemoryBytes();
  entry->value = loaded;
  {
    MutexLock lock(mu_);
    ++stats_.misses;
    entry->bytes = bytes;
    EvictLocked(collection_id);
  }
  return loaded;
}

CollectionCache::SnapshotRead CollectionCache::ReadNewestSnapshot(
    const std::string& collection_id) {
  SnapshotRead out;
  const int64_t began = SteadyMillis();
  auto found = storage_->FindIndexSnapshot(collection_id);
  if (!found.ok()) {
    out.status = found.status();
    return out;
  }
  out.info = *found;
  if (!out.info) return out;
  auto payload = storage_->ReadIndexSnapshot(collection_id, *out.info);
  if (!payload.ok()) {
    out.status = payload.status();
  } else {
    out.payload = std::move(payload).value();
  }
  out.read_ms = SteadyMillis() - began;
  return out;
}

Result<std::shared_ptr<LoadedCollection>> CollectionCache::Load(const std::string& collection_id,
                                                                const HnswParams& params) {
  const int64_t started = SteadyMillis();
  // The newest index snapshot is read while the rows stream in.
  std::future<SnapshotRead> snapshot = std::async(
      std::launch::async, [this, &collection_id] { return ReadNewestSnapshot(collection_id); });
  // Rows are applied as they stream in, newest version per id winning (no copy of the whole
  // collection in between); the row count sizes the columns first. Nobody else has the
  // collection yet: its locks are uncontended.
  auto loaded = std::make_shared<LoadedCollection>(collection_id, params);
  if (auto count = storage_->CountRecordRows(collection_id); count.ok()) {
    LoadedCollection::WriteLock data(*loaded);
    loaded->mutable_store().Reserve(*count);
  }
  uint64_t watermark = 0;
  size_t rows = 0;
  Status scanned = storage_->ScanRecords(collection_id, [&](std::span<const RecordRow> batch) {
    for (const RecordRow& r : batch) watermark = std::max(watermark, r.version);
    rows += batch.size();
    LoadedCollection::WriteLock data(*loaded);
    loaded->mutable_store().Apply(batch, /*sort_order=*/false);
    return Status::Ok();
  });
  const int64_t read_ms = SteadyMillis() - started;
  SnapshotRead snap = snapshot.get();
  if (!scanned.ok()) return scanned;
  LoadedCollection::WriteLock data(*loaded);
  RecordStore& store = loaded->mutable_store();
  store.SortOrder();  // insertion order is the order of first writes
  const int64_t sorted_ms = SteadyMillis() - started;
  SetUpGraph(*loaded, snap);
  snap = SnapshotRead{};  // the payload's memory goes before the collection is used
  loaded->refresh.watermark.store(watermark);
  loaded->refresh.refreshed_ms.store(SteadyMillis());
  loaded->refresh.full_scan_ms.store(SteadyMillis());
  const int64_t total_ms = SteadyMillis() - started;
  if (rows >= 10000) {  // large loads are worth a line at info level
    LOG_INFO(
        "loaded collection {} ({} records from {} rows) in {} ms (rows read and applied {} "
        "ms, ordered {} ms, graph set up {} ms)",
        collection_id, store.size(), rows, total_ms, read_ms, sorted_ms - read_ms,
        total_ms - sorted_ms);
  } else {
    LOG_DEBUG("loaded collection {} ({} records from {} rows) in {} ms", collection_id,
              store.size(), rows, total_ms);
  }
  return loaded;
}

void CollectionCache::SetUpGraph(LoadedCollection& loaded, const SnapshotRead& snap) {
  const RecordStore& store = loaded.store();
  bool adopted = false;
  if (!snap.status.ok()) {
    LOG_WARN("collection {}: cannot read its index snapshot ({}); building the graph", loaded.id(),
             snap.status.ToString());
  } else if (store.size() >= VectorSearch::kIndexMinRecords) {
    if (snap.info) {
      adopted = AdoptSnapshot(loaded, *snap.info, snap.payload, snap.read_ms);
    } else {
      LOG_INFO("collection {}: no index snapshot; building the graph of {} records", loaded.id(),
               store.size());
    }
  }
  if (!adopted) {
    loaded.mutable_search().OnApplied(store, {});
    loaded.snapshot.changes.store(store.size());
  }
}

bool CollectionCache::AdoptSnapshot(LoadedCollection& loaded, const IndexSnapshotInfo& info,
                                    std::string_view payload, int64_t read_ms) {
  const int64_t started = SteadyMillis();
  auto adopted = loaded.mutable_search().AdoptSnapshot(loaded.store(), payload);
  MutexLock lock(mu_);
  if (!adopted.ok()) {
    ++stats_.snapshots_refused;
    LOG_WARN("collection {}: index snapshot {} refused ({}); rebuilding the graph", loaded.id(),
             info.id, adopted.status().message());
    return false;
  }
  ++stats_.snapshots_adopted;
  loaded.snapshot.id.store(info.id);
  loaded.snapshot.changes.store(adopted->pending + adopted->dropped);
  LOG_INFO(
      "collection {}: graph from index snapshot {} ({} MiB, {} nodes reused, {} changed, "
      "{} dropped, {} records to index; read in {} ms, adopted in {} ms)",
      loaded.id(), info.id, payload.size() >> 20, adopted->reused, adopted->changed,
      adopted->dropped, adopted->pending, read_ms, SteadyMillis() - started);
  return true;
}

std::vector<std::shared_ptr<LoadedCollection>> CollectionCache::Loaded() {
  std::vector<std::shared_ptr<Entry>> entries;
  {
    MutexLock lock(mu_);
    for (const auto& [id, entry] : entries_) entries.push_back(entry);
  }
  std::vector<std::shared_ptr<LoadedCollection>> out;
  for (const auto& entry : entries) {
    if (!entry->load_mu.try_lock()) continue;  // being loaded
    if (entry->value) out.push_back(entry->value);
    entry->load_mu.unlock();
  }
  return out;
}

std::map<std::string, size_t> CollectionCache::Sizes() {
  MutexLock lock(mu_);
  std::map<std::string, size_t> out;
  for (const auto& [id, entry] : entries_) {
    if (entry->bytes > 0) out.emplace(id, entry->bytes);
  }
  return out;
}

void CollectionCache::Touch(const std::string& collection_id) {
  std::shared_ptr<Entry> entry;
  {
    MutexLock lock(mu_);
    auto it = entries_.find(collection_id);
    if (it == entries_.end()) return;
    entry = it->second;
  }
  size_t bytes = 0;
  {
    MutexLock load_lock(entry->load_mu);
    if (!entry->value) return;
    bytes = entry->value->MemoryBytes();
  }
  MutexLock lock(mu_);
  entry->bytes = bytes;
  entry->last_used = ++tick_;
  EvictLocked(collection_id);
}

void CollectionCache::EvictLocked(const std::string& keep) {
  if (budget_bytes_ == 0) return;
  size_t total = 0;
  for (const auto& [id, e] : entries_) total += e->bytes;
  while (total > budget_bytes_) {
    // The least recently used entry that is loaded, not `keep`, and not in use by a request
    // (the cache holds the only reference).
    std::string victim;
    uint64_t oldest = UINT64_MAX;
    for (const auto& [id, e] : entries_) {
      if (id == keep || e->bytes == 0 || e->last_used >= oldest || e.use_count() > 1) continue;
      if (!e->load_mu.try_lock()) continue;  // being loaded
      const bool in_use = !e->value || e->value.use_count() > 1;
      e->load_mu.unlock();
      if (in_use) continue;
      victim = id;
      oldest = e->last_used;
    }
    if (victim.empty()) return;  // everything left is in use
    total -= entries_[victim]->bytes;
    entries_.erase(victim);
    ++stats_.evictions;
  }
}

CollectionCache::Stats CollectionCache::stats() {
  MutexLock lock(mu_);
  Stats s = stats_;
  s.collections = 0;
  s.bytes = 0;
  for (const auto& [id, e] : entries_) {
    if (e->bytes > 0) ++s.collections;
    s.bytes += e->bytes;
  }
  return s;
}

std::shared_ptr<LoadedCollection> CollectionCache::Find(const std::string& collection_id) {
  std::shared_ptr<Entry> entry;
  {
    MutexLock lock(mu_);
    auto it = entries_.find(collection_id);
    if (it == entries_.end()) return nullptr;
    entry = it->second;
  }
  MutexLock load_lock(entry->load_mu);
  return entry->value;
}

void CollectionCache::Drop(const std::string& collection_id) {
  MutexLock lock(mu_);
  entries_.erase(collection_id);
}

void CollectionCache::Clear() {
  MutexLock lock(mu_);
  entries_.clear();
}

size_t CollectionCache::size() {
  MutexLock lock(mu_);
  return entries_.size();
}

}  // namespace chromahouse
