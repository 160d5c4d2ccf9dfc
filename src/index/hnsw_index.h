// HnswIndex: a Hierarchical Navigable Small World graph (Malkov & Yashunin, 2016) over offsets.
//
// Design note.
// - Node id == caller offset. The caller owns the dense offset space and reuses freed offsets;
//   the index grows its arrays to the largest offset seen (geometrically, or via Reserve).
// - Layout (per node slot, whether used or not):
//     vectors_   64-byte aligned, stride = dim rounded up to 16 floats, zero padding. For
//                kCosine the row is the normalised vector; the caller keeps the original.
//                None with external_vectors: row `offset` of the caller's matrix instead.
//     links0_    level-0 adjacency, fixed 1 + 2M uint32 slots: [count, n_1 … n_2M].
//     upper_     levels 1..L: one heap block of L × (1 + M) slots, only for nodes with L > 0.
//     state_, level_  one byte each; norm_sq_ one float (inner product only).
// - Insertion follows the paper: a random level ⌊−ln U / ln M⌋, greedy descent through upper
//   levels, then a beam search of width ef_construction on each level, neighbours chosen by
//   the paper's heuristic (hnswlib getNeighborsByHeuristic2), links made both ways; a full
//   neighbour list is re-pruned with the same heuristic.
// - Inner product is not a metric: a graph built on 1 − a·b (as hnswlib does) leaves low-norm
//   nodes without in-links (16% unreachable on the 20k test set; filtered recall 0.83). So for
//   kInnerProduct the graph is built on the squared L2 distance of the lifted vectors
//   (x, √(Φ² − ‖x‖²)), Φ² = largest ‖x‖² added so far (see BuildDist), while searches rank by
//   1 − q·x, which orders nodes exactly as the lifted query (q, 0) would. Costs one float per
//   node; returned distances are unchanged.
// - Remove marks the node deleted: it keeps routing searches but is never returned and is not
//   chosen as a neighbour of later inserts. Add on an existing (live or deleted) offset replaces
//   the vector in place and repairs links as hnswlib's updatePoint does: the old neighbours'
//   lists are rebuilt from their 1- and 2-hop neighbourhood, then the node is reconnected by a
//   fresh search. Its level is kept.
// - Filtered search (allow != null) keeps exploring through disallowed and deleted nodes until
//   it holds max(ef, k) accepted nodes or the reachable graph is exhausted (hnswlib ≥ 0.7
//   isIdAllowed), so it returns k results whenever k allowed nodes are reachable. With a very
//   selective filter that approaches a full graph walk: the caller should use BruteForceSearch
//   when the allowed set is small (see README.md).
// - Search scratch (visited marks with an epoch counter, heaps, the prepared query) lives in a
//   thread_local object reused across searches and indexes: no allocation per query once warm.
//
// Thread safety: const methods (Search, size, MemoryBytes, …) may run concurrently with each
// other and with set_ef_search. Add, Remove and Reserve need exclusive access; the caller holds
// a lock (shared for searches, exclusive for writes). The index owns no threads.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <limits>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "index/aligned_buffer.h"
#include "index/distance.h"
#include "index/vector_index.h"

namespace chromahouse {

struct HnswSearchScratch;  // per-thread search state (hnsw_index.cc)

struct HnswParams {
  size_t dim = 0;
  Metric metric = Metric::kL2;
  size_t max_neighbors = 16;     // M: links per node on levels >= 1; level 0 gets 2M
  size_t ef_construction = 100;  // beam width while inserting
  size_t ef_search = 100;        // default beam width while searching (raised to k if smaller)
  uint64_t seed = 100;           // level generator; same seed + same inserts = same graph
  // The caller keeps the vectors (see SetVectors) instead of the index holding a copy. Not for
  // kCosine, whose index needs normalised vectors.
  bool external_vectors = false;
};

class HnswIndex final : public VectorIndex {
 public:
  // InvalidArgument unless dim >= 1, 2 <= max_neighbors <= 4096, ef_construction >= 1 and
  // ef_search >= 1.
  static Result<std::unique_ptr<HnswIndex>> Create(const HnswParams& params);

  HnswIndex(const HnswIndex&) = delete;
  HnswIndex& operator=(const HnswIndex&) = delete;

  size_t dim() const override { return params_.dim; }
  Metric metric() const override { return params_.metric; }
  const HnswParams& params() const { return params_; }

  // Inserts, or updates in place when `offset` is already present (live or removed).
  // InvalidArgument when ValidateVector fails or offset == UINT32_MAX. Exclusive.
  Status Add(uint32_t offset, const float* vector) override;
  // Adds many new offsets with `threads` threads inserting at once (striped per-node locks, as
  // hnswlib's parallel build): the same quality as one-by-one Add, a different graph. Every
  // offset must be absent and distinct. An inner-product index (its lift depends on the order
  // of inserts), threads <= 1 or a small batch insert one by one. Exclusive.
  // `runner` (optional) runs the threads' work, e.g. on a WorkerPool whose threads keep their
  // search scratch; by default each call starts threads.
  // `stop` (optional): once it is above 0 (checked between inserts, after the first
  // kMinBeforeStop), no further offset is started; the batch then ends early with a prefix of
  // `offsets` inserted, its length in `*inserted` (the rest stay absent). Without `stop` every
  // offset is inserted.
  using ParallelRunner = std::function<void(int threads, const std::function<void()>& work)>;
  static constexpr size_t kMinBeforeStop = 16;
  Status AddBatch(const std::vector<uint32_t>& offsets, const std::vector<const float*>& vectors,
                  int threads, const ParallelRunner* runner = nullptr,
                  const std::atomic<int>* stop = nullptr, size_t* inserted = nullptr);
  // Marks `offset` deleted; false if it is not live. O(1). Exclusive.
  bool Remove(uint32_t offset) override;
  bool Contains(uint32_t offset) const override;
  // Live or removed: the offset has a node (AddBatch refuses it; Add updates it).
  bool HasNode(uint32_t offset) const { return offset < capacity_ && state_[offset] != kAbsent; }

  // Search with ef = ef_search().
  std::vector<Neighbor> Search(const float* query, size_t k, const AllowFn* allow) const override;
  // Up to k live, allowed offsets, sorted by (distance, offset); beam width max(ef, k).
  std::vector<Neighbor> Search(const float* query, size_t k, size_t ef, const AllowFn* allow) const;

  size_t ef_search() const { return ef_search_.load(std::memory_order_relaxed); }
  void set_ef_search(size_t ef) { ef_search_.store(ef < 1 ? 1 : ef, std::memory_order_relaxed); }

  // Grows the node arrays to hold offsets [0, capacity). Never shrinks. Exclusive.
  void Reserve(size_t capacity);

  // External vectors (params.external_vectors): the vector of node `offset` is row `offset` of
  // the caller's row-major matrix of dim floats per row, starting at `base`. The caller passes
  // the base before every Add, AddBatch or Search (its matrix may move as it grows), and changes
  // a row that has a node only together with Remove and a later Add of that offset (a removed
  // node keeps routing with whatever its row holds). Concurrent searches may set it (to the same
  // value: the matrix cannot move while they run).
  void SetVectors(const float* base) { external_.store(base, std::memory_order_relaxed); }

  // Graph images (for snapshots kept outside the process). Appends the graph's live nodes to
  // `out` and their offsets, in image order, to `offsets`: node i of the image is offsets[i].
  // Links to removed nodes are left out. The vectors are not in the image (the caller has them).
  // Format (host byte order): "CHHNSWG1", u32 dim, u32 metric, u32 M, u32 0, u64 nodes,
  // u32 entry node, u32 0, then per node: u8 level and, for each level 0..level, u32 count and
  // `count` u32 node numbers.
  void AppendImage(std::string* out, std::vector<uint32_t>* offsets) const;
  // Rebuilds a graph from an image made by AppendImage. `targets[i]` is the offset image node
  // i takes, or kDropNode to leave it out (links to it are dropped; a dropped entry point is
  // replaced by the highest remaining node); `vector_of(offset)` gives its vector. `params`
  // must agree with the image on dim, metric and M. Every count, level and node number is
  // checked: a malformed image is InvalidArgument naming the problem, never a broken graph.
  static constexpr uint32_t kDropNode = std::numeric_limits<uint32_t>::max();
  static Result<std::unique_ptr<HnswIndex>> FromImage(
      const HnswParams& params, std::string_view image, const std::vector<uint32_t>& targets,
      const std::function<const float*(uint32_t)>& vector_of);

  size_t size() const override { return live_count_; }
  size_t deleted_count() const { return deleted_count_; }
  size_t capacity() const { return capacity_; }
  size_t MemoryBytes() const override;

 private:
  enum : uint8_t { kAbsent = 0, kLive = 1, kDeleted = 2 };
  static constexpr size_t kLockStripes = 4096;

  // Insert-time scratch: the index's own for Add, one per thread in AddBatch.
  struct BuildScratch {
    std::vector<Neighbor> kept;
    std::vector<Neighbor> prune;
    std::vector<Neighbor> level;
    std::vector<uint32_t> links;  // a copy of a link list read under its lock
  };

  explicit HnswIndex(const HnswParams& params);

  const float* Vector(uint32_t id) const {
    const float* base =
        params_.external_vectors ? external_.load(std::memory_order_relaxed) : vectors_.data();
    return base + size_t{id} * row_floats_;
  }
  // Own copies only (not external_vectors).
  float* MutableVector(uint32_t id) { return vectors_.data() + size_t{id} * row_floats_; }
  // [count, ids…] of `id` on `level`; the node must exist on that level.
  const uint32_t* Links(uint32_t id, int level) const;
  uint32_t* MutableLinks(uint32_t id, int level) {
    return const_cast<uint32_t*>(static_cast<const HnswIndex*>(this)->Links(id, level));
  }
  size_t MaxLinks(int level) const { return level == 0 ? max_links0_ : max_links_; }

  // Query-to-node distance: the metric on prepared vectors.
  float QueryDist(const float* query, uint32_t id) const {
    return query_dist_(query, Vector(id), dist_len_);
  }
  // Node-to-node distance that shapes the graph. The metric itself for l2 and cosine. For
  // inner product, which is not a metric, the squared L2 distance after the MIPS-to-NN lift
  // x ↦ (x, √(Φ² − ‖x‖²)), Φ ≥ every ‖x‖ (Bachrach et al., 2014): a query (q, 0) ranks nodes
  // exactly as 1 − q·x does, and the graph gets the connectivity of a metric space.
  float BuildDist(uint32_t a, uint32_t b) const {
    float d = build_dist_(Vector(a), Vector(b), dist_len_);
    if (lift_) {
      float e = Lift(a) - Lift(b);
      d += e * e;
    }
    return d;
  }
  float Lift(uint32_t id) const;

  int RandomLevel();
  // Closest node on level `target`, walking greedily down from `entry` on `top_level`.
  // `copy` is non-null during a parallel build: link lists are then read under their lock.
  template <typename DistTo>
  uint32_t GreedyDescent(const DistTo& dist_to, int target, uint32_t entry, int top_level,
                         std::vector<uint32_t>* copy) const;
  // `id`'s links on `level`, in place or (copy != null) copied under the node's lock.
  const uint32_t* ReadLinks(uint32_t id, int level, std::vector<uint32_t>* copy) const;
  std::mutex& NodeLock(uint32_t id) const { return stripes_[id % kLockStripes]; }
  // Beam search on one level from `entry`; leaves up to ef accepted nodes in scratch.top as a
  // max-heap. Accepted = live and allowed (allow may be null).
  template <typename DistTo>
  void SearchLevel(const DistTo& dist_to, uint32_t entry, int level, size_t ef,
                   const AllowFn* allow, HnswSearchScratch& scratch,
                   std::vector<uint32_t>* copy = nullptr) const;
  // The paper's heuristic: keeps at most m of `cands` (sorted ascending on return).
  void SelectNeighbors(std::vector<Neighbor>& cands, size_t m, BuildScratch& scratch) const;
  // Links `id` to the heuristic choice from `cands` on `level` and back; returns the closest
  // chosen node (next entry point). `is_update` tolerates links that already exist.
  // `locked`: a parallel build, each list is changed under its node's lock.
  uint32_t Connect(uint32_t id, std::vector<Neighbor>& cands, int level, bool is_update,
                   BuildScratch& scratch, bool locked);
  // Replaces `id`'s list on `level` with the ids of `kept`.
  void WriteLinks(uint32_t id, int level, const std::vector<Neighbor>& kept);
  void Insert(uint32_t id, int level);
  void Update(uint32_t id);
  // Searches for `id`'s own vector from `entry` (on `top_level`) and connects it on levels
  // level..0.
  void Reconnect(uint32_t id, int level, bool is_update, BuildScratch& scratch, uint32_t entry,
                 int top_level, bool locked);
  // One insert of a parallel build (vector, level and state already set).
  void InsertLocked(uint32_t id, BuildScratch& scratch);

  HnswParams params_;
  size_t stride_;          // floats per own vector (dim rounded up to 16) and prepared query
  size_t row_floats_;      // floats between rows: stride_, or dim for external vectors
  size_t dist_len_;        // floats a distance kernel reads: stride_ (zero padded) or dim
  size_t max_links_;       // M
  size_t max_links0_;      // 2M
  size_t link0_slots_;     // 1 + 2M
  size_t prefetch_bytes_;  // leading bytes of a neighbour's vector to prefetch
  double level_mult_;      // 1 / ln M
  DistanceFn query_dist_;  // metric on prepared vectors, over stride_ floats
  DistanceFn build_dist_;  // query_dist_, or squared L2 for inner product (plus the lift)
  bool lift_;              // inner product: BuildDist adds the lifted coordinate
  std::atomic<size_t> ef_search_;
  std::mt19937_64 level_rng_;

  size_t capacity_ = 0;
  AlignedFloatBuffer vectors_;                      // capacity_ × stride_ (own copies only)
  std::atomic<const float*> external_{nullptr};     // the caller's matrix (external_vectors)
  std::vector<uint32_t> links0_;                    // capacity_ × link0_slots_
  std::vector<std::unique_ptr<uint32_t[]>> upper_;  // per node, null when level 0
  std::vector<uint8_t> state_;                      // kAbsent / kLive / kDeleted
  std::vector<uint8_t> level_;                      // top level of each node
  std::vector<float> norm_sq_;                      // ‖x‖² per node (inner product only)
  float max_norm_sq_ = 0;                           // Φ²: largest ‖x‖² ever added
  size_t live_count_ = 0;
  size_t deleted_count_ = 0;
  size_t upper_slots_ = 0;  // uint32 slots allocated in upper_
  uint32_t entry_point_ = 0;
  int max_level_ = -1;  // -1 while the graph is empty

  // Parallel build (AddBatch): link lists under `stripes_`, the entry point under `graph_mu_`.
  // Plain std::mutex, not common/mutex.h's: they are taken only while AddBatch runs (single-
  // threaded inserts take none), which the thread-safety analysis cannot express.
  mutable std::unique_ptr<std::mutex[]> stripes_;
  std::mutex graph_mu_;

  // Insert-time scratch of Add (exclusive, so members are safe).
  BuildScratch build_;
  std::vector<uint32_t> update_one_hop_;
  std::vector<uint32_t> update_ids_;
};

}  // namespace chromahouse
