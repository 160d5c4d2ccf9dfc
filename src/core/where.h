// Where: the decoded form of a `where` / `where_document` filter (API.md §4).
//
// A tree of three node kinds:
//   - WhereComposite: $and / $or over any number of children. An empty $and matches every
//     record, an empty $or none (Chroma 1.x accepts both).
//   - MetadataCondition: {key, op, operand}. The operand is a scalar (bool, int64, double,
//     string) for every op except $in / $nin, whose operand is a non-empty homogeneous list.
//     codec/where_codec.h guarantees these shapes and the op × operand-type table of §4.1
//     (ordering ops only with numbers, $contains only with scalars).
//   - DocumentCondition: $contains / $not_contains (literal, case-sensitive substring) or
//     $regex / $not_regex (unanchored search) over the record's document. Regex nodes carry the
//     pattern compiled once at decode time; the compiled object is immutable and shared, so a
//     Where may be copied and evaluated from several threads at once.
//
// Values are plain data: copyable, comparable (a regex compares by pattern), no JSON, no I/O.
// filter/evaluator.h gives the semantics; codec/where_codec.h builds trees from JSON.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "core/metadata.h"

namespace re2 {
class RE2;
}  // namespace re2

namespace chromahouse {

enum class MetadataOp { kEq, kNe, kGt, kGte, kLt, kLte, kIn, kNin, kContains, kNotContains };
enum class DocumentOp { kContains, kNotContains, kRegex, kNotRegex };
enum class BoolOp { kAnd, kOr };

struct MetadataCondition {
  std::string key;
  MetadataOp op = MetadataOp::kEq;
  // A scalar alternative (bool/int64_t/double/string), or for kIn/kNin a non-empty vector.
  MetadataValue operand;

  friend bool operator==(const MetadataCondition&, const MetadataCondition&) = default;
};

struct DocumentCondition {
  DocumentOp op = DocumentOp::kContains;
  std::string pattern;
  // Set for kRegex/kNotRegex (never null there); null for kContains/kNotContains.
  std::shared_ptr<const re2::RE2> regex;

  friend bool operator==(const DocumentCondition& a, const DocumentCondition& b) {
    return a.op == b.op && a.pattern == b.pattern;
  }
};

struct Where;

struct WhereComposite {
  BoolOp op = BoolOp::kAnd;
  std::vector<Where> children;  // may be empty

  friend bool operator==(const WhereComposite& a, const WhereComposite& b);
};

struct Where {
  std::variant<WhereComposite, MetadataCondition, DocumentCondition> node;

  // An empty $and: matches every record (also what a v1 `{}` filter decodes to).
  static Where MatchAll() { return Where{WhereComposite{BoolOp::kAnd, {}}}; }
  static Where And(std::vector<Where> children) {
    return Where{WhereComposite{BoolOp::kAnd, std::move(children)}};
  }
  bool IsMatchAll() const {
    const auto* c = std::get_if<WhereComposite>(&node);
    return c != nullptr && c->op == BoolOp::kAnd && c->children.empty();
  }

  friend bool operator==(const Where& a, const Where& b) { return a.node == b.node; }
};

inline bool operator==(const WhereComposite& a, const WhereComposite& b) {
  return a.op == b.op && a.children == b.children;
}

// where_document decodes to the same tree; its leaves are all DocumentConditions.
using WhereDocument = Where;

}  // namespace chromahouse
