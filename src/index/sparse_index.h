// SparseIndex: an inverted index over the sparse vectors of one metadata key, for exact top-k
// by dot product (the `$knn` of a search on a sparse key, API.md §13).
//
// A posting list per dimension holds (offset, generation, value). Removing a record bumps its
// offset's generation, which makes its entries stale at once; a list is compacted when stale
// entries outnumber live ones, so removal costs O(1) per dimension and queries never see a
// stale entry. Each list keeps the largest and smallest value it ever held: bounds on what a
// dimension can add to a score.
//
// TopK is exact. It scores the query's dimensions term at a time, the strongest bounds first,
// and stops scanning lists once the dimensions left cannot lift a record that has not been seen
// into the top k (MaxScore): the records already seen get those dimensions' values by a look
// into their own vectors (binary search) instead of a scan of long lists, and only while they
// can still reach the top k.
//
// BM25 (a key whose schema says `bm25: true`): the stored vectors hold each document's term
// weights (the client's saturated, length-normalised term frequency); the server weighs each
// query dimension by its inverse document frequency, idf = ln(1 + (N − df + 0.5) / (df + 0.5)),
// with N the collection's records (the caller's `bm25_records`, as Chroma counts them: with or
// without a vector) and df the records holding the dimension (at most N), kept current by
// Insert and Remove.
//
// Thread safety: none inside; the owner (RecordStore) is guarded by its collection's lock.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/offset_bitmap.h"
#include "common/sparse_vector.h"

namespace chromahouse {

class SparseIndex {
 public:
  struct Scored {
    uint32_t offset;
    double score;  // the dot product (idf-weighted for BM25)
  };

  // A valid vector (SparseVector::Problem) for a record; shared with the record's metadata.
  // The offset must not hold a vector already (Remove it first).
  void Insert(uint32_t offset, std::shared_ptr<const SparseVector> vector);
  void Remove(uint32_t offset);

  // The k records with the largest dot product with the query, best first (equal scores: lower
  // offset first), among `allowed` (nullptr = every record). Records sharing no dimension with
  // the query score 0 and are not returned. `bm25_records` set: query dimensions are weighed by
  // their idf among that many records.
  // `stats` (optional) tells how: the allowed records scored one by one, or the lists.
  struct Stats {
    bool scored_allowed = false;  // the filter was selective: its records were scored directly
    size_t lists_scanned = 0;
    size_t lists_skipped = 0;  // dimensions looked up only in the candidates' own vectors
  };
  // `order` (optional, indexed by offset): equal scores rank by the smaller key (the caller's
  // insertion order), else by the lower offset.
  std::vector<Scored> TopK(const SparseVector& query, size_t k, const OffsetBitmap* allowed,
                           std::optional<size_t> bm25_records, Stats* stats = nullptr,
                           const uint64_t* order = nullptr) const;
  // The same, by scoring every allowed record's vector (the reference for tests and the
  // benchmark's baseline).
  std::vector<Scored> TopKByScan(const SparseVector& query, size_t k, const OffsetBitmap* allowed,
                                 std::optional<size_t> bm25_records,
                                 const uint64_t* order = nullptr) const;
  // The score of the record at `offset` (0 without a vector).
  double Score(const SparseVector& query, uint32_t offset,
               std::optional<size_t> bm25_records) const;

  size_t size() const { return documents_; }
  // Records holding dimension `dim`.
  size_t DocumentFrequency(uint32_t dim) const;
  double Idf(uint32_t dim, size_t records) const;
  size_t MemoryBytes() const;

 private:
  struct Entry {
    uint32_t offset;
    uint32_t generation;
    float value;
  };
  struct PostingList {
    std::vector<Entry> entries;
    size_t live = 0;
    float max_value = 0;
    float min_value = 0;
  };
  bool IsLive(const Entry& e) const {
    return generations_[e.offset] == e.generation && vectors_[e.offset] != nullptr;
  }
  void Compact(PostingList& list);
  // The query's weight per dimension (times the idf for BM25).
  std::vector<std::pair<uint32_t, double>> Weights(const SparseVector& query,
                                                   std::optional<size_t> bm25_records) const;
  // The value of `dim` in the vector at `offset` (0 when absent).
  float ValueAt(uint32_t offset, uint32_t dim) const;

  std::unordered_map<uint32_t, PostingList> lists_;
  std::vector<uint32_t> generations_;  // by offset
  // Each record's own vector (shared with its metadata), for MaxScore's look-ups and the scan.
  std::vector<std::shared_ptr<const SparseVector>> vectors_;  // by offset
  size_t documents_ = 0;
  size_t entries_ = 0;  // live entries, for MemoryBytes
};

}  // namespace chromahouse
