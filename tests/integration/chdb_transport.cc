#include "chdb_transport.h"

#include <unistd.h>

#include <dlfcn.h>
#include <signal.h>
#include <sys/stat.h>

#include <array>
#include <cstdint>
#include <cstdlib>
#include <type_traits>
#include <utility>
#include <vector>

#ifndef CHROMAHOUSE_SOURCE_DIR
#define CHROMAHOUSE_SOURCE_DIR ""
#endif

using chromahouse::Result;
using chromahouse::Status;

namespace {

// The parts of chDB's C API (programs/local/chdb.h, chdb >= 26.x) this file uses, declared here so
// that no chDB header is needed. Handles are opaque: `chdb_connection` is a pointer to a struct
// and chdb_connect() returns a pointer to one.
struct ChdbResult;
using ChdbConnection = void*;
struct ChdbQueryAnalysisV1 {
  uint32_t struct_size;
  uint32_t statement_count;
  uint32_t flags;
  uint32_t query_class;
};

using ConnectFn = ChdbConnection* (*)(int argc, char** argv);
using CloseConnFn = void (*)(ChdbConnection* conn);
using QueryNFn = ChdbResult* (*)(ChdbConnection conn, const char* query, size_t query_len,
                                 const char* format, size_t format_len);
using ResultBufferFn = char* (*)(ChdbResult* result);
using ResultLengthFn = size_t (*)(ChdbResult* result);
using ResultErrorFn = const char* (*)(ChdbResult* result);
using DestroyResultFn = void (*)(ChdbResult* result);
using VersionFn = const char* (*)();
using SetSignalHandlersEnabledFn = void (*)(int enabled);
using ClassifyQueryNFn = int (*)(ChdbConnection conn, const char* sql, size_t sql_len,
                                 const char* target_database, size_t target_database_len,
                                 ChdbQueryAnalysisV1* out);

bool IsFile(const std::string& path) {
  struct stat st;
  return !path.empty() && stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode);
}

std::string Trim(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\r')) {
    text.pop_back();
  }
  if (text.size() > 2000) text.resize(2000);
  return text;
}

// chdb_set_signal_handlers_enabled(0) keeps chDB from installing its crash handlers (which sleep
// for minutes before re-raising, so a crash in a test looks like a hang) but also resets the
// deadly signals to SIG_DFL, and chdb_connect() repeats that reset. Keep the host's handlers
// (gtest, sanitizers) across both calls.
class KeepHostSignalHandlers {
 public:
  KeepHostSignalHandlers() {
    for (size_t i = 0; i < kSignals.size(); ++i) sigaction(kSignals[i], nullptr, &saved_[i]);
  }
  ~KeepHostSignalHandlers() {
    for (size_t i = 0; i < kSignals.size(); ++i) sigaction(kSignals[i], &saved_[i], nullptr);
  }
  KeepHostSignalHandlers(const KeepHostSignalHandlers&) = delete;
  KeepHostSignalHandlers& operator=(const KeepHostSignalHandlers&) = delete;

 private:
  static constexpr std::array<int, 8> kSignals = {SIGABRT, SIGSEGV, SIGILL,  SIGBUS,
                                                  SIGSYS,  SIGFPE,  SIGTSTP, SIGTRAP};
  std::array<struct sigaction, kSignals.size()> saved_{};
};

}  // namespace

struct ChdbTransport::Api {
  ConnectFn connect = nullptr;
  CloseConnFn close_conn = nullptr;
  QueryNFn query_n = nullptr;
  ResultBufferFn result_buffer = nullptr;
  ResultLengthFn result_length = nullptr;
  ResultErrorFn result_error = nullptr;
  DestroyResultFn destroy_result = nullptr;
  // Optional (absent from older libchdb builds).
  VersionFn version = nullptr;
  SetSignalHandlersEnabledFn set_signal_handlers_enabled = nullptr;
  ClassifyQueryNFn classify_query_n = nullptr;
};

std::string FindLibChdb() {
  if (const char* env = std::getenv("CHROMAHOUSE_LIBCHDB"); env != nullptr && *env != '\0') {
    return IsFile(env) ? std::string(env) : std::string();
  }
  std::string source_dir = CHROMAHOUSE_SOURCE_DIR;
  if (source_dir.empty()) return "";
  std::string path = source_dir + "/tests/e2e/node_modules/@chdb/lib-linux-x64-gnu/libchdb.so";
  return IsFile(path) ? path : std::string();
}

Result<std::unique_ptr<ChdbTransport>> ChdbTransport::Open(const std::string& libchdb_path,
                                                           const std::string& data_path) {
  if (data_path.empty()) return Status::InvalidArgument("chDB needs a data path");
  // Never dlclose()d: the engine keeps threads running inside the library once it has started.
  // dlopen() of an already loaded path returns the same handle.
  void* lib = dlopen(libchdb_path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    const char* err = dlerror();
    return Status::Unavailable("cannot load libchdb from '" + libchdb_path +
                               "': " + (err ? err : "unknown error"));
  }

  // One Api per loaded library, alive for the rest of the process like the library itself.
  static std::mutex api_mu;
  static std::vector<std::pair<void*, const Api*>> apis;
  const Api* api = nullptr;
  {
    std::lock_guard<std::mutex> lock(api_mu);
    for (const auto& [handle, a] : apis) {
      if (handle == lib) api = a;
    }
    if (api == nullptr) {
      auto fresh = std::make_unique<Api>();
      std::string missing;
      auto need = [&](auto& fn, const char* name) {
        fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(lib, name));
        if (fn == nullptr) missing += std::string(missing.empty() ? "" : ", ") + name;
      };
      auto want = [&](auto& fn, const char* name) {
        fn = reinterpret_cast<std::remove_reference_t<decltype(fn)>>(dlsym(lib, name));
      };
      need(fresh->connect, "chdb_connect");
      need(fresh->close_conn, "chdb_close_conn");
      need(fresh->query_n, "chdb_query_n");
      need(fresh->result_buffer, "chdb_result_buffer");
      need(fresh->result_length, "chdb_result_length");
      need(fresh->result_error, "chdb_result_error");
      need(fresh->destroy_result, "chdb_destroy_query_result");
      want(fresh->version, "chdb_version");
      want(fresh->set_signal_handlers_enabled, "chdb_set_signal_handlers_enabled");
      want(fresh->classify_query_n, "chdb_classify_query_n");
      if (!missing.empty()) {
        return Status::Unavailable("'" + libchdb_path +
                                   "' lacks the chDB connection API (missing " + missing + ")");
      }
      api = fresh.release();
      apis.emplace_back(lib, api);
    }
  }

  // argv as for clickhouse-local. Query-level settings given here hold for every statement on
  // this connection (the HTTP transport passes the same one as a URL parameter).
  std::vector<std::string> args = {
      "clickhouse",
      "--path=" + data_path,
      "--output_format_json_quote_64bit_integers=0",
  };
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  ChdbConnection* conn = nullptr;
  {
    KeepHostSignalHandlers keep;
    if (api->set_signal_handlers_enabled != nullptr) api->set_signal_handlers_enabled(0);
    conn = api->connect(static_cast<int>(args.size()), argv.data());
  }
  if (conn == nullptr || *conn == nullptr) {
    return Status::Unavailable(
        "chdb_connect failed for data path '" + data_path +
        "' (libchdb serves one data path per process: destroy other ChdbTransports first)");
  }
  return std::unique_ptr<ChdbTransport>(new ChdbTransport(api, conn, data_path));
}

ChdbTransport::ChdbTransport(const Api* api, void* conn, std::string data_path)
    : api_(api), conn_(conn), data_path_(std::move(data_path)) {}

ChdbTransport::~ChdbTransport() {
  std::lock_guard<std::mutex> lock(mu_);
  // Closes this connection only. chdb_shutdown() is deliberately not called: after it the
  // library refuses new connections for the rest of the process.
  if (conn_ != nullptr) api_->close_conn(static_cast<ChdbConnection*>(conn_));
  conn_ = nullptr;
}

std::string ChdbTransport::LibraryVersion() const {
  if (api_->version == nullptr) return "";
  const char* v = api_->version();
  return v ? v : "";
}

Result<std::string> ChdbTransport::Execute(std::string_view kind, std::string_view sql,
                                           std::string_view body, int /*timeout_ms*/) {
  std::lock_guard<std::mutex> lock(mu_);
  if (conn_ == nullptr) return Status::Internal("chDB error (" + std::string(kind) + "): closed");
  ChdbConnection conn = *static_cast<ChdbConnection*>(conn_);

  // chDB runs "a; b" as two statements; ClickHouse's HTTP interface refuses that. Refuse it too,
  // so a statement that only works here cannot slip through. (Text that does not parse has a
  // count of 0 and is left for the engine to report.)
  if (api_->classify_query_n != nullptr) {
    ChdbQueryAnalysisV1 analysis{sizeof(ChdbQueryAnalysisV1), 0, 0, 0};
    if (api_->classify_query_n(conn, sql.data(), sql.size(), nullptr, 0, &analysis) == 0 &&
        analysis.statement_count > 1) {
      return Status::Internal(
          "chDB error (" + std::string(kind) +
          "): multi-statements are not allowed over HTTP: " + std::string(sql.substr(0, 200)));
    }
  }

  // The data of an INSERT … FORMAT x goes through a file (INSERT … FROM INFILE): chDB reads data
  // placed after the statement only up to the first ';' byte, which binary rows often contain.
  std::string query(sql);
  std::string data_file;
  if (!body.empty()) {
    const size_t at = query.rfind(" FORMAT ");
    if (at == std::string::npos) {
      return Status::Internal("chDB transport: a data body needs INSERT … FORMAT x: " + query);
    }
    char tmpl[] = "/tmp/chromahouse-chdb-insert-XXXXXX";
    int fd = mkstemp(tmpl);
    if (fd < 0) return Status::Internal("chDB transport: cannot create a temporary file");
    data_file = tmpl;
    size_t written = 0;
    while (written < body.size()) {
      ssize_t n = write(fd, body.data() + written, body.size() - written);
      if (n <= 0) break;
      written += static_cast<size_t>(n);
    }
    close(fd);
    if (written != body.size()) {
      unlink(data_file.c_str());
      return Status::Internal("chDB transport: cannot write " + data_file);
    }
    query.insert(at, " FROM INFILE '" + data_file + "'");
  }
  static constexpr std::string_view kDefaultFormat = "TabSeparated";  // HTTP's default
  ChdbResult* result =
      api_->query_n(conn, query.data(), query.size(), kDefaultFormat.data(), kDefaultFormat.size());
  if (result == nullptr) {
    if (!data_file.empty()) unlink(data_file.c_str());
    return Status::Internal("chDB error (" + std::string(kind) + "): no result");
  }
  Result<std::string> out = std::string();
  if (const char* err = api_->result_error(result); err != nullptr) {
    std::string message = Trim(err);
    if (message.empty()) message = "unknown error";
    out = Status::Internal("chDB error (" + std::string(kind) + "): " + message);
  } else {
    const char* buf = api_->result_buffer(result);
    size_t len = api_->result_length(result);
    out = std::string(buf != nullptr ? buf : "", buf != nullptr ? len : 0);
  }
  api_->destroy_result(result);
  if (!data_file.empty()) unlink(data_file.c_str());
  return out;
}
