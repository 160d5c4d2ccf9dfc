// RecordCommitter: makes rows durable and visible — the storage write (counted in OwnWrites),
// then the apply to the loaded collection, its re-measurement against the cache budget, the
// background indexer's turn, and the announcement to other instances. Rows that other
// instances stored, read by a refresh, take the same way from the apply on.
//
// Thread safety: all methods are thread-safe; a caller of Commit holds the collection's
// CommitTurn (storage order = memory order). Set* before serving.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "collection/collection_cache.h"
#include "collection/loaded_collection.h"
#include "common/status.h"
#include "service/background_indexer.h"
#include "service/own_writes.h"
#include "storage/storage.h"

namespace chromahouse {

class RecordCommitter {
 public:
  RecordCommitter(Storage* storage, CollectionCache* cache, BackgroundIndexer* indexer,
                  OwnWrites* own_writes)
      : storage_(storage), cache_(cache), indexer_(indexer), own_writes_(own_writes) {}

  // Writes `rows` to storage, then applies them. Nothing is applied when storage fails.
  // `write_seconds`, when given, receives the time of the storage write alone.
  Status Commit(LoadedCollection& loaded, const std::vector<RecordRow>& rows,
                double* write_seconds = nullptr);
  // Applies rows that storage already holds (written by another instance).
  void Apply(LoadedCollection& loaded, const std::vector<RecordRow>& rows);

  // How far behind the watermark refreshes look again (FreshnessOptions::window_ms), or -1 when
  // nothing is ever refreshed: tombstones older than that are forgotten once they pile up.
  void SetRefreshWindow(int64_t window_ms) { refresh_window_ms_ = window_ms; }
  // Called with the collection and the highest version of every write once storage holds it
  // (to announce it to other instances).
  using StoredListener = std::function<void(const std::string& collection_id, uint64_t version)>;
  void SetStoredListener(StoredListener listener) { stored_listener_ = std::move(listener); }

 private:
  Storage* storage_;
  CollectionCache* cache_;
  BackgroundIndexer* indexer_;
  OwnWrites* own_writes_;
  int64_t refresh_window_ms_ = -1;
  StoredListener stored_listener_;
};

}  // namespace chromahouse
