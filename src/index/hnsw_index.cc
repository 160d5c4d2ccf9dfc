#include "index/hnsw_index.h"

#include "common/byte_io.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <string>
#include <thread>

namespace chromahouse {

// Reused by every search on one thread. `visited[i] == epoch` marks node i as seen in the
// current search; bumping the epoch clears all marks in O(1) (a full reset every 65535 searches).
struct HnswSearchScratch {
  std::vector<uint16_t> visited;
  uint16_t epoch = 0;
  std::vector<Neighbor> candidates;  // min-heap: nodes still to expand
  std::vector<Neighbor> top;         // max-heap: best accepted nodes so far
  std::vector<float> query;          // prepared (normalised, zero-padded) query
  std::vector<uint32_t> todo;
  bool in_use = false;

  uint16_t NewEpoch(size_t slots) {
    if (visited.size() < slots) visited.resize(slots, 0);
    if (++epoch == 0) {
      std::fill(visited.begin(), visited.end(), uint16_t{0});
      epoch = 1;
    }
    return epoch;
  }
};

namespace {

constexpr int kMaxLevel = 16;  // P(level >= 16) = M^-16: never reached in practice
constexpr size_t kMaxNeighbors = 4096;
constexpr size_t kMinGrowth = 64;

// Hands out this thread's scratch; a nested use on the same thread (an allow predicate that
// searches) gets a private one instead of corrupting the outer search.
class ScratchLease {
 public:
  ScratchLease() {
    thread_local HnswSearchScratch tls;
    if (!tls.in_use) {
      scratch_ = &tls;
      tls.in_use = true;
    } else {
      own_ = std::make_unique<HnswSearchScratch>();
      scratch_ = own_.get();
    }
  }
  ~ScratchLease() {
    if (!own_) scratch_->in_use = false;
  }
  ScratchLease(const ScratchLease&) = delete;
  ScratchLease& operator=(const ScratchLease&) = delete;

  HnswSearchScratch& get() { return *scratch_; }

 private:
  HnswSearchScratch* scratch_;
  std::unique_ptr<HnswSearchScratch> own_;
};

inline void Prefetch(const void* p) { __builtin_prefetch(p, 0, 3); }

inline void PrefetchBytes(const void* p, size_t bytes) {
  const char* c = static_cast<const char*>(p);
  for (size_t off = 0; off < bytes; off += 64) Prefetch(c + off);
}

}  // namespace

Result<std::unique_ptr<HnswIndex>> HnswIndex::Create(const HnswParams& params) {
  if (params.dim < 1) return Status::InvalidArgument("hnsw: dimension must be >= 1, got 0");
  if (params.max_neighbors < 2 || params.max_neighbors > kMaxNeighbors) {
    return Status::InvalidArgument("hnsw: max_neighbors must be in [2, " +
                                   std::to_string(kMaxNeighbors) + "], got " +
                                   std::to_string(params.max_neighbors));
  }
  if (params.ef_construction < 1) {
    return Status::InvalidArgument("hnsw: ef_construction must be >= 1, got 0");
  }
  if (params.ef_search < 1) return Status::InvalidArgument("hnsw: ef_search must be >= 1, got 0");
  if (params.external_vectors && params.metric == Metric::kCosine) {
    return Status::InvalidArgument(
        "hnsw: external vectors need l2 or ip (cosine keeps a "
        "normalised copy)");
  }
  return std::unique_ptr<HnswIndex>(new HnswIndex(params));
}

HnswIndex::HnswIndex(const HnswParams& params)
    : params_(params),
      stride_((params.dim + 15) / 16 * 16),
      row_floats_(params.external_vectors ? params.dim : stride_),
      dist_len_(params.external_vectors ? params.dim : stride_),
      max_links_(params.max_neighbors),
      max_links0_(2 * params.max_neighbors),
      link0_slots_(1 + 2 * params.max_neighbors),
      prefetch_bytes_(row_floats_ * sizeof(float)),
      level_mult_(1.0 / std::log(static_cast<double>(params.max_neighbors))),
      query_dist_(PreparedDistanceFn(params.metric)),
      build_dist_(params.metric == Metric::kInnerProduct ? ActiveKernels().l2_squared
                                                         : query_dist_),
      lift_(params.metric == Metric::kInnerProduct),
      ef_search_(params.ef_search),
      level_rng_(params.seed) {}

const uint32_t* HnswIndex::Links(uint32_t id, int level) const {
  if (level == 0) return links0_.data() + size_t{id} * link0_slots_;
  return upper_[id].get() + size_t(level - 1) * (max_links_ + 1);
}

void HnswIndex::Reserve(size_t capacity) {
  if (capacity <= capacity_) return;
  if (!params_.external_vectors) vectors_.Resize(capacity * stride_);
  links0_.resize(capacity * link0_slots_, 0);
  upper_.resize(capacity);
  state_.resize(capacity, kAbsent);
  level_.resize(capacity, 0);
  if (lift_) norm_sq_.resize(capacity, 0.0f);
  capacity_ = capacity;
}

bool HnswIndex::Contains(uint32_t offset) const {
  return offset < capacity_ && state_[offset] == kLive;
}

bool HnswIndex::Remove(uint32_t offset) {
  if (!Contains(offset)) return false;
  state_[offset] = kDeleted;
  --live_count_;
  ++deleted_count_;
  return true;
}

Status HnswIndex::Add(uint32_t offset, const float* vector) {
  if (offset == std::numeric_limits<uint32_t>::max()) {
    return Status::InvalidArgument("hnsw: offset 4294967295 is reserved");
  }
  RETURN_IF_ERROR(ValidateVector(offset, vector, params_.dim));
  if (offset >= capacity_) {
    Reserve(std::max({size_t{offset} + 1, capacity_ + capacity_ / 2, kMinGrowth}));
  }
  // Padding past dim stays zero: it was zeroed at allocation and is never written.
  if (!params_.external_vectors) {
    NormalizedCopy(params_.metric, vector, MutableVector(offset), params_.dim);
  }
  if (lift_) {
    const float n = ActiveKernels().dot(vector, vector, params_.dim);
    norm_sq_[offset] = n;
    // Growing Φ shifts every lifted coordinate; links chosen earlier stay valid routes.
    max_norm_sq_ = std::max(max_norm_sq_, n);
  }

  if (state_[offset] != kAbsent) {
    if (state_[offset] == kDeleted) {
      state_[offset] = kLive;
      --deleted_count_;
      ++live_count_;
    }
    Update(offset);
    return Status::Ok();
  }

  const int level = RandomLevel();
  level_[offset] = static_cast<uint8_t>(level);
  if (level > 0) {
    size_t slots = size_t(level) * (max_links_ + 1);
    upper_[offset] = std::make_unique<uint32_t[]>(slots);  // zeroed: every count starts at 0
    upper_slots_ += slots;
  }
  state_[offset] = kLive;
  ++live_count_;
  if (max_level_ < 0) {
    entry_point_ = offset;
    max_level_ = level;
    return Status::Ok();
  }
  Insert(offset, level);
  return Status::Ok();
}

Status HnswIndex::AddBatch(const std::vector<uint32_t>& offsets,
                           const std::vector<const float*>& vectors, int threads,
                           const ParallelRunner* runner, const std::atomic<int>* stop,
                           size_t* inserted) {
  if (inserted) *inserted = 0;
  auto stopping = [stop](size_t i) {
    return stop && i >= kMinBeforeStop && stop->load(std::memory_order_relaxed) > 0;
  };
  if (offsets.size() != vectors.size()) {
    return Status::InvalidArgument("hnsw: AddBatch got " + std::to_string(offsets.size()) +
                                   " offsets and " + std::to_string(vectors.size()) + " vectors");
  }
  uint32_t max_offset = 0;
  for (size_t i = 0; i < offsets.size(); ++i) {
    if (offsets[i] == std::numeric_limits<uint32_t>::max()) {
      return Status::InvalidArgument("hnsw: offset 4294967295 is reserved");
    }
    RETURN_IF_ERROR(ValidateVector(offsets[i], vectors[i], params_.dim));
    if (offsets[i] < capacity_ && state_[offsets[i]] != kAbsent) {
      return Status::InvalidArgument("hnsw: AddBatch offset " + std::to_string(offsets[i]) +
                                     " is already in the index");
    }
    max_offset = std::max(max_offset, offsets[i]);
  }
  {
    std::vector<uint32_t> sorted(offsets);
    std::sort(sorted.begin(), sorted.end());
    auto dup = std::adjacent_find(sorted.begin(), sorted.end());
    if (dup != sorted.end()) {
      return Status::InvalidArgument("hnsw: AddBatch offset " + std::to_string(*dup) +
                                     " appears twice");
    }
  }
  const size_t n = offsets.size();
  if (lift_ || threads <= 1 || n < 256 * static_cast<size_t>(threads)) {
    for (size_t i = 0; i < n && !stopping(i); ++i) {
      RETURN_IF_ERROR(Add(offsets[i], vectors[i]));
      if (inserted) *inserted = i + 1;
    }
    return Status::Ok();
  }
  if (max_offset >= capacity_) Reserve(std::max(size_t{max_offset} + 1, capacity_));
  if (!stripes_) stripes_ = std::make_unique<std::mutex[]>(kLockStripes);

  // Vectors, levels and states first, one thread and in order (levels come from the seeded
  // generator as in Add): a node is reachable only once it links itself, and by then every
  // vector a search can meet is in place.
  for (size_t i = 0; i < n; ++i) {
    const uint32_t o = offsets[i];
    if (!params_.external_vectors) {
      NormalizedCopy(params_.metric, vectors[i], MutableVector(o), params_.dim);
    }
    const int level = RandomLevel();
    level_[o] = static_cast<uint8_t>(level);
    if (level > 0) {
      size_t slots = size_t(level) * (max_links_ + 1);
      upper_[o] = std::make_unique<uint32_t[]>(slots);
      upper_slots_ += slots;
    }
    state_[o] = kLive;
    ++live_count_;
  }
  size_t first = 0;
  if (max_level_ < 0) {
    entry_point_ = offsets[0];
    max_level_ = level_[offsets[0]];
    first = 1;
  }
  // Offsets are taken in order, and a thread finishes the one it took before it looks at
  // `stop` again: what was inserted is a prefix.
  std::atomic<size_t> next{first};
  auto work = [this, &offsets, &next, n, &stopping] {
    BuildScratch scratch;
    for (size_t i = next.fetch_add(1); i < n; i = next.fetch_add(1)) {
      InsertLocked(offsets[i], scratch);
      if (stopping(i + 1)) break;
    }
  };
  if (runner) {
    (*runner)(threads, work);
  } else {
    std::vector<std::thread> helpers;
    for (int t = 1; t < threads; ++t) helpers.emplace_back(work);
    work();
    for (auto& t : helpers) t.join();
  }
  // Every index below `next` was taken, and every taken index was inserted (a thread stops
  // before it takes another).
  const size_t done = std::min(next.load(), n);
  for (size_t i = done; i < n; ++i) {
    // Never linked, so unreachable: back to absent.
    const uint32_t o = offsets[i];
    if (level_[o] > 0) {
      upper_slots_ -= size_t(level_[o]) * (max_links_ + 1);
      upper_[o].reset();
    }
    level_[o] = 0;
    state_[o] = kAbsent;
    --live_count_;
  }
  if (inserted) *inserted = done;
  return Status::Ok();
}

int HnswIndex::RandomLevel() {
  std::uniform_real_distribution<double> uniform(0.0, 1.0);
  double r = 1.0 - uniform(level_rng_);  // in (0, 1]
  double level = -std::log(r) * level_mult_;
  return static_cast<int>(std::min(level, double{kMaxLevel}));
}

float HnswIndex::Lift(uint32_t id) const {
  return std::sqrt(std::max(0.0f, max_norm_sq_ - norm_sq_[id]));
}

const uint32_t* HnswIndex::ReadLinks(uint32_t id, int level, std::vector<uint32_t>* copy) const {
  if (copy == nullptr) return Links(id, level);
  std::lock_guard lock(NodeLock(id));
  const uint32_t* links = Links(id, level);
  copy->assign(links, links + 1 + links[0]);
  return copy->data();
}

template <typename DistTo>
uint32_t HnswIndex::GreedyDescent(const DistTo& dist_to, int target, uint32_t entry, int top_level,
                                  std::vector<uint32_t>* copy) const {
  uint32_t cur = entry;
  float cur_dist = dist_to(cur);
  for (int level = top_level; level > target; --level) {
    bool changed = true;
    while (changed) {
      changed = false;
      const uint32_t* links = ReadLinks(cur, level, copy);
      const uint32_t count = links[0];
      for (uint32_t j = 1; j <= count; ++j) {
        if (j < count) PrefetchBytes(Vector(links[j + 1]), prefetch_bytes_);
        float d = dist_to(links[j]);
        if (d < cur_dist) {
          cur_dist = d;
          cur = links[j];
          changed = true;
        }
      }
    }
  }
  return cur;
}

template <typename DistTo>
void HnswIndex::SearchLevel(const DistTo& dist_to, uint32_t entry, int level, size_t ef,
                            const AllowFn* allow, HnswSearchScratch& scratch,
                            std::vector<uint32_t>* copy) const {
  std::vector<Neighbor>& cands = scratch.candidates;
  std::vector<Neighbor>& top = scratch.top;
  cands.clear();
  top.clear();
  const uint16_t tag = scratch.NewEpoch(capacity_);
  uint16_t* visited = scratch.visited.data();
  const auto min_first = std::greater<Neighbor>();
  auto accepted = [&](uint32_t id) {
    return state_[id] == kLive && (allow == nullptr || (*allow)(id));
  };

  float d = dist_to(entry);
  visited[entry] = tag;
  // `bound` is the worst distance in `top`; while top holds fewer than ef nodes every visited
  // node is a candidate, which is what lets filtered search walk through rejected regions.
  float bound = std::numeric_limits<float>::max();
  if (accepted(entry)) {
    top.push_back({d, entry});
    bound = d;
  }
  cands.push_back({d, entry});

  while (!cands.empty()) {
    const Neighbor current = cands.front();
    if (current.first > bound && top.size() >= ef) break;
    std::pop_heap(cands.begin(), cands.end(), min_first);
    cands.pop_back();

    const uint32_t* links = ReadLinks(current.second, level, copy);
    const uint32_t count = links[0];
    if (scratch.todo.size() < count) scratch.todo.resize(count);
    uint32_t* todo = scratch.todo.data();
    size_t nt = 0;
    for (uint32_t j = 1; j <= count; ++j) {
      const uint32_t id = links[j];
      if (visited[id] == tag) continue;
      visited[id] = tag;
      todo[nt++] = id;
      PrefetchBytes(Vector(id), prefetch_bytes_);
    }
    for (size_t t = 0; t < nt; ++t) {
      const uint32_t id = todo[t];
      const float dist = dist_to(id);
      if (top.size() >= ef && dist >= bound) continue;
      cands.push_back({dist, id});
      std::push_heap(cands.begin(), cands.end(), min_first);
      if (accepted(id)) {
        top.push_back({dist, id});
        std::push_heap(top.begin(), top.end());
        if (top.size() > ef) {
          std::pop_heap(top.begin(), top.end());
          top.pop_back();
        }
        bound = top.front().first;
      }
    }
    if (!cands.empty()) Prefetch(Links(cands.front().second, level));
  }
}

std::vector<Neighbor> HnswIndex::Search(const float* query, size_t k, const AllowFn* allow) const {
  return Search(query, k, ef_search(), allow);
}

std::vector<Neighbor> HnswIndex::Search(const float* query, size_t k, size_t ef,
                                        const AllowFn* allow) const {
  if (k == 0 || live_count_ == 0) return {};
  ScratchLease lease;
  HnswSearchScratch& scratch = lease.get();
  scratch.query.assign(stride_, 0.0f);
  NormalizedCopy(params_.metric, query, scratch.query.data(), params_.dim);
  const float* q = scratch.query.data();
  auto dist_to = [this, q](uint32_t id) { return QueryDist(q, id); };

  const uint32_t entry = GreedyDescent(dist_to, 0, entry_point_, max_level_, nullptr);
  SearchLevel(dist_to, entry, 0, std::max(ef, k), allow, scratch);

  std::vector<Neighbor> result(scratch.top.begin(), scratch.top.end());
  std::sort(result.begin(), result.end());
  if (result.size() > k) result.resize(k);
  return result;
}

void HnswIndex::SelectNeighbors(std::vector<Neighbor>& cands, size_t m,
                                BuildScratch& scratch) const {
  std::sort(cands.begin(), cands.end());
  if (cands.size() < m) return;
  // Keep a candidate only if it is closer to the base node than to every neighbour kept so far:
  // links then point in diverse directions instead of into one dense cluster.
  std::vector<Neighbor>& kept_list = scratch.kept;
  kept_list.clear();
  for (const Neighbor& c : cands) {
    if (kept_list.size() >= m) break;
    bool keep = true;
    for (const Neighbor& kept : kept_list) {
      if (BuildDist(c.second, kept.second) < c.first) {
        keep = false;
        break;
      }
    }
    if (keep) kept_list.push_back(c);
  }
  cands.swap(kept_list);
}

uint32_t HnswIndex::Connect(uint32_t id, std::vector<Neighbor>& cands, int level, bool is_update,
                            BuildScratch& scratch, bool locked) {
  // As hnswlib: the node itself gets at most M links on every level; back links may fill a
  // neighbour's list up to MaxLinks(level) (2M on level 0) before it is re-pruned.
  SelectNeighbors(cands, max_links_, scratch);
  {
    std::unique_lock<std::mutex> lock;
    if (locked) lock = std::unique_lock(NodeLock(id));
    WriteLinks(id, level, cands);
  }

  const size_t max_links = MaxLinks(level);
  std::vector<Neighbor>& prune_cands = scratch.prune;
  for (const Neighbor& c : cands) {
    const uint32_t n = c.second;
    std::unique_lock<std::mutex> lock;
    if (locked) lock = std::unique_lock(NodeLock(n));
    uint32_t* links = MutableLinks(n, level);
    const uint32_t count = links[0];
    if (is_update && std::find(links + 1, links + 1 + count, id) != links + 1 + count) continue;
    if (count < max_links) {
      links[1 + count] = id;
      links[0] = count + 1;
      continue;
    }
    prune_cands.clear();
    prune_cands.push_back({c.first, id});
    for (uint32_t j = 1; j <= count; ++j) {
      prune_cands.push_back({BuildDist(n, links[j]), links[j]});
    }
    SelectNeighbors(prune_cands, max_links, scratch);
    WriteLinks(n, level, prune_cands);
  }
  return cands.front().second;
}

void HnswIndex::WriteLinks(uint32_t id, int level, const std::vector<Neighbor>& kept) {
  uint32_t* links = MutableLinks(id, level);
  links[0] = static_cast<uint32_t>(kept.size());
  for (size_t i = 0; i < kept.size(); ++i) links[1 + i] = kept[i].second;
}

void HnswIndex::Insert(uint32_t id, int level) {
  Reconnect(id, level, /*is_update=*/false, build_, entry_point_, max_level_, /*locked=*/false);
  if (level > max_level_) {
    max_level_ = level;
    entry_point_ = id;
  }
}

void HnswIndex::InsertLocked(uint32_t id, BuildScratch& scratch) {
  const int level = level_[id];
  // A node that raises the top level keeps the entry point locked for its whole insert (as
  // hnswlib): the others read the entry point under the lock and go on without it.
  std::unique_lock graph(graph_mu_);
  const uint32_t entry = entry_point_;
  const int top = max_level_;
  if (level <= top) graph.unlock();
  Reconnect(id, level, /*is_update=*/false, scratch, entry, top, /*locked=*/true);
  if (level > top) {
    max_level_ = level;
    entry_point_ = id;
  }
}

void HnswIndex::Reconnect(uint32_t id, int level, bool is_update, BuildScratch& build,
                          uint32_t entry, int top_level, bool locked) {
  ScratchLease lease;
  HnswSearchScratch& scratch = lease.get();
  std::vector<uint32_t>* copy = locked ? &build.links : nullptr;
  auto dist_to = [this, id](uint32_t other) { return BuildDist(id, other); };
  uint32_t cur = level < top_level ? GreedyDescent(dist_to, level, entry, top_level, copy) : entry;
  const bool entry_deleted = state_[entry] == kDeleted && entry != id;
  std::vector<Neighbor>& level_cands = build.level;

  for (int l = std::min(level, top_level); l >= 0; --l) {
    SearchLevel(dist_to, cur, l, params_.ef_construction, nullptr, scratch, copy);
    level_cands.assign(scratch.top.begin(), scratch.top.end());
    if (is_update) {
      std::erase_if(level_cands, [id](const Neighbor& n) { return n.second == id; });
    }
    // Deleted nodes are never chosen as neighbours, except a deleted entry point: it keeps
    // the new node reachable from the top of the graph (as hnswlib does).
    if (entry_deleted && !level_cands.empty()) {
      level_cands.push_back({BuildDist(id, entry), entry});
    }
    if (level_cands.empty()) continue;
    cur = Connect(id, level_cands, l, is_update, build, locked);
  }
}

void HnswIndex::Update(uint32_t id) {
  if (live_count_ + deleted_count_ <= 1) return;
  const int level = level_[id];
  for (int l = 0; l <= level; ++l) {
    const uint32_t* own = Links(id, l);
    update_one_hop_.assign(own + 1, own + 1 + own[0]);
    if (update_one_hop_.empty()) continue;
    // Candidate pool: the node, its neighbours and their neighbours (hnswlib updatePoint).
    update_ids_.assign(1, id);
    for (uint32_t n : update_one_hop_) {
      const uint32_t* links = Links(n, l);
      update_ids_.push_back(n);
      update_ids_.insert(update_ids_.end(), links + 1, links + 1 + links[0]);
    }
    std::sort(update_ids_.begin(), update_ids_.end());
    update_ids_.erase(std::unique(update_ids_.begin(), update_ids_.end()), update_ids_.end());

    // Rebuild each old neighbour's list from the pool, relative to the node's new vector.
    for (uint32_t n : update_one_hop_) {
      build_.prune.clear();
      for (uint32_t c : update_ids_) {
        if (c != n) build_.prune.push_back({BuildDist(n, c), c});
      }
      if (build_.prune.size() > params_.ef_construction) {
        const auto keep = static_cast<ptrdiff_t>(params_.ef_construction);
        std::nth_element(build_.prune.begin(), build_.prune.begin() + keep, build_.prune.end());
        build_.prune.resize(params_.ef_construction);
      }
      SelectNeighbors(build_.prune, MaxLinks(l), build_);
      WriteLinks(n, l, build_.prune);
    }
  }
  Reconnect(id, level, /*is_update=*/true, build_, entry_point_, max_level_, /*locked=*/false);
}

size_t HnswIndex::MemoryBytes() const {
  return sizeof(*this) + vectors_.size() * sizeof(float) + links0_.capacity() * sizeof(uint32_t) +
         upper_.capacity() * sizeof(upper_[0]) + upper_slots_ * sizeof(uint32_t) +
         state_.capacity() + level_.capacity() + norm_sq_.capacity() * sizeof(float) +
         (build_.kept.capacity() + build_.prune.capacity() + build_.level.capacity()) *
             sizeof(Neighbor) +
         build_.links.capacity() * sizeof(uint32_t) +
         (stripes_ ? kLockStripes * sizeof(std::mutex) : 0) +
         (update_one_hop_.capacity() + update_ids_.capacity()) * sizeof(uint32_t);
}

}  // namespace chromahouse

namespace chromahouse {
namespace {

constexpr char kImageMagic[8] = {'C', 'H', 'H', 'N', 'S', 'W', 'G', '1'};

Status BadImage(const std::string& what) { return Status::InvalidArgument("hnsw image: " + what); }

}  // namespace

void HnswIndex::AppendImage(std::string* out, std::vector<uint32_t>* offsets) const {
  // Image numbers: live nodes in offset order.
  std::vector<uint32_t> number(capacity_, kDropNode);
  const size_t first_offset = offsets->size();
  for (uint32_t o = 0; o < capacity_; ++o) {
    if (state_[o] != kLive) continue;
    number[o] = static_cast<uint32_t>(offsets->size() - first_offset);
    offsets->push_back(o);
  }
  const size_t nodes = offsets->size() - first_offset;
  // The entry point may be a removed node that still routes; then the highest live node.
  uint32_t entry = 0;
  if (nodes > 0) {
    if (max_level_ >= 0 && state_[entry_point_] == kLive) {
      entry = number[entry_point_];
    } else {
      int best = -1;
      for (size_t i = first_offset; i < offsets->size(); ++i) {
        if (level_[(*offsets)[i]] > best) {
          best = level_[(*offsets)[i]];
          entry = static_cast<uint32_t>(i - first_offset);
        }
      }
    }
  }
  out->reserve(out->size() + 40 + nodes * (1 + 4 * (1 + max_links0_ / 2 + 2)));
  out->append(kImageMagic, sizeof(kImageMagic));
  Put<uint32_t>(out, static_cast<uint32_t>(params_.dim));
  Put<uint32_t>(out, static_cast<uint32_t>(params_.metric));
  Put<uint32_t>(out, static_cast<uint32_t>(params_.max_neighbors));
  Put<uint32_t>(out, 0);
  Put<uint64_t>(out, nodes);
  Put<uint32_t>(out, entry);
  Put<uint32_t>(out, 0);
  std::vector<uint32_t> kept;
  for (size_t i = first_offset; i < offsets->size(); ++i) {
    const uint32_t o = (*offsets)[i];
    const int level = level_[o];
    out->push_back(static_cast<char>(level));
    for (int l = 0; l <= level; ++l) {
      const uint32_t* links = Links(o, l);
      kept.clear();
      for (uint32_t j = 1; j <= links[0]; ++j) {
        if (number[links[j]] != kDropNode) kept.push_back(number[links[j]]);
      }
      Put<uint32_t>(out, static_cast<uint32_t>(kept.size()));
      out->append(reinterpret_cast<const char*>(kept.data()), kept.size() * sizeof(uint32_t));
    }
  }
}

Result<std::unique_ptr<HnswIndex>> HnswIndex::FromImage(
    const HnswParams& params, std::string_view image, const std::vector<uint32_t>& targets,
    const std::function<const float*(uint32_t)>& vector_of) {
  ByteReader r(image);
  char magic[8];
  for (char& c : magic) {
    if (!r.Get(&c)) return BadImage("truncated header");
  }
  if (std::memcmp(magic, kImageMagic, sizeof(magic)) != 0) return BadImage("unknown format");
  uint32_t dim = 0, metric = 0, m = 0, pad = 0, entry = 0;
  uint64_t nodes = 0;
  if (!r.Get(&dim) || !r.Get(&metric) || !r.Get(&m) || !r.Get(&pad) || !r.Get(&nodes) ||
      !r.Get(&entry) || !r.Get(&pad)) {
    return BadImage("truncated header");
  }
  if (dim != params.dim || metric != static_cast<uint32_t>(params.metric) ||
      m != params.max_neighbors) {
    return BadImage("built with dim " + std::to_string(dim) + ", metric " + std::to_string(metric) +
                    ", M " + std::to_string(m) + "; expected dim " + std::to_string(params.dim) +
                    ", metric " + std::to_string(static_cast<uint32_t>(params.metric)) + ", M " +
                    std::to_string(params.max_neighbors));
  }
  if (nodes != targets.size()) {
    return BadImage("holds " + std::to_string(nodes) + " nodes, " + std::to_string(targets.size()) +
                    " targets given");
  }
  if (nodes > 0 && entry >= nodes) return BadImage("entry point out of range");
  ASSIGN_OR_RETURN(std::unique_ptr<HnswIndex> index, Create(params));
  HnswIndex& g = *index;

  // Pass 1: levels and counts (a link may only point to a node present on its level).
  const size_t body = r.position();
  std::vector<uint8_t> levels(nodes);
  size_t capacity = 0;
  for (uint64_t i = 0; i < nodes; ++i) {
    uint8_t level = 0;
    if (!r.Get(&level)) return BadImage("truncated at node " + std::to_string(i));
    if (level > kMaxLevel)
      return BadImage("node " + std::to_string(i) + " has level " + std::to_string(level));
    levels[i] = level;
    for (int l = 0; l <= level; ++l) {
      uint32_t count = 0;
      if (!r.Get(&count) || count > g.MaxLinks(l) || !r.Skip(size_t{count} * sizeof(uint32_t))) {
        return BadImage("bad link list of node " + std::to_string(i) + " on level " +
                        std::to_string(l));
      }
    }
    if (targets[i] != kDropNode) capacity = std::max<size_t>(capacity, size_t{targets[i]} + 1);
  }
  if (!r.AtEnd()) return BadImage("trailing bytes");
  g.Reserve(capacity);

  // Pass 2: vectors, levels and links, renumbered to offsets.
  r.Seek(body);
  for (uint64_t i = 0; i < nodes; ++i) {
    uint8_t level = 0;
    r.Get(&level);
    const uint32_t o = targets[i];
    if (o != kDropNode) {
      if (g.state_[o] != kAbsent) return BadImage("offset " + std::to_string(o) + " given twice");
      const float* v = vector_of(o);
      RETURN_IF_ERROR(ValidateVector(o, v, params.dim));
      if (!params.external_vectors)
        NormalizedCopy(params.metric, v, g.MutableVector(o), params.dim);
      if (g.lift_) {
        const float n = ActiveKernels().dot(v, v, params.dim);
        g.norm_sq_[o] = n;
        g.max_norm_sq_ = std::max(g.max_norm_sq_, n);
      }
      g.level_[o] = level;
      if (level > 0) {
        size_t slots = size_t(level) * (g.max_links_ + 1);
        g.upper_[o] = std::make_unique<uint32_t[]>(slots);
        g.upper_slots_ += slots;
      }
      g.state_[o] = kLive;
      ++g.live_count_;
    }
    for (int l = 0; l <= level; ++l) {
      uint32_t count = 0;
      r.Get(&count);
      uint32_t* links = o == kDropNode ? nullptr : g.MutableLinks(o, l);
      uint32_t kept = 0;
      for (uint32_t j = 0; j < count; ++j) {
        uint32_t n = 0;
        r.Get(&n);
        if (n >= nodes || levels[n] < l) {
          return BadImage("node " + std::to_string(i) + " links to node " + std::to_string(n) +
                          " on level " + std::to_string(l));
        }
        if (links && targets[n] != kDropNode) links[1 + kept++] = targets[n];
      }
      if (links) links[0] = kept;
    }
  }
  if (nodes > 0) {
    if (targets[entry] != kDropNode) {
      g.entry_point_ = targets[entry];
      g.max_level_ = levels[entry];
    } else {
      for (uint64_t i = 0; i < nodes; ++i) {
        if (targets[i] != kDropNode && levels[i] > g.max_level_) {
          g.entry_point_ = targets[i];
          g.max_level_ = levels[i];
        }
      }
    }
  }
  return index;
}

}  // namespace chromahouse
