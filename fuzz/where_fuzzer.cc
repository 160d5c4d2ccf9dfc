// Fuzz target: the `where` / `where_document` parser (codec/where_codec.h) in both dialects,
// then the evaluator (filter/evaluator.h) and the metadata index (filter/metadata_index.h) on
// the trees it accepts.
//
// Input: one JSON value (not JSON: ignored). It is decoded four ways: DecodeWhere and
// DecodeWhereDocument, each in the v2 and v1 dialects. Invariants (abort() on violation):
//   - errors are 400 (kInvalidArgument) and start with "Invalid where clause: ",
//     "Invalid where document clause: " or "Regex syntax errror: ";
//   - v1 only adds restrictions, except that a top-level {} means "no filter": whatever v1
//     accepts (other than {}) v2 accepts as the same tree;
//   - EncodeWhere round trip (fuzz_util.h), and the where_document form round trip;
//   - on a fixed record set: $ne/$nin/$not_contains/$not_regex are exact negations of
//     $eq/$in/$contains/$regex; $in is the $or of $eq over its list; numbers are totally
//     ordered against numeric values ($lt, $eq, $gt: exactly one holds; $gte = $gt or $eq);
//   - MetadataIndex::Evaluate selects exactly the records Matches() selects, for every tree it
//     handles, on two indexes built in different orders (one with removals).
#include <simdjson.h>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "codec/where_codec.h"
#include "filter/evaluator.h"
#include "filter/metadata_index.h"
#include "fuzz/fuzz_util.h"

namespace chromahouse {
namespace {

using fuzz::Fail;

struct Record {
  std::optional<Metadata> metadata;
  std::optional<std::string> document;
};

// The evaluator test's records (src/filter/evaluator_test.cc) plus a few edge values.
const std::vector<Record>& Records() {
  static const std::vector<Record> records = {
      {Metadata{{"i", int64_t{5}},
                {"f", 5.0},
                {"s", std::string("5")},
                {"b", true},
                {"ia", std::vector<int64_t>{1, 2}},
                {"fa", std::vector<double>{1.0, 3.5}},
                {"sa", std::vector<std::string>{"a", "b"}},
                {"ba", std::vector<bool>{true}}},
       "Hello World 100%"},
      {Metadata{{"i", int64_t{6}}, {"f", 5.5}, {"s", std::string("a")}, {"b", false}},
       "hello_world"},
      {std::nullopt, std::nullopt},
      {Metadata{{"x", int64_t{1}}, {"s", std::string("ab")}}, ""},
      {Metadata{{"big", int64_t{9007199254740993}},
                {"bigf", 9007199254740992.0},
                {"i", 5.0},
                {"max", std::numeric_limits<int64_t>::max()}},
       "abc\ndef"},
      {Metadata{{"i", int64_t{4}}}, std::nullopt},
      {Metadata{}, "empty metadata map"},
      {Metadata{{"i", -0.0},
                {"f", -1e300},
                {"max", std::numeric_limits<int64_t>::min()},
                {"bigf", 9223372036854775808.0},
                {"fa", std::vector<double>{-0.0, 5.0}},
                {"ia", std::vector<int64_t>{5, -1}},
                {"sa", std::vector<std::string>{"", "é"}},
                {"ba", std::vector<bool>{false, true}},
                {"", std::string("")},
                {"chroma:document", std::string("stored")}},
       "ünïcödé\ttext"},
      {Metadata{{"i", int64_t{0}}, {"s", std::string("é")}, {"b", false}, {"x", 0.5}}, "Hello"},
  };
  return records;
}

const Metadata* MetadataOf(const Record& r) { return r.metadata ? &*r.metadata : nullptr; }
const std::string* DocumentOf(const Record& r) { return r.document ? &*r.document : nullptr; }

bool MatchesRecord(const Where& where, const Record& r) {
  return Matches(where, MetadataOf(r), DocumentOf(r));
}

// Two indexes over Records(): offsets in order, and in reverse with churn (every record
// removed and inserted again, record 1 left out for good). Offset `n` is live but never
// inserted: a record without metadata.
struct Indexes {
  MetadataIndex forward;
  std::vector<uint32_t> forward_live;
  MetadataIndex churned;
  std::vector<uint32_t> churned_live;
};

const Indexes& BuiltIndexes() {
  static const Indexes* indexes = [] {
    auto* out = new Indexes;
    const auto& records = Records();
    const uint32_t n = static_cast<uint32_t>(records.size());
    for (uint32_t i = 0; i < n; ++i) {
      if (records[i].metadata) out->forward.Insert(i, *records[i].metadata);
      out->forward_live.push_back(i);
    }
    out->forward_live.push_back(n);
    for (uint32_t i = n; i-- > 0;) {
      if (records[i].metadata) out->churned.Insert(i, *records[i].metadata);
    }
    for (uint32_t i = 0; i < n; ++i) {
      if (!records[i].metadata) continue;
      out->churned.Remove(i, *records[i].metadata);
      if (i != 1) out->churned.Insert(i, *records[i].metadata);
    }
    for (uint32_t i = n + 1; i-- > 0;) {
      if (i != 1) out->churned_live.push_back(i);
    }
    return out;
  }();
  return *indexes;
}

const Record& RecordAt(uint32_t offset) {
  static const Record kNone;
  const auto& records = Records();
  return offset < records.size() ? records[offset] : kNone;
}

void CheckIndex(const Where& where, const MetadataIndex& index, const std::vector<uint32_t>& live,
                const char* which) {
  std::optional<std::vector<uint32_t>> got = index.Evaluate(where, live);
  FUZZ_CHECK(got.has_value() == MetadataIndex::Handles(where),
             std::string(which) + ": Evaluate and Handles disagree on " + EncodeWhere(where));
  if (!got) return;
  std::vector<uint32_t> want;
  for (uint32_t offset : live) {
    const Record& r = RecordAt(offset);
    // The index never reads documents: it handles no tree whose result depends on one.
    if (Matches(where, MetadataOf(r), nullptr)) want.push_back(offset);
  }
  if (*got == want) return;
  std::string detail = std::string(which) + " index for " + EncodeWhere(where) + ": got";
  for (uint32_t o : *got) detail += " " + std::to_string(o);
  detail += ", scan:";
  for (uint32_t o : want) detail += " " + std::to_string(o);
  Fail(__FILE__, __LINE__, "MetadataIndex::Evaluate == evaluator scan", detail);
}

MetadataOp Negation(MetadataOp op) {
  switch (op) {
    case MetadataOp::kEq: return MetadataOp::kNe;
    case MetadataOp::kNe: return MetadataOp::kEq;
    case MetadataOp::kIn: return MetadataOp::kNin;
    case MetadataOp::kNin: return MetadataOp::kIn;
    case MetadataOp::kContains: return MetadataOp::kNotContains;
    case MetadataOp::kNotContains: return MetadataOp::kContains;
    default: return op;
  }
}

bool HasNegation(MetadataOp op) { return Negation(op) != op; }

Where Leaf(const MetadataCondition& c, MetadataOp op, MetadataValue operand) {
  return Where{MetadataCondition{c.key, op, std::move(operand)}};
}

// The scalar operands of a list operand ($in / $nin).
std::vector<MetadataValue> ListElements(const MetadataValue& list) {
  std::vector<MetadataValue> out;
  std::visit(
      [&out](const auto& v) {
        using T = std::decay_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::vector<bool>>) {
          for (bool b : v) out.emplace_back(b);
        } else if constexpr (std::is_same_v<T, std::vector<int64_t>> ||
                             std::is_same_v<T, std::vector<double>> ||
                             std::is_same_v<T, std::vector<std::string>>) {
          for (const auto& e : v) out.emplace_back(e);
        }
      },
      list);
  return out;
}

bool IsNumber(const MetadataValue& v) {
  return std::holds_alternative<int64_t>(v) || std::holds_alternative<double>(v);
}

void CheckMetadataLeaf(const MetadataCondition& c) {
  const Where leaf{c};
  for (const Record& r : Records()) {
    const bool m = MatchesRecord(leaf, r);
    if (HasNegation(c.op)) {
      FUZZ_CHECK(m != MatchesRecord(Leaf(c, Negation(c.op), c.operand), r),
                 "negated operator is not the exact negation: " + EncodeWhere(leaf));
    }
    if (c.op == MetadataOp::kIn || c.op == MetadataOp::kNin) {
      bool any = false;
      for (MetadataValue& e : ListElements(c.operand)) {
        any = any || MatchesRecord(Leaf(c, MetadataOp::kEq, std::move(e)), r);
      }
      const bool in = c.op == MetadataOp::kIn ? m : !m;
      FUZZ_CHECK(in == any, "$in is not the $or of $eq over its list: " + EncodeWhere(leaf));
    }
    if (IsNumber(c.operand) && c.op != MetadataOp::kContains && c.op != MetadataOp::kNotContains) {
      const bool lt = MatchesRecord(Leaf(c, MetadataOp::kLt, c.operand), r);
      const bool eq = MatchesRecord(Leaf(c, MetadataOp::kEq, c.operand), r);
      const bool gt = MatchesRecord(Leaf(c, MetadataOp::kGt, c.operand), r);
      const bool lte = MatchesRecord(Leaf(c, MetadataOp::kLte, c.operand), r);
      const bool gte = MatchesRecord(Leaf(c, MetadataOp::kGte, c.operand), r);
      const MetadataValue* stored = nullptr;
      if (r.metadata) {
        auto it = r.metadata->find(c.key);
        if (it != r.metadata->end()) stored = &it->second;
      }
      const int holding = int(lt) + int(eq) + int(gt);
      FUZZ_CHECK(holding == (stored != nullptr && IsNumber(*stored) ? 1 : 0),
                 "numbers are not totally ordered: " + EncodeWhere(leaf));
      FUZZ_CHECK(lte == (lt || eq) && gte == (gt || eq),
                 "$lte/$gte are not $lt/$gt or $eq: " + EncodeWhere(leaf));
    }
  }
}

void CheckDocumentLeaf(const DocumentCondition& c) {
  DocumentCondition negated = c;
  switch (c.op) {
    case DocumentOp::kContains: negated.op = DocumentOp::kNotContains; break;
    case DocumentOp::kNotContains: negated.op = DocumentOp::kContains; break;
    case DocumentOp::kRegex: negated.op = DocumentOp::kNotRegex; break;
    case DocumentOp::kNotRegex: negated.op = DocumentOp::kRegex; break;
  }
  const Where leaf{c};
  const Where other{negated};
  for (const Record& r : Records()) {
    FUZZ_CHECK(MatchesRecord(leaf, r) != MatchesRecord(other, r),
               "negated document operator is not the exact negation: " + EncodeWhere(leaf));
  }
}

void CheckLeaves(const Where& where) {
  if (const auto* c = std::get_if<WhereComposite>(&where.node)) {
    for (const Where& child : c->children) CheckLeaves(child);
  } else if (const auto* m = std::get_if<MetadataCondition>(&where.node)) {
    CheckMetadataLeaf(*m);
  } else {
    CheckDocumentLeaf(std::get<DocumentCondition>(where.node));
  }
}

void CheckEvaluation(const Where& where) {
  for (const Record& r : Records()) (void)MatchesRecord(where, r);
  CheckLeaves(where);
  const Indexes& indexes = BuiltIndexes();
  CheckIndex(where, indexes.forward, indexes.forward_live, "forward");
  CheckIndex(where, indexes.churned, indexes.churned_live, "churned");
}

void CheckError(const Status& status, std::string_view clause_prefix) {
  FUZZ_CHECK(status.code() == StatusCode::kInvalidArgument,
             "a filter error is not a 400: " + status.ToString());
  const std::string& m = status.message();
  FUZZ_CHECK(m.starts_with(clause_prefix) || m.starts_with("Regex syntax errror: "),
             "a filter error lacks Chroma's prefix: " + m);
}

bool IsEmptyObject(simdjson::dom::element el) {
  simdjson::dom::object obj;
  return !el.get_object().get(obj) && obj.size() == 0;
}

}  // namespace
}  // namespace chromahouse

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace chromahouse;
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  if (!fuzz::ParseJson(parser, std::string_view(reinterpret_cast<const char*>(data), size),
                       &root)) {
    return 0;
  }
  const bool empty_object = IsEmptyObject(root);

  Result<Where> where_v2 = DecodeWhere(root, WhereDialect::kV2);
  Result<Where> where_v1 = DecodeWhere(root, WhereDialect::kV1);
  Result<Where> doc_v2 = DecodeWhereDocument(root, WhereDialect::kV2);
  Result<Where> doc_v1 = DecodeWhereDocument(root, WhereDialect::kV1);

  for (const Result<Where>* r : {&where_v2, &where_v1}) {
    if (!r->ok()) CheckError(r->status(), "Invalid where clause: ");
  }
  for (const Result<Where>* r : {&doc_v2, &doc_v1}) {
    if (!r->ok()) CheckError(r->status(), "Invalid where document clause: ");
  }
  if (where_v1.ok() && !empty_object) {
    FUZZ_CHECK(
        where_v2.ok() && *where_v2 == *where_v1,
        "v1 accepts a where that v2 rejects or reads differently: " + EncodeWhere(*where_v1));
  }
  if (doc_v1.ok() && !empty_object) {
    FUZZ_CHECK(doc_v2.ok() && *doc_v2 == *doc_v1,
               "v1 accepts a where_document that v2 rejects or reads differently: " +
                   EncodeWhere(*doc_v1));
  }
  if (empty_object) {
    FUZZ_CHECK(where_v1.ok() && where_v1->IsMatchAll() && doc_v1.ok() && doc_v1->IsMatchAll(),
               std::string("v1 {} is not \"no filter\""));
  }

  if (where_v2.ok()) {
    fuzz::CheckWhereRoundTrip(*where_v2);
    CheckEvaluation(*where_v2);
  }
  if (doc_v2.ok()) {
    fuzz::CheckWhereDocumentRoundTrip(*doc_v2);
    CheckEvaluation(*doc_v2);
  }
  return 0;
}
