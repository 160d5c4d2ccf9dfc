// IndexSnapshotWriter's policy: when a collection's graph is saved as an index snapshot.
#include "service/index_snapshot_writer.h"

#include <gtest/gtest.h>

#include <optional>
#include <string>
#include <vector>

#include "storage/memory/memory_storage.h"

namespace chromahouse {
namespace {

constexpr size_t kRecords = 1100;  // above VectorSearch::kIndexMinRecords: the store has a graph

class IndexSnapshotWriterTest : public ::testing::Test {
 protected:
  // Writes (new or changed) records [first, first + n) with vectors shifted by `shift`.
  void Put(size_t first, size_t n, float shift = 0) {
    std::vector<RecordRow> rows(n);
    for (size_t i = 0; i < n; ++i) {
      const size_t k = first + i;
      rows[i].id = "r" + std::to_string(k);
      rows[i].version = rows[i].created = clock_.Next();
      rows[i].embedding = {float(k % 37) + shift, float(k % 11), float(k / 37)};
    }
    loaded_.Apply(rows, UINT64_MAX);
  }
  // Moves every pending record into the graph (what the background indexer does).
  void IndexAll() {
    while (loaded_.IndexStep(1, nullptr)) {
    }
    ASSERT_FALSE(loaded_.HasPendingIndexing());
  }
  bool WriteIfDue(SnapshotOptions options) {
    writer_.SetOptions(options);
    auto written = writer_.WriteIfDue(loaded_);
    EXPECT_TRUE(written.ok()) << written.status().ToString();
    return written.ok() && *written;
  }
  std::optional<IndexSnapshotInfo> Stored() { return *storage_.FindIndexSnapshot("c"); }

  MemoryStorage storage_;
  VersionClock clock_;
  IndexSnapshotWriter writer_{&storage_, &clock_};
  LoadedCollection loaded_{"c", HnswParams{}};
};

// min_records 0 turns snapshots off, however large and indexed the collection.
TEST_F(IndexSnapshotWriterTest, MinRecordsZeroNeverWrites) {
  Put(0, kRecords);
  IndexAll();
  EXPECT_FALSE(WriteIfDue({.min_records = 0}));
  EXPECT_EQ(writer_.counts().written, 0);
  EXPECT_FALSE(Stored().has_value());
}

// A collection smaller than min_records gets no snapshot.
TEST_F(IndexSnapshotWriterTest, BelowMinRecordsNothingIsWritten) {
  Put(0, kRecords);
  IndexAll();
  EXPECT_FALSE(WriteIfDue({.min_records = kRecords + 1}));
  EXPECT_EQ(writer_.counts().written, 0);
  EXPECT_FALSE(Stored().has_value());
}

// Not before the graph holds every record; then exactly one, and none again without changes.
TEST_F(IndexSnapshotWriterTest, WritesOnceTheGraphIsFullThenNotAgainWithoutChanges) {
  const SnapshotOptions options{.min_records = 1000};
  Put(0, kRecords);
  ASSERT_TRUE(loaded_.HasPendingIndexing());
  EXPECT_FALSE(WriteIfDue(options));  // records still wait for the graph
  EXPECT_EQ(writer_.counts().written, 0);
  IndexAll();
  EXPECT_TRUE(WriteIfDue(options));
  EXPECT_EQ(writer_.counts().written, 1);
  EXPECT_GT(writer_.counts().bytes, 0);
  auto info = Stored();
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->records, kRecords);
  EXPECT_EQ(loaded_.snapshot.id.load(), info->id);
  EXPECT_EQ(loaded_.snapshot.changes.load(), 0u);
  EXPECT_FALSE(WriteIfDue(options));
  EXPECT_EQ(writer_.counts().written, 1);
  EXPECT_EQ(Stored()->id, info->id);
}

// Changes below change_fraction of the records write nothing; past it, a second snapshot.
TEST_F(IndexSnapshotWriterTest, ASecondSnapshotOnceEnoughRecordsChanged) {
  const SnapshotOptions options{.min_records = 1000, .change_fraction = 0.2};  // 220 records
  Put(0, kRecords);
  IndexAll();
  ASSERT_TRUE(WriteIfDue(options));
  const uint64_t first = Stored()->id;
  Put(0, 50, /*shift=*/100);  // 50 changed
  IndexAll();
  EXPECT_FALSE(WriteIfDue(options));
  EXPECT_EQ(writer_.counts().written, 1);
  Put(50, 250, /*shift=*/100);  // 300 changed
  IndexAll();
  EXPECT_TRUE(WriteIfDue(options));
  EXPECT_EQ(writer_.counts().written, 2);
  EXPECT_GT(Stored()->id, first);
}

}  // namespace
}  // namespace chromahouse
