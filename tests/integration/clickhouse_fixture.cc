#include "clickhouse_fixture.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>

namespace chromahouse::testing {
namespace {

class ClickHouseEnvironment : public ::testing::Environment {
 public:
  void SetUp() override {}
  void TearDown() override {
    if (server_) server_->Stop();
    if (!dir_.empty()) std::filesystem::remove_all(dir_);
  }

  void Restart() {
    Url();
    server_->Stop();
    server_.reset();  // releases the data-directory lock
    Url();
  }

  const std::string& Url() {
    if (!server_) {
      if (dir_.empty()) {
        char tmpl[] = "/tmp/chromahouse-it-XXXXXX";
        dir_ = mkdtemp(tmpl);
      }
      EmbeddedClickHouseOptions o;
      o.data_dir = dir_;
      server_ = std::make_unique<EmbeddedClickHouse>(o);
      Status s = server_->Start();
      if (!s.ok()) {
        fprintf(stderr, "cannot start ClickHouse for the integration tests: %s\n",
                s.message().c_str());
        std::abort();
      }
      url_ = server_->url();
    }
    return url_;
  }

 private:
  std::string dir_;
  std::string url_;
  std::unique_ptr<EmbeddedClickHouse> server_;
};

ClickHouseEnvironment* env = static_cast<ClickHouseEnvironment*>(
    ::testing::AddGlobalTestEnvironment(new ClickHouseEnvironment));

}  // namespace

std::string ClickHouseUrl() { return env->Url(); }

void RestartClickHouse() { env->Restart(); }

std::string FreshDatabaseName() {
  static std::atomic<int> n{0};
  return "it_" + std::to_string(getpid()) + "_" + std::to_string(n.fetch_add(1));
}

}  // namespace chromahouse::testing
