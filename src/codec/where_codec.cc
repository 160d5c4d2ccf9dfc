#include "codec/where_codec.h"

#include <re2/re2.h>

#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/json_writer.h"

namespace chromahouse {
namespace {

using simdjson::dom::element;
using simdjson::dom::element_type;
using simdjson::dom::object;

constexpr std::string_view kDocumentKey = "#document";
constexpr size_t kMaxShown = 64;  // bytes of a value or pattern quoted in a message

enum class Clause { kWhere, kWhereDocument };

Status Invalid(Clause clause, std::string_view path, std::string reason) {
  std::string msg =
      clause == Clause::kWhere ? "Invalid where clause: " : "Invalid where document clause: ";
  msg += reason;
  if (!path.empty()) {
    msg += " (at ";
    msg += path;
    msg += ")";
  }
  return Status::InvalidArgument(std::move(msg));
}

// Cuts `s` to at most kMaxShown bytes without splitting a UTF-8 sequence.
std::string Shorten(std::string s) {
  if (s.size() <= kMaxShown) return s;
  size_t cut = kMaxShown;
  while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xC0) == 0x80) --cut;
  s.resize(cut);
  s += "…";
  return s;
}

std::string Quote(std::string_view s) {
  std::string out;
  AppendJsonString(&out, s);
  return Shorten(std::move(out));
}

// "string \"a\"", "integer 5", "float 5.5", "boolean true", "null", "array [1,2]", "object {}".
std::string Describe(element el) {
  switch (el.type()) {
    case element_type::STRING: return "string " + Quote(el.get_string().value());
    case element_type::INT64:
    case element_type::UINT64: return "integer " + simdjson::minify(el);
    case element_type::DOUBLE: return "float " + simdjson::minify(el);
    case element_type::BOOL:
      return std::string("boolean ") + (el.get_bool().value() ? "true" : "false");
    case element_type::NULL_VALUE: return "null";
    case element_type::ARRAY: return "array " + Shorten(simdjson::minify(el));
    case element_type::OBJECT: return "object " + Shorten(simdjson::minify(el));
  }
  return "value";
}

std::string ForKey(std::string_view key) { return " for key " + Quote(key); }

std::string Index(std::string_view path, std::string_view op, size_t i) {
  std::string out(path);
  if (!out.empty()) out += ".";
  out += op;
  out += "[" + std::to_string(i) + "]";
  return out;
}

// The single entry of a filter object. Repeated keys collapse with the last value winning, as
// serde_json builds Chroma's map; what remains must be exactly one distinct key.
struct Entry {
  std::string_view key;
  element value;
};

// Returns the entry, or the distinct keys when there are not exactly one of them.
std::pair<std::optional<Entry>, std::vector<std::string_view>> SingleEntry(object obj) {
  std::vector<std::string_view> keys;
  Entry last{};
  for (auto field : obj) {
    bool seen = false;
    for (std::string_view k : keys) seen = seen || k == field.key;
    if (!seen) keys.push_back(field.key);
    if (keys.size() == 1) last = Entry{field.key, field.value};
  }
  if (keys.size() != 1) return {std::nullopt, std::move(keys)};
  return {last, {}};
}

std::string ListKeys(const std::vector<std::string_view>& keys) {
  std::string out;
  for (size_t i = 0; i < keys.size() && i < 5; ++i) {
    if (i > 0) out += ", ";
    out += Quote(keys[i]);
  }
  if (keys.size() > 5) out += ", …";
  return out;
}

// ---------------------------------------------------------------------------------------------
// Regexes: Rust `regex` syntax → RE2.

Status RegexError(std::string_view pattern, std::string_view reason) {
  return Status::InvalidArgument("Regex syntax errror: " + std::string(reason) + " in pattern " +
                                 Quote(pattern));
}

// Rewrites the few Rust-only spellings RE2 lacks and rejects the Rust constructs RE2 would
// misread (see where_codec.h). Everything else is passed through for RE2 to judge.
Result<std::string> RustToRe2(std::string_view p) {
  std::string out;
  out.reserve(p.size() + 8);
  const size_t n = p.size();
  auto at = [&](size_t i) { return i < n ? p[i] : '\0'; };
  bool in_class = false;
  std::set<std::string> group_names;
  size_t i = 0;
  while (i < n) {
    char c = p[i];
    if (c == '\\') {
      char d = at(i + 1);
      if (!in_class && (d == '<' || d == '>')) {
        return RegexError(p, std::string("word-boundary assertion \\") + d + " is not supported");
      }
      if (!in_class && (d == 'b' || d == 'B') && at(i + 2) == '{') {
        return RegexError(p, "word-boundary assertions \\b{…} are not supported");
      }
      if (d == 'C' || d == 'Q' || d == 'E') {
        // RE2-only escapes (any byte, quoting) that Rust's syntax rejects.
        return RegexError(p, std::string("unrecognized escape sequence \\") + d);
      }
      out += p.substr(i, 2);
      i += 2;
      continue;
    }
    if (in_class) {
      if (c == '[' && at(i + 1) == ':') {  // POSIX class [:alpha:], copied whole
        size_t end = p.find(":]", i + 2);
        if (end != std::string_view::npos) {
          out += p.substr(i, end + 2 - i);
          i = end + 2;
          continue;
        }
      } else if (c == '[') {
        return RegexError(p, "nested character classes are not supported");
      } else if ((c == '&' || c == '-' || c == '~') && at(i + 1) == c) {
        return RegexError(p, "character class set operations (&&, --, ~~) are not supported");
      } else if (c == ']') {
        in_class = false;
      }
      out += c;
      ++i;
      continue;
    }
    if (c == '[') {
      in_class = true;
      out += c;
      ++i;
      if (at(i) == '^') out += p[i++];
      if (at(i) == ']') out += p[i++];  // a leading ']' is a literal
      continue;
    }
    if (c == '{' && at(i + 1) == ',') {
      return RegexError(p, "repetition {,n} needs a lower bound (write {0,n})");
    }
    if (c == '(' && at(i + 1) == '?') {
      size_t name_start = 0;
      if (at(i + 2) == '<' && at(i + 3) != '=' && at(i + 3) != '!') name_start = i + 3;
      if (at(i + 2) == 'P' && at(i + 3) == '<') name_start = i + 4;
      if (name_start != 0) {  // (?<name>…) or (?P<name>…): names must be unique, as in Rust
        size_t close = p.find('>', name_start);
        std::string name(p.substr(name_start, close == std::string_view::npos
                                                  ? std::string_view::npos
                                                  : close - name_start));
        if (!group_names.insert(name).second) {
          return RegexError(p, "duplicate capture group name " + Quote(name));
        }
      }
      if (at(i + 2) == '<' && at(i + 3) != '=' && at(i + 3) != '!') {  // (?<name>…)
        out += "(?P<";
        i += 3;
        continue;
      }
      for (size_t j = i + 2; j < n && p[j] != ')' && p[j] != ':'; ++j) {
        char f = p[j];
        if (f == 'x') return RegexError(p, "verbose mode (?x) is not supported");
        if (f == 'u') return RegexError(p, "the u flag is not supported");
        if (f == 'R') return RegexError(p, "CRLF mode (?R) is not supported");
        if (f != '-' && !(f >= 'a' && f <= 'z') && !(f >= 'A' && f <= 'Z')) break;
      }
    }
    out += c;
    ++i;
  }
  return out;
}

Result<std::shared_ptr<const re2::RE2>> CompileRegex(std::string_view pattern) {
  ASSIGN_OR_RETURN(std::string translated, RustToRe2(pattern));
  RE2::Options options;
  options.set_log_errors(false);
  auto re = std::make_shared<const re2::RE2>(translated, options);
  if (!re->ok()) return RegexError(pattern, re->error());
  return std::shared_ptr<const re2::RE2>(std::move(re));
}

// ---------------------------------------------------------------------------------------------
// Operators.

constexpr std::pair<std::string_view, MetadataOp> kMetadataOps[] = {
    {"$eq", MetadataOp::kEq},
    {"$ne", MetadataOp::kNe},
    {"$gt", MetadataOp::kGt},
    {"$gte", MetadataOp::kGte},
    {"$lt", MetadataOp::kLt},
    {"$lte", MetadataOp::kLte},
    {"$in", MetadataOp::kIn},
    {"$nin", MetadataOp::kNin},
    {"$contains", MetadataOp::kContains},
    {"$not_contains", MetadataOp::kNotContains},
};

constexpr std::pair<std::string_view, DocumentOp> kDocumentOps[] = {
    {"$contains", DocumentOp::kContains},
    {"$not_contains", DocumentOp::kNotContains},
    {"$regex", DocumentOp::kRegex},
    {"$not_regex", DocumentOp::kNotRegex},
};

template <typename Op, size_t N>
std::string_view NameOf(const std::pair<std::string_view, Op> (&table)[N], Op op) {
  for (const auto& [name, o] : table) {
    if (o == op) return name;
  }
  return "?";
}

template <typename Op, size_t N>
std::optional<Op> Find(const std::pair<std::string_view, Op> (&table)[N], std::string_view name) {
  for (const auto& [n, o] : table) {
    if (n == name) return o;
  }
  return std::nullopt;
}

std::string_view Name(MetadataOp op) { return NameOf(kMetadataOps, op); }
std::string_view Name(DocumentOp op) { return NameOf(kDocumentOps, op); }
std::optional<MetadataOp> FindMetadataOp(std::string_view name) { return Find(kMetadataOps, name); }
std::optional<DocumentOp> FindDocumentOp(std::string_view name) { return Find(kDocumentOps, name); }

bool IsOrdering(MetadataOp op) {
  return op == MetadataOp::kGt || op == MetadataOp::kGte || op == MetadataOp::kLt ||
         op == MetadataOp::kLte;
}

Result<Where> DocumentLeaf(Clause clause, std::string_view path, DocumentOp op,
                           std::string_view op_name, element operand, std::string_view context) {
  std::string_view pattern;
  if (operand.get_string().get(pattern)) {
    return Invalid(clause, path,
                   "operator " + std::string(op_name) + std::string(context) +
                       " needs a string operand, got " + Describe(operand));
  }
  DocumentCondition cond{op, std::string(pattern), nullptr};
  if (op == DocumentOp::kRegex || op == DocumentOp::kNotRegex) {
    ASSIGN_OR_RETURN(cond.regex, CompileRegex(pattern));
  }
  return Where{std::move(cond)};
}

// ---------------------------------------------------------------------------------------------
// Operands.

// A scalar operand (string, bool, int64, float), or an error reason.
std::optional<MetadataValue> Scalar(element el) {
  switch (el.type()) {
    case element_type::STRING: return MetadataValue(std::string(el.get_string().value()));
    case element_type::BOOL: return MetadataValue(bool(el.get_bool().value()));
    case element_type::INT64: return MetadataValue(int64_t(el.get_int64().value()));
    case element_type::DOUBLE: return MetadataValue(double(el.get_double().value()));
    default: return std::nullopt;  // UINT64 (beyond int64, a 400 in Chroma), null, array, object
  }
}

std::string NotScalarReason(element el) {
  if (el.type() == element_type::UINT64) {
    return "integer " + simdjson::minify(el) + " is out of the int64 range";
  }
  return "got " + Describe(el);
}

Result<MetadataValue> ListOperand(std::string_view path, std::string_view key,
                                  std::string_view op_name, element operand) {
  const std::string where = ForKey(key);
  simdjson::dom::array arr;
  if (operand.get_array().get(arr)) {
    return Invalid(Clause::kWhere, path,
                   "operator " + std::string(op_name) + " needs a non-empty array operand, got " +
                       Describe(operand) + where);
  }
  if (arr.size() == 0) {
    return Invalid(Clause::kWhere, path,
                   "operator " + std::string(op_name) + " needs a non-empty array operand" + where);
  }
  element first = arr.at(0).value();
  element_type kind = first.type();
  std::string kind_name;
  switch (kind) {
    case element_type::STRING: kind_name = "a string"; break;
    case element_type::BOOL: kind_name = "a boolean"; break;
    case element_type::INT64: kind_name = "an integer"; break;
    case element_type::DOUBLE: kind_name = "a float"; break;
    default:
      return Invalid(Clause::kWhere, path,
                     "operator " + std::string(op_name) +
                         " needs strings, numbers or booleans in its array, " +
                         NotScalarReason(first) + " at index 0" + where);
  }
  std::vector<std::string> strings;
  std::vector<bool> bools;
  std::vector<int64_t> ints;
  std::vector<double> doubles;
  size_t i = 0;
  for (element e : arr) {
    element_type t = e.type();
    bool ok = false;
    if (kind == element_type::STRING && t == element_type::STRING) {
      strings.emplace_back(e.get_string().value());
      ok = true;
    } else if (kind == element_type::BOOL && t == element_type::BOOL) {
      bools.push_back(e.get_bool().value());
      ok = true;
    } else if (kind == element_type::INT64 && t == element_type::INT64) {
      ints.push_back(e.get_int64().value());
      ok = true;
    } else if (kind == element_type::DOUBLE) {
      // A list that starts with a float takes integers too (Chroma reads them with as_f64).
      if (t == element_type::DOUBLE) doubles.push_back(e.get_double().value());
      if (t == element_type::INT64) doubles.push_back(double(e.get_int64().value()));
      if (t == element_type::UINT64) doubles.push_back(double(e.get_uint64().value()));
      ok = t == element_type::DOUBLE || t == element_type::INT64 || t == element_type::UINT64;
    }
    if (!ok) {
      return Invalid(Clause::kWhere, path,
                     "operator " + std::string(op_name) +
                         " needs array elements of one type (the first is " + kind_name +
                         "), got " + Describe(e) + " at index " + std::to_string(i) + where);
    }
    ++i;
  }
  switch (kind) {
    case element_type::STRING: return MetadataValue(std::move(strings));
    case element_type::BOOL: return MetadataValue(std::move(bools));
    case element_type::INT64: return MetadataValue(std::move(ints));
    default: return MetadataValue(std::move(doubles));
  }
}

// ---------------------------------------------------------------------------------------------
// where

struct Decoder {
  Clause clause;
  WhereDialect dialect;

  Result<Where> Composite(BoolOp op, std::string_view op_name, element value,
                          std::string_view path) const {
    simdjson::dom::array arr;
    const char* what = clause == Clause::kWhere ? "where" : "where_document";
    if (value.get_array().get(arr)) {
      return Invalid(
          clause, path,
          std::string(op_name) + " needs an array of " + what + " objects, got " + Describe(value));
    }
    if (dialect == WhereDialect::kV1 && arr.size() < 2) {
      return Invalid(clause, path,
                     std::string(op_name) + " needs at least two " + what +
                         " objects in the v1 API, got " + std::to_string(arr.size()));
    }
    WhereComposite out{op, {}};
    out.children.reserve(arr.size());
    size_t i = 0;
    for (element child : arr) {
      std::string child_path = Index(path, op_name, i++);
      auto decoded = clause == Clause::kWhere ? DecodeWhereAt(child, child_path)
                                              : DecodeDocumentAt(child, child_path);
      if (!decoded.ok()) return decoded.status();
      out.children.push_back(std::move(decoded).value());
    }
    return Where{std::move(out)};
  }

  // The one entry of a where / where_document object, or a 400.
  Result<Entry> OneKey(element el, std::string_view path) const {
    const bool is_where = clause == Clause::kWhere;
    object obj;
    if (el.get_object().get(obj)) {
      return Invalid(clause, path, "expected an object, got " + Describe(el));
    }
    auto [entry, keys] = SingleEntry(obj);
    if (entry) return *entry;
    if (keys.empty()) {
      return Invalid(clause, path,
                     is_where ? "the where object is empty; it needs exactly one key (a metadata "
                                "key, #document, $and or $or)"
                              : "the where_document object is empty; it needs exactly one key "
                                "($contains, $not_contains, $regex, $not_regex, $and or $or)");
    }
    return Invalid(clause, path,
                   std::string(is_where ? "the where object" : "the where_document object") +
                       " has " + std::to_string(keys.size()) + " keys (" + ListKeys(keys) +
                       "); it needs exactly one (combine conditions with $and)");
  }

  Result<Where> DecodeWhereAt(element el, std::string_view path) const {
    ASSIGN_OR_RETURN(Entry entry, OneKey(el, path));
    if (entry.key == "$and") return Composite(BoolOp::kAnd, "$and", entry.value, path);
    if (entry.key == "$or") return Composite(BoolOp::kOr, "$or", entry.value, path);
    if (entry.key.starts_with('$')) {
      return Invalid(clause, path,
                     "unknown top-level operator " + Quote(entry.key) +
                         "; only $and and $or may stand in place of a key");
    }
    return Field(entry.key, entry.value, path);
  }

  // {"key": literal} or {"key": {"$op": operand}}.
  Result<Where> Field(std::string_view key, element value, std::string_view path) const {
    const bool is_document = key == kDocumentKey;
    object ops;
    if (value.get_object().get(ops)) {
      if (is_document) {
        return Invalid(clause, path,
                       "#document needs an operator object such as {\"$contains\": \"…\"}, got " +
                           Describe(value));
      }
      std::optional<MetadataValue> literal = Scalar(value);
      if (!literal) {
        std::string hint =
            value.type() == element_type::ARRAY ? " (use {\"$in\": [...]} for a list)" : "";
        return Invalid(clause, path,
                       "the value for key " + Quote(key) +
                           " must be a string, number, boolean or operator object; " +
                           NotScalarReason(value) + hint);
      }
      return Where{MetadataCondition{std::string(key), MetadataOp::kEq, std::move(*literal)}};
    }
    auto [entry, keys] = SingleEntry(ops);
    if (!entry) {
      if (keys.empty()) {
        return Invalid(clause, path,
                       "the operator object for key " + Quote(key) +
                           " is empty; it needs exactly one operator");
      }
      return Invalid(clause, path,
                     "the operator object for key " + Quote(key) + " has " +
                         std::to_string(keys.size()) + " operators (" + ListKeys(keys) +
                         "); it needs exactly one (combine conditions with $and)");
    }
    const std::string_view op_name = entry->key;
    const element operand = entry->value;

    if (is_document) {
      std::optional<DocumentOp> op = FindDocumentOp(op_name);
      if (!op) {
        return Invalid(clause, path,
                       "#document supports only $contains, $not_contains, $regex and "
                       "$not_regex, got " +
                           Quote(op_name));
      }
      return DocumentLeaf(clause, path, *op, op_name, operand, " on #document");
    }

    std::optional<MetadataOp> op = FindMetadataOp(op_name);
    if (!op) {
      if (FindDocumentOp(op_name)) {
        return Invalid(clause, path,
                       "operator " + std::string(op_name) +
                           " is only allowed on #document, not on metadata key " + Quote(key));
      }
      return Invalid(clause, path,
                     "unknown operator " + Quote(op_name) + ForKey(key) +
                         "; expected one of $eq, $ne, $gt, $gte, $lt, $lte, $in, $nin, "
                         "$contains, $not_contains");
    }
    if (*op == MetadataOp::kIn || *op == MetadataOp::kNin) {
      ASSIGN_OR_RETURN(MetadataValue list, ListOperand(path, key, op_name, operand));
      return Where{MetadataCondition{std::string(key), *op, std::move(list)}};
    }
    std::optional<MetadataValue> scalar = Scalar(operand);
    if (!scalar) {
      std::string hint;
      if (operand.type() == element_type::ARRAY) {
        hint = *op == MetadataOp::kContains || *op == MetadataOp::kNotContains
                   ? " (it tests membership of one value in an array-valued key)"
                   : " (use $in / $nin for a list)";
      }
      return Invalid(clause, path,
                     "operator " + std::string(op_name) +
                         " needs a string, number or boolean operand, " + NotScalarReason(operand) +
                         ForKey(key) + hint);
    }
    if (IsOrdering(*op) && !std::holds_alternative<int64_t>(*scalar) &&
        !std::holds_alternative<double>(*scalar)) {
      return Invalid(clause, path,
                     "operator " + std::string(op_name) + " needs a number operand, got " +
                         Describe(operand) + ForKey(key));
    }
    return Where{MetadataCondition{std::string(key), *op, std::move(*scalar)}};
  }

  Result<Where> DecodeDocumentAt(element el, std::string_view path) const {
    ASSIGN_OR_RETURN(Entry entry, OneKey(el, path));
    if (entry.key == "$and") return Composite(BoolOp::kAnd, "$and", entry.value, path);
    if (entry.key == "$or") return Composite(BoolOp::kOr, "$or", entry.value, path);
    std::optional<DocumentOp> op = FindDocumentOp(entry.key);
    if (!op) {
      return Invalid(clause, path,
                     "unknown operator " + Quote(entry.key) +
                         "; expected one of $contains, $not_contains, $regex, $not_regex, $and, "
                         "$or");
    }
    return DocumentLeaf(clause, path, *op, entry.key, entry.value, "");
  }
};

bool IsEmptyObject(element el) {
  object obj;
  return !el.get_object().get(obj) && obj.size() == 0;
}

// ---------------------------------------------------------------------------------------------
// Encoding

void WriteOperand(JsonWriter& w, const MetadataValue& v) { WriteMetadataValue(w, v); }

void Encode(JsonWriter& w, const Where& where) {
  w.BeginObject();
  if (const auto* c = std::get_if<WhereComposite>(&where.node)) {
    w.Key(c->op == BoolOp::kAnd ? "$and" : "$or");
    w.BeginArray();
    for (const Where& child : c->children) Encode(w, child);
    w.EndArray();
  } else if (const auto* m = std::get_if<MetadataCondition>(&where.node)) {
    w.Key(m->key);
    w.BeginObject();
    w.Key(Name(m->op));
    WriteOperand(w, m->operand);
    w.EndObject();
  } else {
    const auto& d = std::get<DocumentCondition>(where.node);
    w.Key(kDocumentKey);
    w.BeginObject();
    w.Key(Name(d.op));
    w.String(d.pattern);
    w.EndObject();
  }
  w.EndObject();
}

}  // namespace

Result<Where> DecodeWhere(element el, WhereDialect dialect) {
  if (el.is_null()) return Where::MatchAll();
  if (dialect == WhereDialect::kV1 && IsEmptyObject(el)) return Where::MatchAll();
  return Decoder{Clause::kWhere, dialect}.DecodeWhereAt(el, "");
}

Result<WhereDocument> DecodeWhereDocument(element el, WhereDialect dialect) {
  if (el.is_null()) return Where::MatchAll();
  if (dialect == WhereDialect::kV1 && IsEmptyObject(el)) return Where::MatchAll();
  return Decoder{Clause::kWhereDocument, dialect}.DecodeDocumentAt(el, "");
}

std::string EncodeWhere(const Where& where) {
  JsonWriter w;
  Encode(w, where);
  return w.Take();
}

}  // namespace chromahouse
