// query_bench: query and get latency end to end over HTTP against a real build/chromahouse,
// next to the same searches run in-process (the baseline, measured in the same run).
//
// What runs:
//   1. The server: build/chromahouse (next to this binary, or --server) is started as a child
//      process on a free loopback port with a fresh data directory (so with its own embedded
//      ClickHouse) and stopped with SIGTERM at the end; --url uses a running server instead.
//   2. Ingest through the v2 API: a collection with default parameters (no configuration, so
//      l2, M 16, ef_construction 100, ef_search 100), then n generated vectors (bench/data.h,
//      stream 0) in `add` requests of 1000 records (JSON float arrays), record i = id "id-<i>",
//      metadata {"bucket": i % 10}; then indexing_status is polled until nothing waits for the
//      graph (and, from index_snapshot_min_records records on, until the index snapshot the
//      server writes after indexing is written, so that it does not overlap the timed runs).
//      Not what this benchmark measures: printed only.
//   3. Baseline: the same records in a RecordStore + VectorSearch with the parameters the server
//      derives from the default configuration (record_service.cc IndexParams), the graph built
//      as the server's background indexer builds it (IndexStep, one thread per core). Each
//      held-out query (stream 1) is timed single-threaded, wall clock, doing what
//      RecordService::Query does for it: for the filtered query also the candidate selection
//      (insertion-order offsets, then the metadata index), as RecordService::Select does.
//   4. Queries over HTTP: POST …/query, n_results 10, include ["distances"], unfiltered and with
//      where {"bucket": 3} (10 % of the records), on 1 and on 4 keep-alive connections (one
//      thread each, Boost.Beast synchronous client, every request body encoded before timing).
//      --queries held-out queries, each sent --passes times; latency per request from the first
//      byte written to the last byte read; QPS = requests / wall time of the run. Responses are
//      kept and parsed after the run: recall@10 against the exact top 10 (unfiltered: the cached
//      ground truth; filtered: exact brute force over the records of bucket 3).
//   5. Gets over HTTP, include ["embeddings"], one connection: batches of 100 random ids; the
//      whole collection in one request (no ids); the whole collection in pages of 10,000
//      (limit/offset). Records/s and MB/s (10^6 bytes of response body) next to the rate of
//      formatting the same floats with std::to_chars in-process (one thread): the floor of
//      any JSON encoding of them. Every returned embedding is checked bit for bit.
//
// Targets: HTTP p50 ≤ in-process p50 + 0.3 ms (1 connection; the 4-connection figure beside
// it). Any failed HTTP request or a recall@10 below 0.9 makes the run exit non-zero.
//
// Build: cmake --build build --target query_bench   (bench/CMakeLists.txt)
// Run:   nice build/query_bench [--n 100000] [--dim 128] [--queries 1000] [--passes 5]
//                               [--get-batches 200] [--url http://host:port] [--server PATH]
//                               [--server-arg ARG]... [--out PATH] [--smoke]
// --smoke: 3,000 × 32, 50 queries, one pass (well under a minute with the server's start); runs
// in ctest as bench_query_smoke.
#include <arpa/inet.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <simdjson.h>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <latch>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

#include "bench_util.h"
#include "collection/record_store.h"
#include "collection/vector_search.h"
#include "common/worker_pool.h"
#include "core/catalog.h"
#include "core/where.h"
#include "data.h"

namespace chromahouse::bench {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

constexpr size_t kK = 10;
constexpr size_t kBuckets = 10;
constexpr int64_t kFilterBucket = 3;
constexpr size_t kAddBatch = 1000;
constexpr size_t kGetBatch = 100;
constexpr size_t kPage = 10000;
constexpr double kTargetOverheadSeconds = 0.3e-3;
constexpr double kMinRecall = 0.9;
// The server writes an index snapshot once its graph is complete for collections of at least
// this many records (its default --index-snapshot-min-records).
constexpr size_t kSnapshotMinRecords = 20000;
const std::string kCollections =
    "/api/v2/tenants/default_tenant/databases/default_database/collections";

struct Options {
  size_t n = 100000;
  size_t dim = 128;
  size_t queries = 1000;
  size_t passes = 5;
  size_t get_batches = 200;
  std::string url;
  std::string server;
  std::vector<std::string> server_args;
  std::string out;
  bool smoke = false;
};

[[noreturn]] void Usage(const char* error) {
  std::fprintf(stderr, "query_bench: %s\nRun with --help for more information.\n", error);
  std::exit(2);
}

Options Parse(int argc, char** argv) {
  Options o;
  CLI::App app{
      "query_bench: query and get latency end to end over HTTP against build/chromahouse, "
      "next to the same searches in-process",
      "query_bench"};
  FlagDefaults(app);
  app.add_option("--n", o.n, "records ingested");
  app.add_option("--dim", o.dim, "vector dimension");
  app.add_option("--queries", o.queries, "held-out queries");
  app.add_option("--passes", o.passes, "times each query is sent");
  app.add_option("--get-batches", o.get_batches, "gets of 100 random ids");
  app.add_option("--url", o.url, "use the server at http://host:port instead of starting one");
  app.add_option("--server", o.server, "server binary (default: chromahouse next to this binary)");
  app.add_option("--server-arg", o.server_args, "one more argument for the started server")
      ->allow_extra_args(false);
  app.add_option("--out", o.out,
                 "JSON results (default bench/results/query.json; with --smoke, in /tmp)");
  app.add_flag("--smoke", o.smoke,
               "quick check: 3,000 x 32, 50 queries, one pass, 10 get batches unless given");
  ParseFlags(app, argc, argv);
  if (o.smoke) {
    if (!app.count("--n")) o.n = 3000;
    if (!app.count("--dim")) o.dim = 32;
    if (!app.count("--queries")) o.queries = 50;
    if (!app.count("--passes")) o.passes = 1;
    if (!app.count("--get-batches")) o.get_batches = 10;
  }
  if (o.n < kBuckets * kK || o.dim < 1 || o.queries < 1 || o.passes < 1) {
    Usage("need --n >= 100, --dim >= 1, --queries >= 1, --passes >= 1");
  }
  if (o.out.empty()) {
    o.out = o.smoke ? "/tmp/chromahouse-bench-cache/query_smoke.json" : "bench/results/query.json";
  }
  if (o.server.empty()) {
    // build/query_bench sits next to build/chromahouse (RUNTIME_OUTPUT_DIRECTORY).
    std::error_code ec;
    auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
    o.server = (ec ? std::filesystem::path("build") : self.parent_path()) / "chromahouse";
  }
  return o;
}

// Every unrecoverable problem (a failed request, a server that does not start) ends the run
// through this exception, so that the server child is still stopped on the way out.
struct BenchError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] void Fail(const std::string& what) { throw BenchError(what); }

std::string Millis(double seconds) {
  const double ms = seconds * 1e3;
  if (ms >= 100) return Fmt("%.0f ms", ms);
  if (ms >= 10) return Fmt("%.1f ms", ms);
  return Fmt("%.3f ms", ms);
}

std::string Rate(double v) {
  if (v >= 1e6) return Fmt("%.2fM", v / 1e6);
  if (v >= 1e4) return Fmt("%.1fk", v / 1e3);
  return Fmt("%.0f", v);
}

// ---------------------------------------------------------------------------------------------
// HTTP: a keep-alive connection and requests encoded once, ahead of the timed loops.

struct Endpoint {
  std::string host;
  std::string port;
  std::string url() const { return "http://" + host + ":" + port; }
};

Endpoint ParseUrl(const std::string& url) {
  std::string rest = url;
  if (rest.starts_with("http://")) rest = rest.substr(7);
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  const size_t colon = rest.rfind(':');
  if (rest.empty() || rest.find('/') != std::string::npos) Usage(("bad --url " + url).c_str());
  if (colon == std::string::npos) return {rest, "80"};
  return {rest.substr(0, colon), rest.substr(colon + 1)};
}

// A whole HTTP/1.1 request (headers and body), as written to the socket.
std::string EncodeRequest(const Endpoint& ep, std::string_view method, std::string_view target,
                          std::string_view body = {}) {
  std::string r;
  r.reserve(body.size() + target.size() + 128);
  r.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: ");
  r.append(ep.host).append(":").append(ep.port).append("\r\n");
  if (!body.empty() || method == "POST") {
    r.append("Content-Type: application/json\r\nContent-Length: ");
    r.append(std::to_string(body.size())).append("\r\n");
  }
  r.append("\r\n").append(body);
  return r;
}

struct Response {
  int status = 0;  // 0: the transport failed (`error` says why)
  std::string body;
  std::string error;
  bool ok() const { return status >= 200 && status < 300; }
};

// One keep-alive connection with a synchronous Beast client. Reconnects on the next request after
// the server closed it; a transport error fails that request (no retry: it would distort timing).
class Connection {
 public:
  explicit Connection(Endpoint ep) : ep_(std::move(ep)), socket_(ioc_) {}

  bool Connect(std::string* error) {
    beast::error_code ec;
    tcp::resolver resolver(ioc_);
    auto results = resolver.resolve(ep_.host, ep_.port, ec);
    if (!ec) asio::connect(socket_, results, ec);
    if (!ec) socket_.set_option(tcp::no_delay(true), ec);
    if (ec) {
      *error = "connect to " + ep_.url() + ": " + ec.message();
      Close();
      return false;
    }
    buffer_.clear();
    return true;
  }

  Response Send(const std::string& request) {
    Response r;
    if (!socket_.is_open() && !Connect(&r.error)) return r;
    beast::error_code ec;
    asio::write(socket_, asio::buffer(request), ec);
    http::response_parser<http::string_body> parser;
    parser.body_limit(boost::none);  // a whole collection with its embeddings is large
    if (!ec) http::read(socket_, buffer_, parser, ec);
    if (ec) {
      r.error = ec.message();
      Close();
      return r;
    }
    auto& msg = parser.get();
    r.status = static_cast<int>(msg.result_int());
    if (!msg.keep_alive()) Close();
    r.body = std::move(msg.body());
    return r;
  }

 private:
  void Close() {
    beast::error_code ec;
    socket_.shutdown(tcp::socket::shutdown_both, ec);
    socket_.close(ec);
  }

  Endpoint ep_;
  asio::io_context ioc_;
  tcp::socket socket_;
  beast::flat_buffer buffer_;
};

// A request outside the timed loops (set-up, polling): fails the run unless it answers 2xx.
std::string Call(Connection& c, const Endpoint& ep, const char* method, const std::string& target,
                 const std::string& body = {}) {
  Response r = c.Send(EncodeRequest(ep, method, target, body));
  if (!r.ok()) {
    Fail(std::string(method) + " " + target + ": " +
         (r.status == 0 ? r.error
                        : "HTTP " + std::to_string(r.status) + " " + r.body.substr(0, 300)));
  }
  return std::move(r.body);
}

// ---------------------------------------------------------------------------------------------
// The server child.

class ServerProcess {
 public:
  ServerProcess(std::string binary, std::vector<std::string> extra_args)
      : binary_(std::move(binary)), extra_args_(std::move(extra_args)) {}
  // On the way out of a failure the server's log is printed and its directory kept.
  ~ServerProcess() {
    if (std::uncaught_exceptions() > 0 && pid_ > 0) {
      std::fprintf(stderr, "query_bench: server log (kept in %s):\n%s\n", dir_.c_str(),
                   LogTail().c_str());
      keep_dir_ = true;
    }
    Stop();
  }

  // Starts `binary run` on a free loopback port with a fresh data directory; its output goes to
  // <dir>/server.log. Returns at once (WaitReady waits for it).
  Endpoint Start() {
    char tmpl[] = "/tmp/chromahouse-query-bench-XXXXXX";
    if (!mkdtemp(tmpl)) Fail("mkdtemp failed");
    dir_ = tmpl;
    log_ = dir_ + "/server.log";
    {
      asio::io_context ioc;
      tcp::acceptor probe(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
      port_ = probe.local_endpoint().port();
    }
    std::vector<std::string> args = {binary_,     "run",         "--host",
                                     "127.0.0.1", "--port",      std::to_string(port_),
                                     "--path",    dir_ + "/data"};
    args.insert(args.end(), extra_args_.begin(), extra_args_.end());
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const int log_fd = open(log_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (log_fd < 0) Fail("cannot create " + log_);
    const pid_t parent = getpid();
    pid_ = fork();
    if (pid_ < 0) Fail("fork failed");
    if (pid_ == 0) {
      // The server (which stops its ClickHouse) goes when this process goes, however it ends.
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      if (getppid() != parent) _exit(127);
      dup2(log_fd, 1);
      dup2(log_fd, 2);
      execv(argv[0], argv.data());
      std::fprintf(stderr, "exec %s failed\n", argv[0]);
      _exit(127);
    }
    close(log_fd);
    return {"127.0.0.1", std::to_string(port_)};
  }

  // Polls GET /api/v2/heartbeat until it answers 200; fails when the child exits first or after
  // `timeout_s`.
  double WaitReady(const Endpoint& ep, double timeout_s, Clock::time_point started) {
    const std::string heartbeat = EncodeRequest(ep, "GET", "/api/v2/heartbeat");
    while (Seconds(started, Clock::now()) < timeout_s) {
      int status = 0;
      if (pid_ > 0 && waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        Fail("the server exited during start-up (" +
             (WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                                : "signal " + std::to_string(WTERMSIG(status))) +
             "):\n" + LogTail());
      }
      Connection c(ep);
      std::string error;
      if (c.Connect(&error) && c.Send(heartbeat).status == 200) {
        return Seconds(started, Clock::now());
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    Fail("the server did not answer /api/v2/heartbeat within " + Fmt("%.0f", timeout_s) + " s:\n" +
         LogTail());
  }

  // SIGTERM (the server then stops its ClickHouse), waits up to a minute, then SIGKILL.
  // Returns the exit status (-1 when nothing ran), and removes the data directory.
  int Stop() {
    int status = -1;
    if (pid_ > 0) {
      kill(pid_, SIGTERM);
      const auto t0 = Clock::now();
      while (waitpid(pid_, &status, WNOHANG) == 0) {
        if (Seconds(t0, Clock::now()) > 60) {
          kill(pid_, SIGKILL);
          waitpid(pid_, &status, 0);
          break;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      pid_ = -1;
    }
    if (!dir_.empty() && !keep_dir_) {
      std::error_code ec;
      std::filesystem::remove_all(dir_, ec);
      dir_.clear();
    }
    return status;
  }

  std::string LogTail() const {
    std::ifstream in(log_);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return text.size() > 4000 ? text.substr(text.size() - 4000) : text;
  }
  const std::string& dir() const { return dir_; }
  pid_t pid() const { return pid_; }

 private:
  std::string binary_;
  std::vector<std::string> extra_args_;
  std::string dir_, log_;
  int port_ = 0;
  pid_t pid_ = -1;
  bool keep_dir_ = false;
};

// ---------------------------------------------------------------------------------------------
// JSON bodies and answers.

void AppendFloat(std::string& out, float v) {
  char buf[32];
  auto r = std::to_chars(buf, buf + sizeof(buf), v);
  out.append(buf, r.ptr);
}

void AppendVector(std::string& out, const float* v, size_t dim) {
  out += '[';
  for (size_t j = 0; j < dim; ++j) {
    if (j) out += ',';
    AppendFloat(out, v[j]);
  }
  out += ']';
}

std::string IdOf(size_t i) { return "id-" + std::to_string(i); }

// "id-<i>" → i; UINT32_MAX for anything else.
uint32_t IndexOf(std::string_view id) {
  uint32_t v = UINT32_MAX;
  if (!id.starts_with("id-")) return UINT32_MAX;
  auto r = std::from_chars(id.data() + 3, id.data() + id.size(), v);
  return r.ec == std::errc() && r.ptr == id.data() + id.size() ? v : UINT32_MAX;
}

std::string AddBody(const std::vector<float>& data, size_t dim, size_t begin, size_t end) {
  std::string b = "{\"ids\":[";
  for (size_t i = begin; i < end; ++i) {
    if (i > begin) b += ',';
    b += '"' + IdOf(i) + '"';
  }
  b += "],\"embeddings\":[";
  for (size_t i = begin; i < end; ++i) {
    if (i > begin) b += ',';
    AppendVector(b, data.data() + i * dim, dim);
  }
  b += "],\"metadatas\":[";
  for (size_t i = begin; i < end; ++i) {
    if (i > begin) b += ',';
    b += "{\"bucket\":" + std::to_string(i % kBuckets) + "}";
  }
  return b + "]}";
}

std::string QueryBody(const float* q, size_t dim, bool filtered) {
  std::string b = "{\"query_embeddings\":[";
  AppendVector(b, q, dim);
  b += "],\"n_results\":" + std::to_string(kK) + ",\"include\":[\"distances\"]";
  if (filtered) b += ",\"where\":{\"bucket\":" + std::to_string(kFilterBucket) + "}";
  return b + "}";
}

simdjson::dom::element ParseJson(simdjson::dom::parser& parser, const std::string& body,
                                 const char* what) {
  simdjson::dom::element doc;
  if (parser.parse(body.data(), body.size()).get(doc) != simdjson::SUCCESS) {
    Fail(std::string("unparsable ") + what + " response: " + body.substr(0, 200));
  }
  return doc;
}

// The ids of a one-query QueryResponse, as record indexes (UINT32_MAX for a foreign id).
std::vector<uint32_t> QueryAnswer(simdjson::dom::parser& parser, const std::string& body) {
  simdjson::dom::array ids;
  if (ParseJson(parser, body, "query")["ids"].at(0).get_array().get(ids) != simdjson::SUCCESS) {
    Fail("query response without ids[0]: " + body.substr(0, 200));
  }
  std::vector<uint32_t> out;
  for (simdjson::dom::element id : ids) {
    std::string_view s;
    out.push_back(id.get_string().get(s) == simdjson::SUCCESS ? IndexOf(s) : UINT32_MAX);
  }
  return out;
}

// Checks a GetResponse with embeddings against the generated data: every id is ours and every
// embedding equal to its record's vector bit for bit. Returns the record indexes in order.
std::vector<uint32_t> CheckGetAnswer(simdjson::dom::parser& parser, const std::string& body,
                                     const std::vector<float>& data, size_t dim) {
  simdjson::dom::element doc = ParseJson(parser, body, "get");
  simdjson::dom::array ids, embeddings;
  if (doc["ids"].get_array().get(ids) != simdjson::SUCCESS ||
      doc["embeddings"].get_array().get(embeddings) != simdjson::SUCCESS ||
      ids.size() != embeddings.size()) {
    Fail("get response without matching ids and embeddings: " + body.substr(0, 200));
  }
  std::vector<uint32_t> out;
  out.reserve(ids.size());
  auto e = embeddings.begin();
  for (simdjson::dom::element id : ids) {
    std::string_view s;
    const uint32_t i = id.get_string().get(s) == simdjson::SUCCESS ? IndexOf(s) : UINT32_MAX;
    if (i == UINT32_MAX || size_t{i} * dim >= data.size()) Fail("get returned a foreign id");
    simdjson::dom::array v;
    if ((*e).get_array().get(v) != simdjson::SUCCESS || v.size() != dim) {
      Fail("get returned a malformed embedding for " + IdOf(i));
    }
    size_t j = 0;
    for (simdjson::dom::element x : v) {
      double d = 0;
      if (x.get_double().get(d) != simdjson::SUCCESS || float(d) != data[size_t{i} * dim + j]) {
        Fail("get returned a different embedding for " + IdOf(i));
      }
      ++j;
    }
    out.push_back(i);
    ++e;
  }
  return out;
}

// Recall@k of `answers` (one row per request, query index `query_of[r]`) against `truth`
// (q × k, padded with UINT32_MAX).
double Recall(const std::vector<std::vector<uint32_t>>& answers,
              const std::vector<size_t>& query_of, const std::vector<uint32_t>& truth) {
  size_t hits = 0, wanted = 0;
  for (size_t r = 0; r < answers.size(); ++r) {
    const uint32_t* t = truth.data() + query_of[r] * kK;
    wanted += size_t(std::count_if(t, t + kK, [](uint32_t x) { return x != UINT32_MAX; }));
    for (uint32_t got : answers[r]) {
      if (got != UINT32_MAX && std::find(t, t + kK, got) != t + kK) ++hits;
    }
  }
  return wanted ? double(hits) / double(wanted) : NAN;
}

// ---------------------------------------------------------------------------------------------
// Timed runs.

struct Latencies {
  std::vector<double> seconds;  // per request
  double wall = 0;              // first request sent → last answer read
  double p50() const { return Percentile(seconds, 0.50); }
  double p99() const { return Percentile(seconds, 0.99); }
  double p999() const { return Percentile(seconds, 0.999); }
  double mean() const {
    double s = 0;
    for (double x : seconds) s += x;
    return seconds.empty() ? NAN : s / double(seconds.size());
  }
  double qps() const { return double(seconds.size()) / wall; }
};

struct HttpRun {
  int connections = 0;
  Latencies lat;
  double recall = NAN;
  size_t failures = 0;
  std::string first_error;
  size_t response_bytes = 0;
};

// Sends requests[i % requests.size()] for i in [0, total) over `connections` connections, one
// thread each, every thread taking the next i as it becomes free. Answers are kept whole and
// handed to `answer` after the run (not timed), in order of i.
HttpRun RunRequests(const Endpoint& ep, const std::vector<std::string>& requests, size_t total,
                    int connections,
                    const std::function<void(size_t i, const std::string& body)>& answer) {
  struct Slot {
    double seconds = 0;
    Response response;
  };
  std::vector<Slot> slots(total);
  std::atomic<size_t> next{0};
  std::latch ready(connections);
  std::vector<Clock::time_point> started(static_cast<size_t>(connections));
  std::vector<Clock::time_point> finished(static_cast<size_t>(connections));
  std::vector<std::thread> threads;
  for (int t = 0; t < connections; ++t) {
    threads.emplace_back([&, t] {
      Connection c(ep);
      std::string ignored;
      c.Connect(&ignored);  // a failure shows again in the first request
      ready.arrive_and_wait();
      started[size_t(t)] = Clock::now();
      for (size_t i; (i = next.fetch_add(1, std::memory_order_relaxed)) < total;) {
        const auto t0 = Clock::now();
        Response r = c.Send(requests[i % requests.size()]);
        slots[i].seconds = Seconds(t0, Clock::now());
        slots[i].response = std::move(r);
      }
      finished[size_t(t)] = Clock::now();
    });
  }
  for (auto& th : threads) th.join();
  const auto start = *std::min_element(started.begin(), started.end());
  HttpRun run;
  run.connections = connections;
  run.lat.wall = Seconds(start, *std::max_element(finished.begin(), finished.end()));
  run.lat.seconds.reserve(total);
  for (size_t i = 0; i < total; ++i) {
    Slot& s = slots[i];
    run.lat.seconds.push_back(s.seconds);
    run.response_bytes += s.response.body.size();
    if (!s.response.ok()) {
      if (run.failures++ == 0) {
        run.first_error = s.response.status == 0 ? s.response.error
                                                 : "HTTP " + std::to_string(s.response.status) +
                                                       " " + s.response.body.substr(0, 300);
      }
      continue;
    }
    if (answer) answer(i, s.response.body);
  }
  return run;
}

// Queries: an untimed warm-up pass over min(q, 200) requests, then the timed run of q × passes.
HttpRun RunQueries(const Endpoint& ep, const std::vector<std::string>& requests, size_t passes,
                   int connections, const std::vector<uint32_t>& truth) {
  const HttpRun warm_up =
      RunRequests(ep, requests, std::min<size_t>(requests.size(), 200), connections, nullptr);
  std::vector<std::vector<uint32_t>> answers;
  std::vector<size_t> query_of;
  simdjson::dom::parser parser;
  HttpRun run = RunRequests(ep, requests, requests.size() * passes, connections,
                            [&](size_t i, const std::string& body) {
                              answers.push_back(QueryAnswer(parser, body));
                              query_of.push_back(i % requests.size());
                            });
  run.recall = Recall(answers, query_of, truth);
  if (warm_up.failures && !run.failures) run.first_error = warm_up.first_error;
  run.failures += warm_up.failures;
  return run;
}

// The floor of one request/response exchange on this machine: a responder thread in this process
// answers each `request_bytes` message with `response_bytes` bytes over loopback TCP (no HTTP, no
// parsing, no hand-off between threads), timed as the HTTP runs are, on one connection.
Latencies LoopbackFloor(size_t request_bytes, size_t response_bytes, size_t total) {
  asio::io_context ioc;
  tcp::acceptor acceptor(ioc, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  std::thread responder([&] {
    beast::error_code ec;
    tcp::socket s(ioc);
    acceptor.accept(s, ec);
    if (!ec) s.set_option(tcp::no_delay(true), ec);
    std::string in(request_bytes, '\0'), out(response_bytes, 'x');
    while (!ec) {
      asio::read(s, asio::buffer(in), ec);
      if (!ec) asio::write(s, asio::buffer(out), ec);
    }
  });
  Latencies lat;
  std::string error;
  {
    beast::error_code ec;
    tcp::socket c(ioc);
    c.connect(acceptor.local_endpoint(), ec);
    if (ec) {
      // Unblock the responder's accept so that it can be joined.
      beast::error_code ignored;
      tcp::socket poke(ioc);
      poke.connect(acceptor.local_endpoint(), ignored);
    } else {
      c.set_option(tcp::no_delay(true), ec);
    }
    std::string out(request_bytes, 'r'), in(response_bytes, '\0');
    const size_t warm_up = std::min<size_t>(total, 200);
    const auto start = Clock::now();
    for (size_t i = 0; i < warm_up + total && !ec; ++i) {
      const auto t0 = Clock::now();
      asio::write(c, asio::buffer(out), ec);
      if (!ec) asio::read(c, asio::buffer(in), ec);
      if (i >= warm_up) lat.seconds.push_back(Seconds(t0, Clock::now()));
    }
    lat.wall = Seconds(start, Clock::now());
    if (ec) error = ec.message();
  }  // closing the client ends the responder
  responder.join();
  if (!error.empty()) Fail("loopback floor: " + error);
  return lat;
}

struct InProcessRun {
  Latencies lat;
  double recall = NAN;
  size_t hnsw = 0, brute_force = 0;
};

// ---------------------------------------------------------------------------------------------

std::string Json(const Latencies& l) {
  return "\"p50_s\": " + JsonNum(l.p50()) + ", \"p99_s\": " + JsonNum(l.p99()) +
         ", \"p999_s\": " + JsonNum(l.p999()) + ", \"mean_s\": " + JsonNum(l.mean()) +
         ", \"qps\": " + JsonNum(l.qps()) + ", \"requests\": " + std::to_string(l.seconds.size());
}

int Main(int argc, char** argv) {
  const Options o = Parse(argc, argv);
  const unsigned hw = std::max(1u, std::thread::hardware_concurrency());
  const std::string load_start = LoadAverage();
  std::printf(
      "# query_bench: n=%zu dim=%zu (l2) queries=%zu passes=%zu k=%zu, default collection "
      "parameters; %u hardware threads; load average at start: %s\n",
      o.n, o.dim, o.queries, o.passes, kK, hw, load_start.c_str());
  std::fflush(stdout);

  // The server starts (its ClickHouse takes seconds) while the data is generated.
  std::unique_ptr<ServerProcess> server;
  Endpoint ep;
  auto t0 = Clock::now();
  if (o.url.empty()) {
    server = std::make_unique<ServerProcess>(o.server, o.server_args);
    ep = server->Start();
  } else {
    ep = ParseUrl(o.url);
  }

  MixtureSpec spec;
  spec.dim = o.dim;
  if (o.smoke) spec.clusters = std::min<size_t>(spec.clusters, std::max<size_t>(1, o.n / 100));
  GaussianMixture mixture(spec);
  const std::vector<float> data = mixture.Generate(GaussianMixture::kDataStream, o.n, hw);
  const std::vector<float> queries = mixture.Generate(GaussianMixture::kQueryStream, o.queries, hw);
  bool gt_cached = false;
  const std::vector<uint32_t> truth =
      CachedGroundTruth(Metric::kL2, data, queries, o.dim, kK, hw, &gt_cached, nullptr);
  // Exact top 10 among the records of the filter's bucket: brute force over that subset.
  std::vector<uint32_t> filtered_truth;
  {
    std::vector<float> subset;
    std::vector<uint32_t> index_of;
    for (size_t i = size_t(kFilterBucket); i < o.n; i += kBuckets) {
      subset.insert(subset.end(), data.begin() + i * o.dim, data.begin() + (i + 1) * o.dim);
      index_of.push_back(uint32_t(i));
    }
    filtered_truth = ExactTopK(Metric::kL2, subset, queries, o.dim, kK, hw);
    for (uint32_t& x : filtered_truth) {
      if (x != UINT32_MAX) x = index_of[x];
    }
  }
  std::printf("# data and ground truth (%s): %.2f s\n", gt_cached ? "cached" : "computed",
              Seconds(t0, Clock::now()));
  std::fflush(stdout);

  double start_s = NAN;
  if (server) {
    start_s = server->WaitReady(ep, 120, t0);
    std::printf("# server %s ready after %.1f s (pid %d, %s, log in %s/server.log)\n",
                o.server.c_str(), start_s, int(server->pid()), ep.url().c_str(),
                server->dir().c_str());
  } else {
    Connection c(ep);
    Call(c, ep, "GET", "/api/v2/heartbeat");
    std::printf("# server at %s\n", ep.url().c_str());
  }
  std::fflush(stdout);

  // Ingest.
  Connection setup(ep);
  const std::string name = "query-bench-" + std::to_string(getpid());
  std::string collection_id;
  {
    simdjson::dom::parser parser;
    const std::string created =
        Call(setup, ep, "POST", kCollections, "{\"name\":" + JsonStr(name) + "}");
    std::string_view id;
    if (ParseJson(parser, created, "create collection")["id"].get_string().get(id) !=
        simdjson::SUCCESS) {
      Fail("create collection answered without an id: " + created);
    }
    collection_id = std::string(id);
  }
  const std::string coll = kCollections + "/" + collection_id;
  t0 = Clock::now();
  double encode_s = 0;
  for (size_t begin = 0; begin < o.n; begin += kAddBatch) {
    const auto e0 = Clock::now();
    std::string body = AddBody(data, o.dim, begin, std::min(o.n, begin + kAddBatch));
    encode_s += Seconds(e0, Clock::now());
    Call(setup, ep, "POST", coll + "/add", body);
  }
  const double ingest_s = Seconds(t0, Clock::now());
  {
    simdjson::dom::parser parser;
    while (true) {
      const std::string status = Call(setup, ep, "GET", coll + "/indexing_status");
      int64_t unindexed = -1, total = -1;
      simdjson::dom::element doc = ParseJson(parser, status, "indexing_status");
      if (doc["num_unindexed_ops"].get_int64().get(unindexed) != simdjson::SUCCESS ||
          doc["total_ops"].get_int64().get(total) != simdjson::SUCCESS) {
        Fail("unexpected indexing_status: " + status);
      }
      if (unindexed == 0) {
        if (total != int64_t(o.n))
          Fail("indexing_status counts " + std::to_string(total) + " records, not " +
               std::to_string(o.n));
        break;
      }
      if (Seconds(t0, Clock::now()) > 3600) Fail("the graph was not complete after an hour");
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
  }
  const double indexed_s = Seconds(t0, Clock::now());
  std::printf(
      "# ingest: %zu records in %zu add requests: %.2f s (%.0f records/s; %.2f s of it "
      "encoding JSON here); graph complete %.2f s after the first add\n",
      o.n, (o.n + kAddBatch - 1) / kAddBatch, ingest_s, double(o.n) / ingest_s, encode_s,
      indexed_s);
  std::fflush(stdout);
  // The index snapshot the server writes after indexing (from kSnapshotMinRecords records on,
  // its default) would overlap the first timed run: wait for it (up to a minute).
  if (o.n >= kSnapshotMinRecords) {
    auto counter = [](const std::string& metrics, const char* result) {
      const std::string key =
          std::string("\nchromahouse_index_snapshots_written_total{result=\"") + result + "\"} ";
      const size_t at = metrics.find(key);
      return at == std::string::npos ? 0.0 : std::atof(metrics.c_str() + at + key.size());
    };
    const auto w0 = Clock::now();
    double ok = 0, failed = 0;
    while (ok + failed < 1 && Seconds(w0, Clock::now()) < 60) {
      const std::string metrics = Call(setup, ep, "GET", "/metrics");
      ok = counter(metrics, "ok");
      failed = counter(metrics, "error");
      if (ok + failed < 1) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    std::printf("# index snapshot %s after %.1f s more\n",
                ok >= 1       ? "written"
                : failed >= 1 ? "write FAILED"
                              : "NOT written",
                Seconds(w0, Clock::now()));
    std::fflush(stdout);
  }

  // Baseline: the same records and queries in-process.
  HnswParams params;  // what IndexParams (service/record_service.cc) makes of the defaults
  {
    const HnswConfig defaults;
    params.metric = Metric::kL2;
    params.max_neighbors = size_t(defaults.max_neighbors);
    params.ef_construction = size_t(defaults.ef_construction);
    params.ef_search = size_t(defaults.ef_search);
  }
  RecordStore store(params.metric);
  VectorSearch search(params);
  t0 = Clock::now();
  {
    std::vector<RecordRow> rows(o.n);
    for (size_t i = 0; i < o.n; ++i) {
      RecordRow& r = rows[i];
      r.id = IdOf(i);
      r.version = r.created = i + 1;
      r.embedding.assign(data.begin() + i * o.dim, data.begin() + (i + 1) * o.dim);
      r.metadata = Metadata{{"bucket", MetadataValue(int64_t(i % kBuckets))}};
    }
    search.OnApplied(store, store.Apply(rows));
    // As the server's background indexer: IndexStep with one thread per core (--indexer-threads
    // 0) on a worker pool.
    WorkerPool pool(int(hw) - 1);
    const HnswIndex::ParallelRunner runner = [&pool](int n, const std::function<void()>& work) {
      pool.Run(n, work);
    };
    while (search.IndexStep(store, int(hw), &runner)) {
    }
  }
  std::printf(
      "# in-process RecordStore + VectorSearch (M %zu, ef_construction %zu, ef %zu): "
      "built in %.2f s with %u threads, %zu indexed\n",
      params.max_neighbors, params.ef_construction, params.ef_search, Seconds(t0, Clock::now()), hw,
      search.indexed());
  std::fflush(stdout);

  const Where where{MetadataCondition{"bucket", MetadataOp::kEq, MetadataValue(kFilterBucket)}};
  auto run_in_process = [&](bool filtered) {
    InProcessRun run;
    std::vector<std::vector<uint32_t>> answers(o.queries);
    std::vector<size_t> query_of(o.queries);
    auto one = [&](size_t q, bool timed) {
      const auto s0 = Clock::now();
      // RecordService::Query: candidates first when filtered (RecordService::Select).
      std::optional<std::vector<uint32_t>> allowed;
      if (filtered) {
        allowed = store.FilterByIndex(where, store.OffsetsInInsertionOrder());
        if (!allowed) Fail("the metadata index cannot answer the filter");
      }
      SearchPath path = SearchPath::kNone;
      auto found = search.Search(store, queries.data() + q * o.dim, kK,
                                 allowed ? &*allowed : nullptr, params.ef_search, &path);
      const double s = Seconds(s0, Clock::now());
      if (!timed) return;
      run.lat.seconds.push_back(s);
      run.hnsw += path == SearchPath::kHnsw;
      run.brute_force += path == SearchPath::kBruteForce;
      for (const Neighbor& nb : found) answers[q].push_back(IndexOf(store.id(nb.second)));
      query_of[q] = q;
    };
    for (size_t q = 0; q < std::min<size_t>(o.queries, 200); ++q) one(q, false);  // warm-up
    const auto w0 = Clock::now();
    for (size_t q = 0; q < o.queries; ++q) one(q, true);
    run.lat.wall = Seconds(w0, Clock::now());
    run.recall = Recall(answers, query_of, filtered ? filtered_truth : truth);
    return run;
  };

  // Query request bodies, encoded before any timing.
  auto encode_queries = [&](bool filtered) {
    std::vector<std::string> requests;
    for (size_t q = 0; q < o.queries; ++q) {
      requests.push_back(EncodeRequest(ep, "POST", coll + "/query",
                                       QueryBody(queries.data() + q * o.dim, o.dim, filtered)));
    }
    return requests;
  };

  struct QuerySet {
    const char* key;
    const char* label;
    bool filtered;
    InProcessRun in_process;
    HttpRun one, four;
  };
  std::vector<QuerySet> sets = {
      {"unfiltered", "unfiltered", false, {}, {}, {}},
      {"where_bucket_3", "where {\"bucket\": 3} (10 %)", true, {}, {}, {}}};
  size_t failures = 0;
  std::string first_error;
  auto add_failures = [&](const HttpRun& r) {
    if (r.failures && first_error.empty()) first_error = r.first_error;
    failures += r.failures;
  };
  for (QuerySet& s : sets) {
    const std::vector<std::string> requests = encode_queries(s.filtered);
    const std::vector<uint32_t>& t = s.filtered ? filtered_truth : truth;
    s.in_process = run_in_process(s.filtered);
    s.one = RunQueries(ep, requests, o.passes, 1, t);
    s.four = RunQueries(ep, requests, o.passes, 4, t);
    add_failures(s.one);
    add_failures(s.four);
    std::printf("# %s: in-process p50 %s; HTTP p50 %s (1 connection), %s (4 connections)\n",
                s.label, Millis(s.in_process.lat.p50()).c_str(), Millis(s.one.lat.p50()).c_str(),
                Millis(s.four.lat.p50()).c_str());
    std::fflush(stdout);
  }

  // References for the 1-connection round trip: the loopback floor with the sizes of an unfiltered
  // query and its answer (headers included), and the server's cheapest route.
  const size_t reference_total = o.queries * o.passes;
  Latencies floor_lat, heartbeat_lat;
  {
    const std::string request = encode_queries(false).front();
    const size_t response_bytes =
        sets[0].one.response_bytes / std::max<size_t>(1, sets[0].one.lat.seconds.size()) + 100;
    floor_lat = LoopbackFloor(request.size(), response_bytes, reference_total);
    const std::vector<std::string> heartbeat = {EncodeRequest(ep, "GET", "/api/v2/heartbeat")};
    add_failures(RunRequests(ep, heartbeat, std::min<size_t>(reference_total, 200), 1, nullptr));
    const HttpRun run = RunRequests(ep, heartbeat, reference_total, 1, nullptr);
    add_failures(run);
    heartbeat_lat = run.lat;
  }

  // Gets, one connection, include embeddings.
  struct GetRun {
    const char* key;
    std::string label;
    size_t requests = 0, records = 0, bytes = 0;
    Latencies lat;
    double format_s = NAN;  // std::to_chars of the same floats, in-process
  };
  // Formatting the floats of `rows` as JSON arrays, one thread, into a string whose capacity
  // is already there: the in-process floor of any JSON answer holding them. Best of 3.
  auto format_seconds = [&](const std::vector<uint32_t>& rows) {
    double best = 1e300;
    std::string out;
    for (size_t r = 0; r < 4; ++r) {  // the first pass sizes the string
      out.clear();
      const auto f0 = Clock::now();
      for (uint32_t i : rows) AppendVector(out, data.data() + size_t{i} * o.dim, o.dim);
      if (r > 0) best = std::min(best, Seconds(f0, Clock::now()));
    }
    return best;
  };
  std::vector<GetRun> gets;
  simdjson::dom::parser get_parser;
  {
    // Batches of kGetBatch distinct random ids.
    Rng rng(12345);
    std::vector<std::vector<uint32_t>> batches(o.get_batches);
    std::vector<std::string> requests;
    std::vector<uint32_t> all_rows;
    const size_t per_batch = std::min(kGetBatch, o.n);
    for (auto& b : batches) {
      std::unordered_set<uint32_t> seen;
      while (b.size() < per_batch) {
        const uint32_t i = uint32_t(rng.Next() % o.n);
        if (seen.insert(i).second) b.push_back(i);
      }
      std::string body = "{\"ids\":[";
      for (size_t j = 0; j < b.size(); ++j) body += (j ? ",\"" : "\"") + IdOf(b[j]) + '"';
      body += "],\"include\":[\"embeddings\"]}";
      requests.push_back(EncodeRequest(ep, "POST", coll + "/get", body));
      all_rows.insert(all_rows.end(), b.begin(), b.end());
    }
    GetRun g{"by_ids", "by ids, " + std::to_string(per_batch) + " random ids per request"};
    if (!requests.empty()) {
      add_failures(RunRequests(ep, requests, std::min<size_t>(requests.size(), 20), 1, nullptr));
      size_t records = 0;
      HttpRun run =
          RunRequests(ep, requests, requests.size(), 1, [&](size_t i, const std::string& body) {
            std::vector<uint32_t> got = CheckGetAnswer(get_parser, body, data, o.dim);
            std::vector<uint32_t> want = batches[i];
            std::sort(got.begin(), got.end());
            std::sort(want.begin(), want.end());
            if (got != want) Fail("get by ids returned other records");
            records += got.size();
          });
      add_failures(run);
      g.requests = requests.size();
      g.records = records;
      g.bytes = run.response_bytes;
      g.lat = run.lat;
      g.format_s = format_seconds(all_rows);
    }
    gets.push_back(std::move(g));
  }
  std::vector<uint32_t> every(o.n);
  for (size_t i = 0; i < o.n; ++i) every[i] = uint32_t(i);
  const double format_all_s = format_seconds(every);
  const size_t whole_reps = o.smoke ? 1 : 3;
  {
    // The whole collection in one request: the best of `whole_reps`.
    const std::vector<std::string> requests = {
        EncodeRequest(ep, "POST", coll + "/get", "{\"include\":[\"embeddings\"]}")};
    GetRun g{"whole_one_request",
             "whole collection, one request (best of " + std::to_string(whole_reps) + ")"};
    g.lat.wall = 1e300;
    for (size_t r = 0; r < whole_reps; ++r) {
      size_t records = 0;
      HttpRun run = RunRequests(ep, requests, 1, 1, [&](size_t, const std::string& body) {
        std::vector<uint32_t> got = CheckGetAnswer(get_parser, body, data, o.dim);
        if (got != every) Fail("get of the whole collection returned other records (or order)");
        records = got.size();
      });
      add_failures(run);
      if (run.lat.wall < g.lat.wall) {
        g.lat = run.lat;
        g.requests = 1;
        g.records = records;
        g.bytes = run.response_bytes;
      }
    }
    g.format_s = format_all_s;
    gets.push_back(std::move(g));
  }
  {
    // The whole collection in pages of kPage (limit/offset), one after the other: best of reps.
    std::vector<std::string> requests;
    for (size_t off = 0; off < o.n; off += kPage) {
      requests.push_back(
          EncodeRequest(ep, "POST", coll + "/get",
                        "{\"include\":[\"embeddings\"],\"limit\":" + std::to_string(kPage) +
                            ",\"offset\":" + std::to_string(off) + "}"));
    }
    GetRun g{"whole_paged", "whole collection, pages of " + std::to_string(kPage) +
                                " (limit/offset; best of " + std::to_string(whole_reps) + ")"};
    g.lat.wall = 1e300;
    for (size_t r = 0; r < whole_reps; ++r) {
      std::vector<uint32_t> all;
      HttpRun run =
          RunRequests(ep, requests, requests.size(), 1, [&](size_t, const std::string& body) {
            std::vector<uint32_t> got = CheckGetAnswer(get_parser, body, data, o.dim);
            all.insert(all.end(), got.begin(), got.end());
          });
      add_failures(run);
      if (run.failures == 0 && all != every) Fail("paged get returned other records (or order)");
      if (run.lat.wall < g.lat.wall) {
        g.lat = run.lat;
        g.requests = requests.size();
        g.records = all.size();
        g.bytes = run.response_bytes;
      }
    }
    g.format_s = format_all_s;
    gets.push_back(std::move(g));
  }

  // Clean up a server we did not start; stop ours.
  if (!server) {
    Connection c(ep);
    c.Send(EncodeRequest(ep, "DELETE", kCollections + "/" + name));
  }
  // Ours must stop cleanly on SIGTERM (exit status 0).
  int server_exit = -1;
  if (server) {
    const int status = server->Stop();
    server_exit = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    if (server_exit != 0) {
      ++failures;
      if (first_error.empty()) {
        first_error =
            "the server exited with status " + std::to_string(server_exit) + " after SIGTERM";
      }
    }
  }

  // Report.
  auto diff = [](double http, double base) { return Fmt("%+.3f ms", (http - base) * 1e3); };
  std::printf(
      "\n| query (k = %zu, ef %zu) | in-process, 1 thread | HTTP, 1 connection | "
      "HTTP, 4 connections |\n|---|---:|---:|---:|\n",
      kK, params.ef_search);
  for (const QuerySet& s : sets) {
    const Latencies& b = s.in_process.lat;
    auto lat_row = [&](const char* what, double base, double one, double four) {
      std::printf("| %s %s | %s | %s (%s) | %s (%s) |\n", s.label, what, Millis(base).c_str(),
                  Millis(one).c_str(), diff(one, base).c_str(), Millis(four).c_str(),
                  diff(four, base).c_str());
    };
    lat_row("p50", b.p50(), s.one.lat.p50(), s.four.lat.p50());
    lat_row("p99", b.p99(), s.one.lat.p99(), s.four.lat.p99());
    lat_row("p99.9", b.p999(), s.one.lat.p999(), s.four.lat.p999());
    std::printf("| %s QPS | %s | %s (%.2f×) | %s (%.2f×) |\n", s.label, Rate(b.qps()).c_str(),
                Rate(s.one.lat.qps()).c_str(), s.one.lat.qps() / b.qps(),
                Rate(s.four.lat.qps()).c_str(), s.four.lat.qps() / b.qps());
    std::printf("| %s recall@10 | %.4f | %.4f | %.4f |\n", s.label, s.in_process.recall,
                s.one.recall, s.four.recall);
    std::printf("| %s path (in-process) | %s | | |\n", s.label,
                (s.in_process.hnsw          ? "HNSW"
                 : s.in_process.brute_force ? "brute force"
                                            : "none"));
  }

  // Where the 1-connection round trip of an unfiltered query goes.
  {
    const QuerySet& u = sets[0];
    const double search = u.in_process.lat.p50(), http = u.one.lat.p50();
    const double hb = heartbeat_lat.p50(), fl = floor_lat.p50();
    std::printf(
        "\n| 1 connection, unfiltered query (p50 of %zu each) | p50 | p99 | share of the HTTP "
        "p50 |\n|---|---:|---:|---:|\n",
        reference_total);
    auto row = [&](const char* what, double p50, double p99) {
      std::printf("| %s | %s | %s | %.0f %% |\n", what, Millis(p50).c_str(),
                  std::isnan(p99) ? "" : Millis(p99).c_str(), 100 * p50 / http);
    };
    row("loopback TCP exchange of the same sizes, no HTTP (this machine's floor)", fl,
        floor_lat.p99());
    row("GET /api/v2/heartbeat (the server's HTTP path, no JSON, no search)", hb,
        heartbeat_lat.p99());
    row("in-process search (RecordStore + VectorSearch)", search, u.in_process.lat.p99());
    row("rest: HTTP p50 − heartbeat p50 − search p50 (JSON, routing, query handler)",
        http - hb - search, NAN);
    row("POST …/query over HTTP", http, u.one.lat.p99());
  }

  struct Target {
    std::string key, what, measured;
    bool pass;
  };
  std::vector<Target> targets;
  double min_recall = 1.0;
  for (const QuerySet& s : sets) {
    const double d1 = s.one.lat.p50() - s.in_process.lat.p50();
    const double d4 = s.four.lat.p50() - s.in_process.lat.p50();
    targets.push_back(
        {std::string("p50_overhead_") + s.key,
         std::string("HTTP p50 ≤ in-process p50 + 0.3 ms, ") + s.label + ", 1 connection",
         diff(s.one.lat.p50(), s.in_process.lat.p50()) + " (" + Millis(s.one.lat.p50()) + " vs " +
             Millis(s.in_process.lat.p50()) + "); 4 connections: " + Fmt("%+.3f ms", d4 * 1e3),
         d1 <= kTargetOverheadSeconds});
    min_recall = std::min({min_recall, s.one.recall, s.four.recall});
  }
  if (std::isnan(min_recall)) min_recall = 0;
  targets.push_back({"recall", "recall@10 ≥ 0.9 over HTTP, every run", Fmt("min %.4f", min_recall),
                     min_recall >= kMinRecall});
  targets.push_back(
      {"failed_requests", "failed HTTP requests = 0", std::to_string(failures), failures == 0});
  std::printf("\n| target | measured | verdict |\n|---|---|---|\n");
  for (const Target& t : targets) {
    std::printf("| %s | %s | %s |\n", t.what.c_str(), t.measured.c_str(), t.pass ? "PASS" : "MISS");
  }

  std::printf(
      "\n| get, include embeddings (1 connection) | requests | records | response MB | "
      "p50 per request | records/s | MB/s | to_chars of the same floats, in-process | "
      "ratio |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|\n");
  for (const GetRun& g : gets) {
    const double rps = double(g.records) / g.lat.wall;
    const double base_rps = double(g.key == std::string("by_ids") ? g.records : o.n) / g.format_s;
    std::printf("| %s | %zu | %zu | %.1f | %s | %s | %.0f | %s records/s | %.2f× |\n",
                g.label.c_str(), g.requests, g.records, double(g.bytes) / 1e6,
                Millis(g.lat.p50()).c_str(), Rate(rps).c_str(), double(g.bytes) / 1e6 / g.lat.wall,
                Rate(base_rps).c_str(), rps / base_rps);
  }

  // JSON.
  std::string j = "{\n  \"benchmark\": \"query\",\n";
  j += "  \"params\": {\"n\": " + std::to_string(o.n) + ", \"dim\": " + std::to_string(o.dim) +
       ", \"queries\": " + std::to_string(o.queries) + ", \"passes\": " + std::to_string(o.passes) +
       ", \"k\": " + std::to_string(kK) +
       ", \"metric\": \"l2\", \"M\": " + std::to_string(params.max_neighbors) +
       ", \"ef_construction\": " + std::to_string(params.ef_construction) +
       ", \"ef\": " + std::to_string(params.ef_search) +
       ", \"clusters\": " + std::to_string(spec.clusters) +
       ", \"buckets\": " + std::to_string(kBuckets) +
       ", \"smoke\": " + (o.smoke ? "true" : "false") + "},\n";
  j += "  \"server\": {\"url\": " + JsonStr(ep.url()) +
       ", \"started\": " + (server ? "true" : "false") + ", \"start_s\": " + JsonNum(start_s) +
       ", \"exit_status\": " + std::to_string(server_exit) + "},\n";
  j += "  \"load_average\": {\"start\": " + JsonStr(load_start) +
       ", \"end\": " + JsonStr(LoadAverage()) + "},\n";
  j += "  \"ingest\": {\"seconds\": " + JsonNum(ingest_s) +
       ", \"records_per_s\": " + JsonNum(double(o.n) / ingest_s) +
       ", \"graph_complete_s\": " + JsonNum(indexed_s) + "},\n";
  j += "  \"queries\": {\n";
  for (size_t i = 0; i < sets.size(); ++i) {
    const QuerySet& s = sets[i];
    auto http_run = [](const HttpRun& r) {
      return "{" + Json(r.lat) + ", \"recall_at_10\": " + JsonNum(r.recall) +
             ", \"failures\": " + std::to_string(r.failures) + "}";
    };
    j += "    " + JsonStr(s.key) + ": {\"in_process\": {" + Json(s.in_process.lat) +
         ", \"recall_at_10\": " + JsonNum(s.in_process.recall) +
         ", \"hnsw\": " + std::to_string(s.in_process.hnsw) +
         ", \"brute_force\": " + std::to_string(s.in_process.brute_force) +
         "},\n      \"http_1_connection\": " + http_run(s.one) +
         ",\n      \"http_4_connections\": " + http_run(s.four) +
         ",\n      \"p50_overhead_1_connection_s\": " +
         JsonNum(s.one.lat.p50() - s.in_process.lat.p50()) +
         ", \"p50_overhead_4_connections_s\": " +
         JsonNum(s.four.lat.p50() - s.in_process.lat.p50()) + "}" +
         (i + 1 < sets.size() ? ",\n" : "\n");
  }
  j += "  },\n  \"references_1_connection\": {\"loopback_floor\": {" + Json(floor_lat) +
       "}, \"heartbeat\": {" + Json(heartbeat_lat) + "}},\n";
  j += "  \"get\": {\n";
  for (size_t i = 0; i < gets.size(); ++i) {
    const GetRun& g = gets[i];
    j += "    " + JsonStr(g.key) + ": {\"requests\": " + std::to_string(g.requests) +
         ", \"records\": " + std::to_string(g.records) + ", \"bytes\": " + std::to_string(g.bytes) +
         ", \"seconds\": " + JsonNum(g.lat.wall) + ", \"p50_s\": " + JsonNum(g.lat.p50()) +
         ", \"records_per_s\": " + JsonNum(double(g.records) / g.lat.wall) +
         ", \"mb_per_s\": " + JsonNum(double(g.bytes) / 1e6 / g.lat.wall) +
         ", \"to_chars_s\": " + JsonNum(g.format_s) + "}" + (i + 1 < gets.size() ? ",\n" : "\n");
  }
  j += "  },\n  \"targets\": {\n";
  for (size_t i = 0; i < targets.size(); ++i) {
    j += "    " + JsonStr(targets[i].key) + ": {\"target\": " + JsonStr(targets[i].what) +
         ", \"measured\": " + JsonStr(targets[i].measured) +
         ", \"verdict\": " + JsonStr(targets[i].pass ? "PASS" : "MISS") + "}" +
         (i + 1 < targets.size() ? ",\n" : "\n");
  }
  j += "  }\n}\n";
  {
    std::error_code ec;
    std::filesystem::path p(o.out);
    if (p.has_parent_path()) std::filesystem::create_directories(p.parent_path(), ec);
    std::ofstream out(o.out, std::ios::trunc);
    out << j;
    if (!out) {
      std::fprintf(stderr, "query_bench: cannot write %s\n", o.out.c_str());
      return 1;
    }
  }
  std::printf("\n# load average at end: %s; wrote %s\n", LoadAverage().c_str(), o.out.c_str());

  if (failures) {
    std::fprintf(stderr, "query_bench: %zu HTTP request(s) failed; first: %s\n", failures,
                 first_error.c_str());
    return 1;
  }
  if (min_recall < kMinRecall) {
    std::fprintf(stderr, "query_bench: recall@10 %.4f < %.1f\n", min_recall, kMinRecall);
    return 1;
  }
  return 0;
}

}  // namespace
}  // namespace chromahouse::bench

int main(int argc, char** argv) {
  // A closed connection must fail a request, not kill the process.
  signal(SIGPIPE, SIG_IGN);
  try {
    return chromahouse::bench::Main(argc, argv);
  } catch (const chromahouse::bench::BenchError& e) {
    std::fprintf(stderr, "query_bench: %s\n", e.what());
    return 1;
  }
}
