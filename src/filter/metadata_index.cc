#include "filter/metadata_index.h"

#include <algorithm>
#include <bit>
#include <string_view>
#include <type_traits>
#include <utility>
#include <variant>

namespace chromahouse {

namespace metadata_index_internal {

bool OffsetSet::Add(uint32_t x) {
  if (chunks_.empty()) {
    auto it = std::lower_bound(flat_.begin(), flat_.end(), x);
    if (it != flat_.end() && *it == x) return false;
    if (flat_.size() < kFlatMax) {
      flat_.insert(it, x);
      ++size_;
      return true;
    }
    for (uint32_t v : flat_) AddToChunks(v);
    std::vector<uint32_t>().swap(flat_);
  }
  if (!AddToChunks(x)) return false;
  ++size_;
  return true;
}

bool OffsetSet::Remove(uint32_t x) {
  if (chunks_.empty()) {
    auto it = std::lower_bound(flat_.begin(), flat_.end(), x);
    if (it == flat_.end() || *it != x) return false;
    flat_.erase(it);
    --size_;
    if (flat_.empty()) std::vector<uint32_t>().swap(flat_);
    return true;
  }
  if (!RemoveFromChunks(x)) return false;
  --size_;
  if (size_ < kFlatMax / 2) {
    flat_ = Members();
    std::vector<Chunk>().swap(chunks_);
  }
  return true;
}

bool OffsetSet::AddToChunks(uint32_t x) {
  const uint32_t high = x >> 16;
  const auto low = static_cast<uint16_t>(x & 0xFFFF);
  auto cit = std::lower_bound(chunks_.begin(), chunks_.end(), high,
                              [](const Chunk& c, uint32_t h) { return c.high < h; });
  if (cit == chunks_.end() || cit->high != high) {
    cit = chunks_.insert(cit, Chunk{});
    cit->high = high;
  }
  Chunk& c = *cit;
  if (!c.bits.empty()) {
    uint64_t& word = c.bits[low >> 6];
    const uint64_t mask = uint64_t{1} << (low & 63);
    if ((word & mask) != 0) return false;
    word |= mask;
    ++c.count;
    return true;
  }
  auto it = std::lower_bound(c.array.begin(), c.array.end(), low);
  if (it != c.array.end() && *it == low) return false;
  if (c.count < kArrayMax) {
    c.array.insert(it, low);
    ++c.count;
    return true;
  }
  c.bits.assign(kChunkWords, 0);
  for (uint16_t v : c.array) c.bits[v >> 6] |= uint64_t{1} << (v & 63);
  std::vector<uint16_t>().swap(c.array);
  c.bits[low >> 6] |= uint64_t{1} << (low & 63);
  ++c.count;
  return true;
}

bool OffsetSet::RemoveFromChunks(uint32_t x) {
  const uint32_t high = x >> 16;
  const auto low = static_cast<uint16_t>(x & 0xFFFF);
  auto cit = std::lower_bound(chunks_.begin(), chunks_.end(), high,
                              [](const Chunk& c, uint32_t h) { return c.high < h; });
  if (cit == chunks_.end() || cit->high != high) return false;
  Chunk& c = *cit;
  if (!c.bits.empty()) {
    uint64_t& word = c.bits[low >> 6];
    const uint64_t mask = uint64_t{1} << (low & 63);
    if ((word & mask) == 0) return false;
    word &= ~mask;
    --c.count;
    if (c.count < kArrayMax / 2) {
      c.array.reserve(c.count);
      for (size_t w = 0; w < kChunkWords; ++w) {
        for (uint64_t bits = c.bits[w]; bits != 0; bits &= bits - 1) {
          c.array.push_back(static_cast<uint16_t>(w * 64 + std::countr_zero(bits)));
        }
      }
      std::vector<uint64_t>().swap(c.bits);
    }
  } else {
    auto it = std::lower_bound(c.array.begin(), c.array.end(), low);
    if (it == c.array.end() || *it != low) return false;
    c.array.erase(it);
    --c.count;
  }
  if (c.count == 0) chunks_.erase(cit);
  return true;
}

std::vector<uint32_t> OffsetSet::Members() const {
  if (chunks_.empty()) return flat_;
  std::vector<uint32_t> out;
  out.reserve(size_);
  for (const Chunk& c : chunks_) {
    const uint32_t base = c.high << 16;
    if (c.bits.empty()) {
      for (uint16_t v : c.array) out.push_back(base | v);
    } else {
      for (size_t w = 0; w < kChunkWords; ++w) {
        for (uint64_t bits = c.bits[w]; bits != 0; bits &= bits - 1) {
          out.push_back(base + static_cast<uint32_t>(w * 64 + std::countr_zero(bits)));
        }
      }
    }
  }
  return out;
}

void OffsetSet::OrInto(uint64_t* words, size_t num_words) const {
  for (uint32_t v : flat_) words[v >> 6] |= uint64_t{1} << (v & 63);
  for (const Chunk& c : chunks_) {
    const size_t base_word = size_t{c.high} * kChunkWords;
    if (c.bits.empty()) {
      uint64_t* chunk_words = words + base_word;
      for (uint16_t v : c.array) chunk_words[v >> 6] |= uint64_t{1} << (v & 63);
    } else if (base_word < num_words) {
      const size_t n = std::min(kChunkWords, num_words - base_word);
      for (size_t w = 0; w < n; ++w) words[base_word + w] |= c.bits[w];
    }
  }
}

size_t OffsetSet::MemoryBytes() const {
  size_t bytes =
      sizeof(*this) + flat_.capacity() * sizeof(uint32_t) + chunks_.capacity() * sizeof(Chunk);
  for (const Chunk& c : chunks_) {
    bytes += c.array.capacity() * sizeof(uint16_t) + c.bits.capacity() * sizeof(uint64_t);
  }
  return bytes;
}

namespace {

// (key, offset) order of SortedEntries.
template <typename K>
bool EntryLess(K a, uint32_t a_offset, K b, uint32_t b_offset) {
  const NumberLess less;
  if (less(a, b)) return true;
  if (less(b, a)) return false;
  return a_offset < b_offset;
}

// First position in a block whose (key, offset) entry is not less than (key, offset).
template <typename K>
size_t EntryLowerBound(const std::vector<K>& keys, const std::vector<uint32_t>& offsets, K key,
                       uint32_t offset) {
  size_t lo = 0, hi = keys.size();
  while (lo < hi) {
    const size_t mid = (lo + hi) / 2;
    if (EntryLess(keys[mid], offsets[mid], key, offset)) {
      lo = mid + 1;
    } else {
      hi = mid;
    }
  }
  return lo;
}

}  // namespace

template <typename K>
size_t SortedEntries<K>::FindBlock(K key, uint32_t offset) const {
  auto it = std::partition_point(blocks_.begin(), blocks_.end(), [&](const Block& b) {
    return EntryLess(b.keys.back(), b.offsets.back(), key, offset);
  });
  return static_cast<size_t>(it - blocks_.begin());
}

template <typename K>
void SortedEntries<K>::Insert(K key, uint32_t offset) {
  if (blocks_.empty()) {
    blocks_.emplace_back();
    blocks_[0].keys.push_back(key);
    blocks_[0].offsets.push_back(offset);
    size_ = 1;
    return;
  }
  size_t b = FindBlock(key, offset);
  if (b == blocks_.size()) --b;  // beyond every entry: append to the last block
  Block& block = blocks_[b];
  const size_t i = EntryLowerBound(block.keys, block.offsets, key, offset);
  block.keys.insert(block.keys.begin() + static_cast<ptrdiff_t>(i), key);
  block.offsets.insert(block.offsets.begin() + static_cast<ptrdiff_t>(i), offset);
  ++size_;
  if (block.keys.size() > kBlockMax) {  // split in halves
    const auto half = static_cast<ptrdiff_t>(block.keys.size() / 2);
    Block upper;
    upper.keys.assign(block.keys.begin() + half, block.keys.end());
    upper.offsets.assign(block.offsets.begin() + half, block.offsets.end());
    block.keys.erase(block.keys.begin() + half, block.keys.end());
    block.offsets.erase(block.offsets.begin() + half, block.offsets.end());
    blocks_.insert(blocks_.begin() + static_cast<ptrdiff_t>(b) + 1, std::move(upper));
  }
}

template <typename K>
bool SortedEntries<K>::Remove(K key, uint32_t offset) {
  const size_t b = FindBlock(key, offset);
  if (b == blocks_.size()) return false;
  Block& block = blocks_[b];
  const size_t i = EntryLowerBound(block.keys, block.offsets, key, offset);
  if (i == block.keys.size() || block.offsets[i] != offset ||
      EntryLess(key, offset, block.keys[i], block.offsets[i])) {
    return false;
  }
  block.keys.erase(block.keys.begin() + static_cast<ptrdiff_t>(i));
  block.offsets.erase(block.offsets.begin() + static_cast<ptrdiff_t>(i));
  --size_;
  if (block.keys.empty()) {
    blocks_.erase(blocks_.begin() + static_cast<ptrdiff_t>(b));
    if (blocks_.empty()) std::vector<Block>().swap(blocks_);
    return true;
  }
  // Keep blocks from fragmenting: merge a small block into a small neighbour.
  if (block.keys.size() < kBlockMax / 4) {
    size_t into = blocks_.size();  // merge blocks_[into + 1] into blocks_[into]
    const size_t n = block.keys.size();
    if (b + 1 < blocks_.size() && n + blocks_[b + 1].keys.size() <= kBlockMax / 2) {
      into = b;
    } else if (b > 0 && n + blocks_[b - 1].keys.size() <= kBlockMax / 2) {
      into = b - 1;
    }
    if (into < blocks_.size()) {
      Block& dst = blocks_[into];
      Block& src = blocks_[into + 1];
      dst.keys.insert(dst.keys.end(), src.keys.begin(), src.keys.end());
      dst.offsets.insert(dst.offsets.end(), src.offsets.begin(), src.offsets.end());
      blocks_.erase(blocks_.begin() + static_cast<ptrdiff_t>(into) + 1);
    }
  }
  return true;
}

template <typename K>
template <typename V>
typename SortedEntries<K>::Position SortedEntries<K>::LowerBound(V v) const {
  const NumberLess less;
  auto it = std::partition_point(blocks_.begin(), blocks_.end(),
                                 [&](const Block& b) { return less(b.keys.back(), v); });
  if (it == blocks_.end()) return End();
  const auto k = std::lower_bound(it->keys.begin(), it->keys.end(), v, less);
  return {static_cast<size_t>(it - blocks_.begin()), static_cast<size_t>(k - it->keys.begin())};
}

template <typename K>
template <typename V>
typename SortedEntries<K>::Position SortedEntries<K>::UpperBound(V v) const {
  const NumberLess less;
  auto it = std::partition_point(blocks_.begin(), blocks_.end(),
                                 [&](const Block& b) { return !less(v, b.keys.back()); });
  if (it == blocks_.end()) return End();
  const auto k = std::upper_bound(it->keys.begin(), it->keys.end(), v, less);
  return {static_cast<size_t>(it - blocks_.begin()), static_cast<size_t>(k - it->keys.begin())};
}

template <typename K>
void SortedEntries<K>::OrBetween(Position from, Position to, uint64_t* words) const {
  for (size_t b = from.block; b < blocks_.size() && b <= to.block; ++b) {
    const std::vector<uint32_t>& offsets = blocks_[b].offsets;
    const size_t begin = b == from.block ? from.index : 0;
    const size_t end = b == to.block ? to.index : offsets.size();
    for (size_t i = begin; i < end; ++i) {
      words[offsets[i] >> 6] |= uint64_t{1} << (offsets[i] & 63);
    }
  }
}

template <typename K>
template <typename V>
void SortedEntries<K>::OrComparedImpl(MetadataOp op, V v, uint64_t* words) const {
  switch (op) {
    case MetadataOp::kEq: OrBetween(LowerBound(v), UpperBound(v), words); break;
    case MetadataOp::kGt: OrBetween(UpperBound(v), End(), words); break;
    case MetadataOp::kGte: OrBetween(LowerBound(v), End(), words); break;
    case MetadataOp::kLt: OrBetween(Position{}, LowerBound(v), words); break;
    case MetadataOp::kLte: OrBetween(Position{}, UpperBound(v), words); break;
    default: break;
  }
}

template <typename K>
void SortedEntries<K>::OrCompared(MetadataOp op, int64_t v, uint64_t* words) const {
  OrComparedImpl(op, v, words);
}

template <typename K>
void SortedEntries<K>::OrCompared(MetadataOp op, double v, uint64_t* words) const {
  if (!std::isnan(v)) OrComparedImpl(op, v, words);
}

template <typename K>
size_t SortedEntries<K>::MemoryBytes() const {
  size_t bytes = sizeof(*this) + blocks_.capacity() * sizeof(Block);
  for (const Block& b : blocks_) {
    bytes += b.keys.capacity() * sizeof(K) + b.offsets.capacity() * sizeof(uint32_t);
  }
  return bytes;
}

template class SortedEntries<int64_t>;
template class SortedEntries<double>;

}  // namespace metadata_index_internal

namespace {

using metadata_index_internal::OffsetSet;
using Bits = std::vector<uint64_t>;

constexpr std::string_view kDocumentMetadataKey = "chroma:document";

bool IsNegative(MetadataOp op) {
  return op == MetadataOp::kNe || op == MetadataOp::kNin || op == MetadataOp::kNotContains;
}

template <typename Map, typename Key>
void AddFound(const Map& map, const Key& key, uint64_t* words, size_t num_words) {
  auto it = map.find(key);
  if (it != map.end()) it->second.OrInto(words, num_words);
}

}  // namespace

void MetadataIndex::Insert(uint32_t offset, const Metadata& metadata) {
  universe_ = std::max<uint64_t>(universe_, uint64_t{offset} + 1);
  for (const auto& [name, value] : metadata) {
    KeyIndex& key = keys_[name];
    ++key.records;
    std::visit(
        [&key, offset](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, bool>) {
            key.bools[v ? 1 : 0].Add(offset);
          } else if constexpr (std::is_same_v<T, int64_t>) {
            key.ints.Insert(v, offset);
          } else if constexpr (std::is_same_v<T, double>) {
            if (!std::isnan(v)) key.doubles.Insert(v, offset);
          } else if constexpr (std::is_same_v<T, std::string>) {
            key.strings[v].Add(offset);
          } else if constexpr (std::is_same_v<T, std::vector<bool>>) {
            for (bool e : v) key.bool_elements[e ? 1 : 0].Add(offset);
          } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
            for (int64_t e : v) key.int_elements[e].Add(offset);
          } else if constexpr (std::is_same_v<T, std::vector<double>>) {
            for (double e : v) {
              if (!std::isnan(e)) key.double_elements[e].Add(offset);
            }
          } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
            for (const std::string& e : v) key.string_elements[e].Add(offset);
          }  // sparse vectors: no filter compares them
        },
        value);
  }
}

void MetadataIndex::Remove(uint32_t offset, const Metadata& metadata) {
  // Removes `offset` from map[k] and drops the entry once empty.
  auto remove_from = [offset](auto& map, const auto& k) {
    auto it = map.find(k);
    if (it == map.end()) return;
    it->second.Remove(offset);
    if (it->second.empty()) map.erase(it);
  };
  for (const auto& [name, value] : metadata) {
    auto kit = keys_.find(name);
    if (kit == keys_.end()) continue;
    KeyIndex& key = kit->second;
    std::visit(
        [&](const auto& v) {
          using T = std::decay_t<decltype(v)>;
          if constexpr (std::is_same_v<T, bool>) {
            key.bools[v ? 1 : 0].Remove(offset);
          } else if constexpr (std::is_same_v<T, int64_t>) {
            key.ints.Remove(v, offset);
          } else if constexpr (std::is_same_v<T, double>) {
            if (!std::isnan(v)) key.doubles.Remove(v, offset);
          } else if constexpr (std::is_same_v<T, std::string>) {
            remove_from(key.strings, v);
          } else if constexpr (std::is_same_v<T, std::vector<bool>>) {
            for (bool e : v) key.bool_elements[e ? 1 : 0].Remove(offset);
          } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
            for (int64_t e : v) remove_from(key.int_elements, e);
          } else if constexpr (std::is_same_v<T, std::vector<double>>) {
            for (double e : v) {
              if (!std::isnan(e)) remove_from(key.double_elements, e);
            }
          } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
            for (const std::string& e : v) remove_from(key.string_elements, e);
          }
        },
        value);
    if (key.records > 0) --key.records;
    if (key.records == 0) keys_.erase(kit);
  }
}

bool MetadataIndex::Handles(const Where& where) {
  if (const auto* c = std::get_if<WhereComposite>(&where.node)) {
    for (const Where& child : c->children) {
      if (!Handles(child)) return false;
    }
    return true;
  }
  if (const auto* m = std::get_if<MetadataCondition>(&where.node)) {
    return m->key != kDocumentMetadataKey && m->key != "#id";
  }
  return false;  // DocumentCondition
}

std::optional<std::vector<uint32_t>> MetadataIndex::Evaluate(
    const Where& where, const std::vector<uint32_t>& live_in_order) const {
  if (!Handles(where)) return std::nullopt;
  uint64_t universe = universe_;
  for (uint32_t offset : live_in_order) universe = std::max(universe, uint64_t{offset} + 1);
  const size_t num_words = static_cast<size_t>((universe + 63) / 64);
  Bits bits;
  EvaluateNode(where, num_words, bits);
  size_t matches = 0;
  for (uint64_t w : bits) matches += static_cast<size_t>(std::popcount(w));
  std::vector<uint32_t> out;
  out.reserve(std::min(matches, live_in_order.size()));
  if (matches == 0) return out;
  for (uint32_t offset : live_in_order) {
    if ((bits[offset >> 6] >> (offset & 63)) & 1) out.push_back(offset);
  }
  return out;
}

std::optional<std::vector<uint64_t>> MetadataIndex::EvaluateBits(const Where& where,
                                                                 size_t universe) const {
  if (!Handles(where)) return std::nullopt;
  const size_t num_words = (std::max<size_t>(universe, universe_) + 63) / 64;
  Bits bits;
  EvaluateNode(where, num_words, bits);
  bits.resize((universe + 63) / 64);
  if (universe % 64 != 0 && !bits.empty()) bits.back() &= (uint64_t{1} << (universe % 64)) - 1;
  return bits;
}

void MetadataIndex::EvaluateNode(const Where& where, size_t num_words, Bits& out) const {
  if (const auto* c = std::get_if<WhereComposite>(&where.node)) {
    if (c->children.empty()) {
      out.assign(num_words, c->op == BoolOp::kAnd ? ~uint64_t{0} : 0);
      return;
    }
    EvaluateNode(c->children[0], num_words, out);
    Bits scratch;
    for (size_t i = 1; i < c->children.size(); ++i) {
      if (c->op == BoolOp::kAnd) {
        if (std::all_of(out.begin(), out.end(), [](uint64_t w) { return w == 0; })) return;
        EvaluateNode(c->children[i], num_words, scratch);
        for (size_t w = 0; w < num_words; ++w) out[w] &= scratch[w];
      } else {
        EvaluateNode(c->children[i], num_words, scratch);
        for (size_t w = 0; w < num_words; ++w) out[w] |= scratch[w];
      }
    }
    return;
  }
  // Handles() ruled out DocumentConditions.
  const auto& m = std::get<MetadataCondition>(where.node);
  out.assign(num_words, 0);
  auto kit = keys_.find(m.key);
  if (kit != keys_.end()) AddPositive(kit->second, m, out);
  if (IsNegative(m.op)) {
    for (uint64_t& w : out) w = ~w;
  }
}

void MetadataIndex::AddPositive(const KeyIndex& key, const MetadataCondition& condition,
                                Bits& out) const {
  uint64_t* words = out.data();
  const size_t n = out.size();
  // $eq of one scalar (the evaluator's StoredEquals): type-strict, numbers across int/float.
  auto add_equal = [&](const auto& v) {
    using T = std::decay_t<decltype(v)>;
    if constexpr (std::is_same_v<T, bool>) {
      key.bools[v ? 1 : 0].OrInto(words, n);
    } else if constexpr (std::is_same_v<T, std::string>) {
      AddFound(key.strings, v, words, n);
    } else if constexpr (std::is_same_v<T, int64_t> || std::is_same_v<T, double>) {
      key.ints.OrCompared(MetadataOp::kEq, v, words);  // NaN: nothing
      key.doubles.OrCompared(MetadataOp::kEq, v, words);
    }
  };
  std::visit(
      [&](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        constexpr bool kScalar = std::is_same_v<T, bool> || std::is_same_v<T, int64_t> ||
                                 std::is_same_v<T, double> || std::is_same_v<T, std::string>;
        switch (condition.op) {
          case MetadataOp::kEq:
          case MetadataOp::kNe:
            if constexpr (kScalar) add_equal(v);  // a list operand matches nothing
            break;
          case MetadataOp::kIn:
          case MetadataOp::kNin:
            if constexpr (!kScalar && !std::is_same_v<T, SparseValue>) {
              for (const auto& element : v) {
                add_equal(static_cast<const typename T::value_type&>(element));
              }
            }
            break;
          case MetadataOp::kContains:
          case MetadataOp::kNotContains:
            if constexpr (std::is_same_v<T, bool>) {
              key.bool_elements[v ? 1 : 0].OrInto(words, n);
            } else if constexpr (std::is_same_v<T, int64_t>) {
              AddFound(key.int_elements, v, words, n);
            } else if constexpr (std::is_same_v<T, double>) {
              if (!std::isnan(v)) AddFound(key.double_elements, v, words, n);
            } else if constexpr (std::is_same_v<T, std::string>) {
              AddFound(key.string_elements, v, words, n);
            }
            break;
          case MetadataOp::kGt:
          case MetadataOp::kGte:
          case MetadataOp::kLt:
          case MetadataOp::kLte:
            if constexpr (std::is_same_v<T, int64_t> || std::is_same_v<T, double>) {
              key.ints.OrCompared(condition.op, v, words);  // NaN: nothing
              key.doubles.OrCompared(condition.op, v, words);
            }
            break;
        }
      },
      condition.operand);
}

size_t MetadataIndex::MemoryBytes() const {
  constexpr size_t kNode = 48;  // rough per-node overhead of std::map / unordered_map
  size_t bytes = sizeof(*this);
  auto add_map = [&bytes](const auto& map, size_t key_bytes) {
    for (const auto& [k, set] : map) bytes += kNode + key_bytes + set.MemoryBytes();
  };
  for (const auto& [name, key] : keys_) {
    bytes += kNode + name.capacity() + sizeof(KeyIndex);
    for (const auto& [s, set] : key.strings) bytes += kNode + s.capacity() + set.MemoryBytes();
    for (const auto& [s, set] : key.string_elements) {
      bytes += kNode + s.capacity() + set.MemoryBytes();
    }
    bytes += key.ints.MemoryBytes() + key.doubles.MemoryBytes();
    add_map(key.int_elements, 0);
    add_map(key.double_elements, 0);
    for (const OffsetSet& set : key.bools) bytes += set.MemoryBytes();
    for (const OffsetSet& set : key.bool_elements) bytes += set.MemoryBytes();
  }
  return bytes;
}

}  // namespace chromahouse
