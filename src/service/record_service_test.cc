// RecordService over MemoryStorage: one focused test per record rule of API.md §3.1–3.6, then a
// differential test that drives seeded random operation sequences against the service and
// against a deliberately simple reference model (a std::map scanned by brute force, with its own
// tiny filter evaluator), comparing every read exactly.
#include "service/record_service.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <utility>
#include <variant>
#include <vector>

#include "codec/where_codec.h"
#include "service/catalog_service.h"
#include "storage/memory/memory_storage.h"

namespace chromahouse {
namespace {

using Vec = std::vector<float>;

// One record as read back, with owned values.
struct Snap {
  std::string id;
  Vec embedding;
  std::optional<std::string> document;
  std::optional<Metadata> metadata;

  friend bool operator==(const Snap&, const Snap&) = default;
};

std::string ValueText(const MetadataValue& v) {
  return std::visit(
      [](const auto& x) -> std::string {
        using T = std::decay_t<decltype(x)>;
        std::ostringstream os;
        if constexpr (std::is_same_v<T, bool>) {
          os << (x ? "true" : "false");
        } else if constexpr (std::is_same_v<T, int64_t>) {
          os << x;
        } else if constexpr (std::is_same_v<T, double>) {
          os << x << "f";
        } else if constexpr (std::is_same_v<T, std::string>) {
          os << '"' << x << '"';
        } else {
          os << "[array]";
        }
        return os.str();
      },
      v);
}

std::ostream& operator<<(std::ostream& os, const Snap& s) {
  os << "{" << s.id << " [";
  for (size_t i = 0; i < s.embedding.size(); ++i) os << (i ? "," : "") << s.embedding[i];
  os << "] doc=" << (s.document ? '"' + *s.document + '"' : std::string("null")) << " md=";
  if (!s.metadata) {
    os << "null";
  } else {
    os << "{";
    for (const auto& [k, v] : *s.metadata) os << k << ":" << ValueText(v) << " ";
    os << "}";
  }
  return os << "}";
}

Snap ToSnap(const RecordView& v) {
  Snap s;
  s.id = v.id;
  if (v.embedding != nullptr) s.embedding.assign(v.embedding, v.embedding + v.dim);
  if (v.document != nullptr) s.document = *v.document;
  if (v.metadata_json != nullptr && *v.metadata_json) {
    s.metadata = MetadataFromJson(**v.metadata_json).value();
  }
  return s;
}

// One record of a write request; nullopt fields are null elements.
struct In {
  std::string id;
  std::optional<Vec> embedding;
  std::optional<std::string> document;
  std::optional<MetadataPatch> metadata;
};

// A column is sent when at least one element is not null (an all-null column means the same).
RecordWriteRequest Req(const std::vector<In>& records) {
  RecordWriteRequest r;
  bool any_e = false, any_d = false, any_m = false;
  for (const auto& x : records) {
    r.ids.push_back(x.id);
    any_e |= x.embedding.has_value();
    any_d |= x.document.has_value();
    any_m |= x.metadata.has_value();
  }
  if (any_e) r.embeddings.emplace();
  if (any_d) r.documents.emplace();
  if (any_m) r.metadatas.emplace();
  for (const auto& x : records) {
    if (any_e) r.embeddings->push_back(x.embedding);
    if (any_d) r.documents->push_back(x.document);
    if (any_m) r.metadatas->push_back(x.metadata);
  }
  return r;
}

MetadataPatch Set(Metadata set) { return MetadataPatch{std::move(set), {}}; }
MetadataPatch Patch(Metadata set, std::vector<std::string> remove) {
  return MetadataPatch{std::move(set), std::move(remove)};
}

Where Cond(std::string key, MetadataOp op, MetadataValue operand) {
  return Where{MetadataCondition{std::move(key), op, std::move(operand)}};
}
Where DocCond(DocumentOp op, std::string pattern) {
  return Where{DocumentCondition{op, std::move(pattern), nullptr}};
}
Where Composite(BoolOp op, std::vector<Where> children) {
  return Where{WhereComposite{op, std::move(children)}};
}

class RecordServiceTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(catalog_.Initialize().ok()); }

  std::string NewCollection(const std::string& name, Space space = Space::kL2) {
    CreateCollectionRequest req;
    req.name = name;
    if (space != Space::kL2) {
      HnswConfigInput hnsw;
      hnsw.space = space;
      CollectionConfigurationInput config;
      config.hnsw = hnsw;
      req.configuration = config;
    }
    auto c = catalog_.CreateCollection("default_tenant", "default_database", req);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    return c.ok() ? c->id : std::string();
  }

  Status Add(const std::string& c, const std::vector<In>& r) {
    return records_.Write(c, RecordWriteKind::kAdd, Req(r));
  }
  Status Upsert(const std::string& c, const std::vector<In>& r) {
    return records_.Write(c, RecordWriteKind::kUpsert, Req(r));
  }
  Status Update(const std::string& c, const std::vector<In>& r) {
    return records_.Write(c, RecordWriteKind::kUpdate, Req(r));
  }

  // The records a get returns, copied out (the result's lock is released on return).
  std::vector<Snap> Get(const std::string& c, const GetRequest& req = GetRequest{}) {
    auto g = records_.Get(c, req);
    EXPECT_TRUE(g.ok()) << g.status().ToString();
    std::vector<Snap> out;
    if (!g.ok()) return out;
    for (const auto& v : g->records) out.push_back(ToSnap(v));
    return out;
  }
  std::vector<std::string> GetIds(const std::string& c, const GetRequest& req = GetRequest{}) {
    std::vector<std::string> ids;
    for (const auto& s : Get(c, req)) ids.push_back(s.id);
    return ids;
  }

  struct Hit {
    std::string id;
    float distance;
  };
  Result<std::vector<std::vector<Hit>>> Query(const std::string& c, const QueryRequest& req) {
    auto q = records_.Query(c, req);
    if (!q.ok()) return q.status();
    std::vector<std::vector<Hit>> out;
    for (const auto& list : q->per_query) {
      out.emplace_back();
      for (const auto& v : list) out.back().push_back(Hit{v.id, v.distance});
    }
    return out;
  }
  static std::vector<std::string> HitIds(const std::vector<Hit>& hits) {
    std::vector<std::string> ids;
    for (const auto& h : hits) ids.push_back(h.id);
    return ids;
  }

  int64_t Count(const std::string& c) {
    auto n = records_.Count(c);
    EXPECT_TRUE(n.ok()) << n.status().ToString();
    return n.ok() ? *n : -1;
  }

  MemoryStorage storage_;
  VersionClock clock_;
  CatalogService catalog_{&storage_, &clock_};
  RecordService records_{&catalog_, &storage_, &clock_};
};

using Strings = std::vector<std::string>;

// ---- §3.1 identity, duplicates, existence ----------------------------------------------------

TEST_F(RecordServiceTest, DuplicateIdsInOneAddKeepTheFirstOccurrence) {
  std::string c = NewCollection("dup_add");
  ASSERT_TRUE(Add(c, {{"a", Vec{1, 0}, "first", Set({{"k", int64_t{1}}})},
                      {"b", Vec{0, 1}, "bee", std::nullopt},
                      {"a", Vec{5, 5}, "second", Set({{"k", int64_t{2}}})}})
                  .ok());
  std::vector<Snap> want = {{"a", {1, 0}, "first", Metadata{{"k", int64_t{1}}}},
                            {"b", {0, 1}, "bee", std::nullopt}};
  EXPECT_EQ(Get(c), want);
  EXPECT_EQ(Count(c), 2);
}

TEST_F(RecordServiceTest, AddOfAnExistingIdIsIgnored) {
  std::string c = NewCollection("add_existing");
  ASSERT_TRUE(Add(c, {{"a", Vec{1, 1}, "old", Set({{"k", std::string("v")}})}}).ok());
  ASSERT_TRUE(Add(c, {{"b", Vec{2, 2}, std::nullopt, std::nullopt}}).ok());
  ASSERT_TRUE(Add(c, {{"a", Vec{9, 9}, "new", Set({{"k", std::string("w")}})},
                      {"c", Vec{3, 3}, std::nullopt, std::nullopt}})
                  .ok());
  std::vector<Snap> want = {{"a", {1, 1}, "old", Metadata{{"k", std::string("v")}}},
                            {"b", {2, 2}, std::nullopt, std::nullopt},
                            {"c", {3, 3}, std::nullopt, std::nullopt}};
  EXPECT_EQ(Get(c), want);
}

TEST_F(RecordServiceTest, UpdateOfAMissingIdIsIgnored) {
  std::string c = NewCollection("update_missing");
  ASSERT_TRUE(Add(c, {{"a", Vec{1, 1}, "doc", std::nullopt}}).ok());
  ASSERT_TRUE(Update(c, {{"zz", Vec{7, 7}, "ghost", Set({{"k", int64_t{1}}})},
                         {"a", std::nullopt, "new doc", std::nullopt}})
                  .ok());
  std::vector<Snap> want = {{"a", {1, 1}, "new doc", std::nullopt}};
  EXPECT_EQ(Get(c), want);
  EXPECT_EQ(Count(c), 1);
}

TEST_F(RecordServiceTest, UpsertInsertsWhenAbsentAndMergesMetadataWhenPresent) {
  std::string c = NewCollection("upsert_merge");
  ASSERT_TRUE(Add(c, {{"a", Vec{1, 2}, "doc a",
                       Set({{"k1", int64_t{1}}, {"k2", std::string("x")}, {"k3", 2.5}})}})
                  .ok());
  ASSERT_TRUE(Upsert(c, {{"a", Vec{3, 4}, std::nullopt,
                          Patch({{"k1", int64_t{7}}, {"k4", true}}, {"k2", "never_there"})},
                         {"b", Vec{5, 6}, "doc b", Set({{"m", int64_t{1}}})}})
                  .ok());
  std::vector<Snap> want = {
      {"a", {3, 4}, "doc a", Metadata{{"k1", int64_t{7}}, {"k3", 2.5}, {"k4", true}}},
      {"b", {5, 6}, "doc b", Metadata{{"m", int64_t{1}}}}};
  EXPECT_EQ(Get(c), want);
  // Deleting every key leaves no metadata (read back as null).
  ASSERT_TRUE(Upsert(c, {{"b", Vec{5, 6}, std::nullopt, Patch({}, {"m"})}}).ok());
  EXPECT_EQ(Get(c)[1].metadata, std::nullopt);
  // Upsert keeps the insertion position of an existing record.
  ASSERT_TRUE(Upsert(c, {{"a", Vec{0, 0}, std::nullopt, std::nullopt}}).ok());
  EXPECT_EQ(GetIds(c), (Strings{"a", "b"}));
}

TEST_F(RecordServiceTest, NullElementsInUpdateAndUpsertLeaveFieldsUnchanged) {
  std::string c = NewCollection("null_elements");
  ASSERT_TRUE(Add(c, {{"a", Vec{1, 1}, "doc a", Set({{"k", int64_t{1}}})},
                      {"b", Vec{2, 2}, "doc b", Set({{"k", int64_t{2}}})}})
                  .ok());
  // Every column is sent, with a null element for some records.
  ASSERT_TRUE(Update(c, {{"a", std::nullopt, "A2", std::nullopt},
                         {"b", Vec{7, 7}, std::nullopt, Set({{"x", int64_t{1}}})}})
                  .ok());
  std::vector<Snap> want = {{"a", {1, 1}, "A2", Metadata{{"k", int64_t{1}}}},
                            {"b", {7, 7}, "doc b", Metadata{{"k", int64_t{2}}, {"x", int64_t{1}}}}};
  EXPECT_EQ(Get(c), want);
  ASSERT_TRUE(Upsert(c, {{"a", std::nullopt, std::nullopt, Set({{"y", 1.5}})},
                         {"b", Vec{8, 8}, "B3", std::nullopt}})
                  .ok());
  want = {{"a", {1, 1}, "A2", Metadata{{"k", int64_t{1}}, {"y", 1.5}}},
          {"b", {8, 8}, "B3", Metadata{{"k", int64_t{2}}, {"x", int64_t{1}}}}};
  EXPECT_EQ(Get(c), want);
}

TEST_F(RecordServiceTest, EmptyMetadataOnAddReadsBackAsNull) {
  std::string c = NewCollection("empty_md");
  ASSERT_TRUE(Add(c, {{"a", Vec{1}, std::nullopt, Set({})}}).ok());
  EXPECT_EQ(Get(c)[0].metadata, std::nullopt);
}

// ---- §3.1 delete ------------------------------------------------------------------------------

TEST_F(RecordServiceTest, DeleteByIdsReturnsTheNumberOfIdsSent) {
  std::string c = NewCollection("delete_ids");
  ASSERT_TRUE(Add(c, {{"a", Vec{1}, {}, {}}, {"b", Vec{2}, {}, {}}}).ok());
  DeleteRequest req;
  req.ids = Strings{"a", "missing", "also_missing"};
  auto n = records_.Delete(c, req);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 3);
  EXPECT_EQ(GetIds(c), Strings{"b"});
  req.ids = Strings{"a", "a"};  // nothing left to delete: still the number sent
  n = records_.Delete(c, req);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 2);
  EXPECT_EQ(Count(c), 1);
}

TEST_F(RecordServiceTest, DeleteByWhereReturnsTheRealCount) {
  std::string c = NewCollection("delete_where");
  for (int i = 1; i <= 4; ++i) {
    ASSERT_TRUE(Add(c, {{"r" + std::to_string(i), Vec{float(i)}, "doc " + std::to_string(i),
                         Set({{"n", int64_t{i}}})}})
                    .ok());
  }
  DeleteRequest req;
  req.where = Cond("n", MetadataOp::kGt, int64_t{2});
  EXPECT_EQ(*records_.Delete(c, req), 2);
  EXPECT_EQ(*records_.Delete(c, req), 0);
  // ids intersected with the filter: only r1 is both listed and matching.
  req.ids = Strings{"r1", "r2", "missing"};
  req.where = Cond("n", MetadataOp::kLt, int64_t{2});
  EXPECT_EQ(*records_.Delete(c, req), 1);
  EXPECT_EQ(GetIds(c), Strings{"r2"});
  DeleteRequest by_doc;
  by_doc.where_document = DocCond(DocumentOp::kContains, "doc 2");
  EXPECT_EQ(*records_.Delete(c, by_doc), 1);
  EXPECT_EQ(Count(c), 0);
}

TEST_F(RecordServiceTest, DeleteLimitTakesTheFirstMatchesInInsertionOrder) {
  std::string c = NewCollection("delete_limit");
  // Insertion order r5 r3 x1 r1 r4 x2 r2; r* match, x* do not.
  for (const char* id : {"r5", "r3", "x1", "r1", "r4", "x2", "r2"}) {
    bool match = id[0] == 'r';
    ASSERT_TRUE(
        Add(c, {{id, Vec{1, 2}, {}, Set({{"g", std::string(match ? "in" : "out")}})}}).ok());
  }
  // An upsert of the first record does not move it.
  ASSERT_TRUE(Upsert(c, {{"r5", Vec{3, 3}, "touched", std::nullopt}}).ok());
  DeleteRequest req;
  req.where = Cond("g", MetadataOp::kEq, std::string("in"));
  req.limit = 2;
  auto n = records_.Delete(c, req);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 2);
  EXPECT_EQ(GetIds(c), (Strings{"x1", "r1", "r4", "x2", "r2"}));
  req.limit = 10;
  EXPECT_EQ(*records_.Delete(c, req), 3);
  EXPECT_EQ(GetIds(c), (Strings{"x1", "x2"}));
}

TEST_F(RecordServiceTest, DeleteWithEmptyIdsAndNoFilterIsInvalid) {
  std::string c = NewCollection("delete_empty_ids");
  ASSERT_TRUE(Add(c, {{"a", Vec{1}, {}, {}}}).ok());
  DeleteRequest req;
  req.ids = Strings{};
  auto n = records_.Delete(c, req);
  ASSERT_FALSE(n.ok());
  EXPECT_EQ(n.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(n.status().message(), "Either ids or where must be specified");
  // Nothing at all: a no-op reporting 0.
  n = records_.Delete(c, DeleteRequest{});
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 0);
  // `ids: []` with a filter: the intersection is empty.
  req.where = Where::MatchAll();
  n = records_.Delete(c, req);
  ASSERT_TRUE(n.ok()) << n.status().ToString();
  EXPECT_EQ(*n, 0);
  EXPECT_EQ(GetIds(c), Strings{"a"});
}

TEST_F(RecordServiceTest, DeleteLimitWithoutAFilterIsInvalid) {
  std::string c = NewCollection("delete_limit_nofilter");
  ASSERT_TRUE(Add(c, {{"a", Vec{1}, {}, {}}}).ok());
  for (bool with_ids : {false, true}) {
    DeleteRequest req;
    if (with_ids) req.ids = Strings{"a"};
    req.limit = 1;
    auto n = records_.Delete(c, req);
    ASSERT_FALSE(n.ok());
    EXPECT_EQ(n.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(n.status().message(), "limit can only be specified when a where clause is provided");
  }
  EXPECT_EQ(GetIds(c), Strings{"a"});
}

// ---- §3.5 ordering, offset/limit --------------------------------------------------------------

TEST_F(RecordServiceTest, GetReturnsInsertionOrderNotRequestedOrder) {
  std::string c = NewCollection("get_order");
  ASSERT_TRUE(Add(c, {{"c", Vec{1}, {}, {}}, {"a", Vec{2}, {}, {}}}).ok());
  ASSERT_TRUE(Add(c, {{"b", Vec{3}, {}, {}}}).ok());
  GetRequest req;
  req.ids = Strings{"b", "zz", "c", "b", "a"};
  EXPECT_EQ(GetIds(c, req), (Strings{"c", "a", "b"}));
  EXPECT_EQ(GetIds(c), (Strings{"c", "a", "b"}));
  // A deleted and re-added record goes to the end.
  DeleteRequest del;
  del.ids = Strings{"c"};
  ASSERT_TRUE(records_.Delete(c, del).ok());
  ASSERT_TRUE(Add(c, {{"c", Vec{4}, {}, {}}}).ok());
  EXPECT_EQ(GetIds(c), (Strings{"a", "b", "c"}));
}

TEST_F(RecordServiceTest, GetFiltersThenOffsetThenLimit) {
  std::string c = NewCollection("get_offset_limit");
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(
        Add(c, {{"r" + std::to_string(i), Vec{float(i)}, {}, Set({{"n", int64_t{i}}})}}).ok());
  }
  GetRequest req;
  req.where = Cond("n", MetadataOp::kNe, int64_t{2});
  req.offset = 1;
  req.limit = 2;
  EXPECT_EQ(GetIds(c, req), (Strings{"r1", "r3"}));
  req.limit.reset();
  EXPECT_EQ(GetIds(c, req), (Strings{"r1", "r3", "r4", "r5"}));
  req.offset = 5;
  EXPECT_TRUE(GetIds(c, req).empty());
  req.offset = 0;
  req.limit = 100;
  EXPECT_EQ(GetIds(c, req).size(), 5u);
}

TEST_F(RecordServiceTest, GetWithLimitZeroIsEmpty) {
  std::string c = NewCollection("get_limit_zero");
  ASSERT_TRUE(Add(c, {{"a", Vec{1}, {}, {}}, {"b", Vec{2}, {}, {}}}).ok());
  GetRequest req;
  req.limit = 0;
  EXPECT_TRUE(GetIds(c, req).empty());
}

// ---- §3.5 query -------------------------------------------------------------------------------

// Chroma 1.x: query `ids` naming a record that does not exist (never, or deleted) fail the
// query, unless a where/where_document filter is given or nothing was ever written.
TEST_F(RecordServiceTest, QueryByIdsWithAnUnknownIdFailsAsInChroma) {
  std::string c = NewCollection("query_unknown_ids");
  QueryRequest req;
  req.query_embeddings = {{1, 0}};
  req.n_results = 1;
  req.ids = Strings{"zzz"};
  req.unknown_ids_fail = true;
  auto q = Query(c, req);  // no dimension yet: empty answer
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_TRUE((*q)[0].empty());
  ASSERT_TRUE(Add(c, {{"a", Vec{1, 0}, {}, Set({{"k", int64_t{1}}})},
                      {"b", Vec{0, 1}, {}, Set({{"k", int64_t{1}}})}})
                  .ok());
  DeleteRequest del;
  del.ids = Strings{"b"};
  ASSERT_TRUE(records_.Delete(c, del).ok());
  for (const Strings& ids : {Strings{"zzz"}, Strings{"b"}, Strings{"a", "b"}}) {
    req.ids = ids;
    q = Query(c, req);
    EXPECT_EQ(q.status().code(), StatusCode::kInternal) << ids.size();
    EXPECT_EQ(q.status().message(), "Error executing plan: Internal error: Error finding id");
  }
  req.ids = Strings{"a"};
  EXPECT_EQ(HitIds((*Query(c, req))[0]), (Strings{"a"}));
  // With a filter the unknown ids are left out.
  req.ids = Strings{"a", "b"};
  req.where = Cond("k", MetadataOp::kEq, int64_t{1});
  EXPECT_EQ(HitIds((*Query(c, req))[0]), (Strings{"a"}));
  // The v1 API leaves them out too.
  req.where.reset();
  req.unknown_ids_fail = false;
  EXPECT_EQ(HitIds((*Query(c, req))[0]), (Strings{"a"}));
  // Everything deleted: still an error (the collection has a dimension).
  del.ids = Strings{"a"};
  ASSERT_TRUE(records_.Delete(c, del).ok());
  req.unknown_ids_fail = true;
  EXPECT_EQ(Query(c, req).status().code(), StatusCode::kInternal);
}

TEST_F(RecordServiceTest, QueryClampsNResultsToTheCandidates) {
  std::string c = NewCollection("query_clamp");
  ASSERT_TRUE(Add(c, {{"a", Vec{0, 0}, {}, Set({{"k", int64_t{1}}})},
                      {"b", Vec{3, 0}, {}, Set({{"k", int64_t{2}}})},
                      {"c", Vec{1, 0}, {}, Set({{"k", int64_t{2}}})}})
                  .ok());
  QueryRequest req;
  req.query_embeddings = {{0, 0}};
  req.n_results = 10;
  auto q = Query(c, req);
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  ASSERT_EQ(q->size(), 1u);
  EXPECT_EQ(HitIds((*q)[0]), (Strings{"a", "c", "b"}));
  EXPECT_FLOAT_EQ((*q)[0][2].distance, 9.0f);
  req.n_results = 2;
  EXPECT_EQ(HitIds((*Query(c, req))[0]), (Strings{"a", "c"}));
  req.where = Cond("k", MetadataOp::kEq, int64_t{2});
  req.n_results = 10;
  EXPECT_EQ(HitIds((*Query(c, req))[0]), (Strings{"c", "b"}));
  req.n_results = 0;
  q = Query(c, req);
  ASSERT_TRUE(q.ok());
  ASSERT_EQ(q->size(), 1u);
  EXPECT_TRUE((*q)[0].empty());
  // A filter that matches nothing: one empty inner list.
  req.n_results = 5;
  req.where = Cond("k", MetadataOp::kEq, int64_t{99});
  q = Query(c, req);
  ASSERT_TRUE(q.ok());
  ASSERT_EQ(q->size(), 1u);
  EXPECT_TRUE((*q)[0].empty());
}

TEST_F(RecordServiceTest, QueryReturnsOneInnerListPerQueryEmbedding) {
  std::string c = NewCollection("query_lists");
  ASSERT_TRUE(
      Add(c, {{"a", Vec{0, 0}, {}, {}}, {"b", Vec{10, 0}, {}, {}}, {"c", Vec{0, 10}, {}, {}}})
          .ok());
  QueryRequest req;
  req.query_embeddings = {{9, 0}, {0, 9}, {1, 1}};
  req.n_results = 1;
  auto q = Query(c, req);
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  ASSERT_EQ(q->size(), 3u);
  EXPECT_EQ(HitIds((*q)[0]), Strings{"b"});
  EXPECT_EQ(HitIds((*q)[1]), Strings{"c"});
  EXPECT_EQ(HitIds((*q)[2]), Strings{"a"});
  req.query_embeddings.clear();
  q = Query(c, req);
  ASSERT_TRUE(q.ok());
  EXPECT_TRUE(q->empty());
}

TEST_F(RecordServiceTest, QueryOnAnEmptyCollectionReturnsEmptyInnerLists) {
  std::string c = NewCollection("query_empty");
  QueryRequest req;
  req.query_embeddings = {{1, 2, 3}, {4, 5, 6}};
  auto q = Query(c, req);  // dimension is still null: any length is accepted
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  ASSERT_EQ(q->size(), 2u);
  EXPECT_TRUE((*q)[0].empty());
  EXPECT_TRUE((*q)[1].empty());
  // Every record deleted: still one empty list per query.
  ASSERT_TRUE(Add(c, {{"a", Vec{1, 2, 3}, {}, {}}}).ok());
  DeleteRequest del;
  del.ids = Strings{"a"};
  ASSERT_TRUE(records_.Delete(c, del).ok());
  q = Query(c, req);
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  ASSERT_EQ(q->size(), 2u);
  EXPECT_TRUE((*q)[0].empty());
  EXPECT_TRUE((*q)[1].empty());
}

// ---- §3.2 embeddings ---------------------------------------------------------------------------

void ExpectInvalid(const Status& s, const std::string& message) {
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument) << s.ToString();
  EXPECT_EQ(s.message(), message);
}

TEST_F(RecordServiceTest, DimensionErrorsUseChromasMessages) {
  std::string c = NewCollection("dims");
  // Mixed lengths in one request, on a fresh collection: rejected, dimension stays unset.
  ExpectInvalid(Add(c, {{"a", Vec{1, 2, 3}, {}, {}}, {"b", Vec{1, 2}, {}, {}}}),
                "Inconsistent dimensions in provided embeddings");
  EXPECT_EQ(catalog_.GetCollection(c)->dimension, std::nullopt);
  Status empty = Add(c, {{"a", Vec{}, {}, {}}});
  EXPECT_EQ(empty.code(), StatusCode::kInvalidArgument);
  const std::string tail = "Each embedding must have at least 1 dimension";
  ASSERT_GE(empty.message().size(), tail.size());
  EXPECT_EQ(empty.message().substr(empty.message().size() - tail.size()), tail);
  EXPECT_EQ(Count(c), 0);

  ASSERT_TRUE(Add(c, {{"a", Vec{1, 2, 3}, {}, {}}}).ok());
  EXPECT_EQ(catalog_.GetCollection(c)->dimension, 3);
  ExpectInvalid(Add(c, {{"b", Vec{1, 2}, {}, {}}}),
                "Collection expecting embedding with dimension of 3, got 2");
  ExpectInvalid(Upsert(c, {{"a", Vec{1, 2, 3, 4}, {}, {}}}),
                "Collection expecting embedding with dimension of 3, got 4");
  ExpectInvalid(Update(c, {{"a", Vec{1}, {}, {}}}),
                "Collection expecting embedding with dimension of 3, got 1");
  QueryRequest req;
  req.query_embeddings = {{1, 2}, {3, 4}};
  ExpectInvalid(Query(c, req).status(),
                "Collection expecting embedding with dimension of 3, got 2");
  req.query_embeddings = {{1, 2, 3}, {1, 2}};
  ExpectInvalid(Query(c, req).status(), "Inconsistent dimensions in provided embeddings");
  std::vector<Snap> want = {{"a", {1, 2, 3}, std::nullopt, std::nullopt}};
  EXPECT_EQ(Get(c), want);
}

TEST_F(RecordServiceTest, DistancesAreComputedAsChromaDoes) {
  {  // l2: squared, no square root.
    std::string c = NewCollection("dist_l2");
    ASSERT_TRUE(Add(c, {{"a", Vec{1, 0}, {}, {}}}).ok());
    QueryRequest req;
    req.query_embeddings = {{0, 2}};
    auto q = Query(c, req);
    ASSERT_TRUE(q.ok());
    ASSERT_EQ((*q)[0].size(), 1u);
    EXPECT_EQ((*q)[0][0].distance, 5.0f);
  }
  {  // ip: 1 − a·b, can be negative.
    std::string c = NewCollection("dist_ip", Space::kIp);
    ASSERT_TRUE(Add(c, {{"a", Vec{2, 0}, {}, {}}, {"b", Vec{0, 0.5}, {}, {}}}).ok());
    QueryRequest req;
    req.query_embeddings = {{3, 4}};
    auto q = Query(c, req);
    ASSERT_TRUE(q.ok());
    ASSERT_EQ((*q)[0].size(), 2u);
    EXPECT_EQ(HitIds((*q)[0]), (Strings{"a", "b"}));
    EXPECT_EQ((*q)[0][0].distance, -5.0f);
    EXPECT_EQ((*q)[0][1].distance, -1.0f);
  }
  {  // cosine: 1 − a·b / (‖a‖‖b‖); embeddings come back as stored, not normalised.
    std::string c = NewCollection("dist_cosine", Space::kCosine);
    ASSERT_TRUE(Add(c, {{"same", Vec{3, 4, 0.1f, -2.5f}, {}, {}},
                        {"diag", Vec{1, 1, 0, 0}, {}, {}},
                        {"opposite", Vec{-3, -4, -0.1f, 2.5f}, {}, {}}})
                    .ok());
    QueryRequest req;
    req.query_embeddings = {{6, 8, 0.2f, -5}};
    auto q = Query(c, req);
    ASSERT_TRUE(q.ok());
    ASSERT_EQ((*q)[0].size(), 3u);
    EXPECT_EQ(HitIds((*q)[0]), (Strings{"same", "diag", "opposite"}));
    EXPECT_NEAR((*q)[0][0].distance, 0.0, 1e-6);
    double qn = std::sqrt(36.0 + 64.0 + 0.04 + 25.0);
    EXPECT_NEAR((*q)[0][1].distance, 1.0 - 14.0 / (qn * std::sqrt(2.0)), 1e-6);
    EXPECT_NEAR((*q)[0][2].distance, 2.0, 1e-6);
    std::vector<Snap> got = Get(c);
    ASSERT_EQ(got.size(), 3u);
    EXPECT_EQ(got[0].embedding, (Vec{3, 4, 0.1f, -2.5f}));  // bit-exact
  }
}

// ---- §3.1 validation --------------------------------------------------------------------------

TEST_F(RecordServiceTest, InconsistentLengthsAreRejected) {
  std::string c = NewCollection("lengths");
  const std::string msg = "Inconsistent number of IDs, embeddings, documents, URIs and metadatas";
  RecordWriteRequest r = Req({{"a", Vec{1}, {}, {}}, {"b", Vec{2}, {}, {}}});
  r.embeddings->pop_back();
  ExpectInvalid(records_.Write(c, RecordWriteKind::kAdd, r), msg);
  r = Req({{"a", Vec{1}, "x", {}}, {"b", Vec{2}, "y", {}}});
  r.documents->push_back("z");
  ExpectInvalid(records_.Write(c, RecordWriteKind::kUpsert, r), msg);
  r = Req({{"a", Vec{1}, {}, Set({})}});
  r.metadatas->push_back(std::nullopt);
  ExpectInvalid(records_.Write(c, RecordWriteKind::kAdd, r), msg);
  r = Req({{"a", Vec{1}, {}, {}}});
  r.uris.emplace();
  ExpectInvalid(records_.Write(c, RecordWriteKind::kUpdate, r), msg);
  EXPECT_EQ(Count(c), 0);
}

TEST_F(RecordServiceTest, EmptyIdIsRejectedAndNothingIsWritten) {
  std::string c = NewCollection("empty_id");
  for (auto kind : {RecordWriteKind::kAdd, RecordWriteKind::kUpsert, RecordWriteKind::kUpdate}) {
    ExpectInvalid(records_.Write(c, kind, Req({{"a", Vec{1}, {}, {}}, {"", Vec{2}, {}, {}}})),
                  "Empty ID, ID must have at least one character");
  }
  EXPECT_EQ(Count(c), 0);
}

TEST_F(RecordServiceTest, InvalidMetadataKeysAreRejectedWithTheirIndex) {
  std::string c = NewCollection("bad_keys");
  ExpectInvalid(Add(c, {{"a", Vec{1}, {}, Set({{"ok", int64_t{1}}})},
                        {"b", Vec{2}, {}, Set({{"#doc", int64_t{1}}})}}),
                "Validation error: metadatas: Invalid metadata at index 1");
  ExpectInvalid(Upsert(c, {{"a", Vec{1}, {}, Set({{"$x", std::string("v")}})}}),
                "Validation error: metadatas: Invalid metadata at index 0");
  ExpectInvalid(Add(c, {{"a", Vec{1}, {}, Set({{"", true}})}}),
                "Validation error: metadatas: Invalid metadata at index 0");
  EXPECT_EQ(Count(c), 0);
}

// ---- Storage failures (record_service.h: nothing is applied) ---------------------------------

TEST_F(RecordServiceTest, NothingIsAppliedWhenStorageFails) {
  std::string c = NewCollection("storage_down");
  ASSERT_TRUE(Add(c, {{"a", Vec{1, 1}, "doc a", Set({{"k", int64_t{1}}})},
                      {"b", Vec{2, 2}, "doc b", Set({{"k", int64_t{2}}})}})
                  .ok());
  const std::vector<Snap> before = Get(c);
  storage_.SetUnavailable(true);
  EXPECT_EQ(Add(c, {{"c", Vec{3, 3}, {}, {}}}).code(), StatusCode::kUnavailable);
  EXPECT_EQ(
      Upsert(c, {{"a", Vec{9, 9}, "changed", Set({{"k", int64_t{9}}})}, {"d", Vec{4, 4}, {}, {}}})
          .code(),
      StatusCode::kUnavailable);
  EXPECT_EQ(Update(c, {{"b", Vec{8, 8}, "changed", Patch({}, {"k"})}}).code(),
            StatusCode::kUnavailable);
  DeleteRequest by_ids;
  by_ids.ids = Strings{"a"};
  EXPECT_EQ(records_.Delete(c, by_ids).status().code(), StatusCode::kUnavailable);
  DeleteRequest by_where;
  by_where.where = Cond("k", MetadataOp::kGte, int64_t{1});
  EXPECT_EQ(records_.Delete(c, by_where).status().code(), StatusCode::kUnavailable);
  storage_.SetUnavailable(false);
  EXPECT_EQ(Get(c), before);
  EXPECT_EQ(Count(c), 2);
  // And the writes go through once storage is back.
  ASSERT_TRUE(Add(c, {{"c", Vec{3, 3}, {}, {}}}).ok());
  EXPECT_EQ(Count(c), 3);
}

TEST_F(RecordServiceTest, AFailedFirstWriteDoesNotFixTheDimension) {
  std::string c = NewCollection("storage_down_dim");
  EXPECT_EQ(Count(c), 0);  // loads the (empty) collection while storage is up
  storage_.SetUnavailable(true);
  EXPECT_EQ(Add(c, {{"a", Vec{1, 2, 3}, {}, {}}}).code(), StatusCode::kUnavailable);
  storage_.SetUnavailable(false);
  EXPECT_EQ(catalog_.GetCollection(c)->dimension, std::nullopt);
  EXPECT_EQ(Count(c), 0);
  ASSERT_TRUE(Add(c, {{"a", Vec{1, 2}, {}, {}}}).ok());
  EXPECT_EQ(catalog_.GetCollection(c)->dimension, 2);
}

// ---- Differential test -----------------------------------------------------------------------

// The reference model: records by id, scanned in full for every read.
struct ModelRecord {
  uint64_t created = 0;
  Vec embedding;
  std::optional<std::string> document;
  std::optional<Metadata> metadata;

  friend bool operator==(const ModelRecord&, const ModelRecord&) = default;
};

// The numeric value of an int or float metadata value (bools are not numbers).
std::optional<double> AsNumber(const MetadataValue& v) {
  if (const auto* i = std::get_if<int64_t>(&v)) return static_cast<double>(*i);
  if (const auto* d = std::get_if<double>(&v)) return *d;
  return std::nullopt;
}

// Equality across int/float, otherwise same kind and same value.
bool RefEqual(const MetadataValue& stored, const MetadataValue& operand) {
  auto a = AsNumber(stored);
  auto b = AsNumber(operand);
  if (a && b) return *a == *b;
  if (a || b) return false;
  return stored == operand;  // std::variant: different alternatives are unequal
}

std::vector<MetadataValue> Elements(const MetadataValue& list) {
  std::vector<MetadataValue> out;
  std::visit(
      [&out](const auto& x) {
        using T = std::decay_t<decltype(x)>;
        if constexpr (std::is_same_v<T, std::vector<int64_t>> ||
                      std::is_same_v<T, std::vector<double>> ||
                      std::is_same_v<T, std::vector<std::string>>) {
          for (const auto& e : x) out.emplace_back(e);
        } else if constexpr (std::is_same_v<T, std::vector<bool>>) {
          for (bool e : x) out.emplace_back(e);
        }
      },
      list);
  return out;
}

// An independent evaluator for the subset the generator builds: $eq $ne $gt $gte $lt $lte $in
// $nin on scalar metadata, document $contains / $not_contains, $and / $or.
bool RefMatches(const Where& w, const std::optional<Metadata>& md,
                const std::optional<std::string>& doc) {
  if (const auto* c = std::get_if<WhereComposite>(&w.node)) {
    if (c->op == BoolOp::kAnd) {
      for (const auto& child : c->children) {
        if (!RefMatches(child, md, doc)) return false;
      }
      return true;
    }
    for (const auto& child : c->children) {
      if (RefMatches(child, md, doc)) return true;
    }
    return false;
  }
  if (const auto* d = std::get_if<DocumentCondition>(&w.node)) {
    bool contains = doc && doc->find(d->pattern) != std::string::npos;
    return d->op == DocumentOp::kContains ? contains : !contains;
  }
  const auto& m = std::get<MetadataCondition>(w.node);
  const MetadataValue* v = nullptr;
  if (md) {
    auto it = md->find(m.key);
    if (it != md->end()) v = &it->second;
  }
  auto in_list = [&] {
    if (!v) return false;
    for (const auto& e : Elements(m.operand)) {
      if (RefEqual(*v, e)) return true;
    }
    return false;
  };
  auto ordered = [&](auto cmp) {
    if (!v) return false;
    auto a = AsNumber(*v);
    auto b = AsNumber(m.operand);
    return a && b && cmp(*a, *b);
  };
  switch (m.op) {
    case MetadataOp::kEq: return v && RefEqual(*v, m.operand);
    case MetadataOp::kNe: return !(v && RefEqual(*v, m.operand));
    case MetadataOp::kGt: return ordered([](double a, double b) { return a > b; });
    case MetadataOp::kGte: return ordered([](double a, double b) { return a >= b; });
    case MetadataOp::kLt: return ordered([](double a, double b) { return a < b; });
    case MetadataOp::kLte: return ordered([](double a, double b) { return a <= b; });
    case MetadataOp::kIn: return in_list();
    case MetadataOp::kNin: return !in_list();
    default: ADD_FAILURE() << "operator not generated"; return false;
  }
}

std::optional<Metadata> NonEmpty(Metadata m) {
  if (m.empty()) return std::nullopt;
  return m;
}

class Model {
 public:
  explicit Model(Space space) : space_(space) {}

  void Write(RecordWriteKind kind, const RecordWriteRequest& req) {
    for (size_t i = 0; i < req.ids.size(); ++i) {
      const std::string& id = req.ids[i];
      std::optional<Vec> emb = req.embeddings ? (*req.embeddings)[i] : std::nullopt;
      std::optional<std::string> doc = req.documents ? (*req.documents)[i] : std::nullopt;
      std::optional<MetadataPatch> patch = req.metadatas ? (*req.metadatas)[i] : std::nullopt;
      auto it = records_.find(id);
      if (it == records_.end()) {
        if (kind == RecordWriteKind::kUpdate) continue;
        ModelRecord r;
        r.created = ++next_created_;
        r.embedding = *emb;  // the generator always sends embeddings for add/upsert
        r.document = doc;
        if (patch) r.metadata = NonEmpty(patch->set);
        records_.emplace(id, std::move(r));
        continue;
      }
      if (kind == RecordWriteKind::kAdd) continue;
      ModelRecord& r = it->second;
      if (emb) r.embedding = *emb;
      if (doc) r.document = doc;
      if (patch) {
        Metadata m = r.metadata.value_or(Metadata{});
        for (const auto& k : patch->remove) m.erase(k);
        for (const auto& [k, v] : patch->set) m[k] = v;
        r.metadata = NonEmpty(std::move(m));
      }
    }
  }

  // Ids matching, in insertion order.
  std::vector<std::string> Select(const std::optional<std::vector<std::string>>& ids,
                                  const std::optional<Where>& where,
                                  const std::optional<Where>& where_document) const {
    std::vector<std::pair<uint64_t, std::string>> hits;
    for (const auto& [id, r] : records_) {
      if (ids && std::find(ids->begin(), ids->end(), id) == ids->end()) continue;
      if (where && !RefMatches(*where, r.metadata, r.document)) continue;
      if (where_document && !RefMatches(*where_document, r.metadata, r.document)) continue;
      hits.emplace_back(r.created, id);
    }
    std::sort(hits.begin(), hits.end());
    std::vector<std::string> out;
    for (auto& h : hits) out.push_back(std::move(h.second));
    return out;
  }

  // nullopt: the request is invalid.
  std::optional<int64_t> Delete(const DeleteRequest& req) {
    const bool has_filter = req.where || req.where_document;
    if (req.limit && !has_filter) return std::nullopt;
    if (req.ids && req.ids->empty() && !has_filter) return std::nullopt;
    if (!req.ids && !has_filter) return 0;
    std::vector<std::string> doomed = Select(req.ids, req.where, req.where_document);
    if (req.limit && doomed.size() > static_cast<size_t>(*req.limit)) doomed.resize(*req.limit);
    for (const auto& id : doomed) records_.erase(id);
    return has_filter ? static_cast<int64_t>(doomed.size()) : static_cast<int64_t>(req.ids->size());
  }

  std::vector<Snap> Get(const GetRequest& req) const {
    std::vector<std::string> ids = Select(req.ids, req.where, req.where_document);
    std::vector<Snap> out;
    for (size_t i = static_cast<size_t>(req.offset); i < ids.size(); ++i) {
      if (req.limit && out.size() >= static_cast<size_t>(*req.limit)) break;
      out.push_back(SnapOf(ids[i]));
    }
    return out;
  }

  Snap SnapOf(const std::string& id) const {
    const ModelRecord& r = records_.at(id);
    return Snap{id, r.embedding, r.document, r.metadata};
  }

  double Distance(const Vec& a, const Vec& b) const {
    double ab = 0, aa = 0, bb = 0, l2 = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      ab += double{a[i]} * b[i];
      aa += double{a[i]} * a[i];
      bb += double{b[i]} * b[i];
      l2 += (double{a[i]} - b[i]) * (double{a[i]} - b[i]);
    }
    switch (space_) {
      case Space::kL2: return l2;
      case Space::kIp: return 1.0 - ab;
      case Space::kCosine: return 1.0 - ab / std::sqrt(aa * bb);
    }
    return 0;
  }

  // Every candidate with its distance, nearest first (ties in any order).
  std::vector<std::pair<double, std::string>> Ranked(const Vec& q, const QueryRequest& req) const {
    std::vector<std::pair<double, std::string>> out;
    for (const auto& id : Select(req.ids, req.where, req.where_document)) {
      out.emplace_back(Distance(q, records_.at(id).embedding), id);
    }
    std::sort(out.begin(), out.end());
    return out;
  }

  const std::map<std::string, ModelRecord>& records() const { return records_; }
  Space space() const { return space_; }

  friend bool operator==(const Model& a, const Model& b) { return a.records_ == b.records_; }

 private:
  Space space_;
  std::map<std::string, ModelRecord> records_;
  uint64_t next_created_ = 0;
};

bool Close(double got, double want) {
  return std::fabs(got - want) <= 1e-4 * std::max(1.0, std::fabs(want));
}

// Random operations over a pool of 50 ids, 4-dimensional integer vectors, five metadata keys of
// overlapping kinds and a handful of documents.
class Generator {
 public:
  // Ids are `prefix` + "r0".."r49" (and `prefix` + "nope<i>", never written).
  Generator(uint64_t seed, std::string prefix) : rng_(seed), prefix_(std::move(prefix)) {}

  const std::string& prefix() const { return prefix_; }
  std::vector<std::string> Pool() const {
    std::vector<std::string> ids;
    for (int i = 0; i < 50; ++i) ids.push_back(prefix_ + "r" + std::to_string(i));
    return ids;
  }

  int Uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool Chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  template <typename T>
  const T& Pick(const std::vector<T>& v) {
    return v[static_cast<size_t>(Uniform(0, static_cast<int>(v.size()) - 1))];
  }

  std::string Id() { return prefix_ + "r" + std::to_string(Uniform(0, 49)); }
  std::vector<std::string> Ids(int lo, int hi) {
    std::vector<std::string> ids;
    int n = Uniform(lo, hi);
    for (int i = 0; i < n; ++i) {
      ids.push_back(Chance(0.1) ? prefix_ + "nope" + std::to_string(i) : Id());
    }
    return ids;
  }

  // Never the zero vector (cosine of a zero vector is not defined by API.md).
  Vec Embedding(size_t dim = 4) {
    Vec v(dim);
    do {
      for (auto& x : v) x = static_cast<float>(Uniform(-3, 3));
    } while (std::all_of(v.begin(), v.end(), [](float x) { return x == 0; }));
    return v;
  }

  std::string Document() {
    static const std::vector<std::string> kDocs = {
        "apple pie", "Apple tart", "banana split", "cherry", "pineapple", "grape soda", "", "50%"};
    return Pick(kDocs);
  }

  MetadataValue Number() {
    static const std::vector<double> kFloats = {0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5};
    if (Chance(0.5)) return int64_t{Uniform(0, 4)};
    return Pick(kFloats);
  }
  MetadataValue String() {
    static const std::vector<std::string> kStrings = {"x", "y", "z", "2", "5"};
    return Pick(kStrings);
  }
  MetadataValue Scalar() {
    switch (Uniform(0, 3)) {
      case 0: return int64_t{Uniform(0, 4)};
      case 1: return Pick(std::vector<double>{0.5, 1.0, 2.0, 2.5, 3.5});
      case 2: return String();
      default: return Chance(0.5);
    }
  }

  // "a" int, "b" float, "c" int or float (rarely a string or bool), "s" string, "t" bool.
  MetadataValue ValueFor(const std::string& key) {
    static const std::vector<double> kFloats = {0.5, 1.0, 1.5, 2.0, 2.5, 3.0};
    if (key == "a") return int64_t{Uniform(0, 4)};
    if (key == "b") return Pick(kFloats);
    if (key == "s") return String();
    if (key == "t") return Chance(0.5);
    if (Chance(0.1)) return Chance(0.5) ? MetadataValue{std::string("2")} : MetadataValue{true};
    return Number();
  }

  Metadata RandomSet() {
    static const std::vector<std::string> kKeys = {"a", "b", "c", "s", "t"};
    Metadata m;
    int n = Uniform(0, 3);
    for (int i = 0; i < n; ++i) {
      std::string k = Pick(kKeys);
      m[k] = ValueFor(k);
    }
    return m;
  }

  MetadataPatch RandomPatch(bool allow_remove) {
    static const std::vector<std::string> kKeys = {"a", "b", "c", "s", "t", "zz"};
    MetadataPatch p{RandomSet(), {}};
    if (allow_remove && Chance(0.5)) {
      int n = Uniform(1, 2);
      for (int i = 0; i < n; ++i) {
        std::string k = Pick(kKeys);
        if (!p.set.contains(k)) p.remove.push_back(k);
      }
    }
    return p;
  }

  RecordWriteRequest Write(RecordWriteKind kind) {
    RecordWriteRequest r;
    int n = Uniform(1, 6);
    for (int i = 0; i < n; ++i) r.ids.push_back(Id());
    const bool update = kind == RecordWriteKind::kUpdate;
    if (!update || Chance(0.5)) {
      r.embeddings.emplace();
      for (int i = 0; i < n; ++i) {
        if (update && Chance(0.3)) {
          r.embeddings->push_back(std::nullopt);
        } else {
          r.embeddings->push_back(Embedding());
        }
      }
    }
    if (Chance(0.7)) {
      r.documents.emplace();
      for (int i = 0; i < n; ++i) {
        r.documents->push_back(Chance(0.3) ? std::nullopt : std::optional(Document()));
      }
    }
    if (Chance(0.7)) {
      r.metadatas.emplace();
      for (int i = 0; i < n; ++i) {
        if (Chance(0.25)) {
          r.metadatas->push_back(std::nullopt);
        } else {
          r.metadatas->push_back(RandomPatch(kind != RecordWriteKind::kAdd));
        }
      }
    }
    return r;
  }

  Where MetadataLeaf() {
    static const std::vector<std::string> kKeys = {"a", "b", "c", "s", "t", "zz"};
    static const std::vector<MetadataOp> kOps = {
        MetadataOp::kEq, MetadataOp::kNe,  MetadataOp::kGt, MetadataOp::kGte,
        MetadataOp::kLt, MetadataOp::kLte, MetadataOp::kIn, MetadataOp::kNin};
    std::string key = Pick(kKeys);
    MetadataOp op = Pick(kOps);
    switch (op) {
      case MetadataOp::kGt:
      case MetadataOp::kGte:
      case MetadataOp::kLt:
      case MetadataOp::kLte: return Cond(key, op, Number());
      case MetadataOp::kIn:
      case MetadataOp::kNin: {
        int n = Uniform(1, 3);
        switch (Uniform(0, 3)) {
          case 0: {
            std::vector<int64_t> v;
            for (int i = 0; i < n; ++i) v.push_back(Uniform(0, 4));
            return Cond(key, op, v);
          }
          case 1: {
            static const std::vector<double> kFloats = {0.5, 1.0, 2.0, 2.5, 3.0, 3.5};
            std::vector<double> v;
            for (int i = 0; i < n; ++i) v.push_back(Pick(kFloats));
            return Cond(key, op, v);
          }
          case 2: {
            std::vector<std::string> v;
            for (int i = 0; i < n; ++i) v.push_back(std::get<std::string>(String()));
            return Cond(key, op, v);
          }
          default: {
            std::vector<bool> v;
            for (int i = 0; i < n; ++i) v.push_back(Chance(0.5));
            return Cond(key, op, v);
          }
        }
      }
      default: return Cond(key, op, Chance(0.5) ? Number() : Scalar());
    }
  }

  Where DocumentLeaf() {
    static const std::vector<std::string> kPatterns = {"apple", "pp", "Apple", "an", "cherry",
                                                       "",      "z",  "e t",   "%"};
    return DocCond(Chance(0.7) ? DocumentOp::kContains : DocumentOp::kNotContains, Pick(kPatterns));
  }

  Where RandomWhere(int depth = 0) {
    if (depth < 2 && Chance(0.3)) {
      std::vector<Where> children;
      int n = Uniform(0, 3);
      for (int i = 0; i < n; ++i) children.push_back(RandomWhere(depth + 1));
      return Composite(Chance(0.5) ? BoolOp::kAnd : BoolOp::kOr, std::move(children));
    }
    if (Chance(0.1)) return DocumentLeaf();  // {"#document": {...}} inside `where`
    return MetadataLeaf();
  }

  Where RandomWhereDocument(int depth = 0) {
    if (depth < 2 && Chance(0.25)) {
      std::vector<Where> children;
      int n = Uniform(0, 3);
      for (int i = 0; i < n; ++i) children.push_back(RandomWhereDocument(depth + 1));
      return Composite(Chance(0.5) ? BoolOp::kAnd : BoolOp::kOr, std::move(children));
    }
    return DocumentLeaf();
  }

 private:
  std::mt19937_64 rng_;
  std::string prefix_;
};

std::string Describe(const std::optional<std::vector<std::string>>& ids) {
  if (!ids) return "null";
  std::string s = "[";
  for (const auto& id : *ids) s += (s.size() > 1 ? "," : "") + id;
  return s + "]";
}
std::string Describe(const std::optional<Where>& w) { return w ? EncodeWhere(*w) : "null"; }
std::string Describe(const RecordWriteRequest& r) {
  std::ostringstream os;
  for (size_t i = 0; i < r.ids.size(); ++i) {
    os << " {" << r.ids[i];
    if (r.embeddings) {
      os << " e=";
      if (const auto& e = (*r.embeddings)[i]) {
        os << "[";
        for (size_t j = 0; j < e->size(); ++j) os << (j ? "," : "") << (*e)[j];
        os << "]";
      } else {
        os << "null";
      }
    }
    if (r.documents) {
      const auto& d = (*r.documents)[i];
      os << " d=" << (d ? '"' + *d + '"' : std::string("null"));
    }
    if (r.metadatas) {
      os << " m=";
      if (const auto& p = (*r.metadatas)[i]) {
        os << "{";
        for (const auto& [k, v] : p->set) os << k << ":" << ValueText(v) << " ";
        for (const auto& k : p->remove) os << k << ":null ";
        os << "}";
      } else {
        os << "null";
      }
    }
    os << "}";
  }
  return os.str();
}

class RecordServiceDifferentialTest : public RecordServiceTest {
 protected:
  static constexpr int kSeeds = 20;
  static constexpr int kOperations = 300;

  // Drives `operations` random operations from `gen` on collection `c`, mirroring each in
  // `model`, and compares every read. Concurrent mode: other threads write other ids of the
  // same collection, so reads and filtered deletes are confined to this driver's id pool,
  // counts are not compared and storage is never taken down.
  void Run(const std::string& c, Model& model, Generator& gen, int operations, bool concurrent);
  void CheckAll(const std::string& c, const Model& model, const Generator& gen, bool concurrent);
  void CheckGet(const std::string& c, const Model& model, const GetRequest& req);
  void CheckQuery(const std::string& c, const Model& model, const QueryRequest& req);

  // A second service over the same storage and catalog (a restart) loads exactly `want`:
  // every acknowledged write is durable, insertion order included, and nothing else is.
  void ExpectReloadedStateEquals(const std::string& c, const std::vector<Snap>& want) {
    SCOPED_TRACE("reloaded from storage");
    RecordService reloaded(&catalog_, &storage_, &clock_);
    auto g = reloaded.Get(c, GetRequest{});
    ASSERT_TRUE(g.ok()) << g.status().ToString();
    std::vector<Snap> got;
    for (const auto& v : g->records) got.push_back(ToSnap(v));
    EXPECT_EQ(got, want);
  }

  std::atomic<int64_t> checks_{0};
};

void RecordServiceDifferentialTest::CheckAll(const std::string& c, const Model& model,
                                             const Generator& gen, bool concurrent) {
  GetRequest all;
  if (concurrent) all.ids = gen.Pool();
  CheckGet(c, model, all);
  if (!concurrent) {
    EXPECT_EQ(Count(c), static_cast<int64_t>(model.records().size()));
  }
}

void RecordServiceDifferentialTest::CheckGet(const std::string& c, const Model& model,
                                             const GetRequest& req) {
  ++checks_;
  std::vector<Snap> want = model.Get(req);
  std::vector<Snap> got = Get(c, req);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_EQ(got[i], want[i]) << "at index " << i;
}

void RecordServiceDifferentialTest::CheckQuery(const std::string& c, const Model& model,
                                               const QueryRequest& req) {
  ++checks_;
  auto q = records_.Query(c, req);
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  ASSERT_EQ(q->per_query.size(), req.query_embeddings.size());
  for (size_t qi = 0; qi < req.query_embeddings.size(); ++qi) {
    SCOPED_TRACE("query embedding #" + std::to_string(qi));
    auto ranked = model.Ranked(req.query_embeddings[qi], req);
    size_t k = std::min(ranked.size(), static_cast<size_t>(req.n_results));
    const auto& got = q->per_query[qi];
    ASSERT_EQ(got.size(), k);
    std::set<std::string> seen;
    std::vector<double> got_distances;
    for (size_t i = 0; i < got.size(); ++i) {
      const RecordView& v = got[i];
      SCOPED_TRACE("result #" + std::to_string(i) + " id " + v.id);
      ASSERT_TRUE(model.records().contains(v.id));
      EXPECT_TRUE(seen.insert(v.id).second) << "returned twice";
      EXPECT_TRUE(std::any_of(ranked.begin(), ranked.end(), [&](const auto& r) {
        return r.second == v.id;
      })) << "not a candidate";
      double want = model.Distance(req.query_embeddings[qi], model.records().at(v.id).embedding);
      EXPECT_TRUE(Close(v.distance, want)) << "distance " << v.distance << " want " << want;
      if (i > 0) {
        EXPECT_LE(got[i - 1].distance, v.distance) << "not sorted";
      }
      EXPECT_EQ(ToSnap(v), model.SnapOf(v.id));
      got_distances.push_back(v.distance);
    }
    // The multiset of distances equals the model's k smallest: every record strictly nearer
    // than the k-th is returned, and ties at the boundary may be any of the tied records.
    std::sort(got_distances.begin(), got_distances.end());
    for (size_t i = 0; i < k; ++i) {
      EXPECT_TRUE(Close(got_distances[i], ranked[i].first))
          << "rank " << i << ": got " << got_distances[i] << " want " << ranked[i].first << " ("
          << ranked[i].second << ")";
    }
  }
}

void RecordServiceDifferentialTest::Run(const std::string& c, Model& model, Generator& gen,
                                        int operations, bool concurrent) {
  bool dimension_fixed = false;
  auto confine = [&](std::optional<std::vector<std::string>>& ids) {
    if (concurrent && !ids) ids = gen.Pool();
  };
  for (int step = 0; step < operations; ++step) {
    const int dice = gen.Uniform(0, 99);
    std::string what;
    if (dice < 45) {  // writes
      RecordWriteKind kind = dice < 20   ? RecordWriteKind::kAdd
                             : dice < 33 ? RecordWriteKind::kUpsert
                                         : RecordWriteKind::kUpdate;
      RecordWriteRequest req = gen.Write(kind);
      const bool empty_id = gen.Chance(0.02);
      if (empty_id) req.ids[gen.Uniform(0, static_cast<int>(req.ids.size()) - 1)] = "";
      const bool bad_dim = dimension_fixed && kind == RecordWriteKind::kAdd && gen.Chance(0.05);
      if (bad_dim) {
        for (auto& e : *req.embeddings) e = gen.Embedding(3);
      }
      const bool down = !concurrent && gen.Chance(0.03);
      what = std::string(kind == RecordWriteKind::kAdd      ? "add"
                         : kind == RecordWriteKind::kUpsert ? "upsert"
                                                            : "update") +
             (down ? " (storage down)" : "") + Describe(req);
      SCOPED_TRACE("op #" + std::to_string(step) + ": " + what);
      if (down) storage_.SetUnavailable(true);
      Status s = records_.Write(c, kind, req);
      if (down) storage_.SetUnavailable(false);
      if (empty_id) {
        ExpectInvalid(s, "Empty ID, ID must have at least one character");
      } else if (bad_dim) {
        ExpectInvalid(s, "Collection expecting embedding with dimension of 4, got 3");
      } else if (down) {
        Model after = model;
        after.Write(kind, req);
        if (!(after == model)) {
          EXPECT_EQ(s.code(), StatusCode::kUnavailable) << s.ToString();
        } else {
          EXPECT_TRUE(s.ok() || s.code() == StatusCode::kUnavailable) << s.ToString();
        }
        if (s.ok()) {
          model = after;
          if (req.embeddings) dimension_fixed = true;
        }
      } else {
        EXPECT_TRUE(s.ok()) << s.ToString();
        model.Write(kind, req);
        if (req.embeddings) dimension_fixed = true;
      }
      CheckAll(c, model, gen, concurrent);
    } else if (dice < 55) {  // delete
      DeleteRequest req;
      const int shape = gen.Uniform(0, 19);
      if (shape < 7) {
        req.ids = gen.Ids(1, 5);
      } else if (shape == 7) {
        req.ids = std::vector<std::string>{};  // invalid without a filter
      } else if (shape == 8) {
        req.limit = gen.Uniform(0, 3);  // invalid without a filter
        if (gen.Chance(0.5)) req.ids = gen.Ids(1, 3);
      } else if (shape == 9) {
        // nothing: a no-op
      } else {
        if (gen.Chance(0.3)) req.ids = gen.Ids(0, 8);
        if (gen.Chance(0.8)) req.where = gen.RandomWhere();
        if (!req.where || gen.Chance(0.3)) req.where_document = gen.RandomWhereDocument();
        if (gen.Chance(0.4)) req.limit = gen.Uniform(0, 5);
        confine(req.ids);
      }
      const bool down = !concurrent && gen.Chance(0.03);
      what = std::string("delete") + (down ? " (storage down)" : "") + " ids=" + Describe(req.ids) +
             " where=" + Describe(req.where) + " where_document=" + Describe(req.where_document) +
             " limit=" + (req.limit ? std::to_string(*req.limit) : "null");
      SCOPED_TRACE("op #" + std::to_string(step) + ": " + what);
      if (down) storage_.SetUnavailable(true);
      auto n = records_.Delete(c, req);
      if (down) storage_.SetUnavailable(false);
      Model after = model;
      std::optional<int64_t> want = after.Delete(req);
      if (!want) {
        EXPECT_FALSE(n.ok());
        EXPECT_EQ(n.status().code(), StatusCode::kInvalidArgument) << n.status().ToString();
      } else if (down && !n.ok()) {
        EXPECT_EQ(n.status().code(), StatusCode::kUnavailable) << n.status().ToString();
      } else {
        EXPECT_FALSE(down && !(after == model)) << "a delete succeeded with storage down";
        EXPECT_TRUE(n.ok()) << n.status().ToString();
        if (n.ok()) {
          EXPECT_EQ(*n, *want);
        }
        model = after;
      }
      CheckAll(c, model, gen, concurrent);
    } else if (dice < 78) {  // get
      GetRequest req;
      if (gen.Chance(0.25)) req.ids = gen.Ids(0, 8);
      if (gen.Chance(0.6)) req.where = gen.RandomWhere();
      if (gen.Chance(0.3)) req.where_document = gen.RandomWhereDocument();
      if (gen.Chance(0.3)) req.offset = gen.Uniform(0, 8);
      if (gen.Chance(0.4)) req.limit = gen.Uniform(0, 10);
      confine(req.ids);
      what = "get ids=" + Describe(req.ids) + " where=" + Describe(req.where) +
             " where_document=" + Describe(req.where_document) +
             " offset=" + std::to_string(req.offset) +
             " limit=" + (req.limit ? std::to_string(*req.limit) : "null");
      SCOPED_TRACE("op #" + std::to_string(step) + ": " + what);
      CheckGet(c, model, req);
    } else {  // query
      QueryRequest req;
      int nq = gen.Chance(0.05) ? 0 : gen.Uniform(1, 3);
      for (int i = 0; i < nq; ++i) req.query_embeddings.push_back(gen.Embedding());
      req.n_results = gen.Chance(0.1) ? 1000 : gen.Uniform(0, 12);
      if (gen.Chance(0.15)) req.ids = gen.Ids(0, 10);
      if (gen.Chance(0.5)) req.where = gen.RandomWhere();
      if (gen.Chance(0.2)) req.where_document = gen.RandomWhereDocument();
      confine(req.ids);
      what = "query n=" + std::to_string(nq) + " n_results=" + std::to_string(req.n_results) +
             " ids=" + Describe(req.ids) + " where=" + Describe(req.where) +
             " where_document=" + Describe(req.where_document);
      SCOPED_TRACE("op #" + std::to_string(step) + ": " + what);
      if (dimension_fixed && gen.Chance(0.03)) {
        QueryRequest bad = req;
        bad.query_embeddings.assign(static_cast<size_t>(gen.Uniform(1, 2)), gen.Embedding(5));
        ExpectInvalid(records_.Query(c, bad).status(),
                      "Collection expecting embedding with dimension of 4, got 5");
      }
      CheckQuery(c, model, req);
    }
    if (HasFailure()) return;  // stop at the first divergence; the trace names seed and op
  }
}

const Space kSpaces[] = {Space::kL2, Space::kCosine, Space::kIp};

TEST_F(RecordServiceDifferentialTest, MatchesAReferenceModelOnRandomOperations) {
  for (uint64_t seed = 1; seed <= kSeeds; ++seed) {
    const Space space = kSpaces[seed % 3];
    SCOPED_TRACE("seed " + std::to_string(seed) + ", space " + std::string(SpaceName(space)));
    std::string c = NewCollection("diff_" + std::to_string(seed), space);
    ASSERT_FALSE(c.empty());
    Generator gen(seed, "");
    Model model(space);
    Run(c, model, gen, kOperations, /*concurrent=*/false);
    if (HasFailure()) break;
    ExpectReloadedStateEquals(c, model.Get(GetRequest{}));
  }
  // Every operation was checked (a write or delete by a full read-back).
  EXPECT_GE(checks_.load(), kSeeds * kOperations);
}

// Writers on disjoint ids of one collection at once (they share the collection's write path):
// each sees exactly its own model, and the whole collection is the union of the models, each
// thread's records in its own insertion order.
TEST_F(RecordServiceDifferentialTest, ConcurrentDriversOnDisjointIdsMatchTheirModels) {
  constexpr int kThreads = 4;
  for (uint64_t round = 0; round < 3; ++round) {
    const Space space = kSpaces[round % 3];
    SCOPED_TRACE("round " + std::to_string(round) + ", space " + std::string(SpaceName(space)));
    std::string c = NewCollection("concurrent_" + std::to_string(round), space);
    ASSERT_FALSE(c.empty());
    std::vector<Model> models(kThreads, Model(space));
    std::vector<Generator> gens;
    for (int t = 0; t < kThreads; ++t) {
      gens.emplace_back(1000 + round * kThreads + t, "t" + std::to_string(t) + "_");
    }
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        SCOPED_TRACE("thread " + std::to_string(t) + " seed " +
                     std::to_string(1000 + round * kThreads + t));
        Run(c, models[t], gens[t], kOperations, /*concurrent=*/true);
      });
    }
    for (auto& th : threads) th.join();
    if (HasFailure()) return;
    std::vector<Snap> all = Get(c);
    size_t total = 0;
    for (int t = 0; t < kThreads; ++t) {
      std::vector<Snap> mine;
      for (const auto& s : all) {
        if (s.id.starts_with(gens[t].prefix())) mine.push_back(s);
      }
      EXPECT_EQ(mine, models[t].Get(GetRequest{})) << "thread " << t;
      total += models[t].records().size();
    }
    EXPECT_EQ(all.size(), total);
    EXPECT_EQ(Count(c), static_cast<int64_t>(total));
    ExpectReloadedStateEquals(c, all);
  }
}

}  // namespace
}  // namespace chromahouse
