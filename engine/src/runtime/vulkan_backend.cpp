// The Vulkan backend: places weights, caches and activations in device memory blocks,
// records each graph once and replays it per step. The per-op dispatches are in
// engine/src/vulkan/step_ops.cpp.
#include "runtime/vulkan_backend.h"

#include <algorithm>
#include <cstring>
#include <limits>
#include <map>
#include <optional>

#include "archscope/cache_plan.h"
#include "archscope/error.h"
#include "archscope/vulkan_device.h"
#include "vulkan/buffer_arena.h"
#include "vulkan/step_ops.h"

namespace archscope {

namespace {

using vulkan::BufferArena;
using vulkan::DeviceCache;
using vulkan::DeviceTensor;
using vulkan::DeviceWeight;
using vulkan::kBindingSlack;
using vulkan::StepRecorder;

// The head of the step buffer (shaders/step.glsl); the token ids follow it.
struct StepHeader {
  int32_t n_tokens = 0;
  int32_t first_position = 0;
  int32_t reserved[2] = {0, 0};
};

// A hash of what a recording depends on, so that a different graph at the address of a
// prepared one is recognised and prepared anew.
uint64_t fingerprint(const Graph& g) {
  uint64_t h = 1469598103934665603ull;
  auto mix = [&](int64_t v) { h = (h ^ static_cast<uint64_t>(v)) * 1099511628211ull; };
  mix(g.max_tokens);
  for (const TensorDesc& t : g.tensors) {
    mix(t.cols);
    mix(t.per_token);
  }
  for (const Op& op : g.ops) {
    for (int64_t v :
         {int64_t(op.kind), int64_t(op.out), int64_t(op.a), int64_t(op.b), int64_t(op.c), int64_t(op.weight),
          int64_t(op.weight2), int64_t(op.cache), int64_t(op.cache2), int64_t(op.layer)}) {
      mix(v);
    }
  }
  return h;
}

// One prepared graph: its activations, its step buffer and its recording.
struct PreparedGraph {
  const Graph* graph = nullptr;
  uint64_t fingerprint = 0;
  std::unique_ptr<BufferArena> arena;  // activations and attention partial results
  std::vector<DeviceTensor> tensors;
  std::optional<BufferRange> partials;     // scratch of split attention, shared by its ops
  std::optional<BufferRange> compressed;   // CompressKv's pooled entries, max_tokens x width floats
  std::optional<BufferRange> index_scores;  // IndexerTopK's scores, max_tokens x entries words
  std::optional<Buffer> step;              // StepHeader + max_tokens token ids, host-visible
  std::optional<BufferRange> step_device;  // its copy in device memory, which the shaders read
  std::optional<CommandList> list;
  struct Segment {  // timestamps [begin, end) enclose the ops of one layer
    int layer;
    uint32_t begin, end;
  };
  std::vector<Segment> segments;
  int64_t vocabulary = std::numeric_limits<int64_t>::max();  // rows of the GetRows tables
  int64_t last_tokens = 0;
  // GetRows from tables kept in host memory: run() gathers the step's rows (as f32) into a
  // host-visible staging buffer, which the recording copies into the op's output.
  struct HostGather {
    int weight = -1;
    std::unique_ptr<Buffer> staging;
  };
  std::vector<HostGather> host_gathers;
};

struct CacheStore {
  DeviceCache device;
  BufferArena::Slice positions;
  // A compressor state ring's positions as the host knows them (clear, truncate and every
  // step update them as the device's), so that a step needing rows the ring no longer holds
  // stops with an error before it runs, as on the CPU backend.
  std::vector<int32_t> ring_positions;
};

class VulkanBackend final : public Backend {
 public:
  VulkanBackend(VulkanDevice gpu, const VulkanBackendOptions& options)
      : gpu_(std::move(gpu)), access_(options.staged ? HostAccess::Staged : HostAccess::Auto), pipelines_(gpu_) {
    const VulkanDeviceInfo& info = gpu_.info();
    if (!info.subgroup_arithmetic) {
      throw Error("Vulkan device '" + info.name +
                  "' lacks subgroup arithmetic in compute shaders, which archscope's "
                  "shaders use; update its driver or choose another device");
    }
    device_memory_ = options.device_memory_bytes ? options.device_memory_bytes : info.device_local_bytes;
    device_memory_override_ = options.device_memory_bytes;
    block_limit_ = std::min<uint64_t>(info.max_memory_allocation_size, uint64_t{1} << 30);
    if (options.max_block_bytes) block_limit_ = std::min(block_limit_, options.max_block_bytes);
    binding_limit_ = std::min<uint64_t>({info.max_storage_buffer_range, uint64_t{1} << 31, block_limit_});
    if (options.max_binding_bytes) binding_limit_ = std::min(binding_limit_, options.max_binding_bytes);
    alignment_ = std::max<uint64_t>(info.storage_buffer_offset_alignment, 64);
    dummy_.emplace(gpu_, 256);
    using Choice = VulkanBackendOptions::PrefillMatMul;
    prefill_matmul_.rows = options.prefill_matmul == Choice::Rows ||
                           (options.prefill_matmul == Choice::Auto && info.type == VulkanDeviceType::Cpu);
    prefill_matmul_.subgroup_size = info.subgroup_size;
    if (prefill_matmul_.rows && (!info.subgroup_shuffle || info.subgroup_size < 1 || info.subgroup_size > 64 ||
                                 64 % info.subgroup_size != 0)) {
      if (options.prefill_matmul == Choice::Rows) {
        throw Error("Vulkan device '" + info.name +
                    "' cannot run matmul_rows: it needs subgroup shuffles and a subgroup size dividing 64");
      }
      prefill_matmul_.rows = false;
    }
  }

  std::string name() const override { return "vulkan: " + gpu_.info().name; }

  // A CPU device (lavapipe) allocates host memory whatever heap size it reports; a GPU has
  // its memory budget (VK_EXT_memory_budget) or, without one, its device-local heap.
  MemoryCapacity capacity() const override {
    const VulkanDeviceInfo& info = gpu_.info();
    if (device_memory_override_) return {info.name, device_memory_override_, true};
    if (info.type == VulkanDeviceType::Cpu) return {info.name + " (host memory)", host_memory_available(), true};
    return {info.name, info.device_local_budget_bytes ? info.device_local_budget_bytes : info.device_local_bytes, true};
  }

  void load(const ModelResources& resources, const LoadProgress& progress) override {
    graphs_.clear();
    last_run_ = nullptr;
    vectors_.clear();
    vector_arenas_.clear();
    resources_ = resources;
    weight_arena_.reset();
    cache_arena_.reset();
    try {
      load_weights(progress);
    } catch (const Error& e) {
      weight_arena_.reset();
      throw Error("Vulkan backend: loading the weights onto '" + gpu_.info().name + "' failed: " + e.what());
    }
    try {
      load_caches();
      clear_caches();
    } catch (const Error& e) {
      weight_arena_.reset();
      cache_arena_.reset();
      throw Error("Vulkan backend: allocating the KV caches on '" + gpu_.info().name + "' failed: " + e.what());
    }
  }

  void prepare(const Graph& graph) override {
    if (!weight_arena_) throw Error("Vulkan backend: prepare() before load()");
    validate_graph(graph, resources_);
    check_graph(graph);
    auto prepared = std::make_unique<PreparedGraph>();
    PreparedGraph& g = *prepared;
    g.graph = &graph;
    g.fingerprint = fingerprint(graph);
    place_activations(graph, g);
    make_vectors(graph);
    record(graph, g);
    std::erase_if(graphs_, [&](const auto& other) { return other->graph == &graph; });
    if (last_run_ && last_run_->graph == &graph) last_run_ = nullptr;
    graphs_.push_back(std::move(prepared));
  }

  void run(const Graph& graph, std::span<const int32_t> tokens, int32_t first_position) override {
    PreparedGraph* g = find(graph);
    if (!g) {
      prepare(graph);
      g = find(graph);
    }
    const int64_t n = static_cast<int64_t>(tokens.size());
    if (n < 1 || n > graph.max_tokens) {
      throw Error("a step of " + std::to_string(n) + " tokens does not fit a graph of at most " +
                  std::to_string(graph.max_tokens));
    }
    if (first_position < 0 || int64_t(first_position) + n > std::numeric_limits<int32_t>::max()) {
      throw Error("step position " + std::to_string(first_position) + " is out of range");
    }
    for (int32_t id : tokens) {
      if (id < 0 || id >= g->vocabulary) {
        throw Error("token id " + std::to_string(id) + " is outside the vocabulary of " +
                    std::to_string(g->vocabulary));
      }
    }
    for (const Op& op : graph.ops) {
      if (op.kind == OpKind::CompressKv) check_compressor(op, first_position, n);
    }
    StepHeader header;
    header.n_tokens = static_cast<int32_t>(n);
    header.first_position = first_position;
    g->step->write<StepHeader>(std::span(&header, 1));
    g->step->write<int32_t>(tokens, sizeof(StepHeader));
    for (PreparedGraph::HostGather& gather : g->host_gathers) {
      const WeightDesc& w = resources_.weights[gather.weight];
      std::vector<float> rows(static_cast<size_t>(n * w.cols));
      reference::get_rows(w.view(), tokens, rows.data());
      gather.staging->write<float>(rows);
    }
    try {
      g->list->submit_and_wait();
    } catch (const Error& e) {
      g->last_tokens = 0;
      throw Error("Vulkan step of " + std::to_string(n) + " tokens at position " + std::to_string(first_position) +
                  " on '" + gpu_.info().name + "' failed: " + e.what());
    }
    g->last_tokens = n;
    last_run_ = g;
    for (const Op& op : graph.ops) {  // the rings now hold the step's newest rows
      if (op.kind != OpKind::CompressKv) continue;
      std::vector<int32_t>& ring = caches_[op.cache].ring_positions;
      const int64_t capacity = static_cast<int64_t>(ring.size());
      for (int64_t t = std::max<int64_t>(0, n - capacity); t < n; ++t) {
        ring[(first_position + t) % capacity] = first_position + static_cast<int32_t>(t);
      }
    }
  }

  std::vector<float> read(const Graph& graph, int tensor) override {
    PreparedGraph* g = find(graph);
    if (!g) throw Error("read(): the step graph was not prepared on the Vulkan backend");
    if (tensor < 0 || tensor >= static_cast<int>(g->tensors.size())) {
      throw Error("read(): no tensor " + std::to_string(tensor) + " in the step graph");
    }
    if (g->last_tokens == 0) throw Error("read(): the step graph has not run yet");
    const DeviceTensor& t = g->tensors[tensor];
    std::vector<float> values((t.per_token ? g->last_tokens : 1) * t.cols);
    t.range.buffer->read<float>(values, t.range.offset);
    return values;
  }

  void clear_caches() override {
    for (CacheStore& c : caches_) {
      std::fill(c.ring_positions.begin(), c.ring_positions.end(), -1);
      const std::vector<int32_t> empty(c.device.capacity, -1);
      cache_arena_->block(c.positions).write<int32_t>(empty, c.positions.offset);
    }
  }

  void truncate_caches(int32_t position) override {
    for (CacheStore& c : caches_) {
      std::vector<int32_t> positions(c.device.capacity);
      Buffer& block = cache_arena_->block(c.positions);
      block.read<int32_t>(positions, c.positions.offset);
      for (int32_t& p : positions) {
        if (p >= position) p = -1;
      }
      block.write<int32_t>(positions, c.positions.offset);
      for (int32_t& p : c.ring_positions) {
        if (p >= position) p = -1;
      }
    }
  }

  std::vector<LayerTiming> timings() const override {
    if (!last_run_ || last_run_->segments.empty()) return {};
    const std::vector<double> ms = last_run_->list->timestamps_ms();
    if (ms.empty()) return {};
    std::map<int, double> per_layer;
    for (const PreparedGraph::Segment& s : last_run_->segments) per_layer[s.layer] += ms.at(s.end) - ms.at(s.begin);
    std::vector<LayerTiming> out;
    for (auto [layer, milliseconds] : per_layer) out.push_back({layer, milliseconds});
    return out;
  }

  Memory memory() const override {
    Memory m;
    if (weight_arena_) m.weights = weight_arena_->bytes();
    for (const auto& arena : vector_arenas_) m.weights += arena->bytes();
    if (cache_arena_) m.caches = cache_arena_->bytes();
    m.scratch = dummy_->size();
    for (const auto& g : graphs_) {
      m.scratch += g->arena->bytes() + g->step->size();
      for (const auto& gather : g->host_gathers) m.scratch += gather.staging->size();
    }
    for (size_t i = 0; i < on_host_.size(); ++i) {
      if (on_host_[i]) m.host_tables += resources_.weights[i].bytes();
    }
    return m;
  }

 private:
  PreparedGraph* find(const Graph& graph) {
    for (const auto& g : graphs_) {
      if (g->graph == &graph) return g->fingerprint == fingerprint(graph) ? g.get() : nullptr;
    }
    return nullptr;
  }

  // Where each weight lives: gathered-only tables marked Host stay in host memory, and so do
  // Auto ones when the weights and caches would not fit the device's memory otherwise.
  void place_tables() {
    uint64_t needed = 0;
    for (const WeightDesc& w : resources_.weights) needed += w.bytes();
    for (const CacheDesc& c : resources_.caches) {
      needed += uint64_t(c.capacity) * (cache_row_bytes(c.type, uint64_t(c.kv_heads) * c.head_dim_k) +
                                        (c.k_equals_v ? 0 : cache_row_bytes(c.type, uint64_t(c.kv_heads) * c.head_dim_v)));
    }
    const bool tight = device_memory_ > 0 && needed > device_memory_;
    on_host_.assign(resources_.weights.size(), false);
    for (size_t i = 0; i < resources_.weights.size(); ++i) {
      const TablePlacement p = resources_.weights[i].placement;
      on_host_[i] = p == TablePlacement::Host || (p == TablePlacement::Auto && tight);
    }
  }

  // Weights: pieces of whole rows, each at most one binding, placed in blocks, uploaded.
  void load_weights(const LoadProgress& progress) {
    place_tables();
    weights_.clear();
    weight_arena_ = std::make_unique<BufferArena>(block_limit_, alignment_);
    std::vector<std::vector<BufferArena::Slice>> slices;
    for (const WeightDesc& w : resources_.weights) {
      const std::string what = "weight " + w.name;
      if (!reference::is_supported_weight_type(w.type)) {
        const GgmlTypeInfo* info = ggml_type_info(w.type);
        throw Error(what + " is of type " + (info ? info->name : "?") +
                    ", which the Vulkan backend does not compute with (" + reference::supported_weight_type_names() +
                    "; i32 id tables)");
      }
      const std::optional<uint64_t> row_bytes = ggml_bytes(w.type, static_cast<uint64_t>(std::max<int64_t>(w.cols, 0)));
      if (w.cols <= 0 || w.rows <= 0 || w.experts <= 0 || !row_bytes || w.row_bytes != *row_bytes || !w.data) {
        throw Error(what + " has an unusable shape or no data (" + std::to_string(w.cols) + " x " +
                    std::to_string(w.rows) + " x " + std::to_string(w.experts) + ", row of " +
                    std::to_string(w.row_bytes) + " bytes)");
      }
      const int64_t per_piece = static_cast<int64_t>((binding_limit_ - kBindingSlack) / w.row_bytes);
      if (per_piece < 1) throw Error(what + ": one row of " + std::to_string(w.row_bytes) + " bytes exceeds a binding");
      DeviceWeight d;
      d.name = w.name;
      d.type = w.type;
      d.cols = w.cols;
      d.rows = w.rows;
      d.experts = w.experts;
      d.row_bytes = w.row_bytes;
      slices.emplace_back();
      const int64_t total = on_host_[weights_.size()] ? 0 : w.rows * w.experts;  // host tables: no device copy
      for (int64_t first = 0; first < total; first += per_piece) {
        const int64_t rows = std::min(per_piece, total - first);
        slices.back().push_back(weight_arena_->reserve(uint64_t(rows) * w.row_bytes + kBindingSlack));
        d.pieces.push_back({BufferRange(*dummy_), first, rows});
      }
      weights_.push_back(std::move(d));
    }
    weight_arena_->allocate(gpu_, access_);
    uint64_t total = 0, done = 0;
    for (const WeightDesc& w : resources_.weights) total += w.bytes();
    for (size_t i = 0; i < weights_.size(); ++i) {
      const WeightDesc& w = resources_.weights[i];
      for (size_t k = 0; k < weights_[i].pieces.size(); ++k) {
        DeviceWeight::Piece& piece = weights_[i].pieces[k];
        const BufferArena::Slice& slice = slices[i][k];
        piece.range = weight_arena_->range(slice);
        const auto* bytes = reinterpret_cast<const std::byte*>(w.data + uint64_t(piece.first_row) * w.row_bytes);
        weight_arena_->block(slice).write_bytes(std::span(bytes, uint64_t(piece.rows) * w.row_bytes), slice.offset);
      }
      done += w.bytes();
      if (progress && !progress(done, total)) throw Error("cancelled");
    }
  }

  // Caches: parts of whole slots, each at most one binding, and a position per slot.
  void load_caches() {
    caches_.clear();
    cache_arena_ = std::make_unique<BufferArena>(block_limit_, alignment_);
    struct Slices {
      std::vector<BufferArena::Slice> keys, values;
    };
    std::vector<Slices> slices;
    for (const CacheDesc& c : resources_.caches) {
      const std::string what = "the KV cache of layer " + std::to_string(c.layer);
      if (c.type != GgmlType::F32 && c.type != GgmlType::F16 && c.type != GgmlType::BF16 && c.type != GgmlType::Q8_0) {
        throw Error(what + " has a type the Vulkan backend does not store (f32, f16, bf16, q8_0)");
      }
      if (c.capacity <= 0 || c.kv_heads <= 0 || c.head_dim_k <= 0 || c.head_dim_v <= 0 || c.head_dim_k > 1024 ||
          c.head_dim_v > 1024) {
        throw Error(what + " has an unusable shape (" + std::to_string(c.capacity) + " slots, " +
                    std::to_string(c.kv_heads) + " heads of " + std::to_string(c.head_dim_k) + " / " +
                    std::to_string(c.head_dim_v) + " dims; at most 1024 dims)");
      }
      if (c.type == GgmlType::Q8_0 && (c.head_dim_k % 32 || c.head_dim_v % 32)) {
        throw Error(what + ": a q8_0 cache needs head dims that are multiples of 32");
      }
      CacheStore store;
      DeviceCache& d = store.device;
      d.type = c.type;
      d.capacity = c.capacity;
      d.kv_heads = c.kv_heads;
      d.head_dim_k = c.head_dim_k;
      d.head_dim_v = c.head_dim_v;
      d.k_equals_v = c.k_equals_v;
      d.ratio = c.ratio;
      if (c.ratio < 1) throw Error(what + " holds " + std::to_string(c.ratio) + " positions per slot");
      d.key_stride = vulkan::cache_row_stride(c.type, int64_t(c.kv_heads) * c.head_dim_k);
      d.value_stride = c.k_equals_v ? 0 : vulkan::cache_row_stride(c.type, int64_t(c.kv_heads) * c.head_dim_v);
      const int64_t per_part =
          static_cast<int64_t>((binding_limit_ - kBindingSlack) / std::max(d.key_stride, d.value_stride));
      if (per_part < 1) throw Error(what + ": one slot exceeds a binding");
      if (uint64_t(c.capacity) * sizeof(int32_t) > binding_limit_) {
        throw Error(what + ": " + std::to_string(c.capacity) + " slots are more than one binding can index");
      }
      slices.emplace_back();
      for (int64_t first = 0; first < c.capacity; first += per_part) {
        const int64_t slots = std::min(per_part, c.capacity - first);
        slices.back().keys.push_back(cache_arena_->reserve(uint64_t(slots) * d.key_stride + kBindingSlack));
        if (!c.k_equals_v) {
          slices.back().values.push_back(cache_arena_->reserve(uint64_t(slots) * d.value_stride + kBindingSlack));
        }
        d.parts.push_back({BufferRange(*dummy_), BufferRange(*dummy_), first, slots});
      }
      store.positions = cache_arena_->reserve(uint64_t(c.capacity) * sizeof(int32_t));
      if (c.kind == CacheKind::State) store.ring_positions.assign(c.capacity, -1);
      caches_.push_back(std::move(store));
    }
    cache_arena_->allocate(gpu_, access_);
    for (size_t i = 0; i < caches_.size(); ++i) {
      DeviceCache& d = caches_[i].device;
      for (size_t k = 0; k < d.parts.size(); ++k) {
        d.parts[k].keys = cache_arena_->range(slices[i].keys[k]);
        d.parts[k].values = d.k_equals_v ? d.parts[k].keys : cache_arena_->range(slices[i].values[k]);
      }
      d.positions = cache_arena_->range(caches_[i].positions);
    }
  }

  [[noreturn]] static void fail_op(size_t i, const Op& op, const std::string& problem) {
    throw Error("step graph op " + std::to_string(i) + " (" + to_string(op.kind) + ", layer " +
                std::to_string(op.layer) + "): " + problem + " on the Vulkan backend");
  }

  // The ops the Vulkan shaders implement.
  void check(const Graph& graph) const override {
    for (size_t i = 0; i < graph.ops.size(); ++i) {
      const Op& op = graph.ops[i];
      auto fail = [&](const std::string& problem) { fail_op(i, op, problem); };
      // Every op kind has a shader; these are the shapes some of them are limited to.
      if (op.kind == OpKind::HyperWeights && (op.heads < 1 || op.heads > 16 || op.iterations < 0)) {
        fail("mixes " + std::to_string(op.heads) + " streams; hyper_weights.comp takes 1 to 16");
      }
      if (op.kind == OpKind::IndexerTopK && (graph.tensors[op.out].cols < 1 || graph.tensors[op.out].cols > 1024)) {
        fail("picks " + std::to_string(graph.tensors[op.out].cols) + " entries; indexer_top_k.comp picks 1 to 1024");
      }
      if (op.kind == OpKind::CompressKv && (op.ratio < 1 || op.ratio > 128)) {
        fail("pools blocks of " + std::to_string(op.ratio) + " positions; compress_kv.comp takes 1 to 128");
      }
    }
  }

  // What the Vulkan shaders need beyond validate_graph().
  void check_graph(const Graph& graph) const {
    check(graph);
    if (graph.max_tokens < 1 || graph.max_tokens > 65535) throw Error("a step graph needs 1 to 65535 max_tokens");
    for (size_t i = 0; i < graph.ops.size(); ++i) {
      const Op& op = graph.ops[i];
      auto fail = [&](const std::string& problem) { fail_op(i, op, problem); };
      if ((op.kind == OpKind::MatMul || op.kind == OpKind::Attention || op.kind == OpKind::MoeMatMul ||
           op.kind == OpKind::MoeSum || op.kind == OpKind::Route) &&
          (op.out == op.a || (op.b >= 0 && op.out == op.b))) {
        fail("cannot work in place");
      }
      if (op.kind != OpKind::GetRows && op.weight >= 0 && op.weight < static_cast<int>(on_host_.size()) &&
          on_host_[op.weight]) {
        fail("uses " + resources_.weights[op.weight].name + ", which is kept in host memory and can only be gathered");
      }
      if (op.kind == OpKind::Rope && !graph.tensors[op.out].per_token && graph.max_tokens > 1) {
        fail("rotates one row per token, so its tensor must be per-token");
      }
      if ((op.kind == OpKind::Repeat || op.kind == OpKind::HyperWeights || op.kind == OpKind::HyperCollapse ||
           op.kind == OpKind::HyperExpand || op.kind == OpKind::GroupedMatMul || op.kind == OpKind::IndexerTopK) &&
          (op.out == op.a || (op.b >= 0 && op.out == op.b))) {
        fail("cannot work in place");
      }
      if (op.weight >= 0 && resources_.weights[op.weight].type == GgmlType::I32 && op.kind != OpKind::GetRows) {
        fail("computes with the i32 table " + resources_.weights[op.weight].name + ", which can only be gathered");
      }
      if (op.kind == OpKind::Route && op.b >= 0) check_expert_table(graph, i, op);
      if (op.kind == OpKind::CompressKv && caches_[op.cache].device.parts.size() != 1) {
        fail("keeps its compressor state ring in more than one binding");
      }
      if (op.kind == OpKind::Attention && op.b >= 0 && !graph.tensors[op.b].per_token && graph.max_tokens > 1) {
        fail("selects compressed entries once for all tokens; the selection must be per-token");
      }
    }
  }

  // What a CompressKv step needs before it runs, as the CPU backend checks: room for its
  // entries, and the rows of blocks begun before the step still in the state ring.
  void check_compressor(const Op& op, int32_t first_position, int64_t n) const {
    const CacheDesc& entries = resources_.caches[op.cache2];
    const std::string layer = std::to_string(entries.layer);
    if ((int64_t(first_position) + n) / entries.ratio > entries.capacity) {
      throw Error("the compressed cache of layer " + layer + " is full (" + std::to_string(entries.capacity) +
                  " entries of " + std::to_string(entries.ratio) + " positions)");
    }
    const std::vector<int32_t>& ring = caches_[op.cache].ring_positions;
    const bool overlap = resources_.caches[op.cache].head_dim_k == 2 * entries.head_dim_k;
    for (int64_t t = 0; t < n; ++t) {
      const int64_t pos = first_position + t, start = pos + 1 - op.ratio;
      if ((pos + 1) % op.ratio != 0) continue;
      for (int64_t q = std::max<int64_t>(0, overlap ? start - op.ratio : start); q < first_position; ++q) {
        if (ring[q % ring.size()] != q) {
          throw Error("the compressor state of layer " + layer + " lost position " + std::to_string(q) +
                      ", which the block at " + std::to_string(start) + " pools; feed the tokens again from the start");
        }
      }
      if (start >= first_position) break;  // later blocks lie inside the step
    }
  }

  // Hash routing takes experts from an id table (GetRows of an i32 weight): its ids must name
  // experts, which the CPU backend checks per step and the shader cannot report.
  void check_expert_table(const Graph& graph, size_t i, const Op& route) const {
    for (const Op& op : graph.ops) {
      if (op.kind != OpKind::GetRows || op.out != route.b || resources_.weights[op.weight].type != GgmlType::I32)
        continue;
      const WeightDesc& w = resources_.weights[op.weight];
      for (int64_t k = 0; k < w.rows * w.cols; ++k) {
        int32_t id;
        std::memcpy(&id, w.data + k * sizeof(int32_t), sizeof id);
        if (id < 0 || id >= route.route.experts) {
          fail_op(i, route,
                  "takes expert " + std::to_string(id) + " from " + w.name + ", outside its " +
                      std::to_string(route.route.experts) + " experts");
        }
      }
    }
  }

  void place_activations(const Graph& graph, PreparedGraph& g) {
    g.arena = std::make_unique<BufferArena>(block_limit_, alignment_);
    std::vector<BufferArena::Slice> slices;
    for (const TensorDesc& t : graph.tensors) {
      const uint64_t bytes = uint64_t(t.per_token ? graph.max_tokens : 1) * uint64_t(std::max<int64_t>(t.cols, 1)) * 4;
      if (bytes > binding_limit_) {
        throw Error("step tensor " + t.name + " (" + std::to_string(bytes) + " bytes) exceeds one binding of " +
                    std::to_string(binding_limit_) + " bytes; use a smaller batch");
      }
      slices.push_back(g.arena->reserve(bytes));
    }
    uint64_t partial_bytes = 0, compressed_bytes = 0, score_bytes = 0;
    for (const Op& op : graph.ops) {
      if (op.kind == OpKind::Attention) {
        partial_bytes = std::max(partial_bytes, plan_attention(graph, op).partial_bytes);
      } else if (op.kind == OpKind::CompressKv) {
        compressed_bytes =
            std::max<uint64_t>(compressed_bytes, uint64_t(graph.max_tokens) *
                                                     uint64_t(resources_.caches[op.cache2].head_dim_k) * sizeof(float));
      } else if (op.kind == OpKind::IndexerTopK) {
        score_bytes =
            std::max<uint64_t>(score_bytes, uint64_t(graph.max_tokens) *
                                                uint64_t(resources_.caches[op.cache].capacity) * sizeof(uint32_t));
      }
    }
    for (auto [bytes, what] : {std::pair{score_bytes, "the lightning indexer's scores"},
                               std::pair{compressed_bytes, "the compressor's pooled entries"}}) {
      if (bytes > binding_limit_) {
        throw Error(std::string(what) + " of " + std::to_string(graph.max_tokens) + " tokens (" +
                    std::to_string(bytes) + " bytes) exceed one binding of " + std::to_string(binding_limit_) +
                    " bytes; use a smaller batch");
      }
    }
    std::optional<BufferArena::Slice> partials, compressed, scores;
    if (partial_bytes > 0) partials = g.arena->reserve(partial_bytes);
    if (compressed_bytes > 0) compressed = g.arena->reserve(compressed_bytes);
    if (score_bytes > 0) scores = g.arena->reserve(score_bytes);
    const uint64_t step_bytes = sizeof(StepHeader) + sizeof(int32_t) * uint64_t(graph.max_tokens);
    const BufferArena::Slice step = g.arena->reserve(step_bytes);
    g.arena->allocate(gpu_, access_);
    for (size_t i = 0; i < graph.tensors.size(); ++i) {
      g.tensors.push_back({g.arena->range(slices[i]), graph.tensors[i].cols, graph.tensors[i].per_token});
    }
    if (partials) g.partials = g.arena->range(*partials);
    if (compressed) g.compressed = g.arena->range(*compressed);
    if (scores) g.index_scores = g.arena->range(*scores);
    g.step_device = g.arena->range(step);
    g.step.emplace(gpu_, step_bytes, HostAccess::Mapped);
  }

  vulkan::AttentionPlan plan_attention(const Graph& graph, const Op& op) const {
    const bool selected = op.cache2 >= 0 && op.b >= 0;
    return vulkan::plan_attention(caches_[op.cache].device, op.attention.q_heads, graph.max_tokens, binding_limit_,
                                  op.cache2 >= 0 ? &caches_[op.cache2].device : nullptr,
                                  selected ? static_cast<int>(graph.tensors[op.b].cols) : 0);
  }

  // Weights used as vectors (norm weights, rope factors, sinks, MulWeight rows) as f32: an
  // f32 weight in one piece is bound as it is; others get an f32 copy, made once.
  void make_vectors(const Graph& graph) {
    std::vector<int> needed;
    for (const Op& op : graph.ops) {
      const bool vector_use = op.kind == OpKind::RmsNorm || op.kind == OpKind::Rope || op.kind == OpKind::Attention ||
                              op.kind == OpKind::MulWeight || op.kind == OpKind::ExpertScale ||
                              op.kind == OpKind::Route || op.kind == OpKind::HyperWeights ||
                              op.kind == OpKind::CompressKv;
      if (!vector_use) continue;
      for (int id : {op.weight, op.weight2}) {
        if (id < 0 || vectors_.count(id)) continue;
        const DeviceWeight& w = weights_[id];
        if (w.type == GgmlType::F32 && w.pieces.size() == 1) {
          vectors_.emplace(id, w.pieces[0].range);
        } else if (std::find(needed.begin(), needed.end(), id) == needed.end()) {
          needed.push_back(id);
        }
      }
    }
    if (needed.empty()) return;
    auto arena = std::make_unique<BufferArena>(block_limit_, alignment_);
    std::vector<BufferArena::Slice> slices;
    for (int id : needed) {
      const WeightDesc& w = resources_.weights[id];
      slices.push_back(arena->reserve(uint64_t(w.cols) * uint64_t(w.rows) * sizeof(float)));
    }
    arena->allocate(gpu_, access_);
    for (size_t i = 0; i < needed.size(); ++i) {
      const WeightDesc& w = resources_.weights[needed[i]];
      std::vector<float> values(uint64_t(w.cols) * uint64_t(w.rows));
      for (int64_t r = 0; r < w.rows; ++r) {
        reference::dequantize_row(w.type, w.data + uint64_t(r) * w.row_bytes, values.data() + r * w.cols, w.cols);
      }
      arena->block(slices[i]).write<float>(values, slices[i].offset);
      vectors_.emplace(needed[i], arena->range(slices[i]));
    }
    vector_arenas_.push_back(std::move(arena));
  }

  std::optional<BufferRange> vector_of(int weight) const {
    if (weight < 0) return std::nullopt;
    return vectors_.at(weight);
  }

  // Records every op of the graph, with a timestamp wherever the layer changes.
  void record(const Graph& graph, PreparedGraph& g) {
    g.list.emplace(gpu_);
    CommandList& list = *g.list;
    const bool timed = gpu_.info().timestamps;
    if (timed) list.enable_timestamps(static_cast<uint32_t>(graph.ops.size()) + 2);
    // Each replay starts by copying the step's inputs (written by run()) to device memory.
    list.copy(BufferRange(*g.step), *g.step_device, g.step->size());
    StepRecorder rec(pipelines_, list, *g.step_device, BufferRange(*dummy_), graph.max_tokens, prefill_matmul_);
    const auto& t = g.tensors;
    using E = StepRecorder::Elementwise;
    using B = StepRecorder::Broadcast;
    std::optional<PreparedGraph::Segment> segment;
    for (const Op& op : graph.ops) {
      if (timed && (!segment || segment->layer != op.layer)) {
        const uint32_t now = list.write_timestamp();
        if (segment) g.segments.push_back({segment->layer, segment->begin, now});
        segment = PreparedGraph::Segment{op.layer, now, now};
      }
      switch (op.kind) {
        case OpKind::GetRows:
          g.vocabulary = std::min(g.vocabulary, weights_[op.weight].rows);
          if (on_host_[op.weight]) {
            PreparedGraph::HostGather gather;
            gather.weight = op.weight;
            const uint64_t bytes = uint64_t(graph.max_tokens) * uint64_t(t[op.out].cols) * sizeof(float);
            gather.staging = std::make_unique<Buffer>(gpu_, bytes, HostAccess::Mapped);
            list.copy(BufferRange(*gather.staging), t[op.out].range, bytes);
            g.host_gathers.push_back(std::move(gather));
            break;
          }
          rec.get_rows(weights_[op.weight], t[op.out]);
          break;
        case OpKind::RmsNorm:
          rec.rms_norm(t[op.a], vector_of(op.weight), t[op.out], op.group > 0 ? op.group : t[op.a].cols, op.eps);
          break;
        case OpKind::MatMul:
          rec.matmul(weights_[op.weight], t[op.a], t[op.out]);
          break;
        case OpKind::Rope:
          rec.rope(t[op.out], vector_of(op.weight), op.heads, op.head_dim, op.rope);
          break;
        case OpKind::StoreKv:
          rec.store_kv(caches_[op.cache].device, t[op.a], op.b >= 0 ? std::optional(t[op.b]) : std::nullopt);
          break;
        case OpKind::Attention:
          rec.attention(caches_[op.cache].device, t[op.a], vector_of(op.weight), op.attention,
                        plan_attention(graph, op), g.partials, t[op.out],
                        op.cache2 >= 0 ? &caches_[op.cache2].device : nullptr,
                        op.b >= 0 ? std::optional(t[op.b]) : std::nullopt);
          break;
        case OpKind::Repeat:
          rec.repeat(t[op.a], t[op.out]);
          break;
        case OpKind::HyperWeights:
          rec.hyper_weights(t[op.a], *vector_of(op.weight), *vector_of(op.weight2), op.heads, op.iterations, op.eps,
                            t[op.out]);
          break;
        case OpKind::HyperCollapse:
          rec.hyper_collapse(t[op.a], t[op.b], t[op.out]);
          break;
        case OpKind::HyperExpand:
          rec.hyper_expand(t[op.a], t[op.b], t[op.c], t[op.out]);
          break;
        case OpKind::GroupedMatMul:
          rec.grouped_matmul(weights_[op.weight], op.group, t[op.a], t[op.out]);
          break;
        case OpKind::CompressKv:
          rec.compress_kv(t[op.a], t[op.b], *vector_of(op.weight), *vector_of(op.weight2), caches_[op.cache].device,
                          caches_[op.cache2].device, op.eps, op.rope, *g.compressed);
          break;
        case OpKind::IndexerTopK:
          rec.indexer_top_k(t[op.a], t[op.b], caches_[op.cache].device, op.heads, op.head_dim, *g.index_scores,
                            t[op.out]);
          break;
        case OpKind::Glu:  // Gelu runs as gelu_tanh, as on the CPU backend
        case OpKind::Add:
        case OpKind::Mul: {
          const E kind = op.kind == OpKind::Add              ? E::Add
                         : op.kind == OpKind::Mul            ? E::Mul
                         : op.limit > 0.0f                   ? E::SwiGluClamped
                         : op.activation == Activation::Silu ? E::SwiGlu
                                                             : E::GeGlu;
          // A single-row b with a per-token a is broadcast over the rows.
          const B shape = t[op.a].per_token && !t[op.b].per_token ? B::Row : B::None;
          rec.elementwise(kind, t[op.a], t[op.b].range, shape, op.kind == OpKind::Glu ? op.limit : 0.0f, t[op.out]);
          break;
        }
        case OpKind::MulWeight: {
          const WeightDesc& w = resources_.weights[op.weight];
          rec.elementwise(E::Mul, t[op.a], vector_of(op.weight), w.cols * w.rows == 1 ? B::Scalar : B::Row, 0,
                          t[op.out]);
          break;
        }
        case OpKind::Scale:
          rec.elementwise(E::Scale, t[op.a], std::nullopt, B::None, op.scalar, t[op.out]);
          break;
        case OpKind::Softcap:
          rec.elementwise(E::Softcap, t[op.a], std::nullopt, B::None, op.scalar, t[op.out]);
          break;
        case OpKind::Softmax:
          rec.softmax(t[op.a], t[op.out]);
          break;
        case OpKind::LastRow:
          rec.last_row(t[op.a], t[op.out]);
          break;
        case OpKind::SliceCols:
          rec.slice_cols(t[op.a], op.group > 0 ? op.group : t[op.a].cols, op.offset, t[op.out]);
          break;
        case OpKind::ExpertScale:
          rec.expert_scale(t[op.a], *vector_of(op.weight), resources_.weights[op.weight].cols, t[op.out]);
          break;
        case OpKind::Softplus:
          rec.softplus(t[op.a], t[op.out]);
          break;
        case OpKind::MulGrouped:
          rec.mul_grouped(t[op.a], t[op.b], t[op.out]);
          break;
        case OpKind::KeepHeads:
          rec.keep_heads(t[op.a], t[op.out], op.group, op.heads, op.kept_heads);
          break;
        case OpKind::Route:
          rec.route(t[op.a], vector_of(op.weight), op.route, op.b >= 0 ? std::optional(t[op.b]) : std::nullopt,
                    t[op.out]);
          break;
        case OpKind::MoeMatMul:
          rec.moe_matmul(weights_[op.weight], t[op.a], t[op.b], t[op.out]);
          break;
        case OpKind::MoeSum:
          rec.moe_sum(t[op.a], t[op.b], t[op.out]);
          break;
      }
    }
    if (timed && segment) g.segments.push_back({segment->layer, segment->begin, list.write_timestamp()});
  }

  VulkanDevice gpu_;
  HostAccess access_;
  vulkan::PipelineCache pipelines_;
  uint64_t block_limit_ = 0, binding_limit_ = 0, alignment_ = 0;
  std::optional<Buffer> dummy_;  // bound where an op has no buffer to give
  vulkan::PrefillMatMul prefill_matmul_;
  uint64_t device_memory_ = 0, device_memory_override_ = 0;
  std::vector<bool> on_host_;  // per weight: kept in host memory (place_tables)

  ModelResources resources_;
  std::unique_ptr<BufferArena> weight_arena_, cache_arena_;
  std::vector<DeviceWeight> weights_;
  std::vector<CacheStore> caches_;
  std::vector<std::unique_ptr<BufferArena>> vector_arenas_;
  std::map<int, BufferRange> vectors_;

  std::vector<std::unique_ptr<PreparedGraph>> graphs_;
  const PreparedGraph* last_run_ = nullptr;
};

}  // namespace

std::unique_ptr<Backend> make_vulkan_backend(const std::string& device_selector, const VulkanBackendOptions& options) {
  return std::make_unique<VulkanBackend>(VulkanDevice::open(device_selector), options);
}

std::unique_ptr<Backend> make_vulkan_backend(const std::string& device_selector) {
  return make_vulkan_backend(device_selector, VulkanBackendOptions{});
}

}  // namespace archscope
