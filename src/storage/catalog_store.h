// CatalogStore: the seam to where tenants, databases and collections are kept.
//
// Every change is a conditional operation *at the store* — create-if-absent, rename only onto a
// free name, delete what exists — so that several server instances sharing one store cannot
// create one name twice: the check and the write are one step there, not a read of an
// instance's memory followed by an append. The store also assigns ids and row versions (a
// version orders the changes to one entry; a refresh keeps the newer one).
//
// Implementations:
//  - StorageCatalogStore (storage_catalog_store.h): the catalog in the record store's own tables
//    (ClickHouse, or MemoryStorage in unit tests). Its conditions hold within one process only:
//    the single-instance default.
//  - PostgresCatalogStore (postgres/postgres_catalog_store.h): one transaction per operation,
//    unique live names enforced by the database; for any deployment of more than one instance.
//
// Messages: the store's statuses carry the right code (kAlreadyExists, kNotFound,
// kInvalidArgument for a missing database, kUnavailable when the store cannot be reached);
// CatalogService words the messages clients see.
//
// Thread safety: implementations are safe to call from many threads at once.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "core/catalog.h"

namespace chromahouse {

// The whole catalog at one moment.
struct CatalogSnapshot {
  std::vector<Tenant> tenants;
  std::vector<Database> databases;
  std::vector<Collection> collections;
  // Set by stores that keep no tombstones: every entry changed at or below this version is in
  // the snapshot as it is, so an entry of a cache with a version up to it that the snapshot
  // lacks was deleted.
  std::optional<uint64_t> complete_up_to;
};

class CatalogStore {
 public:
  virtual ~CatalogStore() = default;

  // Creates or migrates the schema and the defaults (`default_tenant`, `default_database`).
  // Idempotent; several instances may run it at once.
  virtual Status Initialize() = 0;
  // e.g. "PostgreSQL 15.18 at 127.0.0.1:5432/chromahouse".
  virtual Result<std::string> Describe() = 0;

  // The newest version of every entry; with `include_deleted` also the newest tombstones, if
  // the store keeps them (for merging into a catalog already held in memory).
  virtual Result<CatalogSnapshot> Load(bool include_deleted) = 0;
  // A short text that changes with every catalog change (nullopt: no such summary; always
  // Load). Read before Load, it tells whether a refresh needs to Load at all.
  virtual Result<std::optional<std::string>> Fingerprint() = 0;

  // AlreadyExists when the tenant exists.
  virtual Result<Tenant> CreateTenant(const std::string& name) = 0;
  // AlreadyExists when a live database of that name exists in the tenant.
  virtual Result<Database> CreateDatabase(const std::string& tenant, const std::string& name) = 0;
  // Deletes the database and its collections in one step (NotFound when absent); returns the
  // deleted collections (`deleted` set, with the version of the deletion).
  virtual Result<std::vector<Collection>> DeleteDatabase(const std::string& tenant,
                                                         const std::string& name) = 0;

  struct CreatedCollection {
    Collection collection;
    bool created = false;  // false: an existing collection returned for get_or_create
  };
  // Creates `spec` (its id and version are assigned here) unless a live collection of that
  // name exists in its database: then that one is returned when `get_or_create`, and
  // AlreadyExists otherwise. InvalidArgument when the database does not exist.
  virtual Result<CreatedCollection> CreateCollection(const Collection& spec,
                                                     bool get_or_create) = 0;
  // Reads the live collection `id`, applies `change` to it and writes the result, as one step
  // (NotFound when absent). A changed name already taken by another live collection of the
  // same database is AlreadyExists. `change` must not call the store.
  using CollectionChange = std::function<void(Collection&)>;
  virtual Result<Collection> UpdateCollection(const std::string& id,
                                              const CollectionChange& change) = 0;
  // Deletes the live collection of that name (NotFound when absent); returns it as deleted.
  virtual Result<Collection> DeleteCollection(const std::string& tenant,
                                              const std::string& database,
                                              const std::string& name) = 0;

  // Creates `target_name`, with id `target_id`, in the database of the live collection
  // `source_id` as a copy of that collection as it is now (metadata, configuration, schema,
  // dimension), and appends the fork to the source's lineage, as one step. NotFound when the
  // source is absent; AlreadyExists when a live collection of that name exists. (The records
  // are copied by the caller before: the fork appears with them.)
  virtual Result<Collection> ForkCollection(const std::string& source_id,
                                            const std::string& target_id,
                                            const std::string& target_name) = 0;
  // The number of forks in the lineage of collection `id` (every fork of its root and of the
  // root's forks, also of collections deleted since; 0 for a collection never forked nor a
  // fork), as Chroma counts them.
  virtual Result<uint64_t> CountForks(const std::string& id) = 0;
  // Every fork recorded (for copying a catalog to another store).
  virtual Result<std::vector<CollectionFork>> LoadForks() = 0;
  // Removes every entry and re-creates the defaults.
  virtual Status Reset() = 0;
};

}  // namespace chromahouse
