// The v1 API of Chroma's Python servers 0.4–0.6 (API.md §7), served beside v2 on the same
// services so that applications on older clients keep working: tenant and database come from
// query parameters, collections are addressed by name for get/delete and by id otherwise,
// writes answer `true`/`null`, results carry "included" and "data", `{}` filters mean "no
// filter", batches above max_batch_size are refused (413), and errors use the v1 names.
#include "api/api.h"
#include "api/api_internal.h"
#include "api/error_mapping.h"
#include "codec/catalog_codec.h"
#include "codec/record_codec.h"
#include "common/buffer_pool.h"
#include "common/clock.h"
#include "common/json_writer.h"
#include "common/uuid.h"

namespace chromahouse {
namespace {

constexpr const char* kV1 = "/api/v1";

std::string TenantQuery(const RouteContext& ctx) {
  return ctx.Query("tenant").value_or("default_tenant");
}
std::string DatabaseQuery(const RouteContext& ctx) {
  return ctx.Query("database").value_or("default_database");
}

HttpResponse Null() { return JsonResponse("null"); }

// `{}` filters mean "no filter" in v1.
template <typename Request>
void DropMatchAll(Request* req) {
  if (req->where && req->where->IsMatchAll()) req->where.reset();
  if (req->where_document && req->where_document->IsMatchAll()) req->where_document.reset();
}

std::string CollectionV1Json(const Collection& c) {
  JsonWriter w;
  WriteCollectionV1(w, c);
  return w.Take();
}

}  // namespace

void Api::AddV1Routes() {
  const std::string v1 = kV1;
  auto add = [this](const char* method, std::string pattern, auto rules, Handler handler) {
    router_.Add(method, std::move(pattern), RouteRules{rules}, std::move(handler), V1ErrorResponse);
  };
  constexpr RouteRules kOpen{false, Access::kOpen};

  auto heartbeat = [](const RouteContext&) -> Result<HttpResponse> {
    JsonWriter w;
    w.BeginObject();
    w.Key("nanosecond heartbeat");
    w.Int(NowNanos());
    w.EndObject();
    return JsonResponse(w.Take());
  };
  add("GET", v1, kOpen, heartbeat);
  add("GET", v1 + "/heartbeat", kOpen, heartbeat);
  add("GET", v1 + "/version", kOpen,
      [](const RouteContext&) -> Result<HttpResponse> { return JsonResponse("\"0.6.3\""); });
  add("GET", v1 + "/pre-flight-checks", kOpen, [this](const RouteContext&) -> Result<HttpResponse> {
    return JsonResponse("{\"max_batch_size\":" + std::to_string(options_.max_batch_size) + "}");
  });
  add("GET", v1 + "/auth/identity", false, [this](const RouteContext& ctx) -> Result<HttpResponse> {
    return JsonResponse(IdentityJson(ctx));
  });
  add("POST", v1 + "/reset", RouteRules{false, Access::kUnrestricted},
      [this](const RouteContext&) -> Result<HttpResponse> {
        if (!options_.allow_reset) {
          return Status::InvalidArgument(
              "Resetting is not allowed by this configuration (to enable it, set allow_reset)");
        }
        RETURN_IF_ERROR(catalog_->Reset());
        return JsonResponse("true");
      });

  // Tenants and databases.
  add("POST", v1 + "/tenants", RouteRules{true, Access::kCreatesTenant},
      [this](const RouteContext& ctx) -> Result<HttpResponse> {
        ASSIGN_OR_RETURN(std::string name, DecodeNameBody(ctx.request.body));
        RETURN_IF_ERROR(catalog_->CreateTenant(name));
        return Null();
      });
  add("GET", v1 + "/tenants/{tenant}", false,
      [this](const RouteContext& ctx) -> Result<HttpResponse> {
        ASSIGN_OR_RETURN(Tenant t, catalog_->GetTenant(ctx.Param("tenant")));
        JsonWriter w;
        w.BeginObject();
        w.Key("name");
        w.String(t.name);
        w.EndObject();
        return JsonResponse(w.Take());
      });
  add("POST", v1 + "/databases", RouteRules{true, Access::kCreatesDatabase},
      [this](const RouteContext& ctx) -> Result<HttpResponse> {
        ASSIGN_OR_RETURN(std::string name, DecodeNameBody(ctx.request.body));
        RETURN_IF_ERROR(
            catalog_->CreateDatabase(TenantQuery(ctx), name, CatalogService::DatabaseNames::kV1));
        return Null();
      });
  add("GET", v1 + "/databases/{database}", false,
      [this](const RouteContext& ctx) -> Result<HttpResponse> {
        ASSIGN_OR_RETURN(Database d,
                         catalog_->GetDatabase(TenantQuery(ctx), ctx.Param("database")));
        JsonWriter w;
        WriteDatabase(w, d);
        return JsonResponse(w.Take());
      });

  // Collections.
  const std::string colls = v1 + "/collections";
  add("GET", colls, false, [this](const RouteContext& ctx) -> Result<HttpResponse> {
    ASSIGN_OR_RETURN(Page page, ReadPage(ctx));
    ASSIGN_OR_RETURN(auto rows,
                     catalog_->ListCollections(TenantQuery(ctx), DatabaseQuery(ctx), page));
    JsonWriter w;
    w.BeginArray();
    for (const auto& c : rows) WriteCollectionV1(w, c);
    w.EndArray();
    return JsonResponse(w.Take());
  });
  add("GET", v1 + "/count_collections", false,
      [this](const RouteContext& ctx) -> Result<HttpResponse> {
        ASSIGN_OR_RETURN(int64_t n,
                         catalog_->CountCollections(TenantQuery(ctx), DatabaseQuery(ctx)));
        return JsonResponse(std::to_string(n));
      });
  add("POST", colls, true, [this](const RouteContext& ctx) -> Result<HttpResponse> {
    ASSIGN_OR_RETURN(CreateCollectionRequest req, DecodeCreateCollectionV1(ctx.request.body));
    ASSIGN_OR_RETURN(Collection c,
                     catalog_->CreateCollection(TenantQuery(ctx), DatabaseQuery(ctx), req));
    return JsonResponse(CollectionV1Json(c));
  });
  add("GET", colls + "/{name}", false, [this](const RouteContext& ctx) -> Result<HttpResponse> {
    ASSIGN_OR_RETURN(Collection c, catalog_->GetCollectionByName(
                                       TenantQuery(ctx), DatabaseQuery(ctx), ctx.Param("name")));
    return JsonResponse(CollectionV1Json(c));
  });
  add("DELETE", colls + "/{name}", false, [this](const RouteContext& ctx) -> Result<HttpResponse> {
    RETURN_IF_ERROR(
        catalog_->DeleteCollection(TenantQuery(ctx), DatabaseQuery(ctx), ctx.Param("name")));
    return Null();
  });
  add("PUT", colls + "/{collection_id}", true,
      [this](const RouteContext& ctx) -> Result<HttpResponse> {
        ASSIGN_OR_RETURN(std::string id, CollectionIdParam(ctx));
        ASSIGN_OR_RETURN(UpdateCollectionRequest req, DecodeUpdateCollection(ctx.request.body));
        RETURN_IF_ERROR(catalog_->UpdateCollection(id, req));
        return Null();
      });

  // Records.
  const std::string coll = colls + "/{collection_id}";
  auto write = [this](RecordWriteKind kind) {
    return [this, kind](const RouteContext& ctx) -> Result<HttpResponse> {
      ASSIGN_OR_RETURN(std::string id, CollectionIdParam(ctx));
      ASSIGN_OR_RETURN(RecordWriteRequest req, DecodeRecordWrite(ctx.request.body, kind));
      RETURN_IF_ERROR(CheckBatchSize(req.ids.size()));
      if (req.embeddings) {
        // The Python servers' message names the first empty embedding's position.
        for (size_t i = 0; i < req.embeddings->size(); ++i) {
          const auto& e = (*req.embeddings)[i];
          if (e && e->empty()) {
            return Status::InvalidArgument(
                "Expected each embedding in the embeddings to be a non-empty list, got empty "
                "embedding at pos " +
                std::to_string(i));
          }
        }
      }
      RETURN_IF_ERROR(WithinWriteBudget(ctx.request.body.size(),
                                        [&] { return records_->Write(id, kind, req); }));
      return kind == RecordWriteKind::kAdd ? JsonResponse("true", 201) : Null();
    };
  };
  add("POST", coll + "/add", true, write(RecordWriteKind::kAdd));
  add("POST", coll + "/upsert", true, write(RecordWriteKind::kUpsert));
  add("POST", coll + "/update", true, write(RecordWriteKind::kUpdate));

  add("POST", coll + "/get", true, [this](const RouteContext& ctx) -> Result<HttpResponse> {
    ASSIGN_OR_RETURN(std::string id, CollectionIdParam(ctx));
    ASSIGN_OR_RETURN(GetRequest req, DecodeGet(ctx.request.body, WhereDialect::kV1));
    DropMatchAll(&req);
    ASSIGN_OR_RETURN(GetResult result, records_->Get(id, req));
    return JsonResponse(EncodeGetResponse(
        result.records, req.include, /*v1=*/true,
        BufferPool::Responses().Take(EncodedSizeEstimate(result.records, req.include))));
  });
  add("POST", coll + "/query", true, [this](const RouteContext& ctx) -> Result<HttpResponse> {
    ASSIGN_OR_RETURN(std::string id, CollectionIdParam(ctx));
    ASSIGN_OR_RETURN(QueryRequest req, DecodeQuery(ctx.request.body, WhereDialect::kV1));
    DropMatchAll(&req);
    ASSIGN_OR_RETURN(QueryResult result, records_->Query(id, req));
    return JsonResponse(EncodeQueryResponse(
        result.per_query, req.include, /*v1=*/true,
        BufferPool::Responses().Take(EncodedSizeEstimate(result.per_query, req.include))));
  });
  add("POST", coll + "/delete", true, [this](const RouteContext& ctx) -> Result<HttpResponse> {
    ASSIGN_OR_RETURN(std::string id, CollectionIdParam(ctx));
    ASSIGN_OR_RETURN(DeleteRequest req, DecodeDelete(ctx.request.body, WhereDialect::kV1));
    DropMatchAll(&req);
    if (!req.ids && !req.where && !req.where_document) {
      return Status::InvalidArgument(
          "You must provide either ids, where, or where_document to delete. If you want to "
          "delete all data in a collection you can delete the collection itself using the "
          "delete_collection method. Or alternatively, you can get() all the relevant ids and "
          "then delete them.");
    }
    RETURN_IF_ERROR(records_->Delete(id, req).status());
    return Null();
  });
  add("GET", coll + "/count", false, [this](const RouteContext& ctx) -> Result<HttpResponse> {
    ASSIGN_OR_RETURN(std::string id, CollectionIdParam(ctx));
    ASSIGN_OR_RETURN(int64_t n, records_->Count(id));
    return JsonResponse(std::to_string(n));
  });
}

}  // namespace chromahouse
