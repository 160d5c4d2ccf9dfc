// Config: every setting of the server, with its default, in one place.
//
// Sources, later ones win: built-in defaults < config file (YAML, --config or
// CHROMAHOUSE_CONFIG) < environment variables < command-line flags. Environment variables use
// Chroma's names where Chroma has the setting (CHROMA_HOST, CHROMA_PORT, CHROMA_ALLOW_RESET,
// CHROMA_CORS_ALLOW_ORIGINS, …) and CHROMAHOUSE_* otherwise. The README's configuration table is
// generated from kSettings (keep them in step).
#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <string>
#include <variant>
#include <vector>

#include "common/status.h"

namespace chromahouse {

struct Config {
  // HTTP server
  std::string host = "127.0.0.1";
  int port = 8000;
  bool allow_reset = false;
  bool console = true;      // the web console at /console/
  std::string console_dir;  // serve the console from this folder (development); empty = embedded
  std::vector<std::string> cors_allow_origins;  // empty = CORS off
  int64_t max_payload_size_bytes = 40 * 1024 * 1024;
  int64_t max_batch_size = 5461;  // reported by pre-flight-checks
  int io_threads = 0;             // 0 = number of cores
  int worker_threads = 16;        // request handlers (may block on ClickHouse)

  // Data and ClickHouse
  std::string persist_path = "./chroma-data";  // embedded ClickHouse data lives here
  std::string clickhouse_url;                  // empty = start an embedded ClickHouse
  std::string clickhouse_user = "default";
  std::string clickhouse_password;
  std::string clickhouse_database = "chromahouse";
  std::string clickhouse_cluster;  // non-empty: replicated tables created ON CLUSTER
  std::string clickhouse_binary = "clickhouse-server";  // for the embedded ClickHouse
  std::string catalog_url;  // PostgreSQL for the catalog; empty = ClickHouse (one instance)

  // Several instances on one ClickHouse
  int64_t freshness_ms = 100;          // -1 = never re-read (one instance), 0 = before every read
  int64_t freshness_window_ms = 2000;  // how far behind the newest version a refresh re-reads
  int64_t freshness_full_scan_seconds = 30;    // compare every (id, version) this often; 0 = never
  int indexer_threads = 0;                     // bulk graph building; 0 = one per core
  int64_t index_snapshot_min_records = 20000;  // graphs of collections this big are snapshotted
  int instance_id = -1;                        // low 8 bits of every version; -1 = random at start

  // Memory
  int64_t cache_memory_limit_bytes = 0;  // loaded collections; 0 = half of physical memory

  // Limits and back-pressure
  int max_concurrent_requests = 256;  // requests being handled or queued; 429 above
  int64_t max_pending_write_bytes = 512 * 1024 * 1024;  // bodies of queued writes; 429 above
  int request_timeout_seconds = 60;  // a request still queued after this answers 503

  // Authentication (Chroma's Python server settings, API.md §9.2)
  std::string auth_provider;                // "", "token" or "basic" (or Chroma's class names)
  std::string auth_credentials;             // a token, or htpasswd lines (never logged)
  std::string auth_credentials_file;        // users YAML (tokens/passwords) or htpasswd file
  std::string auth_token_transport_header;  // "" = both; "Authorization" or "X-Chroma-Token"

  // Logging
  std::string log_level = "info";
  std::string log_format = "text";  // "text" or "json"

  // Where each value came from ("default", "file", "env", "flag"), for the start-up banner.
  std::map<std::string, std::string> sources;
};

// The Config member a setting sets; its type decides how text is parsed (strings as they are,
// bools true/false/1/0/yes/no/on/off, integers in decimal, lists as a JSON list or
// comma-separated).
using SettingField = std::variant<std::string Config::*, bool Config::*, int Config::*,
                                  int64_t Config::*, std::vector<std::string> Config::*>;

// The values an integer setting accepts (inclusive; Validate checks them).
struct SettingRange {
  int64_t min = std::numeric_limits<int64_t>::min();
  int64_t max = std::numeric_limits<int64_t>::max();
};
inline constexpr int64_t kNoMax = std::numeric_limits<int64_t>::max();

// One entry per setting, the one place a setting is described: key (YAML), environment
// variable, flag, description (the flag's --help and the README's configuration table), the
// member it sets and, for integers, its range. Parsing (file, environment, flags), validation
// and --help all come from this table.
struct SettingInfo {
  const char* key;
  const char* env;
  const char* flag;
  const char* description;
  SettingField field;
  SettingRange range;
  const char* env_alias = nullptr;  // an older name of the environment variable
  bool secret = false;              // never printed
};
const std::vector<SettingInfo>& Settings();

// Applies a YAML config file's keys (unknown keys are an error naming the key).
Status ApplyConfigFile(const std::string& path, Config* config);
// Applies environment variables from `env` (name → value).
Status ApplyEnvironment(const std::map<std::string, std::string>& env, Config* config);
// Applies one setting by key from text (used by file, env and flags alike).
Status ApplySetting(const std::string& key, const std::string& value, const std::string& source,
                    Config* config);
// Checks every integer setting's range (from the table) and the combinations of settings.
Status Validate(const Config& config);

std::map<std::string, std::string> CurrentEnvironment();

}  // namespace chromahouse
