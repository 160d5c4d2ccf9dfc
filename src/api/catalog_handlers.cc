// Catalog routes: tenants, databases, collections (API.md §2 #8–#21).
#include <charconv>

#include "api/api.h"
#include "api/api_internal.h"
#include "codec/catalog_codec.h"
#include "common/json_writer.h"
#include "common/uuid.h"

namespace chromahouse {
namespace {

constexpr const char* kDb = "/api/v2/tenants/{tenant}/databases/{database}";

// Reads a u32 query parameter; a bad value is 400 "Failed to deserialize query string: …".
Result<std::optional<int64_t>> QueryU32(const RouteContext& ctx, std::string_view name) {
  auto text = ctx.Query(name);
  if (!text) return std::optional<int64_t>();
  auto bad = [&](const char* why) {
    return Status::InvalidArgument("Failed to deserialize query string: " + std::string(name) +
                                   ": " + why);
  };
  if (text->empty()) return bad("cannot parse integer from empty string");
  uint32_t v = 0;
  auto [ptr, ec] = std::from_chars(text->data(), text->data() + text->size(), v);
  if (ec == std::errc::result_out_of_range) return bad("number too large to fit in target type");
  if (ec != std::errc() || ptr != text->data() + text->size()) {
    return bad("invalid digit found in string");
  }
  return std::optional<int64_t>(v);
}

}  // namespace

Result<Page> ReadPage(const RouteContext& ctx) {
  for (const char* key : {"limit", "offset"}) {
    if (ctx.QueryCount(key) > 1) {
      return Status::InvalidArgument("Failed to deserialize query string: duplicate field `" +
                                     std::string(key) + "`");
    }
  }
  Page page;
  ASSIGN_OR_RETURN(page.limit, QueryU32(ctx, "limit"));
  ASSIGN_OR_RETURN(auto offset, QueryU32(ctx, "offset"));
  page.offset = offset.value_or(0);
  return page;
}

namespace {

HttpResponse EmptyObject() { return JsonResponse("{}"); }

std::string CollectionJson(const Collection& c) {
  JsonWriter w;
  WriteCollection(w, c);
  return w.Take();
}

}  // namespace

Result<std::string> CollectionIdParam(const RouteContext& ctx) {
  auto id = ParseUuid(ctx.Param("collection_id"));
  if (!id) return Status::InvalidArgument("Collection ID is not a valid UUIDv4");
  return *id;
}

void Api::AddTenantRoutes() {
  router_.Add("POST", "/api/v2/tenants", RouteRules{true, Access::kCreatesTenant},
              [this](const RouteContext& ctx) -> Result<HttpResponse> {
                ASSIGN_OR_RETURN(std::string name, DecodeNameBody(ctx.request.body));
                RETURN_IF_ERROR(catalog_->CreateTenant(name));
                return EmptyObject();
              });
  router_.Add("GET", "/api/v2/tenants/{tenant}", false,
              [this](const RouteContext& ctx) -> Result<HttpResponse> {
                ASSIGN_OR_RETURN(Tenant t, catalog_->GetTenant(ctx.Param("tenant")));
                JsonWriter w;
                WriteTenant(w, t);
                return JsonResponse(w.Take());
              });
  router_.Add("PATCH", "/api/v2/tenants/{tenant}", true,
              [this](const RouteContext& ctx) -> Result<HttpResponse> {
                ASSIGN_OR_RETURN(std::string rn, DecodeUpdateTenant(ctx.request.body));
                RETURN_IF_ERROR(catalog_->UpdateTenant(ctx.Param("tenant"), rn));
                return EmptyObject();
              });

  router_.Add("GET", "/api/v2/tenants/{tenant}/databases", false,
              [this](const RouteContext& ctx) -> Result<HttpResponse> {
                ASSIGN_OR_RETURN(Page page, ReadPage(ctx));
                ASSIGN_OR_RETURN(auto dbs, catalog_->ListDatabases(ctx.Param("tenant"), page));
                JsonWriter w;
                w.BeginArray();
                for (const auto& d : dbs) {
                  // A caller scoped to some databases sees only those.
                  if (ctx.identity && !ctx.identity->AllowsDatabase(d.tenant, d.name)) continue;
                  WriteDatabase(w, d);
                }
                w.EndArray();
                return JsonResponse(w.Take());
              });
  router_.Add("POST", "/api/v2/tenants/{tenant}/databases",
              RouteRules{true, Access::kCreatesDatabase},
              [this](const RouteContext& ctx) -> Result<HttpResponse> {
                ASSIGN_OR_RETURN(std::string name, DecodeNameBody(ctx.request.body));
                RETURN_IF_ERROR(catalog_->CreateDatabase(ctx.Param("tenant"), name));
                return EmptyObject();
              });
  router_.Add("GET", kDb, false, [this](const RouteContext& ctx) -> Result<HttpResponse> {
    ASSIGN_OR_RETURN(Database d, catalog_->GetDatabase(ctx.Param("tenant"), ctx.Param("database")));
    JsonWriter w;
    WriteDatabase(w, d);
    return JsonResponse(w.Take());
  });
  router_.Add("DELETE", kDb, false, [this](const RouteContext& ctx) -> Result<HttpResponse> {
    RETURN_IF_ERROR(catalog_->DeleteDatabase(ctx.Param("tenant"), ctx.Param("database")));
    return EmptyObject();
  });
}

void Api::AddCollectionRoutes() {
  const std::string base = std::string(kDb) + "/collections";
  router_.Add("GET", base, false, [this](const RouteContext& ctx) -> Result<HttpResponse> {
    ASSIGN_OR_RETURN(Page page, ReadPage(ctx));
    ASSIGN_OR_RETURN(auto rows,
                     catalog_->ListCollections(ctx.Param("tenant"), ctx.Param("database"), page));
    JsonWriter w;
    w.BeginArray();
    for (const auto& c : rows) WriteCollection(w, c);
    w.EndArray();
    return JsonResponse(w.Take());
  });
  router_.Add("POST", base, true, [this](const RouteContext& ctx) -> Result<HttpResponse> {
    ASSIGN_OR_RETURN(CreateCollectionRequest req, DecodeCreateCollection(ctx.request.body));
    ASSIGN_OR_RETURN(Collection c,
                     catalog_->CreateCollection(ctx.Param("tenant"), ctx.Param("database"), req));
    return JsonResponse(CollectionJson(c));
  });
  router_.Add("GET", std::string(kDb) + "/collections_count", false,
              [this](const RouteContext& ctx) -> Result<HttpResponse> {
                ASSIGN_OR_RETURN(int64_t n, catalog_->CountCollections(ctx.Param("tenant"),
                                                                       ctx.Param("database")));
                return JsonResponse(std::to_string(n));
              });
  router_.Add(
      "GET", base + "/{name}", false, [this](const RouteContext& ctx) -> Result<HttpResponse> {
        ASSIGN_OR_RETURN(Collection c,
                         catalog_->GetCollectionByName(ctx.Param("tenant"), ctx.Param("database"),
                                                       ctx.Param("name")));
        return JsonResponse(CollectionJson(c));
      });
  router_.Add("DELETE", base + "/{name}", false,
              [this](const RouteContext& ctx) -> Result<HttpResponse> {
                RETURN_IF_ERROR(catalog_->DeleteCollection(
                    ctx.Param("tenant"), ctx.Param("database"), ctx.Param("name")));
                return EmptyObject();
              });
  router_.Add("PUT", base + "/{collection_id}", true,
              [this](const RouteContext& ctx) -> Result<HttpResponse> {
                RETURN_IF_ERROR(ValidateDatabaseSegment(ctx));
                ASSIGN_OR_RETURN(std::string id, CollectionIdParam(ctx));
                ASSIGN_OR_RETURN(UpdateCollectionRequest req,
                                 DecodeUpdateCollection(ctx.request.body));
                RETURN_IF_ERROR(catalog_->UpdateCollection(id, req));
                return EmptyObject();
              });
  // Fork (a Chroma Cloud feature, served here): the source is looked up in the tenant and
  // database of the path, as by-id lookups are.
  auto scoped_id = [this](const RouteContext& ctx) -> Result<std::string> {
    RETURN_IF_ERROR(ValidateDatabaseSegment(ctx));
    ASSIGN_OR_RETURN(std::string id, CollectionIdParam(ctx));
    RETURN_IF_ERROR(
        catalog_->GetCollectionById(ctx.Param("tenant"), ctx.Param("database"), id).status());
    return id;
  };
  router_.Add("POST", base + "/{collection_id}/fork", true,
              [this, scoped_id](const RouteContext& ctx) -> Result<HttpResponse> {
                ASSIGN_OR_RETURN(std::string id, scoped_id(ctx));
                ASSIGN_OR_RETURN(std::string new_name, DecodeForkCollection(ctx.request.body));
                ASSIGN_OR_RETURN(Collection c, catalog_->ForkCollection(id, new_name));
                return JsonResponse(CollectionJson(c));
              });
  router_.Add("GET", base + "/{collection_id}/fork_count", false,
              [this, scoped_id](const RouteContext& ctx) -> Result<HttpResponse> {
                ASSIGN_OR_RETURN(std::string id, scoped_id(ctx));
                ASSIGN_OR_RETURN(uint64_t count, catalog_->CountForks(id));
                JsonWriter w;
                w.BeginObject();
                w.Key("count");
                w.UInt(count);
                w.EndObject();
                return JsonResponse(w.Take());
              });
  router_.Add("GET", base + "/by-id/{collection_id}", false,
              [this](const RouteContext& ctx) -> Result<HttpResponse> {
                auto id = ParseUuid(ctx.Param("collection_id"));
                if (!id) {
                  return Status::InvalidArgument(
                      "Validation error: collection_id: Invalid collection ID format, expected "
                      "UUID");
                }
                ASSIGN_OR_RETURN(
                    Collection c,
                    catalog_->GetCollectionById(ctx.Param("tenant"), ctx.Param("database"), *id));
                return JsonResponse(CollectionJson(c));
              });
}

Status ValidateDatabaseSegment(const RouteContext& ctx) {
  if (ctx.Param("database").size() < 3) {
    return Status::InvalidArgument("database name must be at least 3 characters");
  }
  return Status::Ok();
}

}  // namespace chromahouse
