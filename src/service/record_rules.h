// Chroma's rules for record writes (API.md §3), as pure functions: what a request must satisfy
// before it is queued, and what one record of it becomes against the record's current state.
// No threads, no storage: the group-commit writer (service/group_commit.h) applies them.
#pragma once

#include <cstddef>
#include <optional>

#include "common/status.h"
#include "core/record.h"
#include "core/record_requests.h"

namespace chromahouse {

// The checks that need no state: columns as long as `ids`, no empty id, embeddings of one
// non-zero dimension (returned; 0 when the request carries none), metadata keys and sparse
// vectors as Chroma allows them.
Result<size_t> ValidateWrite(const RecordWriteRequest& request);

// Record `i` of `request` written over `current` (the record's state including earlier writes
// of the same group; nullptr: none). nullopt: the write leaves it alone — an add of an existing
// id, an update of a missing one, or a new record without an embedding. The result's version
// and created are the caller's to set (created stays the current record's).
std::optional<RecordRow> MergeWrite(RecordWriteKind kind, const RecordWriteRequest& request,
                                    size_t i, const RecordRow* current);

// `base` with `patch` applied: given keys overwrite, removed keys go; nullopt when empty.
std::optional<Metadata> MergeMetadata(const std::optional<Metadata>& base,
                                      const MetadataPatch& patch);

}  // namespace chromahouse
