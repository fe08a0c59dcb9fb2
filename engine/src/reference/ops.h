// The reference implementation of every op: plain C++ on f32 activations, one function per
// op, written to be obviously right rather than fast. The CPU backend runs these, and every
// Vulkan shader is tested against them. Semantics follow llama.cpp's ggml ops.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "archscope/ggml_types.h"

namespace archscope::reference {

// A weight matrix as stored in a GGUF file: `rows` rows of `cols` elements of `type`
// (a GGUF tensor of shape {cols, rows}); row r starts at data + r * row_bytes.
// A 3D expert tensor {cols, rows, experts} is one WeightView per expert, offset by
// expert * rows * row_bytes.
struct WeightView {
  GgmlType type = GgmlType::F32;
  const uint8_t* data = nullptr;
  int64_t cols = 0;
  int64_t rows = 0;
  uint64_t row_bytes = 0;
};

// IEEE binary16 and bfloat16 <-> f32, exact, as ggml's reference conversions: f32 -> 16
// bits rounds to nearest, ties to even (f16 overflows to inf, underflows through the
// subnormals to zero); NaN stays NaN (f16: sign | 0x7E00; bf16: the top bits, made quiet).
float fp16_to_f32(uint16_t h);
uint16_t f32_to_fp16(float f);
float bf16_to_f32(uint16_t h);
uint16_t f32_to_bf16(float f);

// Types the engine can compute with (weights and caches): the float types and ggml's
// block types listed in quants.cpp, plus I32 index tables (gathered only).
bool is_supported_weight_type(GgmlType type);
// Those types (without I32), and their names for messages: "f32, f16, bf16, q8_0, ...".
std::vector<GgmlType> supported_weight_types();
std::string supported_weight_type_names();
// n must be a multiple of the type's block size.
void dequantize_row(GgmlType type, const uint8_t* src, float* dst, int64_t n);
// Inverse of dequantize_row with ggml's reference rounding (quantize_row_*_ref).
void quantize_row(GgmlType type, const float* src, uint8_t* dst, int64_t n);

// out[t][c] = row ids[t] of the table, dequantized.                  out: ids.size() x cols
void get_rows(const WeightView& table, std::span<const int32_t> ids, float* out);
// out[t][r] = sum_c W[r][c] * x[t][c].                 x: tokens x cols, out: tokens x rows
void matmul(const WeightView& w, const float* x, float* out, int64_t tokens);

// Per row of n: out = x / sqrt(mean(x^2) + eps) * w  (w may be null: no weight).
void rms_norm(const float* x, const float* w, float* out, int64_t rows, int64_t n, float eps);

// Rotary position embedding, as ggml_rope_ext.
struct RopeParams {
  int rotary_dims = 0;          // dims that rotate, counted from rotary_offset
  int rotary_offset = 0;        // first rotating dim (DeepSeek V4 rotates the last dims)
  bool neox = true;             // pairs (i, i + rotary_dims/2); false: adjacent pairs (2i, 2i+1)
  float theta = 10000.0f;       // frequency base
  float freq_scale = 1.0f;      // 1 / linear or YaRN factor
  float ext_factor = 0.0f;      // YaRN ramp mix (llama.cpp: 1 when YaRN is on)
  float attn_factor = 1.0f;     // magnitude scale on cos/sin
  float beta_fast = 32.0f, beta_slow = 1.0f;
  int original_context = 0;     // YaRN n_ctx_orig
  const float* freq_factors = nullptr;  // rotary_dims / 2 divisors of the frequencies, or null
  bool inverse = false;         // rotate back (ggml_rope_ext_back): DeepSeek V4 de-ropes its attention output
};
// x: tokens x heads x head_dim, rotated in place at positions[t].
void rope(float* x, int64_t tokens, int64_t heads, int64_t head_dim, const int32_t* positions, const RopeParams& p);

struct AttentionParams {
  int q_heads = 0, kv_heads = 0;   // query head h reads KV head h / (q_heads / kv_heads)
  int head_dim_k = 0, head_dim_v = 0;
  float scale = 1.0f;              // multiplies q.k (usually 1 / sqrt(head_dim_k))
  float softcap = 0.0f;            // scores -> softcap * tanh(scores / softcap); 0 = none
  int window = 0;                  // key visible when query_pos - key_pos < window; 0 = no window
  const float* sinks = nullptr;    // one logit per query head joining the softmax, or null
};
// Causal attention over cached entries. q: tokens x q_heads x head_dim_k; keys:
// n_kv x kv_heads x head_dim_k; values: n_kv x kv_heads x head_dim_v; a key is visible to a
// query when key_pos >= 0, key_pos <= query_pos and the window allows it.
// out: tokens x q_heads x head_dim_v (zeros when nothing is visible).
void attention(const float* q, const int32_t* query_positions, int64_t tokens, const float* keys,
               const float* values, const int32_t* key_positions, int64_t n_kv, const AttentionParams& p,
               float* out);

float gelu_tanh(float x);  // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
float silu(float x);
void swiglu(const float* gate, const float* up, float* out, int64_t n);  // silu(gate) * up
// silu(min(gate, limit)) * clamp(up, -limit, limit) (ggml_swiglu_clamp, DeepSeek V4 experts)
void swiglu_clamped(const float* gate, const float* up, float* out, int64_t n, float limit);
void geglu(const float* gate, const float* up, float* out, int64_t n);   // gelu_tanh(gate) * up
void softmax_rows(float* x, int64_t rows, int64_t n);
void add(const float* a, const float* b, float* out, int64_t n);
void mul(const float* a, const float* b, float* out, int64_t n);
void scale(float* x, float s, int64_t n);
// out[r] = a[r][offset, offset + width) of every group of `group` columns of a row of a_cols,
// side by side: out rows are cols = (a_cols / group) x width wide.
void slice_cols(const float* a, int64_t rows, int64_t a_cols, int64_t group, int64_t offset, int64_t cols, float* out);
// Route rows (top_k expert ids as floats, then their weights): out = route with weight j
// times scales[id j]; ids outside [0, experts) give weight 0. out may be route.
void expert_scale(const float* route, float* out, int64_t tokens, int64_t top_k, const float* scales, int64_t experts);
void softcap(float* x, float cap, int64_t n);  // cap * tanh(x / cap)


// ---- Mixture of experts and gates (llama.cpp build_moe_ffn, ggml softplus) ----

float softplus(float x);  // log(1 + exp(x)), x itself above 20 (as ggml)
void softplus(const float* x, float* out, int64_t n);
// out = a * b where b has one value per group of a.cols / b_cols columns (a per-head gate
// over heads of `group` columns): out[r][c] = a[r][c] * b[r][c / group].
void mul_grouped(const float* a, const float* b, float* out, int64_t rows, int64_t cols, int64_t group);

// Query heads dropped as a what-if: of every `period` heads of `head_cols` columns (the
// query heads of one KV head), the first `kept` keep their values, the others become 0.
void keep_heads(const float* a, float* out, int64_t n, int64_t head_cols, int period, int kept);

// How router logits become expert scores (llama.cpp expert_gating_func).
enum class RouterScoreFn { Softmax = 0, Sigmoid = 1, SqrtSoftplus = 2 };
struct RouteParams {
  RouterScoreFn score = RouterScoreFn::Softmax;
  int experts = 0;           // router logits per token
  int top_k = 0;             // experts chosen per token
  bool normalize = false;    // chosen weights divided by their sum (clamped to >= 6.1e-5, as llama.cpp)
  float scale = 1.0f;        // then multiplied by this (routed scaling factor)
  const float* bias = nullptr;  // per-expert selection bias (exp_probs_b): selection only, or null
  const float* chosen = nullptr; // tokens x top_k expert ids chosen beforehand (DeepSeek V4 hash routing), or null
};
// Per token: scores s = score(logits); the top_k experts by s + bias (ties: lower id), or
// the `chosen` ones;
// their weights are s (unbiased), normalised and scaled. out: tokens x (2 top_k): the
// chosen ids (as floats, best first) then their weights.
void route(const float* logits, float* out, int64_t tokens, const RouteParams& p);
// Expert matmul over the chosen experts only: for token t and choice j (expert
// e = route[t][j]), out[t][j] = W_e x, where x is a[t] (a: tokens x cols) when `shared_input`,
// else a[t][j] (a: tokens x (top_k cols)). out: tokens x (top_k rows). experts[e] views W_e.
void moe_matmul(const WeightView* experts, int64_t n_experts, const float* a, bool shared_input, const float* route,
                int top_k, float* out, int64_t tokens);
// out[t] = sum_j weight[t][j] * a[t][j]: the chosen experts' outputs mixed by their
// weights. a: tokens x (top_k cols), out: tokens x cols.
void moe_sum(const float* a, const float* route, int top_k, float* out, int64_t tokens, int64_t cols);


// ---- DeepSeek V4: manifold-constrained hyper-connections (llama.cpp src/models/deepseek4.cpp) ----
// The residual is n streams of d side by side ([T, n d]). Each site turns a token's mixes
// (hc_fn applied to the RMS-normalised streams) into weights:
//   pre  = sigmoid(mixes[0:n] scale[0] + base[0:n]) + eps            (streams -> site input)
//   post = 2 sigmoid(mixes[n:2n] scale[1] + base[n:2n])              (site output -> streams)
//   mix  = Sinkhorn(mixes[2n:] scale[2] + base[2n:]): entry j n + i is what output stream i
//          takes of stream j; softmax over i, + eps, divide by the sum over j (+ eps), then
//          iterations - 1 times: divide by the sum over i (+ eps), by the sum over j (+ eps).
// With mixes of n values (the output head) only pre is made; iterations 0 makes mix the
// identity (a what-if). out: tokens x mix_count.
void hyper_weights(const float* mixes, float* out, int64_t tokens, int64_t mix_count, int streams, const float* scale,
                   const float* base, int iterations, float eps);
// out[t] = sum_i pre[t][i] x[t][i] (x: tokens x streams d; weights: tokens x weight_cols, pre first).
void hyper_collapse(const float* x, const float* weights, int64_t weight_cols, float* out, int64_t tokens,
                    int streams, int64_t d);
// out[t][i] = post[t][i] f[t] + sum_j mix[t][j n + i] x[t][j] (weights from hyper_weights).
void hyper_expand(const float* f, const float* weights, const float* x, float* out, int64_t tokens, int streams,
                  int64_t d);

// ---- DeepSeek V4: compressed attention ----
// One compressed entry from the kv and score rows of its source positions: per channel
// c < width, softmax over the rows of score + ape (ape row = position % ratio), weighted sum
// of kv; then RMSNorm (norm, eps) and RoPE at the block's first position. `rows` is ratio
// (HCA) or 2 ratio (CSA, overlapping: the previous block's rows read channels [0, width),
// the block's own rows [width, 2 width)). kv and score rows are rows x row_width, row_width
// = width or 2 width; a missing previous block has kv 0 and score -inf.
struct CompressParams {
  int ratio = 0, width = 0;
  bool overlap = false;
  float eps = 1e-6f;
  RopeParams rope;
};
void compress_block(const float* kv, const float* score, const float* ape, const float* norm, int32_t block_start,
                    const CompressParams& p, float* out);
// Lightning indexer: per token, the ids of the top_k visible compressed entries by
// sum_h w[h] relu(q_h . k_j) (q: tokens x heads x dim, w: tokens x heads, keys: n x dim;
// visible: 0 <= key_pos <= query_pos); ties go to the lower id; -1 fills the rest.
void indexer_top_k(const float* q, const float* w, const int32_t* query_positions, int64_t tokens, int heads,
                   int dim, const float* keys, const int32_t* key_positions, int64_t n_keys, int top_k, float* out);
// Attention over a raw (windowed) cache and compressed entries at once, one softmax: the
// compressed entry j is visible to a query when 0 <= key_pos[j] <= query_pos (its last
// source position) and, with `selected` (tokens x top_k ids, -1 = none), when chosen.
// Keys are values (K = V, kv_heads 1 in DeepSeek V4's use, but any GQA layout works).
void attention_with_compressed(const float* q, const int32_t* query_positions, int64_t tokens, const float* raw,
                               const int32_t* raw_positions, int64_t n_raw, const float* compressed,
                               const int32_t* compressed_positions, int64_t n_compressed, const float* selected,
                               int top_k, const AttentionParams& p, float* out);
// out[t][g R + r] = W[g R + r] . a[t][g C, (g + 1) C) for the G = W.rows / R groups
// (C = W.cols, a: tokens x G C): DeepSeek V4's grouped output projection.
void grouped_matmul(const WeightView& w, int groups, const float* a, float* out, int64_t tokens);

}  // namespace archscope::reference
