// The reference implementation of every op: plain C++ on f32 activations, one function per
// op, written to be obviously right rather than fast. The CPU backend runs these, and every
// Vulkan shader is tested against them. Semantics follow llama.cpp's ggml ops.
#pragma once

#include <cstdint>
#include <span>

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

// Types the engine can compute with (weights and caches): F32, F16, BF16, Q8_0, Q4_0,
// Q4_K, Q5_K, Q6_K.
bool is_supported_weight_type(GgmlType type);
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
void geglu(const float* gate, const float* up, float* out, int64_t n);   // gelu_tanh(gate) * up
void softmax_rows(float* x, int64_t rows, int64_t n);
void add(const float* a, const float* b, float* out, int64_t n);
void mul(const float* a, const float* b, float* out, int64_t n);
void scale(float* x, float s, int64_t n);
// out[r] = a[r][offset, offset + cols) for rows of a_cols.
void slice_cols(const float* a, int64_t rows, int64_t a_cols, int64_t offset, int64_t cols, float* out);
void softcap(float* x, float cap, int64_t n);  // cap * tanh(x / cap)

}  // namespace archscope::reference
