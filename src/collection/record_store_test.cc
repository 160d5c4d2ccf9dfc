#include "collection/record_store.h"

#include <gtest/gtest.h>

namespace chromahouse {
namespace {

RecordRow Row(const std::string& id, uint64_t version, bool deleted = false) {
  RecordRow r;
  r.id = id;
  r.version = version;
  r.created = version;
  r.deleted = deleted;
  if (!deleted) r.embedding = {1.0f, 2.0f};
  return r;
}

TEST(RecordStoreTest, TombstonesOrderLateWritesAndCanBePruned) {
  RecordStore store(Metric::kL2);
  store.Apply({Row("a", 10), Row("b", 11)});
  store.Apply({Row("a", 20, /*deleted=*/true)});
  EXPECT_EQ(store.size(), 1u);
  EXPECT_EQ(store.KnownVersion("a"), 20u);
  EXPECT_EQ(store.KnownVersion("b"), 11u);
  EXPECT_EQ(store.KnownVersion("zzz"), 0u);
  // An older write of "a" arriving late (another instance) does not bring it back…
  store.Apply({Row("a", 15)});
  EXPECT_FALSE(store.Find("a").has_value());
  // …a newer one does.
  store.Apply({Row("a", 30)});
  EXPECT_TRUE(store.Find("a").has_value());
  EXPECT_EQ(store.tombstone_count(), 0u);

  store.Apply({Row("b", 40, true), Row("c", 50, true)});
  EXPECT_EQ(store.tombstone_count(), 2u);
  const size_t with = store.MemoryBytes();
  store.PruneTombstones(45);
  EXPECT_EQ(store.tombstone_count(), 1u);
  EXPECT_EQ(store.KnownVersion("b"), 0u);
  EXPECT_EQ(store.KnownVersion("c"), 50u);
  EXPECT_LT(store.MemoryBytes(), with);
}

}  // namespace
}  // namespace chromahouse
