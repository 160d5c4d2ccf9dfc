#include <curl/curl.h>

#include <chrono>
#include <thread>

#include "common/log.h"
#include "common/metrics.h"
#include "storage/clickhouse/sql_transport.h"

namespace chromahouse {
namespace {

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
};

// Receives the response body: kept whole, or (streaming, HTTP 200) handed to the caller.
struct Sink {
  CURL* curl = nullptr;
  std::string* body = nullptr;
  const SqlTransport::ChunkFn* on_chunk = nullptr;
  Status chunk_status;
  size_t delivered = 0;
};

size_t ReceiveBody(char* data, size_t size, size_t nmemb, void* user) {
  auto* sink = static_cast<Sink*>(user);
  const size_t n = size * nmemb;
  if (sink->on_chunk) {
    long status = 0;
    curl_easy_getinfo(sink->curl, CURLINFO_RESPONSE_CODE, &status);
    if (status == 200) {
      sink->delivered += n;
      sink->chunk_status = (*sink->on_chunk)(std::string_view(data, n));
      return sink->chunk_status.ok() ? n : 0;  // 0 aborts the transfer
    }
  }
  sink->body->append(data, n);
  return n;
}

bool IsConnectionError(CURLcode code) {
  switch (code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_OPERATION_TIMEDOUT: return true;
    default: return false;
  }
}

// ClickHouse puts "Code: N, e.displayText() = DB::Exception: …" in error bodies; keep it short.
std::string TrimMessage(std::string text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  if (text.size() > 2000) text.resize(2000);
  return text;
}

}  // namespace

struct CurlTransport::Handle {
  CURL* curl = nullptr;
};

CurlTransport::CurlTransport(CurlTransportOptions options) : options_(std::move(options)) {
  static CurlGlobal global;
  // A comma-separated list: replicas to fail over between.
  size_t pos = 0;
  while (pos <= options_.url.size()) {
    size_t end = options_.url.find(',', pos);
    if (end == std::string::npos) end = options_.url.size();
    std::string u = options_.url.substr(pos, end - pos);
    u.erase(0, u.find_first_not_of(' '));
    while (!u.empty() && (u.back() == '/' || u.back() == ' ')) u.pop_back();
    if (!u.empty()) urls_.push_back(std::move(u));
    pos = end + 1;
  }
  if (urls_.empty()) urls_.push_back("");
}

CurlTransport::~CurlTransport() {
  for (Handle* h : idle_) {
    curl_easy_cleanup(h->curl);
    delete h;
  }
}

CurlTransport::Handle* CurlTransport::Acquire() {
  {
    MutexLock lock(mu_);
    if (!idle_.empty()) {
      Handle* h = idle_.back();
      idle_.pop_back();
      return h;
    }
  }
  auto* h = new Handle;
  h->curl = curl_easy_init();
  return h;
}

void CurlTransport::Release(Handle* handle) {
  MutexLock lock(mu_);
  idle_.push_back(handle);
}

Result<std::string> CurlTransport::Execute(std::string_view kind, std::string_view sql,
                                           std::string_view body, int timeout_ms) {
  return Perform(kind, sql, body, nullptr, timeout_ms);
}

Status CurlTransport::ExecuteStreaming(std::string_view kind, std::string_view sql,
                                       const ChunkFn& on_chunk, int timeout_ms,
                                       bool self_checking) {
  return Perform(kind, sql, {}, &on_chunk, timeout_ms, self_checking).status();
}

Result<std::string> CurlTransport::Perform(std::string_view kind, std::string_view sql,
                                           std::string_view body, const ChunkFn* on_chunk,
                                           int timeout_ms, bool self_checking) {
  const auto started = std::chrono::steady_clock::now();
  // The statement goes in the URL when there is a data body, otherwise in the body.
  Handle* h = Acquire();
  CURL* curl = h->curl;
  std::string url = "/?";
  char* user = curl_easy_escape(curl, options_.user.data(), static_cast<int>(options_.user.size()));
  url += "user=";
  url += user;
  curl_free(user);
  if (!options_.password.empty()) {
    char* pw = curl_easy_escape(curl, options_.password.data(),
                                static_cast<int>(options_.password.size()));
    url += "&password=";
    url += pw;
    curl_free(pw);
  }
  url += "&output_format_json_quote_64bit_integers=0";
  // Results are buffered in ClickHouse until the query ends, so that an error cannot arrive as
  // HTTP 200 in the middle of a streamed result. INSERTs (which carry a data body) return
  // nothing, and waiting costs them a few milliseconds each. Results whose reader checks their
  // completeness itself stream at once.
  if (body.empty() && !self_checking) url += "&wait_end_of_query=1";
  std::string_view post = body;
  if (!body.empty()) {
    char* q = curl_easy_escape(curl, sql.data(), static_cast<int>(sql.size()));
    url += "&query=";
    url += q;
    curl_free(q);
  } else {
    post = sql;
  }

  std::string response;
  long http_status = 0;
  CURLcode rc = CURLE_OK;
  int backoff = options_.retry_backoff_ms;
  Sink sink;
  sink.curl = curl;
  sink.body = &response;
  sink.on_chunk = on_chunk;
  const bool schema_change =
      kind == "migration" || kind == "create database" || kind == "create table" || kind == "reset";
  const int limit_ms = timeout_ms > 0              ? timeout_ms
                       : kind == "ping"            ? options_.ping_timeout_ms
                       : on_chunk || schema_change ? options_.request_timeout_ms
                                                   : options_.statement_timeout_ms;
  // Every attempt goes to the node that answered last; on a connection failure the next
  // attempt goes to the next node of the list (without waiting while some are untried).
  const size_t first_node = active_.load();
  size_t node = first_node;
  for (int attempt = 1; attempt <= options_.max_attempts; ++attempt) {
    response.clear();
    curl_easy_reset(curl);
    node = (first_node + static_cast<size_t>(attempt - 1)) % urls_.size();
    const std::string full_url = urls_[node] + url;
    curl_easy_setopt(curl, CURLOPT_URL, full_url.c_str());
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, post.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(post.size()));
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, ReceiveBody);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &sink);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, long(options_.connect_timeout_ms));
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, long(limit_ms));
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TCP_NODELAY, 1L);
    struct curl_slist* headers = curl_slist_append(nullptr, "Expect:");
    headers = curl_slist_append(headers, "Content-Type: application/octet-stream");
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    rc = curl_easy_perform(curl);
    curl_slist_free_all(headers);
    if (rc == CURLE_OK) {
      curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &http_status);
      if (node != first_node) {
        active_.store(node);
        LOG_WARN("ClickHouse: now using {} ({} did not answer)", urls_[node], urls_[first_node]);
      }
      break;
    }
    // A streamed result cannot be taken back: retry only while nothing was delivered.
    if (!IsConnectionError(rc) || attempt == options_.max_attempts || sink.delivered > 0) break;
    // A time-out after the connection was made means the node took the statement and hung:
    // trying again would only multiply the wait (the caller answers 503).
    if (rc == CURLE_OPERATION_TIMEDOUT) {
      long sent = 0;
      curl_easy_getinfo(curl, CURLINFO_REQUEST_SIZE, &sent);
      if (sent > 0) break;
    }
    LOG_DEBUG("clickhouse {}: {} at {} (attempt {}), retrying", kind, curl_easy_strerror(rc),
              urls_[node], attempt);
    if (static_cast<size_t>(attempt) % urls_.size() == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(backoff));
      backoff *= 2;
    }
  }
  Release(h);
  Metrics()
      .GetHistogram("chromahouse_clickhouse_request_seconds",
                    "Time of ClickHouse HTTP requests by kind, retries included",
                    {{"kind", std::string(kind)}}, Histogram::LatencyBuckets())
      .Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count());
  if (rc != CURLE_OK || http_status != 200) {
    Metrics()
        .GetCounter("chromahouse_clickhouse_errors_total",
                    "ClickHouse requests that failed (unreachable or an error answer)",
                    {{"kind", std::string(kind)}})
        .Add();
  }

  if (rc == CURLE_WRITE_ERROR && !sink.chunk_status.ok()) return sink.chunk_status;
  if (rc != CURLE_OK) {
    std::string msg = "ClickHouse at " + urls_[node] + " is unavailable (" + std::string(kind) +
                      "): " + curl_easy_strerror(rc);
    if (options_.log_errors) LOG_WARN("{}", msg);
    return Status::Unavailable(std::move(msg));
  }
  if (http_status != 200) {
    std::string msg = "ClickHouse error (" + std::string(kind) + ", HTTP " +
                      std::to_string(http_status) + "): " + TrimMessage(response);
    if (options_.log_errors) LOG_ERROR("{}", msg);
    // 503 from ClickHouse (or its proxy) means "try again later".
    if (http_status == 503) return Status::Unavailable(std::move(msg));
    return Status::Internal(std::move(msg));
  }
  return response;
}

}  // namespace chromahouse
