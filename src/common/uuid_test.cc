#include "common/uuid.h"

#include <gtest/gtest.h>

#include <set>

#include "common/clock.h"

namespace chromahouse {
namespace {

TEST(Uuid, NewUuidsAreVersion4CanonicalAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    std::string u = NewUuidV4();
    ASSERT_EQ(u.size(), 36u);
    EXPECT_EQ(u[14], '4') << u;
    EXPECT_TRUE(u[19] == '8' || u[19] == '9' || u[19] == 'a' || u[19] == 'b') << u;
    EXPECT_EQ(ParseUuid(u), u);
    seen.insert(u);
  }
  EXPECT_EQ(seen.size(), 1000u);
}

TEST(Uuid, ParsesSimpleAndUpperCaseForms) {
  EXPECT_EQ(ParseUuid("6BA7B8109DAD11D180B400C04FD430C8"), "6ba7b810-9dad-11d1-80b4-00c04fd430c8");
  EXPECT_EQ(ParseUuid("6BA7B810-9DAD-11D1-80B4-00C04FD430C8"),
            "6ba7b810-9dad-11d1-80b4-00c04fd430c8");
}

TEST(Uuid, RejectsNonUuids) {
  for (const char* bad :
       {"", "not-a-uuid", "6ba7b810-9dad-11d1-80b4-00c04fd430c",
        "6ba7b810+9dad-11d1-80b4-00c04fd430c8", "gba7b810-9dad-11d1-80b4-00c04fd430c8"}) {
    EXPECT_FALSE(ParseUuid(bad).has_value()) << bad;
  }
}

TEST(VersionClock, StrictlyIncreasesAndCarriesInstanceId) {
  VersionClock clock(7);
  uint64_t last = 0;
  for (int i = 0; i < 100000; ++i) {
    uint64_t v = clock.Next();
    ASSERT_GT(v, last);
    ASSERT_EQ(v & 0xff, 7u);
    last = v;
  }
}

TEST(VersionClock, ObserveMovesPastVersionsSeenElsewhere) {
  VersionClock clock(1);
  uint64_t far_future = (uint64_t{1} << 62);
  clock.Observe(far_future);
  EXPECT_GT(clock.Next(), far_future);
}

}  // namespace
}  // namespace chromahouse
