// ClickHouseStorage: Storage on ClickHouse, through a SqlTransport.
//
// Tables (all in one ClickHouse database, default "chromahouse"), created by ordered migrations
// recorded in `schema_migrations`:
//   tenants(name, resource_name, ver, deleted)                    ORDER BY name
//   databases(tenant, name, id, ver, deleted)                     ORDER BY (tenant, name)
//   collections(id, tenant, database, name, metadata, configuration, schema, dimension,
//               ver, deleted)                                     ORDER BY id
//   records(collection, id, ver, created, deleted, embedding Array(Float32), document, uri,
//           metadata)                                             ORDER BY (collection, id)
//   (records are written and read in RowBinary)
// Every table is ReplacingMergeTree(ver): a write appends a full row version, a delete appends a
// tombstone (deleted = 1). Reads are plain SELECTs (no FINAL: 3–6× slower on 18.16) and keep the
// newest version per key here. No mutations run on request paths.
// All SQL runs on ClickHouse 18.16 and on current releases (tests replay it on both).
#pragma once

#include <memory>
#include <string>
#include <unordered_map>

#include "storage/clickhouse/sql_transport.h"
#include "storage/storage.h"

namespace chromahouse {

class ClickHouseStorage : public Storage {
 public:
  // `database` must match [A-Za-z_][A-Za-z0-9_]*. With a `cluster` (a name from the servers'
  // remote_servers), the database and tables are created ON CLUSTER, as Replicated engines
  // with ZooKeeper paths /clickhouse/tables/{shard}/<database>.<table> and replica {replica}
  // (macros every node defines); rows written through any node reach every replica.
  ClickHouseStorage(std::unique_ptr<SqlTransport> transport, std::string database,
                    std::string cluster = "");

  Status Initialize() override;
  Status Ping() override;
  Result<std::string> Describe() override;

  Result<std::vector<Tenant>> LoadTenants(bool include_deleted = false) override;
  Result<std::vector<Database>> LoadDatabases(bool include_deleted = false) override;
  Result<std::vector<Collection>> LoadCollections(bool include_deleted = false) override;
  Status WriteTenants(const std::vector<Tenant>& rows) override;
  Status WriteDatabases(const std::vector<Database>& rows) override;
  Status WriteCollections(const std::vector<Collection>& rows) override;
  Status WriteRecords(const std::string& collection_id,
                      const std::vector<RecordRow>& rows) override;
  Result<std::vector<RecordRow>> LoadRecords(const std::string& collection_id) override;
  Status ScanRecords(const std::string& collection_id, const RecordBatchFn& on_batch) override;
  Result<size_t> CountRecordRows(const std::string& collection_id) override;
  Result<VersionSummary> SummarizeRecordVersions(const std::string& collection_id,
                                                 uint64_t min_version) override;
  Result<std::optional<std::string>> CatalogFingerprint() override;
  Status WriteInstanceBeat(const InstanceBeat& beat) override;
  Result<std::vector<InstanceBeat>> LoadInstanceBeats(int64_t since_ms) override;
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
  // The highest block number of the records table's parts (blocks are numbered as inserts
  // commit); nullopt on a cluster, where a replica may fetch older blocks after newer ones.
  Result<std::optional<uint64_t>> RecordWriteCount() override;
  Status CopyRecords(const std::string& source, const std::string& target) override;
  Result<bool> CopyIndexSnapshot(const std::string& source, const std::string& target) override;
  Status WriteCollectionFork(const CollectionFork& fork) override;
  Result<std::vector<CollectionFork>> LoadCollectionForks() override;
  Status Reset() override;

  // The schema version this build expects (the number of migrations).
  static int LatestSchemaVersion();
  Result<int> CurrentSchemaVersion();

  static bool IsValidDatabaseName(std::string_view name);

  // Time limit of the refresh reads (LoadRecordVersions, LoadRecordsByIds, catalog loads with
  // tombstones): best effort, it must not hold a request long while ClickHouse hangs.
  void set_refresh_timeout_ms(int ms) { refresh_timeout_ms_ = ms; }
  // Time limit of an index snapshot's write or read (hundreds of MB for millions of records).
  void set_snapshot_timeout_ms(int ms) { snapshot_timeout_ms_ = ms; }

 private:
  std::string Table(std::string_view name) const { return database_ + "." + std::string(name); }
  // A CREATE statement of the schema, turned into its cluster form when there is a cluster.
  std::string Ddl(std::string statement) const;
  std::string OnCluster() const { return cluster_.empty() ? "" : " ON CLUSTER " + cluster_; }
  // Streams the rows of `SELECT … FROM records WHERE collection = … <where>` to `on_batch`, a
  // reused batch of up to 4,096 at a time, parsed as the result arrives (never held whole).
  Status StreamRecordRows(std::string_view kind, const std::string& where,
                          const std::string& collection_id, int timeout_ms,
                          const RecordBatchFn& on_batch);
  // The same rows reduced to the highest version per id (tombstones included).
  Status StreamNewestRecords(std::string_view kind, const std::string& where,
                             const std::string& collection_id,
                             std::unordered_map<std::string, RecordRow>* newest,
                             int timeout_ms = 0);

  std::unique_ptr<SqlTransport> transport_;
  int snapshot_timeout_ms_ = 300000;
  std::string database_;
  std::string cluster_;
  int refresh_timeout_ms_ = 2000;
};

}  // namespace chromahouse
