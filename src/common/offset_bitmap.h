// OffsetBitmap: a set of record offsets as one bit per offset, with its size.
//
// The allowed set of a filtered read, from the metadata index (which computes bitmaps) to the
// vector search (which tests membership while it walks the graph) without changing form.
//
// Thread safety: none inside; a const bitmap may be read from many threads.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace chromahouse {

class OffsetBitmap {
 public:
  OffsetBitmap() = default;
  // Takes the words (bit o of word o / 64 = offset o) and counts them.
  explicit OffsetBitmap(std::vector<uint64_t> words) : words_(std::move(words)) {
    for (uint64_t w : words_) count_ += static_cast<size_t>(std::popcount(w));
  }
  static OffsetBitmap FromOffsets(const std::vector<uint32_t>& offsets) {
    std::vector<uint64_t> words;
    for (uint32_t o : offsets) {
      const size_t w = o >> 6;
      if (w >= words.size()) words.resize(w + 1, 0);
      words[w] |= uint64_t{1} << (o & 63);
    }
    return OffsetBitmap(std::move(words));
  }

  bool Contains(uint32_t offset) const {
    const size_t w = offset >> 6;
    return w < words_.size() && ((words_[w] >> (offset & 63)) & 1) != 0;
  }
  size_t size() const { return count_; }
  bool empty() const { return count_ == 0; }

  // Calls fn(offset) for every member, in ascending order.
  template <typename Fn>
  void ForEach(Fn&& fn) const {
    for (size_t w = 0; w < words_.size(); ++w) {
      for (uint64_t bits = words_[w]; bits != 0; bits &= bits - 1) {
        fn(static_cast<uint32_t>(w * 64 + static_cast<size_t>(std::countr_zero(bits))));
      }
    }
  }
  // The words (bit o of word o / 64), as long as the largest member needs.
  const std::vector<uint64_t>& words() const { return words_; }
  std::vector<uint64_t> TakeWords() && { return std::move(words_); }

  std::vector<uint32_t> ToVector() const {
    std::vector<uint32_t> out;
    out.reserve(count_);
    ForEach([&out](uint32_t o) { out.push_back(o); });
    return out;
  }

 private:
  std::vector<uint64_t> words_;
  size_t count_ = 0;
};

}  // namespace chromahouse
