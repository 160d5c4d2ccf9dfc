#include "service/catalog_service.h"

#include <mutex>
#include <set>

#include "common/log.h"
#include "common/uuid.h"
#include "service/names.h"

namespace chromahouse {
namespace {

template <typename T>
std::vector<T> ApplyPage(std::vector<T> rows, const Page& page) {
  size_t offset = static_cast<size_t>(std::max<int64_t>(page.offset, 0));
  if (offset >= rows.size()) return {};
  rows.erase(rows.begin(), rows.begin() + static_cast<std::ptrdiff_t>(offset));
  if (page.limit && static_cast<size_t>(*page.limit) < rows.size()) {
    rows.resize(static_cast<size_t>(*page.limit));
  }
  return rows;
}

Status CollectionNotFound(const std::string& name_or_id) {
  return Status::NotFound("Collection [" + name_or_id + "] does not exist");
}

void ApplyHnswInput(const HnswConfigInput& in, HnswConfig* out) {
  if (in.space) out->space = *in.space;
  if (in.ef_construction) out->ef_construction = *in.ef_construction;
  if (in.ef_search) out->ef_search = *in.ef_search;
  if (in.max_neighbors) out->max_neighbors = *in.max_neighbors;
  if (in.num_threads) out->num_threads = *in.num_threads;
  if (in.resize_factor) out->resize_factor = *in.resize_factor;
  if (in.sync_threshold) out->sync_threshold = *in.sync_threshold;
  if (in.batch_size) out->batch_size = *in.batch_size;
}

Status ValidateHnswValues(const HnswConfig& h) {
  auto positive = [](const char* key, int64_t v) -> Status {
    if (v < 1) {
      return Status::InvalidArgument("Invalid HNSW configuration: " + std::string(key) +
                                     " must be at least 1, got " + std::to_string(v));
    }
    return Status::Ok();
  };
  RETURN_IF_ERROR(positive("ef_construction", h.ef_construction));
  RETURN_IF_ERROR(positive("ef_search", h.ef_search));
  RETURN_IF_ERROR(positive("max_neighbors", h.max_neighbors));
  if (h.num_threads < 0) {
    return Status::InvalidArgument(
        "Invalid HNSW configuration: num_threads must not be "
        "negative, got " +
        std::to_string(h.num_threads));
  }
  if (!(h.resize_factor > 0)) {
    return Status::InvalidArgument("Invalid HNSW configuration: resize_factor must be positive");
  }
  return Status::Ok();
}

// Parses legacy `hnsw:*` collection metadata keys. Returns nullopt when there are none.
Result<std::optional<HnswConfigInput>> ParseLegacyHnswMetadata(const Metadata& metadata) {
  HnswConfigInput in;
  bool any = false;
  const Status bad =
      Status::InvalidArgument("Failed to parse hnsw parameters from segment metadata");
  for (const auto& [key, value] : metadata) {
    if (!key.starts_with("hnsw:")) continue;
    any = true;
    std::string_view k = std::string_view(key).substr(5);
    const int64_t* i = std::get_if<int64_t>(&value);
    if (k == "space") {
      const std::string* s = std::get_if<std::string>(&value);
      if (!s) return bad;
      auto space = ParseSpace(*s);
      if (!space) return bad;
      in.space = *space;
    } else if (k == "resize_factor") {
      if (const double* d = std::get_if<double>(&value)) {
        in.resize_factor = *d;
      } else if (i) {
        in.resize_factor = static_cast<double>(*i);
      } else {
        return bad;
      }
    } else {
      if (!i) return bad;
      if (k == "construction_ef") in.ef_construction = *i;
      else if (k == "search_ef") in.ef_search = *i;
      else if (k == "M") in.max_neighbors = *i;
      else if (k == "num_threads") in.num_threads = *i;
      else if (k == "batch_size") in.batch_size = *i;
      else if (k == "sync_threshold") in.sync_threshold = *i;
      else return bad;
    }
  }
  if (!any) return std::optional<HnswConfigInput>();
  return std::optional<HnswConfigInput>(in);
}

}  // namespace

CatalogService::CatalogService(CatalogStore* store, Storage* records)
    : store_(store), records_(records) {}

CatalogService::CatalogService(Storage* storage, VersionClock* clock)
    : owned_store_(std::make_unique<StorageCatalogStore>(storage, clock)),
      store_(owned_store_.get()),
      records_(storage) {}

Status CatalogService::Initialize() {
  RETURN_IF_ERROR(store_->Initialize());
  ASSIGN_OR_RETURN(CatalogSnapshot snapshot, store_->Load(/*include_deleted=*/false));
  WriterLock lock(mu_);
  tenants_.clear();
  databases_.clear();
  collections_.clear();
  for (auto& t : snapshot.tenants) tenants_[t.name] = std::move(t);
  for (auto& d : snapshot.databases) databases_[{d.tenant, d.name}] = std::move(d);
  for (auto& c : snapshot.collections) collections_[c.id] = std::move(c);
  refreshed_ms_.store(SteadyMillis());
  return Status::Ok();
}

void CatalogService::ApplyLocked(const Tenant& t) {
  auto it = tenants_.find(t.name);
  if (it == tenants_.end() || it->second.version < t.version) tenants_[t.name] = t;
}

void CatalogService::ApplyLocked(const Database& d) {
  DbKey key{d.tenant, d.name};
  auto it = databases_.find(key);
  if (it != databases_.end() && it->second.version >= d.version) return;
  if (d.deleted) {
    if (it != databases_.end()) databases_.erase(it);
  } else {
    databases_[key] = d;
  }
}

void CatalogService::ApplyLocked(const Collection& c) {
  auto it = collections_.find(c.id);
  if (it != collections_.end() && it->second.version >= c.version) return;
  if (c.deleted) {
    if (it != collections_.end()) collections_.erase(it);
  } else {
    collections_[c.id] = c;
  }
}

Status CatalogService::RefreshIfOlderThan(int64_t max_age_ms) {
  MutexLock refresh_lock(refresh_mu_);
  const int64_t start = SteadyMillis();
  if (max_age_ms >= 0 && start - refreshed_ms_.load() <= max_age_ms) return Status::Ok();
  // When storage cannot be read, the attempt counts as a refresh: callers waiting for this lock
  // go on with the catalog in memory instead of each waiting for storage in turn.
  auto failed = [this](Status s) {
    refreshed_ms_.store(SteadyMillis());
    return s;
  };
  // Taken before the tables are read: a change after it is read now or seen next time.
  auto fingerprint_or = store_->Fingerprint();
  if (!fingerprint_or.ok()) return failed(fingerprint_or.status());
  std::optional<std::string> fingerprint = std::move(fingerprint_or).value();
  if (fingerprint && fingerprint == fingerprint_) {
    refreshed_ms_.store(start);
    return Status::Ok();
  }
  auto snapshot = store_->Load(/*include_deleted=*/true);
  if (!snapshot.ok()) return failed(snapshot.status());
  std::vector<std::string> deleted;
  {
    WriterLock lock(mu_);
    // Newer versions win; entries only in memory were written after the read began.
    auto merge = [](auto& map, auto key, auto& row, auto on_delete) {
      auto it = map.find(key);
      if (it != map.end() && it->second.version >= row.version) return;
      if (row.deleted) {
        if (it != map.end()) {
          on_delete(it->second);
          map.erase(it);
        }
      } else {
        map[key] = std::move(row);
      }
    };
    auto nothing = [](const auto&) {};
    for (auto& t : snapshot->tenants) merge(tenants_, t.name, t, nothing);
    for (auto& d : snapshot->databases) merge(databases_, DbKey{d.tenant, d.name}, d, nothing);
    // A complete snapshot (no tombstones): what the cache holds at or below its version and
    // the snapshot lacks was deleted. (Read the keys before the rows are moved.)
    std::set<std::string> tenant_keys, collection_keys;
    std::set<DbKey> database_keys;
    if (const auto upto = snapshot->complete_up_to) {
      for (const auto& t : snapshot->tenants) tenant_keys.insert(t.name);
      for (const auto& d : snapshot->databases) database_keys.insert({d.tenant, d.name});
      for (const auto& c : snapshot->collections) collection_keys.insert(c.id);
    }
    for (auto& c : snapshot->collections) {
      merge(collections_, c.id, c,
            [&deleted](const Collection& old) { deleted.push_back(old.id); });
    }
    if (const auto upto = snapshot->complete_up_to) {
      auto drop_absent = [upto](auto& map, const auto& present, auto on_delete) {
        for (auto it = map.begin(); it != map.end();) {
          if (it->second.version <= *upto && !present.count(it->first)) {
            on_delete(it->second);
            it = map.erase(it);
          } else {
            ++it;
          }
        }
      };
      drop_absent(tenants_, tenant_keys, nothing);
      drop_absent(databases_, database_keys, nothing);
      drop_absent(collections_, collection_keys,
                  [&deleted](const Collection& old) { deleted.push_back(old.id); });
    }
  }
  fingerprint_ = std::move(fingerprint);
  refreshed_ms_.store(start);
  refresh_lock.Unlock();
  if (!deleted.empty() && listener_) listener_(deleted, false);
  return Status::Ok();
}

bool CatalogService::RefreshOnMiss() {
  // Another instance may have just created it (a client behind a load balancer creates on one
  // instance and writes through another): look in storage before answering 404, at most once
  // per few milliseconds.
  if (max_staleness_ms_.load() <= 0) return false;
  return RefreshIfOlderThan(5).ok();
}

void CatalogService::MaybeRefresh() {
  used_ms_.store(SteadyMillis());
  const int64_t max = max_staleness_ms_.load();
  if (max < 0) return;
  if (max > 0 && SteadyMillis() - refreshed_ms_.load() < max) return;
  // (A failed refresh counts as one for a while: see RefreshIfOlderThan.)
  if (Status s = RefreshIfOlderThan(max == 0 ? -1 : max); !s.ok()) {
    LOG_WARN("the catalog may be stale: {}", s.message());
  }
}

// ---- tenants ----

Status CatalogService::CreateTenant(const std::string& name) {
  MaybeRefresh();
  RETURN_IF_ERROR(CheckWriteGuard());
  RETURN_IF_ERROR(ValidateTenantName(name));
  auto t = store_->CreateTenant(name);
  if (t.status().code() == StatusCode::kAlreadyExists) {
    return Status::AlreadyExists("Tenant [" + name + "] already exists");
  }
  RETURN_IF_ERROR(t.status());
  WriterLock lock(mu_);
  ApplyLocked(*t);
  return Status::Ok();
}

Result<Tenant> CatalogService::GetTenant(const std::string& name) {
  MaybeRefresh();
  ReaderLock lock(mu_);
  auto it = tenants_.find(name);
  if (it == tenants_.end()) return Status::NotFound("Tenant [" + name + "] not found");
  return it->second;
}

Status CatalogService::UpdateTenant(const std::string& name, const std::string& resource_name) {
  MaybeRefresh();
  // Chroma's local server accepts and ignores the resource name (without even checking that
  // the tenant exists); so do we.
  (void)name;
  (void)resource_name;
  return Status::Ok();
}

// ---- databases ----

Result<std::vector<Database>> CatalogService::ListDatabases(const std::string& tenant,
                                                            const Page& page) {
  MaybeRefresh();
  ReaderLock lock(mu_);
  std::vector<Database> rows;
  for (const auto& [key, db] : databases_) {
    if (key.first == tenant) rows.push_back(db);  // map order = by name within a tenant
  }
  return ApplyPage(std::move(rows), page);
}

Status CatalogService::CreateDatabase(const std::string& tenant, const std::string& name,
                                      DatabaseNames rules) {
  MaybeRefresh();
  RETURN_IF_ERROR(CheckWriteGuard());
  RETURN_IF_ERROR(ValidateTenantName(tenant));
  if (rules == DatabaseNames::kV1) {
    if (name.size() < 3) {
      return Status::InvalidArgument("Database name must be at least 3 characters long");
    }
  } else {
    RETURN_IF_ERROR(ValidateDatabaseNameForCreate(name));
  }
  auto d = store_->CreateDatabase(tenant, name);
  if (d.status().code() == StatusCode::kAlreadyExists) {
    return Status::AlreadyExists("Database [" + name + "] already exists");
  }
  RETURN_IF_ERROR(d.status());
  WriterLock lock(mu_);
  ApplyLocked(*d);
  return Status::Ok();
}

Result<Database> CatalogService::GetDatabase(const std::string& tenant, const std::string& name) {
  MaybeRefresh();
  RETURN_IF_ERROR(ValidateDatabaseNameLength(name));
  ReaderLock lock(mu_);
  auto it = databases_.find({tenant, name});
  if (it == databases_.end()) {
    return Status::NotFound("Database [" + name + "] not found. Are you sure it exists?");
  }
  return it->second;
}

Status CatalogService::DeleteDatabase(const std::string& tenant, const std::string& name) {
  MaybeRefresh();
  RETURN_IF_ERROR(CheckWriteGuard());
  // Serialised with refreshes, so that a catalog read before this delete cannot bring the
  // deleted entries back when it is merged.
  MutexLock refresh_lock(refresh_mu_);
  auto deleted = store_->DeleteDatabase(tenant, name);
  if (deleted.status().code() == StatusCode::kNotFound) {
    WriterLock lock(mu_);
    databases_.erase({tenant, name});  // deleted elsewhere
    return Status::NotFound("Database [" + name + "] not found");
  }
  RETURN_IF_ERROR(deleted.status());
  std::vector<std::string> ids;
  {
    WriterLock lock(mu_);
    for (const Collection& c : *deleted) {
      collections_.erase(c.id);
      ids.push_back(c.id);
    }
    databases_.erase({tenant, name});
  }
  if (listener_ && !ids.empty()) listener_(ids, false);
  return Status::Ok();
}

// ---- collections ----

const Collection* CatalogService::FindByNameLocked(const std::string& tenant,
                                                   const std::string& database,
                                                   const std::string& name) const {
  for (const auto& [id, c] : collections_) {
    if (c.tenant == tenant && c.database == database && c.name == name) return &c;
  }
  return nullptr;
}

Result<std::vector<Collection>> CatalogService::ListCollections(const std::string& tenant,
                                                                const std::string& database,
                                                                const Page& page) {
  MaybeRefresh();
  RETURN_IF_ERROR(ValidateDatabaseNameLength(database));
  ReaderLock lock(mu_);
  std::vector<Collection> rows;
  for (const auto& [id, c] : collections_) {
    if (c.tenant == tenant && c.database == database) rows.push_back(c);
  }
  return ApplyPage(std::move(rows), page);
}

Result<int64_t> CatalogService::CountCollections(const std::string& tenant,
                                                 const std::string& database) {
  MaybeRefresh();
  RETURN_IF_ERROR(ValidateDatabaseNameLength(database));
  ReaderLock lock(mu_);
  int64_t n = 0;
  for (const auto& [id, c] : collections_) {
    if (c.tenant == tenant && c.database == database) ++n;
  }
  return n;
}

Status CatalogService::ValidateCollectionMetadata(const Metadata& metadata,
                                                  std::string_view field) {
  if (metadata.empty()) {
    return Status::InvalidArgument("Validation error: " + std::string(field) +
                                   ": Metadata cannot be empty");
  }
  for (const auto& [key, value] : metadata) {
    if (key.empty()) {
      return Status::InvalidArgument("Validation error: " + std::string(field) +
                                     ": Metadata key cannot be empty");
    }
    if (key[0] == '#' || key[0] == '$') {
      return Status::InvalidArgument("Validation error: " + std::string(field) +
                                     ": Metadata key cannot start with '#' or '$': " + key);
    }
    bool scalar = std::holds_alternative<bool>(value) || std::holds_alternative<int64_t>(value) ||
                  std::holds_alternative<double>(value) ||
                  std::holds_alternative<std::string>(value);
    if (!scalar) {
      return Status::InvalidArgument("Validation error: " + std::string(field) +
                                     ": Invalid metadata value for key '" + key +
                                     "': collection metadata values must be strings, numbers "
                                     "or booleans");
    }
  }
  return Status::Ok();
}

Result<CollectionConfiguration> CatalogService::ResolveConfiguration(
    const std::optional<CollectionConfigurationInput>& configuration,
    const std::optional<Metadata>& metadata,
    const std::optional<CollectionConfigurationInput>& schema_vector_index) {
  CollectionConfiguration out;
  std::optional<HnswConfigInput> legacy;
  if (metadata) {
    ASSIGN_OR_RETURN(legacy, ParseLegacyHnswMetadata(*metadata));
  }
  const HnswConfigInput* given = nullptr;
  if (configuration) {
    if (configuration->hnsw && configuration->spann) {
      return Status::InvalidArgument("Multiple vector index configurations provided");
    }
    if (configuration->hnsw) given = &*configuration->hnsw;
    if (configuration->spann) given = &*configuration->spann;
    if (configuration->embedding_function_json) {
      out.embedding_function_json = *configuration->embedding_function_json;
    }
  }
  if (configuration && configuration->spann) {
    // Converted to HNSW keeping only the space, as Chroma's local server does.
    if (configuration->spann->space) out.hnsw.space = *configuration->spann->space;
  } else if (given) {
    HnswConfig candidate;
    ApplyHnswInput(*given, &candidate);
    // An all-default configuration yields to legacy metadata keys (Chroma 1.x).
    if (candidate == HnswConfig{} && legacy) {
      ApplyHnswInput(*legacy, &out.hnsw);
    } else {
      out.hnsw = candidate;
    }
  } else if (schema_vector_index && schema_vector_index->hnsw) {
    ApplyHnswInput(*schema_vector_index->hnsw, &out.hnsw);
  } else if (legacy) {
    ApplyHnswInput(*legacy, &out.hnsw);
  }
  if (out.embedding_function_json.empty() && schema_vector_index &&
      schema_vector_index->embedding_function_json) {
    out.embedding_function_json = *schema_vector_index->embedding_function_json;
  }
  RETURN_IF_ERROR(ValidateHnswValues(out.hnsw));
  return out;
}

Result<Collection> CatalogService::CreateCollection(const std::string& tenant,
                                                    const std::string& database,
                                                    const CreateCollectionRequest& request) {
  MaybeRefresh();
  if (Status refused = CheckWriteGuard(); !refused.ok()) {
    // Refused as a change; get_or_create of a collection that exists changes nothing.
    ReaderLock lock(mu_);
    const Collection* existing = FindByNameLocked(tenant, database, request.name);
    if (!request.get_or_create || !existing) return refused;
    return *existing;
  }
  RETURN_IF_ERROR(ValidateDatabaseNameLength(database));
  RETURN_IF_ERROR(ValidateCollectionName(request.name));
  if (request.metadata) RETURN_IF_ERROR(ValidateCollectionMetadata(*request.metadata, "metadata"));
  ASSIGN_OR_RETURN(
      CollectionConfiguration config,
      ResolveConfiguration(request.configuration, request.metadata, request.schema_vector_index));

  Collection spec;
  spec.name = request.name;
  spec.tenant = tenant;
  spec.database = database;
  spec.metadata = request.metadata;
  spec.configuration = std::move(config);
  spec.schema_json = request.schema_json;
  auto created = store_->CreateCollection(spec, request.get_or_create);
  switch (created.status().code()) {
    case StatusCode::kInvalidArgument:
      return Status::InvalidArgument("Database [" + database + "] does not exist");
    case StatusCode::kAlreadyExists:
      return Status::AlreadyExists("Collection [" + request.name + "] already exists");
    default: RETURN_IF_ERROR(created.status());
  }
  WriterLock lock(mu_);
  ApplyLocked(created->collection);
  return std::move(created->collection);
}

Result<Collection> CatalogService::ForkCollection(const std::string& source_id,
                                                  const std::string& new_name) {
  MaybeRefresh();
  RETURN_IF_ERROR(CheckWriteGuard());
  if (!records_) return Status::Unimplemented("Collection forking needs a record store");
  RETURN_IF_ERROR(ValidateCollectionName(new_name));
  ASSIGN_OR_RETURN(Collection source, GetCollection(source_id));
  const auto taken = [&new_name] {
    return Status::AlreadyExists("Collection [" + new_name + "] already exists");
  };
  {
    // Checked again by the store; this spares copying the records for a name already taken.
    ReaderLock lock(mu_);
    if (FindByNameLocked(source.tenant, source.database, new_name)) return taken();
  }
  // The records first, under an id no catalog knows yet: the fork appears with all of them
  // (a consistent cut: the rows stored when the copy began), and a reader never sees it half
  // copied. The index snapshot goes along, so the fork's graph needs no rebuild.
  const std::string target_id = NewUuidV4();
  const auto discard = [this, &target_id](const Status& why) {
    if (Status s = records_->PurgeRecords(target_id); !s.ok()) {
      LOG_WARN("records copied for an abandoned fork {} stay until purged: {}", target_id,
               s.message());
    }
    return why;
  };
  if (Status s = records_->CopyRecords(source_id, target_id); !s.ok()) return discard(s);
  if (auto copied = records_->CopyIndexSnapshot(source_id, target_id); !copied.ok()) {
    LOG_WARN(
        "the fork {} of collection {} builds its own graph (its index snapshot was not "
        "copied: {})",
        target_id, source_id, copied.status().message());
  }
  auto forked = store_->ForkCollection(source_id, target_id, new_name);
  switch (forked.status().code()) {
    case StatusCode::kOk: break;
    case StatusCode::kNotFound: return discard(CollectionNotFound(source_id));
    case StatusCode::kAlreadyExists: return discard(taken());
    default: return discard(forked.status());
  }
  WriterLock lock(mu_);
  ApplyLocked(*forked);
  return std::move(forked).value();
}

Result<uint64_t> CatalogService::CountForks(const std::string& id) {
  RETURN_IF_ERROR(GetCollection(id).status());
  return store_->CountForks(id);
}

Result<Collection> CatalogService::GetCollectionByName(const std::string& tenant,
                                                       const std::string& database,
                                                       const std::string& name) {
  MaybeRefresh();
  RETURN_IF_ERROR(ValidateDatabaseNameLength(database));
  for (bool retried = false;; retried = true) {
    {
      ReaderLock lock(mu_);
      if (const Collection* c = FindByNameLocked(tenant, database, name)) return *c;
    }
    if (retried || !RefreshOnMiss()) return CollectionNotFound(name);
  }
}

Result<Collection> CatalogService::GetCollectionById(const std::string& tenant,
                                                     const std::string& database,
                                                     const std::string& id) {
  MaybeRefresh();
  RETURN_IF_ERROR(ValidateDatabaseNameLength(database));
  ReaderLock lock(mu_);
  auto it = collections_.find(id);
  if (it == collections_.end() || it->second.tenant != tenant || it->second.database != database) {
    return CollectionNotFound(id);
  }
  return it->second;
}

Result<Collection> CatalogService::GetCollection(const std::string& id) {
  MaybeRefresh();
  for (bool retried = false;; retried = true) {
    {
      ReaderLock lock(mu_);
      auto it = collections_.find(id);
      if (it != collections_.end()) return it->second;
    }
    if (retried || !RefreshOnMiss()) {
      return Status::NotFound("Collection [" + id + "] does not exist.");
    }
  }
}

Status CatalogService::UpdateCollection(const std::string& id,
                                        const UpdateCollectionRequest& request) {
  MaybeRefresh();
  RETURN_IF_ERROR(CheckWriteGuard());
  if (request.new_name) RETURN_IF_ERROR(ValidateCollectionName(*request.new_name, "new_name"));
  if (request.new_metadata) {
    RETURN_IF_ERROR(ValidateCollectionMetadata(*request.new_metadata, "new_metadata"));
  }
  if (request.new_configuration && request.new_configuration->hnsw &&
      request.new_configuration->spann) {
    return Status::InvalidArgument("Multiple vector index configurations provided");
  }
  if (request.new_configuration && request.new_configuration->hnsw) {
    // Valid values applied to a valid configuration keep it valid.
    HnswConfig check;
    ApplyHnswInput(*request.new_configuration->hnsw, &check);
    RETURN_IF_ERROR(ValidateHnswValues(check));
  }
  auto updated = store_->UpdateCollection(id, [&request](Collection& c) {
    if (request.new_name) c.name = *request.new_name;
    if (request.new_metadata) c.metadata = *request.new_metadata;
    if (request.clear_metadata) c.metadata.reset();
    if (request.new_configuration) {
      if (request.schema_patch && !c.schema_json.empty()) c.schema_json = request.schema_patch(c);
      const auto& cfg = *request.new_configuration;
      if (cfg.hnsw) ApplyHnswInput(*cfg.hnsw, &c.configuration.hnsw);
      // A SPANN update on an HNSW collection is accepted and ignored, as in Chroma.
      if (cfg.embedding_function_json) {
        c.configuration.embedding_function_json = *cfg.embedding_function_json;
      }
    }
  });
  switch (updated.status().code()) {
    case StatusCode::kNotFound: return Status::NotFound("Collection [" + id + "] does not exist.");
    case StatusCode::kAlreadyExists:
      return Status::AlreadyExists("Collection [" + request.new_name.value_or("") +
                                   "] already exists");
    default: RETURN_IF_ERROR(updated.status());
  }
  WriterLock lock(mu_);
  ApplyLocked(*updated);
  return Status::Ok();
}

Status CatalogService::DeleteCollection(const std::string& tenant, const std::string& database,
                                        const std::string& name) {
  MaybeRefresh();
  RETURN_IF_ERROR(CheckWriteGuard());
  RETURN_IF_ERROR(ValidateDatabaseNameLength(database));
  // Serialised with refreshes, so that a catalog read before this delete cannot bring the
  // deleted entries back when it is merged.
  MutexLock refresh_lock(refresh_mu_);
  auto tombstone = store_->DeleteCollection(tenant, database, name);
  if (tombstone.status().code() == StatusCode::kNotFound) return CollectionNotFound(name);
  RETURN_IF_ERROR(tombstone.status());
  {
    WriterLock lock(mu_);
    collections_.erase(tombstone->id);
  }
  if (listener_) listener_({tombstone->id}, false);
  return Status::Ok();
}

Status CatalogService::SetDimension(const std::string& id, int64_t dimension) {
  MaybeRefresh();
  {
    ReaderLock lock(mu_);
    auto it = collections_.find(id);
    if (it != collections_.end() && it->second.dimension == dimension) return Status::Ok();
  }
  auto updated =
      store_->UpdateCollection(id, [dimension](Collection& c) { c.dimension = dimension; });
  if (updated.status().code() == StatusCode::kNotFound) {
    return Status::NotFound("Collection [" + id + "] does not exist.");
  }
  RETURN_IF_ERROR(updated.status());
  WriterLock lock(mu_);
  ApplyLocked(*updated);
  return Status::Ok();
}

Status CatalogService::Reset() {
  // Serialised with refreshes, so that a catalog read before this reset cannot bring the
  // deleted entries back when it is merged.
  MutexLock refresh_lock(refresh_mu_);
  if (records_) RETURN_IF_ERROR(records_->Reset());
  Status s = store_->Reset();
  if (s.ok()) {
    auto snapshot = store_->Load(/*include_deleted=*/false);
    s = snapshot.status();
    WriterLock lock(mu_);
    tenants_.clear();
    databases_.clear();
    collections_.clear();
    if (snapshot.ok()) {
      for (auto& t : snapshot->tenants) tenants_[t.name] = std::move(t);
      for (auto& d : snapshot->databases) databases_[{d.tenant, d.name}] = std::move(d);
      for (auto& c : snapshot->collections) collections_[c.id] = std::move(c);
    }
  }
  if (listener_) listener_({}, true);
  return s;
}

}  // namespace chromahouse
