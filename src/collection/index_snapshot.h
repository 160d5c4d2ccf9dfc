// Index snapshots: a collection's HNSW graph saved in Storage, so that a new instance (or one
// that evicted the collection) adopts it instead of rebuilding the graph from scratch.
//
// Payload, format 1 (host byte order):
//   "CHSNAP01", u32 format, u32 dim, u64 watermark, u64 nodes,
//   nodes × (u32 length, id bytes), nodes × u64 Hash64 of the node's float32 vector,
//   u64 image length, the graph image (HnswIndex::AppendImage),
//   u64 Hash64 of every byte before it.
// Nodes are named by record id, not offset (offsets differ from one load to the next). On load a
// node is reused when its record still exists with the same vector (same hash); a record whose
// vector changed keeps its node for routing but is re-inserted; a vanished record's node is
// dropped; records the snapshot lacks are indexed in the background like any new write. So a
// stale snapshot costs re-indexing, never a wrong answer; a corrupt one (checksum, format,
// dimension, parameters, graph structure) is refused with the reason, and the caller rebuilds.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "collection/record_store.h"
#include "common/status.h"
#include "index/hnsw_index.h"

namespace chromahouse {

constexpr uint32_t kIndexSnapshotFormat = 1;

// The snapshot of `index` over `store` (the caller holds both still), covering the versions up to
// `watermark`.
std::string EncodeIndexSnapshot(const RecordStore& store, const HnswIndex& index,
                                uint64_t watermark);

struct DecodedIndexSnapshot {
  std::unique_ptr<HnswIndex> index;
  std::vector<uint32_t> changed;  // offsets in the graph whose vector changed: re-insert them
  size_t reused = 0;              // nodes adopted as they were
  size_t dropped = 0;             // nodes whose record is gone
  uint64_t watermark = 0;
};

// A graph for `store` from `payload`; `params` are the collection's (dim comes from the store).
Result<DecodedIndexSnapshot> DecodeIndexSnapshot(std::string_view payload, const RecordStore& store,
                                                 HnswParams params);

}  // namespace chromahouse
