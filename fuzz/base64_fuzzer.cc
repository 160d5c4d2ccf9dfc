// Fuzz target: DecodeBase64Floats (codec/record_codec.h), the base64 form of embeddings in
// add/upsert/update.
//
// Input: the base64 text itself. Invariants (abort() on violation):
//   - the decoder accepts exactly what a straightforward RFC 4648 decoder accepts as canonical
//     standard base64 with padding (alphabet A-Z a-z 0-9 + /, length a multiple of 4, one or
//     two '=' only at the end, pad bits zero: RFC 4648 §3.5, as Chroma's decoder, the Rust
//     base64 crate's STANDARD engine, requires) whose byte length is a multiple of 4, and
//     yields the same bytes as little-endian float32s;
//   - re-encoding the floats to standard base64 gives back the input exactly;
//   - a rejection is a 400 whose message starts with "Invalid base64 string: ".
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "codec/record_codec.h"
#include "fuzz/fuzz_util.h"

namespace chromahouse {
namespace {

constexpr std::string_view kAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

// The reference: canonical base64 → bytes, nullopt when invalid.
std::optional<std::string> ReferenceDecode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  size_t pad = 0;
  while (pad < 2 && pad < text.size() && text[text.size() - 1 - pad] == '=') ++pad;
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (size_t i = 0; i + pad < text.size(); ++i) {
    const size_t v = kAlphabet.find(text[i]);
    if (v == std::string_view::npos) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>(acc >> bits));
      acc &= (1u << bits) - 1;
    }
  }
  if (acc != 0) return std::nullopt;  // non-zero pad bits: not canonical
  return out;
}

std::string Encode(const std::vector<float>& floats) {
  std::string bytes(floats.size() * 4, '\0');
  if (!floats.empty()) std::memcpy(bytes.data(), floats.data(), bytes.size());
  std::string out;
  for (size_t i = 0; i < bytes.size(); i += 3) {
    const size_t n = std::min<size_t>(3, bytes.size() - i);
    uint32_t triple = 0;
    for (size_t j = 0; j < 3; ++j) {
      triple = (triple << 8) | (j < n ? static_cast<unsigned char>(bytes[i + j]) : 0u);
    }
    for (size_t j = 0; j < 4; ++j) {
      out.push_back(j <= n ? kAlphabet[(triple >> (18 - 6 * j)) & 63] : '=');
    }
  }
  return out;
}

std::string Shown(std::string_view text) { return std::string(text.substr(0, 200)); }

}  // namespace
}  // namespace chromahouse

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace chromahouse;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  Result<std::vector<float>> floats = DecodeBase64Floats(text);
  const std::optional<std::string> reference = ReferenceDecode(text);
  const bool reference_ok = reference && reference->size() % 4 == 0;

  if (!floats.ok()) {
    FUZZ_CHECK(
        floats.status().code() == StatusCode::kInvalidArgument &&
            floats.status().message().starts_with("Invalid base64 string: "),
        "a base64 error is not a 400 \"Invalid base64 string\": " + floats.status().ToString());
    FUZZ_CHECK(!reference_ok, "valid canonical base64 rejected: \"" + Shown(text) + "\" (" +
                                  floats.status().message() + ")");
    return 0;
  }
  FUZZ_CHECK(reference_ok, "accepted base64 that is not canonical: \"" + Shown(text) + "\"");
  FUZZ_CHECK(floats->size() * 4 == reference->size() &&
                 (reference->empty() ||
                  std::memcmp(floats->data(), reference->data(), reference->size()) == 0),
             "decoded bytes differ from the reference: \"" + Shown(text) + "\"");
  const std::string again = Encode(*floats);
  FUZZ_CHECK(again == text, "re-encoding does not give back the input: \"" + Shown(text) +
                                "\" -> \"" + Shown(again) + "\"");
  return 0;
}
