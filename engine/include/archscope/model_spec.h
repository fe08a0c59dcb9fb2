// ModelSpec: a model described once. Everything else (cache plan, cost model,
// layer programs, GUI views) is derived from it and never re-derives facts.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace archscope {

enum class AttentionKind {
  Global,   // attends to the whole context
  Sliding,  // attends to the last `window` positions
  Csa,      // DeepSeek V4 compressed sparse attention: window + top-k of 4x-compressed entries
  Hca,      // DeepSeek V4 heavily compressed attention: window + all 128x-compressed entries
  Cca,      // ZAYA1 compressed convolutional attention (global reach, conv-mixed q/k)
};
const char* to_string(AttentionKind kind);

enum class RopeScaling { None, Linear, Yarn, Llama3 };
const char* to_string(RopeScaling scaling);

struct RopeSpec {
  double theta = 10000.0;
  int rotary_dims = 0;         // dims that rotate (<= head dim); 0 = no RoPE
  int rotary_offset = 0;       // first rotating dim (DeepSeek V4: head dim - rotary_dims, the last dims rotate)
  bool neox = true;            // split-halves pairing (NeoX) vs interleaved pairs
  bool freq_factors = false;   // per-pair frequency factors tensor (Gemma 4 proportional RoPE)
  RopeScaling scaling = RopeScaling::None;
  double factor = 1.0;
  int original_context = 0;    // YaRN / Llama3 original training context
  double beta_fast = 32.0, beta_slow = 1.0;  // YaRN ramp
  double attn_factor = 0.0;    // YaRN scale on cos/sin (HF attention_factor); 0 = default 0.1 * ln(factor) + 1
  double low_freq_factor = 1.0, high_freq_factor = 4.0;  // Llama3
};

enum class FfnKind { Dense, Moe };
// How router logits become expert scores (llama.cpp expert_gating_func: 1 softmax, 2 sigmoid, 4 sqrt-softplus).
enum class RouterScore { Softmax, Sigmoid, SqrtSoftplus };
enum class Activation { Silu, GeluTanh, Gelu };
const char* to_string(Activation act);

struct FfnSpec {
  FfnKind kind = FfnKind::Dense;
  Activation activation = Activation::Silu;
  int dense_width = 0;      // gated MLP intermediate width (dense layer, or the dense MLP beside experts)
  int experts = 0;          // routed experts
  int active_experts = 0;   // experts selected per token
  int expert_width = 0;     // intermediate width of one routed expert
  int shared_experts = 0;   // always-on experts
  int shared_width = 0;     // intermediate width of one shared expert
  bool skip_expert = false; // ZAYA1: an extra "skip" choice that contributes nothing
  bool hash_routed = false; // DeepSeek V4 early layers: experts looked up by token id (tid2eid), not chosen by the router
  RouterScore router_score = RouterScore::Softmax;
  bool expert_bias = false;       // per-expert bias added to the scores for selection only (exp_probs_b)
  bool normalize_weights = false; // selected experts' weights renormalised to sum 1
  double routed_scale = 1.0;      // multiplies the routed experts' weighted sum (Laguna moe_routed_scaling_factor)
  int router_width = 0;           // ZAYA1: width of the router MLP after its down-projection (router_hidden_size); 0 = linear router
  // DeepSeek V4 clamped SwiGLU (llama.cpp swiglu_clamp_exp / _shexp): silu(min(gate, limit)) *
  // clamp(up, -limit, limit) in the routed / shared experts; 0 = no clamp.
  double swiglu_limit = 0.0, shared_swiglu_limit = 0.0;
};

struct LayerSpec {
  int index = 0;
  AttentionKind attention = AttentionKind::Global;
  int window = 0;            // sliding window in tokens (Sliding; CSA/HCA raw window); 0 = none
  int q_heads = 0;
  int kv_heads = 0;
  int head_dim_k = 0;        // query/key head dim
  int head_dim_v = 0;        // value head dim
  bool k_equals_v = false;   // one tensor serves as keys and values (cached once)
  // Values are projected by the key weights (Gemma 4 layers without attn_v, attention_k_eq_v):
  // V = RMSNorm_noweight(W_k h), K = RoPE(k_norm(W_k h)); the two differ, so the cache holds both.
  bool v_from_k_proj = false;
  RopeSpec rope;
  int kv_source = 0;         // layer whose cache this layer reads; == index when it owns one
  int compress_ratio = 0;    // tokens per compressed entry (CSA 4, HCA 128); 0 = none
  int indexer_heads = 0, indexer_dim = 0, indexer_top_k = 0;  // CSA lightning indexer
  // Fixed-size recurrent state kept per sequence, in elements, whatever the context
  // (ZAYA1 conv state, DeepSeek V4 compressor buffers of the block being filled).
  uint64_t state_elements = 0;
  int qk_conv_kernel = 0, qk_conv_kernel2 = 0;  // ZAYA1 CCA: depthwise then grouped causal conv over q/k channels (cca_time0/1); 0 = none
  int ple_width = 0;         // per-layer-embedding slice width fed to this layer; 0 = none
  int hc_width = 0;          // hyper-connection streams (mHC); 0 = plain residual
  bool qk_norm = false;
  bool attn_output_gate = false;
  bool attn_gate_per_head = false;  // output gate has one value per head (Laguna XS.2), not one per element
  // What-if (toggles): query heads whose output is used, the same number per KV head (the
  // first of each KV head's group); the weights keep all q_heads. 0 = all.
  int kept_q_heads = 0;
  FfnSpec ffn;

  bool owns_cache() const { return kv_source == index; }
  // The query heads whose attention is used: the layer's attention budget.
  int active_q_heads() const { return kept_q_heads > 0 ? kept_q_heads : q_heads; }
};

// What a weight tensor is for; weight bytes are reported per component.
enum class WeightComponent {
  TokenEmbedding, PerLayerEmbedding, Attention, Ffn, RoutedExperts, SharedExperts, Router,
  Norms, HyperConnection, Output, Other,
};
const char* to_string(WeightComponent component);
// Classifies a tensor by its llama.cpp name ("blk.3.ffn_up_exps.weight" -> RoutedExperts).
WeightComponent classify_tensor(const std::string& name);

// One weight tensor: read from a file, or expected by the architecture (model cards).
struct TensorSpec {
  std::string name;              // llama.cpp name: "blk.0.attn_q.weight"
  std::vector<uint64_t> shape;   // ggml order: shape[0] is the contiguous (input) dimension
  uint32_t ggml_type = 0;        // archscope::GgmlType value
  uint64_t bytes = 0;
  int layer = -1;                // block index, -1 for tensors outside the blocks
  WeightComponent component = WeightComponent::Other;
};

// Where a table that is only gathered (one row per token, never multiplied) is kept when
// the model runs: Auto puts it in host memory only when the model would not fit the
// device otherwise; Host always (only the gathered rows travel to the device each step).
enum class TablePlacement { Auto, Device, Host };

// Where the description came from.
enum class SourceKind { Gguf, HfFolder, Card };

struct ModelSpec {
  std::string name;           // human name ("Gemma 4 E2B")
  std::string architecture;   // llama.cpp arch name: llama, qwen3, gemma4, laguna, deepseek4, zaya
  std::string source_path;
  SourceKind source = SourceKind::Card;

  int hidden = 0;
  int vocab = 0;
  int context_length = 0;     // trained maximum
  double rms_eps = 1e-6;
  bool tied_embeddings = false;
  double embedding_scale = 1.0;     // multiplies input embeddings (Gemma: sqrt(hidden))
  double final_logit_softcap = 0.0; // 0 = none
  int ple_width = 0;                // per-layer-embedding width per layer (Gemma 4: 256)
  TablePlacement ple_table = TablePlacement::Auto;  // where the per-layer embedding table runs from
  int hc_width = 0;                 // mHC streams (DeepSeek V4: 4)
  int hc_sinkhorn_iters = 0;
  double hc_eps = 1e-6;             // mHC epsilon: added to the pre weights and inside Sinkhorn
  bool hc_identity_mix = false;     // what-if (toggle hc_mix): each stream keeps itself, no residual mixing
  int q_lora_rank = 0;              // DeepSeek V4 low-rank queries
  int o_groups = 0;                 // DeepSeek V4 grouped output projection
  int o_lora_rank = 0;

  std::vector<LayerSpec> layers;
  // Real tensors (GGUF, safetensors) or, for a card, the tensors the architecture implies.
  std::vector<TensorSpec> tensors;
  bool weights_present = false;     // tensors hold real data that can be run
  std::string weight_type;          // dominant weight type ("bf16", "q4_K", "mixed")

  int layer_count() const { return static_cast<int>(layers.size()); }
};

}  // namespace archscope
