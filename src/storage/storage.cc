#include "storage/storage.h"

namespace chromahouse {

Status Storage::CopyRecords(const std::string& source, const std::string& target) {
  ASSIGN_OR_RETURN(std::vector<RecordRow> rows, LoadRecords(source));
  return WriteRecords(target, rows);
}

Result<bool> Storage::CopyIndexSnapshot(const std::string& source, const std::string& target) {
  ASSIGN_OR_RETURN(std::optional<IndexSnapshotInfo> info, FindIndexSnapshot(source));
  if (!info) return false;
  Result<std::string> payload = ReadIndexSnapshot(source, *info);
  if (payload.status().code() == StatusCode::kNotFound) return false;  // replaced meanwhile
  RETURN_IF_ERROR(payload.status());
  RETURN_IF_ERROR(WriteIndexSnapshot(target, *info, *payload));
  return true;
}

}  // namespace chromahouse
