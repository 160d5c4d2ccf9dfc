// ChdbTransport: a SqlTransport that runs statements in chDB (libchdb.so, ClickHouse as an
// in-process library) instead of sending them to a ClickHouse server over HTTP. Tests use it as
// the "current ClickHouse" oracle: every statement chromahouse emits must also run here.
//
// libchdb.so is loaded at run time with dlopen(), so nothing links against it and tests can skip
// themselves when it is absent (FindLibChdb() returns "").
//
// Engine limits to keep in mind (they come from libchdb, not from this class):
//  - One data path per process. Connections to the same path may coexist; opening a different
//    path fails until every earlier ChdbTransport has been destroyed.
//  - The library is never unloaded (dlclose under running engine threads would crash); loading
//    it costs ~0.1 s and opening the first connection ~0.1-0.2 s.
#pragma once

#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "common/status.h"
#include "storage/clickhouse/sql_transport.h"

// Path of libchdb.so: $CHROMAHOUSE_LIBCHDB if set (and "" if that file does not exist), else
// <repo>/tests/e2e/node_modules/@chdb/lib-linux-x64-gnu/libchdb.so where <repo> is the
// CHROMAHOUSE_SOURCE_DIR compile definition. Returns "" when the library is not there.
std::string FindLibChdb();

class ChdbTransport : public chromahouse::SqlTransport {
 public:
  // Loads `libchdb_path` and opens a connection whose databases live under `data_path` (created
  // if missing). Statements run with output_format_json_quote_64bit_integers=0, as the HTTP
  // transport requests.
  static chromahouse::Result<std::unique_ptr<ChdbTransport>> Open(const std::string& libchdb_path,
                                                                  const std::string& data_path);

  ~ChdbTransport() override;
  ChdbTransport(const ChdbTransport&) = delete;
  ChdbTransport& operator=(const ChdbTransport&) = delete;

  // Runs `sql` (one statement; several are refused, as over HTTP). A non-empty `body` is the data
  // of an `INSERT … FORMAT x` and is sent after the statement, separated by "\n". The response is
  // the statement's output in its FORMAT clause, or TabSeparated when it has none.
  chromahouse::Result<std::string> Execute(std::string_view kind, std::string_view sql,
                                           std::string_view body = {}, int timeout_ms = 0) override;

  // "chdb:<data path>".
  std::string Endpoint() const override { return "chdb:" + data_path_; }

  // Version of the loaded library as chdb_version() reports it (e.g. "26.7.3"); the ClickHouse
  // version is `SELECT version()`.
  std::string LibraryVersion() const;

 private:
  struct Api;
  ChdbTransport(const Api* api, void* conn, std::string data_path);

  const Api* api_;
  void* conn_;  // chdb_connection* (guarded by mu_)
  std::string data_path_;
  std::mutex mu_;
};
