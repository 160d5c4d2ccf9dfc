#include "service/group_commit.h"

#include <optional>
#include <unordered_map>

#include "common/log.h"
#include "common/metrics.h"
#include "service/record_rules.h"

namespace chromahouse {
namespace {

Status DimensionMismatch(size_t expected, size_t got) {
  return Status::InvalidArgument("Collection expecting embedding with dimension of " +
                                 std::to_string(expected) + ", got " + std::to_string(got));
}

}  // namespace

Status GroupCommitWriter::Write(LoadedCollection& loaded, RecordWriteKind kind,
                                const RecordWriteRequest& request, size_t request_dim) {
  Pending self{kind, &request, request_dim, Status::Ok()};
  MutexLock lock(mu_);
  std::deque<Pending*>& queue = queues_[loaded.id()];
  queue.push_back(&self);
  while (!self.done && queue.front() != &self) self.cv.Wait(mu_);
  if (self.done) return self.status;

  // This writer leads: it commits itself and everything queued behind it (up to a bound).
  std::vector<Pending*> group;
  size_t group_rows = 0;
  for (Pending* w : queue) {
    if (!group.empty() && group_rows + w->request->ids.size() > kMaxGroupRows) break;
    group.push_back(w);
    group_rows += w->request->ids.size();
  }
  lock.Unlock();
  CommitGroup(loaded, group);
  lock.Lock();
  // (The queue stays in the map while this writer is in it: the reference is still valid.)
  for (size_t i = 0; i < group.size(); ++i) queue.pop_front();
  Status unavailable;
  for (Pending* w : group) {
    if (w->status.code() == StatusCode::kUnavailable) unavailable = w->status;
    w->done = true;
    if (w != &self) w->cv.NotifyOne();
  }
  if (!unavailable.ok()) {
    // Storage failed while these writes waited behind the group: answer them now (503, retry)
    // instead of letting each wait for another time-out. Later writes try storage again.
    while (!queue.empty()) {
      Pending* w = queue.front();
      queue.pop_front();
      w->status = unavailable;
      w->done = true;
      w->cv.NotifyOne();
    }
  }
  if (queue.empty()) {
    queues_.erase(loaded.id());
  } else {
    queue.front()->cv.NotifyOne();
  }
  return self.status;
}

std::vector<GroupCommitWriter::Pending*> GroupCommitWriter::Admit(
    LoadedCollection& loaded, const std::vector<Pending*>& group) {
  const std::string& collection_id = loaded.id();
  // The collection's dimension: fixed by the first write that carries embeddings (the catalog
  // is read again here: an earlier group may have set it). Requests with another one fail.
  size_t dim = 0;
  {
    LoadedCollection::ReadLock data(loaded);
    dim = loaded.store().dim();
  }
  if (dim == 0) {
    auto c = catalog_->GetCollection(collection_id);
    if (!c.ok()) {
      for (Pending* w : group) w->status = c.status();
      return {};
    }
    if (c->dimension) dim = static_cast<size_t>(*c->dimension);
  }
  std::vector<Pending*> admitted;
  for (Pending* w : group) {
    if (w->request_dim != 0) {
      if (dim != 0 && dim != w->request_dim) {
        w->status = DimensionMismatch(dim, w->request_dim);
        continue;
      }
      if (dim == 0) {
        Status s = catalog_->SetDimension(collection_id, static_cast<int64_t>(w->request_dim));
        if (!s.ok()) {
          w->status = s;
          continue;
        }
        dim = w->request_dim;
      }
    }
    admitted.push_back(w);
  }
  return admitted;
}

std::vector<RecordRow> GroupCommitWriter::Merge(const LoadedCollection& loaded,
                                                const std::vector<Pending*>& admitted) {
  // From the state as this commit finds it (other commits wait for the turn; a refresh may
  // apply rows from elsewhere meanwhile, which the newer versions made here win over).
  // `pending` maps ids to rows of this group, so that later requests (and repeated ids) see
  // earlier ones.
  std::vector<RecordRow> rows;
  LoadedCollection::ReadLock data(loaded);
  const RecordStore& store = loaded.store();
  std::unordered_map<std::string, size_t> pending;
  for (Pending* w : admitted) {
    const RecordWriteRequest& req = *w->request;
    for (size_t i = 0; i < req.ids.size(); ++i) {
      const std::string& id = req.ids[i];
      const RecordRow* current = nullptr;
      RecordRow existing;
      if (auto p = pending.find(id); p != pending.end()) {
        current = &rows[p->second];
      } else if (auto o = store.Find(id)) {
        existing = store.Row(*o);
        current = &existing;
      }
      std::optional<RecordRow> merged = MergeWrite(w->kind, req, i, current);
      if (!merged) continue;
      RecordRow row = std::move(*merged);
      row.version = clock_->Next();
      if (row.created == 0) row.created = row.version;
      if (auto p = pending.find(id); p != pending.end()) {
        rows[p->second] = std::move(row);
      } else {
        pending.emplace(id, rows.size());
        rows.push_back(std::move(row));
      }
    }
  }
  return rows;
}

void GroupCommitWriter::CommitGroup(LoadedCollection& loaded, const std::vector<Pending*>& group) {
  LoadedCollection::CommitTurn turn(loaded);
  const std::string& collection_id = loaded.id();
  const std::vector<Pending*> committed = Admit(loaded, group);
  const std::vector<RecordRow> rows = Merge(loaded, committed);
  if (rows.empty()) return;
  double write_seconds = 0;
  Status s = committer_->Commit(loaded, rows, &write_seconds);
  static Histogram& commit_rows = Metrics().GetHistogram(
      "chromahouse_group_commit_rows", "Rows per group commit (one ClickHouse INSERT)", {},
      Histogram::ExponentialBuckets(16));
  static Histogram& commit_requests =
      Metrics().GetHistogram("chromahouse_group_commit_requests", "Write requests per group commit",
                             {}, Histogram::ExponentialBuckets(10));
  static Histogram& insert_seconds = Metrics().GetHistogram(
      "chromahouse_group_commit_insert_seconds", "Time of the ClickHouse INSERT of a group commit",
      {}, Histogram::LatencyBuckets());
  static Counter& ingested = Metrics().GetCounter(
      "chromahouse_rows_ingested_total",
      "Record rows (adds, updates, upserts) durably written to ClickHouse", {});
  commit_rows.Observe(static_cast<double>(rows.size()));
  commit_requests.Observe(static_cast<double>(group.size()));
  insert_seconds.Observe(write_seconds);
  LOG_DEBUG("group commit to {}: {} requests, {} rows, storage write {:.2f} ms", collection_id,
            group.size(), rows.size(), write_seconds * 1000);
  if (!s.ok()) {
    // Nothing is applied: every request of the group fails and may be retried.
    for (Pending* w : committed) w->status = s;
    return;
  }
  ingested.Add(static_cast<int64_t>(rows.size()));
}

}  // namespace chromahouse
