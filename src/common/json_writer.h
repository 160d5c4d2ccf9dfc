// JsonWriter: appends JSON text to a string. No DOM, no allocation beyond the output buffer.
//
// Floats print in shortest round-trip form: float32 values (embeddings, distances) as the shortest
// text that reads back to the same float ("0.39999998"), float64 metadata values likewise and
// always with a decimal point or exponent, so 2.0 stays "2.0" and reads back as a float.
// The caller is responsible for well-formed nesting; commas are inserted automatically.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace chromahouse {

class JsonWriter {
 public:
  JsonWriter() = default;
  explicit JsonWriter(std::string* out) : out_(out) {}

  void BeginObject();
  void EndObject();
  void BeginArray();
  void EndArray();
  void Key(std::string_view key);

  void String(std::string_view value);
  void Int(int64_t value);
  void UInt(uint64_t value);
  void Double(double value);  // f64: keeps a decimal point; NaN/Inf print as null
  void Float(float value);    // f32 shortest round trip; NaN/Inf print as null
  void Bool(bool value);
  void Null();
  // Inserts already-encoded JSON text as one value.
  void Raw(std::string_view json);

  const std::string& str() const { return *out_; }
  std::string Take() { return std::move(*out_); }

 private:
  void Separate();

  std::string own_;
  std::string* out_ = &own_;
  // One entry per open container: true once it holds an element.
  std::vector<bool> has_element_;
  bool after_key_ = false;
};

// Appends `value` as a JSON string literal (with quotes) to `out`.
void AppendJsonString(std::string* out, std::string_view value);

}  // namespace chromahouse
