#include "core/metadata.h"

#include <gtest/gtest.h>

#include "core/catalog.h"

namespace chromahouse {
namespace {

TEST(Metadata, RoundTripsEveryValueKindThroughStoredJson) {
  Metadata m;
  m["s"] = std::string("x\"y");
  m["i"] = int64_t{-9223372036854775807 - 1};
  m["f"] = 2.0;
  m["g"] = 0.1;
  m["b"] = true;
  m["sa"] = std::vector<std::string>{"a", "b"};
  m["ia"] = std::vector<int64_t>{1, 2};
  m["fa"] = std::vector<double>{1.0, 3.5};
  m["ba"] = std::vector<bool>{true, false};
  m["sv"] = SparseValue(SparseVector{{3, 4294967295u}, {0.1f, -2.5f}, {}});
  m["st"] = SparseValue(SparseVector{{7}, {1e-20f}, {"tok\"en"}});
  std::string json = MetadataToJson(m);
  auto back = MetadataFromJson(json);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, m);
  // 2.0 stays a float, not an int.
  EXPECT_TRUE(std::holds_alternative<double>(back->at("f")));
  EXPECT_NE(json.find("\"f\":2.0"), std::string::npos) << json;
}

TEST(Metadata, HidesReservedKeysWhenAsked) {
  Metadata m{{"chroma:uri", std::string("u")}, {"a", int64_t{1}}};
  JsonWriter w;
  WriteMetadata(w, m, /*hide_reserved=*/true);
  EXPECT_EQ(w.str(), R"({"a":1})");
}

TEST(Configuration, RoundTripsThroughStoredJson) {
  CollectionConfiguration c;
  c.hnsw.space = Space::kCosine;
  c.hnsw.ef_search = 42;
  c.hnsw.resize_factor = 1.5;
  c.hnsw.num_threads = 3;
  c.embedding_function_json = R"({"type":"known","name":"default","config":{}})";
  auto back = ConfigurationFromStoredJson(ConfigurationToStoredJson(c));
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->hnsw, c.hnsw);
  EXPECT_EQ(back->embedding_function_json, c.embedding_function_json);
}

}  // namespace
}  // namespace chromahouse
