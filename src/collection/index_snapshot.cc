#include "collection/index_snapshot.h"

#include <cstring>

#include "common/byte_io.h"
#include "common/hash.h"

namespace chromahouse {
namespace {

constexpr char kMagic[8] = {'C', 'H', 'S', 'N', 'A', 'P', '0', '1'};

uint64_t VectorHash(const RecordStore& store, uint32_t offset) {
  return Hash64(store.embedding(offset), store.dim() * sizeof(float));
}

Status Corrupt(const std::string& what) {
  return Status::InvalidArgument("index snapshot: " + what);
}

}  // namespace

std::string EncodeIndexSnapshot(const RecordStore& store, const HnswIndex& index,
                                uint64_t watermark) {
  std::string image;
  std::vector<uint32_t> offsets;
  index.AppendImage(&image, &offsets);
  std::string out;
  size_t id_bytes = 0;
  for (uint32_t o : offsets) id_bytes += 4 + store.id(o).size();
  out.reserve(48 + id_bytes + offsets.size() * 8 + image.size());
  out.append(kMagic, sizeof(kMagic));
  Put<uint32_t>(&out, kIndexSnapshotFormat);
  Put<uint32_t>(&out, static_cast<uint32_t>(store.dim()));
  Put<uint64_t>(&out, watermark);
  Put<uint64_t>(&out, offsets.size());
  for (uint32_t o : offsets) {
    const std::string& id = store.id(o);
    Put<uint32_t>(&out, static_cast<uint32_t>(id.size()));
    out.append(id);
  }
  for (uint32_t o : offsets) Put<uint64_t>(&out, VectorHash(store, o));
  Put<uint64_t>(&out, image.size());
  out.append(image);
  Put<uint64_t>(&out, Hash64(out));
  return out;
}

Result<DecodedIndexSnapshot> DecodeIndexSnapshot(std::string_view payload, const RecordStore& store,
                                                 HnswParams params) {
  if (payload.size() < sizeof(kMagic) + 8 || std::memcmp(payload.data(), kMagic, 8) != 0) {
    return Corrupt("not a snapshot (bad magic)");
  }
  uint64_t checksum = 0;
  std::memcpy(&checksum, payload.data() + payload.size() - 8, 8);
  const std::string_view covered = payload.substr(0, payload.size() - 8);
  if (Hash64(covered) != checksum) return Corrupt("checksum mismatch");
  ByteReader r(covered.substr(sizeof(kMagic)));
  uint32_t format = 0, dim = 0;
  uint64_t watermark = 0, nodes = 0;
  if (!r.Get(&format) || !r.Get(&dim) || !r.Get(&watermark) || !r.Get(&nodes)) {
    return Corrupt("truncated header");
  }
  if (format != kIndexSnapshotFormat) {
    return Corrupt("format " + std::to_string(format) + ", this build reads " +
                   std::to_string(kIndexSnapshotFormat));
  }
  if (dim != store.dim()) {
    return Corrupt("dimension " + std::to_string(dim) + ", the collection has " +
                   std::to_string(store.dim()));
  }
  if (nodes > covered.size() / 12) return Corrupt("node count " + std::to_string(nodes));
  DecodedIndexSnapshot out;
  out.watermark = watermark;
  std::vector<uint32_t> targets(nodes, HnswIndex::kDropNode);
  for (uint64_t i = 0; i < nodes; ++i) {
    uint32_t len = 0;
    std::string_view id;
    if (!r.Get(&len) || !r.Bytes(len, &id)) return Corrupt("truncated id list");
    if (auto offset = store.Find(id)) targets[i] = *offset;
  }
  for (uint64_t i = 0; i < nodes; ++i) {
    uint64_t hash = 0;
    if (!r.Get(&hash)) return Corrupt("truncated vector hashes");
    if (targets[i] == HnswIndex::kDropNode) {
      ++out.dropped;
    } else if (VectorHash(store, targets[i]) != hash) {
      out.changed.push_back(targets[i]);
    } else {
      ++out.reused;
    }
  }
  uint64_t image_size = 0;
  std::string_view image;
  if (!r.Get(&image_size) || !r.Bytes(image_size, &image)) return Corrupt("truncated graph");
  if (!r.AtEnd()) return Corrupt("trailing bytes after the graph");
  params.dim = store.dim();
  auto index = HnswIndex::FromImage(params, image, targets,
                                    [&store](uint32_t o) { return store.embedding(o); });
  if (!index.ok()) return Corrupt(index.status().message());
  out.index = std::move(index).value();
  // Changed records keep routing as removed nodes until the indexer re-inserts them (Add on a
  // removed offset repairs its links).
  for (uint32_t o : out.changed) out.index->Remove(o);
  return out;
}

}  // namespace chromahouse
