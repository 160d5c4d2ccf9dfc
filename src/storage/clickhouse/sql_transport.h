// SqlTransport: sends one ClickHouse statement (plus an optional data body, e.g. the rows of an
// INSERT … FORMAT x) and returns the response body. CurlTransport speaks ClickHouse's HTTP
// interface; tests may plug in other engines (see tests/integration).
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "common/mutex.h"
#include "common/status.h"

namespace chromahouse {

class SqlTransport {
 public:
  virtual ~SqlTransport() = default;
  // `kind` names the statement for logs and errors ("create table", "load collections", …).
  // The statement must qualify table names with their database.
  // `timeout_ms` > 0 bounds this statement's time (else the transport's own limits apply).
  virtual Result<std::string> Execute(std::string_view kind, std::string_view sql,
                                      std::string_view body = {}, int timeout_ms = 0) = 0;
  // Where the statements go, for logs ("http://127.0.0.1:8123").
  virtual std::string Endpoint() const = 0;

  // Like Execute for a statement without a data body, but hands the result to `on_chunk` piece
  // by piece as it arrives instead of holding it whole (for loading large collections). A
  // non-OK status from `on_chunk` aborts the statement and is returned. The default
  // implementation delivers the whole result as one chunk.
  // `timeout_ms` > 0 bounds this statement's time (else the transport's own limit applies).
  // `self_checking`: the caller detects a result cut short by itself (it knows the length and
  // a checksum), so ClickHouse may send the result as it is produced; otherwise ClickHouse
  // holds the whole result until the query ends (an error cannot then arrive as a 200 with a
  // truncated body), and a large result passes through a temporary file on its side first.
  using ChunkFn = std::function<Status(std::string_view chunk)>;
  virtual Status ExecuteStreaming(std::string_view kind, std::string_view sql,
                                  const ChunkFn& on_chunk, int timeout_ms = 0,
                                  bool self_checking = false) {
    (void)self_checking;
    ASSIGN_OR_RETURN(std::string result, Execute(kind, sql, {}, timeout_ms));
    return on_chunk(result);
  }
};

struct CurlTransportOptions {
  // One HTTP endpoint, or a comma-separated list of replicas to fail over between.
  std::string url = "http://127.0.0.1:8123";
  std::string user = "default";
  std::string password;
  int connect_timeout_ms = 2000;
  // Time limits: a streamed read (loading a collection) may take long; any other statement
  // (an INSERT, a catalog read) answers within `statement_timeout_ms` or fails as unavailable,
  // so that a hung ClickHouse turns into 503s instead of stuck requests; schema changes (which
  // may wait for every node of a cluster) get `request_timeout_ms`; the health probe (kind
  // "ping") gets `ping_timeout_ms`.
  int request_timeout_ms = 300000;
  int statement_timeout_ms = 10000;
  int ping_timeout_ms = 2000;
  // Attempts for connection-level failures (refused, reset, nothing received); waits double
  // from `retry_backoff_ms` between them.
  int max_attempts = 4;
  int retry_backoff_ms = 50;
  // Off for probes that expect failures (e.g. waiting for a server to start).
  bool log_errors = true;
};

class CurlTransport : public SqlTransport {
 public:
  explicit CurlTransport(CurlTransportOptions options);
  ~CurlTransport() override;
  CurlTransport(const CurlTransport&) = delete;
  CurlTransport& operator=(const CurlTransport&) = delete;

  Result<std::string> Execute(std::string_view kind, std::string_view sql,
                              std::string_view body = {}, int timeout_ms = 0) override;
  std::string Endpoint() const override { return options_.url; }
  Status ExecuteStreaming(std::string_view kind, std::string_view sql, const ChunkFn& on_chunk,
                          int timeout_ms = 0, bool self_checking = false) override;

 private:
  // One HTTP request with retries on connection errors (only while nothing was delivered).
  Result<std::string> Perform(std::string_view kind, std::string_view sql, std::string_view body,
                              const ChunkFn* on_chunk, int timeout_ms = 0,
                              bool self_checking = false);
  struct Handle;
  Handle* Acquire();
  void Release(Handle* handle);

  CurlTransportOptions options_;
  std::vector<std::string> urls_;  // the endpoints of options_.url
  std::atomic<size_t> active_{0};  // the endpoint that answered last
  Mutex mu_;
  std::vector<Handle*> idle_ GUARDED_BY(mu_);  // keep-alive connections ready for reuse
};

}  // namespace chromahouse
