#include "common/uuid.h"

#include <cstdint>
#include <random>

namespace chromahouse {
namespace {

std::mt19937_64& Rng() {
  thread_local std::mt19937_64 rng([] {
    std::random_device rd;
    std::seed_seq seq{rd(), rd(), rd(), rd()};
    return std::mt19937_64(seq);
  }());
  return rng;
}

constexpr char kHex[] = "0123456789abcdef";

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string NewUuidV4() {
  uint8_t bytes[16];
  uint64_t a = Rng()(), b = Rng()();
  for (int i = 0; i < 8; ++i) {
    bytes[i] = static_cast<uint8_t>(a >> (8 * i));
    bytes[8 + i] = static_cast<uint8_t>(b >> (8 * i));
  }
  bytes[6] = static_cast<uint8_t>((bytes[6] & 0x0f) | 0x40);
  bytes[8] = static_cast<uint8_t>((bytes[8] & 0x3f) | 0x80);
  std::string out;
  out.reserve(36);
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out.push_back('-');
    out.push_back(kHex[bytes[i] >> 4]);
    out.push_back(kHex[bytes[i] & 0xf]);
  }
  return out;
}

std::optional<std::string> ParseUuid(std::string_view text) {
  std::string digits;
  digits.reserve(32);
  if (text.size() == 36) {
    for (size_t i = 0; i < text.size(); ++i) {
      bool dash_pos = i == 8 || i == 13 || i == 18 || i == 23;
      if (dash_pos) {
        if (text[i] != '-') return std::nullopt;
        continue;
      }
      if (HexValue(text[i]) < 0) return std::nullopt;
      digits.push_back(text[i]);
    }
  } else if (text.size() == 32) {
    for (char c : text) {
      if (HexValue(c) < 0) return std::nullopt;
      digits.push_back(c);
    }
  } else {
    return std::nullopt;
  }
  std::string out;
  out.reserve(36);
  for (size_t i = 0; i < 32; ++i) {
    if (i == 8 || i == 12 || i == 16 || i == 20) out.push_back('-');
    out.push_back(kHex[HexValue(digits[i])]);
  }
  return out;
}

}  // namespace chromahouse
