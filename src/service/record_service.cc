#include "service/record_service.h"

#include <algorithm>
#include <chrono>
#include <thread>
#include <unordered_set>

#include "collection/filter_planner.h"
#include "common/metrics.h"
#include "service/record_rules.h"
#include "service/search_executor.h"

namespace chromahouse {
namespace {

HnswParams IndexParams(const Collection& c) {
  HnswParams p;
  switch (c.configuration.hnsw.space) {
    case Space::kL2: p.metric = Metric::kL2; break;
    case Space::kCosine: p.metric = Metric::kCosine; break;
    case Space::kIp: p.metric = Metric::kInnerProduct; break;
  }
  p.max_neighbors =
      static_cast<size_t>(std::clamp<int64_t>(c.configuration.hnsw.max_neighbors, 2, 4096));
  p.ef_construction =
      static_cast<size_t>(std::max<int64_t>(c.configuration.hnsw.ef_construction, 1));
  p.ef_search = static_cast<size_t>(std::max<int64_t>(c.configuration.hnsw.ef_search, 1));
  return p;
}

// A read-only view of the record at `offset` (valid while the collection's lock is held).
RecordView ViewOf(const RecordStore& store, uint32_t offset) {
  RecordView v;
  v.id = store.id(offset);
  v.embedding = store.embedding(offset);
  v.dim = store.dim();
  v.document = &store.document(offset);
  v.uri = &store.uri(offset);
  v.metadata_json = &store.metadata_json(offset);
  return v;
}

// Counts how filters were answered (chromahouse_filter_plan_total).
void CountFilterPlan(const FilterPlanner::Counts& counts) {
  auto add = [](const char* path, int64_t n) {
    if (n == 0) return;
    Metrics()
        .GetCounter("chromahouse_filter_plan_total",
                    "Filter steps by how they were answered: subtrees by the metadata index, "
                    "document conditions narrowed by the document index, records checked one "
                    "by one",
                    {{"path", path}})
        .Add(n);
  };
  add("metadata_index", counts.metadata_index);
  add("document_index", counts.document_index);
  add("record_checked", counts.records_checked);
}

// The live offsets matching `where` and `where_document` (either may be absent), among `scope`
// when given (a request's ids: only those are checked).
OffsetBitmap FilterMatching(const RecordStore& store, const std::optional<Where>& where,
                            const std::optional<Where>& where_document,
                            const OffsetBitmap* scope = nullptr) {
  FilterPlanner planner(store);
  const Where filter = where && where_document ? Where::And({*where, *where_document})
                       : where                 ? *where
                                               : *where_document;
  OffsetBitmap out = scope ? planner.Evaluate(filter, *scope) : planner.Evaluate(filter);
  CountFilterPlan(planner.counts());
  return out;
}

// The collection's embedding dimension: its records', else the catalog's (set by a write that
// carried embeddings), else 0 (nothing was ever written).
size_t DimensionOf(const Collection& c, const RecordStore& store) {
  if (store.dim() != 0) return store.dim();
  return c.dimension ? static_cast<size_t>(*c.dimension) : 0;
}

size_t EfSearchOf(const Collection& c) {
  return static_cast<size_t>(std::max<int64_t>(c.configuration.hnsw.ef_search, 1));
}

Status DimensionMismatch(size_t expected, size_t got) {
  return Status::InvalidArgument("Collection expecting embedding with dimension of " +
                                 std::to_string(expected) + ", got " + std::to_string(got));
}

}  // namespace

RecordService::RecordService(CatalogService* catalog, Storage* storage, VersionClock* clock,
                             size_t cache_budget_bytes)
    : catalog_(catalog),
      storage_(storage),
      clock_(clock),
      cache_(storage, cache_budget_bytes),
      snapshots_(storage, clock),
      indexer_(&cache_, &snapshots_),
      committer_(storage, &cache_, &indexer_, &own_writes_),
      writer_(catalog, clock, &committer_),
      refresher_(catalog, storage, clock, &cache_, &committer_, &own_writes_),
      purger_(storage) {}

RecordService::~RecordService() = default;

void RecordService::SetIndexerThreads(int threads) { indexer_.SetThreads(threads); }

void RecordService::RemeasureIfIndexBuilt(const std::shared_ptr<LoadedCollection>& loaded,
                                          bool built_before, bool built_now) {
  if (!built_before && built_now) indexer_.Schedule(loaded);
}

Result<bool> RecordService::MaybeWriteSnapshot(const std::string& collection_id) {
  auto loaded = cache_.Find(collection_id);
  if (!loaded) return false;
  return snapshots_.WriteIfDue(*loaded);
}

void RecordService::WaitIndexed(const std::string& collection_id) {
  while (true) {
    auto loaded = cache_.Find(collection_id);
    if (!loaded || !loaded->HasPendingIndexing()) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void RecordService::OnCollectionsDeleted(const std::vector<std::string>& ids) {
  for (const auto& id : ids) cache_.Drop(id);
  purger_.Purge(ids);
}

void RecordService::OnReset() { cache_.Clear(); }

Result<std::pair<Collection, std::shared_ptr<LoadedCollection>>> RecordService::Open(
    const std::string& collection_id) {
  ASSIGN_OR_RETURN(Collection c, catalog_->GetCollection(collection_id));
  ASSIGN_OR_RETURN(auto loaded, cache_.Get(collection_id, IndexParams(c)));
  refresher_.BeforeUse(*loaded);
  indexer_.ScheduleIfPending(loaded);
  return std::make_pair(std::move(c), std::move(loaded));
}

Status RecordService::Write(const std::string& collection_id, RecordWriteKind kind,
                            const RecordWriteRequest& req) {
  // Stateless checks first (service/record_rules.h).
  ASSIGN_OR_RETURN(const size_t request_dim, ValidateWrite(req));
  ASSIGN_OR_RETURN(auto opened, Open(collection_id));
  if (req.ids.empty()) return Status::Ok();
  return writer_.Write(*opened.second, kind, req, request_dim);
}

std::vector<uint32_t> RecordService::Select(const RecordStore& store,
                                            const std::optional<std::vector<std::string>>& ids,
                                            const std::optional<Where>& where,
                                            const std::optional<Where>& where_document) const {
  std::vector<uint32_t> offsets;
  if (ids) {
    std::unordered_set<uint32_t> seen;
    for (const auto& id : *ids) {
      if (auto o = store.Find(id); o && seen.insert(*o).second) offsets.push_back(*o);
    }
    std::sort(offsets.begin(), offsets.end(),
              [&store](uint32_t a, uint32_t b) { return store.created(a) < store.created(b); });
  } else {
    offsets = store.OffsetsInInsertionOrder();
  }
  if (!where && !where_document) return offsets;
  std::optional<OffsetBitmap> scope;
  if (ids) scope = OffsetBitmap::FromOffsets(offsets);
  OffsetBitmap matching = FilterMatching(store, where, where_document, scope ? &*scope : nullptr);
  std::erase_if(offsets, [&matching](uint32_t o) { return !matching.Contains(o); });
  return offsets;
}

Result<int64_t> RecordService::Delete(const std::string& collection_id, const DeleteRequest& req) {
  const bool has_filter = req.where.has_value() || req.where_document.has_value();
  if (req.limit && !has_filter) {
    return Status::InvalidArgument("limit can only be specified when a where clause is provided");
  }
  if (req.ids && req.ids->empty() && !has_filter) {
    return Status::InvalidArgument("Either ids or where must be specified");
  }
  ASSIGN_OR_RETURN(auto opened, Open(collection_id));
  auto& loaded = opened.second;
  if (!req.ids && !has_filter) return int64_t{0};

  LoadedCollection::CommitTurn turn(*loaded);
  std::vector<RecordRow> tombstones;
  {
    LoadedCollection::ReadLock data(*loaded);
    const RecordStore& store = loaded->store();
    const bool built = store.document_index_built();
    std::vector<uint32_t> offsets = Select(store, req.ids, req.where, req.where_document);
    RemeasureIfIndexBuilt(loaded, built, store.document_index_built());
    if (req.limit && offsets.size() > static_cast<size_t>(*req.limit)) {
      offsets.resize(static_cast<size_t>(*req.limit));
    }
    tombstones.reserve(offsets.size());
    for (uint32_t o : offsets) {
      RecordRow t;
      t.id = store.id(o);
      t.version = clock_->Next();
      t.created = store.created(o);
      t.deleted = true;
      tombstones.push_back(std::move(t));
    }
  }
  if (!tombstones.empty()) {
    RETURN_IF_ERROR(committer_.Commit(*loaded, tombstones));
    static Counter& deleted = Metrics().GetCounter(
        "chromahouse_rows_deleted_total", "Records deleted (tombstones written to ClickHouse)", {});
    deleted.Add(static_cast<int64_t>(tombstones.size()));
  }
  // Chroma reports the number of ids sent when deleting by ids alone.
  if (!has_filter) return static_cast<int64_t>(req.ids->size());
  return static_cast<int64_t>(tombstones.size());
}

Result<GetResult> RecordService::Get(const std::string& collection_id, const GetRequest& req) {
  ASSIGN_OR_RETURN(auto opened, Open(collection_id));
  GetResult result{CollectionRead(opened.second), {}};
  const RecordStore& store = result.read.store();
  const bool built = store.document_index_built();
  std::vector<uint32_t> offsets = Select(store, req.ids, req.where, req.where_document);
  RemeasureIfIndexBuilt(opened.second, built, store.document_index_built());
  size_t begin = std::min(offsets.size(), static_cast<size_t>(req.offset));
  size_t end = offsets.size();
  if (req.limit) end = std::min(end, begin + static_cast<size_t>(*req.limit));
  result.records.reserve(end - begin);
  for (size_t i = begin; i < end; ++i) result.records.push_back(ViewOf(store, offsets[i]));
  return result;
}

Result<QueryResult> RecordService::Query(const std::string& collection_id,
                                         const QueryRequest& req) {
  ASSIGN_OR_RETURN(auto opened, Open(collection_id));
  QueryResult result{CollectionRead(opened.second), {}};
  const RecordStore& store = result.read.store();
  const size_t dim = DimensionOf(opened.first, store);
  for (const auto& q : req.query_embeddings) {
    if (q.size() != req.query_embeddings[0].size()) {
      return Status::InvalidArgument("Inconsistent dimensions in provided embeddings");
    }
  }
  for (const auto& q : req.query_embeddings) {
    if (dim != 0 && q.size() != dim) return DimensionMismatch(dim, q.size());
  }
  result.per_query.resize(req.query_embeddings.size());
  if (dim == 0) return result;  // nothing was ever written
  if (req.unknown_ids_fail && req.ids && !req.where && !req.where_document) {
    for (const auto& id : *req.ids) {
      if (!store.Find(id)) {
        return Status::Internal("Error executing plan: Internal error: Error finding id");
      }
    }
  }
  if (store.size() == 0) return result;  // nothing to search
  const bool filtered = req.ids || req.where || req.where_document;
  // The allowed set (no order needed: the nearest decide).
  std::optional<OffsetBitmap> allowed;
  const bool built = store.document_index_built();
  if (filtered && !req.ids) {
    allowed = FilterMatching(store, req.where, req.where_document);
  } else if (filtered) {
    allowed = OffsetBitmap::FromOffsets(Select(store, req.ids, req.where, req.where_document));
  }
  RemeasureIfIndexBuilt(opened.second, built, store.document_index_built());
  const size_t ef = EfSearchOf(opened.first);
  for (size_t qi = 0; qi < req.query_embeddings.size(); ++qi) {
    SearchPath path;
    auto neighbors = result.read.search().Search(store, req.query_embeddings[qi].data(),
                                                 static_cast<size_t>(req.n_results),
                                                 allowed ? &*allowed : nullptr, ef, &path);
    if (path == SearchPath::kHnsw) hnsw_queries_.fetch_add(1);
    if (path == SearchPath::kBruteForce) brute_force_queries_.fetch_add(1);
    auto& out = result.per_query[qi];
    out.reserve(neighbors.size());
    for (auto [distance, o] : neighbors) {
      out.push_back(ViewOf(store, o));
      out.back().distance = distance;
    }
  }
  return result;
}

Result<RecordService::IndexingStatus> RecordService::GetIndexingStatus(
    const std::string& collection_id) {
  ASSIGN_OR_RETURN(auto opened, Open(collection_id));
  const LoadedCollection& loaded = *opened.second;
  LoadedCollection::ReadLock data(loaded);
  IndexingStatus status;
  status.pending = static_cast<int64_t>(loaded.search().pending());
  status.indexed = static_cast<int64_t>(loaded.store().size()) - status.pending;
  return status;
}

Result<int64_t> RecordService::Count(const std::string& collection_id) {
  ASSIGN_OR_RETURN(auto opened, Open(collection_id));
  return static_cast<int64_t>(opened.second->size());
}

Result<SearchResult> RecordService::Search(
    const std::string& collection_id, const SearchRequest& request,
    const std::map<std::string, bool, std::less<>>& bm25_keys) {
  ASSIGN_OR_RETURN(auto opened, Open(collection_id));
  SearchResult result{CollectionRead(opened.second), {}};
  const RecordStore& store = result.read.store();
  const bool built = store.document_index_built();
  SearchExecutor executor(store, result.read.search(), DimensionOf(opened.first, store),
                          EfSearchOf(opened.first), bm25_keys);
  for (const SearchQuery& q : request.searches) {
    ASSIGN_OR_RETURN(auto hits, executor.Run(q));
    auto& out = result.per_search.emplace_back();
    out.reserve(hits.size());
    for (const auto& h : hits) {
      out.push_back(ViewOf(store, h.offset));
      out.back().distance = h.score;
    }
  }
  RemeasureIfIndexBuilt(opened.second, built, store.document_index_built());
  const auto& paths = executor.paths();
  auto count = [](const char* kind, const char* path, int64_t n) {
    if (n == 0) return;
    Metrics()
        .GetCounter("chromahouse_search_plan_total",
                    "Search rank leaves by how they were answered: dense (graph or exact scan), "
                    "sparse (index or the filter's records scored one by one)",
                    {{"step", kind}, {"path", path}})
        .Add(n);
  };
  count("dense_knn", "graph", paths.dense_graph);
  count("dense_knn", "exact", paths.dense_exact);
  count("sparse_knn", "index", paths.sparse_index);
  count("sparse_knn", "filtered", paths.sparse_filtered);
  CountFilterPlan(
      {paths.filter_metadata_index, paths.filter_document_index, paths.filter_records_checked});
  hnsw_queries_.fetch_add(paths.dense_graph);
  brute_force_queries_.fetch_add(paths.dense_exact);
  return result;
}

std::vector<RecordService::LoadedInfo> RecordService::LoadedCollections() {
  std::map<std::string, size_t> sizes = cache_.Sizes();
  std::vector<LoadedInfo> out;
  for (const auto& loaded : cache_.Loaded()) {
    auto it = sizes.find(loaded->id());
    out.push_back({loaded->id(), it == sizes.end() ? 0 : it->second, loaded->snapshot.id.load()});
  }
  return out;
}

}  // namespace chromahouse
