// Recording the step-graph ops: bindings, push constants and work-group counts for each
// shader. The push-constant structs mirror the `Push` blocks of the shaders field by field
// (all 32-bit, so the C++ and GLSL layouts agree).
#include "vulkan/step_ops.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "archscope/error.h"

namespace archscope::vulkan {

namespace {

uint32_t u32(int64_t value) { return static_cast<uint32_t>(value); }
uint32_t ceil_div(uint64_t a, uint64_t b) { return static_cast<uint32_t>((a + b - 1) / b); }
uint32_t type_id(GgmlType type) { return static_cast<uint32_t>(type); }  // the shaders' QUANT_TYPE

// Rows of a weight piece that belong to expert 0 (the rows an Op computes with).
int64_t rows_in_use(const DeviceWeight& w, const DeviceWeight::Piece& piece) {
  return std::clamp<int64_t>(w.rows - piece.first_row, 0, piece.rows);
}

// ggml's rope parameters as shaders/rope.glsl's Rope.
struct RopePush {
  float theta_scale, freq_scale, ext_factor, attn_factor, corr_low, corr_high;
};
RopePush rope_push(const reference::RopeParams& r) {
  // YaRN correction dims, as ggml_rope_yarn_corr_dims (only used when ext_factor != 0).
  auto corr_dim = [&](float n_rot) {
    return r.rotary_dims * std::log(r.original_context / (n_rot * 2 * std::numbers::pi_v<float>)) /
           (2 * std::log(r.theta));
  };
  float low = std::max(0.0f, std::floor(corr_dim(r.beta_fast)));
  float high = std::min(static_cast<float>(r.rotary_dims - 1), std::ceil(corr_dim(r.beta_slow)));
  if (!std::isfinite(low)) low = 0.0f;
  if (!std::isfinite(high)) high = 0.0f;
  return {std::pow(r.theta, -2.0f / static_cast<float>(r.rotary_dims)),
          r.freq_scale,
          r.ext_factor,
          r.attn_factor,
          low,
          high};
}

}  // namespace

uint64_t cache_row_stride(GgmlType type, int64_t elements) {
  const std::optional<uint64_t> bytes = ggml_bytes(type, static_cast<uint64_t>(elements));
  if (!bytes) throw Error("a cache row of " + std::to_string(elements) + " elements is not a whole number of blocks");
  return (*bytes + 3) / 4 * 4;
}

AttentionPlan plan_attention(const DeviceCache& cache, int q_heads, int max_tokens, uint64_t max_binding_bytes,
                             const DeviceCache* compressed, int selected) {
  // Enough work groups to fill a GPU (a few hundred) when the step itself has few
  // (decode: 1 token x q_heads); a split is never shorter than one 64-slot tile.
  constexpr uint64_t kTargetGroups = 256;
  const uint64_t queries = uint64_t(max_tokens) * uint64_t(q_heads);
  const uint64_t wanted_splits = std::max<uint64_t>(1, kTargetGroups / std::max<uint64_t>(queries, 1));
  uint64_t chunk = std::max<uint64_t>(64, (uint64_t(cache.capacity) + wanted_splits - 1) / wanted_splits);
  chunk = (chunk + 63) / 64 * 64;
  int64_t largest_part = 0;
  for (const DeviceCache::Part& part : cache.parts) largest_part = std::max(largest_part, part.slots);
  if (compressed) {
    for (const DeviceCache::Part& part : compressed->parts) {
      largest_part = std::max<int64_t>(largest_part, selected > 0 ? selected : part.slots);
    }
  }
  for (;;) {
    AttentionPlan plan;
    plan.chunk = static_cast<uint32_t>(chunk);
    plan.splits = 0;
    for (const DeviceCache::Part& part : cache.parts) plan.splits += ceil_div(part.slots, chunk);
    if (compressed) {  // a selection is walked in every part (each takes the ids it holds)
      for (const DeviceCache::Part& part : compressed->parts)
        plan.splits += ceil_div(selected > 0 ? selected : part.slots, chunk);
    }
    const uint64_t record = uint64_t(cache.head_dim_v) + 2;  // m, l, acc[head_dim_v]
    plan.partial_bytes = plan.splits > 1 ? queries * plan.splits * record * sizeof(float) : 0;
    if (plan.partial_bytes <= max_binding_bytes) return plan;
    if (chunk >= uint64_t(largest_part)) {
      throw Error("attention over a cache of " + std::to_string(cache.capacity) + " slots in " +
                  std::to_string(cache.parts.size()) + " parts needs " + std::to_string(plan.partial_bytes) +
                  " bytes of partial results for " + std::to_string(max_tokens) +
                  " tokens, more than one binding holds; use a smaller batch");
    }
    chunk *= 2;
  }
}

const ComputePipeline& PipelineCache::get(const std::string& shader, uint32_t buffers, uint32_t push_bytes,
                                          std::vector<uint32_t> constants) {
  std::unique_ptr<ComputePipeline>& pipeline = pipelines_[{shader, constants}];
  if (!pipeline) pipeline = std::make_unique<ComputePipeline>(*device_, shader, buffers, push_bytes, constants);
  return *pipeline;
}

StepRecorder::StepRecorder(PipelineCache& pipelines, CommandList& list, BufferRange step, BufferRange dummy,
                           int max_tokens, PrefillMatMul prefill)
    : pipelines_(pipelines), list_(list), step_(step), dummy_(dummy), max_tokens_(max_tokens), prefill_(prefill) {}

void StepRecorder::get_rows(const DeviceWeight& table, const DeviceTensor& out) {
  struct {
    uint32_t cols, row_bytes, first_row, rows;
  } push;
  const ComputePipeline& shader = pipelines_.get("get_rows", 3, sizeof push, {type_id(table.type)});
  for (const DeviceWeight::Piece& piece : table.pieces) {
    const int64_t piece_rows = rows_in_use(table, piece);
    if (piece_rows == 0) continue;
    push = {u32(table.cols), u32(table.row_bytes), u32(piece.first_row), u32(piece_rows)};
    list_.dispatch(shader, {step_, piece.range, out.range}, push,
                   GroupCount{ceil_div(ceil_div(table.cols, 32), 64), rows(out), 1});
  }
}

void StepRecorder::matmul(const DeviceWeight& w, const DeviceTensor& x, const DeviceTensor& out) {
  matmul_rows(w, x, out, 0, w.rows, 0);
}

void StepRecorder::grouped_matmul(const DeviceWeight& w, int groups, const DeviceTensor& x, const DeviceTensor& out) {
  if (groups < 1 || w.rows % groups != 0 || x.cols != groups * w.cols || out.cols != w.rows) {
    throw Error("grouped matmul: " + w.name + " (" + std::to_string(w.rows) + " x " + std::to_string(w.cols) +
                ") does not split into " + std::to_string(groups) + " groups over " + std::to_string(x.cols) +
                " input columns");
  }
  const int64_t per_group = w.rows / groups;
  for (int g = 0; g < groups; ++g) matmul_rows(w, x, out, g * per_group, per_group, g * w.cols);
}

void StepRecorder::matmul_rows(const DeviceWeight& w, const DeviceTensor& x, const DeviceTensor& out, int64_t first,
                               int64_t count, int64_t x_offset) {
  struct {
    uint32_t cols, row_bytes, rows, first_out, out_cols, per_token, x_stride, x_offset, first_row;
  } push;
  // MAX_TOKENS and ROWS of matmul_vec.comp, TILE of matmul_tiled.comp, work group size and
  // TOKENS of matmul_rows.comp.
  constexpr uint32_t kVecTokens = 8, kVecRows = 8, kTile = 32, kRowsGroup = 64, kRowsTokens = 32;
  enum class Shader { Vec, Tiled, Rows };
  const Shader kind = rows(x) <= kVecTokens ? Shader::Vec : prefill_.rows ? Shader::Rows : Shader::Tiled;
  const ComputePipeline& shader =
      kind == Shader::Vec     ? pipelines_.get("matmul_vec", 4, sizeof push, {type_id(w.type)})
      : kind == Shader::Tiled ? pipelines_.get("matmul_tiled", 4, sizeof push, {type_id(w.type)})
                              : pipelines_.get("matmul_rows", 4, sizeof push, {type_id(w.type), prefill_.subgroup_size});
  for (const DeviceWeight::Piece& piece : w.pieces) {
    // The piece's rows that fall in [first, first + count).
    const int64_t lo = std::max(first, piece.first_row);
    const int64_t hi = std::min(first + count, piece.first_row + rows_in_use(w, piece));
    if (lo >= hi) continue;
    const int64_t piece_rows = hi - lo;
    push = {u32(w.cols), u32(w.row_bytes), u32(piece_rows),          u32(lo), u32(w.rows), x.per_token ? 1u : 0u,
            u32(x.cols), u32(x_offset),    u32(lo - piece.first_row)};
    const GroupCount groups =
        kind == Shader::Vec     ? groups_for(piece_rows, kVecRows)
        : kind == Shader::Tiled ? GroupCount{ceil_div(piece_rows, kTile), ceil_div(rows(x), kTile), 1}
                                : GroupCount{ceil_div(piece_rows, kRowsGroup), ceil_div(rows(x), kRowsTokens), 1};
    list_.dispatch(shader, {step_, piece.range, x.range, out.range}, push, groups);
  }
}

void StepRecorder::rms_norm(const DeviceTensor& x, std::optional<BufferRange> weight, const DeviceTensor& out,
                            int64_t group, float eps) {
  struct {
    uint32_t cols, group, per_token, has_weight;
    float eps;
  } push{u32(x.cols), u32(group), x.per_token ? 1u : 0u, weight ? 1u : 0u, eps};
  const ComputePipeline& shader = pipelines_.get("rms_norm", 4, sizeof push);
  list_.dispatch(shader, {step_, x.range, weight.value_or(dummy_), out.range}, push,
                 GroupCount{u32(x.cols / group), rows(x), 1});
}

void StepRecorder::rope(const DeviceTensor& x, std::optional<BufferRange> factors, int heads, int head_dim,
                        const reference::RopeParams& r) {
  if (r.rotary_dims == 0) return;
  struct {
    uint32_t heads, head_dim, rotary_dims, rotary_offset, neox, has_factors;
    RopePush rope;
    uint32_t inverse;
  } push{u32(heads),       u32(head_dim),     u32(r.rotary_dims), u32(r.rotary_offset),
         r.neox ? 1u : 0u, factors ? 1u : 0u, rope_push(r),       r.inverse ? 1u : 0u};
  const ComputePipeline& shader = pipelines_.get("rope", 3, sizeof push);
  list_.dispatch(shader, {step_, x.range, factors.value_or(dummy_)}, push,
                 GroupCount{ceil_div(uint64_t(heads) * (r.rotary_dims / 2), 64), rows(x), 1});
}

void StepRecorder::store_kv(const DeviceCache& cache, const DeviceTensor& keys, std::optional<DeviceTensor> values,
                            int ratio) {
  struct {
    uint32_t key_cols, value_cols, key_stride, value_stride, capacity, first_slot, slots, has_values, ratio;
  } push;
  const ComputePipeline& shader = pipelines_.get("store_kv", 6, sizeof push, {type_id(cache.type)});
  // Elements each invocation converts (store_kv.comp): whole words of the cache row.
  const uint64_t per_item = cache.type == GgmlType::F32 ? 1 : cache.type == GgmlType::Q8_0 ? 64 : 2;
  const int64_t widest = std::max(keys.cols, values ? values->cols : 0);
  for (const DeviceCache::Part& part : cache.parts) {
    push = {u32(keys.cols),
            values ? u32(values->cols) : 0u,
            u32(cache.key_stride),
            u32(cache.value_stride),
            u32(cache.capacity),
            u32(part.first_slot),
            u32(part.slots),
            values ? 1u : 0u,
            u32(ratio)};
    list_.dispatch(shader,
                   {step_, keys.range, values ? values->range : dummy_, part.keys, values ? part.values : dummy_,
                    *cache.positions},
                   push, GroupCount{ceil_div(ceil_div(widest, per_item), 64), rows(keys), values ? 2u : 1u});
  }
}

void StepRecorder::attention(const DeviceCache& cache, const DeviceTensor& q, std::optional<BufferRange> sinks,
                             const reference::AttentionParams& a, const AttentionPlan& plan,
                             std::optional<BufferRange> partials, const DeviceTensor& out,
                             const DeviceCache* compressed, std::optional<DeviceTensor> selected) {
  const bool merged = plan.splits > 1 || compressed;
  if (merged && !partials) throw Error("attention with " + std::to_string(plan.splits) + " splits needs scratch");
  struct {
    uint32_t q_heads, kv_heads, head_dim_k, head_dim_v;
    float scale, softcap;
    uint32_t window, has_sinks, capacity, chunk, first_split, first_slot, part_slots, key_stride, value_stride,
        value_head, splits, ratio, selected_k;
  } push;
  // Output dims per invocation (64 invocations share a head), so the loop covers no more;
  // query heads per work group: up to 4 of one KV head's group, so that each key and value
  // read serves all of them, within 16 accumulators per invocation and 8 KiB of queries.
  const uint32_t dims = ceil_div(a.head_dim_v, 64);
  uint32_t heads = 1;
  for (uint32_t h : {4u, 2u}) {
    if ((a.q_heads / a.kv_heads) % h == 0 && h * dims <= 16 && h * uint32_t(a.head_dim_k) <= 2048) {
      heads = h;
      break;
    }
  }
  const uint32_t q_floats = heads * ceil_div(a.head_dim_k, 4) * 4;
  // Prefill: query tokens per work group as well, up to 8 within the same bounds (a decode
  // step has one token and keeps one; so does a walk over each token's own selection).
  auto tokens_per_group = [&](bool gather) {
    uint32_t tokens = 1;
    while (!gather && tokens < 8 && tokens < uint32_t(rows(q)) && 2 * tokens * heads * dims <= 16 &&
           2 * tokens * q_floats <= 2048)
      tokens *= 2;
    return tokens;
  };
  uint32_t first_split = 0;
  // One dispatch per part of `c`, its splits numbered from first_split on.
  auto over = [&](const DeviceCache& c, uint32_t window, std::optional<DeviceTensor> ids) {
    const uint32_t selected_k = ids ? u32(ids->cols) : 0u;
    const uint32_t tokens = tokens_per_group(ids.has_value());
    const ComputePipeline& shader =
        pipelines_.get("attention", 9, sizeof push, {type_id(c.type), dims, heads, tokens * q_floats, tokens});
    for (const DeviceCache::Part& part : c.parts) {
      const uint32_t splits = ceil_div(ids ? selected_k : part.slots, plan.chunk);
      push = {u32(a.q_heads),
              u32(a.kv_heads),
              u32(a.head_dim_k),
              u32(a.head_dim_v),
              a.scale,
              a.softcap,
              window,
              sinks ? 1u : 0u,
              u32(c.capacity),
              plan.chunk,
              first_split,
              u32(part.first_slot),
              u32(part.slots),
              u32(c.key_stride),
              u32(c.k_equals_v ? c.key_stride : c.value_stride),
              u32(c.k_equals_v ? c.head_dim_k : c.head_dim_v),
              merged ? plan.splits : 1u,
              u32(c.ratio),
              selected_k};
      list_.dispatch(shader,
                     {step_, q.range, part.keys, part.values, *c.positions, sinks.value_or(dummy_),
                      partials.value_or(dummy_), out.range, ids ? ids->range : dummy_},
                     push, GroupCount{splits, u32(a.q_heads) / heads, ceil_div(rows(q), tokens)});
      first_split += splits;
    }
  };
  over(cache, a.window > 0 ? u32(a.window) : 0u, std::nullopt);
  // Compressed entries lie outside the window (the reference sees them at the query's position).
  if (compressed) over(*compressed, 0u, selected);
  if (first_split != (merged ? plan.splits : 1u)) throw Error("attention: the plan's splits do not match its caches");
  if (!merged) return;
  struct {
    uint32_t q_heads, head_dim_v, splits, has_sinks;
  } combine{u32(a.q_heads), u32(a.head_dim_v), plan.splits, sinks ? 1u : 0u};
  const ComputePipeline& merge = pipelines_.get("attention_combine", 4, sizeof combine);
  list_.dispatch(merge, {step_, *partials, sinks.value_or(dummy_), out.range}, combine,
                 GroupCount{u32(a.q_heads), rows(q), 1});
}

void StepRecorder::elementwise(Elementwise op, const DeviceTensor& a, std::optional<BufferRange> b, Broadcast broadcast,
                               float scalar, const DeviceTensor& out) {
  elementwise_grouped(op, a, b, broadcast, scalar, {}, out);
}

void StepRecorder::elementwise_grouped(Elementwise op, const DeviceTensor& a, std::optional<BufferRange> b,
                                       Broadcast broadcast, float scalar, Grouping grouping, const DeviceTensor& out) {
  struct {
    uint32_t op, cols, per_token, b_shape;
    float scalar;
    uint32_t group, period, kept;
  } push{static_cast<uint32_t>(op), u32(a.cols), a.per_token ? 1u : 0u, static_cast<uint32_t>(broadcast), scalar,
         grouping.group, grouping.period, grouping.kept};
  const ComputePipeline& shader = pipelines_.get("elementwise", 4, sizeof push);
  list_.dispatch(shader, {step_, a.range, b.value_or(dummy_), out.range}, push,
                 groups_for(uint64_t(rows(a)) * uint64_t(a.cols), 256));
}

void StepRecorder::softplus(const DeviceTensor& a, const DeviceTensor& out) {
  elementwise(Elementwise::Softplus, a, std::nullopt, Broadcast::None, 0, out);
}

void StepRecorder::mul_grouped(const DeviceTensor& a, const DeviceTensor& b, const DeviceTensor& out) {
  elementwise_grouped(Elementwise::Mul, a, b.range, Broadcast::Group, 0, {u32(a.cols / b.cols), 1, 1}, out);
}

void StepRecorder::keep_heads(const DeviceTensor& a, const DeviceTensor& out, int head_cols, int period, int kept) {
  elementwise_grouped(Elementwise::KeepHeads, a, std::nullopt, Broadcast::None, 0,
                      {u32(head_cols), u32(period), u32(kept)}, out);
}

void StepRecorder::route(const DeviceTensor& logits, std::optional<BufferRange> bias, const reference::RouteParams& r,
                         std::optional<DeviceTensor> chosen, const DeviceTensor& out) {
  constexpr int kMaxTopK = 64;  // MAX_K of route.comp
  if (r.top_k < 1 || r.top_k > kMaxTopK || r.top_k > r.experts) {
    throw Error("routing to " + std::to_string(r.top_k) + " of " + std::to_string(r.experts) +
                " experts: the Vulkan backend routes to 1 to 64 experts, at most all of them");
  }
  struct {
    uint32_t experts, top_k, score, has_bias, normalize;
    float scale;
    uint32_t per_token, has_chosen;
  } push{u32(r.experts),        u32(r.top_k), static_cast<uint32_t>(r.score), bias ? 1u : 0u,
         r.normalize ? 1u : 0u, r.scale,      logits.per_token ? 1u : 0u,     chosen ? 1u : 0u};
  if (chosen && (chosen->cols != r.top_k || chosen->per_token != logits.per_token)) {
    throw Error("routing: the experts chosen beforehand are not top-k (" + std::to_string(r.top_k) + ") per token");
  }
  const ComputePipeline& shader = pipelines_.get("route", 5, sizeof push);
  list_.dispatch(shader, {step_, logits.range, bias.value_or(dummy_), out.range, chosen ? chosen->range : dummy_}, push,
                 GroupCount{rows(logits), 1, 1});
}

void StepRecorder::moe_matmul(const DeviceWeight& w, const DeviceTensor& a, const DeviceTensor& route,
                              const DeviceTensor& out) {
  constexpr uint32_t kMoeRows = 8;  // ROWS of matmul_moe.comp
  // Decode: a work group per chosen (token, expert); prefill (more tokens than
  // matmul_vec takes): a work group per expert over its tokens, so each expert's rows are
  // fetched once per step (matmul_moe.comp, BY_EXPERT).
  constexpr uint32_t kPerChoiceTokens = 8;
  const uint32_t top_k = u32(route.cols / 2);
  const int64_t experts = w.experts;
  const bool by_expert = rows(a) > kPerChoiceTokens;
  const uint64_t groups_y = by_expert ? uint64_t(experts) : uint64_t(rows(a)) * top_k;
  if (groups_y > 65535) {
    throw Error("an expert matmul over " + std::to_string(rows(a)) + " tokens x " + std::to_string(top_k) + " of " +
                std::to_string(experts) + " experts exceeds one dispatch; use a smaller batch");
  }
  struct {
    uint32_t cols, row_bytes, rows, first_row, piece_rows, top_k, shared_input, per_token;
  } push;
  const ComputePipeline& shader = pipelines_.get("matmul_moe", 5, sizeof push, {type_id(w.type), by_expert ? 1u : 0u});
  for (const DeviceWeight::Piece& piece : w.pieces) {
    push = {u32(w.cols), u32(w.row_bytes),       u32(w.rows),   u32(piece.first_row),
            u32(piece.rows), top_k, a.cols == w.cols ? 1u : 0u, a.per_token ? 1u : 0u};
    list_.dispatch(shader, {step_, piece.range, a.range, route.range, out.range}, push,
                   GroupCount{ceil_div(w.rows, kMoeRows), u32(groups_y), 1});
  }
}

void StepRecorder::moe_sum(const DeviceTensor& a, const DeviceTensor& route, const DeviceTensor& out) {
  struct {
    uint32_t cols, top_k, per_token;
  } push{u32(out.cols), u32(route.cols / 2), out.per_token ? 1u : 0u};
  const ComputePipeline& shader = pipelines_.get("moe_sum", 4, sizeof push);
  list_.dispatch(shader, {step_, a.range, route.range, out.range}, push,
                 GroupCount{ceil_div(out.cols, 256), rows(out), 1});
}

void StepRecorder::softmax(const DeviceTensor& a, const DeviceTensor& out) {
  struct {
    uint32_t cols, per_token;
  } push{u32(a.cols), a.per_token ? 1u : 0u};
  const ComputePipeline& shader = pipelines_.get("softmax", 3, sizeof push);
  list_.dispatch(shader, {step_, a.range, out.range}, push, GroupCount{1, rows(a), 1});
}

void StepRecorder::last_row(const DeviceTensor& a, const DeviceTensor& out) {
  const uint32_t cols = u32(a.cols);
  const ComputePipeline& shader = pipelines_.get("last_row", 3, sizeof cols);
  list_.dispatch(shader, {step_, a.range, out.range}, cols, groups_for(cols, 256));
}

void StepRecorder::expert_scale(const DeviceTensor& route, BufferRange scales, int64_t experts, const DeviceTensor& out) {
  struct {
    uint32_t top_k, experts, per_token;
  } push{u32(route.cols / 2), u32(experts), route.per_token ? 1u : 0u};
  const ComputePipeline& shader = pipelines_.get("expert_scale", 4, sizeof push);
  list_.dispatch(shader, {step_, route.range, scales, out.range}, push,
                 groups_for(uint64_t(rows(route)) * uint64_t(route.cols / 2), 256));
}

void StepRecorder::slice_cols(const DeviceTensor& a, int64_t group, int64_t offset, const DeviceTensor& out) {
  const int64_t groups = a.cols / group;
  struct {
    uint32_t a_cols, cols, offset, per_token, group, width;
  } push{u32(a.cols), u32(out.cols), u32(offset), a.per_token ? 1u : 0u, u32(group), u32(out.cols / groups)};
  const ComputePipeline& shader = pipelines_.get("slice_cols", 3, sizeof push);
  list_.dispatch(shader, {step_, a.range, out.range}, push, groups_for(uint64_t(rows(a)) * uint64_t(out.cols), 256));
}

void StepRecorder::hyper_mix(uint32_t mode, const DeviceTensor& a, std::optional<DeviceTensor> weights,
                             std::optional<DeviceTensor> streams, uint32_t d, uint32_t n, const DeviceTensor& out) {
  // The streams and the site's tensors have the output's rows (the head's are single rows).
  if (a.per_token != out.per_token || (streams && streams->per_token != out.per_token) ||
      (weights && weights->per_token && !out.per_token)) {
    throw Error("hyper-connection op: its tensors mix per-token and single rows");
  }
  struct {
    uint32_t mode, cols, a_cols, d, n, weight_cols, per_token, weights_per_token;
  } push{mode,
         u32(out.cols),
         u32(a.cols),
         d,
         n,
         weights ? u32(weights->cols) : 0u,
         out.per_token ? 1u : 0u,
         weights && weights->per_token ? 1u : 0u};
  const ComputePipeline& shader = pipelines_.get("hyper_mix", 5, sizeof push);
  list_.dispatch(shader,
                 {step_, a.range, weights ? weights->range : dummy_, streams ? streams->range : dummy_, out.range},
                 push, groups_for(uint64_t(rows(out)) * uint64_t(out.cols), 256));
}

void StepRecorder::repeat(const DeviceTensor& a, const DeviceTensor& out) {
  hyper_mix(0, a, std::nullopt, std::nullopt, 0, 0, out);
}

void StepRecorder::hyper_collapse(const DeviceTensor& streams, const DeviceTensor& weights, const DeviceTensor& out) {
  hyper_mix(1, streams, weights, std::nullopt, u32(out.cols), u32(streams.cols / out.cols), out);
}

void StepRecorder::hyper_expand(const DeviceTensor& f, const DeviceTensor& weights, const DeviceTensor& streams,
                                const DeviceTensor& out) {
  hyper_mix(2, f, weights, streams, u32(f.cols), u32(streams.cols / f.cols), out);
}

void StepRecorder::hyper_weights(const DeviceTensor& mixes, BufferRange base, BufferRange scale, int streams,
                                 int iterations, float eps, const DeviceTensor& out) {
  constexpr int kMaxStreams = 16;  // hyper_weights.comp keeps the n x n mix in registers
  if (streams < 1 || streams > kMaxStreams || iterations < 0) {
    throw Error("hyper-connection weights for " + std::to_string(streams) + " streams and " +
                std::to_string(iterations) + " Sinkhorn rounds: the Vulkan backend mixes 1 to 16 streams");
  }
  struct {
    uint32_t mix_count, iterations;
    float eps;
    uint32_t per_token;
  } push{u32(mixes.cols), u32(iterations), eps, mixes.per_token ? 1u : 0u};
  const ComputePipeline& shader = pipelines_.get("hyper_weights", 5, sizeof push, {u32(streams)});
  list_.dispatch(shader, {step_, mixes.range, base, scale, out.range}, push,
                 GroupCount{ceil_div(rows(mixes), 64), 1, 1});
}

void StepRecorder::compress_kv(const DeviceTensor& kv, const DeviceTensor& score, BufferRange ape, BufferRange norm,
                               const DeviceCache& state, const DeviceCache& entries, float eps,
                               const reference::RopeParams& r, BufferRange scratch) {
  const int64_t width = entries.head_dim_k;
  const int ratio = entries.ratio;
  constexpr int kMaxRatio = 128, kMaxWidth = 1024;  // compress_kv.comp: pooled rows, MAX_WIDTH
  if (ratio < 1 || ratio > kMaxRatio || width > kMaxWidth || state.parts.size() != 1 || state.type != GgmlType::F32) {
    throw Error("compressing kv by " + std::to_string(ratio) + " into entries of " + std::to_string(width) +
                ": the Vulkan backend pools at most 128 rows into entries of at most 1024, from an f32 state ring "
                "in one binding");
  }
  struct {
    uint32_t width, row_width, ratio, overlap;
    float eps;
    uint32_t capacity, rotary_dims, rotary_offset, neox;
    RopePush rope;
  } push{u32(width),
         u32(kv.cols),
         u32(ratio),
         kv.cols == 2 * width ? 1u : 0u,
         eps,
         u32(state.capacity),
         u32(r.rotary_dims),
         u32(r.rotary_offset),
         r.neox ? 1u : 0u,
         rope_push(r)};
  const DeviceCache::Part& ring = state.parts[0];
  const ComputePipeline& shader = pipelines_.get("compress_kv", 9, sizeof push);
  list_.dispatch(shader, {step_, kv.range, score.range, ape, norm, ring.keys, ring.values, *state.positions, scratch},
                 push, GroupCount{1, rows(kv), 1});
  // Then the entries into their slots, and only then the step's rows into the ring it read.
  store_kv(entries, DeviceTensor{scratch, width, true}, std::nullopt, ratio);
  store_kv(state, kv, score);
}

void StepRecorder::indexer_top_k(const DeviceTensor& q, const DeviceTensor& weights, const DeviceCache& keys, int heads,
                                 int dim, BufferRange scratch, const DeviceTensor& out) {
  constexpr int64_t kMaxTopK = 1024;  // MAX_K of indexer_top_k.comp
  if (out.cols < 1 || out.cols > kMaxTopK) {
    throw Error("the lightning indexer picks " + std::to_string(out.cols) +
                " entries; the Vulkan backend picks 1 to 1024");
  }
  struct {
    uint32_t heads, dim, ratio, capacity, first_slot, part_slots, key_stride, top_k;
  } push;
  const ComputePipeline& scores = pipelines_.get("indexer_top_k", 7, sizeof push, {type_id(keys.type), 0u});
  for (const DeviceCache::Part& part : keys.parts) {
    push = {u32(heads),           u32(dim),        u32(keys.ratio),      u32(keys.capacity),
            u32(part.first_slot), u32(part.slots), u32(keys.key_stride), u32(out.cols)};
    list_.dispatch(scores, {step_, q.range, weights.range, part.keys, *keys.positions, scratch, out.range}, push,
                   GroupCount{ceil_div(part.slots, 256), rows(q), 1});
  }
  const ComputePipeline& select = pipelines_.get("indexer_top_k", 7, sizeof push, {type_id(keys.type), 1u});
  const DeviceCache::Part& first = keys.parts.at(0);
  list_.dispatch(select, {step_, q.range, weights.range, first.keys, *keys.positions, scratch, out.range}, push,
                 GroupCount{1, rows(q), 1});
}

}  // namespace archscope::vulkan
