// RecordStore: the in-memory form of one collection's records.
//
// Records live at dense uint32 offsets; ids map to offsets through an open-addressing index
// over the id column (id_index.h); deleted
// offsets are reused. Embeddings sit in one contiguous float32 matrix (row = offset). get()
// order is insertion order (each record's `created` version), kept in `order_`.
//
// Thread safety: none inside; the owner (LoadedCollection) guards it with its data mutex:
// readers shared, Apply exclusive.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "collection/id_index.h"
#include "collection/sparse_column.h"
#include "common/aligned_allocator.h"
#include "common/mutex.h"
#include "common/offset_bitmap.h"
#include "core/record.h"
#include "filter/document_index.h"
#include "filter/metadata_index.h"
#include "index/distance.h"
#include "index/sparse_index.h"
#include "index/vector_index.h"

namespace chromahouse {

class RecordStore {
 public:
  explicit RecordStore(Metric metric) : metric_(metric) {}

  // Applies full row versions (inserts, replacements, tombstones). A row older than the stored
  // version of its id is ignored, so applying is idempotent. Rows must match dim() (the caller
  // validated); the first row with an embedding fixes dim() when it is still 0.
  // Returns the offsets it changed, with whether each now holds a live record.
  // `sort_order` false leaves the insertion order unsorted (a load applying many batches in no
  // particular order): call SortOrder() once at the end.
  std::vector<std::pair<uint32_t, bool>> Apply(std::span<const RecordRow> rows,
                                               bool sort_order = true);
  std::vector<std::pair<uint32_t, bool>> Apply(const std::vector<RecordRow>& rows,
                                               bool sort_order = true) {
    return Apply(std::span<const RecordRow>(rows), sort_order);
  }
  void SortOrder();
  // Room for `records` records (a load that knows about how many are coming): spares the
  // copies and fresh pages of growing the columns and the matrix step by step.
  void Reserve(size_t records);

  size_t dim() const { return dim_; }
  size_t size() const { return id_index_.size(); }
  // One past the largest offset in use.
  size_t capacity() const { return ids_.size(); }
  bool IsLive(uint32_t offset) const { return offset < live_.size() && live_[offset]; }
  // The live offsets as bitmap words (bit o of word o / 64), capacity() bits.
  const std::vector<uint64_t>& live_words() const { return live_bits_; }
  Metric metric() const { return metric_; }

  // Offset of a live record, or nullopt.
  std::optional<uint32_t> Find(std::string_view id) const;
  // Live offsets in insertion order.
  std::vector<uint32_t> OffsetsInInsertionOrder() const;

  const std::string& id(uint32_t offset) const { return ids_[offset]; }
  const float* embedding(uint32_t offset) const { return vectors_.data() + size_t{offset} * dim_; }
  // The matrix of embeddings: row `offset` is embedding(offset). Moves when the store grows.
  const float* matrix() const { return vectors_.data(); }
  const std::optional<std::string>& document(uint32_t offset) const {
    return documents_.Get(offset);
  }
  const std::optional<std::string>& uri(uint32_t offset) const { return uris_.Get(offset); }
  // A record's metadata is kept as its stored JSON text (MetadataToJson, the form of ClickHouse's
  // metadata column): about 40 bytes for a small map, against ~180 for a std::map with one key.
  // metadata() parses it (for merges and the rare filters the metadata index cannot answer);
  // responses copy metadata_json() as it is.
  std::optional<Metadata> metadata(uint32_t offset) const;
  const std::optional<std::string>& metadata_json(uint32_t offset) const {
    return metadatas_.Get(offset);
  }
  uint64_t version(uint32_t offset) const { return versions_[offset]; }
  // The newest version this store has applied for `id` (live or tombstone), 0 if none.
  uint64_t KnownVersion(const std::string& id) const;
  // Tombstones guard against an older write of a deleted id arriving later (from another
  // instance). Those older than `version` can no longer matter: forget them.
  void PruneTombstones(uint64_t version);
  size_t tombstone_count() const { return tombstones_.size(); }
  uint64_t created(uint32_t offset) const { return created_[offset]; }
  // created() of every offset below capacity(), as an array (valid until the next Apply).
  const uint64_t* created_keys() const { return created_.data(); }
  // The full current row of a live record (for merges on update/upsert).
  RecordRow Row(uint32_t offset) const;

  // Offsets among `offsets` (live, in the given order) matching a metadata-only `where`, from
  // the metadata index; nullopt when the index cannot answer (the caller then scans).
  std::optional<std::vector<uint32_t>> FilterByIndex(const Where& where,
                                                     const std::vector<uint32_t>& offsets) const {
    return metadata_index_.Evaluate(where, offsets);
  }

  // The live offsets matching a metadata-only `where`, from the metadata index, as a bitmap;
  // nullopt when the index cannot answer (the caller then scans).
  std::optional<OffsetBitmap> FilterBitmap(const Where& where) const;

  // The trigram index of the documents (filter/document_index.h), built at the first call (a
  // collection that never sees a document filter never pays for it) and kept up to date by
  // Apply from then on. Safe to call from readers sharing the collection's lock.
  const DocumentIndex& document_index() const;
  bool document_index_built() const { return document_index_ready_.load(); }

  // The inverted index of the sparse vectors under metadata key `key` (every key holding one
  // has an index), or nullptr when no live record has one there.
  const SparseIndex* sparse_index(std::string_view key) const;

  // Exact k nearest among `offsets`, sorted by distance (ties in an unspecified order).
  std::vector<Neighbor> Nearest(const float* query, const std::vector<uint32_t>& offsets,
                                size_t k) const;

  // Approximate bytes held (for the cache budget); O(1), kept up to date by Apply.
  size_t MemoryBytes() const;

 private:
  uint32_t Allocate();
  void Release(uint32_t offset);
  void Store(uint32_t offset, const RecordRow& row);
  size_t RecordBytes(uint32_t offset) const;
  // Adds to / removes from the sparse indexes the sparse vectors of `metadata` at `offset`.
  void IndexSparse(uint32_t offset, const Metadata& metadata, bool insert);
  // Takes the document at `offset` out of the document index (if built).
  void UnindexDocument(uint32_t offset);

  Metric metric_;
  size_t dim_ = 0;
  size_t reserved_ = 0;      // Reserve()'s records, for the matrix once dim_ is known
  size_t record_bytes_ = 0;  // ids, documents, uris, metadata of live records
  IdIndex id_index_;         // id → offset, keyed by ids_
  std::vector<std::string> ids_;
  // Row-major, 64-byte aligned (row = offset).
  std::vector<float, AlignedAllocator<float, 64>> vectors_;
  // 4 bytes per record without one (collection/sparse_column.h).
  SparseColumn<std::string> documents_;
  SparseColumn<std::string> uris_;
  SparseColumn<std::string> metadatas_;  // MetadataToJson text
  std::vector<uint64_t> versions_;
  std::vector<uint64_t> created_;
  std::vector<uint8_t> live_;
  std::vector<uint64_t> live_bits_;  // live_ as a bitmap (for filters)
  std::vector<uint32_t> free_;
  // (created, offset) in ascending created order; entries whose offset no longer holds that
  // record are stale and skipped (and compacted away once they dominate).
  std::vector<std::pair<uint64_t, uint32_t>> order_;
  bool order_sorted_ = true;
  // Newest tombstone version seen per deleted id, so that an older write applied late cannot
  // resurrect it.
  std::unordered_map<std::string, uint64_t> tombstones_;
  MetadataIndex metadata_index_;  // over the metadata of live records
  std::map<std::string, std::unique_ptr<SparseIndex>, std::less<>> sparse_;  // by metadata key
  // Built by the first reader that needs it (document_index()); `document_index_mu_` guards
  // the building, `document_index_ready_` says it is done (then Apply keeps it current under
  // the owner's exclusive lock).
  mutable Mutex document_index_mu_;
  mutable std::unique_ptr<DocumentIndex> document_index_;
  mutable std::atomic<bool> document_index_ready_{false};
};

}  // namespace chromahouse
