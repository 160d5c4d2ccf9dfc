#include "config/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <optional>
#include <type_traits>

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
      {"host", "CHROMA_HOST", "--host", "address to listen on", &Config::host, {}},
      {"port", "CHROMA_PORT", "--port", "HTTP port", &Config::port, {0, 65535}},
      {"persist_path",
       "CHROMA_PERSIST_PATH",
       "--path",
       "data directory (embedded ClickHouse data, lock file)",
       &Config::persist_path,
       {}},
      {"allow_reset",
       "CHROMA_ALLOW_RESET",
       "--allow-reset",
       "enable POST /api/v2/reset",
       &Config::allow_reset,
       {}},
      {"console",
       "CHROMAHOUSE_CONSOLE",
       "--console",
       "serve the web console at /console/ (true or false)",
       &Config::console,
       {}},
      {"console_dir",
       "CHROMAHOUSE_CONSOLE_DIR",
       "--console-dir",
       "serve the console's files from this folder instead of the copy built into the binary "
       "(for working on the console); empty = the built-in copy",
       &Config::console_dir,
       {}},
      {"cors_allow_origins",
       "CHROMA_CORS_ALLOW_ORIGINS",
       "--cors-allow-origins",
       "allowed CORS origins (JSON list or comma-separated; \"*\" for any); empty = CORS off",
       &Config::cors_allow_origins,
       {}},
      {"max_payload_size_bytes",
       "CHROMA_MAX_PAYLOAD_SIZE_BYTES",
       "--max-payload-size-bytes",
       "largest accepted request body (413 above)",
       &Config::max_payload_size_bytes,
       {1024, kNoMax}},
      {"max_batch_size",
       "CHROMAHOUSE_MAX_BATCH_SIZE",
       "--max-batch-size",
       "largest record batch, reported by pre-flight-checks",
       &Config::max_batch_size,
       {1, kNoMax}},
      {"io_threads",
       "CHROMAHOUSE_IO_THREADS",
       "--io-threads",
       "threads for network I/O (0 = number of cores)",
       &Config::io_threads,
       {0, 256}},
      {"worker_threads",
       "CHROMAHOUSE_WORKER_THREADS",
       "--worker-threads",
       "threads that run request handlers",
       &Config::worker_threads,
       {1, 1024}},
      {"clickhouse_url",
       "CHROMAHOUSE_CLICKHOUSE_URL",
       "--clickhouse-url",
       "external ClickHouse HTTP endpoint, or a comma-separated list of replicas to fail over "
       "between; empty = start an embedded ClickHouse under the data directory",
       &Config::clickhouse_url,
       {}},
      {"clickhouse_user",
       "CHROMAHOUSE_CLICKHOUSE_USER",
       "--clickhouse-user",
       "ClickHouse user",
       &Config::clickhouse_user,
       {}},
      {"clickhouse_password",
       "CHROMAHOUSE_CLICKHOUSE_PASSWORD",
       "--clickhouse-password",
       "ClickHouse password (never logged)",
       &Config::clickhouse_password,
       {},
       nullptr,
       true},
      {"clickhouse_database",
       "CHROMAHOUSE_CLICKHOUSE_DATABASE",
       "--clickhouse-database",
       "ClickHouse database that holds chromahouse's tables",
       &Config::clickhouse_database,
       {}},
      {"clickhouse_cluster",
       "CHROMAHOUSE_CLICKHOUSE_CLUSTER",
       "--clickhouse-cluster",
       "a cluster of the ClickHouse servers' remote_servers: tables are created ON CLUSTER as "
       "ReplicatedReplacingMergeTree (needs clickhouse_url; list every replica there, "
       "comma-separated, to fail over)",
       &Config::clickhouse_cluster,
       {}},
      {"clickhouse_binary",
       "CHROMAHOUSE_CLICKHOUSE_BINARY",
       "--clickhouse-binary",
       "clickhouse-server executable for the embedded ClickHouse",
       &Config::clickhouse_binary,
       {}},
      {"catalog_url",
       "CHROMAHOUSE_CATALOG_URL",
       "--catalog-url",
       "PostgreSQL that keeps the catalog (tenants, databases, collections), e.g. "
       "postgresql://user:password@host:5432/chromahouse; needed by every instance of a "
       "deployment of several; empty = the catalog is kept in ClickHouse (one instance only; "
       "never logged)",
       &Config::catalog_url,
       {},
       nullptr,
       true},
      {"freshness_ms",
       "CHROMAHOUSE_FRESHNESS_MS",
       "--freshness-ms",
       "how stale data may be relative to writes by other instances on the same ClickHouse, in "
       "ms (-1 = never re-read: a single instance; 0 = check ClickHouse before every request)",
       &Config::freshness_ms,
       {-1, kNoMax}},
      {"freshness_window_ms",
       "CHROMAHOUSE_FRESHNESS_WINDOW_MS",
       "--freshness-window-ms",
       "how far behind the newest version seen a refresh looks again (writes committed late)",
       &Config::freshness_window_ms,
       {0, kNoMax}},
      {"freshness_full_scan_seconds",
       "CHROMAHOUSE_FRESHNESS_FULL_SCAN_SECONDS",
       "--freshness-full-scan-seconds",
       "how often a refresh compares every (id, version) of a collection, for rows that reached "
       "ClickHouse later than the window (replicas catching up); 0 = never",
       &Config::freshness_full_scan_seconds,
       {0, kNoMax}},
      {"indexer_threads",
       "CHROMAHOUSE_INDEXER_THREADS",
       "--indexer-threads",
       "threads that build a collection's HNSW graph while many records wait for it (a load "
       "without a snapshot, a large ingest); 0 = one per core",
       &Config::indexer_threads,
       {0, 1024}},
      {"index_snapshot_min_records",
       "CHROMAHOUSE_INDEX_SNAPSHOT_MIN_RECORDS",
       "--index-snapshot-min-records",
       "collections with at least this many records keep a snapshot of their HNSW graph in "
       "ClickHouse (rewritten after 20% of the records changed), so that loading them does not "
       "rebuild the graph; 0 = write none",
       &Config::index_snapshot_min_records,
       {0, kNoMax}},
      {"instance_id",
       "CHROMAHOUSE_INSTANCE_ID",
       "--instance-id",
       "0-255, the low bits of every version this instance writes (-1 = random); give each "
       "instance its own",
       &Config::instance_id,
       {-1, 255}},
      {"cache_memory_limit_bytes",
       "CHROMAHOUSE_CACHE_MEMORY_LIMIT_BYTES",
       "--cache-memory-limit-bytes",
       "memory for loaded collections; least recently used ones are evicted past it (0 = half "
       "of physical memory)",
       &Config::cache_memory_limit_bytes,
       {0, kNoMax}},
      {"max_concurrent_requests",
       "CHROMAHOUSE_MAX_CONCURRENT_REQUESTS",
       "--max-concurrent-requests",
       "requests handled or waiting at once; more answer 429 (back-pressure)",
       &Config::max_concurrent_requests,
       {1, kNoMax}},
      {"max_pending_write_bytes",
       "CHROMAHOUSE_MAX_PENDING_WRITE_BYTES",
       "--max-pending-write-bytes",
       "request bytes of writes waiting for their ClickHouse insert; more answer 429",
       &Config::max_pending_write_bytes,
       {1024, kNoMax}},
      {"request_timeout_seconds",
       "CHROMAHOUSE_REQUEST_TIMEOUT_SECONDS",
       "--request-timeout-seconds",
       "a request that waited this long for a worker answers 503 instead of running",
       &Config::request_timeout_seconds,
       {1, kNoMax}},
      {"auth_provider",
       "CHROMA_SERVER_AUTHN_PROVIDER",
       "--auth-provider",
       "\"token\" or \"basic\" (Chroma's provider class names also accepted); empty = no "
       "authentication",
       &Config::auth_provider,
       {},
       "CHROMA_SERVER_AUTH_PROVIDER",
       false},
      {"auth_credentials",
       "CHROMA_SERVER_AUTHN_CREDENTIALS",
       "--auth-credentials",
       "token auth: the one accepted token; basic auth: htpasswd lines user:bcrypt-hash (never "
       "logged)",
       &Config::auth_credentials,
       {},
       "CHROMA_SERVER_AUTH_CREDENTIALS",
       true},
      {"auth_credentials_file",
       "CHROMA_SERVER_AUTHN_CREDENTIALS_FILE",
       "--auth-credentials-file",
       "users file: YAML `users: [{id, tenant, databases, tokens, password}]` or an htpasswd "
       "file (bcrypt)",
       &Config::auth_credentials_file,
       {},
       "CHROMA_SERVER_AUTH_CREDENTIALS_FILE",
       false},
      {"auth_token_transport_header",
       "CHROMA_AUTH_TOKEN_TRANSPORT_HEADER",
       "--auth-token-transport-header",
       "where tokens are read: Authorization (Bearer) or X-Chroma-Token; empty = both",
       &Config::auth_token_transport_header,
       {},
       "CHROMA_SERVER_AUTH_TOKEN_TRANSPORT_HEADER",
       false},
      {"log_level",
       "CHROMAHOUSE_LOG_LEVEL",
       "--log-level",
       "debug, info, warn or error",
       &Config::log_level,
       {}},
      {"log_format",
       "CHROMAHOUSE_LOG_FORMAT",
       "--log-format",
       "text, or json (one JSON object per line)",
       &Config::log_format,
       {}},
  };
  return kSettings;
}

Status ApplySetting(const std::string& key, const std::string& value, const std::string& source,
                    Config* c) {
  const auto& settings = Settings();
  auto it = std::find_if(settings.begin(), settings.end(),
                         [&key](const SettingInfo& s) { return key == s.key; });
  if (it == settings.end()) {
    return Status::InvalidArgument("unknown setting '" + key + "' (from " + source + ")");
  }
  Status applied = std::visit(
      [&](auto member) -> Status {
        using T = std::remove_reference_t<decltype(c->*member)>;
        if constexpr (std::is_same_v<T, std::string>) {
          c->*member = value;
        } else if constexpr (std::is_same_v<T, bool>) {
          ASSIGN_OR_RETURN(c->*member, ParseBool(key, value));
        } else if constexpr (std::is_same_v<T, int>) {
          ASSIGN_OR_RETURN(int64_t v, ParseInt(key, value));
          // Beyond int: kept out of range (Validate names the setting), never wrapped.
          c->*member = static_cast<int>(std::clamp<int64_t>(v, std::numeric_limits<int>::min(),
                                                            std::numeric_limits<int>::max()));
        } else if constexpr (std::is_same_v<T, int64_t>) {
          ASSIGN_OR_RETURN(c->*member, ParseInt(key, value));
        } else {
          c->*member = ParseList(value);
        }
        return Status::Ok();
      },
      it->field);
  RETURN_IF_ERROR(applied);
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
  for (const SettingInfo& s : Settings()) {
    std::optional<int64_t> value;
    if (const auto* m = std::get_if<int Config::*>(&s.field)) value = c.**m;
    if (const auto* m = std::get_if<int64_t Config::*>(&s.field)) value = c.**m;
    if (!value || (*value >= s.range.min && *value <= s.range.max)) continue;
    std::string rule;
    if (s.range.max != kNoMax) {
      rule =
          "must be between " + std::to_string(s.range.min) + " and " + std::to_string(s.range.max);
    } else if (s.range.min == 0) {
      rule = "must not be negative";
    } else {
      rule = "must be at least " + std::to_string(s.range.min);
    }
    return Status::InvalidArgument(std::string(s.key) + " " + rule + ", got " +
                                   std::to_string(*value));
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
