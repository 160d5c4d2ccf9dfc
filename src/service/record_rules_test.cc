#include "service/record_rules.h"

#include <gtest/gtest.h>

namespace chromahouse {
namespace {

RecordWriteRequest One(std::optional<std::vector<float>> embedding,
                       std::optional<std::string> document = std::nullopt,
                       std::optional<MetadataPatch> metadata = std::nullopt) {
  RecordWriteRequest r;
  r.ids = {"a"};
  r.embeddings = std::vector<std::optional<std::vector<float>>>{std::move(embedding)};
  r.documents = std::vector<std::optional<std::string>>{std::move(document)};
  r.metadatas = std::vector<std::optional<MetadataPatch>>{std::move(metadata)};
  return r;
}

RecordRow Current() {
  RecordRow row;
  row.id = "a";
  row.version = 5;
  row.created = 3;
  row.embedding = {1, 2};
  row.document = "old";
  row.uri = "u";
  row.metadata = Metadata{{"k", int64_t{1}}, {"gone", std::string("x")}};
  return row;
}

TEST(RecordRules, AddNeverOverwritesAndUpdateNeverCreates) {
  const RecordRow current = Current();
  EXPECT_FALSE(MergeWrite(RecordWriteKind::kAdd, One(std::vector<float>{9, 9}), 0, &current));
  EXPECT_FALSE(MergeWrite(RecordWriteKind::kUpdate, One(std::vector<float>{9, 9}), 0, nullptr));
  auto added = MergeWrite(RecordWriteKind::kAdd, One(std::vector<float>{9, 9}, "doc"), 0, nullptr);
  ASSERT_TRUE(added);
  EXPECT_EQ(added->id, "a");
  EXPECT_EQ(added->created, 0u);  // the caller's to set
  EXPECT_EQ(added->embedding, (std::vector<float>{9, 9}));
  EXPECT_EQ(added->document, "doc");
  // A new record needs an embedding (an upsert of a new id with a null one stores nothing).
  EXPECT_FALSE(MergeWrite(RecordWriteKind::kUpsert, One(std::nullopt, "doc"), 0, nullptr));
}

TEST(RecordRules, UpdateAndUpsertKeepWhatTheyDoNotName) {
  const RecordRow current = Current();
  MetadataPatch patch;
  patch.set["k"] = int64_t{2};
  patch.set["new"] = true;
  patch.remove = {"gone"};
  for (auto kind : {RecordWriteKind::kUpdate, RecordWriteKind::kUpsert}) {
    auto row = MergeWrite(kind, One(std::nullopt, std::nullopt, patch), 0, &current);
    ASSERT_TRUE(row);
    EXPECT_EQ(row->embedding, current.embedding);
    EXPECT_EQ(row->document, "old");
    EXPECT_EQ(row->uri, "u");
    EXPECT_EQ(row->created, 3u);
    EXPECT_EQ(*row->metadata, (Metadata{{"k", int64_t{2}}, {"new", true}}));
  }
  MetadataPatch clear;
  clear.remove = {"k", "gone"};
  auto row =
      MergeWrite(RecordWriteKind::kUpdate, One(std::nullopt, std::nullopt, clear), 0, &current);
  ASSERT_TRUE(row);
  EXPECT_FALSE(row->metadata);  // nothing left: no metadata
}

TEST(RecordRules, ValidationNamesWhatIsWrong) {
  RecordWriteRequest r = One(std::vector<float>{1, 2});
  EXPECT_EQ(*ValidateWrite(r), 2u);
  r.ids.push_back("b");
  EXPECT_NE(ValidateWrite(r).status().message().find("Inconsistent number of IDs"),
            std::string::npos);
  r = One(std::vector<float>{});
  EXPECT_NE(ValidateWrite(r).status().message().find("at least 1 dimension"), std::string::npos);
  r = One(std::vector<float>{1});
  r.ids = {""};
  EXPECT_NE(ValidateWrite(r).status().message().find("Empty ID"), std::string::npos);
  MetadataPatch bad;
  bad.set["#k"] = int64_t{1};
  EXPECT_NE(ValidateWrite(One(std::vector<float>{1}, std::nullopt, bad))
                .status()
                .message()
                .find("Invalid metadata at index 0"),
            std::string::npos);
  MetadataPatch sparse;
  sparse.set["s"] = SparseValue(SparseVector{{3, 1}, {1, 1}, {}});
  EXPECT_NE(ValidateWrite(One(std::vector<float>{1}, std::nullopt, sparse))
                .status()
                .message()
                .find("key 's': Sparse vector indices must be sorted"),
            std::string::npos);
}

}  // namespace
}  // namespace chromahouse
