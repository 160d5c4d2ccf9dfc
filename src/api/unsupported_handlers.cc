// Routes this server answers the way Chroma's local (single-node) server does: cloud-only
// features (functions, CRN lookup). Fork and search are served (catalog_handlers.cc,
// record_handlers.cc).
#include "api/api.h"
#include "api/api_internal.h"
#include "common/json_writer.h"

namespace chromahouse {

void Api::AddUnsupportedRoutes() {
  const std::string coll =
      "/api/v2/tenants/{tenant}/databases/{database}/collections/{collection_id}";

  // Resolves the collection the way every collection-level route does: database segment,
  // UUID shape, existence (tenant/database segments are otherwise ignored, as in Chroma).
  auto existing = [this](const RouteContext& ctx) -> Result<Collection> {
    RETURN_IF_ERROR(ValidateDatabaseSegment(ctx));
    ASSIGN_OR_RETURN(std::string id, CollectionIdParam(ctx));
    return catalog_->GetCollection(id);
  };

  router_.Add("GET", "/api/v2/collections/{crn}", false,
              [](const RouteContext& ctx) -> Result<HttpResponse> {
                return Status::NotFound("Collection [" + ctx.Param("crn") +
                                        "] does not exist: lookup by CRN is a Chroma Cloud "
                                        "feature");
              });
  // Attached functions are a Chroma Cloud feature; the local server refuses them without
  // looking the collection up.
  auto no_functions = [](const RouteContext& ctx) -> Result<HttpResponse> {
    RETURN_IF_ERROR(ValidateDatabaseSegment(ctx));
    RETURN_IF_ERROR(CollectionIdParam(ctx).status());
    return Status::Unimplemented("Attached functions are not supported by this server");
  };
  router_.Add("POST", coll + "/functions/attach", true, no_functions);
  router_.Add("POST", coll + "/attached_functions/{function_name}/detach", true, no_functions);
  router_.Add("GET", coll + "/functions/{function_name}", false,
              [existing](const RouteContext& ctx) -> Result<HttpResponse> {
                RETURN_IF_ERROR(existing(ctx).status());
                return Status::NotFound("Attached function not found");
              });
}

}  // namespace chromahouse
