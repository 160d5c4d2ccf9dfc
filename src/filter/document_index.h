// DocumentIndex: the trigrams of a collection's documents, to narrow the records a document
// filter ($contains, $not_contains, $regex, $not_regex; API.md §4.3) must check exactly.
//
// A posting list per trigram (three bytes of the document with ASCII letters lower-cased)
// holds the offsets whose document has it. Candidates() answers with a superset of the records
// that can match, never fewer; the caller checks each candidate exactly (filter/evaluator.h),
// so results are those of a scan:
//   - $contains "pattern" (3 bytes or more): the records holding every trigram of the pattern
//     (the rarest few lists, intersected).
//   - $regex: RE2's prefilter (FilteredRE2) gives the literals ("atoms") a match needs, as an
//     and/or formula; a record is a candidate when the formula holds with the atoms whose
//     trigrams it has. Records with non-ASCII bytes are always candidates (the prefilter
//     lower-cases with Unicode's rules, the index only ASCII).
//   - nothing narrows a pattern shorter than 3 bytes, a regex without required literals or one
//     of more than 64 (nullopt: check every record).
// Removing a record leaves its entries in place (they can only add candidates); a list is
// compacted when more than half of its entries are stale.
//
// Thread safety: none inside; the owner (RecordStore) guards it.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "common/offset_bitmap.h"
#include "core/where.h"

namespace chromahouse {

class DocumentIndex {
 public:
  // The current document at an offset (nullptr: none, or no live record).
  using DocumentAt = std::function<const std::string*(uint32_t offset)>;

  void Insert(uint32_t offset, std::string_view document);
  // `document` is the one Insert was given for `offset`.
  void Remove(uint32_t offset, std::string_view document, const DocumentAt& current);

  // Offsets (below `universe`) that may match the positive form of `condition` ($contains for
  // $not_contains, $regex for $not_regex); nullopt when the index cannot narrow it. Dead
  // offsets may be members: the caller intersects with what is live.
  std::optional<OffsetBitmap> Candidates(const DocumentCondition& condition, size_t universe) const;

  size_t MemoryBytes() const;

 private:
  struct PostingList {
    std::vector<uint32_t> offsets;  // may hold stale and repeated entries
    size_t stale = 0;
  };
  // The distinct trigrams of `text` (ASCII lower-cased), packed in 24 bits.
  static std::vector<uint32_t> Trigrams(std::string_view text);
  // Offsets holding every trigram of `literal` (a superset of those containing it); nullopt
  // when it is shorter than 3 bytes.
  std::optional<std::vector<uint64_t>> Holding(std::string_view literal, size_t words) const;

  std::unordered_map<uint32_t, PostingList> lists_;
  std::vector<uint64_t> non_ascii_;  // offsets whose document has a byte ≥ 0x80
  size_t entries_ = 0;
};

}  // namespace chromahouse
