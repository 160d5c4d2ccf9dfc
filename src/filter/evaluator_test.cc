#include "filter/evaluator.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "codec/json_body.h"
#include "codec/where_codec.h"
#include "collection/filter_planner.h"

namespace chromahouse {
namespace {

struct Record {
  std::string id;
  std::optional<Metadata> metadata;
  std::optional<std::string> document;
};

// The fixed records every case runs against (the same set was used to probe Chroma 1.5.9).
const std::vector<Record>& Records() {
  static const std::vector<Record> records = {
      {"r1",
       Metadata{{"i", int64_t{5}},
                {"f", 5.0},
                {"s", std::string("5")},
                {"b", true},
                {"ia", std::vector<int64_t>{1, 2}},
                {"fa", std::vector<double>{1.0, 3.5}},
                {"sa", std::vector<std::string>{"a", "b"}},
                {"ba", std::vector<bool>{true}}},
       "Hello World 100%"},
      {"r2", Metadata{{"i", int64_t{6}}, {"f", 5.5}, {"s", std::string("a")}, {"b", false}},
       "hello_world"},
      {"r3", std::nullopt, std::nullopt},
      {"r4", Metadata{{"x", int64_t{1}}, {"s", std::string("ab")}}, ""},
      {"r5",
       Metadata{{"big", int64_t{9007199254740993}},
                {"bigf", 9007199254740992.0},
                {"i", 5.0},
                {"max", std::numeric_limits<int64_t>::max()}},
       "abc\ndef"},
      {"r6", Metadata{{"i", int64_t{4}}}, std::nullopt},
  };
  return records;
}

// One semantic rule of API.md §4.2 / §4.3: a filter and the ids it selects, in record order.
struct MatchCase {
  const char* name;
  const char* where;           // JSON, or nullptr
  const char* where_document;  // JSON, or nullptr
  const char* ids;             // comma-separated
};

std::ostream& operator<<(std::ostream& os, const MatchCase& c) { return os << c.name; }

const MatchCase kCases[] = {
    // Type strictness.
    {"EqIntMatchesIntAndFloatValues", R"({"i":5})", nullptr, "r1,r5"},
    {"EqFloatMatchesIntAndFloatValues", R"({"i":5.0})", nullptr, "r1,r5"},
    {"StringNeverEqualsNumber", R"({"i":"5"})", nullptr, ""},
    {"NumberNeverEqualsString", R"({"s":5})", nullptr, ""},
    {"BoolNeverEqualsNumber", R"({"b":1})", nullptr, ""},
    {"EqBool", R"({"b":true})", nullptr, "r1"},
    {"EqStringIsWholeValue", R"({"s":"a"})", nullptr, "r2"},
    {"InIsTypeStrict", R"({"i":{"$in":["5"]}})", nullptr, ""},
    // True numeric comparison across int and float.
    {"GtIntOverIntsAndFloats", R"({"i":{"$gt":5}})", nullptr, "r2"},
    {"GteInt", R"({"i":{"$gte":5}})", nullptr, "r1,r2,r5"},
    {"LteInt", R"({"i":{"$lte":5}})", nullptr, "r1,r5,r6"},
    {"GtIntOnFloatValues", R"({"f":{"$gt":5}})", nullptr, "r2"},
    {"LtFloatOnFloatValues", R"({"f":{"$lt":5.2}})", nullptr, "r1"},
    {"EqFractionalFloatNeverEqualsInt", R"({"i":{"$eq":5.5}})", nullptr, ""},
    {"LtFractionalFloatIncludesSmallerInt", R"({"i":{"$lt":5.5}})", nullptr, "r1,r5,r6"},
    {"GteFractionalFloatExcludesSmallerInt", R"({"i":{"$gte":5.5}})", nullptr, "r2"},
    {"BigIntIsNotEqualToNearbyDouble", R"({"bigf":9007199254740993})", nullptr, ""},
    {"BigDoubleIsNotEqualToNearbyInt", R"({"big":9007199254740992.0})", nullptr, ""},
    {"BigIntEqualsItself", R"({"big":9007199254740993})", nullptr, "r5"},
    {"BigIntIsGreaterThanNearbyDouble", R"({"big":{"$gt":9007199254740992.0}})", nullptr, "r5"},
    {"BigDoubleIsLessThanNearbyInt", R"({"bigf":{"$lt":9007199254740993}})", nullptr, "r5"},
    {"Int64MaxIsBelowTwoTo63", R"({"max":{"$lt":9223372036854775807.0}})", nullptr, "r5"},
    {"Int64MaxIsNotTwoTo63", R"({"max":9223372036854775807.0})", nullptr, ""},
    {"InIntsMatchesFloatValues", R"({"i":{"$in":[5,6]}})", nullptr, "r1,r2,r5"},
    {"InFloatsMatchesIntValues", R"({"i":{"$in":[5.5,5]}})", nullptr, "r1,r5"},
    {"InStrings", R"({"s":{"$in":["5","a"]}})", nullptr, "r1,r2"},
    // Missing keys: positive operators never match, negative ones do.
    {"EqSkipsRecordsWithoutTheKey", R"({"x":1})", nullptr, "r4"},
    {"NeMatchesMissingKeysAndNoMetadata", R"({"i":{"$ne":5}})", nullptr, "r2,r3,r4,r6"},
    {"NeMatchesValuesOfAnotherType", R"({"i":{"$ne":"5"}})", nullptr, "r1,r2,r3,r4,r5,r6"},
    {"NeBool", R"({"b":{"$ne":true}})", nullptr, "r2,r3,r4,r5,r6"},
    {"NinMatchesMissingKeys", R"({"i":{"$nin":[5]}})", nullptr, "r2,r3,r4,r6"},
    {"NinBools", R"({"b":{"$nin":[true]}})", nullptr, "r2,r3,r4,r5,r6"},
    {"NotContainsMatchesMissingKeys", R"({"sa":{"$not_contains":"a"}})", nullptr, "r2,r3,r4,r5,r6"},
    {"OrderingNeverMatchesMissingKeys", R"({"x":{"$gte":0}})", nullptr, "r4"},
    // Arrays.
    {"EqNeverLooksInsideArrays", R"({"ia":1})", nullptr, ""},
    {"InNeverLooksInsideArrays", R"({"ia":{"$in":[1]}})", nullptr, ""},
    {"OrderingNeverLooksInsideArrays", R"({"ia":{"$gt":0}})", nullptr, ""},
    {"NeOnArrayMatchesEverything", R"({"ia":{"$ne":1}})", nullptr, "r1,r2,r3,r4,r5,r6"},
    {"IntArrayContainsInt", R"({"ia":{"$contains":1}})", nullptr, "r1"},
    {"IntArrayDoesNotContainFloat", R"({"ia":{"$contains":1.0}})", nullptr, ""},
    {"FloatArrayContainsFloat", R"({"fa":{"$contains":1.0}})", nullptr, "r1"},
    {"FloatArrayContainsFraction", R"({"fa":{"$contains":3.5}})", nullptr, "r1"},
    {"FloatArrayDoesNotContainInt", R"({"fa":{"$contains":1}})", nullptr, ""},
    {"StringArrayContainsString", R"({"sa":{"$contains":"a"}})", nullptr, "r1"},
    {"StringArrayDoesNotContainNumber", R"({"sa":{"$contains":1}})", nullptr, ""},
    {"BoolArrayContainsBool", R"({"ba":{"$contains":true}})", nullptr, "r1"},
    {"BoolArrayDoesNotContainNumber", R"({"ba":{"$contains":1}})", nullptr, ""},
    {"NotContainsOnArray", R"({"ia":{"$not_contains":1}})", nullptr, "r2,r3,r4,r5,r6"},
    {"ContainsOnScalarStringIsNotSubstring", R"({"s":{"$contains":"a"}})", nullptr, ""},
    {"ContainsOnScalarIntMatchesNothing", R"({"i":{"$contains":5}})", nullptr, ""},
    {"NotContainsOnScalarMatchesEverything", R"({"i":{"$not_contains":4}})", nullptr,
     "r1,r2,r3,r4,r5,r6"},
    // $and / $or.
    {"AndOfTwo", R"({"$and":[{"i":5},{"s":"5"}]})", nullptr, "r1"},
    {"OrOfTwo", R"({"$or":[{"i":6},{"x":1}]})", nullptr, "r2,r4"},
    {"AndOfOne", R"({"$and":[{"i":5}]})", nullptr, "r1,r5"},
    {"EmptyAndMatchesEverything", R"({"$and":[]})", nullptr, "r1,r2,r3,r4,r5,r6"},
    {"EmptyOrMatchesNothing", R"({"$or":[]})", nullptr, ""},
    {"EmptyOrInsideAnd", R"({"$and":[{"$or":[]},{"i":5}]})", nullptr, ""},
    {"EmptyAndInsideOr", R"({"$or":[{"$and":[]},{"i":5}]})", nullptr, "r1,r2,r3,r4,r5,r6"},
    // Documents.
    {"DocContainsIsCaseSensitive", nullptr, R"({"$contains":"World"})", "r1"},
    {"DocContainsLowercase", nullptr, R"({"$contains":"hello"})", "r2"},
    {"DocContainsPercentIsLiteral", nullptr, R"({"$contains":"%"})", "r1"},
    {"DocContainsUnderscoreIsLiteral", nullptr, R"({"$contains":"_"})", "r2"},
    {"DocContainsEmptyMatchesEveryDocument", nullptr, R"({"$contains":""})", "r1,r2,r4,r5"},
    {"DocNotContainsMatchesRecordsWithoutDocument", nullptr, R"({"$not_contains":"World"})",
     "r2,r3,r4,r5,r6"},
    {"DocNotContainsEmptyMatchesOnlyMissingDocuments", nullptr, R"({"$not_contains":""})", "r3,r6"},
    {"DocRegexIsUnanchoredSearch", nullptr, R"({"$regex":"(?i)world"})", "r1,r2"},
    {"DocRegexCaretAnchorsAtStartOfText", nullptr, R"({"$regex":"^def"})", ""},
    {"DocRegexMultilineFlag", nullptr, R"({"$regex":"(?m)^def"})", "r5"},
    {"DocRegexDotSkipsNewline", nullptr, R"({"$regex":"c.d"})", ""},
    {"DocRegexDotAllFlag", nullptr, R"({"$regex":"(?s)c.d"})", "r5"},
    {"DocRegexEmptyMatchesEveryDocument", nullptr, R"({"$regex":""})", "r1,r2,r4,r5"},
    {"DocRegexNamedGroup", nullptr, R"j({"$regex":"(?<n>o)"})j", "r1,r2"},
    {"DocNotRegexMatchesRecordsWithoutDocument", nullptr, R"({"$not_regex":"(?i)world"})",
     "r3,r4,r5,r6"},
    {"DocOr", nullptr, R"({"$or":[{"$contains":"World"},{"$contains":"abc"}]})", "r1,r5"},
    {"DocumentConditionInsideWhere", R"({"#document":{"$contains":"World"}})", nullptr, "r1"},
    {"DocumentRegexInsideWhere", R"({"$or":[{"#document":{"$regex":"^abc"}},{"i":6}]})", nullptr,
     "r2,r5"},
    {"WhereAndWhereDocumentAreAnded", R"({"i":5})", R"({"$contains":"abc"})", "r5"},
    // Reserved key chroma:document reads the document.
    {"ChromaDocumentKeyEq", R"({"chroma:document":"hello_world"})", nullptr, "r2"},
    {"ChromaDocumentKeyIn", R"({"chroma:document":{"$in":["x","hello_world"]}})", nullptr, "r2"},
    {"ChromaDocumentKeyNe", R"({"chroma:document":{"$ne":"hello_world"}})", nullptr,
     "r1,r3,r4,r5,r6"},
};

Where FilterOf(const MatchCase& c) {
  std::vector<Where> parts;
  if (c.where != nullptr) {
    JsonBody body;
    EXPECT_TRUE(body.Parse(c.where).ok()) << c.where;
    Result<Where> w = DecodeWhere(body.root(), WhereDialect::kV2);
    EXPECT_TRUE(w.ok()) << w.status().ToString();
    if (!w.ok()) return Where{WhereComposite{BoolOp::kOr, {}}};
    parts.push_back(std::move(w).value());
  }
  if (c.where_document != nullptr) {
    JsonBody body;
    EXPECT_TRUE(body.Parse(c.where_document).ok()) << c.where_document;
    Result<Where> w = DecodeWhereDocument(body.root(), WhereDialect::kV2);
    EXPECT_TRUE(w.ok()) << w.status().ToString();
    if (!w.ok()) return Where{WhereComposite{BoolOp::kOr, {}}};
    parts.push_back(std::move(w).value());
  }
  return Where::And(std::move(parts));
}

std::string MatchingIds(const MatchCase& c) {
  const Where filter = FilterOf(c);
  std::string ids;
  for (const Record& r : Records()) {
    const Metadata* metadata = r.metadata ? &*r.metadata : nullptr;
    const std::string* document = r.document ? &*r.document : nullptr;
    if (!Matches(filter, metadata, document)) continue;
    if (!ids.empty()) ids += ",";
    ids += r.id;
  }
  return ids;
}

class WhereMatches : public testing::TestWithParam<MatchCase> {};

TEST_P(WhereMatches, SelectsTheExpectedRecords) {
  const MatchCase& c = GetParam();
  EXPECT_EQ(MatchingIds(c), c.ids)
      << "where=" << (c.where ? c.where : "-")
      << " where_document=" << (c.where_document ? c.where_document : "-");
}

// The same cases through the filter planner and its indexes (collection/filter_planner.h): the
// records copied 40 times over (so that the document index narrows), every copy must answer as
// its original.
TEST_P(WhereMatches, ThePlannerSelectsTheSameRecords) {
  const MatchCase& c = GetParam();
  constexpr int kCopies = 40;
  RecordStore store(Metric::kL2);
  std::vector<RecordRow> rows;
  uint64_t version = 1;
  for (int copy = 0; copy < kCopies; ++copy) {
    for (const Record& r : Records()) {
      RecordRow row;
      row.id = r.id + "#" + std::to_string(copy);
      row.version = row.created = version++;
      row.embedding = {1.0f};
      row.metadata = r.metadata;
      row.document = r.document;
      rows.push_back(std::move(row));
    }
  }
  store.Apply(rows);
  FilterPlanner planner(store);
  OffsetBitmap matching = planner.Evaluate(FilterOf(c));
  std::string ids;
  for (const Record& r : Records()) {
    int copies = 0;
    for (int copy = 0; copy < kCopies; ++copy) {
      copies += matching.Contains(*store.Find(r.id + "#" + std::to_string(copy)));
    }
    EXPECT_TRUE(copies == 0 || copies == kCopies) << r.id << ": " << copies << " copies";
    if (copies == 0) continue;
    if (!ids.empty()) ids += ",";
    ids += r.id;
  }
  EXPECT_EQ(ids, c.ids) << "where=" << (c.where ? c.where : "-")
                        << " where_document=" << (c.where_document ? c.where_document : "-");
}

INSTANTIATE_TEST_SUITE_P(Cases, WhereMatches, testing::ValuesIn(kCases),
                         [](const testing::TestParamInfo<MatchCase>& info) {
                           return std::string(info.param.name);
                         });

TEST(WhereMatches, EmptyMetadataMapBehavesLikeNoMetadata) {
  JsonBody body;
  ASSERT_TRUE(body.Parse(R"({"$or":[{"i":{"$ne":1}},{"i":1}]})").ok());
  Result<Where> w = DecodeWhere(body.root(), WhereDialect::kV2);
  ASSERT_TRUE(w.ok());
  Metadata empty;
  EXPECT_TRUE(Matches(*w, &empty, nullptr));
  EXPECT_TRUE(Matches(*w, nullptr, nullptr));
}

TEST(WhereMatches, V1EmptyFilterMatchesEverything) {
  JsonBody body;
  ASSERT_TRUE(body.Parse("{}").ok());
  Result<Where> w = DecodeWhere(body.root(), WhereDialect::kV1);
  ASSERT_TRUE(w.ok());
  EXPECT_TRUE(w->IsMatchAll());
  for (const Record& r : Records()) {
    EXPECT_TRUE(
        Matches(*w, r.metadata ? &*r.metadata : nullptr, r.document ? &*r.document : nullptr))
        << r.id;
  }
}

TEST(WhereMatches, RegexWithoutCompiledPatternNeverMatches) {
  const std::string doc = "abc";
  Where regex{DocumentCondition{DocumentOp::kRegex, "a", nullptr}};
  Where not_regex{DocumentCondition{DocumentOp::kNotRegex, "a", nullptr}};
  EXPECT_FALSE(Matches(regex, nullptr, &doc));
  EXPECT_TRUE(Matches(not_regex, nullptr, &doc));
}

}  // namespace
}  // namespace chromahouse
