#include "collection/vector_search.h"

#include <optional>

#include <algorithm>
#include <mutex>

#include "collection/index_snapshot.h"
#include "common/log.h"
#include "index/brute_force.h"

namespace chromahouse {

void VectorSearch::MarkPendingLocked(uint32_t offset) {
  if (is_pending_.size() <= offset) is_pending_.resize(size_t{offset} + 1, 0);
  if (is_pending_[offset]) return;
  is_pending_[offset] = 1;
  pending_.push_back(offset);
  ++pending_count_;
}

void VectorSearch::OnApplied(const RecordStore& store,
                             const std::vector<std::pair<uint32_t, bool>>& changes) {
  WriterLock lock(mu_);
  if (!index_) {
    if (store.size() < kIndexMinRecords || store.dim() == 0) return;
    HnswParams p = params_;
    p.dim = store.dim();
    auto created = HnswIndex::Create(p);
    if (!created.ok()) {
      LOG_WARN("cannot create the vector index: {}", created.status().message());
      return;
    }
    index_ = std::move(created).value();
    has_index_.store(true);
    index_->Reserve(store.capacity());
    for (uint32_t o : store.OffsetsInInsertionOrder()) MarkPendingLocked(o);
    return;
  }
  for (auto [offset, live] : changes) {
    // The node's vector may have changed or the offset been reused: drop it from the graph
    // until the indexer re-adds it; meanwhile queries scan it exactly.
    index_->Remove(offset);
    if (offset < is_refused_.size() && is_refused_[offset]) {
      is_refused_[offset] = 0;
      --refused_count_;
    }
    if (live) {
      MarkPendingLocked(offset);
    } else if (offset < is_pending_.size() && is_pending_[offset]) {
      is_pending_[offset] = 0;
      --pending_count_;
    }
  }
}

bool VectorSearch::IndexSome(const RecordStore& store, size_t max_inserts, int threads,
                             const HnswIndex::ParallelRunner* runner) {
  WriterLock lock(mu_);
  if (!index_) return false;
  index_->SetVectors(store.matrix());
  size_t done = 0;
  std::vector<uint32_t> fresh;  // offsets without a node: inserted together
  std::vector<const float*> vectors;
  const bool yield = threads <= 1;
  while (!pending_.empty() && done < max_inserts) {
    if (yield && done > 0 && waiters_.load(std::memory_order_relaxed) > 0) break;
    uint32_t o = pending_.back();
    pending_.pop_back();
    if (o >= is_pending_.size() || !is_pending_[o]) continue;  // stale entry
    is_pending_[o] = 0;
    --pending_count_;
    if (!store.IsLive(o)) continue;
    ++done;
    // A vector the graph refuses (ValidateVector) goes through Add alone, so that it cannot
    // fail the whole batch.
    if (threads > 1 && !index_->HasNode(o) &&
        ValidateVector(o, store.embedding(o), store.dim()).ok()) {
      fresh.push_back(o);
      vectors.push_back(store.embedding(o));
      continue;
    }
    if (Status s = index_->Add(o, store.embedding(o)); !s.ok()) {
      // Searched exactly from now on (see refused_).
      LOG_WARN("record {} stays out of the vector index (searched exactly): {}", store.id(o),
               s.message());
      if (is_refused_.size() <= o) is_refused_.resize(size_t{o} + 1, 0);
      if (!is_refused_[o]) {
        is_refused_[o] = 1;
        ++refused_count_;
        refused_.push_back(o);
      }
    }
  }
  if (refused_.size() > 2 * refused_count_ + 64) {
    size_t kept = 0;
    for (uint32_t o : refused_) {
      if (is_refused_[o]) refused_[kept++] = o;
    }
    refused_.resize(kept);
  }
  if (!fresh.empty()) {
    // A request waiting for this step (see Waiting) ends it early; the rest waits again.
    size_t inserted = 0;
    if (Status s = index_->AddBatch(fresh, vectors, threads, runner, &waiters_, &inserted);
        !s.ok()) {
      LOG_WARN("vector index insert of {} offsets failed: {}", fresh.size(), s.message());
    } else {
      for (size_t i = inserted; i < fresh.size(); ++i) MarkPendingLocked(fresh[i]);
    }
  }
  if (pending_.empty()) pending_.shrink_to_fit();
  return pending_count_ > 0;
}

bool VectorSearch::IndexStep(const RecordStore& store, int threads,
                             const HnswIndex::ParallelRunner* runner) {
  if (threads > 1 && pending() >= kBulkPending) {
    return IndexSome(store, kBulkStep, threads, runner);
  }
  return IndexSome(store, kStep, 1);
}

std::optional<std::string> VectorSearch::Snapshot(const RecordStore& store,
                                                  uint64_t watermark) const {
  ReaderLock lock(mu_);
  if (!index_ || pending_count_ > 0 || index_->size() == 0) return std::nullopt;
  return EncodeIndexSnapshot(store, *index_, watermark);
}

Result<VectorSearch::Adopted> VectorSearch::AdoptSnapshot(const RecordStore& store,
                                                          std::string_view payload) {
  WriterLock lock(mu_);
  if (index_) return Status::FailedPrecondition("the collection already has a graph");
  if (store.dim() == 0) return Status::FailedPrecondition("the collection has no vectors");
  ASSIGN_OR_RETURN(DecodedIndexSnapshot decoded, DecodeIndexSnapshot(payload, store, params_));
  index_ = std::move(decoded.index);
  has_index_.store(true);
  index_->SetVectors(store.matrix());
  index_->Reserve(store.capacity());
  Adopted out;
  out.reused = decoded.reused;
  out.changed = decoded.changed.size();
  out.dropped = decoded.dropped;
  out.watermark = decoded.watermark;
  for (uint32_t o : store.OffsetsInInsertionOrder()) {
    if (!index_->Contains(o)) MarkPendingLocked(o);
  }
  out.pending = pending_count_;
  return out;
}

bool VectorSearch::HasPending() const { return has_index_.load() && pending_count_.load() > 0; }

size_t VectorSearch::indexed() const {
  ReaderLock lock(mu_);
  return index_ ? index_->size() : 0;
}

size_t VectorSearch::pending() const { return pending_count_.load(); }

size_t VectorSearch::MemoryBytes() const {
  ReaderLock lock(mu_);
  return (index_ ? index_->MemoryBytes() : 0) + pending_.capacity() * sizeof(uint32_t) +
         is_pending_.capacity() + refused_.capacity() * sizeof(uint32_t) + is_refused_.capacity();
}

std::vector<Neighbor> VectorSearch::Search(const RecordStore& store, const float* query, size_t k,
                                           const OffsetBitmap* allowed, size_t ef,
                                           SearchPath* path) const {
  *path = SearchPath::kNone;
  if (k == 0 || store.dim() == 0 || store.size() == 0) return {};
  std::optional<Waiting> waiting(std::in_place, *this);  // an indexing step ends early
  ReaderLock lock(mu_);
  waiting.reset();
  size_t allowed_count = allowed ? allowed->size() : store.size();
  if (allowed_count == 0) return {};
  bool brute =
      !index_ || allowed_count <= planner_.brute_force_max ||
      (allowed != nullptr && allowed_count * store.dim() <= planner_.brute_force_max_floats) ||
      allowed_count * 20 < store.size();
  if (brute) {
    *path = SearchPath::kBruteForce;
    return store.Nearest(query, allowed ? allowed->ToVector() : store.OffsetsInInsertionOrder(), k);
  }
  *path = SearchPath::kHnsw;
  index_->SetVectors(store.matrix());
  // Graph part: allowed offsets that are in the graph.
  AllowFn allow_fn;
  if (allowed) allow_fn = [allowed](uint32_t o) { return allowed->Contains(o); };
  std::vector<Neighbor> found = index_->Search(query, k, ef, allowed ? &allow_fn : nullptr);
  // Tail part: pending offsets (not yet in the graph), exactly.
  std::vector<uint32_t> tail;
  tail.reserve(pending_count_);
  for (uint32_t o : pending_) {
    if (o < is_pending_.size() && is_pending_[o] && store.IsLive(o) &&
        (!allowed || allowed->Contains(o))) {
      tail.push_back(o);
    }
  }
  for (uint32_t o : refused_) {
    if (is_refused_[o] && store.IsLive(o) && (!allowed || allowed->Contains(o))) tail.push_back(o);
  }
  std::sort(tail.begin(), tail.end());
  tail.erase(std::unique(tail.begin(), tail.end()), tail.end());
  // Exact distances for everything, from the stored vectors.
  std::vector<uint32_t> merged;
  merged.reserve(found.size() + tail.size());
  for (auto [d, o] : found) merged.push_back(o);
  merged.insert(merged.end(), tail.begin(), tail.end());
  return store.Nearest(query, merged, k);
}

}  // namespace chromahouse
