#include "service/instance_registry.h"

#include <gtest/gtest.h>

#include "service/catalog_service.h"
#include "storage/memory/memory_storage.h"

namespace chromahouse {
namespace {

CreateCollectionRequest Named(const std::string& name) {
  CreateCollectionRequest req;
  req.name = name;
  return req;
}

TEST(InstanceRegistry, ASecondInstanceOnAClickHouseCatalogStopsCatalogChangesUntilItLeaves) {
  MemoryStorage storage;
  VersionClock clock;
  CatalogService catalog(&storage, &clock);
  ASSERT_TRUE(catalog.Initialize().ok());
  InstanceRegistry a(&storage, {"host-a:8000", /*catalog_in_clickhouse=*/true, 60000, 15000});
  catalog.SetWriteGuard([&a] { return a.CatalogWritesAllowed(); });
  ASSERT_TRUE(a.BeatOnce().ok());
  EXPECT_TRUE(catalog.CreateCollection("default_tenant", "default_database", Named("alone")).ok());

  InstanceRegistry b(&storage, {"host-b:8001", true, 60000, 15000});
  ASSERT_TRUE(b.BeatOnce().ok());
  ASSERT_TRUE(a.BeatOnce().ok());
  // B counts only beats written after it started: it sees A at A's next beat.
  ASSERT_TRUE(b.BeatOnce().ok());
  auto refused = catalog.CreateCollection("default_tenant", "default_database", Named("second"));
  EXPECT_EQ(refused.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(refused.status().message().find("host-b:8001"), std::string::npos);
  EXPECT_NE(refused.status().message().find("--catalog-url postgresql://"), std::string::npos)
      << refused.status().message();
  EXPECT_EQ(b.CatalogWritesAllowed().code(), StatusCode::kFailedPrecondition);
  // Reads go on.
  EXPECT_TRUE(catalog.GetCollectionByName("default_tenant", "default_database", "alone").ok());

  // B stops (its last beat says so): A may change the catalog again.
  ASSERT_TRUE(b.Start().ok());
  b.Stop();
  ASSERT_TRUE(a.BeatOnce().ok());
  EXPECT_TRUE(a.CatalogWritesAllowed().ok());
  EXPECT_TRUE(catalog.CreateCollection("default_tenant", "default_database", Named("third")).ok());
}

TEST(InstanceRegistry, InstancesWithAPostgresCatalogNeverRefuseAndExpiredBeatsAreIgnored) {
  MemoryStorage storage;
  InstanceRegistry pg1(&storage, {"h:1", /*catalog_in_clickhouse=*/false, 60000, 15000});
  InstanceRegistry pg2(&storage, {"h:2", false, 60000, 15000});
  ASSERT_TRUE(pg1.BeatOnce().ok());
  ASSERT_TRUE(pg2.BeatOnce().ok());
  ASSERT_TRUE(pg1.BeatOnce().ok());  // looks again, now that pg2 beat
  EXPECT_TRUE(pg1.CatalogWritesAllowed().ok());
  EXPECT_EQ(pg1.others().size(), 1u);
  // A beat older than the expiry does not count, nor one from before this instance started
  // (a crashed predecessor, restarted on another port).
  ASSERT_TRUE(storage.WriteInstanceBeat({"h:old", "clickhouse", NowMillis() - 60000, true}).ok());
  ASSERT_TRUE(
      storage.WriteInstanceBeat({"h:crashed", "clickhouse", NowMillis() - 1000, true}).ok());
  InstanceRegistry ch(&storage, {"h:3", true, 60000, 15000});
  ASSERT_TRUE(ch.BeatOnce().ok());
  // The live ones beat again after ch started; ch sees them at its next look.
  ASSERT_TRUE(pg1.BeatOnce().ok());
  ASSERT_TRUE(pg2.BeatOnce().ok());
  ASSERT_TRUE(ch.BeatOnce().ok());
  EXPECT_EQ(ch.others().size(), 2u);  // the two PostgreSQL ones, not the old or crashed one
  EXPECT_FALSE(ch.CatalogWritesAllowed().ok());
}

}  // namespace
}  // namespace chromahouse
