// The schema statements ClickHouseStorage sends, single node and in cluster mode, checked with
// a transport that records them (the real engines are exercised by the integration tests and
// tests/cluster).
#include <gtest/gtest.h>

#include "storage/clickhouse/clickhouse_storage.h"

namespace chromahouse {
namespace {

class RecordingTransport : public SqlTransport {
 public:
  explicit RecordingTransport(std::vector<std::string>* log) : log_(log) {}
  Result<std::string> Execute(std::string_view, std::string_view sql, std::string_view,
                              int) override {
    log_->emplace_back(sql);
    if (sql.find("max(version)") != std::string_view::npos) return std::string("{\"v\":0}\n");
    return std::string();
  }
  std::string Endpoint() const override { return "recording"; }

 private:
  std::vector<std::string>* log_;
};

std::vector<std::string> SchemaStatements(const std::string& cluster) {
  std::vector<std::string> log;
  ClickHouseStorage storage(std::make_unique<RecordingTransport>(&log), "ch", cluster);
  EXPECT_TRUE(storage.Initialize().ok());
  std::vector<std::string> ddl;
  for (const auto& s : log) {
    if (s.starts_with("CREATE")) ddl.push_back(s);
  }
  return ddl;
}

TEST(ClusterDdlTest, SingleNodeUsesPlainEngines) {
  auto ddl = SchemaStatements("");
  ASSERT_EQ(ddl.size(), 9u);
  EXPECT_EQ(ddl[0], "CREATE DATABASE IF NOT EXISTS ch");
  EXPECT_EQ(ddl[1],
            "CREATE TABLE IF NOT EXISTS ch.schema_migrations (version UInt32, description String, "
            "applied_at_unix UInt64) ENGINE = MergeTree ORDER BY version");
  for (const auto& s : ddl) EXPECT_EQ(s.find("Replicated"), std::string::npos) << s;
}

TEST(ClusterDdlTest, ClusterModeCreatesReplicatedTablesOnCluster) {
  auto ddl = SchemaStatements("repl");
  ASSERT_EQ(ddl.size(), 9u);
  EXPECT_EQ(ddl[0], "CREATE DATABASE IF NOT EXISTS ch ON CLUSTER repl");
  EXPECT_EQ(ddl[1],
            "CREATE TABLE IF NOT EXISTS ch.schema_migrations ON CLUSTER repl (version UInt32, "
            "description String, applied_at_unix UInt64) ENGINE = "
            "ReplicatedMergeTree('/clickhouse/tables/{shard}/ch.schema_migrations', '{replica}') "
            "ORDER BY version");
  EXPECT_EQ(ddl[5],
            "CREATE TABLE IF NOT EXISTS ch.records ON CLUSTER repl (collection String, id String, "
            "ver UInt64, created UInt64, deleted UInt8, embedding Array(Float32), document "
            "Nullable(String), uri Nullable(String), metadata Nullable(String)) ENGINE = "
            "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/ch.records', '{replica}', "
            "ver) ORDER BY (collection, id)");
  EXPECT_EQ(ddl[6],
            "CREATE TABLE IF NOT EXISTS ch.index_snapshots ON CLUSTER repl (collection String, "
            "snapshot UInt64, chunk UInt32, chunks UInt32, format UInt32, watermark UInt64, "
            "records UInt64, bytes UInt64, data String) ENGINE = "
            "ReplicatedMergeTree('/clickhouse/tables/{shard}/ch.index_snapshots', '{replica}') "
            "ORDER BY (collection, snapshot, chunk)");
  EXPECT_EQ(ddl[7],
            "CREATE TABLE IF NOT EXISTS ch.instances ON CLUSTER repl (instance String, catalog "
            "String, seen_ms UInt64, alive UInt8) ENGINE = "
            "ReplicatedReplacingMergeTree('/clickhouse/tables/{shard}/ch.instances', '{replica}', "
            "seen_ms) ORDER BY instance");
  EXPECT_EQ(ddl[8],
            "CREATE TABLE IF NOT EXISTS ch.collection_forks ON CLUSTER repl (root String, source "
            "String, target String, ver UInt64) ENGINE = "
            "ReplicatedMergeTree('/clickhouse/tables/{shard}/ch.collection_forks', '{replica}') "
            "ORDER BY (root, target)");
  for (size_t i = 1; i < ddl.size(); ++i) {
    EXPECT_NE(ddl[i].find(" ON CLUSTER repl ("), std::string::npos) << ddl[i];
    EXPECT_NE(ddl[i].find("ENGINE = Replicated"), std::string::npos) << ddl[i];
  }
}

TEST(CurlTransportTest, FailsOverToTheNextReplica) {
  // Nothing listens on port 1; the second endpoint is also closed, so the error names the
  // last node tried — and both were tried without waiting for the full backoff first.
  CurlTransportOptions o;
  o.url = "http://127.0.0.1:1, http://127.0.0.1:2/";
  o.max_attempts = 2;
  o.retry_backoff_ms = 1;
  o.log_errors = false;
  CurlTransport t(o);
  EXPECT_EQ(t.Endpoint(), o.url);
  auto r = t.Execute("ping", "SELECT 1");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kUnavailable);
  EXPECT_NE(r.status().message().find("http://127.0.0.1:2 is unavailable"), std::string::npos)
      << r.status().message();
}

}  // namespace
}  // namespace chromahouse
