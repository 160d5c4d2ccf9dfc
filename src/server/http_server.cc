#include "server/http_server.h"

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <chrono>
#include <optional>
#include <thread>
#include <vector>

#include "common/buffer_pool.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/mutex.h"
#include "server/lifo_workers.h"

namespace chromahouse {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

const char* ReasonOf(int status) {
  return http::obsolete_reason(static_cast<http::status>(status)).data();
}

// An error body in the dialect of the path (v1: Chroma's Python server names).
HttpResponse Overloaded(const std::string& path, int status, const std::string& message) {
  HttpResponse res;
  res.status = status;
  const bool v1 = path.starts_with("/api/v1");
  std::string name = status == 429 ? (v1 ? "RateLimitError" : "ChromaError") : "ChromaError";
  res.body = "{\"error\":\"" + name + "\",\"message\":\"" + message + "\"}";
  res.headers.emplace_back("chroma-trace-id", "00000000000000000000000000000000");
  res.headers.emplace_back("retry-after", "1");
  return res;
}

void CountRejected(const char* reason) {
  Metrics()
      .GetCounter("chromahouse_http_rejected_total",
                  "Requests refused by back-pressure or limits, by reason", {{"reason", reason}})
      .Add();
}

class Session;

}  // namespace

struct HttpServer::Impl {
  HttpServerOptions options;
  Handler handler;
  AccessLog access_log;
  asio::io_context ioc;
  std::optional<asio::executor_work_guard<asio::io_context::executor_type>> work;
  tcp::acceptor acceptor{ioc};
  LifoWorkers workers;
  std::vector<std::thread> io_threads;
  std::atomic<int> in_flight{0};  // requests from parse until their response is written
  std::atomic<bool> stopping{false};
  std::atomic<int> live_sessions{0};
  // Open connections, so that Stop() can close the idle ones.
  Mutex sessions_mu;
  std::vector<std::weak_ptr<Session>> sessions GUARDED_BY(sessions_mu);

  Impl(HttpServerOptions o, Handler h, AccessLog a)
      : options(std::move(o)),
        handler(std::move(h)),
        access_log(std::move(a)),
        workers(options.worker_threads) {}

  void Accept();
};

namespace {

class Session : public std::enable_shared_from_this<Session> {
 public:
  Session(tcp::socket socket, HttpServer::Impl* server)
      : stream_(std::move(socket)), server_(server) {
    server_->live_sessions.fetch_add(1);
  }
  ~Session() { server_->live_sessions.fetch_sub(1); }

  void Start() {
    // Beast reads at most the buffer's free capacity (never less than 512 bytes) per system
    // call and moves body bytes out of the buffer as they arrive, so a buffer that starts small
    // stays small: a 250 KB add body took ~500 reads of 512 bytes (~10 ms). 64 KiB per read.
    buffer_.reserve(kReadChunk);
    {
      MutexLock lock(server_->sessions_mu);
      auto& list = server_->sessions;
      std::erase_if(list, [](const std::weak_ptr<Session>& w) { return w.expired(); });
      list.push_back(weak_from_this());
    }
    DoRead();
  }

  auto executor() { return stream_.get_executor(); }

  // Shutdown (on the connection's executor): a connection waiting for a request that has not
  // started to arrive is closed; one with a request under way finishes it, and its response
  // closes the connection.
  void OnShutdown() {
    if (!reading_) return;
    beast::error_code ec;
    const bool started = (parser_ && parser_->got_some()) || buffer_.size() > 0 ||
                         stream_.socket().available(ec) > 0;
    if (!started) Close();
  }

 private:
  void DoRead() {
    reading_ = true;
    parser_.emplace();
    parser_->body_limit(static_cast<uint64_t>(server_->options.max_body_bytes));
    parser_->header_limit(64 * 1024);
    stream_.expires_after(std::chrono::seconds(server_->options.idle_timeout_seconds));
    http::async_read(
        stream_, buffer_, *parser_,
        [self = shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    reading_ = false;
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted) {
      Close();
      return;
    }
    if (ec == http::error::body_limit) {
      CountRejected("body_too_large");
      HttpResponse res;
      res.status = 413;
      res.body =
          R"({"error":"ChromaError","message":"Failed to buffer the request body: length limit exceeded"})";
      res.headers.emplace_back("chroma-trace-id", "00000000000000000000000000000000");
      HttpRequest req;
      req.method = std::string(parser_->get().method_string());
      req.path = std::string(parser_->get().target());
      Write(req, std::move(res), /*keep_alive=*/false, std::chrono::steady_clock::now());
      return;
    }
    if (ec) {
      // Malformed HTTP: answer 400 once, then close.
      if (ec != asio::error::eof) {
        HttpResponse res;
        res.status = 400;
        res.json = false;
        HttpRequest req;
        req.method = "?";
        req.path = "?";
        Write(req, std::move(res), false, std::chrono::steady_clock::now());
        return;
      }
      Close();
      return;
    }
    auto start = std::chrono::steady_clock::now();
    auto& msg = parser_->get();
    auto req = std::make_shared<HttpRequest>();
    req->method = std::string(msg.method_string());
    std::string_view target(msg.target().data(), msg.target().size());
    size_t q = target.find('?');
    req->path = std::string(target.substr(0, q));
    if (q != std::string_view::npos) req->query = std::string(target.substr(q + 1));
    for (const auto& field : msg) {
      std::string name(field.name_string());
      for (auto& c : name) c = static_cast<char>(::tolower(static_cast<unsigned char>(c)));
      req->headers.emplace_back(std::move(name), std::string(field.value()));
    }
    req->body = std::move(msg.body());
    bool keep_alive = msg.keep_alive();
    const auto& options = server_->options;
    if (server_->in_flight.fetch_add(1) >= options.max_concurrent_requests) {
      server_->in_flight.fetch_sub(1);
      CountRejected("concurrency");
      Write(*req,
            Overloaded(req->path, 429,
                       "Too many concurrent requests (max_concurrent_requests is " +
                           std::to_string(options.max_concurrent_requests) + "); retry later"),
            keep_alive, start);
      return;
    }
    server_->workers.Post([self = shared_from_this(), req, keep_alive, start]() {
      const auto& o = self->server_->options;
      HttpResponse res;
      if (std::chrono::steady_clock::now() - start >
          std::chrono::seconds(o.queue_timeout_seconds)) {
        CountRejected("queue_timeout");
        res = Overloaded(req->path, 503,
                         "The request waited more than " + std::to_string(o.queue_timeout_seconds) +
                             " s for a worker (request_timeout_seconds); the server is overloaded");
      } else {
        res = self->server_->handler(*req);
      }
      asio::post(self->stream_.get_executor(),
                 [self, req, res = std::move(res), keep_alive, start]() mutable {
                   self->Write(*req, std::move(res), keep_alive, start, /*counted=*/true);
                 });
    });
  }

  // `counted`: the request is in `in_flight` until its response is written.
  void Write(const HttpRequest& req, HttpResponse res, bool keep_alive,
             std::chrono::steady_clock::time_point start, bool counted = false) {
    auto out = std::make_shared<http::response<http::string_body>>();
    out->version(11);
    out->result(static_cast<unsigned>(res.status));
    out->reason(ReasonOf(res.status));
    if (res.json) out->set(http::field::content_type, "application/json");
    for (auto& [k, v] : res.headers) out->insert(k, v);
    if (server_->stopping.load()) keep_alive = false;
    out->keep_alive(keep_alive);
    size_t body_size = res.body.size();
    if (!res.omit_body) out->body() = std::move(res.body);
    out->content_length(body_size);
    int64_t micros = std::chrono::duration_cast<std::chrono::microseconds>(
                         std::chrono::steady_clock::now() - start)
                         .count();
    if (server_->access_log) server_->access_log(req, res.status, micros);
    const bool close_after = !keep_alive;
    const bool drain = res.status == 413;
    http::async_write(stream_, *out,
                      [self = shared_from_this(), out, close_after, drain, counted](
                          beast::error_code ec, size_t) {
                        // A big body's pages serve the next big response.
                        BufferPool::Responses().Give(std::move(out->body()));
                        if (counted) self->server_->in_flight.fetch_sub(1);
                        if (ec || close_after) {
                          if (drain && !ec) {
                            self->Drain();
                          } else {
                            self->Close();
                          }
                          return;
                        }
                        self->DoRead();
                      });
  }

  // After an early 413 the client may still be sending its body: read and discard it for a
  // little while so that it sees our answer instead of a reset connection.
  void Drain() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ec);
    stream_.expires_after(std::chrono::seconds(5));
    drain_buf_.resize(64 * 1024);
    stream_.async_read_some(asio::buffer(drain_buf_),
                            [self = shared_from_this()](beast::error_code ec2, size_t) {
                              if (ec2) {
                                self->Close();
                              } else {
                                self->Drain();
                              }
                            });
  }

  void Close() {
    beast::error_code ec;
    stream_.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream_.socket().close(ec);
  }

  beast::tcp_stream stream_;
  HttpServer::Impl* server_;
  bool reading_ = false;  // waiting for a request (on the connection's executor only)
  static constexpr size_t kReadChunk = 64 * 1024;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::vector<char> drain_buf_;
};

}  // namespace

void HttpServer::Impl::Accept() {
  acceptor.async_accept(asio::make_strand(ioc), [this](beast::error_code ec, tcp::socket socket) {
    if (ec) {
      if (ec == asio::error::operation_aborted || stopping.load()) return;
      LOG_WARN("accept failed: {}", ec.message());
    } else {
      beast::error_code ignored;
      socket.set_option(tcp::no_delay(true), ignored);
      std::make_shared<Session>(std::move(socket), this)->Start();
    }
    Accept();
  });
}

HttpServer::HttpServer(HttpServerOptions options, Handler handler, AccessLog access_log)
    : impl_(std::make_unique<Impl>(std::move(options), std::move(handler), std::move(access_log))) {
}

HttpServer::~HttpServer() { Stop(); }

Status HttpServer::Start() {
  auto& o = impl_->options;
  beast::error_code ec;
  auto address = asio::ip::make_address(o.host == "localhost" ? "127.0.0.1" : o.host, ec);
  if (ec) {
    // A host name: resolve it.
    tcp::resolver resolver(impl_->ioc);
    auto results = resolver.resolve(o.host, std::to_string(o.port), ec);
    if (ec || results.empty()) {
      return Status::InvalidArgument("cannot resolve listen address '" + o.host +
                                     "': " + ec.message());
    }
    address = results.begin()->endpoint().address();
  }
  tcp::endpoint endpoint(address, static_cast<unsigned short>(o.port));
  impl_->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(endpoint, ec);
  if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status::Unavailable("cannot listen on " + o.host + ":" + std::to_string(o.port) + ": " +
                               ec.message());
  }
  bound_port_ = impl_->acceptor.local_endpoint().port();
  impl_->work.emplace(impl_->ioc.get_executor());
  impl_->Accept();
  int n = std::max(1, o.io_threads);
  for (int i = 0; i < n; ++i) {
    impl_->io_threads.emplace_back([this] { impl_->ioc.run(); });
  }
  return Status::Ok();
}

int HttpServer::in_flight() const { return impl_ ? impl_->in_flight.load() : 0; }

void HttpServer::Stop() {
  if (!impl_ || impl_->io_threads.empty()) return;
  impl_->stopping.store(true);
  asio::post(impl_->ioc, [this] {
    beast::error_code ec;
    impl_->acceptor.close(ec);
  });
  // Close idle keep-alive connections; the others finish their request, whose response closes
  // them. Then wait (bounded) until every connection is gone and every response written.
  std::vector<std::shared_ptr<Session>> open;
  {
    MutexLock lock(impl_->sessions_mu);
    for (const auto& w : impl_->sessions) {
      if (auto s = w.lock()) open.push_back(std::move(s));
    }
    impl_->sessions.clear();
  }
  for (auto& s : open) {
    asio::post(s->executor(), [s] { s->OnShutdown(); });
  }
  open.clear();
  const auto deadline = std::chrono::steady_clock::now() +
                        std::chrono::seconds(impl_->options.shutdown_timeout_seconds);
  while ((impl_->live_sessions.load() > 0 || impl_->in_flight.load() > 0) &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (impl_->live_sessions.load() > 0) {
    LOG_WARN("shutdown: {} connection(s) still open after {} s, closing them",
             impl_->live_sessions.load(), impl_->options.shutdown_timeout_seconds);
  }
  impl_->workers.Join();
  impl_->work.reset();
  impl_->ioc.stop();
  for (auto& t : impl_->io_threads) t.join();
  impl_->io_threads.clear();
}

}  // namespace chromahouse
