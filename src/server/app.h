// The composition root: builds storage, services, the API and the HTTP server from a Config,
// runs until SIGINT/SIGTERM, then shuts down in order (HTTP first, ClickHouse last).
#pragma once

#include "config/config.h"

namespace chromahouse {

inline constexpr const char* kVersion = "0.1.0";

// Runs the server; returns the process exit code.
int RunServer(const Config& config);

}  // namespace chromahouse
