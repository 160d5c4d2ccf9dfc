// LoadedCollection, CollectionRead and RefreshState: applying rows, the data lock a read holds,
// and the window of versions a refresh compares with storage.
#include "collection/loaded_collection.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <thread>

namespace chromahouse {
namespace {

constexpr uint64_t kNoPrune = UINT64_MAX;

RecordRow Row(const std::string& id, uint64_t version, const std::string& doc = "") {
  RecordRow r;
  r.id = id;
  r.version = version;
  r.created = version;
  r.embedding = {1.0f, float(version)};
  r.document = doc;
  return r;
}

// Waits (at most `limit`) until `done` holds; returns its last value.
template <class Pred>
bool WaitFor(Pred done, std::chrono::milliseconds limit = std::chrono::milliseconds(5000)) {
  const auto deadline = std::chrono::steady_clock::now() + limit;
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return done();
}

// Applied rows are visible in the store under a ReadLock, and each change is counted.
TEST(LoadedCollectionTest, ApplyMakesRowsVisibleAndCountsChanges) {
  LoadedCollection c("c1", HnswParams{});
  EXPECT_EQ(c.Apply({Row("a", 1, "doc-a"), Row("b", 2, "doc-b")}, kNoPrune), 2u);
  EXPECT_EQ(c.snapshot.changes.load(), 2u);
  EXPECT_EQ(c.size(), 2u);
  LoadedCollection::ReadLock lock(c);
  auto a = c.store().Find("a");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(c.store().document(*a), "doc-a");
  EXPECT_EQ(c.store().version(*a), 1u);
  EXPECT_TRUE(c.store().Find("b").has_value());
  EXPECT_FALSE(c.store().Find("zzz").has_value());
}

// An older version of a record never overwrites the newer one applied before.
TEST(LoadedCollectionTest, ApplyIsIdempotentByVersion) {
  LoadedCollection c("c1", HnswParams{});
  ASSERT_EQ(c.Apply({Row("a", 10, "new")}, kNoPrune), 1u);
  EXPECT_EQ(c.Apply({Row("a", 5, "old")}, kNoPrune), 0u);
  EXPECT_EQ(c.snapshot.changes.load(), 1u);
  LoadedCollection::ReadLock lock(c);
  auto a = c.store().Find("a");
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(c.store().document(*a), "new");
  EXPECT_EQ(c.store().version(*a), 10u);
}

// A CollectionRead holds the data lock: an Apply on another thread waits until it is destroyed.
TEST(LoadedCollectionTest, CollectionReadBlocksApplyUntilDestroyed) {
  auto c = std::make_shared<LoadedCollection>("c1", HnswParams{});
  c->Apply({Row("a", 1)}, kNoPrune);
  std::optional<CollectionRead> read(std::in_place, c);
  auto applied = std::make_shared<std::atomic<bool>>(false);
  // Captures by value: the thread may be detached below if Apply never returns.
  std::thread writer([c, applied] {
    c->Apply({Row("b", 2)}, kNoPrune);
    applied->store(true);
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_FALSE(applied->load()) << "Apply ran while a read held the collection";
  EXPECT_EQ(read->store().size(), 1u);  // the read's view did not change under it
  read.reset();
  const bool done = WaitFor([&] { return applied->load(); });
  if (!done) {
    writer.detach();
    FAIL() << "Apply still blocked after the read was destroyed";
  }
  writer.join();
  EXPECT_EQ(c->size(), 2u);
}

// Before the first full read (ReplaceWindow) writers' notes are dropped: nothing to compare.
TEST(LoadedCollectionRefreshStateTest, NoteStoredDoesNothingBeforeTheFirstReplaceWindow) {
  RefreshState s;
  EXPECT_FALSE(s.window_known());
  s.NoteStored({Row("a", 5)});
  EXPECT_EQ(s.NotedMark(), 0u);
  EXPECT_TRUE(s.KnownAbove(0).empty());
  s.ReplaceWindow({}, 0);
  EXPECT_TRUE(s.window_known());
  s.NoteStored({Row("a", 7)});
  EXPECT_EQ(s.KnownAbove(0), (std::vector<uint64_t>{7}));
}

// KnownAbove(from) returns the versions strictly above `from`, sorted and without duplicates.
TEST(LoadedCollectionRefreshStateTest, KnownAboveReturnsSortedUniqueVersionsAboveFrom) {
  RefreshState s;
  s.ReplaceWindow({9, 3, 5, 5, 1}, 0);
  s.NoteStored({Row("a", 12), Row("b", 9), Row("c", 4)});
  EXPECT_EQ(s.KnownAbove(3), (std::vector<uint64_t>{4, 5, 9, 12}));
  EXPECT_EQ(s.KnownAbove(9), (std::vector<uint64_t>{12}));
  EXPECT_TRUE(s.KnownAbove(12).empty());
}

// ReplaceWindow(read, mark) keeps what writers noted after `mark` and drops the rest.
TEST(LoadedCollectionRefreshStateTest, ReplaceWindowKeepsVersionsNotedAfterMark) {
  RefreshState s;
  s.ReplaceWindow({1}, 0);
  s.NoteStored({Row("a", 2)});
  const size_t mark = s.NotedMark();
  EXPECT_EQ(mark, 2u);
  s.NoteStored({Row("b", 7), Row("c", 8)});
  s.ReplaceWindow({4, 5}, mark);
  EXPECT_EQ(s.KnownAbove(0), (std::vector<uint64_t>{4, 5, 7, 8}));
}

}  // namespace
}  // namespace chromahouse
