// JSON ↔ record requests and responses (API.md §2.4, §3.2–3.5).
//
// Embeddings: JSON numbers are rounded directly from their decimal text to the nearest
// float32 (not through a double), as Chroma does; base64 strings (little-endian float32) are
// accepted in add/upsert/update, never in query. NaN and ±Inf are rejected (400).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "codec/where_codec.h"
#include "common/status.h"
#include "core/record_requests.h"
#include "core/where.h"

namespace chromahouse {

// `dialect` selects the rules of the API version (v1: `{}` means no filter, $and/$or need two
// children (see where_codec.h), include may name "data", and a get's `sort` must be null).
Result<RecordWriteRequest> DecodeRecordWrite(std::string_view body, RecordWriteKind kind);
Result<GetRequest> DecodeGet(std::string_view body, WhereDialect dialect = WhereDialect::kV2);
Result<QueryRequest> DecodeQuery(std::string_view body, WhereDialect dialect = WhereDialect::kV2);
Result<DeleteRequest> DecodeDelete(std::string_view body, WhereDialect dialect = WhereDialect::kV2);

// Standard base64 (with padding, canonical: non-zero bits before the padding are a 400, as in
// Chroma) → little-endian float32 values. The empty string is zero values.
Result<std::vector<float>> DecodeBase64Floats(std::string_view text);

std::string_view IncludeName(IncludeField field);

}  // namespace chromahouse

namespace chromahouse {

// GetResponse: {"ids","embeddings","documents","uris","metadatas","include"}; columns not
// included are null. Reserved "chroma:" metadata keys are hidden. `v1`: the v1 API's shape,
// "data": null and "included" instead of "include". `buffer`: where to write (its contents are
// replaced), e.g. a reused one (common/buffer_pool.h); EncodedSize estimates what to reserve.
std::string EncodeGetResponse(const std::vector<RecordView>& records, const Include& include,
                              bool v1 = false, std::string buffer = {});
// QueryResponse: one inner list per query embedding, plus "distances".
std::string EncodeQueryResponse(const std::vector<std::vector<RecordView>>& per_query,
                                const Include& include, bool v1 = false, std::string buffer = {});
// About the size of those responses (at least for embeddings of typical values).
size_t EncodedSizeEstimate(const std::vector<RecordView>& records, const Include& include);
size_t EncodedSizeEstimate(const std::vector<std::vector<RecordView>>& per_query,
                           const Include& include);

}  // namespace chromahouse
