// The step-graph ops as Vulkan dispatches: what the Vulkan backend records for each Op of
// a Graph (runtime/vulkan_backend.cpp), one function per op kind, each naming its shader
// in shaders/. Everything here works on tensors already placed on the device; none of it
// knows about graphs or models.
//
// Every shader binds the step buffer at binding 0 and reads the token count, the first
// position and the token ids there (shaders/step.glsl), so a recording is valid for every
// step of up to max_tokens tokens. Per-token tensors have max_tokens rows; dispatches cover
// all of them and invocations past the step's count leave at once.
//
// Big tensors are never assumed to fit one binding: a weight is stored as pieces of whole
// rows and a KV cache as parts of whole slots, each at most maxStorageBufferRange, and an
// op on them is one dispatch per piece or part.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "archscope/ggml_types.h"
#include "archscope/vulkan_device.h"
#include "reference/ops.h"

namespace archscope::vulkan {

// Bytes a binding may read past its data: word reads at offsets that are not a multiple of
// 4 (16-bit data, MXFP4's 17-byte blocks) touch the next word (shaders/quant.glsl).
constexpr uint64_t kBindingSlack = 8;

// A weight on the device: `rows` rows of `cols` elements of `type`, `row_bytes` each,
// stored in pieces of whole rows, each bound on its own.
struct DeviceWeight {
  struct Piece {
    BufferRange range;  // rows * row_bytes + kBindingSlack bytes
    int64_t first_row = 0, rows = 0;
  };
  std::string name;
  GgmlType type = GgmlType::F32;
  int64_t cols = 0, rows = 0;  // rows of expert 0 (a 3D tensor stores experts x rows rows)
  int64_t experts = 1;
  uint64_t row_bytes = 0;
  std::vector<Piece> pieces;
};

// A KV cache on the device: `capacity` slots of keys and values (rows of kv_heads x
// head_dim elements of `type`, padded to whole words), stored in parts of whole slots,
// plus one int32 position per slot (-1: empty).
struct DeviceCache {
  struct Part {
    BufferRange keys, values;  // values == keys when K = V
    int64_t first_slot = 0, slots = 0;
  };
  GgmlType type = GgmlType::F16;
  int64_t capacity = 0;
  int kv_heads = 0, head_dim_k = 0, head_dim_v = 0;
  bool k_equals_v = false;
  int ratio = 1;  // positions per slot: a compressed cache's entries (DeepSeek V4) hold `ratio` each
  uint64_t key_stride = 0, value_stride = 0;  // bytes per slot
  std::vector<Part> parts;
  std::optional<BufferRange> positions;
};

// Bytes per slot of a cache row of `elements` of `type`, padded to whole words.
uint64_t cache_row_stride(GgmlType type, int64_t elements);

// An f32 activation of rows x cols (rows = max_tokens when per_token, else 1).
struct DeviceTensor {
  BufferRange range;
  int64_t cols = 0;
  bool per_token = true;
};

// How attention over one cache splits its slots (flash decoding): `chunk` slots per work
// group, `splits` groups per (token, head) over all parts; with more than one split the
// partial results take partial_bytes of scratch. With compressed entries as well (DeepSeek
// V4) their splits (over their slots, or over the `selected` ids of each token) follow the
// raw cache's, and the splits are always merged.
struct AttentionPlan {
  uint32_t chunk = 0, splits = 1;
  uint64_t partial_bytes = 0;
};
AttentionPlan plan_attention(const DeviceCache& cache, int q_heads, int max_tokens, uint64_t max_binding_bytes,
                             const DeviceCache* compressed = nullptr, int selected = 0);

// Pipelines by shader and specialization, made on first use.
class PipelineCache {
 public:
  explicit PipelineCache(const VulkanDevice& device) : device_(&device) {}
  // `constants`: the shader's specialization constants 0, 1, ... (a weight or cache type first).
  const ComputePipeline& get(const std::string& shader, uint32_t buffers, uint32_t push_bytes,
                             std::vector<uint32_t> constants = {});

 private:
  const VulkanDevice* device_;
  std::map<std::pair<std::string, std::vector<uint32_t>>, std::unique_ptr<ComputePipeline>> pipelines_;
};

// Which shader multiplies by a weight for more than 8 tokens: matmul_tiled.comp (shared
// memory tiles, for GPUs) or matmul_rows.comp (a row per invocation and subgroup shuffles,
// for CPU devices; it needs subgroup shuffles and the device's fixed subgroup size).
struct PrefillMatMul {
  bool rows = false;
  uint32_t subgroup_size = 0;  // for rows
};

// Records ops into one CommandList. `dummy` is bound where an op has no buffer to give.
class StepRecorder {
 public:
  StepRecorder(PipelineCache& pipelines, CommandList& list, BufferRange step, BufferRange dummy, int max_tokens,
               PrefillMatMul prefill = {});

  // out[t] = table row tokens[t].                                      shaders/get_rows.comp
  void get_rows(const DeviceWeight& table, const DeviceTensor& out);
  // out[t] = W x[t]: matrix-vector for graphs of up to 8 tokens (matmul_vec.comp), else
  // matmul_tiled.comp or matmul_rows.comp as PrefillMatMul says.
  void matmul(const DeviceWeight& w, const DeviceTensor& x, const DeviceTensor& out);
  // out[t][g R + r] = W[g R + r] . x[t][g C, (g + 1) C): one matmul per group of R rows.
  void grouped_matmul(const DeviceWeight& w, int groups, const DeviceTensor& x, const DeviceTensor& out);
  // Per group of columns; weight: `group` floats, or none.            shaders/rms_norm.comp
  void rms_norm(const DeviceTensor& x, std::optional<BufferRange> weight, const DeviceTensor& out, int64_t group,
                float eps);
  // x rotated in place (or back: params.inverse); factors: rotary_dims / 2 floats, or none.
  //                                                                       shaders/rope.comp
  void rope(const DeviceTensor& x, std::optional<BufferRange> factors, int heads, int head_dim,
            const reference::RopeParams& params);
  // keys (and values, unless K = V) into the cache slots (position p in slot p % capacity);
  // with ratio > 1 (compressed entries) only the rows of tokens that complete a block of
  // ratio, in slot p / ratio.                                          shaders/store_kv.comp
  void store_kv(const DeviceCache& cache, const DeviceTensor& keys, std::optional<DeviceTensor> values, int ratio = 1);
  // out = attention(q, cache); sinks: q_heads floats, or none; with `compressed`, its
  // entries (all visible ones, or the `selected` ids per token) join the softmax.
  //                                                           attention{,_combine}.comp
  void attention(const DeviceCache& cache, const DeviceTensor& q, std::optional<BufferRange> sinks,
                 const reference::AttentionParams& params, const AttentionPlan& plan,
                 std::optional<BufferRange> partials, const DeviceTensor& out, const DeviceCache* compressed = nullptr,
                 std::optional<DeviceTensor> selected = std::nullopt);

  // Element-wise ops (shaders/elementwise.comp), codes as there.
  enum class Elementwise : uint32_t {
    Add = 0,
    Mul = 1,
    Scale = 2,
    Softcap = 3,
    SwiGlu = 4,
    GeGlu = 5,
    Softplus = 6,
    KeepHeads = 7,
    SwiGluClamped = 8  // scalar: the limit
  };
  // How b is read: like a, one row broadcast over a's rows, one scalar, or one value per
  // group of columns.
  enum class Broadcast : uint32_t { None = 0, Row = 1, Scalar = 2, Group = 3 };
  void elementwise(Elementwise op, const DeviceTensor& a, std::optional<BufferRange> b, Broadcast broadcast,
                   float scalar, const DeviceTensor& out);
  // out = softplus(a).                                                shaders/elementwise.comp
  void softplus(const DeviceTensor& a, const DeviceTensor& out);
  // out = a * b, one value of b per group of a.cols / b.cols columns.  shaders/elementwise.comp
  void mul_grouped(const DeviceTensor& a, const DeviceTensor& b, const DeviceTensor& out);
  // out = a with dropped heads zeroed (reference::keep_heads).          shaders/elementwise.comp
  void keep_heads(const DeviceTensor& a, const DeviceTensor& out, int head_cols, int period, int kept);
  // out = top-k ids then weights per token; bias: experts floats, or none; chosen: the
  // experts given per token (top_k ids as floats), only weighed.         shaders/route.comp
  void route(const DeviceTensor& logits, std::optional<BufferRange> bias, const reference::RouteParams& params,
             std::optional<DeviceTensor> chosen, const DeviceTensor& out);
  // out[t][j] = W[route[t][j]] x (x = a[t], or a[t][j]): only chosen experts' rows are read.
  //                                                                  shaders/matmul_moe.comp
  void moe_matmul(const DeviceWeight& w, const DeviceTensor& a, const DeviceTensor& route, const DeviceTensor& out);
  // out[t] = sum_j weight[t][j] a[t][j].                                 shaders/moe_sum.comp
  void moe_sum(const DeviceTensor& a, const DeviceTensor& route, const DeviceTensor& out);
  // out = softmax of each row of a; out may be a.                        shaders/softmax.comp
  void softmax(const DeviceTensor& a, const DeviceTensor& out);
  // out (one row) = a's row of the step's last token.                  shaders/last_row.comp
  void last_row(const DeviceTensor& a, const DeviceTensor& out);
  // out[t] = a[t][offset, offset + width) of each group of `group`.   shaders/slice_cols.comp
  void slice_cols(const DeviceTensor& a, int64_t group, int64_t offset, const DeviceTensor& out);
  // Route weights times a per-expert scale (`experts` floats).       shaders/expert_scale.comp
  void expert_scale(const DeviceTensor& route, BufferRange scales, int64_t experts, const DeviceTensor& out);

  // DeepSeek V4 (reference/ops.h).
  // out = a repeated side by side (the residual streams).               shaders/hyper_mix.comp
  void repeat(const DeviceTensor& a, const DeviceTensor& out);
  // mHC site weights from mixes; base: one float per mix, scale: 3 (1).  shaders/hyper_weights.comp
  void hyper_weights(const DeviceTensor& mixes, BufferRange base, BufferRange scale, int streams, int iterations,
                     float eps, const DeviceTensor& out);
  // out = sum_i pre_i streams_i.                                         shaders/hyper_mix.comp
  void hyper_collapse(const DeviceTensor& streams, const DeviceTensor& weights, const DeviceTensor& out);
  // out stream i = post_i f + sum_j mix_ji streams_j.                    shaders/hyper_mix.comp
  void hyper_expand(const DeviceTensor& f, const DeviceTensor& weights, const DeviceTensor& streams,
                    const DeviceTensor& out);
  // Completed blocks of kv / score pooled (ape, norm: f32 vectors), normed and roped into
  // `entries` (through `scratch`, max_tokens x width floats), then the step's rows kept in
  // the state ring.                                        shaders/compress_kv.comp, store_kv.comp
  void compress_kv(const DeviceTensor& kv, const DeviceTensor& score, BufferRange ape, BufferRange norm,
                   const DeviceCache& state, const DeviceCache& entries, float eps, const reference::RopeParams& rope,
                   BufferRange scratch);
  // out [T, top_k] = ids of the entries of `keys` with the highest indexer scores (scratch:
  // max_tokens x keys.capacity words).                              shaders/indexer_top_k.comp
  void indexer_top_k(const DeviceTensor& q, const DeviceTensor& weights, const DeviceCache& keys, int heads, int dim,
                     BufferRange scratch, const DeviceTensor& out);

 private:
  PipelineCache& pipelines_;
  CommandList& list_;
  BufferRange step_, dummy_;
  int max_tokens_;
  PrefillMatMul prefill_;

  struct Grouping {
    uint32_t group = 1, period = 1, kept = 1;
  };
  // Rows [first, first + count) of w times x[t][x_offset, x_offset + w.cols) into the same
  // columns of out.
  void matmul_rows(const DeviceWeight& w, const DeviceTensor& x, const DeviceTensor& out, int64_t first, int64_t count,
                   int64_t x_offset);
  void hyper_mix(uint32_t mode, const DeviceTensor& a, std::optional<DeviceTensor> weights,
                 std::optional<DeviceTensor> streams, uint32_t d, uint32_t n, const DeviceTensor& out);
  void elementwise_grouped(Elementwise op, const DeviceTensor& a, std::optional<BufferRange> b, Broadcast broadcast,
                           float scalar, Grouping grouping, const DeviceTensor& out);
  uint32_t rows(const DeviceTensor& t) const { return t.per_token ? static_cast<uint32_t>(max_tokens_) : 1u; }
};

}  // namespace archscope::vulkan
