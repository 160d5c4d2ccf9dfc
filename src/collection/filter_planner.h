// FilterPlanner: the exact set of a collection's live records matching a filter (`where`,
// `where_document`, or a search's filter with "#id" and "#document" keys), computed from the
// indexes where they can answer and by checking records one by one where they cannot — the
// one place where a filter is planned, for get, query, delete and search.
//
// Plan, node by node:
//   - a subtree the metadata index answers alone (metadata conditions only): its bitmap;
//   - $and: the index-answered children first, then the others, each checking only the records
//     that are still in (a selective condition makes the rest cheap);
//   - $or: the union of its children;
//   - a document condition: the document index's candidates (filter/document_index.h), checked
//     exactly; $not_contains / $not_regex are the records in scope minus the positive matches;
//     a pattern the index cannot narrow checks every record in scope;
//   - any other condition ("#id", "chroma:document"): every record in scope, checked.
//
// Thread safety: reads the store only (the caller holds the collection's lock, shared).
#pragma once

#include <cstdint>

#include "collection/record_store.h"
#include "common/offset_bitmap.h"
#include "core/where.h"

namespace chromahouse {

class FilterPlanner {
 public:
  explicit FilterPlanner(const RecordStore& store) : store_(store) {}

  // The live offsets matching `where`.
  OffsetBitmap Evaluate(const Where& where);
  // The members of `scope` (live offsets, e.g. a request's ids) matching `where`.
  OffsetBitmap Evaluate(const Where& where, const OffsetBitmap& scope);

  // What the plans used (for /metrics and tests).
  struct Counts {
    int64_t metadata_index = 0;   // subtrees answered by the metadata index
    int64_t document_index = 0;   // document conditions narrowed by the document index
    int64_t records_checked = 0;  // records checked one by one
  };
  const Counts& counts() const { return counts_; }

 private:
  using Words = std::vector<uint64_t>;
  // The members of `scope` matching `where` (scope: live offsets, as words of capacity size).
  Words Evaluate(const Where& where, const Words& scope);
  Words CheckEach(const Where& node, const Words& scope);
  Words All() const;

  const RecordStore& store_;
  Counts counts_;
};

}  // namespace chromahouse
