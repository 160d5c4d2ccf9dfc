#include "service/index_snapshot_writer.h"

#include <algorithm>
#include <optional>
#include <string>

#include "collection/index_snapshot.h"
#include "common/log.h"

namespace chromahouse {

Result<bool> IndexSnapshotWriter::WriteIfDue(LoadedCollection& loaded) {
  SnapshotState& state = loaded.snapshot;
  if (options_.min_records == 0 || SteadyMillis() < state.retry_ms.load()) return false;
  const size_t size = loaded.size();
  const uint64_t changes = state.changes.load();
  if (size < options_.min_records ||
      static_cast<double>(changes) < std::max(1.0, options_.change_fraction * double(size))) {
    return false;
  }
  // Another instance may keep this collection's snapshot fresh already.
  auto latest = storage_->FindIndexSnapshot(loaded.id());
  if (latest.ok() && *latest && (*latest)->id > state.id.load() &&
      (*latest)->watermark >= loaded.refresh.watermark.load()) {
    state.id.store((*latest)->id);
    state.changes.fetch_sub(changes);
    return false;
  }
  const int64_t started = SteadyMillis();
  std::optional<std::string> payload;
  IndexSnapshotInfo info;
  {
    LoadedCollection::ReadLock data(loaded);
    info.watermark = loaded.refresh.watermark.load();
    payload = loaded.search().Snapshot(loaded.store(), info.watermark);
    info.records = loaded.search().indexed();
  }
  if (!payload) return false;  // no graph yet, or records still waiting for it
  const int64_t encoded = SteadyMillis();
  info.id = clock_->Next();
  info.format = kIndexSnapshotFormat;
  info.bytes = payload->size();
  if (Status s = storage_->WriteIndexSnapshot(loaded.id(), info, *payload); !s.ok()) {
    ++failed_;
    state.retry_ms.store(SteadyMillis() + 60000);
    return s;
  }
  ++written_;
  bytes_ += static_cast<int64_t>(info.bytes);
  state.id.store(info.id);
  state.changes.fetch_sub(changes);
  LOG_INFO(
      "collection {}: index snapshot {} written ({} nodes, {} MiB; encoded in {} ms, "
      "stored in {} ms)",
      loaded.id(), info.id, info.records, info.bytes >> 20, encoded - started,
      SteadyMillis() - encoded);
  return true;
}

}  // namespace chromahouse
