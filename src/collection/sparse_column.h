// SparseColumn<T>: a per-record optional value (document, uri, metadata) that costs 4 bytes for
// a record without one. A std::vector<std::optional<std::string>> costs 40 bytes per record and
// one of std::optional<Metadata> 56, present or not, and most collections leave some of these
// empty for every record (embeddings only, or documents without uris).
//
// Values live densely in `values_`, addressed by a per-record slot; freed slots are reused.
// References returned by Get stay valid until the column is changed (as with a vector).
#pragma once

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

namespace chromahouse {

template <class T>
class SparseColumn {
 public:
  // Appends a record without a value.
  void AppendEmpty() { slot_.push_back(kNone); }
  void Reserve(size_t records) { slot_.reserve(records); }
  size_t size() const { return slot_.size(); }

  const std::optional<T>& Get(uint32_t record) const {
    const uint32_t s = slot_[record];
    return s == kNone ? Empty() : values_[s];
  }
  void Set(uint32_t record, std::optional<T> value) {
    if (!value) {
      Reset(record);
      return;
    }
    uint32_t& s = slot_[record];
    if (s == kNone) {
      if (!free_.empty()) {
        s = free_.back();
        free_.pop_back();
      } else {
        s = static_cast<uint32_t>(values_.size());
        values_.emplace_back();
      }
    }
    values_[s] = std::move(value);
  }
  void Reset(uint32_t record) {
    uint32_t& s = slot_[record];
    if (s == kNone) return;
    values_[s].reset();
    free_.push_back(s);
    s = kNone;
  }

  // Bytes of the column's own arrays (not of the values' heap data).
  size_t MemoryBytes() const {
    return slot_.capacity() * sizeof(uint32_t) + values_.capacity() * sizeof(std::optional<T>) +
           free_.capacity() * sizeof(uint32_t);
  }

 private:
  static constexpr uint32_t kNone = UINT32_MAX;
  static const std::optional<T>& Empty() {
    static const std::optional<T> empty;
    return empty;
  }

  std::vector<uint32_t> slot_;            // per record: index into values_, or kNone
  std::vector<std::optional<T>> values_;  // engaged where a slot points
  std::vector<uint32_t> free_;            // slots of values_ to reuse
};

}  // namespace chromahouse
