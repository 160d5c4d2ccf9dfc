// Evaluates a Where tree against one record (API.md §4.2, §4.3).
//
// Semantics:
//   - Type-strict: a string never equals a number, a bool never equals a number.
//   - Ints and floats compare as true numbers, exactly: 5 == 5.0, 6 > 5.5, and the int64
//     9007199254740993 is greater than the double 9007199254740992.0. (Chroma 1.x's local
//     server truncates a float operand against an int value; that quirk is not copied.)
//   - A missing key never matches $eq, $gt/$gte/$lt/$lte, $in or $contains; $ne, $nin and
//     $not_contains are the exact negations of $eq, $in and $contains, so they match records
//     lacking the key, records with no metadata at all, and values of another type.
//   - $eq, $in and the orderings never look inside array values. $contains tests membership
//     in an array value with the exact element type (an int array contains 1 but not 1.0, a
//     float array contains 1.0 but not 1); on a scalar value it matches nothing.
//   - Key "chroma:document", when the metadata lacks it, reads the document as a string value
//     (Chroma stores documents under that reserved key and lets filters name it).
//   - Documents: $contains is a case-sensitive literal substring test ("" matches any record
//     that has a document); $regex is an unanchored search. A record without a document never
//     matches $contains / $regex and always matches $not_contains / $not_regex.
//   - $and of no children matches everything, $or of no children nothing.
//   - Key "#id" (a search's filter, API.md §13), when the record's id is given, reads the id as
//     a string value ($eq, $ne, $in, $nin).
//
// Thread-safe (pure); cost is linear in the tree size plus the document scans.
#pragma once

#include <string>

#include "core/metadata.h"
#include "core/where.h"

namespace chromahouse {

// `metadata` / `document` null: the record has no metadata / no document. Regex conditions
// must carry their compiled regex (codec/where_codec.h always sets it); one without matches
// nothing for $regex and everything for $not_regex.
// `id` non-null: conditions on key "#id" read it.
bool Matches(const Where& where, const Metadata* metadata, const std::string* document,
             const std::string* id = nullptr);

}  // namespace chromahouse
