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

TEST(RecordStoreTest, MetadataIsKeptAsItsStoredTextAndReadsBackExactly) {
  RecordStore store(Metric::kL2);
  RecordRow r = Row("a", 10);
  Metadata md{{"int", MetadataValue(int64_t{-9223372036854775807 - 1})},
              {"float", MetadataValue(2.0)},
              {"tiny", MetadataValue(5e-324)},
              {"text", MetadataValue(std::string("x \"chroma:y\" \u00e9"))},
              {"flags", MetadataValue(std::vector<bool>{true, false})},
              {"words", MetadataValue(std::vector<std::string>{"a", "b"})},
              {"sparse", MetadataValue(SparseValue(SparseVector{{1, 7}, {0.5f, 2.0f}}))}};
  r.metadata = md;
  store.Apply({r, Row("b", 11)});
  const uint32_t a = *store.Find("a");
  ASSERT_TRUE(store.metadata_json(a).has_value());
  EXPECT_EQ(*store.metadata_json(a), MetadataToJson(md));
  std::optional<Metadata> back = store.metadata(a);
  ASSERT_TRUE(back.has_value());
  EXPECT_EQ(*back, md);
  EXPECT_TRUE(std::holds_alternative<double>(back->at("float")));
  EXPECT_FALSE(store.metadata(*store.Find("b")).has_value());
  EXPECT_FALSE(store.metadata_json(*store.Find("b")).has_value());
  ASSERT_NE(store.sparse_index("sparse"), nullptr);
}

TEST(RecordStoreTest, ReplacedAndDeletedMetadataLeavesTheIndexes) {
  RecordStore store(Metric::kL2);
  auto with = [](const std::string& id, uint64_t version, int64_t n) {
    RecordRow r = Row(id, version);
    r.metadata = Metadata{{"n", MetadataValue(n)},
                          {"sp", MetadataValue(SparseValue(SparseVector{{3}, {1.0f}}))}};
    return r;
  };
  store.Apply({with("a", 10, 1), with("b", 11, 1)});
  Where n1{MetadataCondition{"n", MetadataOp::kEq, MetadataValue(int64_t{1})}};
  Where n2{MetadataCondition{"n", MetadataOp::kEq, MetadataValue(int64_t{2})}};
  ASSERT_TRUE(store.FilterBitmap(n1).has_value());
  EXPECT_EQ(store.FilterBitmap(n1)->size(), 2u);
  // The old value is read back from the stored text to leave the metadata index.
  store.Apply({with("a", 20, 2)});
  EXPECT_EQ(store.FilterBitmap(n1)->size(), 1u);
  EXPECT_EQ(store.FilterBitmap(n2)->size(), 1u);
  store.Apply({Row("a", 30, /*deleted=*/true), Row("b", 31, /*deleted=*/true)});
  EXPECT_EQ(store.FilterBitmap(n1)->size(), 0u);
  EXPECT_EQ(store.FilterBitmap(n2)->size(), 0u);
  EXPECT_EQ(store.sparse_index("sp"), nullptr);
}

TEST(RecordStoreTest, SmallMetadataCostsAboutItsTextInTheAccounting) {
  RecordStore store(Metric::kL2);
  std::vector<RecordRow> rows;
  for (int i = 0; i < 1000; ++i) {
    RecordRow r = Row("r" + std::to_string(i), 10 + i);
    r.metadata = Metadata{{"bucket", MetadataValue(int64_t{i % 100})}};
    rows.push_back(r);
  }
  store.Apply(rows);
  const size_t with_metadata = store.MemoryBytes();
  RecordStore bare(Metric::kL2);
  for (auto& r : rows) r.metadata.reset();
  bare.Apply(rows);
  // {"bucket":57} is 13 bytes of text in a 32-byte string (a std::map node was ~180 bytes).
  EXPECT_LT((with_metadata - bare.MemoryBytes()) / rows.size(), 100u);
}

}  // namespace
}  // namespace chromahouse
