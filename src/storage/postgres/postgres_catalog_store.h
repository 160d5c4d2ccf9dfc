// PostgresCatalogStore: the catalog in PostgreSQL, for deployments of several instances.
//
// Every operation is one transaction. Writers first lock the one-row `catalog_state`, which
// serialises catalog changes across all instances (they are rare), and a change bumps its
// epoch, which becomes the version of every row the transaction writes: versions grow in commit
// order, and the epoch is the catalog's fingerprint. A name is unique per tenant (databases)
// and per database (collections) by unique constraints, the last word should two writers ever
// get past the checks. Deletes remove rows (no tombstones): a Load is one snapshot, complete up
// to its epoch, which tells a cache what was deleted. Ids come from gen_random_uuid().
//
// Each committed change is announced with NOTIFY on the channel `chromahouse_catalog`
// (payload: the new epoch), in the same transaction.
//
// Failures: kUnavailable (503 for clients) when PostgreSQL cannot be reached, a statement
// passes the time-out, or the connection broke mid-way (the outcome of that one change is then
// unknown); the next call connects again. Schema migrations are ordered (`schema_migrations`),
// applied under an advisory lock, and refused when the database is newer than this build.
//
// Thread safety: all methods are thread-safe; `mu_` guards the one connection (catalog
// operations of one instance run one at a time).
#pragma once

#include <memory>
#include <string>

#include "common/mutex.h"
#include "storage/catalog_store.h"
#include "storage/postgres/pg_connection.h"

namespace chromahouse {

struct PostgresCatalogOptions {
  std::string url;  // libpq URI or connection string
  int connect_timeout_seconds = 3;
  int statement_timeout_ms = 5000;
};

class PostgresCatalogStore : public CatalogStore {
 public:
  explicit PostgresCatalogStore(PostgresCatalogOptions options);
  ~PostgresCatalogStore() override;

  static int LatestSchemaVersion();
  static constexpr const char* kChannel = "chromahouse_catalog";

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
  Result<Collection> ForkCollection(const std::string& source_id, const std::string& target_id,
                                    const std::string& target_name) override;
  Result<uint64_t> CountForks(const std::string& id) override;
  Result<std::vector<CollectionFork>> LoadForks() override;
  Status Reset() override;

  // Copies `snapshot` (live entries) and the lineage `forks` into this store in one
  // transaction, keeping ids; entries already here (same tenant, database id or collection id;
  // same fork target) are left as they are. Refused with FailedPrecondition, naming them, when
  // a collection's name is taken here by another id. Returns the number of tenants, databases
  // and collections copied.
  Result<size_t> Import(const CatalogSnapshot& snapshot,
                        const std::vector<CollectionFork>& forks = {});

 private:
  // Runs `body` in one transaction on the connection (connecting first when needed); a
  // failure rolls it back, or drops the connection when it broke.
  template <typename Fn>
  auto Transact(const char* kind, Fn&& body) -> decltype(body(std::declval<PgConnection&>()));
  Result<PgConnection*> ConnectLocked() REQUIRES(mu_);

  const PostgresCatalogOptions options_;
  Mutex mu_;
  std::unique_ptr<PgConnection> conn_ GUARDED_BY(mu_);  // null until connected / after a break
};

}  // namespace chromahouse
