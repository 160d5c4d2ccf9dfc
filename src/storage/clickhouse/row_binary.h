// RowBinary encoding and decoding (ClickHouse's row-oriented binary format), for the columns
// chromahouse uses: UInt8, UInt32 (written only), UInt64, String, Array(Float32) and
// Nullable(String). Layouts are identical on ClickHouse 18.16 and current releases.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace chromahouse {

class RowBinaryWriter {
 public:
  explicit RowBinaryWriter(std::string* out) : out_(out) {}
  void UInt8(uint8_t v) { out_->push_back(static_cast<char>(v)); }
  void UInt32(uint32_t v) {
    char b[4];
    std::memcpy(b, &v, 4);
    out_->append(b, 4);
  }
  void UInt64(uint64_t v) {
    char b[8];
    std::memcpy(b, &v, 8);  // x86-64 is little-endian, as RowBinary
    out_->append(b, 8);
  }
  void VarUInt(uint64_t v) {
    while (v >= 0x80) {
      out_->push_back(static_cast<char>((v & 0x7f) | 0x80));
      v >>= 7;
    }
    out_->push_back(static_cast<char>(v));
  }
  void String(std::string_view s) {
    VarUInt(s.size());
    out_->append(s.data(), s.size());
  }
  void NullableString(const std::optional<std::string>& s) {
    if (!s) {
      UInt8(1);
      return;
    }
    UInt8(0);
    String(*s);
  }
  void FloatArray(const std::vector<float>& v) {
    VarUInt(v.size());
    out_->append(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(float));
  }

 private:
  std::string* out_;
};

// Reads values in order; every read fails (returns false) instead of reading past the end.
class RowBinaryReader {
 public:
  explicit RowBinaryReader(std::string_view data) : data_(data) {}
  bool AtEnd() const { return pos_ == data_.size(); }
  size_t position() const { return pos_; }
  bool UInt8(uint8_t* v) {
    if (pos_ + 1 > data_.size()) return false;
    *v = static_cast<uint8_t>(data_[pos_++]);
    return true;
  }
  bool UInt64(uint64_t* v) {
    if (pos_ + 8 > data_.size()) return false;
    std::memcpy(v, data_.data() + pos_, 8);
    pos_ += 8;
    return true;
  }
  bool VarUInt(uint64_t* v) {
    uint64_t result = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= data_.size()) return false;
      uint8_t byte = static_cast<uint8_t>(data_[pos_++]);
      result |= uint64_t(byte & 0x7f) << shift;
      if (!(byte & 0x80)) {
        *v = result;
        return true;
      }
    }
    return false;
  }
  bool String(std::string* s) {
    uint64_t n;
    if (!VarUInt(&n) || n > data_.size() - pos_) return false;
    s->assign(data_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  bool NullableString(std::optional<std::string>* s) {
    uint8_t is_null;
    if (!UInt8(&is_null)) return false;
    if (is_null) {
      s->reset();
      return true;
    }
    std::string v;
    if (!String(&v)) return false;
    *s = std::move(v);
    return true;
  }
  bool FloatArray(std::vector<float>* v) {
    uint64_t n;
    if (!VarUInt(&n) || n > (data_.size() - pos_) / sizeof(float)) return false;
    v->resize(n);
    if (n > 0) std::memcpy(v->data(), data_.data() + pos_, n * sizeof(float));
    pos_ += n * sizeof(float);
    return true;
  }

 private:
  std::string_view data_;
  size_t pos_ = 0;
};

}  // namespace chromahouse
