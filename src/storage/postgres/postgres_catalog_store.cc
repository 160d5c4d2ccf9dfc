#include "storage/postgres/postgres_catalog_store.h"

#include "common/log.h"
#include "common/uuid.h"
#include "core/metadata.h"

namespace chromahouse {
namespace {

struct Migration {
  int version;
  const char* description;
  const char* sql;
};

// Ordered migrations. Never edit one that has shipped; append a new one instead.
const std::vector<Migration>& Migrations() {
  static const std::vector<Migration> kMigrations = {
      {1, "catalog tables",
       R"sql(
CREATE TABLE catalog_state (
  only_row boolean PRIMARY KEY DEFAULT true CHECK (only_row),
  epoch bigint NOT NULL
);
INSERT INTO catalog_state (epoch) VALUES (0);
CREATE TABLE tenants (
  name text PRIMARY KEY,
  resource_name text,
  version bigint NOT NULL
);
CREATE TABLE databases (
  id text PRIMARY KEY,
  tenant text NOT NULL,
  name text NOT NULL,
  version bigint NOT NULL,
  UNIQUE (tenant, name)
);
CREATE TABLE collections (
  id text PRIMARY KEY,
  tenant text NOT NULL,
  "database" text NOT NULL,
  name text NOT NULL,
  metadata text,
  configuration text NOT NULL,
  "schema" text,
  dimension bigint,
  version bigint NOT NULL,
  UNIQUE (tenant, "database", name)
);
)sql"},
      {2, "collection forks",
       R"sql(
CREATE TABLE collection_forks (
  target text PRIMARY KEY,
  root text NOT NULL,
  source text NOT NULL,
  version bigint NOT NULL
);
CREATE INDEX collection_forks_root ON collection_forks (root);
)sql"},
  };
  return kMigrations;
}

constexpr const char* kCollectionColumns =
    R"(id, tenant, "database", name, metadata, configuration, "schema", dimension, version)";
constexpr const char* kMigrationLock = "SELECT pg_advisory_xact_lock(7235419061288201)";

std::optional<std::string> Text(const std::string& s) { return s; }
std::optional<std::string> Number(int64_t v) { return std::to_string(v); }

Result<Collection> CollectionFromRow(const PgResult& r, int row) {
  Collection c;
  c.id = std::string(r.Get(row, 0));
  c.tenant = std::string(r.Get(row, 1));
  c.database = std::string(r.Get(row, 2));
  c.name = std::string(r.Get(row, 3));
  if (auto md = r.GetNullable(row, 4)) {
    ASSIGN_OR_RETURN(Metadata m, MetadataFromJson(*md));
    c.metadata = std::move(m);
  }
  ASSIGN_OR_RETURN(c.configuration, ConfigurationFromStoredJson(r.Get(row, 5)));
  c.schema_json = r.GetNullable(row, 6).value_or("");
  if (!r.IsNull(row, 7)) c.dimension = r.GetInt(row, 7);
  c.version = static_cast<uint64_t>(r.GetInt(row, 8));
  return c;
}

Result<std::vector<Collection>> CollectionsFromRows(const PgResult& r) {
  std::vector<Collection> out;
  out.reserve(static_cast<size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) {
    ASSIGN_OR_RETURN(Collection c, CollectionFromRow(r, i));
    out.push_back(std::move(c));
  }
  return out;
}

// The parameters $1..$9 of kCollectionColumns.
PgConnection::Params CollectionParams(const Collection& c) {
  return {Text(c.id),
          Text(c.tenant),
          Text(c.database),
          Text(c.name),
          c.metadata ? Text(MetadataToJson(*c.metadata)) : std::nullopt,
          Text(ConfigurationToStoredJson(c.configuration)),
          c.schema_json.empty() ? std::nullopt : Text(c.schema_json),
          c.dimension ? Number(*c.dimension) : std::nullopt,
          Number(static_cast<int64_t>(c.version))};
}

// Takes the catalog's write lock (the epoch row) until the transaction ends.
Status LockCatalog(PgConnection& c) {
  return c.Exec("lock the catalog", "SELECT epoch FROM catalog_state FOR UPDATE").status();
}

// The version of this transaction's changes: the next epoch, announced at commit.
Result<uint64_t> NextVersion(PgConnection& c) {
  ASSIGN_OR_RETURN(
      PgResult r,
      c.Exec("next catalog version", "UPDATE catalog_state SET epoch = epoch + 1 RETURNING epoch"));
  const int64_t epoch = r.GetInt(0, 0);
  RETURN_IF_ERROR(c.Exec("announce the change", "SELECT pg_notify($1, $2)",
                         {Text(PostgresCatalogStore::kChannel), Number(epoch)})
                      .status());
  return static_cast<uint64_t>(epoch);
}

Status EnsureDefaults(PgConnection& c) {
  RETURN_IF_ERROR(LockCatalog(c));
  ASSIGN_OR_RETURN(PgResult tenant,
                   c.Exec("find default tenant", "SELECT 1 FROM tenants WHERE name = $1",
                          {Text(std::string(kDefaultTenant))}));
  ASSIGN_OR_RETURN(
      PgResult database,
      c.Exec("find default database", "SELECT 1 FROM databases WHERE tenant = $1 AND name = $2",
             {Text(std::string(kDefaultTenant)), Text(std::string(kDefaultDatabase))}));
  if (tenant.rows() > 0 && database.rows() > 0) return Status::Ok();
  ASSIGN_OR_RETURN(uint64_t version, NextVersion(c));
  if (tenant.rows() == 0) {
    RETURN_IF_ERROR(
        c.Exec("create default tenant", "INSERT INTO tenants (name, version) VALUES ($1, $2)",
               {Text(std::string(kDefaultTenant)), Number(static_cast<int64_t>(version))})
            .status());
  }
  if (database.rows() == 0) {
    RETURN_IF_ERROR(
        c.Exec("create default database",
               "INSERT INTO databases (id, tenant, name, version) "
               "VALUES ($1, $2, $3, $4)",
               {Text(std::string(kNilUuid)), Text(std::string(kDefaultTenant)),
                Text(std::string(kDefaultDatabase)), Number(static_cast<int64_t>(version))})
            .status());
  }
  return Status::Ok();
}

}  // namespace

PostgresCatalogStore::PostgresCatalogStore(PostgresCatalogOptions options)
    : options_(std::move(options)) {}

PostgresCatalogStore::~PostgresCatalogStore() = default;

int PostgresCatalogStore::LatestSchemaVersion() { return Migrations().back().version; }

Result<PgConnection*> PostgresCatalogStore::ConnectLocked() {
  if (conn_ && conn_->ok()) return conn_.get();
  conn_.reset();
  ASSIGN_OR_RETURN(conn_, PgConnection::Connect(options_.url, options_.connect_timeout_seconds,
                                                options_.statement_timeout_ms));
  return conn_.get();
}

template <typename Fn>
auto PostgresCatalogStore::Transact(const char* kind, Fn&& body)
    -> decltype(body(std::declval<PgConnection&>())) {
  MutexLock lock(mu_);
  auto connected = ConnectLocked();
  if (!connected.ok()) return connected.status();
  if (auto begin = (*connected)->Exec(kind, "BEGIN"); !begin.ok()) {
    // A connection that broke while idle (PostgreSQL restarted): nothing was done yet, so
    // connect again once before giving up.
    conn_.reset();
    connected = ConnectLocked();
    if (!connected.ok()) return connected.status();
    if (auto again = (*connected)->Exec(kind, "BEGIN"); !again.ok()) {
      conn_.reset();
      return again.status();
    }
  }
  PgConnection& c = **connected;
  auto result = body(c);
  if (result.ok()) {
    if (auto commit = c.Exec(kind, "COMMIT"); !commit.ok()) {
      if (!c.ok()) conn_.reset();
      return commit.status();
    }
  } else if (!c.ok() || !c.Exec(kind, "ROLLBACK").ok()) {
    conn_.reset();
  }
  return result;
}

Status PostgresCatalogStore::Initialize() {
  RETURN_IF_ERROR(Transact("migrate the catalog schema", [](PgConnection& c) -> Status {
    // One instance migrates at a time; the others wait here and then find nothing to do.
    RETURN_IF_ERROR(c.Exec("lock for migrations", kMigrationLock).status());
    RETURN_IF_ERROR(c.Exec("create schema_migrations",
                           "CREATE TABLE IF NOT EXISTS schema_migrations ("
                           "version integer PRIMARY KEY, description text NOT NULL, "
                           "applied_at timestamptz NOT NULL DEFAULT now())")
                        .status());
    ASSIGN_OR_RETURN(PgResult current, c.Exec("read schema version",
                                              "SELECT coalesce(max(version), 0) "
                                              "FROM schema_migrations"));
    const int64_t version = current.GetInt(0, 0);
    if (version > LatestSchemaVersion()) {
      return Status::FailedPrecondition(
          "the PostgreSQL catalog at " + c.Endpoint() + " has schema version " +
          std::to_string(version) + ", newer than this build understands (" +
          std::to_string(LatestSchemaVersion()) + "); upgrade chromahouse");
    }
    for (const Migration& m : Migrations()) {
      if (m.version <= version) continue;
      LOG_INFO("applying catalog schema migration {} ({})", m.version, m.description);
      RETURN_IF_ERROR(c.Exec("catalog migration", m.sql).status());
      RETURN_IF_ERROR(c.Exec("record migration",
                             "INSERT INTO schema_migrations (version, description) "
                             "VALUES ($1, $2)",
                             {Number(m.version), Text(m.description)})
                          .status());
    }
    return Status::Ok();
  }));
  return Transact("create the default tenant and database", EnsureDefaults);
}

Result<std::string> PostgresCatalogStore::Describe() {
  return Transact("describe", [](PgConnection& c) -> Result<std::string> {
    ASSIGN_OR_RETURN(PgResult r, c.Exec("server version", "SHOW server_version"));
    std::string version(r.Get(0, 0));
    if (auto space = version.find(' '); space != std::string::npos) version.resize(space);
    return "PostgreSQL " + version + " at " + c.Endpoint();
  });
}

Result<CatalogSnapshot> PostgresCatalogStore::Load(bool /*include_deleted*/) {
  // No tombstones here: a deleted entry is gone, and the snapshot says up to which version it
  // is complete (the epoch), so that a cache can tell deleted entries from newer ones.
  return Transact("load the catalog", [](PgConnection& c) -> Result<CatalogSnapshot> {
    // One snapshot of the epoch and all three tables.
    RETURN_IF_ERROR(
        c.Exec("load the catalog", "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .status());
    CatalogSnapshot out;
    ASSIGN_OR_RETURN(PgResult epoch,
                     c.Exec("read the catalog epoch", "SELECT epoch FROM catalog_state"));
    out.complete_up_to = static_cast<uint64_t>(epoch.GetInt(0, 0));
    ASSIGN_OR_RETURN(PgResult tenants,
                     c.Exec("load tenants", "SELECT name, resource_name, version FROM tenants"));
    for (int i = 0; i < tenants.rows(); ++i) {
      out.tenants.push_back(Tenant{std::string(tenants.Get(i, 0)), tenants.GetNullable(i, 1),
                                   static_cast<uint64_t>(tenants.GetInt(i, 2)), false});
    }
    ASSIGN_OR_RETURN(PgResult databases,
                     c.Exec("load databases", "SELECT id, name, tenant, version FROM databases"));
    for (int i = 0; i < databases.rows(); ++i) {
      out.databases.push_back(Database{
          std::string(databases.Get(i, 0)), std::string(databases.Get(i, 1)),
          std::string(databases.Get(i, 2)), static_cast<uint64_t>(databases.GetInt(i, 3)), false});
    }
    ASSIGN_OR_RETURN(PgResult collections,
                     c.Exec("load collections",
                            std::string("SELECT ") + kCollectionColumns + " FROM collections"));
    ASSIGN_OR_RETURN(out.collections, CollectionsFromRows(collections));
    return out;
  });
}

Result<std::optional<std::string>> PostgresCatalogStore::Fingerprint() {
  return Transact(
      "read the catalog epoch", [](PgConnection& c) -> Result<std::optional<std::string>> {
        ASSIGN_OR_RETURN(PgResult r,
                         c.Exec("read the catalog epoch", "SELECT epoch FROM catalog_state"));
        return std::optional<std::string>(std::string(r.Get(0, 0)));
      });
}

Result<Tenant> PostgresCatalogStore::CreateTenant(const std::string& name) {
  return Transact("create tenant", [&name](PgConnection& c) -> Result<Tenant> {
    RETURN_IF_ERROR(LockCatalog(c));
    ASSIGN_OR_RETURN(PgResult existing,
                     c.Exec("find tenant", "SELECT 1 FROM tenants WHERE name = $1", {Text(name)}));
    if (existing.rows() > 0) return Status::AlreadyExists("tenant " + name);
    ASSIGN_OR_RETURN(uint64_t version, NextVersion(c));
    RETURN_IF_ERROR(c.Exec("create tenant", "INSERT INTO tenants (name, version) VALUES ($1, $2)",
                           {Text(name), Number(static_cast<int64_t>(version))})
                        .status());
    return Tenant{name, std::nullopt, version, false};
  });
}

Result<Database> PostgresCatalogStore::CreateDatabase(const std::string& tenant,
                                                      const std::string& name) {
  return Transact("create database", [&](PgConnection& c) -> Result<Database> {
    RETURN_IF_ERROR(LockCatalog(c));
    ASSIGN_OR_RETURN(
        PgResult existing,
        c.Exec("find database", "SELECT 1 FROM databases WHERE tenant = $1 AND name = $2",
               {Text(tenant), Text(name)}));
    if (existing.rows() > 0) return Status::AlreadyExists("database " + name);
    ASSIGN_OR_RETURN(uint64_t version, NextVersion(c));
    ASSIGN_OR_RETURN(PgResult inserted,
                     c.Exec("create database",
                            "INSERT INTO databases (id, tenant, name, version) "
                            "VALUES (gen_random_uuid()::text, $1, $2, $3) RETURNING id",
                            {Text(tenant), Text(name), Number(static_cast<int64_t>(version))}));
    return Database{std::string(inserted.Get(0, 0)), name, tenant, version, false};
  });
}

Result<std::vector<Collection>> PostgresCatalogStore::DeleteDatabase(const std::string& tenant,
                                                                     const std::string& name) {
  return Transact("delete database", [&](PgConnection& c) -> Result<std::vector<Collection>> {
    RETURN_IF_ERROR(LockCatalog(c));
    ASSIGN_OR_RETURN(
        PgResult existing,
        c.Exec("find database", "SELECT 1 FROM databases WHERE tenant = $1 AND name = $2",
               {Text(tenant), Text(name)}));
    if (existing.rows() == 0) return Status::NotFound("database " + name);
    ASSIGN_OR_RETURN(uint64_t version, NextVersion(c));
    RETURN_IF_ERROR(c.Exec("delete database",
                           "DELETE FROM databases WHERE tenant = $1 AND name = $2",
                           {Text(tenant), Text(name)})
                        .status());
    ASSIGN_OR_RETURN(PgResult rows, c.Exec("delete the database's collections",
                                           std::string("DELETE FROM collections WHERE tenant = $1 "
                                                       "AND \"database\" = $2 RETURNING ") +
                                               kCollectionColumns,
                                           {Text(tenant), Text(name)}));
    ASSIGN_OR_RETURN(std::vector<Collection> collections, CollectionsFromRows(rows));
    for (Collection& col : collections) {
      col.version = version;
      col.deleted = true;
    }
    return collections;
  });
}

Result<CatalogStore::CreatedCollection> PostgresCatalogStore::CreateCollection(
    const Collection& spec, bool get_or_create) {
  return Transact("create collection", [&](PgConnection& c) -> Result<CreatedCollection> {
    RETURN_IF_ERROR(LockCatalog(c));
    ASSIGN_OR_RETURN(
        PgResult database,
        c.Exec("find database", "SELECT 1 FROM databases WHERE tenant = $1 AND name = $2",
               {Text(spec.tenant), Text(spec.database)}));
    if (database.rows() == 0) return Status::InvalidArgument("database " + spec.database);
    ASSIGN_OR_RETURN(PgResult existing,
                     c.Exec("find collection",
                            std::string("SELECT ") + kCollectionColumns +
                                " FROM collections WHERE tenant = $1 AND \"database\" = $2 "
                                "AND name = $3",
                            {Text(spec.tenant), Text(spec.database), Text(spec.name)}));
    if (existing.rows() > 0) {
      if (!get_or_create) return Status::AlreadyExists("collection " + spec.name);
      ASSIGN_OR_RETURN(Collection found, CollectionFromRow(existing, 0));
      return CreatedCollection{std::move(found), false};
    }
    ASSIGN_OR_RETURN(uint64_t version, NextVersion(c));
    ASSIGN_OR_RETURN(PgResult id, c.Exec("new collection id", "SELECT gen_random_uuid()::text"));
    Collection created = spec;
    created.id = std::string(id.Get(0, 0));
    created.version = version;
    created.deleted = false;
    RETURN_IF_ERROR(c.Exec("create collection",
                           std::string("INSERT INTO collections (") + kCollectionColumns +
                               ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                           CollectionParams(created))
                        .status());
    return CreatedCollection{std::move(created), true};
  });
}

Result<Collection> PostgresCatalogStore::UpdateCollection(const std::string& id,
                                                          const CollectionChange& change) {
  return Transact("update collection", [&](PgConnection& c) -> Result<Collection> {
    RETURN_IF_ERROR(LockCatalog(c));
    ASSIGN_OR_RETURN(PgResult current, c.Exec("find collection",
                                              std::string("SELECT ") + kCollectionColumns +
                                                  " FROM collections WHERE id = $1",
                                              {Text(id)}));
    if (current.rows() == 0) return Status::NotFound("collection " + id);
    ASSIGN_OR_RETURN(Collection updated, CollectionFromRow(current, 0));
    const std::string old_name = updated.name;
    change(updated);
    updated.id = id;
    if (updated.name != old_name) {
      ASSIGN_OR_RETURN(
          PgResult taken,
          c.Exec("find collection",
                 "SELECT 1 FROM collections WHERE tenant = $1 AND \"database\" = $2 "
                 "AND name = $3 AND id <> $4",
                 {Text(updated.tenant), Text(updated.database), Text(updated.name), Text(id)}));
      if (taken.rows() > 0) return Status::AlreadyExists("collection " + updated.name);
    }
    ASSIGN_OR_RETURN(updated.version, NextVersion(c));
    RETURN_IF_ERROR(c.Exec("update collection",
                           "UPDATE collections SET tenant = $2, \"database\" = $3, name = $4, "
                           "metadata = $5, configuration = $6, \"schema\" = $7, dimension = $8, "
                           "version = $9 WHERE id = $1",
                           CollectionParams(updated))
                        .status());
    return updated;
  });
}

Result<Collection> PostgresCatalogStore::DeleteCollection(const std::string& tenant,
                                                          const std::string& database,
                                                          const std::string& name) {
  return Transact("delete collection", [&](PgConnection& c) -> Result<Collection> {
    RETURN_IF_ERROR(LockCatalog(c));
    ASSIGN_OR_RETURN(PgResult rows,
                     c.Exec("delete collection",
                            std::string("DELETE FROM collections WHERE tenant = $1 "
                                        "AND \"database\" = $2 AND name = $3 RETURNING ") +
                                kCollectionColumns,
                            {Text(tenant), Text(database), Text(name)}));
    if (rows.rows() == 0) return Status::NotFound("collection " + name);  // rolled back
    ASSIGN_OR_RETURN(Collection deleted, CollectionFromRow(rows, 0));
    ASSIGN_OR_RETURN(deleted.version, NextVersion(c));
    deleted.deleted = true;
    return deleted;
  });
}

Result<Collection> PostgresCatalogStore::ForkCollection(const std::string& source_id,
                                                        const std::string& target_id,
                                                        const std::string& target_name) {
  return Transact("fork collection", [&](PgConnection& c) -> Result<Collection> {
    RETURN_IF_ERROR(LockCatalog(c));
    ASSIGN_OR_RETURN(PgResult source, c.Exec("find collection",
                                             std::string("SELECT ") + kCollectionColumns +
                                                 " FROM collections WHERE id = $1",
                                             {Text(source_id)}));
    if (source.rows() == 0) return Status::NotFound("collection " + source_id);
    ASSIGN_OR_RETURN(Collection fork, CollectionFromRow(source, 0));
    ASSIGN_OR_RETURN(PgResult taken,
                     c.Exec("find collection",
                            "SELECT 1 FROM collections WHERE tenant = $1 AND \"database\" = $2 "
                            "AND name = $3",
                            {Text(fork.tenant), Text(fork.database), Text(target_name)}));
    if (taken.rows() > 0) return Status::AlreadyExists("collection " + target_name);
    ASSIGN_OR_RETURN(PgResult lineage,
                     c.Exec("find lineage", "SELECT root FROM collection_forks WHERE target = $1",
                            {Text(source_id)}));
    const std::string root = lineage.rows() > 0 ? std::string(lineage.Get(0, 0)) : source_id;
    ASSIGN_OR_RETURN(uint64_t version, NextVersion(c));
    fork.id = target_id;
    fork.name = target_name;
    fork.version = version;
    fork.deleted = false;
    RETURN_IF_ERROR(c.Exec("fork collection",
                           std::string("INSERT INTO collections (") + kCollectionColumns +
                               ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                           CollectionParams(fork))
                        .status());
    RETURN_IF_ERROR(c.Exec("record fork",
                           "INSERT INTO collection_forks (target, root, source, version) "
                           "VALUES ($1, $2, $3, $4)",
                           {Text(target_id), Text(root), Text(source_id),
                            Number(static_cast<int64_t>(version))})
                        .status());
    return fork;
  });
}

Result<uint64_t> PostgresCatalogStore::CountForks(const std::string& id) {
  return Transact("count forks", [&](PgConnection& c) -> Result<uint64_t> {
    ASSIGN_OR_RETURN(PgResult r,
                     c.Exec("count forks",
                            "SELECT count(*) FROM collection_forks WHERE root = COALESCE("
                            "(SELECT root FROM collection_forks WHERE target = $1), $1)",
                            {Text(id)}));
    return static_cast<uint64_t>(std::stoull(std::string(r.Get(0, 0))));
  });
}

Result<std::vector<CollectionFork>> PostgresCatalogStore::LoadForks() {
  return Transact("load forks", [](PgConnection& c) -> Result<std::vector<CollectionFork>> {
    ASSIGN_OR_RETURN(PgResult r, c.Exec("load forks",
                                        "SELECT root, source, target, version "
                                        "FROM collection_forks"));
    std::vector<CollectionFork> out;
    for (int i = 0; i < r.rows(); ++i) {
      out.push_back(CollectionFork{std::string(r.Get(i, 0)), std::string(r.Get(i, 1)),
                                   std::string(r.Get(i, 2)),
                                   static_cast<uint64_t>(std::stoull(std::string(r.Get(i, 3))))});
    }
    return out;
  });
}

Status PostgresCatalogStore::Reset() {
  return Transact("reset the catalog", [](PgConnection& c) -> Status {
    RETURN_IF_ERROR(LockCatalog(c));
    RETURN_IF_ERROR(NextVersion(c).status());
    RETURN_IF_ERROR(c.Exec("reset the catalog",
                           "DELETE FROM collection_forks; DELETE FROM collections; "
                           "DELETE FROM databases; DELETE FROM tenants")
                        .status());
    return EnsureDefaults(c);
  });
}

Result<size_t> PostgresCatalogStore::Import(const CatalogSnapshot& snapshot,
                                            const std::vector<CollectionFork>& forks) {
  return Transact("import the catalog", [&snapshot, &forks](PgConnection& c) -> Result<size_t> {
    RETURN_IF_ERROR(LockCatalog(c));
    ASSIGN_OR_RETURN(uint64_t version, NextVersion(c));
    const auto v = Number(static_cast<int64_t>(version));
    size_t copied = 0;
    for (const Tenant& t : snapshot.tenants) {
      if (t.deleted) continue;
      ASSIGN_OR_RETURN(PgResult r, c.Exec("import tenant",
                                          "INSERT INTO tenants (name, resource_name, version) "
                                          "VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
                                          {Text(t.name), t.resource_name, v}));
      copied += static_cast<size_t>(r.affected());
    }
    for (const Database& d : snapshot.databases) {
      if (d.deleted) continue;
      ASSIGN_OR_RETURN(PgResult r,
                       c.Exec("import database",
                              "INSERT INTO databases (id, tenant, name, version) "
                              "SELECT $1, $2, $3, $4 WHERE NOT EXISTS (SELECT 1 FROM databases "
                              "WHERE id = $1 OR (tenant = $2 AND name = $3))",
                              {Text(d.id), Text(d.tenant), Text(d.name), v}));
      copied += static_cast<size_t>(r.affected());
    }
    std::vector<std::string> conflicts;
    for (Collection col : snapshot.collections) {
      if (col.deleted) continue;
      ASSIGN_OR_RETURN(
          PgResult same_id,
          c.Exec("find collection", "SELECT 1 FROM collections WHERE id = $1", {Text(col.id)}));
      if (same_id.rows() > 0) continue;
      ASSIGN_OR_RETURN(PgResult taken,
                       c.Exec("find collection",
                              "SELECT id FROM collections WHERE tenant = $1 AND \"database\" = $2 "
                              "AND name = $3",
                              {Text(col.tenant), Text(col.database), Text(col.name)}));
      if (taken.rows() > 0) {
        conflicts.push_back(col.tenant + "/" + col.database + "/" + col.name + " (" + col.id +
                            " here, " + std::string(taken.Get(0, 0)) + " there)");
        continue;
      }
      col.version = version;
      ASSIGN_OR_RETURN(PgResult r,
                       c.Exec("import collection",
                              std::string("INSERT INTO collections (") + kCollectionColumns +
                                  ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                              CollectionParams(col)));
      copied += static_cast<size_t>(r.affected());
    }
    if (!conflicts.empty()) {
      std::string list;
      for (const auto& conflict : conflicts) list += (list.empty() ? "" : "; ") + conflict;
      return Status::FailedPrecondition(
          "these collection names are taken in PostgreSQL by other collections: " + list);
    }
    // The lineage goes along (not counted: the count is of catalog entries).
    for (const CollectionFork& f : forks) {
      RETURN_IF_ERROR(c.Exec("import fork",
                             "INSERT INTO collection_forks (target, root, source, version) "
                             "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                             {Text(f.target), Text(f.root), Text(f.source), v})
                          .status());
    }
    return copied;
  });
}

}  // namespace chromahouse
