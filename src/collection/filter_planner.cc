#include "collection/filter_planner.h"

#include <algorithm>
#include <bit>

#include "filter/evaluator.h"
#include "filter/metadata_index.h"

namespace chromahouse {
namespace {

size_t Count(const std::vector<uint64_t>& words) {
  size_t n = 0;
  for (uint64_t w : words) n += static_cast<size_t>(std::popcount(w));
  return n;
}

template <typename Fn>
void ForEachBit(const std::vector<uint64_t>& words, Fn&& fn) {
  for (size_t w = 0; w < words.size(); ++w) {
    for (uint64_t bits = words[w]; bits != 0; bits &= bits - 1) {
      fn(static_cast<uint32_t>(w * 64 + static_cast<size_t>(std::countr_zero(bits))));
    }
  }
}

}  // namespace

FilterPlanner::Words FilterPlanner::All() const {
  Words all = store_.live_words();
  all.resize((store_.capacity() + 63) / 64, 0);
  return all;
}

OffsetBitmap FilterPlanner::Evaluate(const Where& where) {
  // A filter the metadata index answers alone: its bitmap as it is (of live records already).
  if (MetadataIndex::Handles(where)) {
    if (auto bits = store_.FilterBitmap(where)) {
      ++counts_.metadata_index;
      return std::move(*bits);
    }
  }
  return OffsetBitmap(Evaluate(where, All()));
}

OffsetBitmap FilterPlanner::Evaluate(const Where& where, const OffsetBitmap& scope) {
  Words in = All();
  const Words& members = scope.words();
  for (size_t w = 0; w < in.size(); ++w) in[w] &= w < members.size() ? members[w] : 0;
  return OffsetBitmap(Evaluate(where, in));
}

FilterPlanner::Words FilterPlanner::CheckEach(const Where& node, const Words& scope) {
  Words out(scope.size(), 0);
  // Only leaves the metadata index cannot answer come here: document conditions and #id need
  // no metadata; a condition on "chroma:document" reads the metadata first (parsed per record).
  const auto* leaf = std::get_if<MetadataCondition>(&node.node);
  const bool needs_metadata = leaf != nullptr && leaf->key != "#id";
  ForEachBit(scope, [&](uint32_t o) {
    ++counts_.records_checked;
    std::optional<Metadata> md;
    if (needs_metadata) md = store_.metadata(o);
    const auto& doc = store_.document(o);
    if (Matches(node, md ? &*md : nullptr, doc ? &*doc : nullptr, &store_.id(o))) {
      out[o >> 6] |= uint64_t{1} << (o & 63);
    }
  });
  return out;
}

FilterPlanner::Words FilterPlanner::Evaluate(const Where& where, const Words& scope) {
  if (MetadataIndex::Handles(where)) {
    if (auto bits = store_.FilterBitmap(where)) {
      ++counts_.metadata_index;
      Words out = std::move(*bits).TakeWords();
      out.resize(scope.size(), 0);
      for (size_t w = 0; w < out.size(); ++w) out[w] &= scope[w];
      return out;
    }
  }
  if (const auto* c = std::get_if<WhereComposite>(&where.node)) {
    if (c->op == BoolOp::kOr) {
      Words out(scope.size(), 0);
      for (const Where& child : c->children) {
        Words part = Evaluate(child, scope);
        for (size_t w = 0; w < out.size(); ++w) out[w] |= part[w];
      }
      return out;
    }
    // $and: what the metadata index answers first, so the rest checks fewer records.
    std::vector<const Where*> order;
    for (const Where& child : c->children) order.push_back(&child);
    std::stable_partition(order.begin(), order.end(),
                          [](const Where* w) { return MetadataIndex::Handles(*w); });
    Words in = scope;
    for (const Where* child : order) {
      if (Count(in) == 0) break;
      in = Evaluate(*child, in);
    }
    return in;
  }
  if (const auto* d = std::get_if<DocumentCondition>(&where.node)) {
    const bool negative = d->op == DocumentOp::kNotContains || d->op == DocumentOp::kNotRegex;
    // Narrow by the index only when the scope is not already small.
    std::optional<OffsetBitmap> candidates;
    if (Count(scope) > 64) candidates = store_.document_index().Candidates(*d, store_.capacity());
    if (!candidates) return CheckEach(where, scope);
    ++counts_.document_index;
    Words narrowed = std::move(*candidates).TakeWords();
    narrowed.resize(scope.size(), 0);
    for (size_t w = 0; w < narrowed.size(); ++w) narrowed[w] &= scope[w];
    Words checked = CheckEach(where, narrowed);
    if (!negative) return checked;
    // Candidates that failed the negative test are the positive matches; everything else in
    // scope matches the negation.
    Words out = scope;
    for (size_t w = 0; w < out.size(); ++w) out[w] &= ~(narrowed[w] & ~checked[w]);
    return out;
  }
  return CheckEach(where, scope);
}

}  // namespace chromahouse
