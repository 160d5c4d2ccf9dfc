#include "storage/clickhouse/clickhouse_storage.h"

#include <simdjson.h>

#include <algorithm>
#include <charconv>
#include <map>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "common/json_writer.h"
#include "common/log.h"
#include "storage/clickhouse/row_binary.h"

namespace chromahouse {
namespace {

// Ordered migrations. Never edit one that has shipped; append a new one instead.
// `{db}` is replaced by the database name.
struct Migration {
  int version;
  const char* description;
  std::vector<const char*> statements;
};

const std::vector<Migration>& Migrations() {
  static const std::vector<Migration> kMigrations = {
      {1,
       "catalog tables",
       {
           "CREATE TABLE IF NOT EXISTS {db}.tenants (name String, resource_name Nullable(String), "
           "ver UInt64, deleted UInt8) ENGINE = ReplacingMergeTree(ver) ORDER BY name",
           "CREATE TABLE IF NOT EXISTS {db}.databases (tenant String, name String, id String, "
           "ver UInt64, deleted UInt8) ENGINE = ReplacingMergeTree(ver) ORDER BY (tenant, name)",
           "CREATE TABLE IF NOT EXISTS {db}.collections (id String, tenant String, "
           "database String, name String, metadata Nullable(String), configuration String, "
           "schema Nullable(String), dimension Nullable(Int64), ver UInt64, deleted UInt8) "
           "ENGINE = ReplacingMergeTree(ver) ORDER BY id",
       }},
      {2,
       "records table",
       {
           "CREATE TABLE IF NOT EXISTS {db}.records (collection String, id String, ver UInt64, "
           "created UInt64, deleted UInt8, embedding Array(Float32), document Nullable(String), "
           "uri Nullable(String), metadata Nullable(String)) "
           "ENGINE = ReplacingMergeTree(ver) ORDER BY (collection, id)",
       }},
      {3,
       "index snapshots table",
       {
           "CREATE TABLE IF NOT EXISTS {db}.index_snapshots (collection String, "
           "snapshot UInt64, chunk UInt32, chunks UInt32, format UInt32, watermark UInt64, "
           "records UInt64, bytes UInt64, data String) "
           "ENGINE = MergeTree ORDER BY (collection, snapshot, chunk)",
       }},
      {4,
       "instances table",
       {
           "CREATE TABLE IF NOT EXISTS {db}.instances (instance String, catalog String, "
           "seen_ms UInt64, alive UInt8) ENGINE = ReplacingMergeTree(seen_ms) ORDER BY instance",
       }},
      {5,
       "collection forks table",
       {
           "CREATE TABLE IF NOT EXISTS {db}.collection_forks (root String, source String, "
           "target String, ver UInt64) ENGINE = MergeTree ORDER BY (root, target)",
       }},
  };
  return kMigrations;
}

std::string Substitute(std::string_view text, const std::string& db) {
  std::string out;
  out.reserve(text.size() + 16);
  size_t pos = 0;
  while (true) {
    size_t at = text.find("{db}", pos);
    if (at == std::string_view::npos) break;
    out.append(text.substr(pos, at - pos));
    out.append(db);
    pos = at + 4;
  }
  out.append(text.substr(pos));
  return out;
}

// Calls `fn(object)` for each JSONEachRow line of `body`.
template <typename Fn>
Status ForEachRow(std::string_view kind, const std::string& body, Fn&& fn) {
  thread_local simdjson::dom::parser parser;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t end = body.find('\n', pos);
    if (end == std::string::npos) end = body.size();
    std::string_view line(body.data() + pos, end - pos);
    pos = end + 1;
    if (line.empty()) continue;
    simdjson::dom::object obj;
    if (auto err = parser.parse(line.data(), line.size()).get(obj); err) {
      return Status::Internal("unreadable ClickHouse row in " + std::string(kind) + ": " +
                              simdjson::error_message(err));
    }
    RETURN_IF_ERROR(fn(obj));
  }
  return Status::Ok();
}

std::string GetString(simdjson::dom::object& obj, const char* key) {
  std::string_view v;
  if (obj[key].get_string().get(v)) return {};
  return std::string(v);
}

std::optional<std::string> GetNullableString(simdjson::dom::object& obj, const char* key) {
  std::string_view v;
  if (obj[key].get_string().get(v)) return std::nullopt;
  return std::string(v);
}

uint64_t GetUInt(simdjson::dom::object& obj, const char* key) {
  simdjson::dom::element el;
  if (obj[key].get(el)) return 0;
  uint64_t u;
  if (!el.get_uint64().get(u)) return u;
  int64_t i;
  if (!el.get_int64().get(i)) return static_cast<uint64_t>(i);
  return 0;
}

// Keeps, per key, the row with the highest version; drops tombstones at the end.
template <typename Row>
std::vector<Row> NewestLive(std::map<std::string, Row>& newest, bool include_deleted = false) {
  std::vector<Row> out;
  out.reserve(newest.size());
  for (auto& [key, row] : newest) {
    if (include_deleted || !row.deleted) out.push_back(std::move(row));
  }
  return out;
}

template <typename Row>
void KeepNewest(std::map<std::string, Row>& newest, std::string key, Row row) {
  auto it = newest.find(key);
  if (it == newest.end()) {
    newest.emplace(std::move(key), std::move(row));
  } else if (it->second.version <= row.version) {
    it->second = std::move(row);
  }
}

void WriteNullableString(JsonWriter& w, const std::optional<std::string>& v) {
  if (v) {
    w.String(*v);
  } else {
    w.Null();
  }
}

}  // namespace

ClickHouseStorage::ClickHouseStorage(std::unique_ptr<SqlTransport> transport, std::string database,
                                     std::string cluster)
    : transport_(std::move(transport)),
      database_(std::move(database)),
      cluster_(std::move(cluster)) {}

std::string ClickHouseStorage::Ddl(std::string stmt) const {
  if (cluster_.empty()) return stmt;
  // "CREATE TABLE IF NOT EXISTS db.t (…) ENGINE = XMergeTree(args) …"
  //   → "CREATE TABLE IF NOT EXISTS db.t ON CLUSTER c (…)
  //      ENGINE = ReplicatedXMergeTree('/clickhouse/tables/{shard}/db.t', '{replica}', args) …"
  const std::string prefix = "CREATE TABLE IF NOT EXISTS ";
  if (!stmt.starts_with(prefix)) return stmt;
  size_t name_end = stmt.find(' ', prefix.size());
  std::string table = stmt.substr(prefix.size(), name_end - prefix.size());
  stmt.insert(name_end, OnCluster());
  size_t engine = stmt.find("ENGINE = ");
  if (engine == std::string::npos) return stmt;
  size_t name_at = engine + 9;
  size_t paren = stmt.find('(', name_at);
  size_t space = stmt.find(' ', name_at);
  std::string args = "'/clickhouse/tables/{shard}/" + table + "', '{replica}'";
  if (paren != std::string::npos && (space == std::string::npos || paren < space)) {
    // XMergeTree(ver) → ReplicatedXMergeTree(path, replica, ver)
    size_t close = stmt.find(')', paren);
    std::string inner = stmt.substr(paren + 1, close - paren - 1);
    stmt.replace(paren, close - paren + 1, "(" + args + (inner.empty() ? "" : ", " + inner) + ")");
  } else {
    // MergeTree ORDER BY … → ReplicatedMergeTree(path, replica) ORDER BY …
    stmt.insert(space, "(" + args + ")");
  }
  stmt.insert(name_at, "Replicated");
  return stmt;
}

bool ClickHouseStorage::IsValidDatabaseName(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (size_t i = 0; i < name.size(); ++i) {
    char c = name[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
              (i > 0 && c >= '0' && c <= '9');
    if (!ok) return false;
  }
  return true;
}

int ClickHouseStorage::LatestSchemaVersion() { return Migrations().back().version; }

Result<int> ClickHouseStorage::CurrentSchemaVersion() {
  ASSIGN_OR_RETURN(std::string body,
                   transport_->Execute("read schema version", "SELECT max(version) AS v FROM " +
                                                                  Table("schema_migrations") +
                                                                  " FORMAT JSONEachRow"));
  int version = 0;
  RETURN_IF_ERROR(ForEachRow("read schema version", body, [&](simdjson::dom::object& row) {
    version = static_cast<int>(GetUInt(row, "v"));
    return Status::Ok();
  }));
  return version;
}

Status ClickHouseStorage::Initialize() {
  if (!IsValidDatabaseName(database_)) {
    return Status::InvalidArgument("invalid ClickHouse database name '" + database_ +
                                   "': use letters, digits and '_'");
  }
  RETURN_IF_ERROR(
      transport_
          ->Execute("create database", "CREATE DATABASE IF NOT EXISTS " + database_ + OnCluster())
          .status());
  RETURN_IF_ERROR(transport_
                      ->Execute("create table",
                                Ddl("CREATE TABLE IF NOT EXISTS " + Table("schema_migrations") +
                                    " (version UInt32, description String, applied_at_unix UInt64)"
                                    " ENGINE = MergeTree ORDER BY version"))
                      .status());
  ASSIGN_OR_RETURN(int current, CurrentSchemaVersion());
  if (current > LatestSchemaVersion()) {
    return Status::FailedPrecondition(
        "ClickHouse database '" + database_ + "' has schema version " + std::to_string(current) +
        ", newer than this build understands (" + std::to_string(LatestSchemaVersion()) +
        "); upgrade chromahouse");
  }
  for (const Migration& m : Migrations()) {
    if (m.version <= current) continue;
    LOG_INFO("applying schema migration {} ({})", m.version, m.description);
    for (const char* stmt : m.statements) {
      RETURN_IF_ERROR(transport_->Execute("migration", Ddl(Substitute(stmt, database_))).status());
    }
    JsonWriter w;
    w.BeginObject();
    w.Key("version");
    w.Int(m.version);
    w.Key("description");
    w.String(m.description);
    w.Key("applied_at_unix");
    w.Int(NowSeconds());
    w.EndObject();
    RETURN_IF_ERROR(
        transport_
            ->Execute("record migration",
                      "INSERT INTO " + Table("schema_migrations") + " FORMAT JSONEachRow", w.str())
            .status());
  }
  return Status::Ok();
}

Status ClickHouseStorage::Ping() { return transport_->Execute("ping", "SELECT 1").status(); }

Result<std::string> ClickHouseStorage::Describe() {
  ASSIGN_OR_RETURN(std::string version, transport_->Execute("version", "SELECT version()"));
  while (!version.empty() && (version.back() == '\n' || version.back() == ' ')) version.pop_back();
  return "ClickHouse " + version + " at " + transport_->Endpoint() + ", database " + database_ +
         (cluster_.empty() ? "" : ", cluster " + cluster_ + " (replicated tables)");
}

Result<std::vector<Tenant>> ClickHouseStorage::LoadTenants(bool include_deleted) {
  ASSIGN_OR_RETURN(std::string body,
                   transport_->Execute("load tenants",
                                       "SELECT name, resource_name, ver, deleted FROM " +
                                           Table("tenants") + " FORMAT JSONEachRow",
                                       {}, include_deleted ? refresh_timeout_ms_ : 0));
  std::map<std::string, Tenant> newest;
  RETURN_IF_ERROR(ForEachRow("load tenants", body, [&](simdjson::dom::object& row) {
    Tenant t;
    t.name = GetString(row, "name");
    t.resource_name = GetNullableString(row, "resource_name");
    t.version = GetUInt(row, "ver");
    t.deleted = GetUInt(row, "deleted") != 0;
    std::string key = t.name;
    KeepNewest(newest, std::move(key), std::move(t));
    return Status::Ok();
  }));
  return NewestLive(newest, include_deleted);
}

Result<std::vector<Database>> ClickHouseStorage::LoadDatabases(bool include_deleted) {
  ASSIGN_OR_RETURN(std::string body,
                   transport_->Execute("load databases",
                                       "SELECT tenant, name, id, ver, deleted FROM " +
                                           Table("databases") + " FORMAT JSONEachRow",
                                       {}, include_deleted ? refresh_timeout_ms_ : 0));
  std::map<std::string, Database> newest;
  RETURN_IF_ERROR(ForEachRow("load databases", body, [&](simdjson::dom::object& row) {
    Database d;
    d.tenant = GetString(row, "tenant");
    d.name = GetString(row, "name");
    d.id = GetString(row, "id");
    d.version = GetUInt(row, "ver");
    d.deleted = GetUInt(row, "deleted") != 0;
    std::string key = d.tenant + '\0' + d.name;
    KeepNewest(newest, std::move(key), std::move(d));
    return Status::Ok();
  }));
  return NewestLive(newest, include_deleted);
}

Result<std::vector<Collection>> ClickHouseStorage::LoadCollections(bool include_deleted) {
  ASSIGN_OR_RETURN(
      std::string body,
      transport_->Execute("load collections",
                          "SELECT id, tenant, database, name, metadata, configuration, schema, "
                          "dimension, ver, deleted FROM " +
                              Table("collections") + " FORMAT JSONEachRow",
                          {}, include_deleted ? refresh_timeout_ms_ : 0));
  std::map<std::string, Collection> newest;
  RETURN_IF_ERROR(ForEachRow("load collections", body, [&](simdjson::dom::object& row) {
    Collection c;
    c.id = GetString(row, "id");
    c.tenant = GetString(row, "tenant");
    c.database = GetString(row, "database");
    c.name = GetString(row, "name");
    c.version = GetUInt(row, "ver");
    c.deleted = GetUInt(row, "deleted") != 0;
    if (!c.deleted) {
      if (auto md = GetNullableString(row, "metadata")) {
        ASSIGN_OR_RETURN(Metadata m, MetadataFromJson(*md));
        c.metadata = std::move(m);
      }
      ASSIGN_OR_RETURN(c.configuration,
                       ConfigurationFromStoredJson(GetString(row, "configuration")));
      c.schema_json = GetNullableString(row, "schema").value_or("");
      int64_t dim;
      if (!row["dimension"].get_int64().get(dim)) c.dimension = dim;
    }
    std::string key = c.id;
    KeepNewest(newest, std::move(key), std::move(c));
    return Status::Ok();
  }));
  return NewestLive(newest, include_deleted);
}

namespace {

// One INSERT … FORMAT JSONEachRow of `rows`: `fields` writes a row's own columns, the version
// columns every catalog table has are added here.
template <typename Row, typename Fn>
Status InsertJsonRows(SqlTransport& transport, std::string_view kind, const std::string& table,
                      const std::vector<Row>& rows, Fn&& fields) {
  if (rows.empty()) return Status::Ok();
  std::string body;
  for (const Row& row : rows) {
    JsonWriter w(&body);
    w.BeginObject();
    fields(w, row);
    w.Key("ver");
    w.UInt(row.version);
    w.Key("deleted");
    w.Int(row.deleted ? 1 : 0);
    w.EndObject();
    body.push_back('\n');
  }
  return transport.Execute(kind, "INSERT INTO " + table + " FORMAT JSONEachRow", body).status();
}

}  // namespace

Status ClickHouseStorage::WriteTenants(const std::vector<Tenant>& rows) {
  return InsertJsonRows(*transport_, "write tenants", Table("tenants"), rows,
                        [](JsonWriter& w, const Tenant& t) {
                          w.Key("name");
                          w.String(t.name);
                          w.Key("resource_name");
                          WriteNullableString(w, t.resource_name);
                        });
}

Status ClickHouseStorage::WriteDatabases(const std::vector<Database>& rows) {
  return InsertJsonRows(*transport_, "write databases", Table("databases"), rows,
                        [](JsonWriter& w, const Database& d) {
                          w.Key("tenant");
                          w.String(d.tenant);
                          w.Key("name");
                          w.String(d.name);
                          w.Key("id");
                          w.String(d.id);
                        });
}

Status ClickHouseStorage::WriteCollections(const std::vector<Collection>& rows) {
  return InsertJsonRows(
      *transport_, "write collections", Table("collections"), rows,
      [](JsonWriter& w, const Collection& c) {
        w.Key("id");
        w.String(c.id);
        w.Key("tenant");
        w.String(c.tenant);
        w.Key("database");
        w.String(c.database);
        w.Key("name");
        w.String(c.name);
        w.Key("metadata");
        WriteNullableString(
            w, c.metadata ? std::optional<std::string>(MetadataToJson(*c.metadata)) : std::nullopt);
        w.Key("configuration");
        w.String(ConfigurationToStoredJson(c.configuration));
        w.Key("schema");
        WriteNullableString(
            w, c.schema_json.empty() ? std::nullopt : std::optional<std::string>(c.schema_json));
        w.Key("dimension");
        if (c.dimension) {
          w.Int(*c.dimension);
        } else {
          w.Null();
        }
      });
}

namespace {

// A single-quoted SQL string literal.
std::string Quote(std::string_view s) {
  std::string out = "'";
  for (char c : s) {
    if (c == '\\' || c == '\'') out.push_back('\\');
    out.push_back(c);
  }
  out.push_back('\'');
  return out;
}

}  // namespace

Status ClickHouseStorage::WriteRecords(const std::string& collection_id,
                                       const std::vector<RecordRow>& rows) {
  if (rows.empty()) return Status::Ok();
  std::string body;
  size_t estimate = 0;
  for (const auto& r : rows) estimate += 64 + r.id.size() + r.embedding.size() * 4;
  body.reserve(estimate);
  RowBinaryWriter w(&body);
  for (const auto& r : rows) {
    w.String(collection_id);
    w.String(r.id);
    w.UInt64(r.version);
    w.UInt64(r.created);
    w.UInt8(r.deleted ? 1 : 0);
    w.FloatArray(r.embedding);
    w.NullableString(r.document);
    w.NullableString(r.uri);
    if (r.metadata) {
      w.NullableString(MetadataToJson(*r.metadata));
    } else {
      w.NullableString(std::nullopt);
    }
  }
  return transport_
      ->Execute("write records",
                "INSERT INTO " + Table("records") +
                    " (collection, id, ver, created, deleted, embedding, document, uri, metadata)"
                    " FORMAT RowBinary",
                body)
      .status();
}

Status ClickHouseStorage::StreamNewestRecords(std::string_view kind, const std::string& where,
                                              const std::string& collection_id,
                                              std::unordered_map<std::string, RecordRow>* newest,
                                              int timeout_ms) {
  return StreamRecordRows(kind, where, collection_id, timeout_ms,
                          [newest](std::span<const RecordRow> batch) {
                            for (const RecordRow& row : batch) {
                              auto it = newest->find(row.id);
                              if (it == newest->end()) {
                                newest->emplace(row.id, row);
                              } else if (it->second.version <= row.version) {
                                it->second = row;
                              }
                            }
                            return Status::Ok();
                          });
}

Result<std::vector<RecordRow>> ClickHouseStorage::LoadRecords(const std::string& collection_id) {
  std::unordered_map<std::string, RecordRow> newest;
  RETURN_IF_ERROR(StreamNewestRecords("load records", "", collection_id, &newest));
  std::vector<RecordRow> out;
  out.reserve(newest.size());
  for (auto& [id, row] : newest) {
    if (!row.deleted) out.push_back(std::move(row));
  }
  return out;
}

Status ClickHouseStorage::ScanRecords(const std::string& collection_id,
                                      const RecordBatchFn& on_batch) {
  return StreamRecordRows("load records", "", collection_id, 0, on_batch);
}

Status ClickHouseStorage::StreamRecordRows(std::string_view kind, const std::string& where,
                                           const std::string& collection_id, int timeout_ms,
                                           const RecordBatchFn& on_batch) {
  // Rows are parsed into a reused batch as the result streams in; `pending` holds the bytes of
  // a row split across network chunks.
  constexpr size_t kBatch = 4096;
  std::vector<RecordRow> batch(kBatch);
  size_t used = 0;
  std::string pending;
  std::optional<std::string> metadata;
  auto parse = [&](bool final) -> Status {
    RowBinaryReader r(pending);
    size_t consumed = 0;
    while (!r.AtEnd()) {
      RecordRow& row = batch[used];
      uint8_t deleted = 0;
      if (!r.String(&row.id) || !r.UInt64(&row.version) || !r.UInt64(&row.created) ||
          !r.UInt8(&deleted) || !r.FloatArray(&row.embedding) || !r.NullableString(&row.document) ||
          !r.NullableString(&row.uri) || !r.NullableString(&metadata)) {
        if (final) {
          return Status::Internal(
              "truncated or malformed RowBinary from ClickHouse while "
              "loading collection " +
              collection_id);
        }
        break;  // the rest of this row comes with the next chunk
      }
      consumed = r.position();
      row.deleted = deleted != 0;
      row.metadata.reset();
      if (metadata && !row.deleted) {
        ASSIGN_OR_RETURN(Metadata m, MetadataFromJson(*metadata));
        row.metadata = std::move(m);
      }
      if (++used == kBatch) {
        RETURN_IF_ERROR(on_batch(std::span<const RecordRow>(batch.data(), used)));
        used = 0;
      }
    }
    pending.erase(0, consumed);
    return Status::Ok();
  };
  RETURN_IF_ERROR(transport_->ExecuteStreaming(
      kind,
      "SELECT id, ver, created, deleted, embedding, document, uri, metadata FROM " +
          Table("records") + " WHERE collection = " + Quote(collection_id) + where +
          " FORMAT RowBinary",
      [&](std::string_view chunk) {
        pending.append(chunk);
        return parse(/*final=*/false);
      },
      timeout_ms));
  RETURN_IF_ERROR(parse(/*final=*/true));
  if (used > 0) RETURN_IF_ERROR(on_batch(std::span<const RecordRow>(batch.data(), used)));
  return Status::Ok();
}

Result<size_t> ClickHouseStorage::CountRecordRows(const std::string& collection_id) {
  ASSIGN_OR_RETURN(
      std::string body,
      transport_->Execute("count records", "SELECT count() FROM " + Table("records") +
                                               " WHERE collection = " + Quote(collection_id)));
  return static_cast<size_t>(std::strtoull(body.c_str(), nullptr, 10));
}

Result<Storage::VersionSummary> ClickHouseStorage::SummarizeRecordVersions(
    const std::string& collection_id, uint64_t min_version) {
  ASSIGN_OR_RETURN(
      std::string body,
      transport_->Execute("refresh summary",
                          "SELECT count(), sum(bitShiftRight(ver, 32)), "
                          "sum(bitAnd(ver, 4294967295)) FROM " +
                              Table("records") + " WHERE collection = " + Quote(collection_id) +
                              " AND ver > " + std::to_string(min_version) + " FORMAT TabSeparated",
                          {}, refresh_timeout_ms_));
  VersionSummary out;
  char* end = body.data();
  out.rows = std::strtoull(end, &end, 10);
  out.high_sum = std::strtoull(end, &end, 10);
  out.low_sum = std::strtoull(end, &end, 10);
  if (end == body.data() || *end != '\n') {
    return Status::Internal("unexpected answer from ClickHouse to a version summary: " +
                            body.substr(0, 200));
  }
  return out;
}

Result<std::optional<std::string>> ClickHouseStorage::CatalogFingerprint() {
  // Every catalog change inserts a row with a new version; merges remove rows. The number of
  // rows and the sums of their versions' halves change with either.
  //
  // Polled every freshness period (twenty times a second by default), so it must cost
  // ClickHouse little: one SELECT of scalar subqueries on one thread. A UNION ALL of three
  // SELECTs, or reads with max_threads > 1, make ClickHouse 18.16 start threads for every
  // query (4 per poll): measured, an idle instance's polls kept 8 % of a core busy.
  auto part = [this](const char* table) {
    return std::string(
               "(SELECT tuple(count(), sum(bitShiftRight(ver, 32)), "
               "sum(bitAnd(ver, 4294967295))) FROM ") +
           Table(table) + ")";
  };
  ASSIGN_OR_RETURN(
      std::string body,
      transport_->Execute("catalog summary",
                          "SELECT " + part("tenants") + ", " + part("databases") + ", " +
                              part("collections") + " SETTINGS max_threads = 1 FORMAT TabSeparated",
                          {}, refresh_timeout_ms_));
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
  if (body.empty() || body.find('\n') != std::string::npos ||
      std::count(body.begin(), body.end(), '\t') != 2) {
    return Status::Internal("unexpected answer from ClickHouse to a catalog summary: " +
                            body.substr(0, 200));
  }
  return std::optional<std::string>(std::move(body));
}

Result<std::vector<std::pair<std::string, uint64_t>>> ClickHouseStorage::LoadRecordVersions(
    const std::string& collection_id, uint64_t min_version) {
  std::vector<std::pair<std::string, uint64_t>> out;
  std::string pending;
  auto parse = [&](bool final) -> Status {
    RowBinaryReader r(pending);
    size_t consumed = 0;
    while (!r.AtEnd()) {
      std::string id;
      uint64_t version = 0;
      if (!r.String(&id) || !r.UInt64(&version)) {
        if (final) return Status::Internal("truncated RowBinary from ClickHouse (record versions)");
        break;
      }
      consumed = r.position();
      out.emplace_back(std::move(id), version);
    }
    pending.erase(0, consumed);
    return Status::Ok();
  };
  RETURN_IF_ERROR(transport_->ExecuteStreaming(
      "refresh versions",
      "SELECT id, ver FROM " + Table("records") + " WHERE collection = " + Quote(collection_id) +
          " AND ver > " + std::to_string(min_version) + " FORMAT RowBinary",
      [&](std::string_view chunk) {
        pending.append(chunk);
        return parse(false);
      },
      refresh_timeout_ms_));
  RETURN_IF_ERROR(parse(true));
  return out;
}

Result<std::vector<RecordRow>> ClickHouseStorage::LoadRecordsByIds(
    const std::string& collection_id, const std::vector<std::string>& ids, uint64_t min_version) {
  // In slices, so that the statement stays well below ClickHouse's max_query_size (256 KiB).
  std::unordered_map<std::string, RecordRow> newest;
  size_t i = 0;
  while (i < ids.size()) {
    std::string where = " AND ver > " + std::to_string(min_version) + " AND id IN (";
    size_t first = i;
    for (; i < ids.size() && where.size() < 128 * 1024; ++i) {
      if (i > first) where += ",";
      where += Quote(ids[i]);
    }
    where += ")";
    RETURN_IF_ERROR(
        StreamNewestRecords("refresh records", where, collection_id, &newest, refresh_timeout_ms_));
  }
  std::vector<RecordRow> out;
  out.reserve(newest.size());
  for (auto& [id, row] : newest) out.push_back(std::move(row));
  return out;
}

Status ClickHouseStorage::PurgeRecords(const std::string& collection_id) {
  // Mutations: asynchronous in ClickHouse, never run on a request path.
  RETURN_IF_ERROR(
      transport_
          ->Execute("purge records", "ALTER TABLE " + Table("records") +
                                         " DELETE WHERE collection = " + Quote(collection_id))
          .status());
  return transport_
      ->Execute("purge index snapshots", "ALTER TABLE " + Table("index_snapshots") +
                                             " DELETE WHERE collection = " + Quote(collection_id))
      .status();
}

Result<std::optional<IndexSnapshotInfo>> ClickHouseStorage::FindIndexSnapshot(
    const std::string& collection_id) {
  // Complete snapshots only: every chunk present (a failed write may have left part of one).
  ASSIGN_OR_RETURN(
      std::string body,
      transport_->Execute(
          "find index snapshot",
          "SELECT snapshot, any(format) AS format, any(watermark) AS watermark, "
          "any(records) AS records, any(bytes) AS bytes, any(chunks) AS chunks, "
          "uniqExact(chunk) AS present FROM " +
              Table("index_snapshots") + " WHERE collection = " + Quote(collection_id) +
              " GROUP BY snapshot HAVING present = chunks ORDER BY snapshot DESC LIMIT 1"
              " FORMAT JSONEachRow"));
  std::optional<IndexSnapshotInfo> out;
  RETURN_IF_ERROR(ForEachRow("find index snapshot", body, [&](simdjson::dom::object& row) {
    IndexSnapshotInfo info;
    info.id = GetUInt(row, "snapshot");
    info.format = static_cast<uint32_t>(GetUInt(row, "format"));
    info.watermark = GetUInt(row, "watermark");
    info.records = GetUInt(row, "records");
    info.bytes = GetUInt(row, "bytes");
    out = info;
    return Status::Ok();
  }));
  return out;
}

Result<std::string> ClickHouseStorage::ReadIndexSnapshot(const std::string& collection_id,
                                                         const IndexSnapshotInfo& info) {
  std::string payload;
  payload.reserve(info.bytes);
  std::string pending;
  uint32_t next_chunk = 0;
  // Rows of (chunk as UInt64, data String). They usually come in chunk order (one part, read
  // in key order) and are appended to the payload as each row completes; a chunk that comes
  // early waits in `early` for its turn. Not `ORDER BY chunk`: 18.16 would sort the strings.
  std::map<uint64_t, std::string> early;
  auto parse = [&](bool final) -> Status {
    size_t pos = 0;
    while (pos < pending.size()) {
      RowBinaryReader r(std::string_view(pending).substr(pos));
      uint64_t chunk = 0;
      uint64_t size = 0;
      if (!r.UInt64(&chunk) || !r.VarUInt(&size) || size > pending.size() - pos - r.position()) {
        if (final) return Status::Internal("truncated RowBinary from ClickHouse (index snapshot)");
        break;
      }
      std::string_view data(pending.data() + pos + r.position(), size);
      pos += r.position() + size;
      if (chunk < next_chunk || early.count(chunk) || early.size() > 4096) {
        return Status::Internal("index snapshot " + std::to_string(info.id) + " of collection " +
                                collection_id + ": unexpected chunk " + std::to_string(chunk));
      }
      if (chunk != next_chunk) {
        early.emplace(chunk, std::string(data));
        continue;
      }
      payload.append(data);
      ++next_chunk;
      for (auto it = early.begin(); it != early.end() && it->first == next_chunk;
           it = early.erase(it)) {
        payload.append(it->second);
        ++next_chunk;
      }
    }
    pending.erase(0, pos);
    return Status::Ok();
  };
  // The payload's size is known and its checksum is checked by its reader: the result may
  // stream without ClickHouse buffering all of it first.
  RETURN_IF_ERROR(transport_->ExecuteStreaming(
      "read index snapshot",
      "SELECT toUInt64(chunk), data FROM " + Table("index_snapshots") + " WHERE collection = " +
          Quote(collection_id) + " AND snapshot = " + std::to_string(info.id) + " FORMAT RowBinary",
      [&](std::string_view chunk) {
        pending.append(chunk);
        return parse(false);
      },
      snapshot_timeout_ms_, /*self_checking=*/true));
  RETURN_IF_ERROR(parse(true));
  if (!early.empty()) {
    return Status::Internal("index snapshot " + std::to_string(info.id) + " of collection " +
                            collection_id + ": chunk " + std::to_string(next_chunk) +
                            " is missing");
  }
  if (next_chunk == 0) {
    return Status::NotFound("index snapshot " + std::to_string(info.id) + " of collection " +
                            collection_id + " is gone");
  }
  if (payload.size() != info.bytes) {
    return Status::Internal("index snapshot " + std::to_string(info.id) + " of collection " +
                            collection_id + " holds " + std::to_string(payload.size()) +
                            " bytes, " + std::to_string(info.bytes) + " expected");
  }
  return payload;
}

Status ClickHouseStorage::WriteIndexSnapshot(const std::string& collection_id,
                                             const IndexSnapshotInfo& info,
                                             std::string_view payload) {
  // One INSERT of all chunks: one block, so ClickHouse writes it as one part (or not at all).
  constexpr size_t kChunkBytes = size_t{8} << 20;
  const size_t chunks = std::max<size_t>(1, (payload.size() + kChunkBytes - 1) / kChunkBytes);
  std::string body;
  body.reserve(payload.size() + chunks * (collection_id.size() + 64));
  RowBinaryWriter w(&body);
  for (size_t c = 0; c < chunks; ++c) {
    w.String(collection_id);
    w.UInt64(info.id);
    w.UInt32(static_cast<uint32_t>(c));
    w.UInt32(static_cast<uint32_t>(chunks));
    w.UInt32(info.format);
    w.UInt64(info.watermark);
    w.UInt64(info.records);
    w.UInt64(payload.size());
    w.String(payload.substr(c * kChunkBytes, kChunkBytes));
  }
  RETURN_IF_ERROR(transport_
                      ->Execute("write index snapshot",
                                "INSERT INTO " + Table("index_snapshots") +
                                    " (collection, snapshot, chunk, chunks, format, watermark,"
                                    " records, bytes, data) FORMAT RowBinary",
                                body, snapshot_timeout_ms_)
                      .status());
  // The older snapshots go by a mutation (asynchronous; readers pick the newest anyway).
  return transport_
      ->Execute("remove old index snapshots",
                "ALTER TABLE " + Table("index_snapshots") + " DELETE WHERE collection = " +
                    Quote(collection_id) + " AND snapshot < " + std::to_string(info.id))
      .status();
}

Result<std::optional<uint64_t>> ClickHouseStorage::RecordWriteCount() {
  if (!cluster_.empty()) return std::optional<uint64_t>();
  ASSIGN_OR_RETURN(std::string body,
                   transport_->Execute("record write count",
                                       "SELECT toUInt64(max(max_block_number)) FROM system.parts "
                                       "WHERE database = " +
                                           Quote(database_) +
                                           " AND table = 'records' AND active "
                                           "SETTINGS max_threads = 1 FORMAT TSV",
                                       {}, refresh_timeout_ms_));
  uint64_t count = 0;
  const char* begin = body.data();
  const char* end = body.data() + body.size();
  while (end > begin && (end[-1] == '\n' || end[-1] == '\r')) --end;
  auto [ptr, ec] = std::from_chars(begin, end, count);
  if (ec != std::errc() || ptr != end) {
    return Status::Internal("record write count: unexpected answer from ClickHouse: " + body);
  }
  return std::optional<uint64_t>(count);
}

Status ClickHouseStorage::CopyRecords(const std::string& source, const std::string& target) {
  // One statement: ClickHouse reads the parts present when it starts (each write is one part,
  // so a write is copied whole or not at all) and the rows never leave it.
  return transport_
      ->Execute("copy records",
                "INSERT INTO " + Table("records") +
                    " (collection, id, ver, created, deleted, embedding, document, uri, metadata)"
                    " SELECT " +
                    Quote(target) +
                    ", id, ver, created, deleted, embedding, document, uri, metadata FROM " +
                    Table("records") + " WHERE collection = " + Quote(source),
                {}, snapshot_timeout_ms_)
      .status();
}

Result<bool> ClickHouseStorage::CopyIndexSnapshot(const std::string& source,
                                                  const std::string& target) {
  ASSIGN_OR_RETURN(std::optional<IndexSnapshotInfo> info, FindIndexSnapshot(source));
  if (!info) return false;
  // If the source replaced that snapshot meanwhile, fewer chunks (or none) are copied: the
  // target's copy is then incomplete and never read (FindIndexSnapshot wants every chunk).
  RETURN_IF_ERROR(transport_
                      ->Execute("copy index snapshot",
                                "INSERT INTO " + Table("index_snapshots") +
                                    " (collection, snapshot, chunk, chunks, format, watermark,"
                                    " records, bytes, data) SELECT " +
                                    Quote(target) +
                                    ", snapshot, chunk, chunks, format, watermark, records, "
                                    "bytes, data FROM " +
                                    Table("index_snapshots") + " WHERE collection = " +
                                    Quote(source) + " AND snapshot = " + std::to_string(info->id),
                                {}, snapshot_timeout_ms_)
                      .status());
  return true;
}

Status ClickHouseStorage::WriteCollectionFork(const CollectionFork& fork) {
  JsonWriter w;
  w.BeginObject();
  w.Key("root");
  w.String(fork.root);
  w.Key("source");
  w.String(fork.source);
  w.Key("target");
  w.String(fork.target);
  w.Key("ver");
  w.UInt(fork.version);
  w.EndObject();
  return transport_
      ->Execute("write collection fork",
                "INSERT INTO " + Table("collection_forks") + " FORMAT JSONEachRow", w.str())
      .status();
}

Result<std::vector<CollectionFork>> ClickHouseStorage::LoadCollectionForks() {
  ASSIGN_OR_RETURN(std::string body,
                   transport_->Execute("load collection forks",
                                       "SELECT root, source, target, ver FROM " +
                                           Table("collection_forks") + " FORMAT JSONEachRow"));
  std::vector<CollectionFork> out;
  RETURN_IF_ERROR(ForEachRow("load collection forks", body, [&](simdjson::dom::object& row) {
    CollectionFork f;
    f.root = GetString(row, "root");
    f.source = GetString(row, "source");
    f.target = GetString(row, "target");
    f.version = GetUInt(row, "ver");
    out.push_back(std::move(f));
    return Status::Ok();
  }));
  return out;
}

Status ClickHouseStorage::WriteInstanceBeat(const InstanceBeat& beat) {
  JsonWriter w;
  w.BeginObject();
  w.Key("instance");
  w.String(beat.instance);
  w.Key("catalog");
  w.String(beat.catalog);
  w.Key("seen_ms");
  w.Int(beat.seen_ms);
  w.Key("alive");
  w.Int(beat.alive ? 1 : 0);
  w.EndObject();
  return transport_
      ->Execute("instance beat", "INSERT INTO " + Table("instances") + " FORMAT JSONEachRow",
                w.str())
      .status();
}

Result<std::vector<Storage::InstanceBeat>> ClickHouseStorage::LoadInstanceBeats(int64_t since_ms) {
  ASSIGN_OR_RETURN(std::string body,
                   transport_->Execute(
                       "load instance beats",
                       "SELECT instance, argMax(catalog, seen_ms) AS catalog, "
                       "max(seen_ms) AS seen, argMax(alive, seen_ms) AS alive FROM " +
                           Table("instances") + " GROUP BY instance HAVING seen >= " +
                           std::to_string(std::max<int64_t>(since_ms, 0)) + " FORMAT JSONEachRow"));
  std::vector<InstanceBeat> out;
  RETURN_IF_ERROR(ForEachRow("load instance beats", body, [&](simdjson::dom::object& row) {
    InstanceBeat b;
    b.instance = GetString(row, "instance");
    b.catalog = GetString(row, "catalog");
    b.seen_ms = static_cast<int64_t>(GetUInt(row, "seen"));
    b.alive = GetUInt(row, "alive") != 0;
    out.push_back(std::move(b));
    return Status::Ok();
  }));
  return out;
}

Status ClickHouseStorage::Reset() {
  for (const char* table :
       {"tenants", "databases", "collections", "records", "index_snapshots", "collection_forks"}) {
    RETURN_IF_ERROR(
        transport_->Execute("reset", "TRUNCATE TABLE " + Table(table) + OnCluster()).status());
  }
  return Status::Ok();
}

}  // namespace chromahouse
