// Search: the decoded form of `POST …/collections/{id}/search` (API.md §13), Chroma's hybrid
// search: a batch of searches, each a filter, a rank expression, a group-by, a page and the
// fields to return. Plain data; codec/search_codec.h builds it from JSON, and
// service/search_executor.h gives it meaning.
//
// Ranking: lower scores rank first. A `$knn` leaf scores the `limit` records nearest to its
// query (a dense query: the collection's distance; a sparse query on a metadata key:
// 1 − dot product, the query weighed by inverse document frequency when the key's schema says
// `bm25`), or their 0-based rank with `return_rank`. Expressions combine leaves; a record
// missing from a leaf takes the leaf's `default`, and without a default it is not a result.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/sparse_vector.h"
#include "core/where.h"

namespace chromahouse {

enum class RankOp { kKnn, kVal, kSum, kSub, kMul, kDiv, kAbs, kExp, kLog, kMax, kMin };

struct KnnRank {
  // Dense (the collection's embeddings; `key` is "#embedding") or sparse (a metadata key).
  std::variant<std::vector<float>, SparseVector> query;
  std::string key = "#embedding";
  uint32_t limit = 16;
  std::optional<float> default_score;
  bool return_rank = false;
};

struct RankExpr {
  RankOp op = RankOp::kVal;
  float value = 0;               // kVal
  std::shared_ptr<KnnRank> knn;  // kKnn
  // kSum/kMul/kMax/kMin: any number; kSub/kDiv: left, right; kAbs/kExp/kLog: one.
  std::vector<RankExpr> children;
};

// Metadata values of the group's key decide a group; within it the records sorted by the
// aggregate's keys ("#score" or metadata keys; ascending for $min_k, descending for $max_k)
// are kept up to `k`.
struct GroupBy {
  std::vector<std::string> keys;
  bool max = false;  // $max_k rather than $min_k
  std::vector<std::string> aggregate_keys;
  uint32_t k = 0;
};

// What to return besides ids: the predefined fields and metadata keys.
struct SearchSelect {
  bool document = false;
  bool embedding = false;
  bool metadata = false;  // the whole metadata
  bool score = false;
  std::vector<std::string> metadata_keys;  // sorted, unique
  // The keys as answered in the response's "select" (sorted as Chroma sorts them).
  std::vector<std::string> keys;
};

struct SearchQuery {
  std::optional<Where> filter;  // may name "#id" and "#document"
  std::optional<RankExpr> rank;
  std::optional<GroupBy> group_by;
  uint32_t offset = 0;
  std::optional<uint32_t> limit;
  SearchSelect select;
};

struct SearchRequest {
  std::vector<SearchQuery> searches;
};

}  // namespace chromahouse
