// StorageCatalogStore: the catalog kept in the record store's own tables (ClickHouse's
// `tenants`, `databases` and `collections`, or MemoryStorage's in unit tests).
//
// ClickHouse has no transactions and no unique keys, so a conditional operation is a check
// against a mirror of the stored catalog followed by an append, under one lock of this
// process. That is exact for one instance and only for one: two instances can both pass the
// check (the single-instance default; several instances take PostgresCatalogStore). Before
// each check the mirror is brought up to date when storage's catalog fingerprint changed.
//
// Thread safety: all methods are thread-safe; `mu_` serialises the conditional operations.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <utility>

#include "common/clock.h"
#include "common/mutex.h"
#include "storage/catalog_store.h"
#include "storage/storage.h"

namespace chromahouse {

class StorageCatalogStore : public CatalogStore {
 public:
  // `storage` is initialised by the caller; versions come from `clock`.
  StorageCatalogStore(Storage* storage, VersionClock* clock);

  Status Initialize() override;
  Result<std::string> Describe() override;
  Result<CatalogSnapshot> Load(bool include_deleted) override;
  Result<std::optional<std::string>> Fingerprint() override;
  Result<Tenant> CreateTenant(const std::string& name) override;
  Result<Database> CreateDatabase(const std::string& tenant, const std::string& name) override;
  Result<std::vector<Collection>> DeleteDatabase(const std::string& tenant,
                                                 const std::string& name) override;
  Result<CreatedCollection> CreateCollection(const Collection& spec, bool get_or_create) override;
  Result<Collection> UpdateCollection(const std::string& id,
                                      const CollectionChange& change) override;
  Result<Collection> DeleteCollection(const std::string& tenant, const std::string& database,
                                      const std::string& name) override;
  // Tombstones whatever is live (nothing after Storage::Reset), then writes the defaults.
  Result<Collection> ForkCollection(const std::string& source_id, const std::string& target_id,
                                    const std::string& target_name) override;
  Result<uint64_t> CountForks(const std::string& id) override;
  Result<std::vector<CollectionFork>> LoadForks() override;
  Status Reset() override;

 private:
  using DbKey = std::pair<std::string, std::string>;  // tenant, name

  // Re-reads the live catalog into the mirror unless storage's fingerprint is the one seen
  // after the mirror was last brought up to date.
  Status SyncLocked() REQUIRES(mu_);
  // After a write of ours: the fingerprint that includes it (none = read again next time).
  void NoteWriteLocked() REQUIRES(mu_);
  Status EnsureDefaultsLocked() REQUIRES(mu_);
  const Collection* FindByNameLocked(const std::string& tenant, const std::string& database,
                                     const std::string& name) const REQUIRES(mu_);

  Storage* const storage_;
  VersionClock* const clock_;
  Mutex mu_;
  bool synced_ GUARDED_BY(mu_) = false;
  std::optional<std::string> fingerprint_ GUARDED_BY(mu_);
  std::map<std::string, Tenant> tenants_ GUARDED_BY(mu_);
  std::map<DbKey, Database> databases_ GUARDED_BY(mu_);
  std::map<std::string, Collection> collections_ GUARDED_BY(mu_);  // by id
};

}  // namespace chromahouse
