#include "server/app.h"

#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <random>
#include <thread>

#include "api/api.h"
#include "common/log.h"
#include "common/metrics.h"
#include "server/embedded_clickhouse.h"
#include "server/http_server.h"
#include "service/catalog_service.h"
#include "service/instance_registry.h"
#include "service/record_service.h"
#include "storage/clickhouse/clickhouse_storage.h"
#include "storage/postgres/postgres_catalog_store.h"
#include "storage/postgres/postgres_change_feed.h"
#include "storage/storage_catalog_store.h"

namespace chromahouse {
namespace {

// Initialises a store's schema, retrying while it is unreachable (it may still be starting).
template <typename Store>
Status InitializeStorage(Store* storage, int timeout_seconds) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_seconds);
  while (true) {
    Status s = storage->Initialize();
    if (s.ok() || s.code() != StatusCode::kUnavailable ||
        std::chrono::steady_clock::now() > deadline) {
      return s;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

// Requests by route pattern (never the raw path: ids would make unbounded series), method and
// status, and their latency by route.
void RecordRequestMetrics(const Api& api, const HttpRequest& req, int status, int64_t micros) {
  std::string route = api.RouteName(req);
  Metrics()
      .GetCounter("chromahouse_http_requests_total", "HTTP requests by route, method and status",
                  {{"route", route}, {"method", req.method}, {"status", std::to_string(status)}})
      .Add();
  Metrics()
      .GetHistogram("chromahouse_http_request_duration_seconds",
                    "Time from a complete request to its response, by route", {{"route", route}},
                    Histogram::LatencyBuckets())
      .Observe(static_cast<double>(micros) / 1e6);
}

// Values owned by the services, read when /metrics is scraped. Null pointers unregister them
// (before the services go away).
void RegisterServiceMetrics(RecordService* records, HttpServer* http) {
  Registry& m = Metrics();
  static const char* kNames[] = {"chromahouse_cache_bytes",
                                 "chromahouse_cache_collections",
                                 "chromahouse_cache_hits_total",
                                 "chromahouse_cache_misses_total",
                                 "chromahouse_cache_evictions_total",
                                 "chromahouse_queries_total",
                                 "chromahouse_http_in_flight_requests",
                                 "chromahouse_index_snapshot_loads_total",
                                 "chromahouse_index_snapshots_written_total",
                                 "chromahouse_index_snapshot_bytes_written_total",
                                 "chromahouse_collection_memory_bytes",
                                 "chromahouse_collection_snapshot_timestamp_seconds"};
  if (!records || !http) {
    for (const char* name : kNames) m.RemoveCollector(name);
    return;
  }
  auto cache = [records](auto field) {
    return [records, field](const Registry::Emit& emit) {
      auto stats = records->cache_stats();
      emit({}, static_cast<double>(field(stats)));
    };
  };
  using Stats = CollectionCache::Stats;
  m.SetCollector("chromahouse_cache_bytes", "Bytes of collections loaded in memory", "gauge",
                 cache([](const Stats& s) { return s.bytes; }));
  m.SetCollector("chromahouse_cache_collections", "Collections loaded in memory", "gauge",
                 cache([](const Stats& s) { return s.collections; }));
  m.SetCollector("chromahouse_cache_hits_total", "Collection lookups served from memory", "counter",
                 cache([](const Stats& s) { return s.hits; }));
  m.SetCollector("chromahouse_cache_misses_total", "Collection lookups that loaded from ClickHouse",
                 "counter", cache([](const Stats& s) { return s.misses; }));
  m.SetCollector("chromahouse_cache_evictions_total",
                 "Collections evicted to stay within cache_memory_limit_bytes", "counter",
                 cache([](const Stats& s) { return s.evictions; }));
  m.SetCollector("chromahouse_index_snapshot_loads_total",
                 "Collection loads that found an index snapshot, by whether it was adopted",
                 "counter", [records](const Registry::Emit& emit) {
                   auto s = records->cache_stats();
                   emit({{"result", "adopted"}}, static_cast<double>(s.snapshots_adopted));
                   emit({{"result", "refused"}}, static_cast<double>(s.snapshots_refused));
                 });
  m.SetCollector("chromahouse_index_snapshots_written_total",
                 "Index snapshots written to ClickHouse, by outcome", "counter",
                 [records](const Registry::Emit& emit) {
                   auto s = records->snapshot_counts();
                   emit({{"result", "ok"}}, static_cast<double>(s.written));
                   emit({{"result", "error"}}, static_cast<double>(s.failed));
                 });
  m.SetCollector("chromahouse_index_snapshot_bytes_written_total",
                 "Bytes of index snapshots written to ClickHouse", "counter",
                 [records](const Registry::Emit& emit) {
                   emit({}, static_cast<double>(records->snapshot_counts().bytes));
                 });
  m.SetCollector("chromahouse_queries_total",
                 "Nearest-neighbour queries by the path the planner took", "counter",
                 [records](const Registry::Emit& emit) {
                   auto p = records->path_counts();
                   emit({{"path", "brute_force"}}, static_cast<double>(p.brute_force));
                   emit({{"path", "hnsw"}}, static_cast<double>(p.hnsw));
                 });
  // Per collection loaded in this instance (at most what the cache budget holds).
  m.SetCollector("chromahouse_collection_memory_bytes",
                 "Memory held by each collection loaded in this instance", "gauge",
                 [records](const Registry::Emit& emit) {
                   for (const auto& c : records->LoadedCollections()) {
                     emit({{"collection", c.id}}, static_cast<double>(c.bytes));
                   }
                 });
  m.SetCollector("chromahouse_collection_snapshot_timestamp_seconds",
                 "When the index snapshot a loaded collection's graph was saved in or adopted "
                 "from was written (Unix time; absent: none)",
                 "gauge", [records](const Registry::Emit& emit) {
                   for (const auto& c : records->LoadedCollections()) {
                     if (c.snapshot_version == 0) continue;
                     emit({{"collection", c.id}},
                          static_cast<double>(VersionClock::MillisOf(c.snapshot_version)) / 1000);
                   }
                 });
  m.SetCollector(
      "chromahouse_http_in_flight_requests", "Requests being handled or queued", "gauge",
      [http](const Registry::Emit& emit) { emit({}, static_cast<double>(http->in_flight())); });
}

// The instance's identity, start time and cache budget (read by the console's overview).
void RegisterInstanceMetrics(const std::string& storage, const std::string& catalog,
                             int instance_id, int64_t cache_budget_bytes) {
  Registry& m = Metrics();
  const double started =
      static_cast<double>(std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count());
  m.SetCollector("chromahouse_info", "This instance: version, storage, catalog, instance id",
                 "gauge", [=](const Registry::Emit& emit) {
                   emit({{"version", kVersion},
                         {"instance_id", std::to_string(instance_id)},
                         {"storage", storage},
                         {"catalog", catalog}},
                        1);
                 });
  m.SetCollector("chromahouse_start_time_seconds", "When this instance started (Unix time)",
                 "gauge", [started](const Registry::Emit& emit) { emit({}, started); });
  m.SetCollector("chromahouse_cache_budget_bytes",
                 "Memory for loaded collections (cache_memory_limit_bytes, or its default)",
                 "gauge", [cache_budget_bytes](const Registry::Emit& emit) {
                   emit({}, static_cast<double>(cache_budget_bytes));
                 });
}

// The record store of `config`: an external ClickHouse, or an embedded one started here.
struct ClickHouseRecords {
  std::unique_ptr<EmbeddedClickHouse> embedded;
  std::unique_ptr<ClickHouseStorage> storage;
};

Result<ClickHouseRecords> OpenRecordStore(const Config& config) {
  ClickHouseRecords out;
  CurlTransportOptions transport_options;
  if (config.clickhouse_url.empty()) {
    EmbeddedClickHouseOptions eo;
    eo.data_dir = config.persist_path;
    eo.binary = config.clickhouse_binary;
    out.embedded = std::make_unique<EmbeddedClickHouse>(eo);
    RETURN_IF_ERROR(out.embedded->Start());
    transport_options.url = out.embedded->url();
  } else {
    transport_options.url = config.clickhouse_url;
    transport_options.user = config.clickhouse_user;
    transport_options.password = config.clickhouse_password;
  }
  out.storage =
      std::make_unique<ClickHouseStorage>(std::make_unique<CurlTransport>(transport_options),
                                          config.clickhouse_database, config.clickhouse_cluster);
  if (Status s = InitializeStorage(out.storage.get(), 30); !s.ok()) {
    return Status(s.code(), "cannot initialise ClickHouse storage: " + s.message());
  }
  return out;
}

void CloseRecordStore(ClickHouseRecords& store) {
  // Close our keep-alive connections first: ClickHouse waits for open connections on shutdown.
  store.storage.reset();
  if (store.embedded) store.embedded->Stop();
}

}  // namespace

int MigrateCatalog(const Config& config, const std::string& to_url) {
  SetLogLevel(config.log_level);
  SetLogFormat(config.log_format);
  auto opened = OpenRecordStore(config);
  if (!opened.ok()) {
    LOG_ERROR("{}", opened.status().message());
    return 1;
  }
  ClickHouseRecords store = std::move(opened).value();
  VersionClock clock;
  StorageCatalogStore source(store.storage.get(), &clock);
  auto snapshot = source.Load(/*include_deleted=*/false);
  auto forks =
      snapshot.ok() ? source.LoadForks() : Result<std::vector<CollectionFork>>(snapshot.status());
  int code = 0;
  if (!snapshot.ok() || !forks.ok()) {
    LOG_ERROR("cannot read the ClickHouse catalog: {}",
              (snapshot.ok() ? forks.status() : snapshot.status()).message());
    code = 1;
  } else {
    // Several instances on a ClickHouse catalog may have created one name twice: nothing is
    // copied until each such name is left with one collection.
    std::map<std::string, std::vector<const Collection*>> by_name;
    for (const Collection& c : snapshot->collections) {
      by_name[c.tenant + "/" + c.database + "/" + c.name].push_back(&c);
    }
    std::string duplicates;
    for (const auto& [name, list] : by_name) {
      if (list.size() < 2) continue;
      duplicates += "\n  " + name + ":";
      for (const Collection* c : list) duplicates += " " + c->id;
    }
    if (!duplicates.empty()) {
      LOG_ERROR(
          "the ClickHouse catalog holds several live collections under one name; nothing "
          "was copied. Keep one of each (rename the others with PUT "
          "/api/v2/tenants/{{tenant}}/databases/{{database}}/collections/{{id}} and "
          "{{\"new_name\": …}}, or delete them), with one chromahouse instance running, "
          "then migrate again:{}",
          duplicates);
      code = 1;
    } else {
      PostgresCatalogStore target(PostgresCatalogOptions{to_url});
      Status s = InitializeStorage(&target, 30);
      auto copied = s.ok() ? target.Import(*snapshot, *forks) : Result<size_t>(s);
      if (!copied.ok()) {
        LOG_ERROR("cannot copy the catalog to PostgreSQL: {}", copied.status().message());
        code = 1;
      } else {
        auto where = target.Describe();
        LOG_INFO(
            "copied {} of {} tenants, databases and collections to {} (the others were "
            "there already); start every instance with --catalog-url",
            *copied,
            snapshot->tenants.size() + snapshot->databases.size() + snapshot->collections.size(),
            where.ok() ? *where : std::string("PostgreSQL"));
      }
    }
  }
  CloseRecordStore(store);
  return code;
}

int RunServer(const Config& config) {
  SetLogLevel(config.log_level);
  SetLogFormat(config.log_format);

  // Signals are taken synchronously by this thread (sigwait); block them before any thread
  // starts so that every thread inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  auto opened = OpenRecordStore(config);
  if (!opened.ok()) {
    LOG_ERROR("{}", opened.status().message());
    return 1;
  }
  ClickHouseRecords record_store = std::move(opened).value();
  std::unique_ptr<EmbeddedClickHouse>& embedded = record_store.embedded;
  ClickHouseStorage& storage = *record_store.storage;
  uint8_t instance_id = config.instance_id >= 0 ? static_cast<uint8_t>(config.instance_id)
                                                : static_cast<uint8_t>(std::random_device{}());
  VersionClock clock(instance_id);
  std::unique_ptr<CatalogStore> catalog_store;
  if (config.catalog_url.empty()) {
    catalog_store = std::make_unique<StorageCatalogStore>(&storage, &clock);
  } else {
    auto postgres =
        std::make_unique<PostgresCatalogStore>(PostgresCatalogOptions{config.catalog_url});
    if (Status s = InitializeStorage(postgres.get(), 30); !s.ok()) {
      LOG_ERROR("cannot initialise the PostgreSQL catalog: {}", s.message());
      CloseRecordStore(record_store);
      return 1;
    }
    catalog_store = std::move(postgres);
  }
  CatalogService catalog(catalog_store.get(), &storage);
  if (Status s = catalog.Initialize(); !s.ok()) {
    LOG_ERROR("cannot load the catalog: {}", s.message());
    CloseRecordStore(record_store);
    return 1;
  }

  size_t cache_budget = static_cast<size_t>(config.cache_memory_limit_bytes);
  if (cache_budget == 0) {
    cache_budget = static_cast<size_t>(sysconf(_SC_PHYS_PAGES)) *
                   static_cast<size_t>(sysconf(_SC_PAGE_SIZE)) / 2;
  }
  auto records_owner = std::make_unique<RecordService>(&catalog, &storage, &clock, cache_budget);
  RecordService& records = *records_owner;
  // With a PostgreSQL catalog, instances announce their writes and catalog changes to each
  // other (LISTEN/NOTIFY) and refresh on announcements instead of polling ClickHouse — unless
  // they check before every request (freshness 0), or read from a ClickHouse cluster, whose
  // replicas may receive announced rows late (polled as before, announcements on top).
  std::unique_ptr<PostgresChangeFeed> feed;
  FreshnessOptions freshness{config.freshness_ms, config.freshness_window_ms,
                             config.freshness_full_scan_seconds};
  if (!config.catalog_url.empty()) {
    freshness.announced = config.freshness_ms > 0 && config.clickhouse_cluster.empty();
    feed = std::make_unique<PostgresChangeFeed>(config.catalog_url);
    records.SetStoredListener(
        [&feed](const std::string& id, uint64_t version) { feed->AnnounceRecords(id, version); });
  }
  records.EnableFreshness(freshness);
  if (feed) {
    feed->Start({[&records] { records.OnAnnouncedCatalogChange(); },
                 [&records](const std::string& id, uint64_t version) {
                   records.OnAnnouncedWrite(id, version);
                 },
                 [&records] { records.OnAnnouncementsMissed(); }});
  }
  SnapshotOptions snapshot_options;
  snapshot_options.min_records = static_cast<size_t>(config.index_snapshot_min_records);
  records.SetSnapshotOptions(snapshot_options);
  records.SetIndexerThreads(config.indexer_threads);
  LOG_INFO("instance id {}; freshness {}", instance_id,
           config.freshness_ms < 0    ? std::string("off (single instance)")
           : config.freshness_ms == 0 ? std::string("checked before every request")
           : freshness.announced
               ? std::string("announced through PostgreSQL (polled every ") +
                     std::to_string(freshness.announced_fallback_ms / 1000) + " s as a fallback)"
               : std::to_string(config.freshness_ms) + " ms");
  catalog.SetDeletionListener([&records](const std::vector<std::string>& ids, bool reset) {
    if (reset) {
      records.OnReset();
    } else {
      records.OnCollectionsDeleted(ids);
    }
  });

  AuthOptions auth_options;
  auth_options.provider = config.auth_provider;
  auth_options.credentials = config.auth_credentials;
  auth_options.credentials_file = config.auth_credentials_file;
  auth_options.token_header = config.auth_token_transport_header;
  auto authenticator = Authenticator::Create(auth_options);
  if (!authenticator.ok()) {
    LOG_ERROR("{}", authenticator.status().message());
    return 1;
  }
  if (*authenticator) {
    LOG_INFO("authentication: {} ({} user{})",
             (*authenticator)->kind() == Authenticator::Kind::kToken ? "token" : "basic",
             (*authenticator)->user_count(), (*authenticator)->user_count() == 1 ? "" : "s");
  }

  ApiOptions api_options;
  api_options.authenticator = authenticator->get();
  api_options.allow_reset = config.allow_reset;
  api_options.max_batch_size = config.max_batch_size;
  api_options.cors_allow_origins = config.cors_allow_origins;
  api_options.max_pending_write_bytes = config.max_pending_write_bytes;
  api_options.console = config.console;
  api_options.console_dir = config.console_dir;
  Api api(api_options, &catalog, &records);

  HttpServerOptions http_options;
  http_options.host = config.host;
  http_options.port = config.port;
  http_options.io_threads =
      config.io_threads > 0 ? config.io_threads
                            : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  http_options.worker_threads = config.worker_threads;
  http_options.max_body_bytes = config.max_payload_size_bytes;
  http_options.max_concurrent_requests = config.max_concurrent_requests;
  http_options.queue_timeout_seconds = config.request_timeout_seconds;
  HttpServer http(
      http_options, [&api](const HttpRequest& req) { return api.Handle(req); },
      [&api](const HttpRequest& req, int status, int64_t micros) {
        LOG_INFO("{} {} {} {:.3f}ms", req.method, req.path, status, micros / 1000.0);
        RecordRequestMetrics(api, req, status, micros);
      });
  RegisterServiceMetrics(&records, &http);
  // This instance announces itself in ClickHouse (key: host name and configured port); with
  // the catalog there, it refuses catalog changes while another instance shares the database.
  char hostname[256] = "localhost";
  gethostname(hostname, sizeof hostname - 1);
  InstanceRegistry registry(
      &storage, InstanceRegistry::Options{std::string(hostname) + ":" + std::to_string(config.port),
                                          config.catalog_url.empty()});
  catalog.SetWriteGuard([&registry] { return registry.CatalogWritesAllowed(); });
  if (Status s = http.Start(); !s.ok()) {
    LOG_ERROR("{}", s.message());
    return 1;
  }
  if (Status s = registry.Start(); !s.ok()) {
    LOG_WARN("could not announce this instance in ClickHouse: {}", s.message());
  }

  auto described = storage.Describe();
  LOG_INFO("chromahouse {} listening on http://{}:{}", kVersion, config.host, http.port());
  if (embedded) {
    LOG_INFO("data directory: {} (embedded ClickHouse, pid {})",
             std::filesystem::absolute(config.persist_path).string(), embedded->pid());
  }
  LOG_INFO("storage: {}", described.ok() ? *described : described.status().message());
  auto catalog_described = catalog_store->Describe();
  LOG_INFO("catalog: {}",
           catalog_described.ok() ? *catalog_described : catalog_described.status().message());
  if (config.console) {
    LOG_INFO("console: http://{}:{}/console/{}", config.host, http.port(),
             config.console_dir.empty() ? "" : " (files from " + config.console_dir + ")");
  }
  // What the console's overview shows of this instance.
  RegisterInstanceMetrics(described.ok() ? *described : "unknown",
                          catalog_described.ok() ? *catalog_described : "unknown", instance_id,
                          static_cast<int64_t>(cache_budget));

  int sig = 0;
  sigwait(&signals, &sig);
  LOG_INFO("received {}, shutting down", sig == SIGINT ? "SIGINT" : "SIGTERM");
  http.Stop();
  registry.Stop();
  catalog.SetWriteGuard(nullptr);
  RegisterServiceMetrics(nullptr, nullptr);
  // Close our keep-alive connections first: ClickHouse waits for open connections on shutdown.
  catalog.SetDeletionListener(nullptr);
  if (feed) feed->Stop();
  records_owner.reset();
  catalog_store.reset();
  CloseRecordStore(record_store);
  LOG_INFO("stopped");
  return 0;
}

}  // namespace chromahouse
