#include "codec/record_codec.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

namespace chromahouse {
namespace {

TEST(RecordCodec, NumbersRoundDirectlyToFloat32) {
  auto r = DecodeRecordWrite(R"({"ids":["a"],"embeddings":[[10.712873935699463, 1, -0.5e-3]]})",
                             RecordWriteKind::kAdd);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const auto& e = *(*r->embeddings)[0];
  // Through a double this would be 10.712873; rounded once it is 10.712874.
  EXPECT_EQ(e[0], 10.712874f);
  EXPECT_EQ(e[1], 1.0f);
  EXPECT_EQ(e[2], -0.0005f);
}

TEST(RecordCodec, ValuesADoubleCannotRoundExactlyAreReadFromTheirText) {
  // Most values convert from simdjson's double; this one lies a hair above the midpoint
  // between 1 and the next float, so its double is the midpoint itself and would round down.
  auto r = DecodeRecordWrite(
      R"({"ids":["a","b"],"embeddings":[[0.25, -3, 0.1],[0.5, 1.0000000596046447755]]})",
      RecordWriteKind::kAdd);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(*(*r->embeddings)[0], (std::vector<float>{0.25f, -3.0f, 0.1f}));
  EXPECT_EQ(*(*r->embeddings)[1], (std::vector<float>{0.5f, std::nextafter(1.0f, 2.0f)}));
  // A non-finite value is still reported with its row, after the shape checks.
  auto inf =
      DecodeRecordWrite(R"({"ids":["a","b"],"embeddings":[[1],[3.5e38]]})", RecordWriteKind::kAdd);
  ASSERT_FALSE(inf.ok());
  EXPECT_NE(inf.status().message().find("embedding at index 1 contains NaN or infinity"),
            std::string::npos)
      << inf.status().message();
}

TEST(RecordCodec, NumbersBelowFloat32RangeRoundToZero) {
  // from_chars reports these as out of range, like overflows; they are ±0 (found by fuzzing).
  auto r = DecodeRecordWrite(R"({"ids":["a"],"embeddings":[[5e-76, -1e-50, 7e-46, 1e-45]]})",
                             RecordWriteKind::kAdd);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const auto& e = *(*r->embeddings)[0];
  EXPECT_EQ(e[0], 0.0f);
  EXPECT_TRUE(std::signbit(e[1]));
  EXPECT_EQ(e[1], 0.0f);
  EXPECT_EQ(e[2], 0.0f);
  EXPECT_EQ(e[3], std::numeric_limits<float>::denorm_min());
  EXPECT_EQ(DecodeQuery(R"({"query_embeddings":[[3.5e38]]})").status().code(),
            StatusCode::kInvalidArgument);
  EXPECT_TRUE(DecodeQuery(R"({"query_embeddings":[[1e-300]]})").ok());
}

TEST(RecordCodec, Base64EmbeddingsAreLittleEndianFloat32) {
  auto v = DecodeBase64Floats("AACAPwAAAEA=");  // 1.0f, 2.0f
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, (std::vector<float>{1.0f, 2.0f}));
  EXPECT_EQ(DecodeBase64Floats("AACAP").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeBase64Floats("AACA").status().code(), StatusCode::kInvalidArgument);  // 3 bytes
  EXPECT_EQ(DecodeBase64Floats("AA*APwAAAEA=").status().message().rfind("Invalid base64 string", 0),
            0u);
  // Canonical only, as Chroma: the bits before the padding must be zero (found by fuzzing).
  EXPECT_EQ(DecodeBase64Floats("AACAPx==").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(DecodeBase64Floats("AACAPwAAAEB=").status().code(), StatusCode::kInvalidArgument);
  auto empty = DecodeBase64Floats("");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
  auto nan = DecodeRecordWrite(R"({"ids":["a"],"embeddings":["AADAfw=="]})", RecordWriteKind::kAdd);
  EXPECT_EQ(nan.status().code(), StatusCode::kInvalidArgument);
}

TEST(RecordCodec, NullEmbeddingRowsOnlyInUpdate) {
  const char* body = R"({"ids":["a"],"embeddings":[null]})";
  EXPECT_TRUE(DecodeRecordWrite(body, RecordWriteKind::kUpdate).ok());
  EXPECT_EQ(DecodeRecordWrite(body, RecordWriteKind::kUpsert).status().code(),
            StatusCode::kUnprocessableEntity);
  EXPECT_EQ(DecodeRecordWrite(body, RecordWriteKind::kAdd).status().code(),
            StatusCode::kUnprocessableEntity);
  EXPECT_EQ(DecodeRecordWrite(R"({"ids":["a"]})", RecordWriteKind::kAdd).status().code(),
            StatusCode::kUnprocessableEntity);
  EXPECT_EQ(
      DecodeRecordWrite(R"({"ids":["a"],"embeddings":[[1],"AACAPw=="]})", RecordWriteKind::kAdd)
          .status()
          .code(),
      StatusCode::kUnprocessableEntity);
}

TEST(RecordCodec, StoredMetadataTextIsAnsweredAsItIsAndReservedKeysAreHidden) {
  auto encode = [](const std::optional<Metadata>& md, const std::optional<std::string>& uri) {
    std::optional<std::string> json;
    if (md) json = MetadataToJson(*md);
    const std::optional<std::string> none;
    RecordView v;
    v.id = "a";
    v.document = &none;
    v.uri = &uri;
    v.metadata_json = &json;
    std::string out = EncodeGetResponse({v}, Include{{IncludeField::kMetadatas}});
    const size_t at = out.find("\"metadatas\":[");
    return out.substr(at + 13, out.find("],\"include\"") - at - 13);
  };
  EXPECT_EQ(
      encode(Metadata{{"b", MetadataValue(2.0)}, {"a", MetadataValue(int64_t{1})}}, std::nullopt),
      R"({"a":1,"b":2.0})");
  // A string value mentioning a reserved key is not a reserved key.
  EXPECT_EQ(
      encode(Metadata{{"t", MetadataValue(std::string("\"chroma:document\""))}}, std::nullopt),
      R"({"t":"\"chroma:document\""})");
  EXPECT_EQ(encode(Metadata{{"chroma:document", MetadataValue(std::string("d"))},
                            {"k", MetadataValue(true)}},
                   std::nullopt),
            R"({"k":true})");
  // Only reserved keys (or none): null, or {} when the record has a URI (as Chroma).
  EXPECT_EQ(encode(Metadata{{"chroma:uri", MetadataValue(std::string("u"))}}, std::nullopt),
            "null");
  EXPECT_EQ(encode(Metadata{}, std::nullopt), "null");
  EXPECT_EQ(encode(std::nullopt, std::string("s3://x")), "{}");
  EXPECT_EQ(encode(std::nullopt, std::nullopt), "null");
}

TEST(RecordCodec, CountsAreU32AndIncludeIsNeverNull) {
  EXPECT_TRUE(DecodeGet(R"({"limit":4294967295,"offset":0})").ok());
  EXPECT_EQ(DecodeGet(R"({"limit":4294967296})").status().code(), StatusCode::kUnprocessableEntity);
  EXPECT_EQ(DecodeGet(R"({"offset":-1})").status().code(), StatusCode::kUnprocessableEntity);
  EXPECT_EQ(DecodeQuery(R"({"query_embeddings":[[1]],"n_results":4294967296})").status().code(),
            StatusCode::kUnprocessableEntity);
  EXPECT_EQ(DecodeGet(R"({"include":null})").status().code(), StatusCode::kUnprocessableEntity);
  EXPECT_EQ(DecodeGet(R"({"include":["data"]})").status().code(), StatusCode::kUnprocessableEntity);
  auto defaults = DecodeGet("{}");
  ASSERT_TRUE(defaults.ok());
  EXPECT_EQ(defaults->include.fields,
            (std::vector<IncludeField>{IncludeField::kDocuments, IncludeField::kMetadatas}));
}

TEST(RecordCodec, QueryEmbeddingsMustBeArrays) {
  EXPECT_EQ(DecodeQuery(R"({"query_embeddings":["AACAPw=="]})").status().code(),
            StatusCode::kUnprocessableEntity);
  auto q = DecodeQuery(R"({"query_embeddings":[[0.1,0.2]]})");
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(q->query_embeddings[0], (std::vector<float>{0.1f, 0.2f}));
  EXPECT_EQ(q->n_results, 10);
}

TEST(RecordCodec, RegexesInvalidInRustSyntaxAre400) {
  for (const char* pattern : {R"((?P<n>a)(?P<n>b))", R"((?<n>a)(?<n>b))", R"(\\C)", R"(\\Qa\\E)"}) {
    std::string body = std::string(R"({"where_document":{"$regex":")") + pattern + "\"}}";
    auto r = DecodeGet(body);
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << pattern;
    EXPECT_EQ(r.status().message().rfind("Regex syntax errror:", 0), 0u) << r.status().message();
  }
  EXPECT_TRUE(DecodeGet(R"json({"where_document":{"$regex":"(?<a>x)(?P<b>y)"}})json").ok());
}

}  // namespace
}  // namespace chromahouse
