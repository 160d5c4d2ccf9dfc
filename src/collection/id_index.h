// IdIndex: record id → offset for a RecordStore, by open addressing over the store's own id
// column (the ids are not copied). Each slot is 8 bytes: 32 bits of the id's hash (which also
// picks the slot) and offset + 1; 0 marks an empty slot and kErased a deleted one. Linear
// probing, at most 3/4 full (erased slots included), so about 11–21 bytes per record instead
// of the ~77 of an unordered_map<std::string, uint32_t> node (plus a second copy of every id
// longer than 15 characters).
//
// Thread safety: none (the RecordStore's owner locks).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/hash.h"

namespace chromahouse {

class IdIndex {
 public:
  // `ids[offset]` is the id stored at `offset` (the store's column).
  std::optional<uint32_t> Find(std::string_view id, const std::vector<std::string>& ids) const {
    if (slots_.empty()) return std::nullopt;
    const uint32_t fp = Fingerprint(id);
    for (size_t i = fp & mask_;; i = (i + 1) & mask_) {
      const uint64_t s = slots_[i];
      if (s == 0) return std::nullopt;
      const uint32_t stored = static_cast<uint32_t>(s);
      if (stored != kErased && static_cast<uint32_t>(s >> 32) == fp && ids[stored - 1] == id) {
        return stored - 1;
      }
    }
  }
  // Adds `offset` for `id`, which must not be present.
  void Insert(std::string_view id, uint32_t offset) {
    if ((count_ + erased_ + 1) * 4 > slots_.size() * 3) Rehash(count_ + 1);
    const uint32_t fp = Fingerprint(id);
    size_t i = fp & mask_;
    while (slots_[i] != 0 && static_cast<uint32_t>(slots_[i]) != kErased) i = (i + 1) & mask_;
    if (slots_[i] != 0) --erased_;
    slots_[i] = (uint64_t{fp} << 32) | (uint64_t{offset} + 1);
    ++count_;
  }
  // Removes `id` (while ids[its offset] still holds it); false if it is not present.
  bool Erase(std::string_view id, const std::vector<std::string>& ids) {
    if (slots_.empty()) return false;
    const uint32_t fp = Fingerprint(id);
    for (size_t i = fp & mask_;; i = (i + 1) & mask_) {
      const uint64_t s = slots_[i];
      if (s == 0) return false;
      const uint32_t stored = static_cast<uint32_t>(s);
      if (stored != kErased && static_cast<uint32_t>(s >> 32) == fp && ids[stored - 1] == id) {
        slots_[i] = kErased;
        --count_;
        ++erased_;
        return true;
      }
    }
  }
  void Reserve(size_t records) {
    if ((records + erased_) * 4 > slots_.size() * 3) Rehash(records);
  }
  size_t size() const { return count_; }
  size_t MemoryBytes() const { return slots_.capacity() * sizeof(uint64_t); }

 private:
  static constexpr uint32_t kErased = UINT32_MAX;  // offset + 1 of a deleted slot

  static uint32_t Fingerprint(std::string_view id) {
    return static_cast<uint32_t>(Hash64(id.data(), id.size()) >> 32);
  }
  // A table for at least `records` entries at ≤ 3/4 full; erased slots go.
  void Rehash(size_t records) {
    size_t capacity = 16;
    while (capacity * 3 < records * 4 + 4) capacity *= 2;
    std::vector<uint64_t> old;
    old.swap(slots_);
    slots_.assign(capacity, 0);
    mask_ = capacity - 1;
    erased_ = 0;
    for (uint64_t s : old) {
      if (s == 0 || static_cast<uint32_t>(s) == kErased) continue;
      size_t i = static_cast<uint32_t>(s >> 32) & mask_;
      while (slots_[i] != 0) i = (i + 1) & mask_;
      slots_[i] = s;
    }
  }

  std::vector<uint64_t> slots_;
  size_t mask_ = 0;
  size_t count_ = 0;
  size_t erased_ = 0;
};

}  // namespace chromahouse
