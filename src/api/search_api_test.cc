// The search route over the in-memory storage (API.md §13): Chroma's worked examples, a
// differential test of rank expressions against a reference evaluation written here, sparse
// vectors and BM25 through writes, group_by, select and the error shapes.
#include <gtest/gtest.h>
#include <simdjson.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <thread>

#include "api/api.h"
#include "api/test_support.h"
#include "storage/memory/memory_storage.h"

namespace chromahouse {
namespace {

constexpr const char* kColls =
    "/api/v2/tenants/default_tenant/databases/default_database/collections";

struct Row {
  std::string id;
  float score;
};

class SearchApiTest : public ::testing::Test {
 protected:
  void SetUp() override { api_ = services_.MakeApi(ApiOptions{}); }

  HttpResponse Call(std::string method, const std::string& target, std::string body = "") {
    return api_->Handle(testing::MakeRequest(std::move(method), target, std::move(body)));
  }

  // Creates a collection; `sparse_keys` get a sparse vector index (bm25 as given).
  std::string Create(const std::string& name, std::map<std::string, bool> sparse_keys = {}) {
    std::string body = R"({"name":")" + name + R"("})";
    if (!sparse_keys.empty()) {
      HttpResponse probe = Call("POST", kColls, R"({"name":"schema-template"})");
      simdjson::dom::parser parser;
      auto doc = parser.parse(probe.body);
      std::string schema(simdjson::minify(doc["schema"]));
      std::string keys;
      for (const auto& [key, bm25] : sparse_keys) {
        keys += "\"" + key +
                R"(":{"sparse_vector":{"sparse_vector_index":{"enabled":true,"config":{"bm25":)" +
                (bm25 ? "true" : "false") + "}}}},";
      }
      const size_t at = schema.find("\"keys\":{") + 8;
      schema.insert(at, keys);
      body = R"({"name":")" + name + R"(","schema":)" + schema + "}";
      EXPECT_EQ(Call("DELETE", std::string(kColls) + "/schema-template").status, 200);
    }
    HttpResponse r = Call("POST", kColls, body);
    EXPECT_EQ(r.status, 200) << r.body;
    return std::string(kColls) + "/" + r.body.substr(7, 36);
  }

  // The first search's ids and scores.
  std::vector<Row> Search(const std::string& coll, const std::string& search) {
    HttpResponse r = Call("POST", coll + "/search", R"({"searches":[)" + search + "]}");
    EXPECT_EQ(r.status, 200) << r.body;
    std::vector<Row> out;
    if (r.status != 200) return out;
    auto doc = parser_.parse(r.body);
    auto ids = doc["ids"].at(0).get_array().value();
    simdjson::dom::element scores = doc["scores"].at(0);
    size_t i = 0;
    for (auto id : ids) {
      float score = NAN;
      if (scores.is_array()) {
        auto s = scores.at(i);
        score = s.is_null() ? NAN : float(s.get_double().value());
      }
      out.push_back({std::string(id.get_string().value()), score});
      ++i;
    }
    return out;
  }

  static std::vector<std::string> Ids(const std::vector<Row>& rows) {
    std::vector<std::string> out;
    for (const auto& r : rows) out.push_back(r.id);
    return out;
  }

  std::unique_ptr<Api> api_;
  testing::InMemoryServices services_;
  simdjson::dom::parser parser_;
};

const char* kSelectScore = R"("select":{"keys":["#score"]})";

TEST_F(SearchApiTest, ChromasWorkedExamples) {
  // A=[0,0], B=[1,0], C=[0,2] inserted in that order (l2: squared distances).
  std::string coll = Create("examples");
  ASSERT_EQ(Call("POST", coll + "/add", R"({"ids":["A","B","C"],"embeddings":[[0,0],[1,0],[0,2]]})")
                .status,
            201);
  auto knn = [](const std::string& q, const std::string& extra = "") {
    return R"({"$knn":{"query":)" + q + R"(,"limit":)" + extra + "}}";
  };
  auto rows = Search(coll, R"({"rank":)" + knn("[0,0]", "2") + "," + kSelectScore + "}");
  EXPECT_EQ(Ids(rows), (std::vector<std::string>{"A", "B"}));
  EXPECT_EQ(rows[1].score, 1.0f);
  rows = Search(coll,
                R"({"rank":)" + knn("[0,2]", R"(3,"return_rank":true)") + "," + kSelectScore + "}");
  EXPECT_EQ(Ids(rows), (std::vector<std::string>{"C", "A", "B"}));
  EXPECT_EQ(rows[2].score, 2.0f);
  // Leaves without a default intersect; with defaults they unite (ties in insertion order).
  EXPECT_TRUE(
      Search(coll, R"({"rank":{"$sum":[)" + knn("[0,0]", "1") + "," + knn("[1,0]", "1") + "]}}")
          .empty());
  rows = Search(coll, R"({"rank":{"$sum":[)" + knn("[0,0]", R"(1,"default":10)") + "," +
                          knn("[1,0]", R"(1,"default":10)") + "]}," + kSelectScore + "}");
  EXPECT_EQ(Ids(rows), (std::vector<std::string>{"A", "B"}));
  EXPECT_EQ(rows[0].score, 10.0f);
  // A constant alone ranks nothing; added to a leaf it shifts every score.
  EXPECT_TRUE(Search(coll, R"({"rank":{"$val":3}})").empty());
  rows = Search(
      coll, R"({"rank":{"$sum":[)" + knn("[0,0]", "3") + R"(,{"$val":1}]},)" + kSelectScore + "}");
  EXPECT_EQ(Ids(rows), (std::vector<std::string>{"A", "B", "C"}));
  EXPECT_EQ(rows[2].score, 5.0f);
  // A limit beyond the collection is the whole collection.
  EXPECT_EQ(Search(coll, R"({"rank":)" + knn("[0,0]", "4294967295") + "}").size(), 3u);
  // No rank: insertion order, scored by position in the page.
  rows = Search(coll, R"({"limit":{"offset":1,"limit":5},)" + std::string(kSelectScore) + "}");
  EXPECT_EQ(Ids(rows), (std::vector<std::string>{"B", "C"}));
  EXPECT_EQ(rows[0].score, 0.0f);
}

// A reference evaluation of rank expressions, written independently of the server's: each leaf
// by brute force, the algebra on ordered maps.
struct RefDomain {
  std::map<std::string, float> scores;
  std::optional<float> fallback;
};

struct RefKnn {
  std::vector<float> query;
  uint32_t limit;
  std::optional<float> fallback;
  bool return_rank;
};

struct RefExpr {
  std::string
      op;  // "$knn", "$val", "$sum", "$mul", "$max", "$min", "$sub", "$div", "$abs", "$exp", "$log"
  RefKnn knn;
  float value = 0;
  std::vector<RefExpr> children;

  std::string Json() const {
    auto num = [](float f) {
      char buf[32];
      snprintf(buf, sizeof buf, "%.9g", double(f));
      return std::string(buf);
    };
    if (op == "$knn") {
      std::string q = "[";
      for (size_t i = 0; i < knn.query.size(); ++i) q += (i ? "," : "") + num(knn.query[i]);
      q += "]";
      std::string s = R"({"$knn":{"query":)" + q + R"(,"limit":)" + std::to_string(knn.limit);
      if (knn.fallback) s += R"(,"default":)" + num(*knn.fallback);
      if (knn.return_rank) s += R"(,"return_rank":true)";
      return s + "}}";
    }
    if (op == "$val") return R"({"$val":)" + num(value) + "}";
    if (op == "$sub" || op == "$div") {
      return "{\"" + op + R"(":{"left":)" + children[0].Json() + R"(,"right":)" +
             children[1].Json() + "}}";
    }
    if (op == "$abs" || op == "$exp" || op == "$log") {
      return "{\"" + op + "\":" + children[0].Json() + "}";
    }
    std::string s = "{\"" + op + "\":[";
    for (size_t i = 0; i < children.size(); ++i) s += (i ? "," : "") + children[i].Json();
    return s + "]}";
  }
};

using Records = std::vector<std::pair<std::string, std::vector<float>>>;  // insertion order

RefDomain Combine(const RefDomain& l, const RefDomain& r, float (*op)(float, float)) {
  RefDomain out;
  std::set<std::string> keys;
  if (l.fallback && r.fallback) {
    for (const auto& [k, v] : l.scores) keys.insert(k);
    for (const auto& [k, v] : r.scores) keys.insert(k);
    out.fallback = op(*l.fallback, *r.fallback);
  } else if (l.fallback) {
    for (const auto& [k, v] : r.scores) keys.insert(k);
  } else if (r.fallback) {
    for (const auto& [k, v] : l.scores) keys.insert(k);
  } else {
    for (const auto& [k, v] : l.scores) {
      if (r.scores.contains(k)) keys.insert(k);
    }
  }
  for (const auto& k : keys) {
    auto a = l.scores.contains(k) ? l.scores.at(k) : *l.fallback;
    auto b = r.scores.contains(k) ? r.scores.at(k) : *r.fallback;
    out.scores[k] = op(a, b);
  }
  return out;
}

RefDomain Reference(const RefExpr& e, const Records& records) {
  if (e.op == "$knn") {
    std::vector<std::pair<float, size_t>> all;
    for (size_t i = 0; i < records.size(); ++i) {
      float d = 0;
      for (size_t j = 0; j < e.knn.query.size(); ++j) {
        const float x = records[i].second[j] - e.knn.query[j];
        d += x * x;
      }
      all.emplace_back(d, i);
    }
    std::stable_sort(all.begin(), all.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    RefDomain out;
    out.fallback = e.knn.fallback;
    for (size_t r = 0; r < all.size() && r < e.knn.limit; ++r) {
      out.scores[records[all[r].second].first] = e.knn.return_rank ? float(r) : all[r].first;
    }
    return out;
  }
  if (e.op == "$val") return RefDomain{{}, e.value};
  if (e.op == "$abs" || e.op == "$exp" || e.op == "$log") {
    RefDomain d = Reference(e.children[0], records);
    float (*f)(float) = e.op == "$abs"   ? static_cast<float (*)(float)>(std::fabs)
                        : e.op == "$exp" ? static_cast<float (*)(float)>(std::exp)
                                         : static_cast<float (*)(float)>(std::log);
    for (auto& [k, v] : d.scores) v = f(v);
    if (d.fallback) d.fallback = f(*d.fallback);
    return d;
  }
  if (e.op == "$sub") {
    return Combine(Reference(e.children[0], records), Reference(e.children[1], records),
                   [](float a, float b) { return a - b; });
  }
  if (e.op == "$div") {
    return Combine(Reference(e.children[0], records), Reference(e.children[1], records),
                   [](float a, float b) { return a / b; });
  }
  RefDomain acc;
  float (*op)(float, float);
  if (e.op == "$sum") {
    acc.fallback = 0;
    op = [](float a, float b) { return a + b; };
  } else if (e.op == "$mul") {
    acc.fallback = 1;
    op = [](float a, float b) { return a * b; };
  } else if (e.op == "$max") {
    acc.fallback = std::numeric_limits<float>::lowest();
    op = [](float a, float b) { return std::max(a, b); };
  } else {
    acc.fallback = std::numeric_limits<float>::max();
    op = [](float a, float b) { return std::min(a, b); };
  }
  for (const auto& c : e.children) acc = Combine(acc, Reference(c, records), op);
  return acc;
}

RefExpr RandomExpr(std::mt19937& rng, int depth, size_t dim) {
  std::uniform_int_distribution<int> pick(0, 9);
  std::uniform_real_distribution<float> u(-1, 1);
  RefExpr e;
  const int choice = depth <= 0 ? (pick(rng) < 8 ? 0 : 1) : pick(rng);
  if (choice <= 2) {
    e.op = "$knn";
    for (size_t j = 0; j < dim; ++j) e.knn.query.push_back(u(rng));
    e.knn.limit = 1 + static_cast<uint32_t>(rng() % 40);
    if (rng() % 2) e.knn.fallback = float(rng() % 5);
    e.knn.return_rank = rng() % 3 == 0;
    return e;
  }
  if (choice == 3) {
    e.op = "$val";
    e.value = float(rng() % 7) - 2;
    return e;
  }
  static const char* kNary[] = {"$sum", "$mul", "$max", "$min"};
  static const char* kBinary[] = {"$sub", "$div"};
  static const char* kUnary[] = {"$abs", "$exp", "$log"};
  if (choice <= 6) {
    e.op = kNary[rng() % 4];
    const size_t n = 1 + rng() % 3;
    for (size_t i = 0; i < n; ++i) e.children.push_back(RandomExpr(rng, depth - 1, dim));
  } else if (choice <= 8) {
    e.op = kBinary[rng() % 2];
    e.children.push_back(RandomExpr(rng, depth - 1, dim));
    e.children.push_back(RandomExpr(rng, depth - 1, dim));
  } else {
    e.op = kUnary[rng() % 3];
    e.children.push_back(RandomExpr(rng, depth - 1, dim));
  }
  return e;
}

int32_t TotalOrder(float f) {
  int32_t bits;
  std::memcpy(&bits, &f, 4);
  return bits ^ static_cast<int32_t>(static_cast<uint32_t>(bits >> 31) >> 1);
}

TEST_F(SearchApiTest, RankExpressionsMatchAReferenceEvaluation) {
  constexpr size_t kDim = 3;
  std::string coll = Create("differential");
  std::mt19937 rng(42);
  std::uniform_real_distribution<float> u(-1, 1);
  Records records;
  std::string ids, embeddings;
  for (int i = 0; i < 150; ++i) {
    std::vector<float> v;
    for (size_t j = 0; j < kDim; ++j) v.push_back(std::round(u(rng) * 64) / 64);  // exact in f32
    records.emplace_back("r" + std::to_string(i), v);
    ids += (i ? ",\"" : "\"") + records.back().first + "\"";
    embeddings += std::string(i ? "," : "") + "[" + std::to_string(v[0]) + "," +
                  std::to_string(v[1]) + "," + std::to_string(v[2]) + "]";
  }
  ASSERT_EQ(
      Call("POST", coll + "/add", R"({"ids":[)" + ids + R"(],"embeddings":[)" + embeddings + "]}")
          .status,
      201);
  std::map<std::string, size_t> position;
  for (size_t i = 0; i < records.size(); ++i) position[records[i].first] = i;

  size_t nonempty = 0;
  for (int t = 0; t < 300; ++t) {
    RefExpr expr = RandomExpr(rng, 3, kDim);
    RefDomain want = Reference(expr, records);
    std::vector<std::pair<std::string, float>> sorted(want.scores.begin(), want.scores.end());
    std::stable_sort(sorted.begin(), sorted.end(), [&](const auto& a, const auto& b) {
      if (TotalOrder(a.second) != TotalOrder(b.second)) {
        return TotalOrder(a.second) < TotalOrder(b.second);
      }
      return position[a.first] < position[b.first];
    });
    auto got = Search(coll, R"({"rank":)" + expr.Json() + "," + kSelectScore + "}");
    ASSERT_EQ(got.size(), sorted.size()) << expr.Json();
    nonempty += !got.empty();
    for (size_t i = 0; i < got.size(); ++i) {
      const float w = sorted[i].second;
      if (!std::isfinite(w)) {  // JSON has no NaN or infinity: null
        EXPECT_TRUE(std::isnan(got[i].score)) << expr.Json() << " at " << i;
        continue;
      }
      // Scores equal in f32 up to the order of float sums; ids where scores differ clearly.
      EXPECT_NEAR(got[i].score, w, 1e-4f * std::max(1.0f, std::fabs(w)))
          << expr.Json() << " at " << i;
      const bool near_tie =
          (i > 0 && std::fabs(sorted[i - 1].second - w) <= 1e-4f * std::max(1.0f, std::fabs(w))) ||
          (i + 1 < sorted.size() &&
           std::fabs(sorted[i + 1].second - w) <= 1e-4f * std::max(1.0f, std::fabs(w)));
      if (!near_tie) {
        EXPECT_EQ(got[i].id, sorted[i].first) << expr.Json() << " at " << i;
      }
    }
  }
  EXPECT_GT(nonempty, 100u);  // most expressions rank something
}

std::string Sparse(const std::vector<std::pair<uint32_t, float>>& dims) {
  std::string indices, values;
  for (size_t i = 0; i < dims.size(); ++i) {
    indices += (i ? "," : "") + std::to_string(dims[i].first);
    values += (i ? "," : "") + std::to_string(dims[i].second);
  }
  return R"({"#type":"sparse_vector","indices":[)" + indices + R"(],"values":[)" + values + "]}";
}

TEST_F(SearchApiTest, SparseKnnScoresOneMinusTheDotProductAndFollowsWrites) {
  std::string coll = Create("sparse", {{"sp", false}});
  ASSERT_EQ(Call("POST", coll + "/add",
                 R"({"ids":["a","b","c","d"],"embeddings":[[1],[2],[3],[4]],"metadatas":[)"
                 R"({"sp":)" +
                     Sparse({{1, 1}, {7, 2}}) +
                     R"(,"tag":"x"},)"
                     R"({"sp":)" +
                     Sparse({{7, 3}}) +
                     R"(,"tag":"y"},)"
                     R"({"sp":)" +
                     Sparse({{9, 5}}) + R"(},{"tag":"x"}]})")
                .status,
            201);
  const std::string query =
      R"({"rank":{"$knn":{"query":{"indices":[1,7],"values":[1,1]},"key":"sp","limit":10}},)" +
      std::string(kSelectScore);
  auto rows = Search(coll, query + "}");
  EXPECT_EQ(Ids(rows), (std::vector<std::string>{"a", "b"}));  // c shares nothing, d has none
  EXPECT_EQ(rows[0].score, 1.0f - 3.0f);
  EXPECT_EQ(rows[1].score, 1.0f - 3.0f);  // a tie: insertion order
  rows = Search(coll, query + R"(,"filter":{"tag":"y"}})");
  EXPECT_EQ(Ids(rows), (std::vector<std::string>{"b"}));
  rows = Search(coll, query + R"(,"filter":{"#id":{"$nin":["b"]}}})");
  EXPECT_EQ(Ids(rows), (std::vector<std::string>{"a"}));
  // An update replaces the vector, a delete removes it, a metadata without the key drops it.
  ASSERT_EQ(Call("POST", coll + "/update",
                 R"({"ids":["b"],"metadatas":[{"sp":)" + Sparse({{1, 9}}) + "}]}")
                .status,
            200);
  ASSERT_EQ(Call("POST", coll + "/delete", R"({"ids":["a"]})").status, 200);
  ASSERT_EQ(
      Call("POST", coll + "/upsert",
           R"({"ids":["c"],"embeddings":[[3]],"metadatas":[{"sp":)" + Sparse({{7, 0.5}}) + "}]}")
          .status,
      200);
  rows = Search(coll, query + "}");
  EXPECT_EQ(Ids(rows), (std::vector<std::string>{"b", "c"}));
  EXPECT_EQ(rows[0].score, 1.0f - 9.0f);
  EXPECT_EQ(rows[1].score, 0.5f);
  ASSERT_EQ(Call("POST", coll + "/update", R"({"ids":["b"],"metadatas":[{"sp":null}]})").status,
            200);
  EXPECT_EQ(Ids(Search(coll, query + "}")), (std::vector<std::string>{"c"}));
  // The vectors come back in get as Chroma writes them.
  HttpResponse got = Call("POST", coll + "/get", R"({"ids":["c"],"include":["metadatas"]})");
  EXPECT_NE(got.body.find(R"({"sp":{"#type":"sparse_vector","indices":[7],"values":[0.5]}})"),
            std::string::npos)
      << got.body;
}

TEST_F(SearchApiTest, Bm25WeighsTheQueryByInverseDocumentFrequencyAmongAllRecords) {
  // Chroma's worked example (spec: "cat dog cat" / "dog fish", query "cat"), plus a record
  // without a vector that still counts in N.
  std::string coll = Create("bm25", {{"bm25", true}});
  ASSERT_EQ(
      Call(
          "POST", coll + "/add",
          R"({"ids":["d1","d2","d3"],"embeddings":[[1],[2],[3]],"metadatas":[)"
          R"({"bm25":{"#type":"sparse_vector","indices":[1312749093,1751422759],"values":[1.6786885245901642,1.904311073541843]}},)"
          R"({"bm25":{"#type":"sparse_vector","indices":[326019215,1312749093],"values":[1.6832038,1.6832038]}},)"
          R"({"other":1}]})")
          .status,
      201);
  const std::string query =
      R"({"rank":{"$knn":{"query":{"indices":[1751422759],"values":[1.6877434821696136],"tokens":["cat"]},"key":"bm25","limit":10}},)" +
      std::string(kSelectScore) + "}";
  auto rows = Search(coll, query);
  ASSERT_EQ(Ids(rows), (std::vector<std::string>{"d1"}));
  const float idf3 = float(std::log1p((3 - 1 + 0.5) / (1 + 0.5)));
  EXPECT_NEAR(rows[0].score, 1.0f - 1.6877434821696136f * idf3 * 1.904311073541843f, 1e-5);
  ASSERT_EQ(Call("POST", coll + "/delete", R"({"ids":["d3"]})").status, 200);
  rows = Search(coll, query);
  EXPECT_NEAR(rows[0].score, -1.2277672f, 1e-5);  // N = 2: the spec's figure
}

TEST_F(SearchApiTest, GroupByKeepsTheBestOfEachGroupAndSelectShapesTheColumns) {
  std::string coll = Create("groups");
  ASSERT_EQ(
      Call(
          "POST", coll + "/add",
          R"({"ids":["a","b","c","d","e"],"embeddings":[[0],[1],[2],[3],[4]],)"
          R"("documents":["A",null,"C","D","E"],)"
          R"("metadatas":[{"g":"x","n":1},{"g":"x","n":2},{"g":"y","n":3},{"n":4},{"g":"x","n":5}]})")
          .status,
      201);
  const std::string knn = R"("rank":{"$knn":{"query":[0],"limit":10}})";
  auto rows = Search(
      coll, "{" + knn +
                R"(,"group_by":{"keys":["g"],"aggregate":{"$min_k":{"keys":["#score"],"k":2}}},)" +
                kSelectScore + "}");
  EXPECT_EQ(Ids(rows), (std::vector<std::string>{"a", "b", "c", "d"}));  // e: third of group x
  rows = Search(
      coll,
      "{" + knn + R"(,"group_by":{"keys":["g"],"aggregate":{"$max_k":{"keys":["n"],"k":1}}}})");
  EXPECT_EQ(Ids(rows), (std::vector<std::string>{"c", "d", "e"}));
  HttpResponse r = Call(
      "POST", coll + "/search",
      R"({"searches":[{)" + knn +
          R"(,"limit":{"offset":1,"limit":2},"select":{"keys":["n","#document","missing","#score"]}},)"
          R"({"filter":{"#document":{"$contains":"D"}},"select":{"keys":["#metadata","#embedding"]}}]})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.body,
            R"({"ids":[["b","c"],["d"]],"documents":[[null,"C"],null],"embeddings":[null,[[3.0]]],)"
            R"("metadatas":[[{"n":2},{"n":3}],[{"n":4}]],"scores":[[1.0,4.0],null],)"
            R"("select":[["#document","#score","missing","n"],["#embedding","#metadata"]]})");
}

// The document index is built by a collection's first document filter, a read: its memory is
// counted against the cache budget then, not only at the next write.
TEST_F(SearchApiTest, TheDocumentIndexCountsAgainstTheCacheBudgetOnceBuilt) {
  std::string coll = Create("measured");
  std::string ids, embeddings, documents;
  for (int i = 0; i < 500; ++i) {
    ids += std::string(i ? "," : "") + "\"d" + std::to_string(i) + "\"";
    embeddings += std::string(i ? "," : "") + "[" + std::to_string(i) + "]";
    documents += std::string(i ? "," : "") + "\"document number " + std::to_string(i * 7919) +
                 " about things\"";
  }
  ASSERT_EQ(Call("POST", coll + "/add",
                 R"({"ids":[)" + ids + R"(],"embeddings":[)" + embeddings + R"(],"documents":[)" +
                     documents + "]}")
                .status,
            201);
  const std::string id = coll.substr(coll.rfind('/') + 1);
  services_.records.WaitIndexed(id);
  const size_t before = services_.records.cache_stats().bytes;
  ASSERT_GT(before, 0u);
  HttpResponse r = Call("POST", coll + "/get",
                        R"({"where_document":{"$contains":"number 7919 "},"include":[]})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_NE(r.body.find(R"("ids":["d1"])"), std::string::npos) << r.body;
  size_t after = before;
  for (int i = 0; i < 200 && after <= before; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    after = services_.records.cache_stats().bytes;
  }
  EXPECT_GT(after, before);
}

TEST_F(SearchApiTest, ErrorsNameWhatIsWrong) {
  std::string coll = Create("errors", {{"sp", false}});
  ASSERT_EQ(Call("POST", coll + "/add", R"({"ids":["a"],"embeddings":[[1,2]]})").status, 201);
  auto search = [&](const std::string& body) { return Call("POST", coll + "/search", body); };
  auto expect = [&](const std::string& body, int status, const std::string& message) {
    HttpResponse r = search(body);
    EXPECT_EQ(r.status, status) << body << " → " << r.body;
    EXPECT_NE(r.body.find(message), std::string::npos) << body << " → " << r.body;
  };
  expect(R"({"searches":[{"rank":{"$knn":{"query":{"indices":[1],"values":[1]},"key":"nope"}}}]})",
         400,
         "Cannot filter using metadata key 'nope' with type 'SparseVector' because indexing is "
         "disabled");
  expect(
      R"({"searches":[{"rank":{"$knn":{"query":{"indices":[3,3],"values":[1,1]},"key":"sp"}}}]})",
      400,
      "Validation error: searches[0].rank: Invalid sparse vector in KNN query: Sparse vector "
      "indices must be sorted in strictly ascending order (no duplicates)");
  expect(
      R"({"searches":[{},{"rank":{"$knn":{"query":{"indices":[3],"values":[1,2]},"key":"sp"}}}]})",
      400,
      "Validation error: searches[1].rank: Invalid sparse vector in KNN query: Sparse vector "
      "indices, values, and tokens (when present) must have the same length");
  expect(R"({"searches":[{"rank":{"$knn":{"query":[1,2,3]}}}]})", 400,
         "Collection expecting embedding with dimension of 2, got 3");
  expect(R"({"searches":[{"rank":{"$sum":[{"$nope":1}]}}]})", 422,
         "searches[0].rank.$sum[0]: unknown variant `$nope`");
  expect(
      R"({"searches":[{"rank":{"$knn":{"query":"text"}}}]})", 422,
      "searches[0].rank.$knn.query: data did not match any variant of untagged enum QueryVector");
  expect(R"({"searches":[{"rank":{"$knn":{"query":[1,2],"limit":-1}}}]})", 422,
         "searches[0].rank.$knn.limit: invalid value: integer `-1`, expected u32");
  expect(
      R"({"searches":[{"rank":{"$val":1},"group_by":{"keys":["g"]}}]})", 400,
      "Validation error: searches[0].group_by: group_by keys and aggregate must both be specified");
  expect(
      R"({"searches":[{"rank":{"$val":1},"group_by":{"keys":["g"],"aggregate":{"$min_k":{"keys":["#score"],"k":0}}}}]})",
      400, "aggregate k must be greater than 0");
  expect(
      R"({"searches":[{"group_by":{"keys":["g"],"aggregate":{"$min_k":{"keys":["#score"],"k":1}}}}]})",
      400, "group_by requires rank expression to be specified");
  expect(R"({"searches":[{"filter":{"x":{"$gt":"a"}}}]})", 400, "Invalid where clause");
  expect(R"({"searches":[],"read_level":"soon"})", 422, "read_level: unknown variant `soon`");
  expect(R"({"searches":[]})", 200, R"({"ids":[],"documents":[],)");
  // Bounds on one request, and finite query values.
  std::string many = R"({"searches":[{})";
  for (int i = 0; i < 256; ++i) many += ",{}";
  expect(many + "]}", 400, "at most 256 searches per request, got 257");
  std::string leaves;
  for (int i = 0; i < 33; ++i) leaves += std::string(i ? "," : "") + R"({"$knn":{"query":[1,2]}})";
  expect(R"({"searches":[{"rank":{"$sum":[)" + leaves + "]}}]}", 400,
         "a rank expression may hold at most 32 $knn leaves");
  expect(R"({"searches":[{"rank":{"$knn":{"query":[1e39,2]}}}]})", 400,
         "the $knn query vector's value at index 0 is NaN or infinity");
  EXPECT_EQ(Call("POST", std::string(kColls) + "/00000000-0000-0000-0000-000000000000/search",
                 R"({"searches":[]})")
                .status,
            404);
  // A sparse vector in metadata that breaks Chroma's rules.
  HttpResponse r = Call(
      "POST", coll + "/add",
      R"({"ids":["b"],"embeddings":[[1,2]],"metadatas":[{"sp":{"#type":"sparse_vector","indices":[1],"values":[]}}]})");
  EXPECT_EQ(r.status, 400);
  EXPECT_NE(r.body.find("Invalid metadata at index 0: key 'sp': Sparse vector indices, values"),
            std::string::npos)
      << r.body;
  r = Call("POST", coll + "/add",
           R"({"ids":["b"],"embeddings":[[1,2]],"metadatas":[{"sp":{"#type":"other"}}]})");
  EXPECT_EQ(r.status, 422) << r.body;
}

// Search results survive an eviction: a collection dropped from the cache to stay within its
// budget is loaded again from storage with its sparse vectors, and answers alike.
TEST(SearchEvictionTest, SparseAndDenseSearchesAnswerAlikeAfterAnEviction) {
  MemoryStorage storage;
  VersionClock clock;
  CatalogService catalog{&storage, &clock};
  ASSERT_TRUE(catalog.Initialize().ok());
  RecordService records{&catalog, &storage, &clock, /*cache_budget_bytes=*/1};
  auto api = std::make_unique<Api>(ApiOptions{}, &catalog, &records);
  auto call = [&](std::string method, const std::string& target, std::string body = "") {
    return api->Handle(testing::MakeRequest(std::move(method), target, std::move(body)));
  };
  // Two collections with a sparse index on "sp" (bm25), each evicting the other when used.
  HttpResponse probe = call("POST", kColls, R"({"name":"template"})");
  simdjson::dom::parser parser;
  std::string schema(simdjson::minify(parser.parse(probe.body)["schema"]));
  schema.insert(
      schema.find("\"keys\":{") + 8,
      R"("sp":{"sparse_vector":{"sparse_vector_index":{"enabled":true,"config":{"bm25":true}}}},)");
  std::vector<std::string> colls;
  for (const char* name : {"first", "second"}) {
    HttpResponse r =
        call("POST", kColls, R"({"name":")" + std::string(name) + R"(","schema":)" + schema + "}");
    ASSERT_EQ(r.status, 200) << r.body;
    colls.push_back(std::string(kColls) + "/" + r.body.substr(7, 36));
    HttpResponse added =
        call("POST", colls.back() + "/add",
             R"({"ids":["a","b","c"],"embeddings":[[0,1],[1,0],[1,1]],"documents":["x","y","z"],)"
             R"("metadatas":[{"sp":)" +
                 Sparse({{1, 1}, {2, 2}}) + "},{\"sp\":" + Sparse({{2, 1}}) + "},{\"n\":1}]}");
    ASSERT_EQ(added.status, 201) << added.body;
  }
  const std::string search =
      R"({"searches":[{"rank":{"$knn":{"query":{"indices":[2],"values":[1]},"key":"sp","limit":5}},"select":{"keys":["#score","#metadata"]}},)"
      R"({"rank":{"$knn":{"query":[1,1],"limit":2}},"filter":{"#document":{"$contains":"y"}},"select":{"keys":["#score"]}}]})";
  std::vector<std::string> first;
  for (const auto& c : colls) first.push_back(call("POST", c + "/search", search).body);
  const int64_t evictions = records.cache_stats().evictions;
  for (int round = 0; round < 3; ++round) {
    for (size_t i = 0; i < colls.size(); ++i) {
      EXPECT_EQ(call("POST", colls[i] + "/search", search).body, first[i]) << "round " << round;
    }
  }
  EXPECT_GT(records.cache_stats().evictions, evictions);  // they did evict each other
  EXPECT_NE(first[0].find(R"("ids":[["a","b"],["b"]])"), std::string::npos) << first[0];
}

}  // namespace
}  // namespace chromahouse
