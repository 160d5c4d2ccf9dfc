#include "codec/search_codec.h"

#include <algorithm>
#include <cmath>

#include "codec/json_body.h"
#include "codec/where_codec.h"
#include "common/json_writer.h"

namespace chromahouse {
namespace {

using simdjson::dom::array;
using simdjson::dom::element;
using simdjson::dom::object;
using T = simdjson::dom::element_type;

// Bounds on what one request may ask (each search and each leaf works on the whole collection
// under its read lock).
constexpr size_t kMaxSearches = 256;
constexpr size_t kMaxKnnPerSearch = 32;

constexpr std::string_view kOperators =
    "`$abs`, `$div`, `$exp`, `$knn`, `$log`, `$max`, `$min`, `$mul`, `$sub`, `$sum`, `$val`";

Status Rule(size_t search, std::string_view field, const std::string& message) {
  return Status::InvalidArgument("Validation error: searches[" + std::to_string(search) + "]." +
                                 std::string(field) + ": " + message);
}

bool IsNumber(element el) {
  T t = el.type();
  return t == T::DOUBLE || t == T::INT64 || t == T::UINT64;
}

double NumberOf(element el) {
  switch (el.type()) {
    case T::INT64: return double(el.get_int64().value());
    case T::UINT64: return double(el.get_uint64().value());
    default: return el.get_double().value();
  }
}

Result<float> F32(element el, const std::string& path) {
  if (!IsNumber(el)) return TypeError(path, el, "f32");
  return float(NumberOf(el));
}

Result<uint32_t> U32(element el, const std::string& path) {
  uint64_t u;
  if (el.get_uint64().get(u)) {
    int64_t i;
    if (!el.get_int64().get(i)) {
      return ShapeError(path, "invalid value: integer `" + std::to_string(i) + "`, expected u32");
    }
    return TypeError(path, el, "u32");
  }
  if (u > UINT32_MAX) {
    return ShapeError(path, "invalid value: integer `" + std::to_string(u) + "`, expected u32");
  }
  return uint32_t(u);
}

Result<std::vector<std::string>> Strings(element el, const std::string& path) {
  array arr;
  if (el.get_array().get(arr)) return TypeError(path, el, "a sequence");
  std::vector<std::string> out;
  size_t i = 0;
  for (auto e : arr) {
    std::string_view s;
    if (e.get_string().get(s))
      return TypeError(path + "[" + std::to_string(i) + "]", e, "a string");
    out.emplace_back(s);
    ++i;
  }
  return out;
}

// A sparse query: {"indices": [...], "values": [...]} with an optional "#type" (which must say
// "sparse_vector") and "tokens".
Result<SparseVector> DecodeSparseQuery(object obj, const std::string& path) {
  SparseVector v;
  element el;
  if (!obj["#type"].get(el) && !el.is_null()) {
    std::string_view type;
    if (el.get_string().get(type) || type != "sparse_vector") {
      return ShapeError(path, "Expected #type='sparse_vector', got " + DescribeElement(el));
    }
  }
  if (obj["indices"].get(el)) return ShapeError(path, "missing field `indices`");
  array arr;
  if (el.get_array().get(arr)) return TypeError(path + ".indices", el, "a sequence");
  size_t i = 0;
  for (auto e : arr) {
    ASSIGN_OR_RETURN(uint32_t d, U32(e, path + ".indices[" + std::to_string(i++) + "]"));
    v.indices.push_back(d);
  }
  if (obj["values"].get(el)) return ShapeError(path, "missing field `values`");
  if (el.get_array().get(arr)) return TypeError(path + ".values", el, "a sequence");
  i = 0;
  for (auto e : arr) {
    ASSIGN_OR_RETURN(float f, F32(e, path + ".values[" + std::to_string(i++) + "]"));
    v.values.push_back(f);
  }
  if (!obj["tokens"].get(el) && !el.is_null()) {
    ASSIGN_OR_RETURN(v.tokens, Strings(el, path + ".tokens"));
  }
  return v;
}

class RankDecoder {
 public:
  explicit RankDecoder(size_t search) : search_(search) {}
  size_t knn_count() const { return knn_count_; }

  Result<RankExpr> Decode(element el, const std::string& path) {
    object obj;
    if (el.get_object().get(obj)) return TypeError(path, el, "a rank expression (a map)");
    if (obj.size() != 1) {
      return ShapeError(path, "a rank expression is a map with exactly one operator (one of " +
                                  std::string(kOperators) + "), got " + std::to_string(obj.size()) +
                                  " keys");
    }
    auto field = *obj.begin();
    const std::string op(field.key);
    const std::string at = path + "." + op;
    element v = field.value;
    RankExpr e;
    if (op == "$knn") {
      e.op = RankOp::kKnn;
      if (++knn_count_ > kMaxKnnPerSearch) {
        return Rule(search_, "rank",
                    "a rank expression may hold at most " + std::to_string(kMaxKnnPerSearch) +
                        " $knn leaves");
      }
      ASSIGN_OR_RETURN(e.knn, Knn(v, at));
    } else if (op == "$val") {
      e.op = RankOp::kVal;
      ASSIGN_OR_RETURN(e.value, F32(v, at));
    } else if (op == "$sum" || op == "$mul" || op == "$max" || op == "$min") {
      e.op = op == "$sum"   ? RankOp::kSum
             : op == "$mul" ? RankOp::kMul
             : op == "$max" ? RankOp::kMax
                            : RankOp::kMin;
      array arr;
      if (v.get_array().get(arr)) return TypeError(at, v, "a sequence of rank expressions");
      size_t i = 0;
      for (auto child : arr) {
        ASSIGN_OR_RETURN(RankExpr c, Decode(child, at + "[" + std::to_string(i++) + "]"));
        e.children.push_back(std::move(c));
      }
    } else if (op == "$sub" || op == "$div") {
      e.op = op == "$sub" ? RankOp::kSub : RankOp::kDiv;
      object lr;
      if (v.get_object().get(lr)) return TypeError(at, v, "a map with `left` and `right`");
      for (const char* side : {"left", "right"}) {
        element c;
        if (lr[side].get(c)) return ShapeError(at, std::string("missing field `") + side + "`");
        ASSIGN_OR_RETURN(RankExpr child, Decode(c, at + "." + side));
        e.children.push_back(std::move(child));
      }
    } else if (op == "$abs" || op == "$exp" || op == "$log") {
      e.op = op == "$abs" ? RankOp::kAbs : op == "$exp" ? RankOp::kExp : RankOp::kLog;
      ASSIGN_OR_RETURN(RankExpr child, Decode(v, at));
      e.children.push_back(std::move(child));
    } else {
      return ShapeError(path,
                        "unknown variant `" + op + "`, expected one of " + std::string(kOperators));
    }
    return e;
  }

 private:
  Result<std::shared_ptr<KnnRank>> Knn(element el, const std::string& path) {
    object obj;
    if (el.get_object().get(obj)) return TypeError(path, el, "a map");
    auto knn = std::make_shared<KnnRank>();
    element q;
    if (obj["query"].get(q) || q.is_null()) return ShapeError(path, "missing field `query`");
    array arr;
    object sparse;
    if (!q.get_array().get(arr)) {
      std::vector<float> dense;
      dense.reserve(arr.size());
      size_t i = 0;
      for (auto x : arr) {
        ASSIGN_OR_RETURN(float f, F32(x, path + ".query[" + std::to_string(i) + "]"));
        if (!std::isfinite(f)) {
          return Rule(search_, "rank",
                      "the $knn query vector's value at index " + std::to_string(i) +
                          " is NaN or infinity as a 32-bit float");
        }
        dense.push_back(f);
        ++i;
      }
      knn->query = std::move(dense);
    } else if (!q.get_object().get(sparse)) {
      ASSIGN_OR_RETURN(SparseVector v, DecodeSparseQuery(sparse, path + ".query"));
      if (auto problem = v.Problem()) {
        return Rule(search_, "rank", "Invalid sparse vector in KNN query: " + *problem);
      }
      knn->query = std::move(v);
    } else {
      return ShapeError(path + ".query",
                        "data did not match any variant of untagged enum QueryVector (a dense "
                        "vector [numbers] or a sparse vector {\"indices\": [...], \"values\": "
                        "[...]}), got " +
                            DescribeElement(q));
    }
    element f;
    if (!obj["key"].get(f) && !f.is_null()) {
      std::string_view key;
      if (f.get_string().get(key)) return TypeError(path + ".key", f, "a string");
      knn->key = std::string(key);
    }
    if (!obj["limit"].get(f) && !f.is_null()) {
      ASSIGN_OR_RETURN(knn->limit, U32(f, path + ".limit"));
    }
    if (!obj["default"].get(f) && !f.is_null()) {
      ASSIGN_OR_RETURN(float d, F32(f, path + ".default"));
      knn->default_score = d;
    }
    if (!obj["return_rank"].get(f) && !f.is_null()) {
      bool b;
      if (f.get_bool().get(b)) return TypeError(path + ".return_rank", f, "a boolean");
      knn->return_rank = b;
    }
    return knn;
  }

  size_t search_;
  size_t knn_count_ = 0;
};

bool IsPredefined(std::string_view key) {
  return key == "#document" || key == "#embedding" || key == "#metadata" || key == "#score";
}

Result<std::optional<GroupBy>> DecodeGroupBy(element el, const std::string& path, size_t i) {
  object obj;
  if (el.get_object().get(obj)) return TypeError(path, el, "a map");
  GroupBy g;
  element f;
  if (!obj["keys"].get(f) && !f.is_null()) {
    ASSIGN_OR_RETURN(g.keys, Strings(f, path + ".keys"));
  }
  bool has_aggregate = false;
  if (!obj["aggregate"].get(f) && !f.is_null()) {
    object agg;
    if (f.get_object().get(agg) || agg.size() != 1) {
      return ShapeError(path + ".aggregate",
                        "expected a map with one of `$min_k`, `$max_k`, got " + DescribeElement(f));
    }
    auto field = *agg.begin();
    const std::string op(field.key);
    if (op != "$min_k" && op != "$max_k") {
      return ShapeError(path + ".aggregate",
                        "unknown variant `" + op + "`, expected `$min_k` or `$max_k`");
    }
    g.max = op == "$max_k";
    object inner;
    const std::string at = path + ".aggregate." + op;
    if (element(field.value).get_object().get(inner)) {
      return TypeError(at, field.value, "a map with `keys` and `k`");
    }
    element k;
    if (inner["keys"].get(k)) return ShapeError(at, "missing field `keys`");
    ASSIGN_OR_RETURN(g.aggregate_keys, Strings(k, at + ".keys"));
    if (inner["k"].get(k)) return ShapeError(at, "missing field `k`");
    ASSIGN_OR_RETURN(g.k, U32(k, at + ".k"));
    has_aggregate = true;
  }
  if (g.keys.empty() && !has_aggregate) return std::optional<GroupBy>();
  if (g.keys.empty() != !has_aggregate) {
    return Rule(i, "group_by",
                "group_by keys and aggregate must both be specified or both be omitted");
  }
  for (const auto& k : g.keys) {
    if (IsPredefined(k)) {
      return Rule(i, "group_by",
                  "group_by keys must be metadata fields (cannot use #score, #document, "
                  "#embedding, or #metadata), got '" +
                      k + "'");
    }
  }
  if (g.aggregate_keys.empty()) return Rule(i, "group_by", "aggregate keys must not be empty");
  if (g.k == 0) return Rule(i, "group_by", "aggregate k must be greater than 0");
  for (const auto& k : g.aggregate_keys) {
    if (IsPredefined(k) && k != "#score") {
      return Rule(i, "group_by",
                  "aggregate keys must be metadata fields or #score (cannot use #document, "
                  "#embedding, or #metadata), got '" +
                      k + "'");
    }
  }
  return std::optional<GroupBy>(std::move(g));
}

Result<SearchSelect> DecodeSelect(element el, const std::string& path) {
  object obj;
  if (el.get_object().get(obj)) return TypeError(path, el, "a map with `keys`");
  SearchSelect s;
  element k;
  std::vector<std::string> keys;
  if (!obj["keys"].get(k) && !k.is_null()) {
    ASSIGN_OR_RETURN(keys, Strings(k, path + ".keys"));
  }
  for (const auto& key : keys) {
    if (key == "#document") s.document = true;
    else if (key == "#embedding") s.embedding = true;
    else if (key == "#metadata") s.metadata = true;
    else if (key == "#score") s.score = true;
    else s.metadata_keys.push_back(key);
  }
  std::sort(s.metadata_keys.begin(), s.metadata_keys.end());
  s.metadata_keys.erase(std::unique(s.metadata_keys.begin(), s.metadata_keys.end()),
                        s.metadata_keys.end());
  // Chroma answers the keys in its own order: the predefined ones, then the metadata keys.
  if (s.document) s.keys.push_back("#document");
  if (s.embedding) s.keys.push_back("#embedding");
  if (s.metadata) s.keys.push_back("#metadata");
  if (s.score) s.keys.push_back("#score");
  s.keys.insert(s.keys.end(), s.metadata_keys.begin(), s.metadata_keys.end());
  return s;
}

Result<SearchQuery> DecodeOne(element el, size_t i) {
  const std::string path = "searches[" + std::to_string(i) + "]";
  object obj;
  if (el.get_object().get(obj)) return TypeError(path, el, "a map");
  SearchQuery q;
  element f;
  if (!obj["filter"].get(f) && !f.is_null()) {
    object fo;
    if (f.get_object().get(fo) || fo.size() > 0) {
      ASSIGN_OR_RETURN(Where w, DecodeWhere(f, WhereDialect::kV2));
      q.filter = std::move(w);
    }
  }
  if (!obj["rank"].get(f) && !f.is_null()) {
    RankDecoder decoder(i);
    ASSIGN_OR_RETURN(RankExpr r, decoder.Decode(f, path + ".rank"));
    q.rank = std::move(r);
  }
  if (!obj["group_by"].get(f) && !f.is_null()) {
    ASSIGN_OR_RETURN(q.group_by, DecodeGroupBy(f, path + ".group_by", i));
    if (q.group_by && !q.rank) {
      return Rule(i, "__all__", "group_by requires rank expression to be specified");
    }
  }
  if (!obj["limit"].get(f) && !f.is_null()) {
    object lo;
    if (f.get_object().get(lo))
      return TypeError(path + ".limit", f, "a map with `offset` and `limit`");
    element x;
    if (!lo["offset"].get(x) && !x.is_null()) {
      ASSIGN_OR_RETURN(q.offset, U32(x, path + ".limit.offset"));
    }
    if (!lo["limit"].get(x) && !x.is_null()) {
      ASSIGN_OR_RETURN(uint32_t n, U32(x, path + ".limit.limit"));
      q.limit = n;
    }
  }
  if (!obj["select"].get(f) && !f.is_null()) {
    ASSIGN_OR_RETURN(q.select, DecodeSelect(f, path + ".select"));
  }
  return q;
}

void WriteEmbedding(JsonWriter& w, const RecordView& r) {
  w.BeginArray();
  for (size_t d = 0; d < r.dim; ++d) w.Float(r.embedding[d]);
  w.EndArray();
}

}  // namespace

Result<SearchRequest> DecodeSearch(std::string_view body) {
  JsonBody json;
  RETURN_IF_ERROR(json.Parse(body));
  ASSIGN_OR_RETURN(object obj, RequireObject(json.root(), ""));
  RETURN_IF_ERROR(RejectDuplicateFields(obj, {"searches", "read_level"}, ""));
  element f;
  if (obj["searches"].get(f) || f.is_null()) return ShapeError("", "missing field `searches`");
  array arr;
  if (f.get_array().get(arr)) return TypeError("searches", f, "a sequence");
  if (arr.size() > kMaxSearches) {
    return Status::InvalidArgument("Validation error: searches: at most " +
                                   std::to_string(kMaxSearches) + " searches per request, got " +
                                   std::to_string(arr.size()));
  }
  SearchRequest req;
  size_t i = 0;
  for (auto e : arr) {
    ASSIGN_OR_RETURN(SearchQuery q, DecodeOne(e, i++));
    req.searches.push_back(std::move(q));
  }
  if (!obj["read_level"].get(f) && !f.is_null()) {
    std::string_view level;
    if (f.get_string().get(level)) return TypeError("read_level", f, "a string");
    if (level != "index_and_wal" && level != "index_only" && level != "index_and_bounded_wal") {
      return ShapeError("read_level", "unknown variant `" + std::string(level) +
                                          "`, expected one of `index_and_wal`, `index_only`, "
                                          "`index_and_bounded_wal`");
    }
  }
  return req;
}

std::string EncodeSearchResponse(const SearchRequest& request,
                                 const std::vector<SearchHits>& results) {
  JsonWriter w;
  w.BeginObject();
  w.Key("ids");
  w.BeginArray();
  for (const auto& hits : results) {
    w.BeginArray();
    for (const auto& r : hits) w.String(r.id);
    w.EndArray();
  }
  w.EndArray();
  // One column: per search, null unless `selected`, else a value per record.
  auto column = [&](const char* name, auto selected, auto write) {
    w.Key(name);
    w.BeginArray();
    for (size_t i = 0; i < results.size(); ++i) {
      if (!selected(request.searches[i].select)) {
        w.Null();
        continue;
      }
      w.BeginArray();
      for (const auto& r : results[i]) write(request.searches[i].select, r);
      w.EndArray();
    }
    w.EndArray();
  };
  column(
      "documents", [](const SearchSelect& s) { return s.document; },
      [&](const SearchSelect&, const RecordView& r) {
        if (r.document && *r.document) w.String(**r.document);
        else w.Null();
      });
  column(
      "embeddings", [](const SearchSelect& s) { return s.embedding; },
      [&](const SearchSelect&, const RecordView& r) {
        if (r.embedding && r.dim > 0) WriteEmbedding(w, r);
        else w.Null();
      });
  column(
      "metadatas", [](const SearchSelect& s) { return s.metadata || !s.metadata_keys.empty(); },
      [&](const SearchSelect& s, const RecordView& r) {
        std::optional<Metadata> parsed;
        if (r.metadata_json && *r.metadata_json) {
          if (auto m = MetadataFromJson(**r.metadata_json); m.ok()) parsed = std::move(m).value();
        }
        const Metadata* md = parsed ? &*parsed : nullptr;
        if (md == nullptr) {
          w.Null();
        } else if (s.metadata) {
          if (md->empty()) w.Null();
          else WriteMetadata(w, *md, /*hide_reserved=*/true);
        } else {
          bool any = false;
          for (const auto& k : s.metadata_keys) any = any || md->contains(k);
          if (!any) {
            w.Null();
            return;
          }
          w.BeginObject();
          for (const auto& k : s.metadata_keys) {
            auto it = md->find(k);
            if (it == md->end()) continue;
            w.Key(k);
            WriteMetadataValue(w, it->second);
          }
          w.EndObject();
        }
      });
  column(
      "scores", [](const SearchSelect& s) { return s.score; },
      [&](const SearchSelect&, const RecordView& r) { w.Float(r.distance); });
  w.Key("select");
  w.BeginArray();
  for (const auto& s : request.searches) {
    w.BeginArray();
    for (const auto& k : s.select.keys) w.String(k);
    w.EndArray();
  }
  w.EndArray();
  w.EndObject();
  return w.Take();
}

}  // namespace chromahouse
