// CatalogService: Chroma's semantics for tenants, databases and collections.
//
// The whole catalog is held in memory (it is small) as a cache of the CatalogStore, loaded at
// start-up and refreshed from it. Reads are answered from the cache. Every change is one
// conditional operation at the store (create-if-absent, rename onto a free name, delete what
// exists), so that instances sharing a store agree on names; its result is applied to the
// cache only after the store accepted it. This class validates requests and words the
// messages clients see. `default_tenant` and `default_database` are created by the store.
//
// Thread safety: all methods are thread-safe. `mu_` guards the cache (shared for reads, held
// exclusively only to apply a result, never across a store call); `refresh_mu_` serialises
// refreshes with deletes, so that a catalog read before a delete cannot bring it back.
#pragma once

#include <atomic>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/mutex.h"
#include "common/status.h"
#include "core/catalog.h"
#include "core/requests.h"
#include "storage/catalog_store.h"
#include "storage/storage.h"
#include "storage/storage_catalog_store.h"

namespace chromahouse {

class CatalogService {
 public:
  // `records` is the record store, emptied by Reset before the catalog (may be null).
  CatalogService(CatalogStore* store, Storage* records);
  // The single-instance catalog: kept in `storage`'s own tables (StorageCatalogStore).
  CatalogService(Storage* storage, VersionClock* clock);

  // Initialises the store (schema, defaults) and loads the catalog from it.
  Status Initialize();

  // Freshness across instances: -1 = never re-read storage (the default), 0 = before every
  // call, N = when the catalog is older than N ms (see RecordService::EnableFreshness).
  void SetMaxStaleness(int64_t ms) { max_staleness_ms_ = ms; }
  // Merges storage's current catalog into memory (newer versions win; tombstones delete, and
  // deleted collections are reported to the deletion listener), unless the last refresh is
  // younger than `max_age_ms`.
  Status RefreshIfOlderThan(int64_t max_age_ms);
  // Steady-clock ms of the last call that reads or changes the catalog (every request on a
  // collection makes one): the background refresh rests while this is old.
  int64_t last_used_ms() const { return used_ms_.load(); }

  Status CreateTenant(const std::string& name);
  Result<Tenant> GetTenant(const std::string& name);
  Status UpdateTenant(const std::string& name, const std::string& resource_name);

  Result<std::vector<Database>> ListDatabases(const std::string& tenant, const Page& page);
  // Database names: Chroma 1.x's rules (3-512 characters of [a-zA-Z0-9._-], alphanumeric
  // ends), or those of the v1 API's Python servers (at least 3 characters, nothing else).
  enum class DatabaseNames { kChroma1, kV1 };
  Status CreateDatabase(const std::string& tenant, const std::string& name,
                        DatabaseNames rules = DatabaseNames::kChroma1);
  Result<Database> GetDatabase(const std::string& tenant, const std::string& name);
  Status DeleteDatabase(const std::string& tenant, const std::string& name);

  Result<std::vector<Collection>> ListCollections(const std::string& tenant,
                                                  const std::string& database, const Page& page);
  Result<int64_t> CountCollections(const std::string& tenant, const std::string& database);
  Result<Collection> CreateCollection(const std::string& tenant, const std::string& database,
                                      const CreateCollectionRequest& request);
  Result<Collection> GetCollectionByName(const std::string& tenant, const std::string& database,
                                         const std::string& name);
  // Scoped: a collection of another tenant/database is "not found".
  Result<Collection> GetCollectionById(const std::string& tenant, const std::string& database,
                                       const std::string& id);
  // Unscoped lookup by canonical UUID (record routes ignore the tenant/database segments).
  Result<Collection> GetCollection(const std::string& id);
  Status UpdateCollection(const std::string& id, const UpdateCollectionRequest& request);
  Status DeleteCollection(const std::string& tenant, const std::string& database,
                          const std::string& name);

  // Fork: a new collection `new_name` in the source's database with the source's metadata,
  // configuration, schema, dimension and records as they are now, copied inside the record
  // store (ClickHouse: INSERT … SELECT) with its index snapshot; later writes to either never
  // show in the other. Name rules and clashes as for create.
  Result<Collection> ForkCollection(const std::string& source_id, const std::string& new_name);
  // Forks in the lineage of collection `id` (CatalogStore::CountForks).
  Result<uint64_t> CountForks(const std::string& id);

  // Records the dimension fixed by a collection's first embedding write.
  Status SetDimension(const std::string& id, int64_t dimension);

  // Empties the record store and the catalog, and recreates the defaults.
  Status Reset();

  // Called (outside the catalog lock) with the ids of collections that were deleted, directly
  // or with their database, and with an empty list after a reset.
  using DeletionListener = std::function<void(const std::vector<std::string>& ids, bool reset)>;
  void SetDeletionListener(DeletionListener listener) { listener_ = std::move(listener); }
  // Asked before every change of tenants, databases and collections (not SetDimension or
  // Reset); a failure refuses the change with its status (InstanceRegistry). Set before serving.
  using WriteGuard = std::function<Status()>;
  void SetWriteGuard(WriteGuard guard) { write_guard_ = std::move(guard); }

  // Resolves the HNSW configuration of a new collection from its configuration, legacy
  // `hnsw:*` metadata keys (API.md §6.2) and the vector index its schema declares for
  // `#embedding` (space, parameters, embedding function; used where the configuration gives
  // none). Exposed for tests.
  static Result<CollectionConfiguration> ResolveConfiguration(
      const std::optional<CollectionConfigurationInput>& configuration,
      const std::optional<Metadata>& metadata,
      const std::optional<CollectionConfigurationInput>& schema_vector_index = std::nullopt);
  // Validates collection metadata (create and modify): non-empty, keys legal, scalar values.
  static Status ValidateCollectionMetadata(const Metadata& metadata, std::string_view field);

 private:
  using DbKey = std::pair<std::string, std::string>;  // tenant, name

  // Brings a changed or new entry into the cache unless the cache holds a newer version.
  void ApplyLocked(const Tenant& t) REQUIRES(mu_);
  void ApplyLocked(const Database& d) REQUIRES(mu_);
  void ApplyLocked(const Collection& c) REQUIRES(mu_);
  // Called first by every public method: refreshes when the catalog is too old; a failure
  // leaves the catalog as it is (logged).
  void MaybeRefresh();
  // On a lookup miss: refreshes (unless done in the last few ms); true = look again.
  bool RefreshOnMiss();
  Status CheckWriteGuard() const { return write_guard_ ? write_guard_() : Status::Ok(); }
  const Collection* FindByNameLocked(const std::string& tenant, const std::string& database,
                                     const std::string& name) const REQUIRES_SHARED(mu_);

  std::unique_ptr<StorageCatalogStore> owned_store_;  // the single-instance constructor's
  CatalogStore* store_;
  Storage* records_;
  DeletionListener listener_;
  WriteGuard write_guard_;
  SharedMutex mu_;
  std::map<std::string, Tenant> tenants_ GUARDED_BY(mu_);
  std::map<DbKey, Database> databases_ GUARDED_BY(mu_);
  std::map<std::string, Collection> collections_ GUARDED_BY(mu_);  // by id (ascending UUID)
  std::atomic<int64_t> max_staleness_ms_{-1};
  std::atomic<int64_t> refreshed_ms_{0};
  std::atomic<int64_t> used_ms_{0};
  Mutex refresh_mu_ ACQUIRED_BEFORE(mu_);  // one refresh at a time
  // Storage's catalog fingerprint when the catalog was last read whole: while it stays the
  // same, a refresh reads nothing else.
  std::optional<std::string> fingerprint_ GUARDED_BY(refresh_mu_);
};

}  // namespace chromahouse
