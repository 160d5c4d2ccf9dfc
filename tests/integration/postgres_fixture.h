// A real PostgreSQL for integration tests: one server per test binary (Debian's postgresql-15
// binaries, initdb into a fresh temp directory, a free loopback port; run as the `postgres`
// user when the tests run as root, since PostgreSQL refuses root), and a fresh database per
// test.
#pragma once

#include <string>

namespace chromahouse::testing {

// A libpq URL of a new, empty database on the shared server (started on first use, stopped
// at exit).
std::string FreshPostgresUrl();
// Stops the shared server (fast shutdown) / starts it again on the same data and port.
void StopPostgres();
void StartPostgres();

}  // namespace chromahouse::testing
