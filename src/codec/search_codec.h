// JSON ⇄ Search (API.md §13): the body of `POST …/collections/{id}/search` as the official
// clients send it, and its response.
//
// Errors as Chroma reports them: a body of the wrong shape is a 422 naming the path
// ("searches[0].rank.$sum[1].$knn.limit: invalid type: …", "unknown variant `$foo`, expected
// one of …"), a rule broken is a 400 "Validation error: searches[i].<field>: <rule>" with
// Chroma's rule text (sparse query vectors, group_by), and a bad filter is the 400 of the where
// codec. Unknown fields are ignored, as in Chroma.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "core/record_requests.h"
#include "core/search.h"

namespace chromahouse {

Result<SearchRequest> DecodeSearch(std::string_view body);

// One search's results: the records (`distance` holds the score) in rank order.
using SearchHits = std::vector<RecordView>;

// {"ids": [[…]], "documents": [[…] | null], "embeddings", "metadatas", "scores", "select"}:
// a column is null for a search that did not select it; a record's metadata is its selected
// keys (null when none of them is present).
std::string EncodeSearchResponse(const SearchRequest& request,
                                 const std::vector<SearchHits>& results);

}  // namespace chromahouse
