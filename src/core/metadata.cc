#include "core/metadata.h"

#include <simdjson.h>

namespace chromahouse {
namespace {

void WriteScalarVector(JsonWriter& w, const std::vector<bool>& v) {
  w.BeginArray();
  for (bool b : v) w.Bool(b);
  w.EndArray();
}
void WriteScalarVector(JsonWriter& w, const std::vector<int64_t>& v) {
  w.BeginArray();
  for (int64_t i : v) w.Int(i);
  w.EndArray();
}
void WriteScalarVector(JsonWriter& w, const std::vector<double>& v) {
  w.BeginArray();
  for (double d : v) w.Double(d);
  w.EndArray();
}
void WriteScalarVector(JsonWriter& w, const std::vector<std::string>& v) {
  w.BeginArray();
  for (const auto& s : v) w.String(s);
  w.EndArray();
}

Result<MetadataValue> ScalarFromElement(simdjson::dom::element el, std::string_view key) {
  using simdjson::dom::element_type;
  switch (el.type()) {
    case element_type::BOOL: return MetadataValue(bool(el.get_bool().value()));
    case element_type::STRING: return MetadataValue(std::string(el.get_string().value()));
    case element_type::INT64: return MetadataValue(int64_t(el.get_int64().value()));
    case element_type::UINT64: return MetadataValue(double(el.get_uint64().value()));
    case element_type::DOUBLE: return MetadataValue(double(el.get_double().value()));
    default:
      return Status::Internal("stored metadata has a value of unsupported type at key " +
                              std::string(key));
  }
}

// The stored form of a sparse vector (written by WriteSparseVector).
Result<MetadataValue> SparseFromObject(simdjson::dom::object obj, std::string_view key) {
  auto bad = [&] {
    return Status::Internal("stored metadata has a malformed sparse vector at key " +
                            std::string(key));
  };
  SparseVector v;
  simdjson::dom::array arr;
  if (obj["indices"].get_array().get(arr)) return bad();
  for (auto e : arr) {
    uint64_t i;
    if (e.get_uint64().get(i)) return bad();
    v.indices.push_back(uint32_t(i));
  }
  if (obj["values"].get_array().get(arr)) return bad();
  for (auto e : arr) {
    double d;
    if (e.get_double().get(d)) {
      int64_t i;
      if (e.get_int64().get(i)) return bad();
      d = double(i);
    }
    v.values.push_back(float(d));
  }
  if (!obj["tokens"].get_array().get(arr)) {
    for (auto e : arr) {
      std::string_view s;
      if (e.get_string().get(s)) return bad();
      v.tokens.emplace_back(s);
    }
  }
  return MetadataValue(SparseValue(std::move(v)));
}

}  // namespace

void WriteSparseVector(JsonWriter& w, const SparseVector& v) {
  w.BeginObject();
  w.Key("#type");
  w.String("sparse_vector");
  w.Key("indices");
  w.BeginArray();
  for (uint32_t i : v.indices) w.Int(i);
  w.EndArray();
  w.Key("values");
  w.BeginArray();
  for (float f : v.values) w.Float(f);
  w.EndArray();
  if (!v.tokens.empty()) {
    w.Key("tokens");
    w.BeginArray();
    for (const auto& t : v.tokens) w.String(t);
    w.EndArray();
  }
  w.EndObject();
}

void WriteMetadataValue(JsonWriter& w, const MetadataValue& value) {
  std::visit(
      [&w](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, bool>) {
          w.Bool(v);
        } else if constexpr (std::is_same_v<T, int64_t>) {
          w.Int(v);
        } else if constexpr (std::is_same_v<T, double>) {
          w.Double(v);
        } else if constexpr (std::is_same_v<T, std::string>) {
          w.String(v);
        } else if constexpr (std::is_same_v<T, SparseValue>) {
          WriteSparseVector(w, *v);
        } else {
          WriteScalarVector(w, v);
        }
      },
      value);
}

void WriteMetadata(JsonWriter& w, const Metadata& metadata, bool hide_reserved) {
  w.BeginObject();
  for (const auto& [key, value] : metadata) {
    if (hide_reserved && key.starts_with("chroma:")) continue;
    w.Key(key);
    WriteMetadataValue(w, value);
  }
  w.EndObject();
}

std::string MetadataToJson(const Metadata& metadata) {
  JsonWriter w;
  WriteMetadata(w, metadata, /*hide_reserved=*/false);
  return w.Take();
}

Result<Metadata> MetadataFromJson(std::string_view json) {
  thread_local simdjson::dom::parser parser;
  simdjson::padded_string padded(json);
  simdjson::dom::element root;
  if (auto err = parser.parse(padded).get(root); err) {
    return Status::Internal(std::string("stored metadata is not valid JSON: ") +
                            simdjson::error_message(err));
  }
  simdjson::dom::object obj;
  if (root.get_object().get(obj)) return Status::Internal("stored metadata is not an object");
  Metadata out;
  for (auto field : obj) {
    std::string key(field.key);
    simdjson::dom::element el = field.value;
    if (el.type() == simdjson::dom::element_type::OBJECT) {
      ASSIGN_OR_RETURN(MetadataValue v, SparseFromObject(el.get_object().value(), key));
      out.emplace(std::move(key), std::move(v));
      continue;
    }
    if (el.type() != simdjson::dom::element_type::ARRAY) {
      ASSIGN_OR_RETURN(MetadataValue v, ScalarFromElement(el, key));
      out.emplace(std::move(key), std::move(v));
      continue;
    }
    simdjson::dom::array arr = el.get_array().value();
    if (arr.size() == 0) continue;
    MetadataValue first_probe = ScalarFromElement(arr.at(0).value(), key).value();
    if (std::holds_alternative<bool>(first_probe)) {
      std::vector<bool> v;
      for (auto e : arr) v.push_back(e.get_bool().value());
      out.emplace(std::move(key), std::move(v));
    } else if (std::holds_alternative<std::string>(first_probe)) {
      std::vector<std::string> v;
      for (auto e : arr) v.emplace_back(e.get_string().value());
      out.emplace(std::move(key), std::move(v));
    } else {
      // Numeric array: a float anywhere makes it a float array.
      bool is_float = false;
      for (auto e : arr) {
        if (e.type() == simdjson::dom::element_type::DOUBLE ||
            e.type() == simdjson::dom::element_type::UINT64) {
          is_float = true;
        }
      }
      if (is_float) {
        std::vector<double> v;
        for (auto e : arr) {
          auto t = e.type();
          if (t == simdjson::dom::element_type::INT64) v.push_back(double(e.get_int64().value()));
          else if (t == simdjson::dom::element_type::UINT64)
            v.push_back(double(e.get_uint64().value()));
          else v.push_back(e.get_double().value());
        }
        out.emplace(std::move(key), std::move(v));
      } else {
        std::vector<int64_t> v;
        for (auto e : arr) v.push_back(e.get_int64().value());
        out.emplace(std::move(key), std::move(v));
      }
    }
  }
  return out;
}

}  // namespace chromahouse
