#include "filter/evaluator.h"

#include <re2/re2.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <optional>
#include <type_traits>
#include <variant>
#include <vector>

namespace chromahouse {
namespace {

enum class Order { kLess, kEqual, kGreater, kUnordered };

template <typename T>
Order Compare(T a, T b) {
  if (a < b) return Order::kLess;
  if (a > b) return Order::kGreater;
  if (a == b) return Order::kEqual;
  return Order::kUnordered;  // NaN
}

// Exact comparison of an int64 with a double, without rounding either one.
Order CompareIntDouble(int64_t i, double d) {
  if (std::isnan(d)) return Order::kUnordered;
  // Every int64 lies in [-2^63, 2^63); both bounds are exact doubles.
  constexpr double kTwo63 = 9223372036854775808.0;
  if (d >= kTwo63) return Order::kLess;
  if (d < -kTwo63) return Order::kGreater;
  const double whole = std::trunc(d);  // in [-2^63, 2^63), so the cast is exact
  const auto whole_int = static_cast<int64_t>(whole);
  if (i != whole_int) return i < whole_int ? Order::kLess : Order::kGreater;
  const double fraction = d - whole;  // exact
  if (fraction > 0) return Order::kLess;
  if (fraction < 0) return Order::kGreater;
  return Order::kEqual;
}

Order Flip(Order o) {
  if (o == Order::kLess) return Order::kGreater;
  if (o == Order::kGreater) return Order::kLess;
  return o;
}

// Stored value versus a number; nullopt when the stored value is not a scalar number.
std::optional<Order> CompareNumber(const MetadataValue& stored, int64_t n) {
  if (const auto* i = std::get_if<int64_t>(&stored)) return Compare(*i, n);
  if (const auto* d = std::get_if<double>(&stored)) return Flip(CompareIntDouble(n, *d));
  return std::nullopt;
}

std::optional<Order> CompareNumber(const MetadataValue& stored, double n) {
  if (const auto* i = std::get_if<int64_t>(&stored)) return CompareIntDouble(*i, n);
  if (const auto* d = std::get_if<double>(&stored)) return Compare(*d, n);
  return std::nullopt;
}

// Scalar equality, type-strict except that ints and floats compare as numbers.
bool StoredEquals(const MetadataValue& stored, bool v) {
  const auto* b = std::get_if<bool>(&stored);
  return b != nullptr && *b == v;
}
bool StoredEquals(const MetadataValue& stored, const std::string& v) {
  const auto* s = std::get_if<std::string>(&stored);
  return s != nullptr && *s == v;
}
bool StoredEquals(const MetadataValue& stored, int64_t v) {
  return CompareNumber(stored, v) == Order::kEqual;
}
bool StoredEquals(const MetadataValue& stored, double v) {
  return CompareNumber(stored, v) == Order::kEqual;
}

bool Equals(const MetadataValue& stored, const MetadataValue& operand) {
  return std::visit(
      [&stored](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, int64_t> ||
                      std::is_same_v<T, double> || std::is_same_v<T, std::string>) {
          return StoredEquals(stored, v);
        } else {
          return false;  // a list operand only comes with $in / $nin
        }
      },
      operand);
}

bool In(const MetadataValue& stored, const MetadataValue& list) {
  return std::visit(
      [&stored](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::vector<bool>> ||
                      std::is_same_v<T, std::vector<int64_t>> ||
                      std::is_same_v<T, std::vector<double>> ||
                      std::is_same_v<T, std::vector<std::string>>) {
          for (const auto& element : v) {
            using E = typename T::value_type;
            if (StoredEquals(stored, static_cast<const E&>(element))) return true;
          }
          return false;
        } else {
          return false;  // a scalar operand only comes with the other operators
        }
      },
      list);
}

// Membership of a scalar in an array value, with the exact element type.
bool ArrayContains(const MetadataValue& stored, const MetadataValue& operand) {
  return std::visit(
      [&stored](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, bool> || std::is_same_v<T, int64_t> ||
                      std::is_same_v<T, double> || std::is_same_v<T, std::string>) {
          const auto* array = std::get_if<std::vector<T>>(&stored);
          if (array == nullptr) return false;
          for (const auto& element : *array) {
            if (static_cast<const T&>(element) == v) return true;
          }
          return false;
        } else {
          return false;
        }
      },
      operand);
}

bool Ordered(const MetadataValue& stored, MetadataOp op, const MetadataValue& operand) {
  std::optional<Order> order;
  if (const auto* i = std::get_if<int64_t>(&operand)) order = CompareNumber(stored, *i);
  if (const auto* d = std::get_if<double>(&operand)) order = CompareNumber(stored, *d);
  if (!order || *order == Order::kUnordered) return false;
  switch (op) {
    case MetadataOp::kGt: return *order == Order::kGreater;
    case MetadataOp::kGte: return *order != Order::kLess;
    case MetadataOp::kLt: return *order == Order::kLess;
    case MetadataOp::kLte: return *order != Order::kGreater;
    default: return false;
  }
}

// The positive form of `op` on a present value.
bool Positive(const MetadataValue& stored, MetadataOp op, const MetadataValue& operand) {
  switch (op) {
    case MetadataOp::kEq:
    case MetadataOp::kNe: return Equals(stored, operand);
    case MetadataOp::kIn:
    case MetadataOp::kNin: return In(stored, operand);
    case MetadataOp::kContains:
    case MetadataOp::kNotContains: return ArrayContains(stored, operand);
    case MetadataOp::kGt:
    case MetadataOp::kGte:
    case MetadataOp::kLt:
    case MetadataOp::kLte: return Ordered(stored, op, operand);
  }
  return false;
}

bool IsNegative(MetadataOp op) {
  return op == MetadataOp::kNe || op == MetadataOp::kNin || op == MetadataOp::kNotContains;
}

constexpr std::string_view kDocumentMetadataKey = "chroma:document";
constexpr std::string_view kIdKey = "#id";

// The positive form of `op` on a string value that is not stored in a MetadataValue (the
// document read as "chroma:document"); same rules as Positive(), without copying the document.
bool PositiveOnString(const std::string& value, MetadataOp op, const MetadataValue& operand) {
  if (op == MetadataOp::kEq || op == MetadataOp::kNe) {
    const auto* s = std::get_if<std::string>(&operand);
    return s != nullptr && *s == value;
  }
  if (op == MetadataOp::kIn || op == MetadataOp::kNin) {
    const auto* list = std::get_if<std::vector<std::string>>(&operand);
    return list != nullptr && std::find(list->begin(), list->end(), value) != list->end();
  }
  return false;  // no ordering on strings; $contains needs an array value
}

bool MatchesMetadata(const MetadataCondition& c, const Metadata* metadata,
                     const std::string* document, const std::string* id) {
  bool positive = false;
  if (id != nullptr && c.key == kIdKey) {
    positive = PositiveOnString(*id, c.op, c.operand);
    return IsNegative(c.op) ? !positive : positive;
  }
  auto it = metadata != nullptr ? metadata->find(c.key) : Metadata::const_iterator();
  if (metadata != nullptr && it != metadata->end()) {
    positive = Positive(it->second, c.op, c.operand);
  } else if (document != nullptr && c.key == kDocumentMetadataKey) {
    positive = PositiveOnString(*document, c.op, c.operand);
  }
  return IsNegative(c.op) ? !positive : positive;
}

bool MatchesDocument(const DocumentCondition& c, const std::string* document) {
  bool positive = false;
  if (document != nullptr) {
    switch (c.op) {
      case DocumentOp::kContains:
      case DocumentOp::kNotContains:
        positive = document->find(c.pattern) != std::string::npos;
        break;
      case DocumentOp::kRegex:
      case DocumentOp::kNotRegex:
        positive = c.regex != nullptr && RE2::PartialMatch(*document, *c.regex);
        break;
    }
  }
  const bool negative = c.op == DocumentOp::kNotContains || c.op == DocumentOp::kNotRegex;
  return negative ? !positive : positive;
}

}  // namespace

bool Matches(const Where& where, const Metadata* metadata, const std::string* document,
             const std::string* id) {
  if (const auto* c = std::get_if<WhereComposite>(&where.node)) {
    if (c->op == BoolOp::kAnd) {
      for (const Where& child : c->children) {
        if (!Matches(child, metadata, document, id)) return false;
      }
      return true;
    }
    for (const Where& child : c->children) {
      if (Matches(child, metadata, document, id)) return true;
    }
    return false;
  }
  if (const auto* m = std::get_if<MetadataCondition>(&where.node)) {
    return MatchesMetadata(*m, metadata, document, id);
  }
  return MatchesDocument(std::get<DocumentCondition>(where.node), document);
}

}  // namespace chromahouse
