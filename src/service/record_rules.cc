#include "service/record_rules.h"

namespace chromahouse {
namespace {

Status ValidateRecordMetadata(const MetadataPatch& patch, size_t index) {
  auto bad = [&] {
    return Status::InvalidArgument("Validation error: metadatas: Invalid metadata at index " +
                                   std::to_string(index));
  };
  for (const auto& [key, value] : patch.set) {
    if (key.empty() || key[0] == '#' || key[0] == '$') return bad();
    if (const auto* sparse = std::get_if<SparseValue>(&value)) {
      if (auto problem = (*sparse)->Problem()) {
        return Status::InvalidArgument(bad().message() + ": key '" + key + "': " + *problem);
      }
    }
  }
  for (const auto& key : patch.remove) {
    if (key.empty() || key[0] == '#' || key[0] == '$') return bad();
  }
  return Status::Ok();
}

}  // namespace

Result<size_t> ValidateWrite(const RecordWriteRequest& req) {
  const size_t n = req.ids.size();
  auto same_length = [n](const auto& column) { return !column || column->size() == n; };
  if (!same_length(req.embeddings) || !same_length(req.documents) || !same_length(req.uris) ||
      !same_length(req.metadatas)) {
    return Status::InvalidArgument(
        "Inconsistent number of IDs, embeddings, documents, URIs and metadatas");
  }
  for (const auto& id : req.ids) {
    if (id.empty()) return Status::InvalidArgument("Empty ID, ID must have at least one character");
  }
  size_t request_dim = 0;
  if (req.embeddings) {
    for (const auto& e : *req.embeddings) {
      if (!e) continue;
      if (e->empty()) {
        return Status::InvalidArgument(
            "Validation error: embeddings: Each embedding must have at least 1 dimension");
      }
      if (request_dim == 0) {
        request_dim = e->size();
      } else if (e->size() != request_dim) {
        return Status::InvalidArgument("Inconsistent dimensions in provided embeddings");
      }
    }
  }
  if (req.metadatas) {
    for (size_t i = 0; i < n; ++i) {
      if ((*req.metadatas)[i]) RETURN_IF_ERROR(ValidateRecordMetadata(*(*req.metadatas)[i], i));
    }
  }
  return request_dim;
}

std::optional<RecordRow> MergeWrite(RecordWriteKind kind, const RecordWriteRequest& req, size_t i,
                                    const RecordRow* current) {
  if (kind == RecordWriteKind::kAdd && current) return std::nullopt;      // add never overwrites
  if (kind == RecordWriteKind::kUpdate && !current) return std::nullopt;  // update of a missing id
  const auto* embedding = req.embeddings ? &(*req.embeddings)[i] : nullptr;
  const auto* document = req.documents ? &(*req.documents)[i] : nullptr;
  const auto* uri = req.uris ? &(*req.uris)[i] : nullptr;
  const auto* patch = req.metadatas ? &(*req.metadatas)[i] : nullptr;
  RecordRow row;
  if (current) {
    row = *current;  // update / upsert start from the current state
  } else {
    row.id = req.ids[i];
    row.created = 0;
  }
  if (embedding && *embedding) row.embedding = **embedding;
  if (document && *document) row.document = *document;
  if (uri && *uri) row.uri = *uri;
  if (patch && *patch) row.metadata = MergeMetadata(current ? row.metadata : std::nullopt, **patch);
  row.deleted = false;
  // An upsert of a new id whose embedding is null has nothing to store (Chroma requires the
  // embedding then).
  if (row.embedding.empty()) return std::nullopt;
  return row;
}

std::optional<Metadata> MergeMetadata(const std::optional<Metadata>& base,
                                      const MetadataPatch& patch) {
  Metadata out = base.value_or(Metadata{});
  for (const auto& key : patch.remove) out.erase(key);
  for (const auto& [key, value] : patch.set) out[key] = value;
  if (out.empty()) return std::nullopt;
  return out;
}

}  // namespace chromahouse
