#include "codec/where_codec.h"

#include <gtest/gtest.h>
#include <re2/re2.h>

#include <ostream>
#include <string>

#include "codec/json_body.h"

namespace chromahouse {
namespace {

enum class Field { kWhere, kWhereDocument };

// One grammar rule of API.md §4.1 / §4.3 / §7.2. `expected` is the canonical encoding of the
// decoded tree when `ok`, else the exact error message (all errors are InvalidArgument).
struct DecodeCase {
  const char* name;
  Field field;
  WhereDialect dialect;
  const char* json;
  bool ok;
  const char* expected;
};

std::ostream& operator<<(std::ostream& os, const DecodeCase& c) { return os << c.name; }

constexpr auto W = Field::kWhere;
constexpr auto D = Field::kWhereDocument;
constexpr auto V2 = WhereDialect::kV2;
constexpr auto V1 = WhereDialect::kV1;
constexpr bool OK = true;
constexpr bool ERR = false;

const DecodeCase kCases[] = {
    // --- where: accepted forms -----------------------------------------------------------
    {"NullIsNoFilter", W, V2, R"(null)", OK, R"({"$and":[]})"},
    {"ShorthandString", W, V2, R"({"s":"a"})", OK, R"({"s":{"$eq":"a"}})"},
    {"ShorthandInt", W, V2, R"({"i":5})", OK, R"({"i":{"$eq":5}})"},
    {"ShorthandFloatStaysFloat", W, V2, R"({"i":5.0})", OK, R"({"i":{"$eq":5.0}})"},
    {"ShorthandBool", W, V2, R"({"b":true})", OK, R"({"b":{"$eq":true}})"},
    {"EqString", W, V2, R"({"s":{"$eq":"a"}})", OK, R"({"s":{"$eq":"a"}})"},
    {"NeBool", W, V2, R"({"b":{"$ne":false}})", OK, R"({"b":{"$ne":false}})"},
    {"GtInt", W, V2, R"({"i":{"$gt":1}})", OK, R"({"i":{"$gt":1}})"},
    {"GteFloat", W, V2, R"({"i":{"$gte":1.5}})", OK, R"({"i":{"$gte":1.5}})"},
    {"LtNegativeInt", W, V2, R"({"i":{"$lt":-3}})", OK, R"({"i":{"$lt":-3}})"},
    {"LteExponentIsFloat", W, V2, R"({"i":{"$lte":1e2}})", OK, R"({"i":{"$lte":100.0}})"},
    {"InStrings", W, V2, R"({"s":{"$in":["a","b"]}})", OK, R"({"s":{"$in":["a","b"]}})"},
    {"NinBools", W, V2, R"({"b":{"$nin":[true]}})", OK, R"({"b":{"$nin":[true]}})"},
    {"InInts", W, V2, R"({"i":{"$in":[1,2]}})", OK, R"({"i":{"$in":[1,2]}})"},
    {"InFloatFirstTakesInts", W, V2, R"({"i":{"$in":[5.5,5]}})", OK, R"({"i":{"$in":[5.5,5.0]}})"},
    {"ContainsString", W, V2, R"({"sa":{"$contains":"a"}})", OK, R"({"sa":{"$contains":"a"}})"},
    {"ContainsInt", W, V2, R"({"ia":{"$contains":1}})", OK, R"({"ia":{"$contains":1}})"},
    {"ContainsFloat", W, V2, R"({"fa":{"$contains":1.0}})", OK, R"({"fa":{"$contains":1.0}})"},
    {"NotContainsBool", W, V2, R"({"ba":{"$not_contains":true}})", OK,
     R"({"ba":{"$not_contains":true}})"},
    {"AndTwo", W, V2, R"({"$and":[{"i":1},{"s":"a"}]})", OK,
     R"({"$and":[{"i":{"$eq":1}},{"s":{"$eq":"a"}}]})"},
    {"OrNested", W, V2, R"({"$or":[{"$and":[{"i":1}]},{"s":"a"}]})", OK,
     R"({"$or":[{"$and":[{"i":{"$eq":1}}]},{"s":{"$eq":"a"}}]})"},
    {"AndEmptyV2", W, V2, R"({"$and":[]})", OK, R"({"$and":[]})"},
    {"OrEmptyV2", W, V2, R"({"$or":[]})", OK, R"({"$or":[]})"},
    {"AndOneChildV2", W, V2, R"({"$and":[{"i":1}]})", OK, R"({"$and":[{"i":{"$eq":1}}]})"},
    {"DocumentContainsInWhere", W, V2, R"({"#document":{"$contains":"x"}})", OK,
     R"({"#document":{"$contains":"x"}})"},
    {"DocumentNotContainsInWhere", W, V2, R"({"#document":{"$not_contains":""}})", OK,
     R"({"#document":{"$not_contains":""}})"},
    {"DocumentRegexInWhere", W, V2, R"({"#document":{"$regex":"(?i)a+"}})", OK,
     R"({"#document":{"$regex":"(?i)a+"}})"},
    {"DocumentNotRegexInWhere", W, V2, R"({"#document":{"$not_regex":"^a"}})", OK,
     R"({"#document":{"$not_regex":"^a"}})"},
    {"EmptyKeyIsAKey", W, V2, R"({"":1})", OK, R"({"":{"$eq":1}})"},
    {"HashKeyOtherThanDocumentIsMetadata", W, V2, R"({"#foo":{"$ne":1}})", OK,
     R"({"#foo":{"$ne":1}})"},
    {"DuplicateKeyLastWins", W, V2, R"({"i":5,"i":6})", OK, R"({"i":{"$eq":6}})"},
    {"DuplicateOperatorLastWins", W, V2, R"({"i":{"$gt":1,"$gt":5}})", OK, R"({"i":{"$gt":5}})"},

    // --- where: 400s ----------------------------------------------------------------------
    {"EmptyObjectV2", W, V2, R"({})", ERR,
     "Invalid where clause: the where object is empty; it needs exactly one key (a metadata "
     "key, #document, $and or $or)"},
    {"TwoKeysNoImplicitAnd", W, V2, R"({"a":1,"b":2})", ERR,
     R"(Invalid where clause: the where object has 2 keys ("a", "b"); it needs exactly one (combine conditions with $and))"},
    {"NotAnObject", W, V2, R"([{"a":1}])", ERR,
     R"(Invalid where clause: expected an object, got array [{"a":1}])"},
    {"StringIsNotAWhere", W, V2, R"("x")", ERR,
     R"(Invalid where clause: expected an object, got string "x")"},
    {"UnknownTopLevelOperator", W, V2, R"({"$not":{"i":5}})", ERR,
     R"(Invalid where clause: unknown top-level operator "$not"; only $and and $or may stand in place of a key)"},
    {"ContainsAtTopLevel", W, V2, R"({"$contains":"a"})", ERR,
     R"(Invalid where clause: unknown top-level operator "$contains"; only $and and $or may stand in place of a key)"},
    {"ShorthandNull", W, V2, R"({"i":null})", ERR,
     R"(Invalid where clause: the value for key "i" must be a string, number, boolean or operator object; got null)"},
    {"ShorthandArray", W, V2, R"({"i":[5]})", ERR,
     R"(Invalid where clause: the value for key "i" must be a string, number, boolean or operator object; got array [5] (use {"$in": [...]} for a list))"},
    {"ShorthandUint64OutOfRange", W, V2, R"({"i":18446744073709551615})", ERR,
     R"(Invalid where clause: the value for key "i" must be a string, number, boolean or operator object; integer 18446744073709551615 is out of the int64 range)"},
    {"EmptyOperatorObject", W, V2, R"({"i":{}})", ERR,
     R"(Invalid where clause: the operator object for key "i" is empty; it needs exactly one operator)"},
    {"TwoOperators", W, V2, R"({"i":{"$gt":1,"$lt":5}})", ERR,
     R"(Invalid where clause: the operator object for key "i" has 2 operators ("$gt", "$lt"); it needs exactly one (combine conditions with $and))"},
    {"UnknownOperator", W, V2, R"({"i":{"$exists":true}})", ERR,
     R"(Invalid where clause: unknown operator "$exists" for key "i"; expected one of $eq, $ne, $gt, $gte, $lt, $lte, $in, $nin, $contains, $not_contains)"},
    {"StringOrdering", W, V2, R"({"s":{"$gt":"a"}})", ERR,
     R"(Invalid where clause: operator $gt needs a number operand, got string "a" for key "s")"},
    {"BoolOrdering", W, V2, R"({"b":{"$lte":true}})", ERR,
     R"(Invalid where clause: operator $lte needs a number operand, got boolean true for key "b")"},
    {"EqWithArray", W, V2, R"({"i":{"$eq":[5]}})", ERR,
     R"(Invalid where clause: operator $eq needs a string, number or boolean operand, got array [5] for key "i" (use $in / $nin for a list))"},
    {"NeWithNull", W, V2, R"({"i":{"$ne":null}})", ERR,
     R"(Invalid where clause: operator $ne needs a string, number or boolean operand, got null for key "i")"},
    {"EqWithObject", W, V2, R"({"i":{"$eq":{"a":1}}})", ERR,
     R"(Invalid where clause: operator $eq needs a string, number or boolean operand, got object {"a":1} for key "i")"},
    {"InEmpty", W, V2, R"({"i":{"$in":[]}})", ERR,
     R"(Invalid where clause: operator $in needs a non-empty array operand for key "i")"},
    {"InNotAnArray", W, V2, R"({"i":{"$in":5}})", ERR,
     R"(Invalid where clause: operator $in needs a non-empty array operand, got integer 5 for key "i")"},
    {"InMixedStringAndInt", W, V2, R"({"i":{"$in":[5,"5"]}})", ERR,
     R"(Invalid where clause: operator $in needs array elements of one type (the first is an integer), got string "5" at index 1 for key "i")"},
    {"InIntFirstRejectsFloat", W, V2, R"({"i":{"$in":[5,5.5]}})", ERR,
     R"(Invalid where clause: operator $in needs array elements of one type (the first is an integer), got float 5.5 at index 1 for key "i")"},
    {"NinBoolThenString", W, V2, R"({"b":{"$nin":[true,"x"]}})", ERR,
     R"(Invalid where clause: operator $nin needs array elements of one type (the first is a boolean), got string "x" at index 1 for key "b")"},
    {"InNullElement", W, V2, R"({"i":{"$in":[null]}})", ERR,
     R"(Invalid where clause: operator $in needs strings, numbers or booleans in its array, got null at index 0 for key "i")"},
    {"NinNestedArray", W, V2, R"({"i":{"$nin":[[5]]}})", ERR,
     R"(Invalid where clause: operator $nin needs strings, numbers or booleans in its array, got array [5] at index 0 for key "i")"},
    {"ContainsWithArray", W, V2, R"({"sa":{"$contains":["a"]}})", ERR,
     R"(Invalid where clause: operator $contains needs a string, number or boolean operand, got array ["a"] for key "sa" (it tests membership of one value in an array-valued key))"},
    {"RegexOnMetadata", W, V2, R"({"s":{"$regex":"a"}})", ERR,
     R"(Invalid where clause: operator $regex is only allowed on #document, not on metadata key "s")"},
    {"NotRegexOnMetadata", W, V2, R"({"s":{"$not_regex":"a"}})", ERR,
     R"(Invalid where clause: operator $not_regex is only allowed on #document, not on metadata key "s")"},
    {"DocumentContainsInt", W, V2, R"({"#document":{"$contains":5}})", ERR,
     R"(Invalid where clause: operator $contains on #document needs a string operand, got integer 5)"},
    {"DocumentRegexBool", W, V2, R"({"#document":{"$regex":true}})", ERR,
     R"(Invalid where clause: operator $regex on #document needs a string operand, got boolean true)"},
    {"DocumentShorthand", W, V2, R"({"#document":"x"})", ERR,
     R"(Invalid where clause: #document needs an operator object such as {"$contains": "…"}, got string "x")"},
    {"DocumentShorthandNumber", W, V2, R"({"#document":5})", ERR,
     R"(Invalid where clause: #document needs an operator object such as {"$contains": "…"}, got integer 5)"},
    {"DocumentEq", W, V2, R"({"#document":{"$eq":"x"}})", ERR,
     R"(Invalid where clause: #document supports only $contains, $not_contains, $regex and $not_regex, got "$eq")"},
    {"AndNotAnArray", W, V2, R"({"$and":{"i":5}})", ERR,
     R"(Invalid where clause: $and needs an array of where objects, got object {"i":5})"},
    {"OrString", W, V2, R"({"$or":"x"})", ERR,
     R"(Invalid where clause: $or needs an array of where objects, got string "x")"},
    {"AndWithEmptyChild", W, V2, R"({"$and":[{}]})", ERR,
     "Invalid where clause: the where object is empty; it needs exactly one key (a metadata "
     "key, #document, $and or $or) (at $and[0])"},
    {"NestedErrorNamesItsPosition", W, V2, R"({"$and":[{"i":5},{"$or":[{"s":{"$gt":"a"}}]}]})", ERR,
     R"(Invalid where clause: operator $gt needs a number operand, got string "a" for key "s" (at $and[1].$or[0]))"},
    {"InvalidRegexInWhere", W, V2, R"({"#document":{"$regex":"("}})", ERR,
     R"(Regex syntax errror: missing ): ( in pattern "(")"},

    // --- where: v1 dialect ----------------------------------------------------------------
    {"V1EmptyObjectIsNoFilter", W, V1, R"({})", OK, R"({"$and":[]})"},
    {"V1AndTwo", W, V1, R"({"$and":[{"i":1},{"i":2}]})", OK,
     R"({"$and":[{"i":{"$eq":1}},{"i":{"$eq":2}}]})"},
    {"V1AndOneChild", W, V1, R"({"$and":[{"i":1}]})", ERR,
     "Invalid where clause: $and needs at least two where objects in the v1 API, got 1"},
    {"V1OrEmpty", W, V1, R"({"$or":[]})", ERR,
     "Invalid where clause: $or needs at least two where objects in the v1 API, got 0"},
    {"V1NestedEmptyObject", W, V1, R"({"$and":[{},{"i":1}]})", ERR,
     "Invalid where clause: the where object is empty; it needs exactly one key (a metadata "
     "key, #document, $and or $or) (at $and[0])"},

    // --- where_document: accepted forms ---------------------------------------------------
    {"DocNull", D, V2, R"(null)", OK, R"({"$and":[]})"},
    {"DocContains", D, V2, R"({"$contains":"a b"})", OK, R"({"#document":{"$contains":"a b"}})"},
    {"DocContainsEmpty", D, V2, R"({"$contains":""})", OK, R"({"#document":{"$contains":""}})"},
    {"DocNotContains", D, V2, R"({"$not_contains":"a"})", OK,
     R"({"#document":{"$not_contains":"a"}})"},
    {"DocRegex", D, V2, R"({"$regex":"\\d+"})", OK, R"({"#document":{"$regex":"\\d+"}})"},
    {"DocRegexEmptyPattern", D, V2, R"({"$regex":""})", OK, R"({"#document":{"$regex":""}})"},
    {"DocRegexRustNamedGroup", D, V2, R"j({"$regex":"(?<n>o)"})j", OK,
     R"j({"#document":{"$regex":"(?<n>o)"}})j"},
    {"DocNotRegex", D, V2, R"({"$not_regex":"a|b"})", OK, R"({"#document":{"$not_regex":"a|b"}})"},
    {"DocAndOr", D, V2,
     R"({"$and":[{"$contains":"a"},{"$or":[{"$contains":"b"},{"$regex":"c"}]}]})", OK,
     R"({"$and":[{"#document":{"$contains":"a"}},{"$or":[{"#document":{"$contains":"b"}},{"#document":{"$regex":"c"}}]}]})"},
    {"DocAndEmptyV2", D, V2, R"({"$and":[]})", OK, R"({"$and":[]})"},
    {"DocOrOneChildV2", D, V2, R"({"$or":[{"$contains":"a"}]})", OK,
     R"({"$or":[{"#document":{"$contains":"a"}}]})"},
    {"DocDuplicateKeyLastWins", D, V2, R"({"$contains":"a","$contains":"b"})", OK,
     R"({"#document":{"$contains":"b"}})"},
    {"DocV1EmptyObjectIsNoFilter", D, V1, R"({})", OK, R"({"$and":[]})"},

    // --- where_document: 400s -------------------------------------------------------------
    {"DocEmptyObjectV2", D, V2, R"({})", ERR,
     "Invalid where document clause: the where_document object is empty; it needs exactly one "
     "key ($contains, $not_contains, $regex, $not_regex, $and or $or)"},
    {"DocNotAnObject", D, V2, R"([])", ERR,
     "Invalid where document clause: expected an object, got array []"},
    {"DocTwoKeys", D, V2, R"({"$contains":"a","$regex":"b"})", ERR,
     R"(Invalid where document clause: the where_document object has 2 keys ("$contains", "$regex"); it needs exactly one (combine conditions with $and))"},
    {"DocContainsInt", D, V2, R"({"$contains":5})", ERR,
     "Invalid where document clause: operator $contains needs a string operand, got integer 5"},
    {"DocContainsNull", D, V2, R"({"$contains":null})", ERR,
     "Invalid where document clause: operator $contains needs a string operand, got null"},
    {"DocRegexArray", D, V2, R"({"$regex":["a"]})", ERR,
     R"(Invalid where document clause: operator $regex needs a string operand, got array ["a"])"},
    {"DocMetadataOperator", D, V2, R"({"$eq":"a"})", ERR,
     R"(Invalid where document clause: unknown operator "$eq"; expected one of $contains, $not_contains, $regex, $not_regex, $and, $or)"},
    {"DocPlainKey", D, V2, R"({"foo":"a"})", ERR,
     R"(Invalid where document clause: unknown operator "foo"; expected one of $contains, $not_contains, $regex, $not_regex, $and, $or)"},
    {"DocAndNotAnArray", D, V2, R"({"$and":"x"})", ERR,
     R"(Invalid where document clause: $and needs an array of where_document objects, got string "x")"},
    {"DocAndWithEmptyChild", D, V2, R"({"$and":[{"$contains":"a"},{}]})", ERR,
     "Invalid where document clause: the where_document object is empty; it needs exactly one "
     "key ($contains, $not_contains, $regex, $not_regex, $and or $or) (at $and[1])"},
    {"DocV1OrOneChild", D, V1, R"({"$or":[{"$contains":"a"}]})", ERR,
     "Invalid where document clause: $or needs at least two where_document objects in the v1 "
     "API, got 1"},
    {"DocInvalidRegex", D, V2, R"({"$regex":"a{2,1}"})", ERR,
     R"(Regex syntax errror: invalid repetition size: {2,1} in pattern "a{2,1}")"},
    {"DocNotRegexInvalid", D, V2, R"({"$not_regex":"(a)\\1"})", ERR,
     R"(Regex syntax errror: invalid escape sequence: \1 in pattern "(a)\\1")"},

    // --- regexes: Rust syntax that RE2 would misread is refused ---------------------------
    {"RegexClassIntersection", D, V2, R"({"$regex":"[a-z&&[^b]]"})", ERR,
     R"(Regex syntax errror: character class set operations (&&, --, ~~) are not supported in pattern "[a-z&&[^b]]")"},
    {"RegexClassDifference", D, V2, R"({"$regex":"[a-z--b]"})", ERR,
     R"(Regex syntax errror: character class set operations (&&, --, ~~) are not supported in pattern "[a-z--b]")"},
    {"RegexNestedClass", D, V2, R"({"$regex":"[a[bc]]"})", ERR,
     R"(Regex syntax errror: nested character classes are not supported in pattern "[a[bc]]")"},
    {"RegexPosixClassAllowed", D, V2, R"({"$regex":"[[:alpha:]]+"})", OK,
     R"({"#document":{"$regex":"[[:alpha:]]+"}})"},
    {"RegexVerboseMode", D, V2, R"({"$regex":"(?x) a b"})", ERR,
     R"(Regex syntax errror: verbose mode (?x) is not supported in pattern "(?x) a b")"},
    {"RegexWordStart", D, V2, R"({"$regex":"\\<a"})", ERR,
     R"(Regex syntax errror: word-boundary assertion \< is not supported in pattern "\\<a")"},
    {"RegexBoundaryBraces", D, V2, R"({"$regex":"\\b{start}a"})", ERR,
     R"(Regex syntax errror: word-boundary assertions \b{…} are not supported in pattern "\\b{start}a")"},
    {"RegexMissingLowerBound", D, V2, R"({"$regex":"x{,2}"})", ERR,
     R"(Regex syntax errror: repetition {,n} needs a lower bound (write {0,n}) in pattern "x{,2}")"},
    {"RegexEscapedBracketInClassAllowed", D, V2, R"({"$regex":"[\\[a]"})", OK,
     R"({"#document":{"$regex":"[\\[a]"}})"},
};

class WhereDecode : public testing::TestWithParam<DecodeCase> {};

TEST_P(WhereDecode, FollowsTheGrammar) {
  const DecodeCase& c = GetParam();
  JsonBody body;
  ASSERT_TRUE(body.Parse(c.json).ok()) << c.json;
  Result<Where> got = c.field == Field::kWhere ? DecodeWhere(body.root(), c.dialect)
                                               : DecodeWhereDocument(body.root(), c.dialect);
  if (c.ok) {
    ASSERT_TRUE(got.ok()) << c.json << " → " << got.status().ToString();
    EXPECT_EQ(EncodeWhere(*got), c.expected) << c.json;
    // The canonical form decodes back to the same tree.
    JsonBody again;
    ASSERT_TRUE(again.Parse(EncodeWhere(*got)).ok());
    if (!got->IsMatchAll() || c.dialect == WhereDialect::kV2) {
      Result<Where> round = DecodeWhere(again.root(), WhereDialect::kV2);
      ASSERT_TRUE(round.ok()) << round.status().ToString();
      EXPECT_EQ(*round, *got);
    }
  } else {
    ASSERT_FALSE(got.ok()) << c.json << " decoded to " << EncodeWhere(*got);
    EXPECT_EQ(got.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(got.status().message(), c.expected) << c.json;
  }
}

INSTANTIATE_TEST_SUITE_P(Cases, WhereDecode, testing::ValuesIn(kCases),
                         [](const testing::TestParamInfo<DecodeCase>& info) {
                           return std::string(info.param.name);
                         });

TEST(WhereDecode, RegexIsCompiledOnceAndSharedByCopies) {
  JsonBody body;
  ASSERT_TRUE(body.Parse(R"({"$and":[{"$regex":"(?i)w.r"},{"$contains":"x"}]})").ok());
  Result<Where> got = DecodeWhereDocument(body.root(), WhereDialect::kV2);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  const auto& children = std::get<WhereComposite>(got->node).children;
  const auto& regex = std::get<DocumentCondition>(children[0].node);
  const auto& contains = std::get<DocumentCondition>(children[1].node);
  ASSERT_NE(regex.regex, nullptr);
  EXPECT_TRUE(regex.regex->ok());
  EXPECT_EQ(contains.regex, nullptr);
  Where copy = *got;
  EXPECT_EQ(
      std::get<DocumentCondition>(std::get<WhereComposite>(copy.node).children[0].node).regex.get(),
      regex.regex.get());
}

TEST(WhereDecode, LongValuesAreShortenedInMessages) {
  JsonBody body;
  std::string long_value(200, 'a');
  ASSERT_TRUE(body.Parse(R"({"s":{"$gt":")" + long_value + R"("}})").ok());
  Result<Where> got = DecodeWhere(body.root(), WhereDialect::kV2);
  ASSERT_FALSE(got.ok());
  EXPECT_LT(got.status().message().size(), 160u) << got.status().message();
  EXPECT_NE(got.status().message().find("…"), std::string::npos);
}

}  // namespace
}  // namespace chromahouse
