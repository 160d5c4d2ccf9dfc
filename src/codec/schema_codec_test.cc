// A schema given on create, checked as Chroma 1.5.9 checks it: every expected status and message
// below is the reference server's answer to the same body.
#include "codec/schema_codec.h"

#include <gtest/gtest.h>

#include <string>

#include "codec/catalog_codec.h"

namespace chromahouse {
namespace {

// Chroma's default schema, as the reference server returns it for a new collection.
const std::string kDefaults =
    R"({"string":{"fts_index":{"enabled":false,"config":{}},"string_inverted_index":{"enabled":true,"config":{}}},)"
    R"("float_list":{"vector_index":{"enabled":false,"config":{"space":"l2","hnsw":{"ef_construction":100,"max_neighbors":16,"ef_search":100,"num_threads":2,"batch_size":100,"sync_threshold":1000,"resize_factor":1.2}}}},)"
    R"("sparse_vector":{"sparse_vector_index":{"enabled":false,"config":{"embedding_function":{"type":"unknown"},"bm25":false}}},)"
    R"("int":{"int_inverted_index":{"enabled":true,"config":{}}},"float":{"float_inverted_index":{"enabled":true,"config":{}}},"bool":{"bool_inverted_index":{"enabled":true,"config":{}}}})";
const std::string kEmbedding =
    R"("#embedding":{"float_list":{"vector_index":{"enabled":true,"config":{"space":"l2","source_key":"#document","hnsw":{"ef_construction":100,"max_neighbors":16,"ef_search":100,"num_threads":2,"batch_size":100,"sync_threshold":1000,"resize_factor":1.2}}}}})";
const std::string kDocument =
    R"("#document":{"string":{"fts_index":{"enabled":true,"config":{}},"string_inverted_index":{"enabled":false,"config":{}}}})";

std::string Schema(const std::string& defaults, const std::string& keys) {
  return R"({"defaults":)" + defaults + R"(,"keys":{)" + keys + "}}";
}
std::string DefaultSchema() { return Schema(kDefaults, kEmbedding + "," + kDocument); }

Status Create(const std::string& schema, const std::string& extra = "") {
  return DecodeCreateCollection(R"({"name":"c","schema":)" + schema + extra + "}").status();
}

void ExpectRefused(const std::string& schema, StatusCode code, const std::string& message,
                   const std::string& extra = "") {
  Status s = Create(schema, extra);
  EXPECT_EQ(s.code(), code) << schema << "\n" << s.ToString();
  EXPECT_EQ(s.message(), message) << schema;
}

const std::string kShape = "Failed to deserialize the JSON body into the target type: ";
const std::string kRule = "Validation error: schema: ";

TEST(SchemaCodecTest, TheDefaultSchemaAndHarmlessVariantsAreAccepted) {
  EXPECT_TRUE(Create(DefaultSchema()).ok());
  EXPECT_TRUE(Create("null").ok());
  EXPECT_TRUE(Create(R"({"defaults":{},"keys":{}})").ok());
  // Unknown fields, value types and index names are ignored (as by Chroma).
  EXPECT_TRUE(Create(R"({"defaults":{"vector":{}},"keys":{},"foo":1})").ok());
  EXPECT_TRUE(
      Create(R"({"defaults":{"string":{"bogus_index":5}},"keys":{"title":{"vector":1}}})").ok());
  // Turning indexes off is always allowed, #embedding's and #document's included.
  EXPECT_TRUE(
      Create(
          Schema("{}",
                 R"("#embedding":{"float_list":{"vector_index":{"enabled":false,"config":{}}}},)"
                 R"("#document":{"string":{"fts_index":{"enabled":false,"config":{}}}},)"
                 R"("title":{"string":{"string_inverted_index":{"enabled":false,"config":{}}}})"))
          .ok());
  // One sparse vector index on a key: accepted (the search issue builds it).
  EXPECT_TRUE(
      Create(
          Schema(
              "{}",
              R"("sparse":{"sparse_vector":{"sparse_vector_index":{"enabled":true,"config":{"embedding_function":{"type":"known","name":"chroma_bm25","config":{}},"bm25":true}}}})"))
          .ok());
}

TEST(SchemaCodecTest, ShapeErrorsAre422WithChromasMessages) {
  const auto U = StatusCode::kUnprocessableEntity;
  ExpectRefused("5", U, kShape + "schema: invalid type: integer `5`, expected struct Schema");
  ExpectRefused(R"("abc")", U,
                kShape + "schema: invalid type: string \"abc\", expected struct Schema");
  ExpectRefused("{}", U, kShape + "schema: missing field `defaults`");
  ExpectRefused(R"({"defaults":{}})", U, kShape + "schema: missing field `keys`");
  ExpectRefused(R"({"defaults":null,"keys":{}})", U,
                kShape + "schema.defaults: invalid type: null, expected struct ValueTypes");
  ExpectRefused(R"({"defaults":{},"keys":[]})", U,
                kShape + "schema.keys: invalid type: sequence, expected a map");
  ExpectRefused(
      Schema("{}", R"("#embedding":{"float_list":{"vector_index":{"enabled":"yes","config":{}}}})"),
      U,
      kShape +
          "schema.keys.#embedding.float_list.vector_index.enabled: invalid type: "
          "string \"yes\", expected a boolean");
  ExpectRefused(Schema(R"({"string":{"fts_index":{"enabled":1,"config":{}}}})", ""), U,
                kShape +
                    "schema.defaults.string.fts_index.enabled: invalid type: integer `1`, "
                    "expected a boolean");
  ExpectRefused(Schema("{}", R"("#embedding":{"float_list":{"vector_index":{"config":{}}}})"), U,
                kShape + "schema.keys.#embedding.float_list.vector_index: missing field `enabled`");
  ExpectRefused(Schema("{}", R"("#embedding":{"float_list":{"vector_index":{"enabled":true}}})"), U,
                kShape + "schema.keys.#embedding.float_list.vector_index: missing field `config`");
  ExpectRefused(Schema(R"({"string":{"fts_index":{"enabled":true,"config":null}}})", ""), U,
                kShape +
                    "schema.defaults.string.fts_index.config: invalid type: null, expected "
                    "struct FtsIndexConfig");
  ExpectRefused(Schema(R"({"string":{"fts_index":{"enabled":false,"config":{"x":1}}}})", ""), U,
                kShape +
                    "schema.defaults.string.fts_index.config.x: unknown field `x`, there are "
                    "no fields");
  ExpectRefused(
      Schema(
          "{}",
          R"("#embedding":{"float_list":{"vector_index":{"enabled":true,"config":{"space":"manhattan"}}}})"),
      U,
      kShape +
          "schema.keys.#embedding.float_list.vector_index.config.space: unknown "
          "variant `manhattan`, expected one of `l2`, `cosine`, `ip`");
  ExpectRefused(
      Schema(
          "{}",
          R"("#embedding":{"float_list":{"vector_index":{"enabled":true,"config":{"bogus":1}}}})"),
      U,
      kShape +
          "schema.keys.#embedding.float_list.vector_index.config.bogus: unknown "
          "field `bogus`, expected one of `space`, `embedding_function`, "
          "`source_key`, `hnsw`, `spann`");
  ExpectRefused(
      Schema(
          "{}",
          R"("#embedding":{"float_list":{"vector_index":{"enabled":true,"config":{"hnsw":{"ef_construction":-1}}}}})"),
      U,
      kShape +
          "schema.keys.#embedding.float_list.vector_index.config.hnsw."
          "ef_construction: invalid value: integer `-1`, expected usize");
  ExpectRefused(
      Schema(
          "{}",
          R"("#embedding":{"float_list":{"vector_index":{"enabled":true,"config":{"embedding_function":{"type":"bogus"}}}}})"),
      U,
      kShape +
          "schema.keys.#embedding.float_list.vector_index.config."
          "embedding_function.type: unknown variant `bogus`, expected one of "
          "`legacy`, `known`, `unknown`");
}

TEST(SchemaCodecTest, UnknownConfigurationFieldsAreNamedWithTheirPath) {
  Status created =
      DecodeCreateCollection(R"({"name":"c","configuration":{"hnsw":{"bogus":1}}})").status();
  EXPECT_EQ(created.message(),
            kShape +
                "configuration.hnsw.bogus: unknown field `bogus`, expected one of `space`, "
                "`ef_construction`, `ef_search`, `max_neighbors`, `num_threads`, "
                "`resize_factor`, `sync_threshold`, `batch_size`");
  Status modified =
      DecodeUpdateCollection(R"({"new_configuration":{"hnsw":{"space":"ip"}}})").status();
  EXPECT_EQ(modified.message(),
            kShape +
                "new_configuration.hnsw.space: unknown field `space`, expected one of "
                "`ef_search`, `max_neighbors`, `num_threads`, `resize_factor`, "
                "`sync_threshold`, `batch_size`");
}

TEST(SchemaCodecTest, RulesAre400WithChromasMessages) {
  const auto I = StatusCode::kInvalidArgument;
  const std::string on = R"({"enabled":true,"config":{}})";
  ExpectRefused(Schema("{}", R"("#foo":{})"), I,
                kRule +
                    "key cannot begin with '#'. Keys starting with '#' are reserved for "
                    "system use: #foo");
  ExpectRefused(Schema("{}", R"("title":{"string":{"fts_index":)" + on + "}}"), I,
                kRule +
                    "Full text search / regular expression index can only be enabled on "
                    "#document field: title");
  ExpectRefused(Schema(R"({"string":{"fts_index":)" + on + "}}", ""), I,
                kRule +
                    "Full text search / regular expression index cannot be enabled by "
                    "default. It can only be enabled on #document field.");
  ExpectRefused(Schema("{}", R"("foo":{"float_list":{"vector_index":)" + on + "}}"), I,
                kRule + "Vector index can only be enabled on #embedding field: foo");
  ExpectRefused(Schema(R"({"float_list":{"vector_index":)" + on + "}}", ""), I,
                kRule +
                    "Vector index cannot be enabled by default. It can only be enabled on "
                    "#embedding field.");
  ExpectRefused(Schema(R"({"sparse_vector":{"sparse_vector_index":)" + on + "}}", ""), I,
                kRule +
                    "Sparse vector index cannot be enabled by default. Please enable sparse "
                    "vector index on specific keys. At most one sparse vector index is "
                    "allowed for the collection.");
  ExpectRefused(
      Schema("{}", R"("sparse":{"sparse_vector":{"sparse_vector_index":)" + on +
                       R"(}},"sparse2":{"sparse_vector":{"sparse_vector_index":)" + on + "}}"),
      I,
      kRule +
          "At most one sparse vector index is allowed for the collection: "
          "[\"sparse\", \"sparse2\"]");
  ExpectRefused(Schema("{}", R"("#document":{"string":{"string_inverted_index":)" + on + "}}"), I,
                kRule + "String inverted index can not be enabled on #document key: #document");
  ExpectRefused(
      Schema("{}", R"("#embedding":{"string":{"fts_index":{"enabled":false,"config":{}}}})"), I,
      kRule +
          "Embedding field cannot have any value types other than float_list: "
          "#embedding");
  ExpectRefused(
      Schema("{}", R"("#document":{"float_list":{"vector_index":{"enabled":false,"config":{}}}})"),
      I, kRule + "Document field cannot have any value types other than string: #document");
  ExpectRefused(
      Schema(
          "{}",
          R"("#embedding":{"float_list":{"vector_index":{"enabled":true,"config":{"source_key":"title"}}}})"),
      I, kRule + "Vector index can only source from #document");
  ExpectRefused(
      Schema(R"({"float_list":{"vector_index":{"enabled":false,"config":{"hnsw":{},"spann":{}}}}})",
             ""),
      I, kRule + "Both spann and hnsw config cannot be present at the same time.");
  ExpectRefused(R"({"defaults":{},"keys":{},"source_attached_function_id":"abc"})", I,
                kRule +
                    "Cannot set source_attached_function_id. This field is reserved for "
                    "system use.");
  ExpectRefused(
      Schema(
          "{}",
          R"("#embedding":{"float_list":{"vector_index":{"enabled":true,"config":{"hnsw":{"batch_size":0,"sync_threshold":1}}}}})"),
      I,
      "Failed to reconcile schema: Invalid HNSW configuration: batch_size: Validation "
      "error: range [{\"min\": Number(2), \"value\": Number(0)}]\nsync_threshold: "
      "Validation error: range [{\"min\": Number(2), \"value\": Number(1)}]");
}

TEST(SchemaCodecTest, ASchemaAndAConfigurationMayNotBothAskForSomething) {
  const std::string both =
      "Failed to reconcile schema: Cannot set both collection config and "
      "schema simultaneously";
  const std::string cosine_schema = Schema(
      "{}",
      R"("#embedding":{"float_list":{"vector_index":{"enabled":true,"config":{"space":"cosine"}}}})");
  // Both ask (even for the same thing): refused.
  ExpectRefused(cosine_schema, StatusCode::kInvalidArgument, both,
                R"(,"configuration":{"hnsw":{"space":"cosine"}})");
  ExpectRefused(cosine_schema, StatusCode::kInvalidArgument, both,
                R"(,"configuration":{"embedding_function":{"type":"legacy"}})");
  ExpectRefused(Schema("{}", R"("title":{})"), StatusCode::kInvalidArgument, both,
                R"(,"configuration":{"hnsw":{"space":"cosine"}})");
  // One of them default: accepted.
  EXPECT_TRUE(Create(DefaultSchema(), R"(,"configuration":{"hnsw":{"space":"cosine"}})").ok());
  EXPECT_TRUE(
      Create(R"({"defaults":{},"keys":{}})", R"(,"configuration":{"hnsw":{"space":"ip"}})").ok());
  EXPECT_TRUE(Create(cosine_schema, R"(,"configuration":{})").ok());
  EXPECT_TRUE(Create(cosine_schema, R"(,"configuration":{"hnsw":{}})").ok());
  EXPECT_TRUE(Create(cosine_schema,
                     R"(,"configuration":{"hnsw":null,"spann":null,"embedding_function":null})")
                  .ok());
  EXPECT_TRUE(
      Create(
          cosine_schema,
          R"(,"configuration":{"hnsw":{"space":"l2","ef_construction":100,"ef_search":100,"max_neighbors":16,"resize_factor":1.2,"sync_threshold":1000}})")
          .ok());
  // num_threads and the default embedding function do not make a schema ask for anything.
  EXPECT_TRUE(
      Create(
          Schema(
              "{}",
              R"("#embedding":{"float_list":{"vector_index":{"enabled":true,"config":{"embedding_function":{"type":"known","name":"default","config":{}},"hnsw":{"num_threads":8}}}}})"),
          R"(,"configuration":{"hnsw":{"space":"cosine"}})")
          .ok());
}

}  // namespace
}  // namespace chromahouse
