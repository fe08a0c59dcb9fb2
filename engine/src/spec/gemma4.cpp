// Gemma 4 (E2B, E4B, 26B-A4B, 31B): sliding and global layers with their own head dims,
// KV heads and RoPE; KV sharing (the last layers read an earlier layer's cache); per-layer
// embeddings (PLE); sandwich norms; GELU-tanh MLP, beside 128 routed experts on 26B-A4B.
//
// References: llama.cpp src/models/gemma4.cpp (keys, tensors, graph), src/llama-model.cpp
// (layer_reuse_cb), conversion/gemma.py (Gemma4Model: what the converter writes);
// transformers models/gemma4 (configuration_gemma4.py, modular_gemma4.py).
#include <cmath>
#include <cstring>
#include <string>

#include "archscope/error.h"
#include "spec/llama.h"

namespace archscope {

namespace {

const char* kSliding = "sliding_attention";
const char* kFull = "full_attention";

std::string kind_name(AttentionKind kind) { return kind == AttentionKind::Sliding ? "sliding" : "global"; }

// KV sharing, transformers' rule: a shared layer reads the last non-shared layer of its own
// type (Gemma4TextAttention.store_full_length_kv / shared_kv_states[layer_type]).
template <class Fail>
void share_by_type(ModelSpec& spec, int shared, Fail fail) {
  const int n = spec.layer_count();
  const int first_shared = n - shared;
  for (int il = first_shared; il < n; ++il) {
    LayerSpec& l = spec.layers[il];
    int source = -1;
    for (int j = first_shared - 1; j >= 0 && source < 0; --j) {
      if (spec.layers[j].attention == l.attention) source = j;
    }
    if (source < 0) {
      fail("layer " + std::to_string(il) + " shares KV but no earlier non-shared " + kind_name(l.attention) +
           " layer owns a cache");
    }
    l.kv_source = source;
  }
}

// KV sharing, llama.cpp's rule (llama-model.cpp layer_reuse_cb for gemma3n/gemma4): with
// n = layers that own a cache, shared sliding layers read layer n - 2, shared global ones
// layer n - 1. llama.cpp aborts if that layer is of the other type, so such a file is refused.
void share_like_llama_cpp(ModelSpec& spec, int shared, const GgufMetadataReader& meta) {
  const int n_kv = spec.layer_count() - shared;
  if (shared > 0 && n_kv < 2) {
    meta.fail(meta.key("attention.shared_kv_layers") + " (" + std::to_string(shared) + ") leaves " +
              std::to_string(n_kv) + " layer(s) with a cache; llama.cpp needs at least 2");
  }
  for (int il = n_kv; il < spec.layer_count(); ++il) {
    LayerSpec& l = spec.layers[il];
    const int source = n_kv - (l.attention == AttentionKind::Sliding ? 2 : 1);
    if (spec.layers[source].attention != l.attention) {
      meta.fail("layer " + std::to_string(il) + " (" + kind_name(l.attention) + ") shares the KV of layer " +
                std::to_string(source) + ", which is " + kind_name(spec.layers[source].attention) +
                " (llama.cpp reads layer n-2 for sliding and n-1 for global shared layers)");
    }
    l.kv_source = source;
  }
}

// Facts every Gemma 4 layer shares, whatever the source.
void add_gemma4_traits(ModelSpec& spec) {
  spec.embedding_scale = std::sqrt(static_cast<double>(spec.hidden));
  for (LayerSpec& l : spec.layers) {
    l.qk_norm = true;            // q_norm, k_norm with weights; v_norm without
    l.attn_output_gate = false;
    l.rope.neox = true;          // llama.cpp LLAMA_ROPE_TYPE_NEOX for gemma4
    l.ple_width = spec.ple_width;
    l.ffn.activation = Activation::GeluTanh;
  }
}

// ---- GGUF ----

// gemma4.attention.sliding_window_pattern: one bool per layer (what the converter writes),
// or a single bool for every layer (llama.cpp get_key_or_arr).
std::vector<bool> read_swa_pattern(const GgufMetadataReader& meta, int n_layers) {
  const std::string key = meta.key("attention.sliding_window_pattern");
  const GgufValue* v = meta.file().find(key);
  if (!v) meta.fail("missing metadata key " + key);
  auto as_flag = [&](const GgufValue& item) -> bool {
    try {
      if (item.type == GgufValueType::Bool) return item.as_bool(key);
      return item.as_int(key) != 0;
    } catch (const Error& e) {
      meta.fail(e.what());
    }
  };
  if (!v->is_array()) {
    if (v->type != GgufValueType::Bool) meta.fail(key + ": expected an array of bools, found " + to_string(v->type));
    return std::vector<bool>(n_layers, as_flag(*v));
  }
  if (v->items.size() != static_cast<size_t>(n_layers)) {
    meta.fail(key + " has " + std::to_string(v->items.size()) + " entries but the model has " +
              std::to_string(n_layers) + " layers");
  }
  std::vector<bool> pattern;
  for (const GgufValue& item : v->items) pattern.push_back(as_flag(item));
  return pattern;
}

// Proportional RoPE is stored as rope_freqs (head_dim / 2 factors): 1.0 for the pairs that
// rotate, 1e30 (frequency ~0) for the rest. Returns the number of dims that really rotate.
int rotating_dims_from_rope_freqs(const GgufMetadataReader& meta, const GgufTensor& t, int rope_dims) {
  if (t.type != GgmlType::F32) meta.fail("rope_freqs.weight: expected F32 factors");
  if (t.shape.size() != 1 || t.shape[0] != static_cast<uint64_t>(rope_dims / 2)) {
    meta.fail("rope_freqs.weight has " + std::to_string(t.elements()) + " factors, expected " +
              std::to_string(rope_dims / 2) + " (" + meta.key("rope.dimension_count") + " / 2)");
  }
  if (!t.data) meta.fail("rope_freqs.weight has no data");
  int rotating = 0;
  for (uint64_t i = 0; i < t.shape[0]; ++i) {
    float f;
    std::memcpy(&f, t.data + i * sizeof(float), sizeof f);
    if (!(f > 0.0f)) meta.fail("rope_freqs.weight[" + std::to_string(i) + "] is not a positive factor");
    if (f < 1e10f) ++rotating;
  }
  return 2 * rotating;
}

void gemma4_from_gguf(const GgufMetadataReader& meta, ModelSpec& spec) {
  const CommonHparams hp = read_common_hparams(meta);
  apply_common_hparams(hp, spec);
  const int n = hp.n_layers;
  const GgufFile& file = meta.file();

  // Keys llama.cpp's gemma4 loader requires (src/models/gemma4.cpp load_arch_hparams).
  meta.real("attention.layer_norm_rms_epsilon");
  const int64_t window = meta.integer("attention.sliding_window");
  const int64_t ple = meta.integer("embedding_length_per_layer_input");
  const int64_t head_k_swa = meta.integer("attention.key_length_swa");
  const int64_t head_v_swa = meta.integer("attention.value_length_swa");
  const std::vector<bool> swa = read_swa_pattern(meta, n);
  const int64_t shared = meta.integer_or("attention.shared_kv_layers", 0);
  if (window <= 0 || window > (int64_t{1} << 30)) meta.fail(meta.key("attention.sliding_window") + " is out of range");
  if (ple < 0 || ple > 65536) meta.fail(meta.key("embedding_length_per_layer_input") + " is out of range");
  if (shared < 0 || shared >= n) {
    meta.fail(meta.key("attention.shared_kv_layers") + " (" + std::to_string(shared) + ") must be below the " +
              std::to_string(n) + " layers");
  }
  if (hp.head_dim_k != hp.head_dim_v || head_k_swa != head_v_swa) {
    meta.fail("Gemma 4 needs key_length == value_length and key_length_swa == value_length_swa");
  }
  if (head_k_swa <= 0 || head_k_swa > 65536) meta.fail(meta.key("attention.key_length_swa") + " is out of range");

  // Global layers: rope_freqs turns the full-head RoPE into proportional (partial) RoPE.
  int global_rotary = hp.rope_dims;
  const GgufTensor* rope_freqs = file.find_tensor("rope_freqs.weight");
  if (rope_freqs) global_rotary = rotating_dims_from_rope_freqs(meta, *rope_freqs, hp.rope_dims);
  // llama.cpp's rope_freq_base_train_swa defaults to 10000 when the key is absent.
  const double theta_swa = meta.real_or("rope.freq_base_swa", 10000.0);

  spec.ple_width = static_cast<int>(ple);
  spec.final_logit_softcap = meta.real_or("final_logit_softcapping", 30.0);  // llama.cpp default 30
  spec.tied_embeddings = file.find_tensor("output.weight") == nullptr;
  const bool has_tensors = !file.tensors().empty();
  if (hp.experts > 0 && hp.expert_width <= 0) meta.fail("missing metadata key " + meta.key("expert_feed_forward_length"));

  for (int il = 0; il < n; ++il) {
    LayerSpec& l = spec.layers[il];
    const std::string blk = "blk." + std::to_string(il) + ".";
    if (swa[il]) {
      l.attention = AttentionKind::Sliding;
      l.window = static_cast<int>(window);
      l.head_dim_k = l.head_dim_v = static_cast<int>(head_k_swa);
      l.rope = RopeSpec{};  // llama.cpp: freq_base_swa, freq_scale_swa = 1, no scaling
      l.rope.theta = theta_swa;
      l.rope.rotary_dims = hp.rope_dims_swa;
    } else {
      l.attention = AttentionKind::Global;
      l.rope.rotary_dims = global_rotary;
      l.rope.freq_factors = rope_freqs != nullptr;
    }
    // attention_k_eq_v: the converter writes no attn_v; llama.cpp then projects V with attn_k
    // (Vcur = Kcur before k_norm and RoPE) and normalises it without weight, so K != V and both
    // are cached; only the projection weight is shared.
    l.v_from_k_proj = has_tensors && file.find_tensor(blk + "attn_k.weight") && !file.find_tensor(blk + "attn_v.weight");
    if (hp.experts > 0) {  // the converter writes every layer with the MoE block when experts exist
      l.ffn.kind = FfnKind::Moe;
      l.ffn.experts = hp.experts;
      l.ffn.active_experts = hp.active_experts;
      l.ffn.expert_width = hp.expert_width;
    }
  }
  add_gemma4_traits(spec);
  share_like_llama_cpp(spec, static_cast<int>(shared), meta);
  for (LayerSpec& l : spec.layers) {
    if (!l.owns_cache()) l.v_from_k_proj = spec.layers[l.kv_source].v_from_k_proj;
  }
}

// ---- config.json ----

// Defaults from transformers' Gemma4TextConfig.__post_init__ when rope_parameters omits a type.
RopeSpec gemma4_rope(const ConfigReader& config, bool sliding, int head_dim) {
  const char* type = sliding ? kSliding : kFull;
  const nlohmann::json* params = config.object_or_null("rope_parameters");
  if (params && params->contains(type) && (*params)[type].is_object()) return rope_from_config(config, head_dim, type);
  RopeSpec rope;
  rope.rotary_dims = head_dim;
  if (sliding) {
    rope.theta = 10000.0;
  } else {  // {"rope_type": "proportional", "partial_rotary_factor": 0.25, "rope_theta": 1e6}
    rope.theta = 1000000.0;
    rope.rotary_dims = static_cast<int>(head_dim * 0.25);
    rope.freq_factors = true;
  }
  return rope;
}

int positive(const ConfigReader& config, const std::string& key, int64_t v) {
  if (v <= 0 || v > (int64_t{1} << 30)) config.fail("\"" + key + "\" is out of range (" + std::to_string(v) + ")");
  return static_cast<int>(v);
}

// A key that is present but null means "none" (0); absent means the transformers default.
int64_t integer_or_null(const ConfigReader& config, const std::string& key, int64_t absent) {
  if (config.has(key)) return config.integer(key);
  const nlohmann::json& text = config.json();
  auto it = text.find(key);
  return (it != text.end() && it->is_null()) ? 0 : absent;
}

void gemma4_from_config(const ConfigReader& config, ModelSpec& spec) {
  spec.hidden = positive(config, "hidden_size", config.integer("hidden_size"));
  spec.vocab = positive(config, "vocab_size", config.integer("vocab_size"));
  spec.context_length = static_cast<int>(config.integer_or("max_position_embeddings", 131072));
  spec.rms_eps = config.real_or("rms_norm_eps", 1e-6);
  spec.tied_embeddings = config.flag_or("tie_word_embeddings", true);
  spec.final_logit_softcap = config.real_or("final_logit_softcapping", 0.0);  // null: no softcap
  spec.ple_width = static_cast<int>(integer_or_null(config, "hidden_size_per_layer_input", 256));
  if (spec.ple_width < 0 || spec.ple_width > 65536) config.fail("\"hidden_size_per_layer_input\" is out of range");

  const int n = positive(config, "num_hidden_layers", config.integer("num_hidden_layers"));
  if (n > 4096) config.fail("\"num_hidden_layers\" is out of range");
  const int q_heads = positive(config, "num_attention_heads", config.integer("num_attention_heads"));
  const int kv_heads = positive(config, "num_key_value_heads", config.integer("num_key_value_heads"));
  const int head_dim = positive(config, "head_dim", config.integer_or("head_dim", 256));
  const int global_head_dim = positive(config, "global_head_dim", config.integer_or("global_head_dim", 512));
  const bool k_eq_v = config.flag_or("attention_k_eq_v", false);
  // Gemma4TextConfig: num_global_key_value_heads overrides the global layers' KV heads only
  // when attention_k_eq_v is set (the 26B-A4B and 31B: 2 and 4 shared K=V heads).
  const int global_kv_heads = (k_eq_v && config.has("num_global_key_value_heads"))
                                  ? positive(config, "num_global_key_value_heads", config.integer("num_global_key_value_heads"))
                                  : kv_heads;
  const int window = positive(config, "sliding_window", config.integer_or("sliding_window", 512));
  const int64_t shared = config.integer_or("num_kv_shared_layers", 0);
  if (shared < 0 || shared >= n) {
    config.fail("\"num_kv_shared_layers\" (" + std::to_string(shared) + ") must be below the " + std::to_string(n) + " layers");
  }
  const int ffn = positive(config, "intermediate_size", config.integer("intermediate_size"));
  const bool double_wide = config.flag_or("use_double_wide_mlp", false);

  const std::string act = config.text_or("hidden_activation", "gelu_pytorch_tanh");
  Activation activation = Activation::GeluTanh;
  if (act == "gelu") activation = Activation::Gelu;
  else if (act != "gelu_pytorch_tanh" && act != "gelu_new" && act != "gelu_tanh") {
    config.fail("unsupported \"hidden_activation\" \"" + act + "\"");
  }

  // layer_types; absent: 5 sliding then 1 full, repeated. The last layer is always full.
  std::vector<std::string> types;
  if (config.has("layer_types")) {
    types = config.text_array("layer_types");
    if (types.size() != static_cast<size_t>(n)) {
      config.fail("\"layer_types\" has " + std::to_string(types.size()) + " entries but \"num_hidden_layers\" is " +
                  std::to_string(n));
    }
  } else {
    for (int il = 0; il < n; ++il) types.push_back((il + 1) % 6 ? kSliding : kFull);
  }
  types.back() = kFull;  // Gemma4TextConfig.__post_init__ forces it (with a warning)

  FfnSpec moe;
  if (config.flag_or("enable_moe_block", false)) {
    moe.kind = FfnKind::Moe;
    moe.experts = positive(config, "num_experts", config.integer("num_experts"));
    moe.active_experts = positive(config, "top_k_experts", config.integer("top_k_experts"));
    moe.expert_width = positive(config, "moe_intermediate_size", config.integer("moe_intermediate_size"));
    if (moe.active_experts > moe.experts) config.fail("\"top_k_experts\" is larger than \"num_experts\"");
  }

  const RopeSpec rope_sliding = gemma4_rope(config, true, head_dim);
  const RopeSpec rope_full = gemma4_rope(config, false, global_head_dim);
  const int first_shared = n - static_cast<int>(shared);
  spec.layers.assign(n, LayerSpec{});
  for (int il = 0; il < n; ++il) {
    LayerSpec& l = spec.layers[il];
    l.index = l.kv_source = il;
    l.q_heads = q_heads;
    if (types[il] == kSliding) {
      l.attention = AttentionKind::Sliding;
      l.window = window;
      l.kv_heads = kv_heads;
      l.head_dim_k = l.head_dim_v = head_dim;
      l.rope = rope_sliding;
    } else if (types[il] == kFull) {
      l.attention = AttentionKind::Global;
      l.kv_heads = global_kv_heads;
      l.head_dim_k = l.head_dim_v = global_head_dim;
      l.rope = rope_full;
      l.v_from_k_proj = k_eq_v;  // V = RMSNorm_noweight(W_k h): shares W_k, cached apart from K
    } else {
      config.fail("\"layer_types\"[" + std::to_string(il) + "] is \"" + types[il] + "\", expected \"" + kSliding +
                  "\" or \"" + kFull + "\"");
    }
    l.ffn = moe;
    // use_double_wide_mlp: the KV-shared layers' MLP is twice as wide (Gemma4TextMLP).
    l.ffn.dense_width = (double_wide && il >= first_shared && first_shared > 0) ? 2 * ffn : ffn;
  }
  add_gemma4_traits(spec);
  for (LayerSpec& l : spec.layers) l.ffn.activation = activation;
  share_by_type(spec, static_cast<int>(shared), [&](const std::string& problem) { config.fail(problem); });
}

// ---- tensors (llama.cpp names, ggml order; src/models/gemma4.cpp load_arch_tensors) ----

std::vector<TensorSpec> gemma4_tensors(const ModelSpec& spec) {
  const uint64_t d = spec.hidden, vocab = spec.vocab, p = spec.ple_width, n = spec.layers.size();
  TensorList t;
  t.global("token_embd", {d, vocab});
  if (p > 0) {
    t.global("per_layer_token_embd", {n * p, vocab});  // gathered per token, never multiplied
    t.global("per_layer_model_proj", {d, n * p});
    t.global("per_layer_proj_norm", {p});
  }
  uint64_t rope_freqs = 0;
  for (const LayerSpec& l : spec.layers) {
    const int il = l.index;
    const uint64_t hd = l.head_dim_k, q = uint64_t(l.q_heads) * hd, kv = uint64_t(l.kv_heads) * hd;
    t.layer(il, "attn_norm", {d});
    t.layer(il, "attn_q", {d, q});
    t.layer(il, "attn_q_norm", {hd});
    if (l.owns_cache()) {  // KV-shared layers have no K/V projections
      t.layer(il, "attn_k", {d, kv});
      if (!l.v_from_k_proj) t.layer(il, "attn_v", {d, kv});
      t.layer(il, "attn_k_norm", {hd});
    }
    t.layer(il, "attn_output", {q, d});
    t.layer(il, "post_attention_norm", {d});
    // Dense MLP (beside the experts on MoE layers).
    const uint64_t ff = l.ffn.dense_width;
    t.layer(il, "ffn_norm", {d});
    t.layer(il, "ffn_gate", {d, ff});
    t.layer(il, "ffn_up", {d, ff});
    t.layer(il, "ffn_down", {ff, d});
    t.layer(il, "post_ffw_norm", {d});
    if (l.ffn.kind == FfnKind::Moe) {
      const uint64_t e = l.ffn.experts, ew = l.ffn.expert_width;
      t.layer(il, "ffn_gate_inp", {d, e});                // router
      t.layer(il, "ffn_gate_inp", {d}, ".scale");         // router input scale
      t.layer(il, "pre_ffw_norm_2", {d});
      t.layer(il, "post_ffw_norm_1", {d});
      t.layer(il, "post_ffw_norm_2", {d});
      t.layer(il, "ffn_gate_up_exps", {d, 2 * ew, e});    // the converter keeps gate and up fused
      t.layer(il, "ffn_down_exps", {ew, d, e});
      t.layer(il, "ffn_down_exps", {e}, ".scale");        // router.per_expert_scale
    }
    if (p > 0) {
      t.layer(il, "inp_gate", {d, p});
      t.layer(il, "proj", {p, d});
      t.layer(il, "post_norm", {d});
    }
    t.layer(il, "layer_output_scale", {1});
    if (l.rope.freq_factors) rope_freqs = hd / 2;
  }
  t.global("output_norm", {d});
  if (!spec.tied_embeddings) t.global("output", {d, vocab});
  if (rope_freqs) t.global("rope_freqs", {rope_freqs});  // one tensor, shared by the global layers
  return t.take();
}

}  // namespace

const Architecture kGemma4Architecture{"gemma4", {"gemma4", "gemma4_text"}, gemma4_from_gguf, gemma4_from_config,
                                       gemma4_tensors};

}  // namespace archscope
