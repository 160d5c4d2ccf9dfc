#include "codec/metadata_codec.h"

#include "codec/json_body.h"

namespace chromahouse {
namespace {

using T = simdjson::dom::element_type;

Result<MetadataValue> DecodeArray(simdjson::dom::array arr, const std::string& path) {
  // Element kind fixed by the first element; ints and floats may mix (→ floats).
  T first = arr.at(0).value().type();
  if (first == T::STRING) {
    std::vector<std::string> v;
    for (auto e : arr) {
      std::string_view s;
      if (e.get_string().get(s)) return TypeError(path, e, "a string (arrays must be homogeneous)");
      v.emplace_back(s);
    }
    return MetadataValue(std::move(v));
  }
  if (first == T::BOOL) {
    std::vector<bool> v;
    for (auto e : arr) {
      bool b;
      if (e.get_bool().get(b)) return TypeError(path, e, "a boolean (arrays must be homogeneous)");
      v.push_back(b);
    }
    return MetadataValue(std::move(v));
  }
  if (first == T::INT64 || first == T::UINT64 || first == T::DOUBLE) {
    bool any_float = false;
    for (auto e : arr) {
      T t = e.type();
      if (t == T::DOUBLE || t == T::UINT64) {
        any_float = true;
      } else if (t != T::INT64) {
        return TypeError(path, e, "a number (arrays must be homogeneous)");
      }
    }
    if (any_float) {
      std::vector<double> v;
      for (auto e : arr) {
        T t = e.type();
        if (t == T::INT64) v.push_back(double(e.get_int64().value()));
        else if (t == T::UINT64) v.push_back(double(e.get_uint64().value()));
        else v.push_back(e.get_double().value());
      }
      return MetadataValue(std::move(v));
    }
    std::vector<int64_t> v;
    for (auto e : arr) v.push_back(e.get_int64().value());
    return MetadataValue(std::move(v));
  }
  return TypeError(path, arr.at(0).value(), "a string, integer, float or boolean array element");
}

// {"#type": "sparse_vector", "indices": [u32...], "values": [number...], "tokens": [string...]}
// (other keys are ignored, as in Chroma). Only the shape is checked here; the rules (order,
// lengths, finiteness) are SparseVector::Problem's.
Result<MetadataValue> DecodeSparse(simdjson::dom::object obj, const std::string& path) {
  std::string_view type;
  if (obj["#type"].get_string().get(type) || type != "sparse_vector") {
    return ShapeError(path,
                      "expected a string, integer, float, boolean, array or sparse vector "
                      "({\"#type\": \"sparse_vector\", \"indices\": [...], \"values\": [...]})");
  }
  SparseVector v;
  simdjson::dom::element el;
  simdjson::dom::array arr;
  if (obj["indices"].get(el)) return ShapeError(path, "sparse vector: missing field `indices`");
  if (el.get_array().get(arr)) return TypeError(JoinPath(path, "indices"), el, "a sequence");
  size_t i = 0;
  for (auto e : arr) {
    uint64_t u;
    if (e.get_uint64().get(u) || u > UINT32_MAX) {
      return TypeError(JoinPath(path, "indices") + "[" + std::to_string(i) + "]", e, "u32");
    }
    v.indices.push_back(uint32_t(u));
    ++i;
  }
  if (obj["values"].get(el)) return ShapeError(path, "sparse vector: missing field `values`");
  if (el.get_array().get(arr)) return TypeError(JoinPath(path, "values"), el, "a sequence");
  i = 0;
  for (auto e : arr) {
    double d;
    if (e.get_double().get(d)) {
      int64_t n;
      uint64_t u;
      if (!e.get_int64().get(n)) {
        d = double(n);
      } else if (!e.get_uint64().get(u)) {
        d = double(u);
      } else {
        return TypeError(JoinPath(path, "values") + "[" + std::to_string(i) + "]", e, "f32");
      }
    }
    v.values.push_back(float(d));
    ++i;
  }
  if (!obj["tokens"].get(el) && !el.is_null()) {
    if (el.get_array().get(arr)) return TypeError(JoinPath(path, "tokens"), el, "a sequence");
    i = 0;
    for (auto e : arr) {
      std::string_view s;
      if (e.get_string().get(s)) {
        return TypeError(JoinPath(path, "tokens") + "[" + std::to_string(i) + "]", e, "a string");
      }
      v.tokens.emplace_back(s);
      ++i;
    }
  }
  return MetadataValue(SparseValue(std::move(v)));
}

}  // namespace

Result<Metadata> DecodeMetadata(simdjson::dom::object obj, std::string_view path,
                                MetadataNulls nulls, std::vector<std::string>* null_keys) {
  Metadata out;
  for (auto field : obj) {
    std::string key(field.key);
    simdjson::dom::element el = field.value;
    std::string field_path = JoinPath(path, key);
    switch (el.type()) {
      case T::NULL_VALUE:
        if (nulls == MetadataNulls::kReject) {
          return ShapeError(field_path,
                            "invalid type: null, expected a string, integer, float, boolean or "
                            "array value");
        }
        if (null_keys) null_keys->push_back(key);
        out.erase(key);
        continue;
      case T::BOOL: out[key] = bool(el.get_bool().value()); break;
      case T::INT64: out[key] = int64_t(el.get_int64().value()); break;
      case T::UINT64: out[key] = double(el.get_uint64().value()); break;
      case T::DOUBLE: out[key] = double(el.get_double().value()); break;
      case T::STRING: out[key] = std::string(el.get_string().value()); break;
      case T::ARRAY: {
        simdjson::dom::array arr = el.get_array().value();
        if (arr.size() == 0) continue;  // accepted and dropped, as in Chroma
        ASSIGN_OR_RETURN(MetadataValue v, DecodeArray(arr, field_path));
        out[key] = std::move(v);
        break;
      }
      case T::OBJECT: {
        ASSIGN_OR_RETURN(MetadataValue v, DecodeSparse(el.get_object().value(), field_path));
        out[key] = std::move(v);
        break;
      }
    }
  }
  return out;
}

}  // namespace chromahouse
