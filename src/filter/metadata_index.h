// MetadataIndex: inverted indexes over records' metadata, keyed by uint32 offset, that turn a
// `where` tree into the set of matching offsets without calling the per-record evaluator.
//
// Semantics are exactly those of filter/evaluator.h (API.md §4.2): type-strict values; ints and
// floats compared as true numbers, exactly (int 5 == 5.0, int64 9007199254740993 != double
// 9007199254740992.0); NaN equals and orders against nothing; $eq/$in/orderings never look
// inside arrays; $contains/$not_contains test array membership with the exact element type;
// $ne/$nin/$not_contains are complements of $eq/$in/$contains relative to the live records, so
// they match records lacking the key or having no metadata at all.
//
// Layout, per metadata key:
//   - scalar strings: hash map value -> offsets; scalar bools: two offset sets;
//   - scalar ints and non-NaN floats: two sorted (value, offset) arrays in blocks, probed both,
//     with an exact int/float comparison, for $eq/$in and for ranges ($gt/$gte/$lt/$lte);
//   - array elements, per element type, value -> offsets (for $contains).
// An offset set is a sorted flat vector while small and becomes chunked (per 2^16 offsets: a
// sorted uint16 array, or a 1024-word bitmap once a chunk holds more than 4096 offsets), so Add
// and Remove cost O(log n) plus a bounded (<= 8 KiB) move. Evaluate combines per-node dense
// bitmaps over the offset space ($and = AND, $or = OR, negations = NOT) and finally walks
// `live_in_order` once, keeping the offsets whose bit is set.
//
// Not handled (Evaluate returns nullopt, the caller scans with filter/evaluator.h): any
// DocumentCondition, and conditions on the reserved key "chroma:document" (the evaluator reads
// the document for it when the metadata lacks the key, and the index never sees documents).
//
// Thread safety: none inside. Insert/Remove mutate; Evaluate is const and safe to run from
// several threads at once only while no Insert/Remove runs — the owner (the collection's data
// lock: readers shared, writers exclusive) must guarantee that.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "core/metadata.h"
#include "core/where.h"

namespace chromahouse {

namespace metadata_index_internal {

// A set of uint32 offsets (see the file comment for the layout).
class OffsetSet {
 public:
  // Return whether the set changed.
  bool Add(uint32_t x);
  bool Remove(uint32_t x);
  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }
  // Sets the bit of every member in `words`, which must cover every member
  // (num_words * 64 > largest member).
  void OrInto(uint64_t* words, size_t num_words) const;
  size_t MemoryBytes() const;

 private:
  struct Chunk {
    uint32_t high = 0;  // members' x >> 16
    uint32_t count = 0;
    std::vector<uint16_t> array;  // sorted low halves, while count <= kArrayMax
    std::vector<uint64_t> bits;   // kChunkWords words once count > kArrayMax (array empty)
  };
  static constexpr size_t kFlatMax = 64;
  static constexpr uint32_t kArrayMax = 4096;
  static constexpr size_t kChunkWords = 1024;

  bool AddToChunks(uint32_t x);
  bool RemoveFromChunks(uint32_t x);
  std::vector<uint32_t> Members() const;

  size_t size_ = 0;
  std::vector<uint32_t> flat_;  // sorted; holds the whole set while chunks_ is empty
  std::vector<Chunk> chunks_;   // sorted by high
};

// Exact three-way comparison of an int64 with a double (-1, 0, 1; 2 when d is NaN).
inline int CompareIntDouble(int64_t i, double d) {
  if (std::isnan(d)) return 2;
  constexpr double kTwo63 = 9223372036854775808.0;
  if (d >= kTwo63) return -1;
  if (d < -kTwo63) return 1;
  const double whole = std::trunc(d);
  const auto whole_int = static_cast<int64_t>(whole);
  if (i != whole_int) return i < whole_int ? -1 : 1;
  const double fraction = d - whole;
  if (fraction > 0) return -1;
  if (fraction < 0) return 1;
  return 0;
}

// Strict weak order over ints and non-NaN doubles together, exact across the two types.
struct NumberLess {
  using is_transparent = void;
  bool operator()(int64_t a, int64_t b) const { return a < b; }
  bool operator()(double a, double b) const { return a < b; }
  bool operator()(int64_t a, double b) const { return CompareIntDouble(a, b) == -1; }
  bool operator()(double a, int64_t b) const { return CompareIntDouble(b, a) == 1; }
};

// A multiset of (number, offset) entries sorted by (number, offset), for scalar ints or non-NaN
// doubles: sorted blocks of at most 256 entries (keys and offsets in parallel arrays), so that
// ranges are walked through contiguous memory and Insert/Remove move at most one block plus
// O(n / 128) block handles. K is int64_t or double; probes of either type compare exactly.
template <typename K>
class SortedEntries {
 public:
  void Insert(K key, uint32_t offset);
  // Returns whether the entry was present.
  bool Remove(K key, uint32_t offset);
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  // Sets the bit of every entry whose key stands in relation `op` (kEq, kGt, kGte, kLt or kLte;
  // other ops set nothing) to the non-NaN `v`.
  void OrCompared(MetadataOp op, int64_t v, uint64_t* words) const;
  void OrCompared(MetadataOp op, double v, uint64_t* words) const;
  size_t MemoryBytes() const;

 private:
  struct Block {
    std::vector<K> keys;
    std::vector<uint32_t> offsets;
  };
  struct Position {
    size_t block = 0;
    size_t index = 0;
  };
  static constexpr size_t kBlockMax = 256;

  template <typename V>
  void OrComparedImpl(MetadataOp op, V v, uint64_t* words) const;
  template <typename V>
  Position LowerBound(V v) const;  // first entry with !(key < v)
  template <typename V>
  Position UpperBound(V v) const;  // first entry with v < key
  Position End() const { return {blocks_.size(), 0}; }
  void OrBetween(Position from, Position to, uint64_t* words) const;
  // The first block whose last entry is not below (key, offset), or blocks_.size().
  size_t FindBlock(K key, uint32_t offset) const;

  std::vector<Block> blocks_;  // each non-empty; concatenated they are sorted
  size_t size_ = 0;
};

}  // namespace metadata_index_internal

class MetadataIndex {
 public:
  MetadataIndex() = default;

  // Indexes `metadata` as the metadata of the record at `offset`. The offset must not currently
  // be indexed (Remove its old metadata first).
  void Insert(uint32_t offset, const Metadata& metadata);
  // Un-indexes the record at `offset`; `metadata` must be exactly what was inserted for it.
  void Remove(uint32_t offset, const Metadata& metadata);

  // The offsets of `live_in_order` (same order) whose record matches `where`, exactly as
  // Matches(where, metadata, document) would decide, where offsets never inserted count as
  // records without metadata. nullopt when the tree holds something the index does not handle
  // (see above); then the caller scans. Cost: O(tree size * (offset space / 64) + postings
  // touched + live_in_order.size()).
  std::optional<std::vector<uint32_t>> Evaluate(const Where& where,
                                                const std::vector<uint32_t>& live_in_order) const;

  // The same decision as a bitmap over the offsets below `universe` (offsets never inserted
  // count as records without metadata; dead offsets may be members: the caller intersects with
  // what is live). nullopt when the index cannot answer. Cost: O(tree size * universe / 64 +
  // postings touched).
  std::optional<std::vector<uint64_t>> EvaluateBits(const Where& where, size_t universe) const;

  // Whether Evaluate would return a value for `where` (no document conditions, no
  // "chroma:document" or "#id" key).
  static bool Handles(const Where& where);

  // Approximate bytes held (walks the index; not O(1)).
  size_t MemoryBytes() const;

 private:
  using OffsetSet = metadata_index_internal::OffsetSet;
  template <typename K>
  using SortedEntries = metadata_index_internal::SortedEntries<K>;

  struct KeyIndex {
    size_t records = 0;  // records that have this key (any type)
    std::unordered_map<std::string, OffsetSet> strings;
    OffsetSet bools[2];
    SortedEntries<int64_t> ints;
    SortedEntries<double> doubles;  // NaN values are not indexed (they match nothing)
    // Array elements (for $contains), exact type.
    std::unordered_map<std::string, OffsetSet> string_elements;
    OffsetSet bool_elements[2];
    std::unordered_map<int64_t, OffsetSet> int_elements;
    std::map<double, OffsetSet> double_elements;  // NaN never matches; -0.0 == 0.0
  };

  void EvaluateNode(const Where& where, size_t num_words, std::vector<uint64_t>& out) const;
  void AddPositive(const KeyIndex& key, const MetadataCondition& condition,
                   std::vector<uint64_t>& out) const;

  std::unordered_map<std::string, KeyIndex> keys_;
  uint64_t universe_ = 0;  // one past the largest offset ever inserted
};

}  // namespace chromahouse
