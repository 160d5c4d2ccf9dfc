#include "filter/document_index.h"

#include <re2/filtered_re2.h>
#include <re2/re2.h>

#include <algorithm>

namespace chromahouse {
namespace {

constexpr int kGram = 3;
constexpr size_t kMaxAtoms = 64;

unsigned char Fold(unsigned char c) { return (c >= 'A' && c <= 'Z') ? c + ('a' - 'A') : c; }

uint32_t Pack(std::string_view s, size_t i) {
  return uint32_t{Fold(static_cast<unsigned char>(s[i]))} << 16 |
         uint32_t{Fold(static_cast<unsigned char>(s[i + 1]))} << 8 |
         uint32_t{Fold(static_cast<unsigned char>(s[i + 2]))};
}

bool HasNonAscii(std::string_view s) {
  return std::any_of(s.begin(), s.end(),
                     [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
}

void SetBit(std::vector<uint64_t>& bits, uint32_t offset, bool on) {
  const size_t w = offset >> 6;
  if (w >= bits.size()) {
    if (!on) return;
    bits.resize(w + 1, 0);
  }
  if (on) bits[w] |= uint64_t{1} << (offset & 63);
  else bits[w] &= ~(uint64_t{1} << (offset & 63));
}

}  // namespace

std::vector<uint32_t> DocumentIndex::Trigrams(std::string_view text) {
  std::vector<uint32_t> out;
  if (text.size() < kGram) return out;
  out.reserve(text.size() - kGram + 1);
  for (size_t i = 0; i + kGram <= text.size(); ++i) out.push_back(Pack(text, i));
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void DocumentIndex::Insert(uint32_t offset, std::string_view document) {
  for (uint32_t t : Trigrams(document)) {
    lists_[t].offsets.push_back(offset);
    ++entries_;
  }
  if (HasNonAscii(document)) SetBit(non_ascii_, offset, true);
}

void DocumentIndex::Remove(uint32_t offset, std::string_view document, const DocumentAt& current) {
  SetBit(non_ascii_, offset, false);
  for (uint32_t t : Trigrams(document)) {
    auto it = lists_.find(t);
    if (it == lists_.end()) continue;
    PostingList& list = it->second;
    ++list.stale;
    if (list.stale * 2 <= list.offsets.size()) continue;
    // Compact: keep the offsets whose current document still has the trigram, once each.
    const size_t before = list.offsets.size();
    std::sort(list.offsets.begin(), list.offsets.end());
    list.offsets.erase(std::unique(list.offsets.begin(), list.offsets.end()), list.offsets.end());
    std::erase_if(list.offsets, [&](uint32_t o) {
      const std::string* doc = o == offset ? nullptr : current(o);
      if (doc == nullptr || doc->size() < kGram) return true;
      for (size_t i = 0; i + kGram <= doc->size(); ++i) {
        if (Pack(*doc, i) == t) return false;
      }
      return true;
    });
    entries_ -= before - list.offsets.size();
    list.stale = 0;
    if (list.offsets.empty()) lists_.erase(it);
  }
}

std::optional<std::vector<uint64_t>> DocumentIndex::Holding(std::string_view literal,
                                                            size_t words) const {
  std::vector<uint32_t> grams = Trigrams(literal);
  if (grams.empty()) return std::nullopt;
  std::vector<const PostingList*> lists;
  for (uint32_t t : grams) {
    auto it = lists_.find(t);
    if (it == lists_.end()) return std::vector<uint64_t>(words, 0);  // nobody has it
    lists.push_back(&it->second);
  }
  // The rarest few lists narrow enough: the exact check does the rest.
  std::sort(lists.begin(), lists.end(), [](const PostingList* a, const PostingList* b) {
    return a->offsets.size() < b->offsets.size();
  });
  lists.resize(std::min<size_t>(lists.size(), 4));
  std::vector<uint64_t> bits(words, 0);
  for (uint32_t o : lists[0]->offsets) {
    if ((o >> 6) < words) bits[o >> 6] |= uint64_t{1} << (o & 63);
  }
  std::vector<uint64_t> next(words);
  for (size_t l = 1; l < lists.size(); ++l) {
    std::fill(next.begin(), next.end(), 0);
    for (uint32_t o : lists[l]->offsets) {
      if ((o >> 6) < words) next[o >> 6] |= uint64_t{1} << (o & 63);
    }
    for (size_t w = 0; w < words; ++w) bits[w] &= next[w];
  }
  return bits;
}

std::optional<OffsetBitmap> DocumentIndex::Candidates(const DocumentCondition& condition,
                                                      size_t universe) const {
  const size_t words = (universe + 63) / 64;
  if (condition.op == DocumentOp::kContains || condition.op == DocumentOp::kNotContains) {
    auto bits = Holding(condition.pattern, words);
    if (!bits) return std::nullopt;
    return OffsetBitmap(std::move(*bits));
  }
  if (condition.regex == nullptr) return std::nullopt;
  re2::FilteredRE2 filter(kGram);
  int id = 0;
  if (filter.Add(condition.regex->pattern(), condition.regex->options(), &id) != RE2::NoError) {
    return std::nullopt;
  }
  std::vector<std::string> atoms;
  filter.Compile(&atoms);
  // A regex of many alternatives has many atoms, each a bitmap of the collection: check every
  // record instead.
  if (atoms.size() > kMaxAtoms) return std::nullopt;
  std::vector<int> passing;
  filter.AllPotentials({}, &passing);
  if (!passing.empty()) return std::nullopt;  // a match needs no literal: nothing narrows
  // Per atom, the offsets that may hold it; an atom with non-ASCII bytes counts as held by all
  // (the index does not fold those).
  std::vector<std::optional<std::vector<uint64_t>>> holding;
  holding.reserve(atoms.size());
  for (const std::string& atom : atoms) {
    holding.push_back(HasNonAscii(atom) ? std::nullopt : Holding(atom, words));
  }
  std::vector<uint64_t> out(words, 0);
  // Only records holding some atom can pass (the formula is monotone and fails on none).
  std::vector<uint64_t> any(words, 0);
  for (const auto& h : holding) {
    if (!h) return std::nullopt;
    for (size_t w = 0; w < words; ++w) any[w] |= (*h)[w];
  }
  std::vector<int> held;
  OffsetBitmap(std::move(any)).ForEach([&](uint32_t o) {
    held.clear();
    for (size_t a = 0; a < holding.size(); ++a) {
      if (((*holding[a])[o >> 6] >> (o & 63)) & 1) held.push_back(static_cast<int>(a));
    }
    passing.clear();
    filter.AllPotentials(held, &passing);
    if (!passing.empty()) out[o >> 6] |= uint64_t{1} << (o & 63);
  });
  for (size_t w = 0; w < words && w < non_ascii_.size(); ++w) out[w] |= non_ascii_[w];
  return OffsetBitmap(std::move(out));
}

size_t DocumentIndex::MemoryBytes() const {
  return entries_ * sizeof(uint32_t) + lists_.size() * (sizeof(PostingList) + 32) +
         non_ascii_.capacity() * sizeof(uint64_t);
}

}  // namespace chromahouse
