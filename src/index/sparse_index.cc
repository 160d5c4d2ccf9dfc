#include "index/sparse_index.h"

#include <algorithm>
#include <cmath>

namespace chromahouse {
namespace {

// The best k, best first: larger score, then the smaller `order` key (lower offset without one).
std::vector<SparseIndex::Scored> Best(std::vector<SparseIndex::Scored> all, size_t k,
                                      const uint64_t* order) {
  auto better = [order](const SparseIndex::Scored& a, const SparseIndex::Scored& b) {
    if (a.score != b.score) return a.score > b.score;
    if (order != nullptr && order[a.offset] != order[b.offset]) {
      return order[a.offset] < order[b.offset];
    }
    return a.offset < b.offset;
  };
  if (all.size() > k) {
    std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(k), all.end(), better);
    all.resize(k);
  } else {
    std::sort(all.begin(), all.end(), better);
  }
  return all;
}

}  // namespace

void SparseIndex::Insert(uint32_t offset, std::shared_ptr<const SparseVector> vector) {
  if (offset >= vectors_.size()) {
    vectors_.resize(size_t{offset} + 1);
    generations_.resize(size_t{offset} + 1, 0);
  }
  const SparseVector& v = *vector;
  for (size_t i = 0; i < v.indices.size(); ++i) {
    PostingList& list = lists_[v.indices[i]];
    const float value = v.values[i];
    if (list.entries.empty()) {
      list.max_value = list.min_value = value;
    } else {
      list.max_value = std::max(list.max_value, value);
      list.min_value = std::min(list.min_value, value);
    }
    list.entries.push_back({offset, generations_[offset], value});
    ++list.live;
  }
  entries_ += v.indices.size();
  vectors_[offset] = std::move(vector);
  ++documents_;
}

void SparseIndex::Remove(uint32_t offset) {
  if (offset >= vectors_.size() || vectors_[offset] == nullptr) return;
  std::shared_ptr<const SparseVector> old = std::move(vectors_[offset]);
  vectors_[offset] = nullptr;
  ++generations_[offset];  // its entries are stale from now on
  for (uint32_t dim : old->indices) {
    auto it = lists_.find(dim);
    if (it == lists_.end()) continue;
    PostingList& list = it->second;
    --list.live;
    if (list.live == 0) {
      lists_.erase(it);
    } else if (list.entries.size() > 2 * list.live + 16) {
      Compact(list);
    }
  }
  entries_ -= old->indices.size();
  --documents_;
}

void SparseIndex::Compact(PostingList& list) {
  std::erase_if(list.entries, [this](const Entry& e) { return !IsLive(e); });
  list.max_value = list.min_value = list.entries.front().value;
  for (const Entry& e : list.entries) {
    list.max_value = std::max(list.max_value, e.value);
    list.min_value = std::min(list.min_value, e.value);
  }
}

size_t SparseIndex::DocumentFrequency(uint32_t dim) const {
  auto it = lists_.find(dim);
  return it == lists_.end() ? 0 : it->second.live;
}

double SparseIndex::Idf(uint32_t dim, size_t records) const {
  const double n = static_cast<double>(records);
  const double df = static_cast<double>(std::min(DocumentFrequency(dim), records));
  return std::log(1.0 + (n - df + 0.5) / (df + 0.5));
}

std::vector<std::pair<uint32_t, double>> SparseIndex::Weights(
    const SparseVector& query, std::optional<size_t> bm25_records) const {
  std::vector<std::pair<uint32_t, double>> out;
  out.reserve(query.indices.size());
  for (size_t i = 0; i < query.indices.size() && i < query.values.size(); ++i) {
    double w = query.values[i];
    if (bm25_records) w *= Idf(query.indices[i], *bm25_records);
    if (w != 0) out.emplace_back(query.indices[i], w);
  }
  return out;
}

float SparseIndex::ValueAt(uint32_t offset, uint32_t dim) const {
  const SparseVector& v = *vectors_[offset];
  auto it = std::lower_bound(v.indices.begin(), v.indices.end(), dim);
  if (it == v.indices.end() || *it != dim) return 0;
  return v.values[static_cast<size_t>(it - v.indices.begin())];
}

double SparseIndex::Score(const SparseVector& query, uint32_t offset,
                          std::optional<size_t> bm25) const {
  if (offset >= vectors_.size() || vectors_[offset] == nullptr) return 0;
  double score = 0;
  for (auto [dim, w] : Weights(query, bm25)) score += w * double(ValueAt(offset, dim));
  return score;
}

std::vector<SparseIndex::Scored> SparseIndex::TopKByScan(const SparseVector& query, size_t k,
                                                         const OffsetBitmap* allowed,
                                                         std::optional<size_t> bm25,
                                                         const uint64_t* order) const {
  const auto weights = Weights(query, bm25);
  std::vector<Scored> all;
  auto score = [&](uint32_t o) {
    if (o >= vectors_.size() || vectors_[o] == nullptr) return;
    const SparseVector& v = *vectors_[o];
    double s = 0;
    bool shared = false;
    size_t i = 0, j = 0;
    while (i < v.indices.size() && j < weights.size()) {
      if (v.indices[i] < weights[j].first) {
        ++i;
      } else if (v.indices[i] > weights[j].first) {
        ++j;
      } else {
        s += double(v.values[i++]) * weights[j++].second;
        shared = true;
      }
    }
    if (shared) all.push_back({o, s});
  };
  if (allowed != nullptr) {
    allowed->ForEach(score);
  } else {
    for (uint32_t o = 0; o < vectors_.size(); ++o) score(o);
  }
  return Best(std::move(all), k, order);
}

std::vector<SparseIndex::Scored> SparseIndex::TopK(const SparseVector& query, size_t k,
                                                   const OffsetBitmap* allowed,
                                                   std::optional<size_t> bm25, Stats* stats,
                                                   const uint64_t* order) const {
  Stats local;
  if (stats == nullptr) stats = &local;
  *stats = Stats{};
  if (k == 0 || documents_ == 0) return {};
  struct Term {
    const PostingList* list;
    uint32_t dim;
    double weight;
    double upper;  // the most this dimension can add to a score
    double lower;  // the least (≤ 0)
  };
  std::vector<Term> terms;
  size_t postings = 0;
  for (auto [dim, w] : Weights(query, bm25)) {
    auto it = lists_.find(dim);
    if (it == lists_.end() || w == 0) continue;
    const PostingList& list = it->second;
    const double a = w * double(list.max_value), b = w * double(list.min_value);
    terms.push_back({&list, dim, w, std::max({a, b, 0.0}), std::min({a, b, 0.0})});
    postings += list.entries.size();
  }
  if (terms.empty()) return {};
  // A selective filter goes first: scoring the few allowed records beats scanning the lists.
  if (allowed != nullptr && allowed->size() * 4 < postings) {
    stats->scored_allowed = true;
    return TopKByScan(query, k, allowed, bm25, order);
  }
  std::sort(terms.begin(), terms.end(),
            [](const Term& a, const Term& b) { return a.upper > b.upper; });
  // suffix_upper[i] / suffix_lower[i]: what terms i.. can add at most / at least.
  std::vector<double> suffix_upper(terms.size() + 1, 0), suffix_lower(terms.size() + 1, 0);
  for (size_t i = terms.size(); i-- > 0;) {
    suffix_upper[i] = suffix_upper[i + 1] + terms[i].upper;
    suffix_lower[i] = suffix_lower[i + 1] + terms[i].lower;
  }

  thread_local std::vector<double> acc;
  thread_local std::vector<uint8_t> seen;
  if (acc.size() < vectors_.size()) {
    acc.resize(vectors_.size(), 0);
    seen.resize(vectors_.size(), 0);
  }
  std::vector<uint32_t> touched;
  std::vector<double> bounds;
  double threshold = -HUGE_VAL;
  size_t scanned = 0;
  for (; scanned < terms.size(); ++scanned) {
    if (scanned > 0 && touched.size() >= k) {
      // The k-th best lower bound among the records seen: a record never seen can only enter
      // the top k if the terms left can lift it above that.
      bounds.clear();
      for (uint32_t o : touched) bounds.push_back(acc[o] + suffix_lower[scanned]);
      std::nth_element(bounds.begin(), bounds.begin() + static_cast<std::ptrdiff_t>(k - 1),
                       bounds.end(), std::greater<>());
      threshold = bounds[k - 1];
      if (suffix_upper[scanned] < threshold) break;
    }
    const Term& t = terms[scanned];
    for (const Entry& e : t.list->entries) {
      if (!IsLive(e) || (allowed != nullptr && !allowed->Contains(e.offset))) continue;
      if (!seen[e.offset]) {
        seen[e.offset] = 1;
        touched.push_back(e.offset);
      }
      acc[e.offset] += t.weight * double(e.value);
    }
  }
  stats->lists_scanned = scanned;
  stats->lists_skipped = terms.size() - scanned;
  std::vector<Scored> candidates;
  candidates.reserve(touched.size());
  for (uint32_t o : touched) {
    double s = acc[o];
    acc[o] = 0;
    seen[o] = 0;
    if (scanned < terms.size()) {
      if (s + suffix_upper[scanned] < threshold) continue;  // cannot reach the top k
      for (size_t i = scanned; i < terms.size(); ++i) {
        s += terms[i].weight * double(ValueAt(o, terms[i].dim));
      }
    }
    candidates.push_back({o, s});
  }
  return Best(std::move(candidates), k, order);
}

size_t SparseIndex::MemoryBytes() const {
  return entries_ * sizeof(Entry) + lists_.size() * (sizeof(PostingList) + 32) +
         vectors_.capacity() * (sizeof(std::shared_ptr<const SparseVector>) + sizeof(uint32_t));
}

}  // namespace chromahouse
