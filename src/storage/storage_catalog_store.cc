#include "storage/storage_catalog_store.h"

#include "common/uuid.h"

namespace chromahouse {

StorageCatalogStore::StorageCatalogStore(Storage* storage, VersionClock* clock)
    : storage_(storage), clock_(clock) {}

Status StorageCatalogStore::Initialize() {
  MutexLock lock(mu_);
  synced_ = false;
  RETURN_IF_ERROR(SyncLocked());
  return EnsureDefaultsLocked();
}

Result<std::string> StorageCatalogStore::Describe() {
  ASSIGN_OR_RETURN(std::string storage, storage_->Describe());
  return "the record store's tables (" + storage + "; one instance only)";
}

Result<CatalogSnapshot> StorageCatalogStore::Load(bool include_deleted) {
  CatalogSnapshot out;
  ASSIGN_OR_RETURN(out.tenants, storage_->LoadTenants(include_deleted));
  ASSIGN_OR_RETURN(out.databases, storage_->LoadDatabases(include_deleted));
  ASSIGN_OR_RETURN(out.collections, storage_->LoadCollections(include_deleted));
  for (const auto& t : out.tenants) clock_->Observe(t.version);
  for (const auto& d : out.databases) clock_->Observe(d.version);
  for (const auto& c : out.collections) clock_->Observe(c.version);
  return out;
}

Result<std::optional<std::string>> StorageCatalogStore::Fingerprint() {
  return storage_->CatalogFingerprint();
}

Status StorageCatalogStore::SyncLocked() {
  std::optional<std::string> fingerprint;
  if (synced_) {
    ASSIGN_OR_RETURN(fingerprint, storage_->CatalogFingerprint());
    if (fingerprint && fingerprint == fingerprint_) return Status::Ok();
  } else {
    ASSIGN_OR_RETURN(fingerprint, storage_->CatalogFingerprint());
  }
  ASSIGN_OR_RETURN(CatalogSnapshot live, Load(/*include_deleted=*/false));
  tenants_.clear();
  databases_.clear();
  collections_.clear();
  for (auto& t : live.tenants) tenants_[t.name] = std::move(t);
  for (auto& d : live.databases) databases_[{d.tenant, d.name}] = std::move(d);
  for (auto& c : live.collections) collections_[c.id] = std::move(c);
  fingerprint_ = std::move(fingerprint);
  synced_ = true;
  return Status::Ok();
}

void StorageCatalogStore::NoteWriteLocked() {
  auto fingerprint = storage_->CatalogFingerprint();
  if (fingerprint.ok() && *fingerprint) {
    fingerprint_ = std::move(fingerprint).value();
  } else {
    synced_ = false;
  }
}

Status StorageCatalogStore::EnsureDefaultsLocked() {
  std::string tenant(kDefaultTenant), database(kDefaultDatabase);
  if (!tenants_.count(tenant)) {
    Tenant t{tenant, std::nullopt, clock_->Next(), false};
    RETURN_IF_ERROR(storage_->WriteTenants({t}));
    tenants_[tenant] = t;
    NoteWriteLocked();
  }
  if (!databases_.count({tenant, database})) {
    Database d{std::string(kNilUuid), database, tenant, clock_->Next(), false};
    RETURN_IF_ERROR(storage_->WriteDatabases({d}));
    databases_[{tenant, database}] = d;
    NoteWriteLocked();
  }
  return Status::Ok();
}

const Collection* StorageCatalogStore::FindByNameLocked(const std::string& tenant,
                                                        const std::string& database,
                                                        const std::string& name) const {
  for (const auto& [id, c] : collections_) {
    if (c.tenant == tenant && c.database == database && c.name == name) return &c;
  }
  return nullptr;
}

Result<Tenant> StorageCatalogStore::CreateTenant(const std::string& name) {
  MutexLock lock(mu_);
  RETURN_IF_ERROR(SyncLocked());
  if (tenants_.count(name)) return Status::AlreadyExists("tenant " + name);
  Tenant t{name, std::nullopt, clock_->Next(), false};
  RETURN_IF_ERROR(storage_->WriteTenants({t}));
  tenants_[name] = t;
  NoteWriteLocked();
  return t;
}

Result<Database> StorageCatalogStore::CreateDatabase(const std::string& tenant,
                                                     const std::string& name) {
  MutexLock lock(mu_);
  RETURN_IF_ERROR(SyncLocked());
  if (databases_.count({tenant, name})) return Status::AlreadyExists("database " + name);
  Database d{NewUuidV4(), name, tenant, clock_->Next(), false};
  RETURN_IF_ERROR(storage_->WriteDatabases({d}));
  databases_[{tenant, name}] = d;
  NoteWriteLocked();
  return d;
}

Result<std::vector<Collection>> StorageCatalogStore::DeleteDatabase(const std::string& tenant,
                                                                    const std::string& name) {
  MutexLock lock(mu_);
  RETURN_IF_ERROR(SyncLocked());
  auto it = databases_.find({tenant, name});
  if (it == databases_.end()) return Status::NotFound("database " + name);
  // The collections first: a failure in between leaves an empty database, never collections
  // without a database.
  std::vector<Collection> tombstones;
  for (const auto& [id, c] : collections_) {
    if (c.tenant == tenant && c.database == name) {
      Collection t = c;
      t.version = clock_->Next();
      t.deleted = true;
      tombstones.push_back(std::move(t));
    }
  }
  RETURN_IF_ERROR(storage_->WriteCollections(tombstones));
  for (const auto& t : tombstones) collections_.erase(t.id);
  Database d = it->second;
  d.version = clock_->Next();
  d.deleted = true;
  Status s = storage_->WriteDatabases({d});
  NoteWriteLocked();
  RETURN_IF_ERROR(s);
  databases_.erase(it);
  return tombstones;
}

Result<CatalogStore::CreatedCollection> StorageCatalogStore::CreateCollection(
    const Collection& spec, bool get_or_create) {
  MutexLock lock(mu_);
  RETURN_IF_ERROR(SyncLocked());
  if (!databases_.count({spec.tenant, spec.database})) {
    return Status::InvalidArgument("database " + spec.database);
  }
  if (const Collection* existing = FindByNameLocked(spec.tenant, spec.database, spec.name)) {
    if (get_or_create) return CreatedCollection{*existing, false};
    return Status::AlreadyExists("collection " + spec.name);
  }
  Collection c = spec;
  c.id = NewUuidV4();
  c.version = clock_->Next();
  c.deleted = false;
  RETURN_IF_ERROR(storage_->WriteCollections({c}));
  collections_[c.id] = c;
  NoteWriteLocked();
  return CreatedCollection{std::move(c), true};
}

Result<Collection> StorageCatalogStore::ForkCollection(const std::string& source_id,
                                                       const std::string& target_id,
                                                       const std::string& target_name) {
  MutexLock lock(mu_);
  RETURN_IF_ERROR(SyncLocked());
  auto source = collections_.find(source_id);
  if (source == collections_.end()) return Status::NotFound("collection " + source_id);
  if (FindByNameLocked(source->second.tenant, source->second.database, target_name)) {
    return Status::AlreadyExists("collection " + target_name);
  }
  ASSIGN_OR_RETURN(std::vector<CollectionFork> forks, storage_->LoadCollectionForks());
  CollectionFork fork{source_id, source_id, target_id, clock_->Next()};
  for (const CollectionFork& f : forks) {
    if (f.target == source_id) fork.root = f.root;
  }
  Collection c = source->second;
  c.id = target_id;
  c.name = target_name;
  c.version = fork.version;
  c.deleted = false;
  // The collection first: a fork that failed half-way is then uncounted rather than counted
  // without a collection.
  RETURN_IF_ERROR(storage_->WriteCollections({c}));
  collections_[c.id] = c;
  NoteWriteLocked();
  RETURN_IF_ERROR(storage_->WriteCollectionFork(fork));
  return c;
}

Result<uint64_t> StorageCatalogStore::CountForks(const std::string& id) {
  ASSIGN_OR_RETURN(std::vector<CollectionFork> forks, storage_->LoadCollectionForks());
  std::string root = id;
  for (const CollectionFork& f : forks) {
    if (f.target == id) root = f.root;
  }
  uint64_t count = 0;
  for (const CollectionFork& f : forks) count += f.root == root ? 1 : 0;
  return count;
}

Result<std::vector<CollectionFork>> StorageCatalogStore::LoadForks() {
  return storage_->LoadCollectionForks();
}

Result<Collection> StorageCatalogStore::UpdateCollection(const std::string& id,
                                                         const CollectionChange& change) {
  MutexLock lock(mu_);
  RETURN_IF_ERROR(SyncLocked());
  auto it = collections_.find(id);
  if (it == collections_.end()) return Status::NotFound("collection " + id);
  Collection updated = it->second;
  change(updated);
  updated.id = id;
  if (updated.name != it->second.name) {
    const Collection* other = FindByNameLocked(updated.tenant, updated.database, updated.name);
    if (other && other->id != id) return Status::AlreadyExists("collection " + updated.name);
  }
  updated.version = clock_->Next();
  RETURN_IF_ERROR(storage_->WriteCollections({updated}));
  it->second = updated;
  NoteWriteLocked();
  return updated;
}

Result<Collection> StorageCatalogStore::DeleteCollection(const std::string& tenant,
                                                         const std::string& database,
                                                         const std::string& name) {
  MutexLock lock(mu_);
  RETURN_IF_ERROR(SyncLocked());
  const Collection* c = FindByNameLocked(tenant, database, name);
  if (!c) return Status::NotFound("collection " + name);
  Collection tombstone = *c;
  tombstone.version = clock_->Next();
  tombstone.deleted = true;
  RETURN_IF_ERROR(storage_->WriteCollections({tombstone}));
  collections_.erase(tombstone.id);
  NoteWriteLocked();
  return tombstone;
}

Status StorageCatalogStore::Reset() {
  MutexLock lock(mu_);
  // Usually storage was just emptied (Storage::Reset); whatever is still live is tombstoned.
  RETURN_IF_ERROR(SyncLocked());
  std::vector<Collection> collections;
  for (auto& [id, c] : collections_) {
    c.version = clock_->Next();
    c.deleted = true;
    collections.push_back(c);
  }
  std::vector<Database> databases;
  for (auto& [key, d] : databases_) {
    d.version = clock_->Next();
    d.deleted = true;
    databases.push_back(d);
  }
  std::vector<Tenant> tenants;
  for (auto& [name, t] : tenants_) {
    t.version = clock_->Next();
    t.deleted = true;
    tenants.push_back(t);
  }
  Status s = storage_->WriteCollections(collections);
  if (s.ok()) s = storage_->WriteDatabases(databases);
  if (s.ok()) s = storage_->WriteTenants(tenants);
  synced_ = false;
  RETURN_IF_ERROR(s);
  RETURN_IF_ERROR(SyncLocked());
  return EnsureDefaultsLocked();
}

}  // namespace chromahouse
