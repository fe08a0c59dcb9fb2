// The step graph: one decode/prefill step of a model as a flat list of ops over named f32
// activations, typed weights and KV caches. An architecture's program builds it once from
// the ModelSpec (engine/src/runtime/programs/); a backend runs it: the CPU backend op by op
// with the reference ops, the Vulkan backend records it into a command buffer once and
// replays it every step. What changes between steps (the tokens and their positions) is
// read by the ops at run time, never baked into the graph.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

#include "archscope/cache_plan.h"
#include "archscope/ggml_types.h"
#include "archscope/model_spec.h"
#include "reference/ops.h"

namespace archscope {

// A weight as stored in the model file: `experts` matrices of `rows` x `cols` elements
// (a GGUF tensor {cols, rows} or {cols, rows, experts}); vectors have rows = 1.
struct WeightDesc {
  std::string name;
  GgmlType type = GgmlType::F32;
  int64_t cols = 0, rows = 1, experts = 1;
  uint64_t row_bytes = 0;
  const uint8_t* data = nullptr;  // host copy (memory-mapped file); valid while the model lives
  // A table only ever gathered (GetRows) may stay in host memory (ModelSpec::ple_table).
  TablePlacement placement = TablePlacement::Device;
  uint64_t bytes() const { return row_bytes * uint64_t(rows) * uint64_t(experts); }
  reference::WeightView view(int64_t expert = 0) const {
    return {type, data + uint64_t(expert) * uint64_t(rows) * row_bytes, cols, rows, row_bytes};
  }
};

// One layer's KV cache, shaped by the CachePlan: `capacity` slots, each holding the keys
// (kv_heads x head_dim_k) and values (kv_heads x head_dim_v) of one position. Position p
// lives in slot p % capacity, so a sliding-window cache is a ring buffer. Each slot also
// records its position (-1 while empty) so attention can mask by position.
//
// DeepSeek V4 layers hold more than raw keys (kind): compressed entries (slot b holds the
// entry of positions [b ratio, (b + 1) ratio), recorded at its last position, so causality
// is key_pos <= query_pos), and a compressor state ring (F32 kv and score rows of the last
// `capacity` positions, for the block being filled), which is always full size.
enum class CacheKind { Raw, Compressed, State };
struct CacheDesc {
  int layer = 0;
  GgmlType type = GgmlType::F16;  // F32, F16, BF16 or Q8_0 (rows of kv_heads x head_dim)
  int64_t capacity = 0;
  int kv_heads = 0, head_dim_k = 0, head_dim_v = 0;
  bool k_equals_v = false;        // values are read from the key rows
  CacheKind kind = CacheKind::Raw;
  int ratio = 1;                  // positions per slot (compressed entries)
  // Bytes of one slot: its key row and (unless K = V) its value row.
  uint64_t slot_bytes() const {
    return cache_row_bytes(type, uint64_t(kv_heads) * head_dim_k) +
           (k_equals_v ? 0 : cache_row_bytes(type, uint64_t(kv_heads) * head_dim_v));
  }
  // Slots holding entries after `position` tokens (the StepReport's cache bytes).
  int64_t filled(int64_t position) const {
    return kind == CacheKind::State ? capacity : std::min<int64_t>(position / ratio, capacity);
  }
};

// An f32 activation of `rows` x `cols`. Per-token tensors have one row per token of the
// step (rows = the graph's max_tokens; only the step's token count is computed). An op's
// widths are its tensors' widths: a program gives layers of different shapes their own
// tensors. Elementwise ops (Add, Mul, MulWeight, Scale, Softcap, Glu), Softmax and RmsNorm
// may write in place (out == a); Rope always does.
struct TensorDesc {
  std::string name;  // "blk.3.attn_q" for debugging and per-op comparisons
  int64_t cols = 0;
  bool per_token = true;  // false: a single row (e.g. the last token's logits)
};

enum class OpKind {
  GetRows,    // out[t] = dequant(weight row tokens[t])
  RmsNorm,    // out = rms_norm(a) * weight (weight optional), per group of `group` columns
  MatMul,     // out[t] = W a[t]                 (weight: rows = out cols, cols = a cols)
  Rope,       // a rotated in place: heads x head_dim per row, at the token's position
  StoreKv,    // a (keys) and b (values, or -1 when K = V) written to cache at the tokens' positions
  Attention,  // out = attention(q = a, cache), causal, window, sinks (weight), softcap
  Glu,        // out = act(a) * b
  Add,        // out = a + b
  Mul,        // out = a * b
  MulWeight,  // out = a * weight, the weight's one row broadcast over rows (or a scalar)
  Scale,      // out = a * scalar
  Softcap,    // out = cap * tanh(a / cap)
  Softmax,    // out = softmax of each row of a (a row of all -inf gives zeros), e.g. MoE routers
  LastRow,    // out (one row) = a's row of the step's last token
  SliceCols,  // out[t] = a[t][offset, offset + out cols): one layer's slice of a wide tensor (Gemma 4 PLE);
              // with `group`: the same slice of every group of `group` columns, side by side (fused gate/up halves)
  ExpertScale,  // out = route a with each chosen expert's weight times weight[expert] (Gemma 4 per-expert scale)
  // Gates and mixture of experts (k = experts chosen per token, the route tensor's width / 2).
  Softplus,   // out = softplus(a), e.g. an attention output gate
  MulGrouped, // out = a * b, each value of b over a group of a.cols / b.cols columns (per-head gates)
  Route,      // out [T, 2k] = top-k expert ids (as floats) then weights, from router logits a (weight: selection bias)
  MoeMatMul,  // out [T, k x rows] = W[expert j] a[t] (a: [T, cols], or [T, k x cols] per choice); b = route
  MoeSum,     // out [T, cols] = sum_j weight_j a[t][j] (a: [T, k x cols]); b = route
  KeepHeads,  // out = a with dropped heads zeroed: of every `heads` heads of `group` columns (one KV group) the first `kept_heads` stay
  // DeepSeek V4 (reference/ops.h explains each). Glu takes `limit` (clamped SwiGLU), Rope
  // `rope.inverse`, Route an optional b (experts chosen by the token id table, hash layers).
  Repeat,         // out = a repeated side by side (out cols / a cols copies: the residual streams)
  HyperWeights,   // out [T, (2+n)n] = pre, post, Sinkhorn mix from mixes a (weight: base, weight2: scale); [T, n]: pre only
  HyperCollapse,  // out [T, d] = sum_i pre_i a_i over the streams of a [T, n d]; b: HyperWeights
  HyperExpand,    // out [T, n d]: stream i = post_i a + sum_j mix_ji c_j; b: HyperWeights, c: the streams
  GroupedMatMul,  // out[t][g R + r] = W[g R + r] . a[t][g C, (g + 1) C), `group` groups
  CompressKv,     // completed blocks of kv a and score b (+ ape weight) pooled, normed (weight2), roped into
                  // cache2 (Compressed); then the step's rows kept in cache (State); `ratio`
  IndexerTopK,    // out [T, top_k] = compressed entries of cache picked by queries a (heads x head_dim), weights b
  // Attention also reads cache2 (Compressed, optional): its visible entries, or with b the
  // selected ones (IndexerTopK ids), join the raw window in one softmax.
};
const char* to_string(OpKind kind);

struct Op {
  OpKind kind = OpKind::Add;
  int out = -1, a = -1, b = -1, c = -1;  // tensor ids
  int weight = -1;               // weight id (matrix, norm weight, rope freq factors, sinks, scale)
  int weight2 = -1;              // a second weight (HyperWeights scale, CompressKv norm)
  int cache = -1;                // cache id
  int cache2 = -1;               // a second cache (compressed entries)
  int layer = -1;                // the block this op belongs to (-1: embedding or head), for timings
  // Parameters (used by the kinds that need them).
  float eps = 0.0f;              // RmsNorm
  int group = 0;                 // RmsNorm group width (0: the whole row)
  int offset = 0;                // SliceCols first column (of each group)
  float scalar = 0.0f;           // Scale factor, Softcap cap
  int heads = 0, head_dim = 0;   // Rope layout
  reference::RopeParams rope;    // Rope (freq_factors pointer unused: see `weight`)
  reference::AttentionParams attention;  // Attention (sinks pointer unused: see `weight`)
  Activation activation = Activation::Silu;  // Glu
  reference::RouteParams route;  // Route (bias pointer unused: see `weight`)
  int kept_heads = 0;            // KeepHeads
  float limit = 0.0f;            // Glu: SwiGLU clamp (0 = none)
  int ratio = 0;                 // CompressKv positions per entry
  int iterations = 0;            // HyperWeights Sinkhorn iterations (streams: heads; eps)
};

struct Graph {
  int max_tokens = 1;                  // the largest step it runs (1 for decode)
  std::vector<TensorDesc> tensors;
  std::vector<Op> ops;
  int logits = -1;                     // tensor with the last token's logits (one row of vocab)

  int add_tensor(std::string name, int64_t cols, bool per_token = true) {
    tensors.push_back({std::move(name), cols, per_token});
    return static_cast<int>(tensors.size()) - 1;
  }
};

// Everything a graph refers to besides its own tensors.
struct ModelResources {
  std::vector<WeightDesc> weights;
  std::vector<CacheDesc> caches;
};

// Checks every op's ids and widths against its tensors, weights and caches, so a program
// bug is a clear message instead of an out-of-bounds access in a backend.
void validate_graph(const Graph& graph, const ModelResources& resources);

}  // namespace archscope
