// Unit tests of api/: the services an Api serves, wired over the in-memory record store as
// server/app.cc wires them over ClickHouse, and requests built from a target string.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "api/api.h"
#include "common/clock.h"
#include "service/catalog_service.h"
#include "service/record_service.h"
#include "storage/memory/memory_storage.h"

namespace chromahouse::testing {

struct InMemoryServices {
  InMemoryServices() { EXPECT_TRUE(catalog.Initialize().ok()); }
  std::unique_ptr<Api> MakeApi(ApiOptions options) {
    return std::make_unique<Api>(std::move(options), &catalog, &records);
  }

  MemoryStorage storage;
  VersionClock clock;
  CatalogService catalog{&storage, &clock};
  RecordService records{&catalog, &storage, &clock};
};

// A request for `target` ("/path?query").
inline HttpRequest MakeRequest(std::string method, const std::string& target, std::string body = "",
                               std::vector<std::pair<std::string, std::string>> headers = {}) {
  HttpRequest req;
  req.method = std::move(method);
  const size_t q = target.find('?');
  req.path = target.substr(0, q);
  if (q != std::string::npos) req.query = target.substr(q + 1);
  req.body = std::move(body);
  req.headers = std::move(headers);
  return req;
}

}  // namespace chromahouse::testing
