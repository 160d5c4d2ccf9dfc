#include "storage/memory/memory_storage.h"

namespace chromahouse {
namespace {

template <typename Row>
void Upsert(std::map<std::string, Row>& table, const std::string& key, const Row& row) {
  auto it = table.find(key);
  if (it == table.end() || it->second.version <= row.version) table[key] = row;
}

template <typename Row>
std::vector<Row> Live(const std::map<std::string, Row>& table, bool include_deleted = false) {
  std::vector<Row> out;
  for (const auto& [key, row] : table) {
    if (include_deleted || !row.deleted) out.push_back(row);
  }
  return out;
}

Status Down() { return Status::Unavailable("memory storage is marked unavailable"); }

}  // namespace

Status MemoryStorage::Ping() {
  MutexLock lock(mu_);
  return unavailable_ ? Down() : Status::Ok();
}

void MemoryStorage::SetUnavailable(bool unavailable) {
  MutexLock lock(mu_);
  unavailable_ = unavailable;
}

Result<std::vector<Tenant>> MemoryStorage::LoadTenants(bool include_deleted) {
  MutexLock lock(mu_);
  if (unavailable_) return Down();
  return Live(tenants_, include_deleted);
}

Result<std::vector<Database>> MemoryStorage::LoadDatabases(bool include_deleted) {
  MutexLock lock(mu_);
  if (unavailable_) return Down();
  return Live(databases_, include_deleted);
}

Result<std::vector<Collection>> MemoryStorage::LoadCollections(bool include_deleted) {
  MutexLock lock(mu_);
  if (unavailable_) return Down();
  return Live(collections_, include_deleted);
}

Result<std::optional<std::string>> MemoryStorage::CatalogFingerprint() {
  MutexLock lock(mu_);
  if (unavailable_) return Down();
  return std::optional<std::string>(std::to_string(catalog_writes_));
}

Status MemoryStorage::WriteTenants(const std::vector<Tenant>& rows) {
  MutexLock lock(mu_);
  if (unavailable_) return Down();
  ++catalog_writes_;
  for (const auto& r : rows) Upsert(tenants_, r.name, r);
  return Status::Ok();
}

Status MemoryStorage::WriteDatabases(const std::vector<Database>& rows) {
  MutexLock lock(mu_);
  if (unavailable_) return Down();
  ++catalog_writes_;
  for (const auto& r : rows) Upsert(databases_, r.tenant + '\0' + r.name, r);
  return Status::Ok();
}

Status MemoryStorage::WriteCollections(const std::vector<Collection>& rows) {
  MutexLock lock(mu_);
  if (unavailable_) return Down();
  ++catalog_writes_;
  for (const auto& r : rows) Upsert(collections_, r.id, r);
  return Status::Ok();
}

Status MemoryStorage::WriteRecords(const std::string& collection_id,
                                   const std::vector<RecordRow>& rows) {
  MutexLock lock(mu_);
  if (unavailable_) return Down();
  auto& table = records_[collection_id];
  for (const auto& r : rows) Upsert(table, r.id, r);
  if (!rows.empty()) ++record_writes_;
  return Status::Ok();
}

Result<std::optional<uint64_t>> MemoryStorage::RecordWriteCount() {
  MutexLock lock(mu_);
  if (unavailable_) return Down();
  return std::optional<uint64_t>(record_writes_);
}

Result<std::vector<RecordRow>> MemoryStorage::LoadRecords(const std::string& collection_id) {
  MutexLock lock(mu_);
  if (unavailable_) return Down();
  auto it = records_.find(collection_id);
  if (it == records_.end()) return std::vector<RecordRow>{};
  return Live(it->second);
}

Status MemoryStorage::ScanRecords(const std::string& collection_id, const RecordBatchFn& on_batch) {
  MutexLock lock(mu_);
  if (unavailable_) return Down();
  auto it = records_.find(collection_id);
  if (it == records_.end()) return Status::Ok();
  constexpr size_t kBatch = 4096;
  std::vector<RecordRow> batch;
  batch.reserve(kBatch);
  for (const auto& [id, row] : it->second) {
    if (row.deleted) continue;
    batch.push_back(row);
    if (batch.size() == kBatch) {
      RETURN_IF_ERROR(on_batch(batch));
      batch.clear();
    }
  }
  return batch.empty() ? Status::Ok() : on_batch(batch);
}

Result<size_t> MemoryStorage::CountRecordRows(const std::string& collection_id) {
  MutexLock lock(mu_);
  if (unavailable_) return Down();
  auto it = records_.find(collection_id);
  return it == records_.end() ? size_t{0} : it->second.size();
}

Result<std::vector<std::pair<std::string, uint64_t>>> MemoryStorage::LoadRecordVersions(
    const std::string& collection_id, uint64_t min_version) {
  MutexLock lock(mu_);
  if (unavailable_) return Down();
  std::vector<std::pair<std::string, uint64_t>> out;
  auto it = records_.find(collection_id);
  if (it == records_.end()) return out;
  for (const auto& [id, row] : it->second) {
    if (row.version > min_version) out.emplace_back(id, row.version);
  }
  return out;
}

Result<std::vector<RecordRow>> MemoryStorage::LoadRecordsByIds(const std::string& collection_id,
                                                               const std::vector<std::string>& ids,
                                                               uint64_t min_version) {
  MutexLock lock(mu_);
  if (unavailable_) return Down();
  std::vector<RecordRow> out;
  auto it = records_.find(collection_id);
  if (it == records_.end()) return out;
  for (const auto& id : ids) {
    auto r = it->second.find(id);
    if (r != it->second.end() && r->second.version > min_version) out.push_back(r->second);
  }
  return out;
}

Status MemoryStorage::PurgeRecords(const std::string& collection_id) {
  MutexLock lock(mu_);
  if (unavailable_) return Down();
  records_.erase(collection_id);
  snapshots_.erase(collection_id);
  return Status::Ok();
}

Result<std::optional<IndexSnapshotInfo>> MemoryStorage::FindIndexSnapshot(
    const std::string& collection_id) {
  MutexLock lock(mu_);
  if (unavailable_) return Down();
  auto it = snapshots_.find(collection_id);
  if (it == snapshots_.end() || it->second.empty()) return std::optional<IndexSnapshotInfo>();
  return std::optional<IndexSnapshotInfo>(it->second.rbegin()->second.first);
}

Result<std::string> MemoryStorage::ReadIndexSnapshot(const std::string& collection_id,
                                                     const IndexSnapshotInfo& info) {
  MutexLock lock(mu_);
  if (unavailable_) return Down();
  auto it = snapshots_.find(collection_id);
  if (it == snapshots_.end() || !it->second.count(info.id)) {
    return Status::NotFound("index snapshot " + std::to_string(info.id) + " of collection " +
                            collection_id + " is gone");
  }
  return it->second[info.id].second;
}

Status MemoryStorage::WriteIndexSnapshot(const std::string& collection_id,
                                         const IndexSnapshotInfo& info, std::string_view payload) {
  MutexLock lock(mu_);
  if (unavailable_) return Down();
  auto& mine = snapshots_[collection_id];
  mine[info.id] = {info, std::string(payload)};
  while (mine.size() > 1) mine.erase(mine.begin());
  return Status::Ok();
}

Status MemoryStorage::WriteInstanceBeat(const InstanceBeat& beat) {
  MutexLock lock(mu_);
  if (unavailable_) return Down();
  InstanceBeat& kept = beats_[beat.instance];
  if (beat.seen_ms >= kept.seen_ms) kept = beat;
  return Status::Ok();
}

Result<std::vector<Storage::InstanceBeat>> MemoryStorage::LoadInstanceBeats(int64_t since_ms) {
  MutexLock lock(mu_);
  if (unavailable_) return Down();
  std::vector<InstanceBeat> out;
  for (const auto& [key, beat] : beats_) {
    if (beat.seen_ms >= since_ms) out.push_back(beat);
  }
  return out;
}

Status MemoryStorage::WriteCollectionFork(const CollectionFork& fork) {
  MutexLock lock(mu_);
  if (unavailable_) return Down();
  forks_.push_back(fork);
  return Status::Ok();
}

Result<std::vector<CollectionFork>> MemoryStorage::LoadCollectionForks() {
  MutexLock lock(mu_);
  if (unavailable_) return Down();
  return forks_;
}

Status MemoryStorage::Reset() {
  MutexLock lock(mu_);
  if (unavailable_) return Down();
  ++catalog_writes_;
  tenants_.clear();
  databases_.clear();
  collections_.clear();
  records_.clear();
  snapshots_.clear();
  forks_.clear();
  return Status::Ok();
}

}  // namespace chromahouse
