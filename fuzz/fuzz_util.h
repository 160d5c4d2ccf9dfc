// Helpers shared by the fuzz targets: invariant checks that abort() (so libFuzzer and the
// corpus replayers report them like crashes), and the canonical re-encoders the round-trip
// invariants need.
//
// Header-only: each target is one .cc plus this file, built either as a libFuzzer binary or,
// with fuzz/replay_main.cc, as a plain replay executable (see fuzz/README.md).
#pragma once

#include <simdjson.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>
#include <vector>

#include "codec/where_codec.h"
#include "common/json_writer.h"
#include "common/status.h"
#include "core/where.h"

namespace chromahouse::fuzz {

// Prints the broken invariant and aborts. `detail` names the values involved.
[[noreturn]] inline void Fail(const char* file, int line, const char* invariant,
                              const std::string& detail) {
  std::fprintf(stderr, "\n%s:%d: invariant violated: %s\n  %s\n", file, line, invariant,
               detail.c_str());
  std::fflush(stderr);
  std::abort();
}

// FUZZ_CHECK(cond, detail): `detail` (a std::string expression) is evaluated only on failure.
#define FUZZ_CHECK(cond, detail)                                                 \
  do {                                                                           \
    if (!(cond)) ::chromahouse::fuzz::Fail(__FILE__, __LINE__, #cond, (detail)); \
  } while (0)

// Parses `text` into `parser`'s document; false when it is not JSON.
inline bool ParseJson(simdjson::dom::parser& parser, std::string_view text,
                      simdjson::dom::element* root) {
  return !parser.parse(text.data(), text.size()).get(*root);
}

inline bool IsJson(std::string_view text) {
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  return ParseJson(parser, text, &root);
}

// Float vectors compared bit for bit (NaN payloads and the sign of zero included).
inline bool SameBits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * 4) == 0);
}

inline std::string StatusText(const Status& status) { return status.ToString(); }

// The where_document form of a tree decoded from a where_document ({"$contains": …},
// {"$and": [...]}); every leaf must be a DocumentCondition.
inline void WriteWhereDocument(JsonWriter& w, const Where& where) {
  w.BeginObject();
  if (const auto* c = std::get_if<WhereComposite>(&where.node)) {
    w.Key(c->op == BoolOp::kAnd ? "$and" : "$or");
    w.BeginArray();
    for (const Where& child : c->children) WriteWhereDocument(w, child);
    w.EndArray();
  } else {
    const auto* d = std::get_if<DocumentCondition>(&where.node);
    FUZZ_CHECK(d != nullptr,
               "a where_document tree holds a metadata condition: " + EncodeWhere(where));
    switch (d->op) {
      case DocumentOp::kContains: w.Key("$contains"); break;
      case DocumentOp::kNotContains: w.Key("$not_contains"); break;
      case DocumentOp::kRegex: w.Key("$regex"); break;
      case DocumentOp::kNotRegex: w.Key("$not_regex"); break;
    }
    w.String(d->pattern);
  }
  w.EndObject();
}

inline std::string EncodeWhereDocument(const Where& where) {
  JsonWriter w;
  WriteWhereDocument(w, where);
  return w.Take();
}

// Regex leaves carry their compiled pattern (where_codec.h's promise to the evaluator).
inline void CheckRegexesCompiled(const Where& where) {
  if (const auto* c = std::get_if<WhereComposite>(&where.node)) {
    for (const Where& child : c->children) CheckRegexesCompiled(child);
  } else if (const auto* d = std::get_if<DocumentCondition>(&where.node)) {
    const bool is_regex = d->op == DocumentOp::kRegex || d->op == DocumentOp::kNotRegex;
    FUZZ_CHECK(is_regex == (d->regex != nullptr),
               "regex leaf without a compiled pattern (or the reverse): " + EncodeWhere(where));
  }
}

// EncodeWhere's contract (where_codec.h): DecodeWhere(EncodeWhere(w), kV2) == w, and encoding
// the result again gives the same text.
inline void CheckWhereRoundTrip(const Where& where) {
  CheckRegexesCompiled(where);
  const std::string text = EncodeWhere(where);
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  FUZZ_CHECK(ParseJson(parser, text, &root), "EncodeWhere wrote invalid JSON: " + text);
  Result<Where> again = DecodeWhere(root, WhereDialect::kV2);
  FUZZ_CHECK(again.ok(),
             "EncodeWhere output does not decode: " + text + " -> " + StatusText(again.status()));
  FUZZ_CHECK(*again == where,
             "EncodeWhere output decodes to another tree: " + text + " -> " + EncodeWhere(*again));
  FUZZ_CHECK(EncodeWhere(*again) == text,
             "EncodeWhere is not canonical: " + text + " then " + EncodeWhere(*again));
}

// The same for a where_document tree and its own JSON form.
inline void CheckWhereDocumentRoundTrip(const Where& where) {
  CheckWhereRoundTrip(where);
  const std::string text = EncodeWhereDocument(where);
  simdjson::dom::parser parser;
  simdjson::dom::element root;
  FUZZ_CHECK(ParseJson(parser, text, &root), "where_document re-encoding is not JSON: " + text);
  Result<Where> again = DecodeWhereDocument(root, WhereDialect::kV2);
  FUZZ_CHECK(again.ok(), "re-encoded where_document does not decode: " + text + " -> " +
                             StatusText(again.status()));
  FUZZ_CHECK(*again == where, "re-encoded where_document decodes to another tree: " + text);
}

}  // namespace chromahouse::fuzz
