// Index snapshots between two "loads" of a collection: the second load numbers records
// differently and sees changes made after the snapshot.
#include "collection/index_snapshot.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>

#include "collection/vector_search.h"

namespace chromahouse {
namespace {

constexpr size_t kDim = 16;
constexpr size_t kRows = 3000;

std::vector<float> RandomVector(std::mt19937_64& rng) {
  std::normal_distribution<float> normal(0.0f, 1.0f);
  std::vector<float> v(kDim);
  for (float& x : v) x = normal(rng);
  return v;
}

std::vector<RecordRow> MakeRows(uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<RecordRow> rows;
  for (size_t i = 0; i < kRows; ++i) {
    RecordRow r;
    r.id = "id-" + std::to_string(i);
    r.version = r.created = 100 + i;
    r.embedding = RandomVector(rng);
    rows.push_back(std::move(r));
  }
  return rows;
}

void IndexAll(const RecordStore& store, VectorSearch& search) {
  while (search.IndexSome(store, 1000)) {
  }
}

// Exact top-k ids of `query` among the live records of `store`.
std::vector<std::string> ExactIds(const RecordStore& store, const float* query, size_t k) {
  std::vector<std::string> out;
  for (const Neighbor& n : store.Nearest(query, store.OffsetsInInsertionOrder(), k)) {
    out.push_back(store.id(n.second));
  }
  return out;
}

struct Loaded {
  explicit Loaded(HnswParams params) : store(params.metric), search(params) {}
  RecordStore store;
  VectorSearch search;
};

HnswParams Params() {
  HnswParams p;
  p.metric = Metric::kL2;
  return p;
}

TEST(IndexSnapshot, ASecondLoadAdoptsTheGraphAndReindexesOnlyWhatChanged) {
  // First load: every record indexed, then the snapshot.
  std::vector<RecordRow> rows = MakeRows(1);
  Loaded first(Params());
  auto changes = first.store.Apply(rows);
  first.search.OnApplied(first.store, changes);
  IndexAll(first.store, first.search);
  ASSERT_EQ(first.search.indexed(), kRows);
  std::optional<std::string> payload = first.search.Snapshot(first.store, 999);
  ASSERT_TRUE(payload.has_value());

  // Meanwhile: 100 deleted, 50 with a new vector, 50 with new metadata only, 200 new.
  std::mt19937_64 rng(2);
  std::set<std::string> deleted, moved;
  uint64_t version = 10000;
  for (size_t i = 0; i < 100; ++i) {
    deleted.insert(rows[i * 7].id);
  }
  std::vector<RecordRow> now;
  for (RecordRow r : rows) {
    if (deleted.count(r.id)) continue;
    const size_t n = std::stoul(r.id.substr(3));
    if (n % 7 == 3 && moved.size() < 50) {
      r.embedding = RandomVector(rng);
      r.version = ++version;
      moved.insert(r.id);
    } else if (n % 7 == 5 && n < 350) {
      r.metadata = Metadata{{"k", MetadataValue(int64_t{1})}};
      r.version = ++version;
    }
    now.push_back(std::move(r));
  }
  for (size_t i = 0; i < 200; ++i) {
    RecordRow r;
    r.id = "new-" + std::to_string(i);
    r.version = r.created = ++version;
    r.embedding = RandomVector(rng);
    now.push_back(std::move(r));
  }
  // The second load sees the rows in another order (offsets differ).
  std::shuffle(now.begin(), now.end(), rng);
  Loaded second(Params());
  second.store.Apply(now);
  auto adopted = second.search.AdoptSnapshot(second.store, *payload);
  ASSERT_TRUE(adopted.ok()) << adopted.status().ToString();
  EXPECT_EQ(adopted->watermark, 999u);
  EXPECT_EQ(adopted->dropped, deleted.size());
  EXPECT_EQ(adopted->changed, moved.size());
  EXPECT_EQ(adopted->reused, kRows - deleted.size() - moved.size());
  EXPECT_EQ(adopted->pending, moved.size() + 200);
  EXPECT_EQ(second.search.pending(), moved.size() + 200);
  EXPECT_EQ(second.search.indexed(), kRows - deleted.size() - moved.size());

  // Before the indexer runs and after: answers match an exact scan (recall), never a deleted id,
  // and moved / new records are found at their current vectors. The control is a graph built
  // from scratch on the second load's records.
  Loaded control(Params());
  control.search.OnApplied(control.store, control.store.Apply(now));
  IndexAll(control.store, control.search);
  auto check = [&](const char* when, bool indexed) {
    SCOPED_TRACE(when);
    std::mt19937_64 qrng(3);
    size_t hits = 0, total = 0;
    for (int q = 0; q < 100; ++q) {
      std::vector<float> query = RandomVector(qrng);
      SearchPath path;
      auto found = second.search.Search(second.store, query.data(), 10, nullptr, 100, &path);
      EXPECT_EQ(path, SearchPath::kHnsw);
      std::vector<std::string> exact = ExactIds(second.store, query.data(), 10);
      std::set<std::string> truth(exact.begin(), exact.end());
      for (const Neighbor& n : found) {
        EXPECT_FALSE(deleted.count(second.store.id(n.second)));
        hits += truth.count(second.store.id(n.second));
      }
      total += truth.size();
    }
    EXPECT_GE(double(hits) / double(total), 0.95);
    size_t misses = 0, ctl_misses = 0;
    for (const RecordRow& r : now) {
      if (!moved.count(r.id) && r.id.rfind("new-", 0) != 0) continue;
      SearchPath path;
      auto found = second.search.Search(second.store, r.embedding.data(), 1, nullptr, 100, &path);
      ASSERT_EQ(found.size(), 1u);
      misses += second.store.id(found[0].second) != r.id;
      auto c = control.search.Search(control.store, r.embedding.data(), 1, nullptr, 100, &path);
      ctl_misses += control.store.id(c[0].second) != r.id;
    }
    if (indexed) {
      // In the graph now: as good as a graph built from scratch on the same records (within a
      // few misses of 250 self-queries).
      EXPECT_LE(misses, ctl_misses + 3) << "control graph missed " << ctl_misses;
    } else {
      EXPECT_EQ(misses, 0u);  // waiting records are scanned exactly
    }
  };
  check("before indexing", false);
  IndexAll(second.store, second.search);
  EXPECT_EQ(second.search.indexed(), second.store.size());
  check("after indexing", true);

  // A graph already there is never replaced.
  EXPECT_FALSE(second.search.AdoptSnapshot(second.store, *payload).ok());
}

TEST(IndexSnapshot, CorruptOrForeignSnapshotsAreRefusedAndChangeNothing) {
  std::vector<RecordRow> rows = MakeRows(4);
  Loaded first(Params());
  first.search.OnApplied(first.store, first.store.Apply(rows));
  IndexAll(first.store, first.search);
  const std::string payload = *first.search.Snapshot(first.store, 1);

  auto refused = [&](std::string_view bad, HnswParams params, const std::string& why) {
    Loaded other(params);
    other.store.Apply(rows);
    auto r = other.search.AdoptSnapshot(other.store, bad);
    ASSERT_FALSE(r.ok()) << why;
    EXPECT_NE(r.status().message().find(why), std::string::npos) << r.status().message();
    EXPECT_EQ(other.search.indexed(), 0u);
    EXPECT_EQ(other.search.pending(), 0u);
  };
  std::string flipped = payload;
  flipped[flipped.size() / 2] ^= 0x10;
  refused(flipped, Params(), "checksum mismatch");
  refused(std::string_view(payload).substr(0, payload.size() - 1), Params(), "checksum mismatch");
  refused("not a snapshot", Params(), "bad magic");
  HnswParams cosine = Params();
  cosine.metric = Metric::kCosine;
  refused(payload, cosine, "expected dim 16, metric 2, M 16");
  HnswParams m8 = Params();
  m8.max_neighbors = 8;
  refused(payload, m8, "M 8");

  // Another dimension: the collection's vectors changed shape.
  std::vector<RecordRow> wide = rows;
  for (RecordRow& r : wide) r.embedding.push_back(0.5f);
  Loaded other(Params());
  other.store.Apply(wide);
  auto r = other.search.AdoptSnapshot(other.store, payload);
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("dimension 16, the collection has 17"), std::string::npos);

  // Nothing to snapshot while records wait for the graph.
  Loaded fresh(Params());
  fresh.search.OnApplied(fresh.store, fresh.store.Apply(rows));
  EXPECT_FALSE(fresh.search.Snapshot(fresh.store, 1).has_value());
}

}  // namespace
}  // namespace chromahouse
