#include "common/json_writer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace chromahouse {
namespace {

TEST(JsonWriter, NestsObjectsAndArraysWithCommas) {
  JsonWriter w;
  w.BeginObject();
  w.Key("a");
  w.BeginArray();
  w.Int(1);
  w.Int(-2);
  w.BeginObject();
  w.EndObject();
  w.EndArray();
  w.Key("b");
  w.Null();
  w.Key("c");
  w.Bool(false);
  w.EndObject();
  EXPECT_EQ(w.str(), R"({"a":[1,-2,{}],"b":null,"c":false})");
}

TEST(JsonWriter, EscapesControlCharactersQuotesAndBackslashes) {
  JsonWriter w;
  w.String(std::string("a\"b\\c\n\t\x01\x1f", 9) + "é");
  EXPECT_EQ(w.str(), "\"a\\\"b\\\\c\\n\\t\\u0001\\u001f\xc3\xa9\"");
}

TEST(JsonWriter, KeepsDecimalPointOnIntegralDoubles) {
  JsonWriter w;
  w.BeginArray();
  w.Double(2.0);
  w.Double(-0.5);
  w.Double(1e300);
  w.Double(0.1);
  w.EndArray();
  EXPECT_EQ(w.str(), "[2.0,-0.5,1e+300,0.1]");
}

TEST(JsonWriter, PrintsFloatsInShortestRoundTripForm) {
  JsonWriter w;
  w.BeginArray();
  w.Float(std::nextafter(0.4f, 0.0f));  // prints as 0.39999998
  w.Float(0.1f);
  w.Float(3.0f);
  w.Float(std::numeric_limits<float>::quiet_NaN());
  w.EndArray();
  EXPECT_EQ(w.str(), "[0.39999998,0.1,3.0,null]");
}

TEST(JsonWriter, PrintsExtremeIntegers) {
  JsonWriter w;
  w.BeginArray();
  w.Int(std::numeric_limits<int64_t>::min());
  w.UInt(std::numeric_limits<uint64_t>::max());
  w.EndArray();
  EXPECT_EQ(w.str(), "[-9223372036854775808,18446744073709551615]");
}

}  // namespace
}  // namespace chromahouse
