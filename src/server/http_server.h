// HttpServer: HTTP/1.1 with keep-alive on Boost.Beast.
//
// `io_threads` threads run the network I/O (accept, read, write); each complete request is
// handed to a pool of `worker_threads` threads that run the handler (which may block on
// ClickHouse), and the response is written back on the connection's I/O thread. A body over
// `max_body_bytes` is answered with 413 and the connection is closed. Beyond
// `max_concurrent_requests` requests answer 429 (with Retry-After) without being queued.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>

#include "api/http_types.h"
#include "common/status.h"

namespace chromahouse {

struct HttpServerOptions {
  std::string host = "127.0.0.1";
  int port = 8000;  // 0 = any free port (see port())
  int io_threads = 1;
  int worker_threads = 16;
  int64_t max_body_bytes = 40 * 1024 * 1024;
  int idle_timeout_seconds = 60;
  // Back-pressure: requests beyond this many being handled or queued answer 429 at once; a
  // request that waited longer than `queue_timeout_seconds` for a worker answers 503.
  int max_concurrent_requests = 256;
  int queue_timeout_seconds = 60;
  // Stop() waits this long for requests under way to be answered.
  int shutdown_timeout_seconds = 25;
};

class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;
  // Called after each response: request, response status, duration in microseconds.
  using AccessLog = std::function<void(const HttpRequest&, int, int64_t)>;

  HttpServer(HttpServerOptions options, Handler handler, AccessLog access_log);
  ~HttpServer();

  // Binds and starts serving; fails with a message naming the address when it cannot bind.
  Status Start();
  // Stops accepting, closes idle connections, lets requests under way finish and their
  // responses be written (up to shutdown_timeout_seconds), joins all threads.
  void Stop();
  int port() const { return bound_port_; }
  // Requests being handled or waiting for a worker.
  int in_flight() const;

  struct Impl;  // public so that the connection code in the .cc can name it

 private:
  std::unique_ptr<Impl> impl_;
  int bound_port_ = 0;
};

}  // namespace chromahouse
