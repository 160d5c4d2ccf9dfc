// MemoryStorage: a Storage kept in process memory, for unit tests. Same newest-version-wins
// rules as ClickHouse's ReplacingMergeTree.
#pragma once

#include <map>
#include <string>

#include "common/mutex.h"
#include "storage/storage.h"

namespace chromahouse {

class MemoryStorage : public Storage {
 public:
  Status Initialize() override { return Status::Ok(); }
  Status Ping() override;
  Result<std::string> Describe() override { return std::string("in-memory storage"); }

  Result<std::vector<Tenant>> LoadTenants(bool include_deleted = false) override;
  Result<std::vector<Database>> LoadDatabases(bool include_deleted = false) override;
  Result<std::vector<Collection>> LoadCollections(bool include_deleted = false) override;
  // The number of catalog writes so far (rows are never merged away here).
  Result<std::optional<std::string>> CatalogFingerprint() override;
  Status WriteInstanceBeat(const InstanceBeat& beat) override;
  Result<std::vector<InstanceBeat>> LoadInstanceBeats(int64_t since_ms) override;
  Status WriteTenants(const std::vector<Tenant>& rows) override;
  Status WriteDatabases(const std::vector<Database>& rows) override;
  Status WriteCollections(const std::vector<Collection>& rows) override;
  Status WriteRecords(const std::string& collection_id,
                      const std::vector<RecordRow>& rows) override;
  Result<std::vector<RecordRow>> LoadRecords(const std::string& collection_id) override;
  // Live rows in batches of 4,096 (as ClickHouseStorage streams them), and their number.
  Status ScanRecords(const std::string& collection_id, const RecordBatchFn& on_batch) override;
  Result<size_t> CountRecordRows(const std::string& collection_id) override;
  Result<std::vector<std::pair<std::string, uint64_t>>> LoadRecordVersions(
      const std::string& collection_id, uint64_t min_version) override;
  Result<std::vector<RecordRow>> LoadRecordsByIds(const std::string& collection_id,
                                                  const std::vector<std::string>& ids,
                                                  uint64_t min_version) override;
  Result<std::optional<IndexSnapshotInfo>> FindIndexSnapshot(
      const std::string& collection_id) override;
  Result<std::string> ReadIndexSnapshot(const std::string& collection_id,
                                        const IndexSnapshotInfo& info) override;
  Status WriteIndexSnapshot(const std::string& collection_id, const IndexSnapshotInfo& info,
                            std::string_view payload) override;
  Status PurgeRecords(const std::string& collection_id) override;
  // The number of non-empty WriteRecords calls.
  Result<std::optional<uint64_t>> RecordWriteCount() override;
  Status WriteCollectionFork(const CollectionFork& fork) override;
  Result<std::vector<CollectionFork>> LoadCollectionForks() override;
  Status Reset() override;

  // Test hook: while set, every call fails with kUnavailable.
  void SetUnavailable(bool unavailable);

 private:
  Mutex mu_;
  bool unavailable_ GUARDED_BY(mu_) = false;
  uint64_t catalog_writes_ GUARDED_BY(mu_) = 0;
  std::map<std::string, Tenant> tenants_ GUARDED_BY(mu_);
  std::map<std::string, Database> databases_ GUARDED_BY(mu_);      // key tenant + '\0' + name
  std::map<std::string, Collection> collections_ GUARDED_BY(mu_);  // key id
  std::map<std::string, InstanceBeat> beats_ GUARDED_BY(mu_);      // key instance
  std::vector<CollectionFork> forks_ GUARDED_BY(mu_);
  uint64_t record_writes_ GUARDED_BY(mu_) = 0;
  std::map<std::string, std::map<std::string, RecordRow>> records_
      GUARDED_BY(mu_);  // collection → id → row
  // collection → snapshot id → (info, payload)
  std::map<std::string, std::map<uint64_t, std::pair<IndexSnapshotInfo, std::string>>> snapshots_
      GUARDED_BY(mu_);
};

}  // namespace chromahouse
