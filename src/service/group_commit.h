// GroupCommitWriter: Chroma's add, update and upsert through a per-collection group commit.
// Writers to one collection queue up; the one at the front commits itself and everything queued
// behind it (up to kMaxGroupRows rows) in one storage write: it computes the full new version of
// every touched record from the current state (service/record_rules.h's MergeWrite, in arrival
// order, so that later requests see earlier ones), then RecordCommitter writes and applies them,
// and every writer of the group gets its own answer. When storage fails nothing is applied; the
// group's writers and those queued behind it get the error (kUnavailable → 503, retry).
//
// Thread safety: all methods are thread-safe.
#pragma once

#include <cstddef>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "collection/loaded_collection.h"
#include "common/clock.h"
#include "common/mutex.h"
#include "core/record_requests.h"
#include "service/catalog_service.h"
#include "service/record_committer.h"

namespace chromahouse {

class GroupCommitWriter {
 public:
  // Upper bound on the rows of one group commit (one INSERT).
  static constexpr size_t kMaxGroupRows = 50000;

  GroupCommitWriter(CatalogService* catalog, VersionClock* clock, RecordCommitter* committer)
      : catalog_(catalog), clock_(clock), committer_(committer) {}

  // Writes a validated request (record_rules.h's ValidateWrite: `request_dim` is its embedding
  // dimension, 0 when it carries none) to `loaded`; returns once storage holds it and reads see
  // it, or with the error.
  Status Write(LoadedCollection& loaded, RecordWriteKind kind, const RecordWriteRequest& request,
               size_t request_dim);

 private:
  // A write waiting in its collection's queue.
  struct Pending {
    RecordWriteKind kind;
    const RecordWriteRequest* request;
    size_t request_dim;
    Status status;
    bool done = false;  // guarded by the writer's mu_
    CondVar cv;         // waits on mu_
  };
  // Commits a group of queued writes in one storage write; sets each write's status.
  void CommitGroup(LoadedCollection& loaded, const std::vector<Pending*>& group);
  // The writes of `group` whose embeddings fit the collection's dimension (the first that
  // carries embeddings fixes it in the catalog); the others get their error.
  std::vector<Pending*> Admit(LoadedCollection& loaded, const std::vector<Pending*>& group);
  // Full new versions of every record the admitted writes touch, in arrival order.
  std::vector<RecordRow> Merge(const LoadedCollection& loaded,
                               const std::vector<Pending*>& admitted);

  CatalogService* catalog_;
  VersionClock* clock_;
  RecordCommitter* committer_;
  Mutex mu_;  // never held across I/O
  // Each collection's queue, by id (present while not empty).
  std::map<std::string, std::deque<Pending*>, std::less<>> queues_ GUARDED_BY(mu_);
};

}  // namespace chromahouse
