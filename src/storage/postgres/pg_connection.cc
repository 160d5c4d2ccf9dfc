#include "storage/postgres/pg_connection.h"

#include <libpq-fe.h>

#include <charconv>
#include <cstring>

namespace chromahouse {
namespace {

std::string Trim(std::string s) {
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

}  // namespace

PgResult::PgResult(PgResult&& other) noexcept : result_(other.result_) { other.result_ = nullptr; }

PgResult& PgResult::operator=(PgResult&& other) noexcept {
  if (this != &other) {
    if (result_) PQclear(result_);
    result_ = other.result_;
    other.result_ = nullptr;
  }
  return *this;
}

PgResult::~PgResult() {
  if (result_) PQclear(result_);
}

int PgResult::rows() const { return result_ ? PQntuples(result_) : 0; }

int64_t PgResult::affected() const {
  if (!result_) return 0;
  const char* n = PQcmdTuples(result_);
  int64_t value = 0;
  std::from_chars(n, n + std::strlen(n), value);
  return value;
}

bool PgResult::IsNull(int row, int column) const { return PQgetisnull(result_, row, column) != 0; }

std::string_view PgResult::Get(int row, int column) const {
  return std::string_view(PQgetvalue(result_, row, column),
                          static_cast<size_t>(PQgetlength(result_, row, column)));
}

std::optional<std::string> PgResult::GetNullable(int row, int column) const {
  if (IsNull(row, column)) return std::nullopt;
  return std::string(Get(row, column));
}

int64_t PgResult::GetInt(int row, int column) const {
  std::string_view text = Get(row, column);
  int64_t value = 0;
  std::from_chars(text.data(), text.data() + text.size(), value);
  return value;
}

bool PgResult::GetBool(int row, int column) const { return Get(row, column) == "t"; }

Result<std::unique_ptr<PgConnection>> PgConnection::Connect(const std::string& url,
                                                            int connect_timeout_seconds,
                                                            int statement_timeout_ms) {
  // Defaults first: the URL's own parameters (expanded from `dbname`) override them.
  const std::string timeout = std::to_string(connect_timeout_seconds);
  const char* keys[] = {"connect_timeout", "application_name", "dbname", nullptr};
  const char* values[] = {timeout.c_str(), "chromahouse", url.c_str(), nullptr};
  pg_conn* conn = PQconnectdbParams(keys, values, /*expand_dbname=*/1);
  if (!conn) return Status::Unavailable("cannot connect to PostgreSQL: out of memory");
  std::unique_ptr<PgConnection> out(new PgConnection(conn));
  // Server notices (e.g. "relation … already exists, skipping") are not for the console.
  PQsetNoticeProcessor(
      conn, [](void*, const char*) {}, nullptr);
  if (PQstatus(conn) != CONNECTION_OK) {
    return Status::Unavailable("cannot connect to PostgreSQL at " + out->Endpoint() + ": " +
                               Trim(PQerrorMessage(conn)));
  }
  if (statement_timeout_ms > 0) {
    const std::string ms = std::to_string(statement_timeout_ms);
    RETURN_IF_ERROR(
        out->Exec("set time-outs", "SET statement_timeout = " + ms + "; SET lock_timeout = " + ms)
            .status());
  }
  return out;
}

PgConnection::~PgConnection() {
  if (conn_) PQfinish(conn_);
}

bool PgConnection::ok() const { return PQstatus(conn_) == CONNECTION_OK; }

std::string PgConnection::Endpoint() const {
  std::string host = PQhost(conn_) ? PQhost(conn_) : "";
  std::string port = PQport(conn_) ? PQport(conn_) : "";
  std::string db = PQdb(conn_) ? PQdb(conn_) : "";
  return host + ":" + port + "/" + db;
}

Result<PgResult> PgConnection::Exec(std::string_view kind, const std::string& sql,
                                    const Params& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
  pg_result* raw = params.empty()
                       ? PQexec(conn_, sql.c_str())
                       : PQexecParams(conn_, sql.c_str(), static_cast<int>(params.size()), nullptr,
                                      values.data(), nullptr, nullptr, /*resultFormat=*/0);
  PgResult result(raw);
  const ExecStatusType status = raw ? PQresultStatus(raw) : PGRES_FATAL_ERROR;
  if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) return result;
  std::string message =
      std::string(kind) + ": " + Trim(raw ? PQresultErrorMessage(raw) : PQerrorMessage(conn_));
  if (!ok()) {
    return Status::Unavailable("PostgreSQL at " + Endpoint() + " is unavailable (" + message + ")");
  }
  const char* state = raw ? PQresultErrorField(raw, PG_DIAG_SQLSTATE) : nullptr;
  if (state && std::strcmp(state, "23505") == 0) return Status::AlreadyExists(message);
  // 57014: statement time-out; 55P03: lock time-out; 57P01..3: the server is shutting down.
  if (state && (std::strcmp(state, "57014") == 0 || std::strcmp(state, "55P03") == 0 ||
                std::strncmp(state, "57P0", 4) == 0)) {
    return Status::Unavailable("PostgreSQL at " + Endpoint() + " did not answer in time (" +
                               message + ")");
  }
  return Status::Internal(message);
}

int PgConnection::Socket() const { return PQsocket(conn_); }

Status PgConnection::ConsumeInput() {
  if (PQconsumeInput(conn_) == 0) {
    return Status::Unavailable("PostgreSQL at " + Endpoint() +
                               " is unavailable: " + Trim(PQerrorMessage(conn_)));
  }
  return Status::Ok();
}

std::optional<std::pair<std::string, std::string>> PgConnection::NextNotification() {
  PGnotify* n = PQnotifies(conn_);
  if (!n) return std::nullopt;
  std::pair<std::string, std::string> out{n->relname ? n->relname : "", n->extra ? n->extra : ""};
  PQfreemem(n);
  return out;
}

}  // namespace chromahouse
