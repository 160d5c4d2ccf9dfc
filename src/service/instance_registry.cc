#include "service/instance_registry.h"

#include "common/clock.h"
#include "common/log.h"

namespace chromahouse {

InstanceRegistry::InstanceRegistry(Storage* storage, Options options)
    : storage_(storage), options_(std::move(options)), started_ms_(NowMillis()) {}

InstanceRegistry::~InstanceRegistry() { Stop(); }

Status InstanceRegistry::Start() {
  Status s = BeatOnce();
  thread_ = std::thread([this] { Loop(); });
  return s;
}

void InstanceRegistry::Stop() {
  {
    MutexLock lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  cv_.NotifyAll();
  if (!thread_.joinable()) return;
  thread_.join();
  Storage::InstanceBeat last{options_.instance,
                             options_.catalog_in_clickhouse ? "clickhouse" : "postgresql",
                             NowMillis(), false};
  if (Status s = storage_->WriteInstanceBeat(last); !s.ok()) {
    LOG_WARN("could not record this instance's stop: {}", s.message());
  }
}

Status InstanceRegistry::BeatOnce() {
  const int64_t now = NowMillis();
  RETURN_IF_ERROR(storage_->WriteInstanceBeat(
      {options_.instance, options_.catalog_in_clickhouse ? "clickhouse" : "postgresql", now,
       true}));
  ASSIGN_OR_RETURN(auto beats, storage_->LoadInstanceBeats(now - options_.expiry_ms));
  std::vector<std::string> others;
  for (const auto& b : beats) {
    if (b.alive && b.instance != options_.instance && b.seen_ms >= started_ms_) {
      others.push_back(b.instance + " (catalog in " + b.catalog + ")");
    }
  }
  MutexLock lock(mu_);
  if (options_.catalog_in_clickhouse && !others.empty() && !warned_) {
    LOG_ERROR(
        "another chromahouse instance uses this ClickHouse database ({}): with the "
        "catalog in ClickHouse, collection names cannot be kept unique across "
        "instances, so catalog changes are refused; start every instance with "
        "--catalog-url postgresql://…",
        others.front());
  }
  warned_ = !others.empty();
  others_ = std::move(others);
  return Status::Ok();
}

void InstanceRegistry::Loop() {
  MutexLock lock(mu_);
  while (!stopping_) {
    cv_.WaitFor(mu_, std::chrono::milliseconds(options_.beat_ms));
    if (stopping_) return;
    lock.Unlock();
    if (Status s = BeatOnce(); !s.ok()) LOG_DEBUG("instance beat failed: {}", s.message());
    lock.Lock();
  }
}

Status InstanceRegistry::CatalogWritesAllowed() const {
  if (!options_.catalog_in_clickhouse) return Status::Ok();
  MutexLock lock(mu_);
  if (others_.empty()) return Status::Ok();
  return Status::FailedPrecondition(
      "Catalog changes are refused: another chromahouse instance shares this ClickHouse "
      "database (" +
      others_.front() +
      ") and the catalog is kept in ClickHouse, which cannot "
      "keep collection names unique across instances. Keep the catalog in PostgreSQL: start "
      "every instance with --catalog-url postgresql://… (existing catalog: chromahouse "
      "catalog migrate --to postgresql://…)");
}

std::vector<std::string> InstanceRegistry::others() const {
  MutexLock lock(mu_);
  return others_;
}

}  // namespace chromahouse
