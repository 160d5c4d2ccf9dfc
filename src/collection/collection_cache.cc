#include "collection/collection_cache.h"

#include "common/clock.h"

#include <algorithm>
#include <future>
#include <optional>

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
    entry->last_used = ++tick_;
  }
  std::lock_guard load_lock(entry->load_mu);
  if (entry->value) {
    std::lock_guard lock(mu_);
    ++stats_.hits;
    return entry->value;
  }
  const int64_t started = SteadyMillis();
  // The newest index snapshot is read while the rows stream in.
  struct Snapshot {
    Status status;
    std::optional<IndexSnapshotInfo> info;
    std::string payload;
    int64_t read_ms = 0;  // finding and reading it
  };
  std::future<Snapshot> snapshot = std::async(std::launch::async, [this, &collection_id] {
    Snapshot out;
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
  });
  // Rows are applied as they stream in, newest version per id winning (no copy of the whole
  // collection in between); the row count sizes the columns first.
  auto loaded = std::make_shared<LoadedCollection>(collection_id, params);
  auto count = storage_->CountRecordRows(collection_id);
  if (count.ok()) loaded->store.Reserve(*count);
  uint64_t watermark = 0;
  size_t rows = 0;
  Status scanned = storage_->ScanRecords(collection_id, [&](std::span<const RecordRow> batch) {
    for (const RecordRow& r : batch) watermark = std::max(watermark, r.version);
    rows += batch.size();
    loaded->store.Apply(batch, /*sort_order=*/false);
    return Status::Ok();
  });
  const int64_t read_ms = SteadyMillis() - started;
  Snapshot snap = snapshot.get();
  if (!scanned.ok()) return scanned;
  // Insertion order is the order of first writes.
  loaded->store.SortOrder();
  const int64_t sorted_ms = SteadyMillis() - started;
  bool adopted = false;
  if (!snap.status.ok()) {
    LOG_WARN("collection {}: cannot read its index snapshot ({}); building the graph",
             collection_id, snap.status.ToString());
  } else if (loaded->store.size() >= VectorSearch::kIndexMinRecords) {
    if (snap.info) {
      adopted = AdoptSnapshot(*loaded, *snap.info, snap.payload, snap.read_ms);
    } else {
      LOG_INFO("collection {}: no index snapshot; building the graph of {} records", collection_id,
               loaded->store.size());
    }
  }
  if (!adopted) {
    loaded->search.OnApplied(loaded->store, {});
    loaded->changes_since_snapshot.store(loaded->store.size());
  }
  snap = Snapshot{};
  loaded->watermark.store(watermark);
  loaded->refreshed_ms.store(SteadyMillis());
  loaded->full_scan_ms.store(SteadyMillis());
  const int64_t total_ms = SteadyMillis() - started;
  if (rows >= 10000) {  // large loads are worth a line at info level
    LOG_INFO(
        "loaded collection {} ({} records from {} rows) in {} ms (rows read and applied {} "
        "ms, ordered {} ms, graph set up {} ms)",
        collection_id, loaded->store.size(), rows, total_ms, read_ms, sorted_ms - read_ms,
        total_ms - sorted_ms);
  } else {
    LOG_DEBUG("loaded collection {} ({} records from {} rows) in {} ms", collection_id,
              loaded->store.size(), rows, total_ms);
  }
  entry->value = loaded;
  {
    std::lock_guard lock(mu_);
    ++stats_.misses;
    entry->bytes = loaded->store.MemoryBytes() + loaded->search.MemoryBytes();
    EvictLocked(collection_id);
  }
  return loaded;
}

bool CollectionCache::AdoptSnapshot(LoadedCollection& loaded, const IndexSnapshotInfo& info,
                                    std::string_view payload, int64_t read_ms) {
  const int64_t started = SteadyMillis();
  auto adopted = loaded.search.AdoptSnapshot(loaded.store, payload);
  std::lock_guard lock(mu_);
  if (!adopted.ok()) {
    ++stats_.snapshots_refused;
    LOG_WARN("collection {}: index snapshot {} refused ({}); rebuilding the graph", loaded.id,
             info.id, adopted.status().message());
    return false;
  }
  ++stats_.snapshots_adopted;
  loaded.snapshot_id.store(info.id);
  loaded.changes_since_snapshot.store(adopted->pending + adopted->dropped);
  LOG_INFO(
      "collection {}: graph from index snapshot {} ({} MiB, {} nodes reused, {} changed, "
      "{} dropped, {} records to index; read in {} ms, adopted in {} ms)",
      loaded.id, info.id, payload.size() >> 20, adopted->reused, adopted->changed, adopted->dropped,
      adopted->pending, read_ms, SteadyMillis() - started);
  return true;
}

std::vector<std::shared_ptr<LoadedCollection>> CollectionCache::Loaded() {
  std::vector<std::shared_ptr<Entry>> entries;
  {
    std::lock_guard lock(mu_);
    for (const auto& [id, entry] : entries_) entries.push_back(entry);
  }
  std::vector<std::shared_ptr<LoadedCollection>> out;
  for (const auto& entry : entries) {
    std::unique_lock load_lock(entry->load_mu, std::try_to_lock);
    if (load_lock.owns_lock() && entry->value) out.push_back(entry->value);
  }
  return out;
}

std::map<std::string, size_t> CollectionCache::Sizes() {
  std::lock_guard lock(mu_);
  std::map<std::string, size_t> out;
  for (const auto& [id, entry] : entries_) {
    if (entry->bytes > 0) out.emplace(id, entry->bytes);
  }
  return out;
}

void CollectionCache::Touch(const std::string& collection_id) {
  std::shared_ptr<Entry> entry;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(collection_id);
    if (it == entries_.end()) return;
    entry = it->second;
  }
  size_t bytes = 0;
  {
    std::lock_guard load_lock(entry->load_mu);
    if (!entry->value) return;
    std::shared_lock data(entry->value->data_mu);
    bytes = entry->value->store.MemoryBytes() + entry->value->search.MemoryBytes();
  }
  std::lock_guard lock(mu_);
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
      std::unique_lock try_lock(e->load_mu, std::try_to_lock);
      if (!try_lock.owns_lock() || !e->value || e->value.use_count() > 1) continue;
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
  std::lock_guard lock(mu_);
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
