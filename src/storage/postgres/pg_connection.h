// PgConnection: one libpq connection, with parameterised statements whose failures are
// Status values.
//
// Errors: kUnavailable when the server cannot be reached or the connection broke (the caller
// drops the connection and connects again), or a statement ran into the statement time-out;
// kAlreadyExists for a unique violation (SQLSTATE 23505); kInternal with PostgreSQL's own
// message otherwise. Every message starts with what was being done (`kind`).
//
// Thread safety: none; one thread at a time (PostgresCatalogStore holds a lock).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

struct pg_conn;
struct pg_result;

namespace chromahouse {

// The rows of one statement (text format).
class PgResult {
 public:
  explicit PgResult(pg_result* result) : result_(result) {}
  PgResult(PgResult&&) noexcept;
  PgResult& operator=(PgResult&&) noexcept;
  ~PgResult();

  int rows() const;
  // Rows an INSERT, UPDATE or DELETE changed.
  int64_t affected() const;
  bool IsNull(int row, int column) const;
  std::string_view Get(int row, int column) const;  // "" for NULL
  std::optional<std::string> GetNullable(int row, int column) const;
  int64_t GetInt(int row, int column) const;
  bool GetBool(int row, int column) const;  // PostgreSQL's text form: "t" / "f"

 private:
  pg_result* result_;
};

class PgConnection {
 public:
  using Params = std::vector<std::optional<std::string>>;  // nullopt = SQL NULL

  // `url`: a libpq connection string or URI (postgresql://user:pass@host:port/db?…).
  // `statement_timeout_ms` bounds every statement and lock wait (0 = none).
  static Result<std::unique_ptr<PgConnection>> Connect(const std::string& url,
                                                       int connect_timeout_seconds,
                                                       int statement_timeout_ms);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  Result<PgResult> Exec(std::string_view kind, const std::string& sql, const Params& params = {});
  // False once the connection is known to be broken.
  bool ok() const;
  // "host:port/database" (no credentials).
  std::string Endpoint() const;
  // The libpq socket and pending notifications (LISTEN): Consume reads what arrived without
  // blocking; Next returns one (channel, payload) until none is left.
  int Socket() const;
  Status ConsumeInput();
  std::optional<std::pair<std::string, std::string>> NextNotification();

 private:
  explicit PgConnection(pg_conn* conn) : conn_(conn) {}
  pg_conn* conn_;
};

}  // namespace chromahouse
