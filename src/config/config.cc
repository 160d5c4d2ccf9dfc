#include "config/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>

extern char** environ;

namespace chromahouse {
namespace {

Result<int64_t> ParseInt(const std::string& key, const std::string& text) {
  int64_t v = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || ptr != text.data() + text.size()) {
    return Status::InvalidArgument("setting " + key + ": expected an integer, got '" + text + "'");
  }
  return v;
}

Result<bool> ParseBool(const std::string& key, std::string text) {
  std::transform(text.begin(), text.end(), text.begin(), ::tolower);
  if (text == "1" || text == "true" || text == "yes" || text == "on") return true;
  if (text == "0" || text == "false" || text == "no" || text == "off" || text.empty()) return false;
  return Status::InvalidArgument("setting " + key + ": expected true or false, got '" + text + "'");
}

// Accepts a JSON-style list (["a","b"]) or a comma-separated list.
std::vector<std::string> ParseList(std::string text) {
  std::vector<std::string> out;
  std::string cleaned;
  for (char c : text) {
    if (c == '[' || c == ']' || c == '"' || c == '\'') continue;
    cleaned.push_back(c);
  }
  size_t pos = 0;
  while (pos <= cleaned.size()) {
    size_t end = cleaned.find(',', pos);
    if (end == std::string::npos) end = cleaned.size();
    std::string item = cleaned.substr(pos, end - pos);
    item.erase(0, item.find_first_not_of(" \t"));
    item.erase(item.find_last_not_of(" \t") + 1);
    if (!item.empty()) out.push_back(item);
    pos = end + 1;
  }
  return out;
}

}  // namespace

const std::vector<SettingInfo>& Settings() {
  static const std::vector<SettingInfo> kSettings = {
      {"host", "CHROMA_HOST", "--host", "address to listen on"},
      {"port", "CHROMA_PORT", "--port", "HTTP port"},
      {"persist_path", "CHROMA_PERSIST_PATH", "--path",
       "data directory (embedded ClickHouse data, lock file)"},
      {"allow_reset", "CHROMA_ALLOW_RESET", "--allow-reset", "enable POST /api/v2/reset"},
      {"console", "CHROMAHOUSE_CONSOLE", "--console",
       "serve the web console at /console/ (true or false)"},
      {"console_dir", "CHROMAHOUSE_CONSOLE_DIR", "--console-dir",
       "serve the console's files from this folder instead of the copy built into the binary "
       "(for working on the console); empty = the built-in copy"},
      {"cors_allow_origins", "CHROMA_CORS_ALLOW_ORIGINS", "--cors-allow-origins",
       "allowed CORS origins (JSON list or comma-separated; \"*\" for any); empty = CORS off"},
      {"max_payload_size_bytes", "CHROMA_MAX_PAYLOAD_SIZE_BYTES", "--max-payload-size-bytes",
       "largest accepted request body (413 above)"},
      {"max_batch_size", "CHROMAHOUSE_MAX_BATCH_SIZE", "--max-batch-size",
       "largest record batch, reported by pre-flight-checks"},
      {"io_threads", "CHROMAHOUSE_IO_THREADS", "--io-threads",
       "threads for network I/O (0 = number of cores)"},
      {"worker_threads", "CHROMAHOUSE_WORKER_THREADS", "--worker-threads",
       "threads that run request handlers"},
      {"clickhouse_url", "CHROMAHOUSE_CLICKHOUSE_URL", "--clickhouse-url",
       "external ClickHouse HTTP endpoint, or a comma-separated list of replicas to fail over "
       "between; empty = start an embedded ClickHouse under the data directory"},
      {"clickhouse_user", "CHROMAHOUSE_CLICKHOUSE_USER", "--clickhouse-user", "ClickHouse user"},
      {"clickhouse_password", "CHROMAHOUSE_CLICKHOUSE_PASSWORD", "--clickhouse-password",
       "ClickHouse password (never logged)", nullptr, true},
      {"clickhouse_database", "CHROMAHOUSE_CLICKHOUSE_DATABASE", "--clickhouse-database",
       "ClickHouse database that holds chromahouse's tables"},
      {"clickhouse_cluster", "CHROMAHOUSE_CLICKHOUSE_CLUSTER", "--clickhouse-cluster",
       "a cluster of the ClickHouse servers' remote_servers: tables are created ON CLUSTER as "
       "ReplicatedReplacingMergeTree (needs clickhouse_url; list every replica there, "
       "comma-separated, to fail over)"},
      {"clickhouse_binary", "CHROMAHOUSE_CLICKHOUSE_BINARY", "--clickhouse-binary",
       "clickhouse-server executable for the embedded ClickHouse"},
      {"catalog_url", "CHROMAHOUSE_CATALOG_URL", "--catalog-url",
       "PostgreSQL that keeps the catalog (tenants, databases, collections), e.g. "
       "postgresql://user:password@host:5432/chromahouse; needed by every instance of a "
       "deployment of several; empty = the catalog is kept in ClickHouse (one instance only; "
       "never logged)",
       nullptr, true},
      {"freshness_ms", "CHROMAHOUSE_FRESHNESS_MS", "--freshness-ms",
       "how stale data may be relative to writes by other instances on the same ClickHouse, in "
       "ms (-1 = never re-read: a single instance; 0 = check ClickHouse before every request)"},
      {"freshness_window_ms", "CHROMAHOUSE_FRESHNESS_WINDOW_MS", "--freshness-window-ms",
       "how far behind the newest version seen a refresh looks again (writes committed late)"},
      {"freshness_full_scan_seconds", "CHROMAHOUSE_FRESHNESS_FULL_SCAN_SECONDS",
       "--freshness-full-scan-seconds",
       "how often a refresh compares every (id, version) of a collection, for rows that reached "
       "ClickHouse later than the window (replicas catching up); 0 = never"},
      {"indexer_threads", "CHROMAHOUSE_INDEXER_THREADS", "--indexer-threads",
       "threads that build a collection's HNSW graph while many records wait for it (a load "
       "without a snapshot, a large ingest); 0 = one per core"},
      {"index_snapshot_min_records", "CHROMAHOUSE_INDEX_SNAPSHOT_MIN_RECORDS",
       "--index-snapshot-min-records",
       "collections with at least this many records keep a snapshot of their HNSW graph in "
       "ClickHouse (rewritten after 20% of the records changed), so that loading them does not "
       "rebuild the graph; 0 = write none"},
      {"instance_id", "CHROMAHOUSE_INSTANCE_ID", "--instance-id",
       "0-255, the low bits of every version this instance writes (-1 = random); give each "
       "instance its own"},
      {"cache_memory_limit_bytes", "CHROMAHOUSE_CACHE_MEMORY_LIMIT_BYTES",
       "--cache-memory-limit-bytes",
       "memory for loaded collections; least recently used ones are evicted past it (0 = half "
       "of physical memory)"},
      {"max_concurrent_requests", "CHROMAHOUSE_MAX_CONCURRENT_REQUESTS",
       "--max-concurrent-requests",
       "requests handled or waiting at once; more answer 429 (back-pressure)"},
      {"max_pending_write_bytes", "CHROMAHOUSE_MAX_PENDING_WRITE_BYTES",
       "--max-pending-write-bytes",
       "request bytes of writes waiting for their ClickHouse insert; more answer 429"},
      {"request_timeout_seconds", "CHROMAHOUSE_REQUEST_TIMEOUT_SECONDS",
       "--request-timeout-seconds",
       "a request that waited this long for a worker answers 503 instead of running"},
      {"auth_provider", "CHROMA_SERVER_AUTHN_PROVIDER", "--auth-provider",
       "\"token\" or \"basic\" (Chroma's provider class names also accepted); empty = no "
       "authentication",
       "CHROMA_SERVER_AUTH_PROVIDER"},
      {"auth_credentials", "CHROMA_SERVER_AUTHN_CREDENTIALS", "--auth-credentials",
       "token auth: the one accepted token; basic auth: htpasswd lines user:bcrypt-hash (never "
       "logged)",
       "CHROMA_SERVER_AUTH_CREDENTIALS", true},
      {"auth_credentials_file", "CHROMA_SERVER_AUTHN_CREDENTIALS_FILE", "--auth-credentials-file",
       "users file: YAML `users: [{id, tenant, databases, tokens, password}]` or an htpasswd "
       "file (bcrypt)",
       "CHROMA_SERVER_AUTH_CREDENTIALS_FILE"},
      {"auth_token_transport_header", "CHROMA_AUTH_TOKEN_TRANSPORT_HEADER",
       "--auth-token-transport-header",
       "where tokens are read: Authorization (Bearer) or X-Chroma-Token; empty = both",
       "CHROMA_SERVER_AUTH_TOKEN_TRANSPORT_HEADER"},
      {"log_level", "CHROMAHOUSE_LOG_LEVEL", "--log-level", "debug, info, warn or error"},
      {"log_format", "CHROMAHOUSE_LOG_FORMAT", "--log-format",
       "text, or json (one JSON object per line)"},
  };
  return kSettings;
}

Status ApplySetting(const std::string& key, const std::string& value, const std::string& source,
                    Config* c) {
  if (key == "host") {
    c->host = value;
  } else if (key == "port") {
    ASSIGN_OR_RETURN(int64_t v, ParseInt(key, value));
    c->port = static_cast<int>(v);
  } else if (key == "persist_path") {
    c->persist_path = value;
  } else if (key == "allow_reset") {
    ASSIGN_OR_RETURN(c->allow_reset, ParseBool(key, value));
  } else if (key == "console") {
    ASSIGN_OR_RETURN(c->console, ParseBool(key, value));
  } else if (key == "console_dir") {
    c->console_dir = value;
  } else if (key == "cors_allow_origins") {
    c->cors_allow_origins = ParseList(value);
  } else if (key == "max_payload_size_bytes") {
    ASSIGN_OR_RETURN(c->max_payload_size_bytes, ParseInt(key, value));
  } else if (key == "max_batch_size") {
    ASSIGN_OR_RETURN(c->max_batch_size, ParseInt(key, value));
  } else if (key == "io_threads") {
    ASSIGN_OR_RETURN(int64_t v, ParseInt(key, value));
    c->io_threads = static_cast<int>(v);
  } else if (key == "worker_threads") {
    ASSIGN_OR_RETURN(int64_t v, ParseInt(key, value));
    c->worker_threads = static_cast<int>(v);
  } else if (key == "clickhouse_url") {
    c->clickhouse_url = value;
  } else if (key == "clickhouse_user") {
    c->clickhouse_user = value;
  } else if (key == "clickhouse_password") {
    c->clickhouse_password = value;
  } else if (key == "clickhouse_database") {
    c->clickhouse_database = value;
  } else if (key == "clickhouse_cluster") {
    c->clickhouse_cluster = value;
  } else if (key == "clickhouse_binary") {
    c->clickhouse_binary = value;
  } else if (key == "catalog_url") {
    c->catalog_url = value;
  } else if (key == "freshness_ms") {
    ASSIGN_OR_RETURN(c->freshness_ms, ParseInt(key, value));
  } else if (key == "freshness_window_ms") {
    ASSIGN_OR_RETURN(c->freshness_window_ms, ParseInt(key, value));
  } else if (key == "freshness_full_scan_seconds") {
    ASSIGN_OR_RETURN(c->freshness_full_scan_seconds, ParseInt(key, value));
  } else if (key == "indexer_threads") {
    ASSIGN_OR_RETURN(int64_t v, ParseInt(key, value));
    c->indexer_threads = static_cast<int>(std::clamp<int64_t>(v, -1, 1024));
  } else if (key == "index_snapshot_min_records") {
    ASSIGN_OR_RETURN(c->index_snapshot_min_records, ParseInt(key, value));
  } else if (key == "instance_id") {
    ASSIGN_OR_RETURN(int64_t v, ParseInt(key, value));
    c->instance_id = static_cast<int>(std::clamp<int64_t>(v, -2, 1 << 20));
  } else if (key == "cache_memory_limit_bytes") {
    ASSIGN_OR_RETURN(c->cache_memory_limit_bytes, ParseInt(key, value));
  } else if (key == "max_concurrent_requests") {
    ASSIGN_OR_RETURN(int64_t v, ParseInt(key, value));
    c->max_concurrent_requests = static_cast<int>(std::clamp<int64_t>(v, -1, 1 << 30));
  } else if (key == "max_pending_write_bytes") {
    ASSIGN_OR_RETURN(c->max_pending_write_bytes, ParseInt(key, value));
  } else if (key == "request_timeout_seconds") {
    ASSIGN_OR_RETURN(int64_t v, ParseInt(key, value));
    c->request_timeout_seconds = static_cast<int>(std::clamp<int64_t>(v, -1, 1 << 30));
  } else if (key == "auth_provider") {
    c->auth_provider = value;
  } else if (key == "auth_credentials") {
    c->auth_credentials = value;
  } else if (key == "auth_credentials_file") {
    c->auth_credentials_file = value;
  } else if (key == "auth_token_transport_header") {
    c->auth_token_transport_header = value;
  } else if (key == "log_level") {
    c->log_level = value;
  } else if (key == "log_format") {
    c->log_format = value;
  } else {
    return Status::InvalidArgument("unknown setting '" + key + "' (from " + source + ")");
  }
  c->sources[key] = source;
  return Status::Ok();
}

Status ApplyConfigFile(const std::string& path, Config* config) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const std::exception& e) {
    return Status::InvalidArgument("cannot read config file " + path + ": " + e.what());
  }
  if (root.IsNull()) return Status::Ok();
  if (!root.IsMap()) return Status::InvalidArgument("config file " + path + " is not a mapping");
  for (const auto& kv : root) {
    std::string key = kv.first.as<std::string>();
    std::string value;
    if (kv.second.IsSequence()) {
      for (const auto& item : kv.second) {
        if (!value.empty()) value += ",";
        value += item.as<std::string>();
      }
    } else if (kv.second.IsScalar()) {
      value = kv.second.as<std::string>();
    } else if (!kv.second.IsNull()) {
      return Status::InvalidArgument("config file " + path + ": setting " + key +
                                     " must be a scalar or a list");
    }
    // Chroma's config file calls the listen address listen_address.
    if (key == "listen_address") key = "host";
    RETURN_IF_ERROR(ApplySetting(key, value, "file", config).WithContext("config file " + path));
  }
  return Status::Ok();
}

Status ApplyEnvironment(const std::map<std::string, std::string>& env, Config* config) {
  for (const auto& s : Settings()) {
    const char* name = s.env;
    auto it = env.find(name);
    if (it == env.end() && s.env_alias) it = env.find(name = s.env_alias);
    if (it == env.end()) continue;
    RETURN_IF_ERROR(ApplySetting(s.key, it->second, "env", config)
                        .WithContext(std::string("environment variable ") + name));
  }
  return Status::Ok();
}

Status Validate(const Config& c) {
  if (c.port < 0 || c.port > 65535) {
    return Status::InvalidArgument("port must be between 0 and 65535, got " +
                                   std::to_string(c.port));
  }
  if (c.max_payload_size_bytes < 1024) {
    return Status::InvalidArgument("max_payload_size_bytes must be at least 1024, got " +
                                   std::to_string(c.max_payload_size_bytes));
  }
  if (c.max_batch_size < 1) {
    return Status::InvalidArgument("max_batch_size must be at least 1, got " +
                                   std::to_string(c.max_batch_size));
  }
  if (c.io_threads < 0 || c.io_threads > 256) {
    return Status::InvalidArgument("io_threads must be between 0 and 256, got " +
                                   std::to_string(c.io_threads));
  }
  if (c.worker_threads < 1 || c.worker_threads > 1024) {
    return Status::InvalidArgument("worker_threads must be between 1 and 1024, got " +
                                   std::to_string(c.worker_threads));
  }
  if (c.cache_memory_limit_bytes < 0) {
    return Status::InvalidArgument("cache_memory_limit_bytes must not be negative, got " +
                                   std::to_string(c.cache_memory_limit_bytes));
  }
  if (c.max_concurrent_requests < 1) {
    return Status::InvalidArgument("max_concurrent_requests must be at least 1, got " +
                                   std::to_string(c.max_concurrent_requests));
  }
  if (c.max_pending_write_bytes < 1024) {
    return Status::InvalidArgument("max_pending_write_bytes must be at least 1024, got " +
                                   std::to_string(c.max_pending_write_bytes));
  }
  if (c.request_timeout_seconds < 1) {
    return Status::InvalidArgument("request_timeout_seconds must be at least 1, got " +
                                   std::to_string(c.request_timeout_seconds));
  }
  if (c.freshness_ms < -1) {
    return Status::InvalidArgument("freshness_ms must be -1, 0 or positive, got " +
                                   std::to_string(c.freshness_ms));
  }
  if (c.freshness_window_ms < 0) {
    return Status::InvalidArgument("freshness_window_ms must not be negative, got " +
                                   std::to_string(c.freshness_window_ms));
  }
  if (c.freshness_full_scan_seconds < 0) {
    return Status::InvalidArgument("freshness_full_scan_seconds must not be negative, got " +
                                   std::to_string(c.freshness_full_scan_seconds));
  }
  if (c.indexer_threads < 0) {
    return Status::InvalidArgument("indexer_threads must not be negative, got " +
                                   std::to_string(c.indexer_threads));
  }
  if (c.index_snapshot_min_records < 0) {
    return Status::InvalidArgument("index_snapshot_min_records must not be negative, got " +
                                   std::to_string(c.index_snapshot_min_records));
  }
  if (c.instance_id < -1 || c.instance_id > 255) {
    return Status::InvalidArgument(
        "instance_id must be between 0 and 255 (or -1 for random), "
        "got " +
        std::to_string(c.instance_id));
  }
  if (c.log_format != "text" && c.log_format != "json") {
    return Status::InvalidArgument("log_format must be text or json, got '" + c.log_format + "'");
  }
  if (!c.clickhouse_cluster.empty() && c.clickhouse_url.empty()) {
    return Status::InvalidArgument(
        "clickhouse_cluster needs clickhouse_url (the embedded ClickHouse is a single node)");
  }
  if (c.persist_path.empty() && c.clickhouse_url.empty()) {
    return Status::InvalidArgument("persist_path must not be empty with the embedded ClickHouse");
  }
  return Status::Ok();
}

std::map<std::string, std::string> CurrentEnvironment() {
  std::map<std::string, std::string> env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv(*e);
    size_t eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  return env;
}

}  // namespace chromahouse
