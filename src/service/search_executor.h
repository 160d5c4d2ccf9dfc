// SearchExecutor: runs the searches of a search request (core/search.h, API.md §13) over one
// loaded collection, under the collection's read lock (held by the caller).
//
// One plan per search:
//   1. The filter becomes the allowed set, once (collection/filter_planner.h: the metadata and
//      document indexes where they answer, records checked one by one where not).
//   2. Each `$knn` leaf takes its `limit` best among the allowed records: a dense query through
//      the collection's vector search (its planner picks the graph, the filtered graph or an
//      exact scan), a sparse query through the key's inverted index (core of SparseIndex:
//      MaxScore over the posting lists, or the allowed records scored one by one when the
//      filter is selective).
//   3. The rank expression combines the leaves as Chroma does: each node is a map record →
//      score plus an optional default for records outside it; a leaf's default is its
//      `default`, a constant is only a default; a binary operation keeps the records of both
//      sides when both have a default, the side without one's when one has, else those in both.
//      The root's records are the results, ascending by score (IEEE f32, in the total order of
//      f32::total_cmp: −NaN first, +NaN last), ties in insertion order.
//   4. group_by keeps the best `k` of each group (by its aggregate keys), then all are sorted
//      by score again; then offset and limit.
// Without a rank: the allowed records in insertion order, paged, scored by their position in
// the page.
//
// Thread safety: a SearchExecutor is used by one request; the store and the vector search are
// only read.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "collection/record_store.h"
#include "collection/vector_search.h"
#include "common/status.h"
#include "core/search.h"

namespace chromahouse {

class SearchExecutor {
 public:
  struct Hit {
    uint32_t offset;
    float score;
  };
  // `bm25_keys`: the sparse keys whose schema says `bm25` (their queries are weighed by IDF).
  // `dim`: the collection's dimension (0 = none yet); `ef`: the graph's search breadth.
  SearchExecutor(const RecordStore& store, const VectorSearch& search, size_t dim, size_t ef,
                 const std::map<std::string, bool, std::less<>>& bm25_keys)
      : store_(store), search_(search), dim_(dim), ef_(ef), bm25_keys_(bm25_keys) {}

  Result<std::vector<Hit>> Run(const SearchQuery& query);

  // How the `$knn` leaves of the searches run were answered (for /metrics and tests).
  struct Paths {
    int64_t dense_graph = 0;      // the HNSW graph (filtered or not)
    int64_t dense_exact = 0;      // an exact scan
    int64_t sparse_index = 0;     // the posting lists (MaxScore)
    int64_t sparse_filtered = 0;  // the allowed records scored one by one
    // The filters' plans (collection/filter_planner.h).
    int64_t filter_metadata_index = 0;
    int64_t filter_document_index = 0;
    int64_t filter_records_checked = 0;
  };
  const Paths& paths() const { return paths_; }

  // A rank node's value (search_executor.cc).
  struct Domain;

 private:
  Result<Domain> Evaluate(const RankExpr& expr, const OffsetBitmap* allowed);
  Result<Domain> Knn(const KnnRank& knn, const OffsetBitmap* allowed);
  std::optional<OffsetBitmap> Allowed(const Where& filter);
  void GroupAndSort(const GroupBy& group_by, std::vector<Hit>& hits) const;

  const RecordStore& store_;
  const VectorSearch& search_;
  size_t dim_;
  size_t ef_;
  const std::map<std::string, bool, std::less<>>& bm25_keys_;
  Paths paths_;
};

}  // namespace chromahouse
