// RecordPurger: the stored rows of deleted collections go in the background, and only theirs.
#include "service/record_purger.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

#include "storage/memory/memory_storage.h"

namespace chromahouse {
namespace {

// Memory storage whose purges can fail (and are counted when they do).
class PurgeStorage : public MemoryStorage {
 public:
  Status PurgeRecords(const std::string& collection_id) override {
    if (fail.load()) {
      failed.fetch_add(1);
      return Status::Unavailable("storage down");
    }
    return MemoryStorage::PurgeRecords(collection_id);
  }
  std::atomic<int> failed{0};
  std::atomic<bool> fail{false};
};

std::vector<RecordRow> Rows(const std::vector<std::string>& ids) {
  std::vector<RecordRow> rows;
  uint64_t version = 1;
  for (const auto& id : ids) {
    RecordRow r;
    r.id = id;
    r.version = r.created = version++;
    r.embedding = {1.0f, 2.0f};
    rows.push_back(r);
  }
  return rows;
}

// Waits (at most 5 s) until `done` holds; returns its last value.
template <class Pred>
bool WaitFor(Pred done) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!done() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return done();
}

class RecordPurgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(storage_.WriteRecords("a", Rows({"x", "y"})).ok());
    ASSERT_TRUE(storage_.WriteRecords("b", Rows({"x", "z"})).ok());
    ASSERT_TRUE(storage_.WriteRecords("c", Rows({"w"})).ok());
  }
  size_t Stored(const std::string& collection_id) {
    return storage_.LoadRecords(collection_id)->size();
  }

  PurgeStorage storage_;
};

// Purged collections lose their rows; the others keep theirs.
TEST_F(RecordPurgerTest, PurgeRemovesOnlyThatCollectionsRows) {
  RecordPurger purger(&storage_);
  purger.Purge({"a", "c"});
  EXPECT_TRUE(WaitFor([&] { return Stored("a") == 0 && Stored("c") == 0; }));
  EXPECT_EQ(Stored("b"), 2u);
}

// A failed purge is logged and skipped; the purger goes on with later ones.
TEST_F(RecordPurgerTest, AFailedPurgeDoesNotStopThePurger) {
  RecordPurger purger(&storage_);
  storage_.fail = true;
  purger.Purge({"a"});
  ASSERT_TRUE(WaitFor([&] { return storage_.failed.load() == 1; }));
  storage_.fail = false;
  EXPECT_EQ(Stored("a"), 2u);
  purger.Purge({"b"});
  EXPECT_TRUE(WaitFor([&] { return Stored("b") == 0; }));
  EXPECT_EQ(Stored("a"), 2u);
  EXPECT_EQ(Stored("c"), 1u);
}

}  // namespace
}  // namespace chromahouse
