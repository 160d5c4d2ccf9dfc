#include "service/search_executor.h"

#include <algorithm>
#include <bit>
#include <cmath>
#include <limits>
#include <unordered_map>

#include "collection/filter_planner.h"

namespace chromahouse {

// A node's value: a score for each record in `scores`, and for records outside it `fallback`
// when there is one (a record outside without one is not a result).
struct SearchExecutor::Domain {
  std::unordered_map<uint32_t, float> scores;
  std::optional<float> fallback;
};

namespace {

// IEEE total order (f32::total_cmp): −NaN < −∞ < … < −0 < +0 < … < +∞ < +NaN.
int32_t TotalOrderKey(float f) {
  auto bits = std::bit_cast<int32_t>(f);
  return bits ^ static_cast<int32_t>(static_cast<uint32_t>(bits >> 31) >> 1);
}

using Binary = float (*)(float, float);

SearchExecutor::Domain Merge(SearchExecutor::Domain left, const SearchExecutor::Domain& right,
                             Binary op) {
  SearchExecutor::Domain out;
  const auto& l = left.scores;
  const auto& r = right.scores;
  if (left.fallback && right.fallback) {
    out.scores.reserve(l.size() + r.size());
    for (auto [o, v] : l) {
      auto it = r.find(o);
      out.scores[o] = op(v, it == r.end() ? *right.fallback : it->second);
    }
    for (auto [o, v] : r) {
      if (!l.contains(o)) out.scores[o] = op(*left.fallback, v);
    }
    out.fallback = op(*left.fallback, *right.fallback);
  } else if (left.fallback) {
    out.scores.reserve(r.size());
    for (auto [o, v] : r) {
      auto it = l.find(o);
      out.scores[o] = op(it == l.end() ? *left.fallback : it->second, v);
    }
  } else if (right.fallback) {
    out.scores.reserve(l.size());
    for (auto [o, v] : l) {
      auto it = r.find(o);
      out.scores[o] = op(v, it == r.end() ? *right.fallback : it->second);
    }
  } else {
    for (auto [o, v] : l) {
      auto it = r.find(o);
      if (it != r.end()) out.scores[o] = op(v, it->second);
    }
  }
  return out;
}

// Chroma's order of metadata values across types: bool < int < float < string < sparse vector
// < arrays; within a type the natural order.
int TypeRank(const MetadataValue& v) {
  switch (v.index()) {
    case 0: return 0;                                 // bool
    case 1: return 1;                                 // int
    case 2: return 2;                                 // float
    case 3: return 3;                                 // string
    case 8: return 4;                                 // sparse vector
    default: return 5 + static_cast<int>(v.index());  // arrays
  }
}

int Compare(const MetadataValue& a, const MetadataValue& b) {
  if (TypeRank(a) != TypeRank(b)) return TypeRank(a) < TypeRank(b) ? -1 : 1;
  return std::visit(
      [&b](const auto& x) -> int {
        using T = std::decay_t<decltype(x)>;
        const T& y = std::get<T>(b);
        if constexpr (std::is_same_v<T, SparseValue>) {
          if (x->indices != y->indices) return x->indices < y->indices ? -1 : 1;
          if (x->values != y->values) return x->values < y->values ? -1 : 1;
          return 0;
        } else {
          return x < y ? -1 : (y < x ? 1 : 0);
        }
      },
      a);
}

// Missing (nullopt) sorts before any value.
int Compare(const std::optional<MetadataValue>& a, const std::optional<MetadataValue>& b) {
  if (!a || !b) return a ? 1 : (b ? -1 : 0);
  return Compare(*a, *b);
}

std::optional<MetadataValue> ValueOf(const std::optional<Metadata>& md, const std::string& key) {
  if (!md) return std::nullopt;
  auto it = md->find(key);
  if (it == md->end()) return std::nullopt;
  return it->second;
}

}  // namespace

std::optional<OffsetBitmap> SearchExecutor::Allowed(const Where& filter) {
  FilterPlanner planner(store_);
  OffsetBitmap out = planner.Evaluate(filter);
  const auto& c = planner.counts();
  paths_.filter_metadata_index += c.metadata_index;
  paths_.filter_document_index += c.document_index;
  paths_.filter_records_checked += c.records_checked;
  return out;
}

Result<SearchExecutor::Domain> SearchExecutor::Knn(const KnnRank& knn,
                                                   const OffsetBitmap* allowed) {
  Domain out;
  out.fallback = knn.default_score;
  // More than the collection holds changes nothing (and would size buffers by the request).
  const size_t limit = std::min<size_t>(knn.limit, store_.size());
  std::vector<std::pair<uint32_t, float>> ranked;  // best first
  if (const auto* dense = std::get_if<std::vector<float>>(&knn.query)) {
    if (dim_ != 0 && dense->size() != dim_) {
      return Status::InvalidArgument("Collection expecting embedding with dimension of " +
                                     std::to_string(dim_) + ", got " +
                                     std::to_string(dense->size()));
    }
    if (store_.dim() != 0 && limit > 0) {
      SearchPath path;
      auto neighbors = search_.Search(store_, dense->data(), limit, allowed, ef_, &path);
      if (path == SearchPath::kHnsw) ++paths_.dense_graph;
      else ++paths_.dense_exact;
      for (auto [distance, o] : neighbors) ranked.emplace_back(o, distance);
    }
  } else {
    const auto& sparse = std::get<SparseVector>(knn.query);
    if (const SparseIndex* index = store_.sparse_index(knn.key); index && limit > 0) {
      auto bm25 = bm25_keys_.find(knn.key);
      std::optional<size_t> records;
      if (bm25 != bm25_keys_.end() && bm25->second) records = store_.size();
      SparseIndex::Stats stats;
      // Equal scores at the limit: the earlier inserted records, as Chroma keeps them.
      for (auto [o, dot] :
           index->TopK(sparse, limit, allowed, records, &stats, store_.created_keys())) {
        ranked.emplace_back(o, 1.0f - float(dot));
      }
      if (stats.scored_allowed) ++paths_.sparse_filtered;
      else ++paths_.sparse_index;
    }
  }
  // Equal scores: insertion order, as in Chroma.
  std::stable_sort(ranked.begin(), ranked.end(), [this](const auto& a, const auto& b) {
    const int32_t ka = TotalOrderKey(a.second), kb = TotalOrderKey(b.second);
    if (ka != kb) return ka < kb;
    return store_.created(a.first) < store_.created(b.first);
  });
  out.scores.reserve(ranked.size());
  for (size_t i = 0; i < ranked.size(); ++i) {
    out.scores[ranked[i].first] = knn.return_rank ? float(i) : ranked[i].second;
  }
  return out;
}

Result<SearchExecutor::Domain> SearchExecutor::Evaluate(const RankExpr& expr,
                                                        const OffsetBitmap* allowed) {
  auto unary = [&](float (*f)(float)) -> Result<Domain> {
    ASSIGN_OR_RETURN(Domain d, Evaluate(expr.children.at(0), allowed));
    for (auto& [o, v] : d.scores) v = f(v);
    if (d.fallback) d.fallback = f(*d.fallback);
    return d;
  };
  auto fold = [&](float identity, Binary op) -> Result<Domain> {
    Domain acc;
    acc.fallback = identity;
    for (const RankExpr& child : expr.children) {
      ASSIGN_OR_RETURN(Domain d, Evaluate(child, allowed));
      acc = Merge(std::move(acc), d, op);
    }
    return acc;
  };
  switch (expr.op) {
    case RankOp::kKnn: return Knn(*expr.knn, allowed);
    case RankOp::kVal: {
      Domain d;
      d.fallback = expr.value;
      return d;
    }
    case RankOp::kSum: return fold(0.0f, [](float a, float b) { return a + b; });
    case RankOp::kMul: return fold(1.0f, [](float a, float b) { return a * b; });
    case RankOp::kMax:
      return fold(std::numeric_limits<float>::lowest(),
                  [](float a, float b) { return std::max(a, b); });
    case RankOp::kMin:
      return fold(std::numeric_limits<float>::max(),
                  [](float a, float b) { return std::min(a, b); });
    case RankOp::kSub:
    case RankOp::kDiv: {
      ASSIGN_OR_RETURN(Domain left, Evaluate(expr.children.at(0), allowed));
      ASSIGN_OR_RETURN(Domain right, Evaluate(expr.children.at(1), allowed));
      if (expr.op == RankOp::kSub) {
        return Merge(std::move(left), right, [](float a, float b) { return a - b; });
      }
      return Merge(std::move(left), right, [](float a, float b) { return a / b; });
    }
    case RankOp::kAbs: return unary([](float v) { return std::fabs(v); });
    case RankOp::kExp: return unary([](float v) { return std::exp(v); });
    case RankOp::kLog: return unary([](float v) { return std::log(v); });
  }
  return Status::Internal("unknown rank operator");
}

void SearchExecutor::GroupAndSort(const GroupBy& group_by, std::vector<Hit>& hits) const {
  // Group keys as tuples of optional values, compared as Chroma orders them.
  using Tuple = std::vector<std::optional<MetadataValue>>;
  auto compare_tuples = [](const Tuple& a, const Tuple& b) {
    for (size_t i = 0; i < a.size(); ++i) {
      if (int c = Compare(a[i], b[i]); c != 0) return c;
    }
    return 0;
  };
  struct Member {
    Hit hit;
    Tuple group;
    Tuple order;
  };
  std::vector<Member> members;
  members.reserve(hits.size());
  for (const Hit& h : hits) {
    Member m{h, {}, {}};
    const std::optional<Metadata> md = store_.metadata(h.offset);  // parsed once per hit
    for (const auto& k : group_by.keys) m.group.push_back(ValueOf(md, k));
    for (const auto& k : group_by.aggregate_keys) {
      m.order.push_back(k == "#score" ? std::optional<MetadataValue>(double(h.score))
                                      : ValueOf(md, k));
    }
    members.push_back(std::move(m));
  }
  // Stable: within a group, equal aggregate keys keep the incoming (score) order.
  std::stable_sort(members.begin(), members.end(), [&](const Member& a, const Member& b) {
    if (int c = compare_tuples(a.group, b.group); c != 0) return c < 0;
    const int c = compare_tuples(a.order, b.order);
    return group_by.max ? c > 0 : c < 0;
  });
  hits.clear();
  size_t in_group = 0;
  for (size_t i = 0; i < members.size(); ++i) {
    if (i == 0 || compare_tuples(members[i].group, members[i - 1].group) != 0) in_group = 0;
    if (in_group++ < group_by.k) hits.push_back(members[i].hit);
  }
}

Result<std::vector<SearchExecutor::Hit>> SearchExecutor::Run(const SearchQuery& query) {
  std::optional<OffsetBitmap> allowed;
  if (query.filter) allowed = Allowed(*query.filter);
  std::vector<Hit> hits;
  if (!query.rank) {
    // Insertion order; the score is the position in the page.
    size_t skipped = 0;
    for (uint32_t o : store_.OffsetsInInsertionOrder()) {
      if (allowed && !allowed->Contains(o)) continue;
      if (skipped++ < query.offset) continue;
      if (query.limit && hits.size() >= *query.limit) break;
      hits.push_back({o, float(hits.size())});
    }
    return hits;
  }
  ASSIGN_OR_RETURN(Domain root, Evaluate(*query.rank, allowed ? &*allowed : nullptr));
  hits.reserve(root.scores.size());
  for (auto [o, v] : root.scores) hits.push_back({o, v});
  auto by_score = [this](const Hit& a, const Hit& b) {
    const int32_t ka = TotalOrderKey(a.score), kb = TotalOrderKey(b.score);
    if (ka != kb) return ka < kb;
    return store_.created(a.offset) < store_.created(b.offset);
  };
  std::sort(hits.begin(), hits.end(), by_score);
  if (query.group_by) {
    GroupAndSort(*query.group_by, hits);
    std::sort(hits.begin(), hits.end(), by_score);
  }
  const size_t begin = std::min<size_t>(hits.size(), query.offset);
  size_t end = hits.size();
  if (query.limit) end = std::min(end, begin + *query.limit);
  return std::vector<Hit>(hits.begin() + static_cast<std::ptrdiff_t>(begin),
                          hits.begin() + static_cast<std::ptrdiff_t>(end));
}

}  // namespace chromahouse
