// Record routes: add, update, upsert, delete, get, query, count (API.md §2 #25–#31).
#include "api/api.h"
#include "api/api_internal.h"
#include "codec/catalog_codec.h"
#include "codec/record_codec.h"
#include "codec/schema_codec.h"
#include "codec/search_codec.h"
#include "common/buffer_pool.h"
#include "common/json_writer.h"

namespace chromahouse {
namespace {

void CollectKnn(const RankExpr& expr, std::vector<const KnnRank*>& out) {
  if (expr.op == RankOp::kKnn) out.push_back(expr.knn.get());
  for (const RankExpr& child : expr.children) CollectKnn(child, out);
}

// The schema's word on a search: its filters' keys must be indexed (as for get and query) and
// every sparse `$knn` key must have a sparse vector index. Returns the sparse keys with whether
// each is BM25-weighted.
Result<std::map<std::string, bool, std::less<>>> CheckSearchAgainstSchema(
    const Collection& collection, const SearchRequest& request) {
  std::map<std::string, bool, std::less<>> sparse_keys;
  for (const SearchQuery& q : request.searches) {
    if (q.filter) {
      RETURN_IF_ERROR(CheckFiltersAgainstSchema(collection.schema_json, &*q.filter, nullptr));
    }
    if (!q.rank) continue;
    std::vector<const KnnRank*> leaves;
    CollectKnn(*q.rank, leaves);
    for (const KnnRank* knn : leaves) {
      if (!std::holds_alternative<SparseVector>(knn->query) || sparse_keys.contains(knn->key)) {
        continue;
      }
      SparseIndexSetting setting = SparseIndexOf(collection.schema_json, knn->key);
      if (!setting.enabled) {
        return Status::InvalidArgument(
            "Cannot filter using metadata key '" + knn->key +
            "' with type 'SparseVector' because indexing is disabled (declare a "
            "sparse_vector_index for the key in the collection's schema)");
      }
      sparse_keys[knn->key] = setting.bm25;
    }
  }
  return sparse_keys;
}

}  // namespace

void Api::AddRecordRoutes() {
  const std::string coll =
      "/api/v2/tenants/{tenant}/databases/{database}/collections/{collection_id}";

  // Every record route checks the database segment, then the body, then the UUID (Chroma's
  // order; the tenant/database segments are otherwise ignored).
  auto write = [this](RecordWriteKind kind, int status) {
    return [this, kind, status](const RouteContext& ctx) -> Result<HttpResponse> {
      RETURN_IF_ERROR(ValidateDatabaseSegment(ctx));
      ASSIGN_OR_RETURN(RecordWriteRequest req, DecodeRecordWrite(ctx.request.body, kind));
      ASSIGN_OR_RETURN(std::string id, CollectionIdParam(ctx));
      RETURN_IF_ERROR(CheckBatchSize(req.ids.size()));
      RETURN_IF_ERROR(WithinWriteBudget(ctx.request.body.size(),
                                        [&] { return records_->Write(id, kind, req); }));
      return JsonResponse("{}", status);
    };
  };
  router_.Add("POST", coll + "/add", true, write(RecordWriteKind::kAdd, 201));
  router_.Add("POST", coll + "/upsert", true, write(RecordWriteKind::kUpsert, 200));
  router_.Add("POST", coll + "/update", true, write(RecordWriteKind::kUpdate, 200));

  router_.Add("POST", coll + "/delete", true,
              [this](const RouteContext& ctx) -> Result<HttpResponse> {
                RETURN_IF_ERROR(ValidateDatabaseSegment(ctx));
                ASSIGN_OR_RETURN(DeleteRequest req, DecodeDelete(ctx.request.body));
                ASSIGN_OR_RETURN(std::string id, CollectionIdParam(ctx));
                RETURN_IF_ERROR(CheckSchemaFilters(id, req.where, req.where_document));
                ASSIGN_OR_RETURN(int64_t deleted, records_->Delete(id, req));
                return JsonResponse("{\"deleted\":" + std::to_string(deleted) + "}");
              });
  router_.Add("POST", coll + "/get", true, [this](const RouteContext& ctx) -> Result<HttpResponse> {
    RETURN_IF_ERROR(ValidateDatabaseSegment(ctx));
    ASSIGN_OR_RETURN(GetRequest req, DecodeGet(ctx.request.body));
    ASSIGN_OR_RETURN(std::string id, CollectionIdParam(ctx));
    RETURN_IF_ERROR(CheckSchemaFilters(id, req.where, req.where_document));
    ASSIGN_OR_RETURN(GetResult result, records_->Get(id, req));
    return JsonResponse(EncodeGetResponse(
        result.records, req.include, /*v1=*/false,
        BufferPool::Responses().Take(EncodedSizeEstimate(result.records, req.include))));
  });
  router_.Add(
      "POST", coll + "/query", true, [this](const RouteContext& ctx) -> Result<HttpResponse> {
        RETURN_IF_ERROR(ValidateDatabaseSegment(ctx));
        ASSIGN_OR_RETURN(QueryRequest req, DecodeQuery(ctx.request.body));
        req.unknown_ids_fail = true;
        ASSIGN_OR_RETURN(std::string id, CollectionIdParam(ctx));
        RETURN_IF_ERROR(CheckSchemaFilters(id, req.where, req.where_document));
        ASSIGN_OR_RETURN(QueryResult result, records_->Query(id, req));
        return JsonResponse(EncodeQueryResponse(
            result.per_query, req.include, /*v1=*/false,
            BufferPool::Responses().Take(EncodedSizeEstimate(result.per_query, req.include))));
      });
  router_.Add("POST", coll + "/search", true,
              [this](const RouteContext& ctx) -> Result<HttpResponse> {
                RETURN_IF_ERROR(ValidateDatabaseSegment(ctx));
                ASSIGN_OR_RETURN(SearchRequest req, DecodeSearch(ctx.request.body));
                ASSIGN_OR_RETURN(std::string id, CollectionIdParam(ctx));
                ASSIGN_OR_RETURN(Collection collection, catalog_->GetCollection(id));
                ASSIGN_OR_RETURN(auto sparse_keys, CheckSearchAgainstSchema(collection, req));
                ASSIGN_OR_RETURN(SearchResult result, records_->Search(id, req, sparse_keys));
                return JsonResponse(EncodeSearchResponse(req, result.per_search));
              });
  // Progress of the background HNSW indexer (Chroma's response shape).
  router_.Add("GET", coll + "/indexing_status", false,
              [this](const RouteContext& ctx) -> Result<HttpResponse> {
                RETURN_IF_ERROR(ValidateDatabaseSegment(ctx));
                ASSIGN_OR_RETURN(std::string id, CollectionIdParam(ctx));
                ASSIGN_OR_RETURN(auto status, records_->GetIndexingStatus(id));
                int64_t total = status.indexed + status.pending;
                JsonWriter w;
                w.BeginObject();
                w.Key("op_indexing_progress");
                w.Float(total == 0 ? 1.0f : float(double(status.indexed) / double(total)));
                w.Key("num_unindexed_ops");
                w.Int(status.pending);
                w.Key("num_indexed_ops");
                w.Int(status.indexed);
                w.Key("total_ops");
                w.Int(total);
                w.EndObject();
                return JsonResponse(w.Take());
              });
  router_.Add("GET", coll + "/count", false,
              [this](const RouteContext& ctx) -> Result<HttpResponse> {
                RETURN_IF_ERROR(ValidateDatabaseSegment(ctx));
                if (ctx.QueryCount("read_level") > 1) {
                  return Status::InvalidArgument(
                      "Failed to deserialize query string: duplicate field `read_level`");
                }
                auto level = ctx.Query("read_level");
                if (level && *level != "index_and_wal" && *level != "index_only" &&
                    *level != "index_and_bounded_wal") {
                  return Status::InvalidArgument(
                      "Failed to deserialize query string: read_level: unknown variant `" + *level +
                      "`, expected one of `index_and_wal`, `index_only`, `index_and_bounded_wal`");
                }
                ASSIGN_OR_RETURN(std::string id, CollectionIdParam(ctx));
                ASSIGN_OR_RETURN(int64_t n, records_->Count(id));
                return JsonResponse(std::to_string(n));
              });
}

}  // namespace chromahouse
