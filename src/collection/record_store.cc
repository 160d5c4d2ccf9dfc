#include "collection/record_store.h"

#include <algorithm>

#include "index/brute_force.h"

namespace chromahouse {

uint32_t RecordStore::Allocate() {
  if (!free_.empty()) {
    uint32_t o = free_.back();
    free_.pop_back();
    return o;
  }
  uint32_t o = static_cast<uint32_t>(ids_.size());
  ids_.emplace_back();
  documents_.AppendEmpty();
  uris_.AppendEmpty();
  metadatas_.AppendEmpty();
  versions_.push_back(0);
  created_.push_back(0);
  live_.push_back(0);
  if (live_bits_.size() * 64 < live_.size()) live_bits_.push_back(0);
  if (dim_ > 0) {
    // Grow geometrically: fresh pages are expensive on these machines.
    size_t need = ids_.size() * dim_;
    if (vectors_.capacity() < need) vectors_.reserve(std::max(need, vectors_.capacity() * 2));
    vectors_.resize(need);
  }
  return o;
}

size_t RecordStore::RecordBytes(uint32_t offset) const {
  size_t bytes = ids_[offset].size() + 96;
  if (const auto& d = document(offset)) bytes += d->size() + 32;
  if (const auto& u = uri(offset)) bytes += u->size() + 32;
  if (const auto& m = metadata_json(offset)) bytes += m->size() + 32;
  return bytes;
}

std::optional<Metadata> RecordStore::metadata(uint32_t offset) const {
  const auto& json = metadatas_.Get(offset);
  if (!json) return std::nullopt;
  Result<Metadata> parsed = MetadataFromJson(*json);
  // The text was written by MetadataToJson when the record was stored.
  if (!parsed.ok()) return std::nullopt;
  return std::move(parsed).value();
}

void RecordStore::IndexSparse(uint32_t offset, const Metadata& metadata, bool insert) {
  for (const auto& [key, value] : metadata) {
    const auto* sv = std::get_if<SparseValue>(&value);
    if (sv == nullptr) continue;
    if (insert) {
      auto it = sparse_.find(key);
      if (it == sparse_.end()) it = sparse_.emplace(key, std::make_unique<SparseIndex>()).first;
      it->second->Insert(offset, sv->vector);
    } else if (auto it = sparse_.find(key); it != sparse_.end()) {
      it->second->Remove(offset);
      if (it->second->size() == 0) sparse_.erase(it);
    }
  }
}

void RecordStore::UnindexDocument(uint32_t offset) {
  if (!document_index_ready_.load(std::memory_order_relaxed)) return;
  const auto& doc = documents_.Get(offset);
  if (!doc) return;
  document_index_->Remove(offset, *doc, [this, offset](uint32_t o) -> const std::string* {
    if (o == offset || !IsLive(o)) return nullptr;
    const auto& d = documents_.Get(o);
    return d ? &*d : nullptr;
  });
}

const DocumentIndex& RecordStore::document_index() const {
  if (document_index_ready_.load(std::memory_order_acquire)) return *document_index_;
  MutexLock lock(document_index_mu_);
  if (!document_index_) {
    auto index = std::make_unique<DocumentIndex>();
    for (uint32_t o = 0; o < live_.size(); ++o) {
      if (!live_[o]) continue;
      if (const auto& doc = documents_.Get(o)) index->Insert(o, *doc);
    }
    document_index_ = std::move(index);
    document_index_ready_.store(true, std::memory_order_release);
  }
  return *document_index_;
}

const SparseIndex* RecordStore::sparse_index(std::string_view key) const {
  auto it = sparse_.find(key);
  return it == sparse_.end() ? nullptr : it->second.get();
}

void RecordStore::Release(uint32_t offset) {
  record_bytes_ -= RecordBytes(offset);
  UnindexDocument(offset);
  if (auto m = metadata(offset)) {
    metadata_index_.Remove(offset, *m);
    IndexSparse(offset, *m, false);
  }
  ids_[offset].clear();
  documents_.Reset(offset);
  uris_.Reset(offset);
  metadatas_.Reset(offset);
  live_[offset] = 0;
  live_bits_[offset >> 6] &= ~(uint64_t{1} << (offset & 63));
  free_.push_back(offset);
}

void RecordStore::Store(uint32_t offset, const RecordRow& row) {
  if (live_[offset]) {
    record_bytes_ -= RecordBytes(offset);
    UnindexDocument(offset);
    if (auto m = metadata(offset)) {
      metadata_index_.Remove(offset, *m);
      IndexSparse(offset, *m, false);
    }
  }
  if (row.metadata) {
    metadata_index_.Insert(offset, *row.metadata);
    IndexSparse(offset, *row.metadata, true);
  }
  ids_[offset] = row.id;
  documents_.Set(offset, row.document);
  if (document_index_ready_.load(std::memory_order_relaxed) && row.document) {
    document_index_->Insert(offset, *row.document);
  }
  uris_.Set(offset, row.uri);
  if (row.metadata) {
    metadatas_.Set(offset, MetadataToJson(*row.metadata));
  } else {
    metadatas_.Reset(offset);
  }
  versions_[offset] = row.version;
  created_[offset] = row.created;
  live_[offset] = 1;
  live_bits_[offset >> 6] |= uint64_t{1} << (offset & 63);
  record_bytes_ += RecordBytes(offset);
  if (dim_ > 0 && row.embedding.size() == dim_) {
    std::copy(row.embedding.begin(), row.embedding.end(), vectors_.begin() + size_t{offset} * dim_);
  }
}

uint64_t RecordStore::KnownVersion(const std::string& id) const {
  uint64_t v = 0;
  if (auto o = id_index_.Find(id, ids_)) v = versions_[*o];
  if (auto t = tombstones_.find(id); t != tombstones_.end()) v = std::max(v, t->second);
  return v;
}

void RecordStore::PruneTombstones(uint64_t version) {
  std::erase_if(tombstones_, [version](const auto& t) { return t.second < version; });
}

void RecordStore::Reserve(size_t records) {
  reserved_ = std::max(reserved_, records);
  ids_.reserve(records);
  documents_.Reserve(records);
  uris_.Reserve(records);
  metadatas_.Reserve(records);
  versions_.reserve(records);
  created_.reserve(records);
  live_.reserve(records);
  live_bits_.reserve(records / 64 + 1);
  order_.reserve(records);
  id_index_.Reserve(records);
  if (dim_ > 0) vectors_.reserve(records * dim_);
}

void RecordStore::SortOrder() {
  if (!order_sorted_) {
    std::stable_sort(order_.begin(), order_.end());
    order_sorted_ = true;
  }
}

std::vector<std::pair<uint32_t, bool>> RecordStore::Apply(std::span<const RecordRow> rows,
                                                          bool sort_order) {
  std::vector<std::pair<uint32_t, bool>> changes;
  changes.reserve(rows.size());
  for (const RecordRow& row : rows) {
    if (dim_ == 0 && !row.deleted && !row.embedding.empty()) {
      dim_ = row.embedding.size();
      vectors_.reserve(std::max(reserved_, ids_.size()) * dim_);
      vectors_.assign(ids_.size() * dim_, 0.0f);
    }
    const std::optional<uint32_t> found = id_index_.Find(row.id, ids_);
    if (found && versions_[*found] > row.version) continue;
    auto tomb = tombstones_.find(row.id);
    if (tomb != tombstones_.end() && tomb->second > row.version) continue;
    if (row.deleted) {
      tombstones_[row.id] = row.version;
      if (found) {
        changes.emplace_back(*found, false);
        id_index_.Erase(row.id, ids_);  // before Release clears the id it is keyed by
        Release(*found);
      }
      continue;
    }
    if (tomb != tombstones_.end()) tombstones_.erase(tomb);
    if (found) {
      uint32_t o = *found;
      bool reorder = created_[o] != row.created;
      Store(o, row);
      changes.emplace_back(o, true);
      if (reorder) {
        order_.emplace_back(row.created, o);
        order_sorted_ = false;
      }
      continue;
    }
    uint32_t o = Allocate();
    Store(o, row);
    changes.emplace_back(o, true);
    id_index_.Insert(row.id, o);
    if (!order_.empty() && order_.back().first > row.created) order_sorted_ = false;
    order_.emplace_back(row.created, o);
  }
  if (order_.size() > 2 * id_index_.size() + 64) {
    std::vector<std::pair<uint64_t, uint32_t>> kept;
    kept.reserve(id_index_.size());
    for (auto e : order_) {
      if (live_[e.second] && created_[e.second] == e.first) kept.push_back(e);
    }
    order_.swap(kept);
  }
  if (sort_order) SortOrder();
  return changes;
}

std::optional<uint32_t> RecordStore::Find(std::string_view id) const {
  return id_index_.Find(id, ids_);
}

std::vector<uint32_t> RecordStore::OffsetsInInsertionOrder() const {
  std::vector<uint32_t> out;
  out.reserve(id_index_.size());
  for (auto [created, o] : order_) {
    if (live_[o] && created_[o] == created) out.push_back(o);
  }
  // An offset reused for the same created value cannot appear twice: created versions are
  // unique per record.
  return out;
}

std::optional<OffsetBitmap> RecordStore::FilterBitmap(const Where& where) const {
  auto bits = metadata_index_.EvaluateBits(where, live_.size());
  if (!bits) return std::nullopt;
  for (size_t w = 0; w < bits->size(); ++w) (*bits)[w] &= live_bits_[w];
  return OffsetBitmap(std::move(*bits));
}

RecordRow RecordStore::Row(uint32_t offset) const {
  RecordRow r;
  r.id = ids_[offset];
  r.version = versions_[offset];
  r.created = created_[offset];
  if (dim_ > 0) r.embedding.assign(embedding(offset), embedding(offset) + dim_);
  r.document = document(offset);
  r.uri = uri(offset);
  r.metadata = metadata(offset);
  return r;
}

std::vector<Neighbor> RecordStore::Nearest(const float* query, const std::vector<uint32_t>& offsets,
                                           size_t k) const {
  if (dim_ == 0 || k == 0 || offsets.empty()) return {};
  MatrixView m{vectors_.data(), ids_.size(), dim_, dim_};
  return BruteForceSearch(metric_, query, m, std::span<const uint32_t>(offsets), k);
}

size_t RecordStore::MemoryBytes() const {
  size_t sparse_bytes = 0;
  for (const auto& [key, index] : sparse_) sparse_bytes += index->MemoryBytes();
  if (document_index_ready_.load(std::memory_order_acquire)) {
    sparse_bytes += document_index_->MemoryBytes();
  }
  return vectors_.capacity() * sizeof(float) + record_bytes_ +
         ids_.capacity() * (sizeof(std::string) + 2 * sizeof(uint64_t) + 1) +
         documents_.MemoryBytes() + uris_.MemoryBytes() + metadatas_.MemoryBytes() +
         tombstones_.size() * (sizeof(std::string) + sizeof(uint64_t) + 2 * sizeof(void*)) +
         id_index_.MemoryBytes() + order_.capacity() * sizeof(order_[0]) + sparse_bytes;
}

}  // namespace chromahouse
