// A real ClickHouse for integration tests: one clickhouse-server child per test binary, on free
// loopback ports and a fresh temp directory (the same EmbeddedClickHouse the server uses), and
// a fresh ClickHouse database per test.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "server/embedded_clickhouse.h"
#include "storage/clickhouse/clickhouse_storage.h"

namespace chromahouse::testing {

// The URL of the shared ClickHouse (started on first use, stopped at exit).
std::string ClickHouseUrl();
// Stops the shared ClickHouse and starts it again on the same data (new ports: call
// ClickHouseUrl() again afterwards).
void RestartClickHouse();
// A database name unique within this process run ("it_<pid>_<n>").
std::string FreshDatabaseName();

}  // namespace chromahouse::testing
