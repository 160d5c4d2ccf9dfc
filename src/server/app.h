// The composition root: builds storage, services, the API and the HTTP server from a Config,
// runs until SIGINT/SIGTERM, then shuts down in order (HTTP first, ClickHouse last).
#pragma once

#include <string>

#include "config/config.h"

namespace chromahouse {

inline constexpr const char* kVersion = "0.1.0";

// Runs the server; returns the process exit code.
int RunServer(const Config& config);

// `chromahouse catalog migrate --to URL`: copies the catalog kept in ClickHouse (per `config`)
// into the PostgreSQL at `to_url`. Idempotent; refuses, naming them, when ClickHouse holds
// several live collections under one name. Returns the process exit code.
int MigrateCatalog(const Config& config, const std::string& to_url);

}  // namespace chromahouse
