// The CPU backend: runs a step graph op by op with the reference ops. It is the fallback
// when no Vulkan device exists and the yardstick every Vulkan result is held against.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <limits>
#include <map>

#include "archscope/error.h"
#include "runtime/backend.h"

namespace archscope {

namespace {

struct CpuCache {
  CacheDesc desc;
  uint64_t k_row = 0, v_row = 0;  // bytes of one slot's keys / values
  std::vector<uint8_t> k, v;
  std::vector<int32_t> positions;  // per slot, -1 while empty
};

class CpuBackend final : public Backend {
 public:
  std::string name() const override { return "cpu (reference)"; }

  void load(const ModelResources& resources, const LoadProgress& progress) override {
    // The weights stay memory-mapped: nothing to upload, so progress is done at once.
    uint64_t total = 0;
    for (const WeightDesc& w : resources.weights) total += w.bytes();
    if (progress && !progress(total, total)) throw Error("cancelled");
    weights_ = resources.weights;
    vectors_.assign(weights_.size(), {});
    caches_.clear();
    for (const CacheDesc& d : resources.caches) {
      CpuCache c;
      c.desc = d;
      c.k_row = ggml_bytes(d.type, uint64_t(d.kv_heads) * d.head_dim_k).value_or(0);
      c.v_row = d.k_equals_v ? 0 : ggml_bytes(d.type, uint64_t(d.kv_heads) * d.head_dim_v).value_or(0);
      if (c.k_row == 0 || (!d.k_equals_v && c.v_row == 0)) throw Error("cache rows do not fit the cache type's blocks");
      c.k.assign(c.k_row * d.capacity, 0);
      c.v.assign(c.v_row * d.capacity, 0);
      c.positions.assign(d.capacity, -1);
      caches_.push_back(std::move(c));
    }
  }

  void prepare(const Graph& graph) override {
    std::vector<std::vector<float>>& t = tensors_[&graph];
    t.clear();
    for (const TensorDesc& d : graph.tensors) t.emplace_back((d.per_token ? graph.max_tokens : 1) * d.cols, 0.0f);
  }

  void run(const Graph& graph, std::span<const int32_t> tokens, int32_t first_position) override {
    auto it = tensors_.find(&graph);
    if (it == tensors_.end()) throw Error("step graph was not prepared");
    const int64_t n = static_cast<int64_t>(tokens.size());
    if (n < 1 || n > graph.max_tokens) throw Error("step of " + std::to_string(n) + " tokens does not fit the graph");
    positions_.resize(n);
    for (int64_t t = 0; t < n; ++t) positions_[t] = first_position + static_cast<int32_t>(t);
    last_tokens_ = n;
    timings_.clear();
    std::map<int, double> per_layer;
    for (size_t i = 0; i < graph.ops.size(); ++i) {
      const Op& op = graph.ops[i];
      if (before_op_) before_op_(i);
      const auto start = std::chrono::steady_clock::now();
      execute(graph, it->second, op, tokens);
      per_layer[op.layer] += std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
    }
    for (auto [layer, ms] : per_layer) timings_.push_back({layer, ms});
  }

  std::vector<float> read(const Graph& graph, int tensor) override {
    const std::vector<float>& data = tensors_.at(&graph).at(tensor);
    const TensorDesc& d = graph.tensors.at(tensor);
    const int64_t rows = d.per_token ? last_tokens_ : 1;
    return std::vector<float>(data.begin(), data.begin() + rows * d.cols);
  }

  void clear_caches() override { truncate_caches(0); }

  void truncate_caches(int32_t position) override {
    for (CpuCache& c : caches_) {
      for (int32_t& p : c.positions) {
        if (p >= position) p = -1;
      }
    }
  }

  std::vector<LayerTiming> timings() const override { return timings_; }

  MemoryCapacity capacity() const override { return {"host memory", host_memory_available(), false}; }

  Memory memory() const override {
    Memory m;
    for (const WeightDesc& w : weights_) m.weights += w.bytes();
    for (const CpuCache& c : caches_) m.caches += c.k.size() + c.v.size() + c.positions.size() * sizeof(int32_t);
    for (const auto& [graph, tensors] : tensors_) {
      for (const auto& t : tensors) m.scratch += t.size() * sizeof(float);
    }
    return m;
  }

 // Test hooks (backend.h).
  std::function<void(size_t)> before_op_;
  CpuCache& cache(int id) {
    if (id < 0 || id >= static_cast<int>(caches_.size())) throw Error("no cache " + std::to_string(id));
    return caches_[id];
  }

 private:
  // A weight used as a vector (norm, factors, sinks, scales), dequantized once.
  const float* vector_of(int id) {
    std::vector<float>& v = vectors_.at(id);
    if (v.empty()) {
      const WeightDesc& w = weights_.at(id);
      v.resize(w.cols * w.rows);
      for (int64_t r = 0; r < w.rows; ++r) reference::dequantize_row(w.type, w.data + r * w.row_bytes, v.data() + r * w.cols, w.cols);
    }
    return v.data();
  }

  // The slots a step can read (raw: up to the newest position; compressed: the entries
  // completed so far), dequantized into keys (and values unless K = V). Returns the count.
  int64_t dequantize_cache(const CpuCache& c, std::vector<float>& keys, std::vector<float>& values) const {
    const int64_t newest = last_tokens_ > 0 ? positions_[last_tokens_ - 1] : 0;
    const int64_t filled = std::min<int64_t>((newest + 1) / c.desc.ratio, c.desc.capacity);
    const int64_t kw = int64_t(c.desc.kv_heads) * c.desc.head_dim_k, vw = int64_t(c.desc.kv_heads) * c.desc.head_dim_v;
    keys.resize(filled * kw);
    if (!c.desc.k_equals_v) values.resize(filled * vw);
    for (int64_t s = 0; s < filled; ++s) {
      reference::dequantize_row(c.desc.type, c.k.data() + s * c.k_row, keys.data() + s * kw, kw);
      if (!c.desc.k_equals_v) reference::dequantize_row(c.desc.type, c.v.data() + s * c.v_row, values.data() + s * vw, vw);
    }
    return filled;
  }

  // DeepSeek V4's compressor: every block the step completes is pooled from its source rows
  // (this step's kv / score rows, or earlier ones from the state ring) into its compressed
  // entry; then the ring keeps the step's newest rows.
  void compress_kv(const Op& op, const float* kv, const float* score, int64_t row_width) {
    CpuCache& state = caches_.at(op.cache);
    CpuCache& entries = caches_.at(op.cache2);
    const int64_t n = last_tokens_, first = positions_[0];
    reference::CompressParams p;
    p.ratio = op.ratio;
    p.width = entries.desc.head_dim_k;
    p.overlap = row_width == 2 * p.width;
    p.eps = op.eps;
    p.rope = op.rope;
    const int rows = p.overlap ? 2 * p.ratio : p.ratio;
    std::vector<float> kv_rows(rows * row_width), score_rows(rows * row_width), entry(p.width);
    for (int64_t t = 0; t < n; ++t) {
      const int32_t pos = positions_[t];
      if ((pos + 1) % p.ratio != 0) continue;
      const int32_t start = pos + 1 - p.ratio, source = p.overlap ? start - p.ratio : start;
      for (int r = 0; r < rows; ++r) {
        const int64_t q = source + r;
        float* kv_row = kv_rows.data() + r * row_width;
        float* score_row = score_rows.data() + r * row_width;
        if (q < 0) {  // before the first block: nothing to pool
          std::fill(kv_row, kv_row + row_width, 0.0f);
          std::fill(score_row, score_row + row_width, -std::numeric_limits<float>::infinity());
        } else if (q >= first) {
          std::copy_n(kv + (q - first) * row_width, row_width, kv_row);
          std::copy_n(score + (q - first) * row_width, row_width, score_row);
        } else {
          const int64_t slot = q % state.desc.capacity;
          if (state.positions[slot] != q) throw Error("compressor state lost position " + std::to_string(q));
          std::memcpy(kv_row, state.k.data() + slot * state.k_row, state.k_row);
          std::memcpy(score_row, state.v.data() + slot * state.v_row, state.v_row);
        }
      }
      reference::compress_block(kv_rows.data(), score_rows.data(), vector_of(op.weight), vector_of(op.weight2), start, p,
                                entry.data());
      const int64_t slot = pos / p.ratio;
      if (slot >= entries.desc.capacity) throw Error("compressed cache is full");
      reference::quantize_row(entries.desc.type, entry.data(), entries.k.data() + slot * entries.k_row, p.width);
      entries.positions[slot] = pos;
    }
    for (int64_t t = std::max<int64_t>(0, n - state.desc.capacity); t < n; ++t) {
      const int64_t slot = positions_[t] % state.desc.capacity;
      std::memcpy(state.k.data() + slot * state.k_row, kv + t * row_width, state.k_row);
      std::memcpy(state.v.data() + slot * state.v_row, score + t * row_width, state.v_row);
      state.positions[slot] = positions_[t];
    }
  }

  void execute(const Graph& graph, std::vector<std::vector<float>>& t, const Op& op, std::span<const int32_t> tokens) {
    const int64_t n = last_tokens_;
    auto rows_of = [&](int id) { return graph.tensors[id].per_token ? n : 1; };
    auto cols_of = [&](int id) { return graph.tensors[id].cols; };
    float* out = op.out >= 0 ? t[op.out].data() : nullptr;
    const float* a = op.a >= 0 ? t[op.a].data() : nullptr;
    const float* b = op.b >= 0 ? t[op.b].data() : nullptr;
    switch (op.kind) {
      case OpKind::GetRows:
        for (int32_t id : tokens) {
          if (id < 0 || id >= weights_[op.weight].rows) throw Error("token id " + std::to_string(id) + " is outside the vocabulary");
        }
        reference::get_rows(weights_[op.weight].view(), tokens, out);
        break;
      case OpKind::RmsNorm: {
        const int64_t group = op.group > 0 ? op.group : cols_of(op.a);
        const float* w = op.weight >= 0 ? vector_of(op.weight) : nullptr;
        reference::rms_norm(a, w, out, rows_of(op.a) * cols_of(op.a) / group, group, op.eps);
        break;
      }
      case OpKind::MatMul:
        reference::matmul(weights_[op.weight].view(), a, out, rows_of(op.a));
        break;
      case OpKind::Rope: {
        reference::RopeParams p = op.rope;
        p.freq_factors = op.weight >= 0 ? vector_of(op.weight) : nullptr;
        reference::rope(out, n, op.heads, op.head_dim, positions_.data(), p);
        break;
      }
      case OpKind::StoreKv: {
        CpuCache& c = caches_.at(op.cache);
        for (int64_t i = 0; i < n; ++i) {
          const int64_t slot = positions_[i] % c.desc.capacity;
          reference::quantize_row(c.desc.type, a + i * cols_of(op.a), c.k.data() + slot * c.k_row, cols_of(op.a));
          if (b) reference::quantize_row(c.desc.type, b + i * cols_of(op.b), c.v.data() + slot * c.v_row, cols_of(op.b));
          c.positions[slot] = positions_[i];
        }
        break;
      }
      case OpKind::Attention: {
        CpuCache& c = caches_.at(op.cache);
        const int64_t filled = dequantize_cache(c, keys_, values_);
        reference::AttentionParams p = op.attention;
        p.sinks = op.weight >= 0 ? vector_of(op.weight) : nullptr;
        if (op.cache2 < 0) {
          reference::attention(a, positions_.data(), n, keys_.data(), c.desc.k_equals_v ? keys_.data() : values_.data(),
                               c.positions.data(), filled, p, out);
          break;
        }
        CpuCache& entries = caches_.at(op.cache2);
        const int64_t n_entries = dequantize_cache(entries, entries_, values_);
        reference::attention_with_compressed(a, positions_.data(), n, keys_.data(), c.positions.data(), filled,
                                             entries_.data(), entries.positions.data(), n_entries, b,
                                             b ? static_cast<int>(cols_of(op.b)) : 0, p, out);
        break;
      }
      case OpKind::Glu: {
        const int64_t count = rows_of(op.a) * cols_of(op.a);
        if (op.limit > 0.0f) reference::swiglu_clamped(a, b, out, count, op.limit);
        else if (op.activation == Activation::Silu) reference::swiglu(a, b, out, count);
        else reference::geglu(a, b, out, count);
        break;
      }
      case OpKind::Repeat:
        for (int64_t r = 0; r < rows_of(op.a); ++r) {
          for (int64_t col = 0; col < cols_of(op.out); ++col) out[r * cols_of(op.out) + col] = a[r * cols_of(op.a) + col % cols_of(op.a)];
        }
        break;
      case OpKind::HyperWeights:
        reference::hyper_weights(a, out, rows_of(op.a), cols_of(op.a), op.heads, vector_of(op.weight2), vector_of(op.weight),
                                 op.iterations, op.eps);
        break;
      case OpKind::HyperCollapse:
        reference::hyper_collapse(a, b, cols_of(op.b), out, rows_of(op.a), static_cast<int>(cols_of(op.a) / cols_of(op.out)),
                                  cols_of(op.out));
        break;
      case OpKind::HyperExpand:
        reference::hyper_expand(a, b, t[op.c].data(), out, rows_of(op.a), static_cast<int>(cols_of(op.c) / cols_of(op.a)),
                                cols_of(op.a));
        break;
      case OpKind::GroupedMatMul:
        reference::grouped_matmul(weights_[op.weight].view(), op.group, a, out, rows_of(op.a));
        break;
      case OpKind::CompressKv:
        compress_kv(op, a, b, cols_of(op.a));
        break;
      case OpKind::IndexerTopK: {
        CpuCache& keys = caches_.at(op.cache);
        const int64_t n_keys = dequantize_cache(keys, entries_, values_);
        reference::indexer_top_k(a, b, positions_.data(), n, op.heads, op.head_dim, entries_.data(), keys.positions.data(),
                                 n_keys, static_cast<int>(cols_of(op.out)), out);
        break;
      }
      case OpKind::Add:
        reference::add(a, b, out, rows_of(op.a) * cols_of(op.a));
        break;
      case OpKind::Mul:
        reference::mul(a, b, out, rows_of(op.a) * cols_of(op.a));
        break;
      case OpKind::MulWeight: {
        const float* w = vector_of(op.weight);
        const int64_t cols = cols_of(op.a), wn = weights_[op.weight].cols * weights_[op.weight].rows;
        for (int64_t r = 0; r < rows_of(op.a); ++r) {
          for (int64_t col = 0; col < cols; ++col) out[r * cols + col] = a[r * cols + col] * w[wn == 1 ? 0 : col];
        }
        break;
      }
      case OpKind::Scale:
        if (out != a) std::memcpy(out, a, sizeof(float) * rows_of(op.a) * cols_of(op.a));
        reference::scale(out, op.scalar, rows_of(op.a) * cols_of(op.a));
        break;
      case OpKind::Softcap:
        if (out != a) std::memcpy(out, a, sizeof(float) * rows_of(op.a) * cols_of(op.a));
        reference::softcap(out, op.scalar, rows_of(op.a) * cols_of(op.a));
        break;
      case OpKind::Softmax:
        if (out != a) std::memcpy(out, a, sizeof(float) * rows_of(op.a) * cols_of(op.a));
        reference::softmax_rows(out, rows_of(op.a), cols_of(op.a));
        break;
      case OpKind::LastRow:
        std::memcpy(out, a + (n - 1) * cols_of(op.a), sizeof(float) * cols_of(op.a));
        break;
      case OpKind::SliceCols:
        reference::slice_cols(a, rows_of(op.a), cols_of(op.a), op.group > 0 ? op.group : cols_of(op.a), op.offset,
                              cols_of(op.out), out);
        break;
      case OpKind::ExpertScale:
        reference::expert_scale(a, out, rows_of(op.a), cols_of(op.a) / 2, vector_of(op.weight),
                                weights_[op.weight].cols);
        break;
      case OpKind::Softplus:
        reference::softplus(a, out, rows_of(op.a) * cols_of(op.a));
        break;
      case OpKind::MulGrouped:
        reference::mul_grouped(a, b, out, rows_of(op.a), cols_of(op.a), cols_of(op.a) / cols_of(op.b));
        break;
      case OpKind::Route: {
        reference::RouteParams p = op.route;
        p.bias = op.weight >= 0 ? vector_of(op.weight) : nullptr;
        p.chosen = b;
        reference::route(a, out, rows_of(op.a), p);
        break;
      }
      case OpKind::MoeMatMul: {
        const WeightDesc& w = weights_[op.weight];
        experts_.clear();
        for (int64_t e = 0; e < w.experts; ++e) experts_.push_back(w.view(e));
        const int top_k = static_cast<int>(cols_of(op.b) / 2);
        reference::moe_matmul(experts_.data(), w.experts, a, cols_of(op.a) == w.cols, b, top_k, out, rows_of(op.a));
        break;
      }
      case OpKind::KeepHeads:
        reference::keep_heads(a, out, rows_of(op.a) * cols_of(op.a), op.group, op.heads, op.kept_heads);
        break;
      case OpKind::MoeSum:
        reference::moe_sum(a, b, static_cast<int>(cols_of(op.b) / 2), out, rows_of(op.a), cols_of(op.out));
        break;
    }
  }

  std::vector<WeightDesc> weights_;
  std::vector<std::vector<float>> vectors_;
  std::vector<CpuCache> caches_;
  std::map<const Graph*, std::vector<std::vector<float>>> tensors_;
  std::vector<int32_t> positions_;
  std::vector<float> keys_, values_, entries_;
  std::vector<reference::WeightView> experts_;
  int64_t last_tokens_ = 0;
  std::vector<LayerTiming> timings_;
};

}  // namespace

std::unique_ptr<Backend> make_cpu_backend() { return std::make_unique<CpuBackend>(); }

namespace {
CpuBackend& as_cpu(Backend& backend) {
  auto* cpu = dynamic_cast<CpuBackend*>(&backend);
  if (!cpu) throw Error("test hook: " + backend.name() + " is not the CPU backend");
  return *cpu;
}
}  // namespace

void set_cpu_before_op(Backend& cpu, std::function<void(size_t op)> before_op) { as_cpu(cpu).before_op_ = std::move(before_op); }

std::span<uint8_t> cpu_cache_rows(Backend& cpu, int cache, bool values) {
  CpuCache& c = as_cpu(cpu).cache(cache);
  return values ? std::span<uint8_t>(c.v) : std::span<uint8_t>(c.k);
}

std::span<const int32_t> cpu_cache_positions(Backend& cpu, int cache) { return as_cpu(cpu).cache(cache).positions; }

}  // namespace archscope
