#include "collection/loaded_collection.h"

#include <algorithm>
#include <optional>

namespace chromahouse {

void RefreshState::NoteStored(const std::vector<RecordRow>& rows) {
  if (!window_known_.load()) return;  // nothing to compare with yet (or no refreshes at all)
  MutexLock lock(window_mu_);
  for (const auto& r : rows) window_versions_.push_back(r.version);
}

std::vector<uint64_t> RefreshState::KnownAbove(uint64_t from) {
  MutexLock lock(window_mu_);
  auto& v = window_versions_;
  std::sort(v.begin(), v.end());
  v.erase(std::unique(v.begin(), v.end()), v.end());
  v.erase(v.begin(), std::upper_bound(v.begin(), v.end(), from));
  return v;
}

size_t RefreshState::NotedMark() {
  MutexLock lock(window_mu_);
  return window_versions_.size();
}

void RefreshState::ReplaceWindow(std::vector<uint64_t> read, size_t mark) {
  {
    MutexLock lock(window_mu_);
    read.insert(read.end(), window_versions_.begin() + static_cast<ptrdiff_t>(mark),
                window_versions_.end());
    window_versions_ = std::move(read);
  }
  window_known_.store(true);
}

size_t LoadedCollection::Apply(const std::vector<RecordRow>& rows, uint64_t prune_below) {
  std::optional<VectorSearch::Waiting> waiting(std::in_place, search_);  // a step ends early
  WriteLock lock(*this);
  waiting.reset();
  auto changes = store_.Apply(rows);
  search_.OnApplied(store_, changes);
  snapshot.changes.fetch_add(changes.size());
  if (store_.tombstone_count() > 1024 + store_.size() / 4) store_.PruneTombstones(prune_below);
  return changes.size();
}

bool LoadedCollection::IndexStep(int threads, const HnswIndex::ParallelRunner* runner) {
  ReadLock lock(*this);
  return search_.IndexStep(store_, threads, runner);
}

size_t LoadedCollection::size() const {
  ReadLock lock(*this);
  return store_.size();
}

size_t LoadedCollection::MemoryBytes() const {
  ReadLock lock(*this);
  return store_.MemoryBytes() + search_.MemoryBytes();
}

}  // namespace chromahouse
