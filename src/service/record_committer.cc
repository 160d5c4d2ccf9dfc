#include "service/record_committer.h"

#include <algorithm>
#include <chrono>

namespace chromahouse {

Status RecordCommitter::Commit(LoadedCollection& loaded, const std::vector<RecordRow>& rows,
                               double* write_seconds) {
  if (rows.empty()) return Status::Ok();
  {
    OwnWrites::Writing writing(*own_writes_);
    const auto started = std::chrono::steady_clock::now();
    Status s = storage_->WriteRecords(loaded.id(), rows);
    if (write_seconds) {
      *write_seconds =
          std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    }
    RETURN_IF_ERROR(s);
    writing.Stored();
  }
  loaded.refresh.NoteStored(rows);
  Apply(loaded, rows);
  if (stored_listener_) {
    uint64_t highest = 0;
    for (const RecordRow& r : rows) highest = std::max(highest, r.version);
    stored_listener_(loaded.id(), highest);
  }
  return Status::Ok();
}

void RecordCommitter::Apply(LoadedCollection& loaded, const std::vector<RecordRow>& rows) {
  // Tombstones only matter for rows that a refresh can still bring (within the window behind
  // the watermark); without refreshes, none can.
  uint64_t prune_below = UINT64_MAX;
  if (refresh_window_ms_ >= 0) {
    const uint64_t window = static_cast<uint64_t>(refresh_window_ms_) << 22;
    const uint64_t watermark = loaded.refresh.watermark.load();
    prune_below = watermark > window ? watermark - window : 0;
  }
  loaded.Apply(rows, prune_below);
  cache_->Touch(loaded.id());
  if (loaded.HasPendingIndexing()) indexer_->Schedule(cache_->Find(loaded.id()));
}

}  // namespace chromahouse
