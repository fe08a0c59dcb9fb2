// Laguna (Poolside; XS.2: 33B total, 3B active): a per-layer attention budget. Full
// attention on every fourth layer (il % 4 == 0) with fewer query heads (48) and YaRN on
// half the head; 512-token sliding windows elsewhere with more heads (64) and plain RoPE.
// KV heads (8) and head dim (128) are the same everywhere, so the cache shape is uniform.
// QK RMSNorm, a softplus output gate computed from the attention input (one value per
// head on XS.2, per element on M.1), one leading dense SwiGLU layer, then MoE layers with
// a sigmoid router, selection-only expert bias, renormalised top-k weights times a routed
// scaling factor, and one shared expert.
// References: llama.cpp src/models/laguna.cpp, conversion/laguna.py; transformers
// models/laguna/modular_laguna.py, configuration_laguna.py.
#include <cmath>
#include <string>

#include "spec/llama.h"

namespace archscope {

namespace {

const char* kFullAttention = "full_attention";
const char* kSlidingAttention = "sliding_attention";

void add_laguna_traits(LayerSpec& l) {
  l.qk_norm = true;
  l.attn_output_gate = true;
  l.rope.neox = true;  // LLAMA_ROPE_TYPE_NEOX; HF rotate_half
  l.ffn.activation = Activation::Silu;
}

void make_moe(LayerSpec& l, int experts, int used, int width, int shared, int shared_width,
              RouterScore score, bool normalize, double scale) {
  l.ffn.kind = FfnKind::Moe;
  l.ffn.dense_width = 0;
  l.ffn.experts = experts;
  l.ffn.active_experts = used;
  l.ffn.expert_width = width;
  l.ffn.shared_experts = shared;
  l.ffn.shared_width = shared_width;
  l.ffn.router_score = score;
  l.ffn.expert_bias = true;  // e_score_correction_bias / exp_probs_b, required in every MoE layer
  l.ffn.normalize_weights = normalize;
  l.ffn.routed_scale = scale;
}

// ---- GGUF (the keys conversion/laguna.py writes and llama_model_laguna reads) ----

void laguna_from_gguf(const GgufMetadataReader& meta, ModelSpec& spec) {
  const CommonHparams hp = read_common_hparams(meta);
  apply_common_hparams(hp, spec);
  const int n_layers = spec.layer_count();

  meta.real("attention.layer_norm_rms_epsilon");  // required by llama.cpp for this arch
  const int64_t dense_lead = meta.integer("leading_dense_block_count");
  if (dense_lead < 0 || dense_lead > n_layers) {
    meta.fail(meta.key("leading_dense_block_count") + " is " + std::to_string(dense_lead) + " but the model has " +
              std::to_string(n_layers) + " layers");
  }
  meta.integer("expert_feed_forward_length");  // required by llama.cpp even without MoE layers

  // Router: llama.cpp defaults a missing gating function to sigmoid (the HF reference).
  RouterScore score = RouterScore::Sigmoid;
  switch (meta.integer_or("expert_gating_func", 0)) {
    case 0: case 2: score = RouterScore::Sigmoid; break;
    case 1: score = RouterScore::Softmax; break;
    case 4: score = RouterScore::SqrtSoftplus; break;
    default: meta.fail(meta.key("expert_gating_func") + " has an unknown value " +
                       std::to_string(meta.integer("expert_gating_func")));
  }
  const bool normalize = meta.flag_or("expert_weights_norm", false);
  const double w_scale = meta.real_or("expert_weights_scale", 0.0);
  const double routed_scale = w_scale == 0.0 ? 1.0 : w_scale;  // llama.cpp skips a scale of 0
  // One shared expert unless the file says otherwise; its width defaults to the routed width.
  const int64_t shared_count = meta.integer_or("expert_shared_count", 1);
  if (shared_count < 0 || shared_count > 4096) meta.fail(meta.key("expert_shared_count") + " is out of range (" + std::to_string(shared_count) + ")");
  const int shared = static_cast<int>(shared_count);
  const int64_t shared_width64 = hp.shared_width > 0 ? hp.shared_width : int64_t(hp.expert_width) * shared;
  if (shared_width64 > (int64_t{1} << 30)) meta.fail(meta.key("expert_shared_feed_forward_length") + " is out of range");
  const int shared_width = static_cast<int>(shared_width64);
  if (dense_lead < n_layers) {
    if (hp.experts <= 0) meta.fail("missing or zero metadata key " + meta.key("expert_count") + " (the file has MoE layers)");
    if (hp.active_experts <= 0) meta.fail("missing or zero metadata key " + meta.key("expert_used_count"));
    if (hp.expert_width <= 0) meta.fail(meta.key("expert_feed_forward_length") + " must be positive");
  }

  // Sliding windows are optional (M.1 has none). With a window, the pattern is a period
  // with full attention first: layer il is sliding when il % period != 0 (period 0: all
  // sliding). llama.cpp reads the period as a scalar and ignores an array, keeping 4.
  const int window = hp.window;
  int64_t period = 4;
  if (const GgufValue* v = meta.file().find(meta.key("attention.sliding_window_pattern")); v && !v->is_array()) {
    period = meta.integer("attention.sliding_window_pattern");
    if (period < 0 || period > n_layers) meta.fail(meta.key("attention.sliding_window_pattern") + " is out of range (" + std::to_string(period) + ")");
  }
  // Sliding layers run plain RoPE over rope.dimension_count_swa dims with freq_base_swa
  // (the full layers' base when absent), without the full layers' YaRN scaling.
  const double theta_swa = meta.has("rope.freq_base_swa") ? hp.rope_theta_swa : hp.rope_theta;
  // llama_model_laguna reads no YaRN ramp or magnitude keys: beta_fast / beta_slow stay at
  // llama.cpp's defaults 32 / 1 (whatever rope.scaling.yarn_beta_* the converter wrote, e.g.
  // XS.2's 64), and llama_context sets the cos/sin magnitude to YaRN's default
  // 1 + 0.1 ln(factor) times rope.scaling.attn_factor (XS.2's config asks for 1.0; llama.cpp
  // runs its GGUF with 1.35, and so does archscope).
  const double yarn_attn_factor = meta.real_or("rope.scaling.attn_factor", 1.0);

  for (LayerSpec& l : spec.layers) {
    add_laguna_traits(l);
    const bool sliding = window > 0 && (period == 0 || l.index % period != 0);
    if (l.rope.scaling == RopeScaling::Yarn) {
      l.rope.attn_factor = (1.0 + 0.1 * std::log(l.rope.factor)) * yarn_attn_factor;
      l.rope.beta_fast = 32.0;
      l.rope.beta_slow = 1.0;
    }
    if (sliding) {
      l.attention = AttentionKind::Sliding;
      l.window = window;
      l.rope.theta = theta_swa;
      l.rope.rotary_dims = hp.rope_dims_swa;
      l.rope.scaling = RopeScaling::None;
      l.rope.factor = 1.0;
      l.rope.original_context = 0;
      l.rope.attn_factor = 0.0;
    }
    // Output gate width: the stored tensor decides per head or per element; a file
    // without weights gets the per-head layout, as in llama.cpp.
    l.attn_gate_per_head = true;
    if (const GgufTensor* gate = meta.file().find_tensor("blk." + std::to_string(l.index) + ".attn_gate.weight")) {
      const uint64_t width = gate->shape.size() >= 2 ? gate->shape[1] : 0;
      if (width == uint64_t(l.q_heads)) {
        l.attn_gate_per_head = true;
      } else if (width == uint64_t(l.q_heads) * l.head_dim_k) {
        l.attn_gate_per_head = false;
      } else {
        meta.fail("tensor " + gate->name + " has " + std::to_string(width) + " outputs; expected " +
                  std::to_string(l.q_heads) + " (per head) or " + std::to_string(l.q_heads * l.head_dim_k) +
                  " (per element)");
      }
    }
    if (l.index < dense_lead) {
      if (l.ffn.dense_width <= 0) meta.fail("missing metadata key " + meta.key("feed_forward_length") + " for the dense layer " + std::to_string(l.index));
    } else {
      make_moe(l, hp.experts, hp.active_experts, hp.expert_width, shared, shared_width, score, normalize, routed_scale);
    }
  }
  spec.tied_embeddings = meta.file().find_tensor("output.weight") == nullptr;
}

// ---- config.json ----

// transformers' defaults when rope_parameters is absent (LagunaConfig.__post_init__).
RopeSpec laguna_rope(const ConfigReader& config, int head_dim, bool sliding) {
  if (!config.object_or_null("rope_parameters") && !config.object_or_null("rope_scaling")) {
    RopeSpec rope;
    rope.theta = sliding ? 10000.0 : 500000.0;
    rope.rotary_dims = sliding ? head_dim : head_dim / 2;
    return rope;
  }
  const char* type = sliding ? kSlidingAttention : kFullAttention;
  RopeSpec rope = rope_from_config(config, head_dim, type);
  if (rope.scaling == RopeScaling::Linear && rope.factor == 1.0) rope.scaling = RopeScaling::None;
  // XS.2 sets YaRN's attention_factor to 1.0: no magnitude scaling of cos/sin.
  const nlohmann::json* params = config.object_or_null("rope_parameters");
  if (params && params->contains(type) && (*params)[type].is_object()) params = &(*params)[type];
  if (params && rope.scaling == RopeScaling::Yarn) {
    ConfigReader p(*params, config.path());
    rope.attn_factor = p.real_or("attention_factor", p.real_or("attn_factor", 0.0));
  }
  return rope;
}

// Per-layer gate layout: gating_types (per layer) wins over gating (true / "per-head" /
// "per-element"), as in conversion/laguna.py.
std::vector<bool> gate_per_head(const ConfigReader& config, int n_layers) {
  auto parse = [&](const std::string& t) {
    if (t == "per_head" || t == "per-head") return true;
    if (t == "per_element" || t == "per-element") return false;
    config.fail("unknown attention gate type \"" + t + "\" (expected per-head or per-element)");
  };
  if (config.has("gating_types")) {
    const std::vector<std::string> types = config.text_array("gating_types");
    if (types.size() != size_t(n_layers)) {
      config.fail("\"gating_types\" has " + std::to_string(types.size()) + " entries but the model has " +
                  std::to_string(n_layers) + " layers");
    }
    std::vector<bool> out;
    for (const std::string& t : types) out.push_back(parse(t));
    return out;
  }
  const nlohmann::json& j = config.json();
  const nlohmann::json* gating = j.contains("gating") ? &j["gating"] : nullptr;
  if (!gating || gating->is_null() || (gating->is_boolean() && gating->get<bool>())) return std::vector<bool>(n_layers, true);
  if (gating->is_string()) return std::vector<bool>(n_layers, parse(gating->get<std::string>()));
  config.fail("\"gating\" is " + gating->dump() + "; Laguna layers always have an output gate (true, \"per-head\" or \"per-element\")");
}

void laguna_from_config(const ConfigReader& config, ModelSpec& spec) {
  spec.hidden = static_cast<int>(config.integer("hidden_size"));
  spec.vocab = static_cast<int>(config.integer("vocab_size"));
  spec.context_length = static_cast<int>(config.integer_or("max_position_embeddings", 131072));
  spec.rms_eps = config.real_or("rms_norm_eps", 1e-6);
  spec.tied_embeddings = config.flag_or("tie_word_embeddings", false);
  const int n_layers = static_cast<int>(config.integer("num_hidden_layers"));
  if (n_layers <= 0 || n_layers > 4096) config.fail("num_hidden_layers is out of range");
  const int64_t base_heads = config.integer("num_attention_heads");
  const int64_t kv_heads = config.integer_or("num_key_value_heads", base_heads);
  const int64_t head_dim = config.integer_or("head_dim", 128);  // LagunaConfig default

  std::vector<int64_t> heads(n_layers, base_heads);
  if (config.has("num_attention_heads_per_layer")) heads = config.int_array("num_attention_heads_per_layer");
  if (heads.size() != size_t(n_layers)) {
    config.fail("\"num_attention_heads_per_layer\" has " + std::to_string(heads.size()) + " entries but the model has " +
                std::to_string(n_layers) + " layers");
  }
  std::vector<std::string> layer_types(n_layers, kFullAttention);
  if (config.has("layer_types")) layer_types = config.text_array("layer_types");
  if (layer_types.size() != size_t(n_layers)) {
    config.fail("\"layer_types\" has " + std::to_string(layer_types.size()) + " entries but the model has " +
                std::to_string(n_layers) + " layers");
  }
  // Dense or sparse MLP per layer: mlp_layer_types, else Qwen2-MoE-style mlp_only_layers,
  // else the first layer dense and the rest sparse.
  std::vector<bool> dense(n_layers, false);
  dense[0] = true;
  if (config.has("mlp_layer_types")) {
    const std::vector<std::string> types = config.text_array("mlp_layer_types");
    if (types.size() != size_t(n_layers)) {
      config.fail("\"mlp_layer_types\" has " + std::to_string(types.size()) + " entries but the model has " +
                  std::to_string(n_layers) + " layers");
    }
    for (int il = 0; il < n_layers; ++il) {
      if (types[il] != "dense" && types[il] != "sparse") config.fail("\"mlp_layer_types\" has an unknown value \"" + types[il] + "\"");
      dense[il] = types[il] == "dense";
    }
  } else if (config.has("mlp_only_layers")) {
    dense.assign(n_layers, false);
    for (int64_t il : config.int_array("mlp_only_layers")) {
      if (il < 0 || il >= n_layers) config.fail("\"mlp_only_layers\" names layer " + std::to_string(il) + ", which does not exist");
      dense[il] = true;
    }
  }
  auto check = [&](const char* key, int64_t v, int64_t max) {
    if (v <= 0 || v > max) config.fail(std::string("\"") + key + "\" is out of range (" + std::to_string(v) + ")");
  };
  check("num_key_value_heads", kv_heads, 4096);
  check("head_dim", head_dim, 65536);
  for (int64_t h : heads) check("num_attention_heads_per_layer", h, 4096);
  const std::vector<bool> per_head = gate_per_head(config, n_layers);
  const int64_t window = config.integer_or("sliding_window", 512);
  const int64_t dense_width = config.integer_or("intermediate_size", 8192);
  const int64_t experts = config.integer_or("num_experts", 256);
  const int64_t used = config.integer_or("num_experts_per_tok", 8);
  const int64_t expert_width = config.integer_or("moe_intermediate_size", 512);
  const int64_t shared_width = config.integer_or("shared_expert_intermediate_size", 512);
  const double routed_scale = config.real_or("moe_routed_scaling_factor", 1.0);
  check("sliding_window", window, 1 << 30);
  check("intermediate_size", dense_width, 1 << 24);
  check("num_experts", experts, 65536);
  if (used > experts) {
    config.fail("\"num_experts_per_tok\" (" + std::to_string(used) + ") is larger than \"num_experts\" (" +
                std::to_string(experts) + ")");
  }
  check("num_experts_per_tok", used, experts);
  check("moe_intermediate_size", expert_width, 1 << 24);
  if (shared_width < 0 || shared_width > (1 << 24)) config.fail("\"shared_expert_intermediate_size\" is out of range");
  if (config.real_or("moe_router_logit_softcapping", 0.0) != 0.0) config.fail("router logit soft-capping is not supported");
  if (config.flag_or("moe_apply_router_weight_on_input", false)) config.fail("moe_apply_router_weight_on_input is not supported");

  spec.layers.assign(n_layers, LayerSpec{});
  for (int il = 0; il < n_layers; ++il) {
    LayerSpec& l = spec.layers[il];
    l.index = l.kv_source = il;
    l.q_heads = static_cast<int>(heads[il]);
    l.kv_heads = static_cast<int>(kv_heads);
    l.head_dim_k = l.head_dim_v = static_cast<int>(head_dim);
    if (layer_types[il] == kSlidingAttention) {
      l.attention = AttentionKind::Sliding;
      l.window = static_cast<int>(window);
    } else if (layer_types[il] != kFullAttention) {
      config.fail("\"layer_types\" has an unknown value \"" + layer_types[il] + "\"");
    }
    l.rope = laguna_rope(config, l.head_dim_k, l.attention == AttentionKind::Sliding);
    add_laguna_traits(l);
    l.attn_gate_per_head = per_head[il];
    if (dense[il]) {
      l.ffn.dense_width = static_cast<int>(dense_width);
    } else {
      // The HF router always renormalises the selected sigmoid scores.
      make_moe(l, static_cast<int>(experts), static_cast<int>(used), static_cast<int>(expert_width), shared_width > 0 ? 1 : 0,
               static_cast<int>(shared_width), RouterScore::Sigmoid, true, routed_scale);
    }
  }
}

// ---- tensors (llama.cpp names and shapes, llama_model_laguna::load_arch_tensors) ----

std::vector<TensorSpec> laguna_tensors(const ModelSpec& spec) {
  const uint64_t d = spec.hidden;
  TensorList t;
  t.global("token_embd", {d, uint64_t(spec.vocab)});
  for (const LayerSpec& l : spec.layers) {
    const int il = l.index;
    const uint64_t q = uint64_t(l.q_heads) * l.head_dim_k, k = uint64_t(l.kv_heads) * l.head_dim_k,
                   v = uint64_t(l.kv_heads) * l.head_dim_v;
    t.layer(il, "attn_norm", {d});
    t.layer(il, "attn_q", {d, q});
    t.layer(il, "attn_k", {d, k});
    t.layer(il, "attn_v", {d, v});
    t.layer(il, "attn_output", {q, d});
    t.layer(il, "attn_q_norm", {uint64_t(l.head_dim_k)});
    t.layer(il, "attn_k_norm", {uint64_t(l.head_dim_k)});
    t.layer(il, "attn_gate", {d, l.attn_gate_per_head ? uint64_t(l.q_heads) : q});
    t.layer(il, "ffn_norm", {d});
    const FfnSpec& f = l.ffn;
    if (f.kind == FfnKind::Moe) {
      const uint64_t e = f.experts, w = f.expert_width, s = uint64_t(f.shared_width);
      t.layer(il, "ffn_gate_inp", {d, e});
      t.layer(il, "exp_probs_b", {e}, ".bias");
      t.layer(il, "ffn_gate_exps", {d, w, e});
      t.layer(il, "ffn_up_exps", {d, w, e});
      t.layer(il, "ffn_down_exps", {w, d, e});
      if (f.shared_experts > 0) {
        t.layer(il, "ffn_gate_shexp", {d, s});
        t.layer(il, "ffn_up_shexp", {d, s});
        t.layer(il, "ffn_down_shexp", {s, d});
      }
    } else {
      t.layer(il, "ffn_gate", {d, uint64_t(f.dense_width)});
      t.layer(il, "ffn_up", {d, uint64_t(f.dense_width)});
      t.layer(il, "ffn_down", {uint64_t(f.dense_width), d});
    }
  }
  t.global("output_norm", {d});
  if (!spec.tied_embeddings) t.global("output", {d, uint64_t(spec.vocab)});
  return t.take();
}

}  // namespace

const Architecture kLagunaArchitecture{"laguna", {"laguna"}, laguna_from_gguf, laguna_from_config, laguna_tensors};

}  // namespace archscope
