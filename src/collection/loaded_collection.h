// LoadedCollection: one collection's records in memory (RecordStore), its vector index
// (VectorSearch) and the locks that guard them; CollectionRead: a read that outlives the
// function that made it (a request's result, encoded by the API layer).
//
// Locks (checked by the thread-safety analysis, common/thread_annotations.h):
//   commit_mu_  one commit at a time (CommitTurn): held across the storage write and the apply,
//               so that storage order equals memory order;
//   data_mu_    guards the store: readers hold it shared (ReadLock, CollectionRead), Apply takes
//               it exclusively for the short in-memory apply.
// Lock order: commit_mu_ → data_mu_ (→ VectorSearch's own lock). The bookkeeping of refreshes
// (RefreshState) and of index snapshots (SnapshotState) has locks of its own, never held
// together with these.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <shared_mutex>
#include <string>
#include <vector>

#include "collection/record_store.h"
#include "collection/vector_search.h"
#include "common/mutex.h"
#include "core/record.h"

namespace chromahouse {

// Freshness across instances (service/collection_refresher.h): what this loaded copy has read
// from storage and when, and the writes other instances announced for it.
class RefreshState {
 public:
  std::atomic<uint64_t> watermark{0};    // the highest version read from storage
  std::atomic<int64_t> refreshed_ms{0};  // when storage was last read (steady ms)
  std::atomic<int64_t> used_ms{0};       // when a request last used the collection
  std::atomic<int64_t> full_scan_ms{0};  // when every (id, version) was last compared
  // Writes announced by other instances: how many were announced, and how many of them the
  // last refresh started after. Stale while the first is larger. (A count, not the highest
  // version: writes commit out of version order, so a lower version can arrive after a higher
  // one was read.)
  std::atomic<uint64_t> announced{0};
  std::atomic<uint64_t> announced_served{0};
  bool HasAnnouncement() const { return announced.load() > announced_served.load(); }

  // One refresh at a time: held for a refresh's whole work.
  class SCOPED_CAPABILITY Turn {
   public:
    explicit Turn(RefreshState& state) ACQUIRE(state.refresh_mu_) : lock_(state.refresh_mu_) {}
    ~Turn() RELEASE() = default;

   private:
    MutexLock lock_;
  };

  // The window: versions known to be stored above the refresh window — what the last full read
  // of the window returned plus what this instance wrote since. A refresh compares a summary
  // of them with storage's and reads nothing more while they agree.
  // Writers note what they stored (nothing until the first full read: nothing to compare with).
  void NoteStored(const std::vector<RecordRow>& rows) EXCLUDES(window_mu_);
  bool window_known() const { return window_known_.load(); }
  // The known versions above `from`, ascending (the window is pruned to them).
  std::vector<uint64_t> KnownAbove(uint64_t from) EXCLUDES(window_mu_);
  // How many versions writers have noted so far: a full read starts by taking this mark.
  size_t NotedMark() EXCLUDES(window_mu_);
  // After a full read: the window becomes `read` plus what writers noted since `mark`.
  void ReplaceWindow(std::vector<uint64_t> read, size_t mark) EXCLUDES(window_mu_);

 private:
  Mutex refresh_mu_;
  Mutex window_mu_;
  std::vector<uint64_t> window_versions_ GUARDED_BY(window_mu_);
  std::atomic<bool> window_known_{false};
};

// Index snapshots (collection/index_snapshot.h): the newest one this instance adopted or
// wrote, and the records changed (or never in a snapshot) since.
struct SnapshotState {
  std::atomic<uint64_t> id{0};
  std::atomic<uint64_t> changes{0};
  std::atomic<int64_t> retry_ms{0};  // no new attempt before (steady ms) after a failure
};

class LoadedCollection {
 public:
  LoadedCollection(std::string collection_id, const HnswParams& params)
      : id_(std::move(collection_id)), store_(params.metric), search_(params) {}
  LoadedCollection(const LoadedCollection&) = delete;
  LoadedCollection& operator=(const LoadedCollection&) = delete;

  const std::string& id() const { return id_; }

  // Holds the data lock shared for its scope: store() and the searches may be used.
  class SCOPED_CAPABILITY ReadLock {
   public:
    explicit ReadLock(const LoadedCollection& c) ACQUIRE_SHARED(c.data_mu_) : lock_(c.data_mu_) {}
    ~ReadLock() RELEASE() = default;

   private:
    ReaderLock lock_;
  };
  // Holds the data lock exclusively: for the loader, before the collection is shared.
  class SCOPED_CAPABILITY WriteLock {
   public:
    explicit WriteLock(LoadedCollection& c) ACQUIRE(c.data_mu_) : lock_(c.data_mu_) {}
    ~WriteLock() RELEASE() = default;

   private:
    WriterLock lock_;
  };
  // Holds the commit turn: one commit (storage write + Apply) at a time.
  class SCOPED_CAPABILITY CommitTurn {
   public:
    explicit CommitTurn(LoadedCollection& c) ACQUIRE(c.commit_mu_) : lock_(c.commit_mu_) {}
    ~CommitTurn() RELEASE() = default;

   private:
    MutexLock lock_;
  };

  const RecordStore& store() const REQUIRES_SHARED(data_mu_) { return store_; }
  RecordStore& mutable_store() REQUIRES(data_mu_) { return store_; }
  // The vector index (it locks itself; searching it needs store(), so a ReadLock).
  const VectorSearch& search() const { return search_; }
  VectorSearch& mutable_search() REQUIRES(data_mu_) { return search_; }

  // Applies stored rows (idempotent by version): the data lock exclusively, briefly (an
  // indexing step in progress ends early for it); the graph marks the changes pending.
  // Tombstones older than `prune_below` are forgotten once they pile up (those a refresh can
  // no longer bring back). Returns how many records changed.
  size_t Apply(const std::vector<RecordRow>& rows, uint64_t prune_below) EXCLUDES(data_mu_);
  // One step of the background indexer (VectorSearch::IndexStep) under the data lock shared.
  bool IndexStep(int threads, const HnswIndex::ParallelRunner* runner) EXCLUDES(data_mu_);
  bool HasPendingIndexing() const { return search_.HasPending(); }
  // Live records.
  size_t size() const EXCLUDES(data_mu_);
  // The store's and the graph's bytes.
  size_t MemoryBytes() const EXCLUDES(data_mu_);

  RefreshState refresh;
  SnapshotState snapshot;

 private:
  friend class CollectionRead;
  friend class CollectionCache;  // the loader: AdoptSnapshot runs under its WriteLock

  const std::string id_;
  Mutex commit_mu_ ACQUIRED_BEFORE(data_mu_);
  mutable SharedMutex data_mu_;
  RecordStore store_ GUARDED_BY(data_mu_);
  VectorSearch search_;  // see vector_search.h for its locking
};

// A read of a collection handed out of the function that made it: keeps the collection
// loaded and its data lock held shared until it is destroyed, so that the views into the
// store (RecordView) stay valid while a response is encoded. Move-constructible only.
class CollectionRead {
 public:
  explicit CollectionRead(std::shared_ptr<const LoadedCollection> collection)
      : collection_(std::move(collection)), lock_(collection_->data_mu_) {}
  CollectionRead(CollectionRead&&) = default;
  // Not assignable: a defaulted assignment would let go of the old collection before its lock.
  CollectionRead& operator=(CollectionRead&&) = delete;

  // Valid for this object's lifetime (the lock is held by construction).
  const RecordStore& store() const NO_THREAD_SAFETY_ANALYSIS { return collection_->store_; }
  const VectorSearch& search() const { return collection_->search_; }
  const LoadedCollection& collection() const { return *collection_; }

 private:
  std::shared_ptr<const LoadedCollection> collection_;
  std::shared_lock<SharedMutex> lock_;
};

}  // namespace chromahouse
