// JSON → Where for the `where` and `where_document` request fields (API.md §4.1, §4.3, §7.2).
//
// Every invalid filter is a 400 (StatusCode::kInvalidArgument) whose message starts with
// Chroma's text, "Invalid where clause" or "Invalid where document clause", followed by ": " and
// the reason, naming the offending key, operator and value, plus the position inside nested
// $and/$or when there is one, e.g.
//   Invalid where clause: operator $gt needs a number operand, got string "a" for key "s"
//   Invalid where clause: operator $in needs elements of one type (the first is an integer),
//     got string "5" at index 1 for key "i" (at $and[1])
// An invalid $regex / $not_regex pattern is a 400 whose message starts with Chroma's
// "Regex syntax errror:" (sic) and quotes the pattern.
//
// Regexes use Chroma's (Rust `regex` crate) syntax and are compiled here, once per request, with
// RE2. The two dialects are close; known differences:
//   - \d \s \w \b are ASCII-only in RE2, Unicode-aware in Rust.
//   - not supported here (400), though Rust accepts them: verbose mode (?x), the (?u)/(?-u) and
//     (?R) flags, \< \> \b{start} \b{end} word-boundary forms, nested classes and class set
//     operations ([a-z&&[^b]], [a--b], [a~~b]). They are rejected rather than silently
//     misread, since RE2 would otherwise treat several of them as literals.
//   - (?<name>…) is accepted (rewritten to RE2's (?P<name>…)).
//   - {,n} is a 400 in both.
// Duplicate keys in a JSON object keep the last value (serde_json's rule, which Chroma follows).
#pragma once

#include <simdjson.h>

#include <string>

#include "common/status.h"
#include "core/where.h"

namespace chromahouse {

enum class WhereDialect {
  // Chroma 1.x (/api/v2): `{}` is a 400; $and/$or accept any number of children, including
  // 0 ($and: [] matches everything, $or: [] nothing) and 1.
  kV2,
  // Python servers 0.4–0.6 (/api/v1): a top-level `{}` means "no filter" (decodes to
  // Where::MatchAll()); $and/$or need at least two children.
  kV1,
};

// Decodes a `where` value. JSON null decodes to Where::MatchAll() (Chroma: no filter); callers
// normally skip absent/null fields before calling. `#document` conditions become
// DocumentConditions (regexes compiled).
Result<Where> DecodeWhere(simdjson::dom::element el, WhereDialect dialect);

// Decodes a `where_document` value: $contains, $not_contains, $regex, $not_regex (string
// operands) and $and/$or of where_document objects. JSON null decodes to Where::MatchAll().
Result<WhereDocument> DecodeWhereDocument(simdjson::dom::element el, WhereDialect dialect);

// Canonical JSON for a tree (explicit operator form, document conditions as
// {"#document":{"$op":"…"}}), for logs and tests. DecodeWhere(EncodeWhere(w), kV2) == w.
std::string EncodeWhere(const Where& where);

}  // namespace chromahouse
