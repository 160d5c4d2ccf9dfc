// Storage: the seam between the server and its source of truth.
//
// Every write appends full row versions (a tombstone for a delete); readers get the newest
// version of each key, tombstones removed. ClickHouseStorage is the real implementation;
// MemoryStorage is a fake for unit tests. Only server/ (and tests) name a concrete class.
//
// Thread safety: implementations are safe to call from many threads at once.
// Errors: kUnavailable when the backend cannot be reached (the client may retry), kInternal
// with the backend's own message otherwise.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "core/catalog.h"
#include "core/record.h"

namespace chromahouse {

// One stored index snapshot of a collection (collection/index_snapshot.h: the payload is opaque
// here).
struct IndexSnapshotInfo {
  uint64_t id = 0;         // unique and increasing (a version from the clock)
  uint32_t format = 0;     // the payload's format version
  uint64_t watermark = 0;  // the highest record version the snapshot covers
  uint64_t records = 0;    // graph nodes
  uint64_t bytes = 0;      // payload size
};

class Storage {
 public:
  virtual ~Storage() = default;

  // Creates the schema if missing and applies pending migrations, in order. Idempotent.
  virtual Status Initialize() = 0;
  // Cheap liveness probe of the backend.
  virtual Status Ping() = 0;
  // Human-readable description of the backend, e.g. "ClickHouse 18.16.1 at http://…".
  virtual Result<std::string> Describe() = 0;

  // Catalog reads: newest version per key, tombstones dropped.
  // `include_deleted`: also the newest tombstones (for merging into a catalog already loaded).
  virtual Result<std::vector<Tenant>> LoadTenants(bool include_deleted = false) = 0;
  virtual Result<std::vector<Database>> LoadDatabases(bool include_deleted = false) = 0;
  virtual Result<std::vector<Collection>> LoadCollections(bool include_deleted = false) = 0;
  // A short text that changes whenever a row is added to or removed from any of the three
  // catalog tables (a write, a merge), so that a refresh can skip reading them while it stays
  // the same; nullopt = no such summary (always read).
  virtual Result<std::optional<std::string>> CatalogFingerprint() {
    return std::optional<std::string>();
  }

  // Catalog writes: each row is a full version (row.version set by the caller, row.deleted
  // marks a tombstone). All rows of one call are written in one batch.
  virtual Status WriteTenants(const std::vector<Tenant>& rows) = 0;
  virtual Status WriteDatabases(const std::vector<Database>& rows) = 0;
  virtual Status WriteCollections(const std::vector<Collection>& rows) = 0;

  // Records of one collection. Write appends full versions (tombstones for deletes) in one
  // batch; Load returns the newest version of each live record, in no particular order.
  virtual Status WriteRecords(const std::string& collection_id,
                              const std::vector<RecordRow>& rows) = 0;
  virtual Result<std::vector<RecordRow>> LoadRecords(const std::string& collection_id) = 0;
  // Loading a whole collection without holding all of its rows twice: every stored row (each
  // version and tombstone the backend still keeps, in no particular order) goes to `on_batch`
  // some thousands at a time (the batch's rows are reused for the next one). Applying them
  // newest-wins gives LoadRecords' result. The default streams LoadRecords' rows.
  using RecordBatchFn = std::function<Status(std::span<const RecordRow> batch)>;
  virtual Status ScanRecords(const std::string& collection_id, const RecordBatchFn& on_batch) {
    ASSIGN_OR_RETURN(std::vector<RecordRow> rows, LoadRecords(collection_id));
    return on_batch(rows);
  }
  // At least as many rows as ScanRecords would stream, cheaply (0 = unknown).
  virtual Result<size_t> CountRecordRows(const std::string& /*collection_id*/) { return size_t{0}; }
  // Refreshing a loaded collection with what other instances wrote, in two steps so that rows
  // the caller already holds are not transferred again: the (id, version) pairs of rows written
  // with a version above `min_version` (tombstones included; older versions of an id may appear
  // too)…
  virtual Result<std::vector<std::pair<std::string, uint64_t>>> LoadRecordVersions(
      const std::string& collection_id, uint64_t min_version) = 0;
  // A summary of the rows LoadRecordVersions would return: their number and the sums of the
  // high and low 32 bits of their versions (exact, no wrapping below 2^32 rows). A refresh
  // compares it with the versions it already knows to be stored and reads the list only when
  // they differ. The default summarises LoadRecordVersions' answer.
  struct VersionSummary {
    uint64_t rows = 0, high_sum = 0, low_sum = 0;
    void Add(uint64_t version) {
      ++rows;
      high_sum += version >> 32;
      low_sum += version & 0xffffffffu;
    }
    bool operator==(const VersionSummary&) const = default;
  };
  virtual Result<VersionSummary> SummarizeRecordVersions(const std::string& collection_id,
                                                         uint64_t min_version) {
    ASSIGN_OR_RETURN(auto versions, LoadRecordVersions(collection_id, min_version));
    VersionSummary out;
    for (const auto& [id, version] : versions) out.Add(version);
    return out;
  }
  // …then the newest row of each of `ids` with a version above `min_version` (tombstones
  // included), in no particular order.
  virtual Result<std::vector<RecordRow>> LoadRecordsByIds(const std::string& collection_id,
                                                          const std::vector<std::string>& ids,
                                                          uint64_t min_version) = 0;
  // A number that grows by exactly one with every write to the records table that becomes
  // visible (an INSERT of this process or of any other; merges leave it alone), read cheaply;
  // nullopt when the backend has no such number (then callers assume writes from elsewhere).
  // It may also grow for other reasons (a purge, a write that failed late) and fall (a reset):
  // callers take any difference from their own count of writes as "maybe written elsewhere".
  virtual Result<std::optional<uint64_t>> RecordWriteCount() { return std::optional<uint64_t>(); }
  // Physically removes a deleted collection's records and index snapshots. May run in the
  // background; readers never see them anyway (the collection is gone from the catalog).
  virtual Status PurgeRecords(const std::string& collection_id) = 0;

  // Index snapshots. The newest complete snapshot of a collection, or nullopt…
  virtual Result<std::optional<IndexSnapshotInfo>> FindIndexSnapshot(
      const std::string& collection_id) = 0;
  // …its payload (NotFound if it disappeared meanwhile)…
  virtual Result<std::string> ReadIndexSnapshot(const std::string& collection_id,
                                                const IndexSnapshotInfo& info) = 0;
  // …and storing one: all of it in one write (a reader never sees part of it), then the
  // collection's older snapshots are removed (in the background, where the backend allows).
  virtual Status WriteIndexSnapshot(const std::string& collection_id, const IndexSnapshotInfo& info,
                                    std::string_view payload) = 0;

  // Forks (CatalogService::ForkCollection). Every stored row of `source`'s records (versions
  // and tombstones) stored again under `target`, as they are at one moment: the rows of one
  // write are all copied or none. ClickHouse copies them itself (INSERT … SELECT); the default
  // passes them through this process.
  virtual Status CopyRecords(const std::string& source, const std::string& target);
  // The newest complete index snapshot of `source` stored again for `target`; false when
  // `source` has none. (Snapshots name nodes by record id, so it fits the copied records.)
  virtual Result<bool> CopyIndexSnapshot(const std::string& source, const std::string& target);
  // The lineage of forks, for a catalog kept in this store (StorageCatalogStore): appended
  // once, never changed; Reset removes them.
  virtual Status WriteCollectionFork(const CollectionFork& fork) = 0;
  virtual Result<std::vector<CollectionFork>> LoadCollectionForks() = 0;

  // Instances announce themselves here (InstanceRegistry): one row per instance key, the
  // newest wins; `alive` false once it stopped.
  struct InstanceBeat {
    std::string instance;  // "<host>:<port>" of its HTTP server
    std::string catalog;   // "clickhouse" or "postgresql": where that instance keeps the catalog
    int64_t seen_ms = 0;   // Unix milliseconds of the beat
    bool alive = true;
  };
  virtual Status WriteInstanceBeat(const InstanceBeat& beat) = 0;
  // The newest beat of every instance that beat at or after `since_ms`.
  virtual Result<std::vector<InstanceBeat>> LoadInstanceBeats(int64_t since_ms) = 0;

  // Removes all data (the reset route). The schema stays.
  virtual Status Reset() = 0;
};

}  // namespace chromahouse
