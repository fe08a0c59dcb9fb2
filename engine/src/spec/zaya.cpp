// ZAYA1 (Zyphra; 8B: 8.4B total, 760M active): compressed convolutional attention (CCA)
// and a top-1 MoE with an MLP router, in one attention+MoE block per layer.
//
// CCA, per layer (transformers models/zaya/modular_zaya.py, ZayaCCAProjection):
//   q~ = W_q x (8 heads x 128), k~ = W_k x (2 heads x 128);
//   v  = concat(W_v1 x_t, W_v2 x_{t-1}), each half a KV width (so with 2 KV heads, head 0
//        holds the current token's values and head 1 the previous token's);
//   [q; k] = grouped_conv(depthwise_conv([q~; k~])) + the mean residuals of q~ and k~,
//        both convs causal with kernel 2 (cca_time0/1) and biases, one group per head;
//   L2 norm of q and k to sqrt(head_dim), keys times a learned per-KV-head temperature,
//   NeoX RoPE on the first half of each head, softmax attention, output projection.
// Per sequence each layer keeps K and V for every position plus a fixed state: the last
// (cca_time0 - 1) + (cca_time1 - 1) pre-conv [q~; k~] columns and the previous token's
// W_v2 output (transformers' recurrent_states).
// Router: down-projection to router_hidden_size (+ the previous layer's router state times
// a learned scale, from the second layer on), RMSNorm, Linear-GELU-Linear-GELU-Linear to
// experts + 1 "skip" logits, softmax, top-1 of probability + balancing bias; the skip
// choice contributes nothing. Residual merges are scaled: (h + b_h) * s_h + (r + b_r) * s_r.
//
// Older checkpoints (Zyphra's own format, "zaya_layers") store 2L alternating layers:
// attention ("a") and MoE (expert count); they are read as L combined layers, the way
// transformers' convert_zaya_weights_to_hf.py converts them.
//
// llama.cpp has no ZAYA architecture, so there is no GGUF reader; the tensor list uses
// llama.cpp-style names chosen here (see zaya_tensors).
#include <string>

#include "spec/llama.h"

namespace archscope {

namespace {

struct ZayaShape {
  int n_layers = 0;               // combined attention+MoE layers
  int q_heads = 0, kv_heads = 0, head_dim = 0;
  int experts = 0, active = 1, expert_width = 0, router_width = 0;
  int conv0 = 2, conv1 = 2;
  std::vector<int> windows;       // per layer, 0 = global
  std::vector<std::string> types; // per layer, the key into rope_parameters
  bool skip_expert = true;
};

bool is_sliding_type(const std::string& t) { return t == "hybrid_sliding" || t == "sliding_attention"; }
bool is_global_type(const std::string& t) { return t == "hybrid" || t == "full_attention"; }

// RoPE for one layer type; ZayaConfig's defaults when the config has no rope_parameters.
RopeSpec zaya_rope(const ConfigReader& config, int head_dim, const std::string& layer_type, bool sliding) {
  RopeSpec rope;
  if (!config.object_or_null("rope_parameters") && !config.object_or_null("rope_scaling")) {
    rope.theta = config.real_or(sliding ? "swa_rotary_base" : "rope_theta", sliding ? 10000.0 : 5000000.0);
    rope.rotary_dims = static_cast<int>(head_dim * config.real_or("partial_rotary_factor", 0.5));
  } else {
    rope = rope_from_config(config, head_dim, layer_type);
    const nlohmann::json* params = config.object_or_null("rope_parameters");
    const bool nested = params && params->contains(layer_type) && (*params)[layer_type].is_object();
    // Flat legacy parameters may leave the partial factor at the top level.
    if (!nested && !(params && params->contains("partial_rotary_factor"))) {
      rope.rotary_dims = static_cast<int>(head_dim * config.real_or("partial_rotary_factor", 0.5));
    }
    if (sliding && !nested && config.has("swa_rotary_base")) rope.theta = config.real("swa_rotary_base");
  }
  if (rope.scaling == RopeScaling::Linear && rope.factor == 1.0) rope.scaling = RopeScaling::None;
  rope.neox = true;  // rotate_half over the rotating dims
  return rope;
}

// transformers' native layout: num_hidden_layers attention+MoE layers.
ZayaShape read_native(const ConfigReader& config) {
  ZayaShape s;
  s.n_layers = static_cast<int>(config.integer("num_hidden_layers"));
  if (s.n_layers <= 0 || s.n_layers > 4096) config.fail("num_hidden_layers is out of range");
  s.q_heads = static_cast<int>(config.integer_or("num_attention_heads", 8));
  s.kv_heads = static_cast<int>(config.integer_or("num_key_value_heads", 2));
  s.head_dim = static_cast<int>(config.integer_or("head_dim", 128));
  s.experts = static_cast<int>(config.integer_or("num_experts", 16));
  s.active = static_cast<int>(config.integer_or("num_experts_per_tok", 1));
  // moe_intermediate_size in the current config; intermediate_size in an earlier revision.
  s.expert_width = static_cast<int>(config.integer_or("moe_intermediate_size", config.integer_or("intermediate_size", 2048)));
  s.router_width = static_cast<int>(config.integer_or("router_hidden_size", 256));
  s.conv0 = static_cast<int>(config.integer_or("cca_time0", 2));
  s.conv1 = static_cast<int>(config.integer_or("cca_time1", 2));
  std::vector<std::string> types(s.n_layers, "hybrid");
  if (config.has("layer_types")) types = config.text_array("layer_types");
  if (types.size() != size_t(s.n_layers)) {
    config.fail("\"layer_types\" has " + std::to_string(types.size()) + " entries but the model has " +
                std::to_string(s.n_layers) + " layers");
  }
  const int window = static_cast<int>(config.integer_or("sliding_window", 0));
  for (const std::string& t : types) {
    if (!is_sliding_type(t) && !is_global_type(t)) config.fail("\"layer_types\" has an unknown value \"" + t + "\"");
    if (is_sliding_type(t) && window <= 0) config.fail("\"sliding_window\" must be set when \"layer_types\" has sliding layers");
    s.windows.push_back(is_sliding_type(t) ? window : 0);
  }
  s.types = types;
  return s;
}

// Zyphra's original layout: zaya_layers = ["a", 16, "a", 16, ...] with per-layer lists.
ZayaShape read_legacy(const ConfigReader& config, int hidden) {
  const nlohmann::json& layers = config.json().at("zaya_layers");
  if (!layers.is_array() || layers.empty() || layers.size() % 2 != 0 || layers.size() > 8192) {
    config.fail("\"zaya_layers\" should list alternating attention (\"a\") and MoE (expert count) layers");
  }
  const size_t n_old = layers.size();
  auto list = [&](const char* key) {
    std::vector<int64_t> v = config.int_array(key);
    if (v.size() != n_old) {
      config.fail("\"" + std::string(key) + "\" has " + std::to_string(v.size()) + " entries but \"zaya_layers\" has " +
                  std::to_string(n_old));
    }
    return v;
  };
  const std::vector<int64_t> q_heads = list("cca_num_q_heads"), kv_heads = list("num_query_groups_list"),
                             ffn = list("ffn_hidden_size_list"), router = list("zaya_mlp_expansion");
  ZayaShape s;
  s.n_layers = static_cast<int>(n_old / 2);
  // Head dim: kv_channels, else hidden / num_attention_heads (the old CCA's geometry).
  const int heads = static_cast<int>(config.integer("num_attention_heads"));
  if (heads <= 0) config.fail("num_attention_heads must be positive");
  s.head_dim = static_cast<int>(config.integer_or("kv_channels", hidden / heads));
  s.active = static_cast<int>(config.integer_or("moe_router_topk", 1));
  s.conv0 = static_cast<int>(config.integer_or("cca_time0", 2));
  s.conv1 = static_cast<int>(config.integer_or("cca_time1", 2));
  s.skip_expert = config.flag_or("zaya_use_mod", true);
  if (!config.flag_or("zaya_use_eda", true)) config.fail("\"zaya_use_eda\": false (a router without layer-to-layer state) is not supported");
  if (!config.flag_or("scale_residual_merge", true)) config.fail("\"scale_residual_merge\": false is not supported");
  std::vector<int64_t> swa(n_old, 0);
  if (config.has("swa_layers")) swa = list("swa_layers");
  for (int il = 0; il < s.n_layers; ++il) {
    const nlohmann::json& a = layers[2 * il];
    const nlohmann::json& m = layers[2 * il + 1];
    const std::string at = "layer " + std::to_string(2 * il) + "/" + std::to_string(2 * il + 1) + " of \"zaya_layers\"";
    if (!a.is_string() || a.get<std::string>() != "a" || !m.is_number_integer() || m.get<int64_t>() <= 0) {
      config.fail(at + " should be an attention layer (\"a\") followed by an expert count, found " + a.dump() + ", " + m.dump());
    }
    const int q = static_cast<int>(q_heads[2 * il]), kv = static_cast<int>(kv_heads[2 * il]);
    const int e = static_cast<int>(m.get<int64_t>()), fused = static_cast<int>(ffn[2 * il + 1]),
              r = static_cast<int>(router[2 * il + 1]);
    if (il == 0) {
      s.q_heads = q, s.kv_heads = kv, s.experts = e, s.expert_width = fused / 2, s.router_width = r;
    } else if (q != s.q_heads || kv != s.kv_heads || e != s.experts || fused / 2 != s.expert_width || r != s.router_width) {
      config.fail(at + " differs in shape from the first pair; only uniform ZAYA layers are supported");
    }
    if (fused <= 0 || fused % 2 != 0) config.fail(at + ": ffn_hidden_size_list entry " + std::to_string(fused) + " should be an even fused gate+up width");
    // Original ZAYA stores the previous tokens a sliding layer sees; the span is one more.
    s.windows.push_back(swa[2 * il] > 0 ? static_cast<int>(swa[2 * il]) + 1 : 0);
    s.types.push_back(s.windows.back() > 0 ? "sliding_attention" : "full_attention");
  }
  return s;
}

void zaya_from_config(const ConfigReader& config, ModelSpec& spec) {
  spec.hidden = static_cast<int>(config.integer("hidden_size"));
  spec.vocab = static_cast<int>(config.integer("vocab_size"));
  spec.tied_embeddings = config.flag_or("tie_word_embeddings", true);
  spec.embedding_scale = 1.0;  // ZAYA does not scale embeddings by sqrt(hidden)
  if (config.flag_or("lm_head_bias", false)) config.fail("\"lm_head_bias\": true is not supported");
  if (spec.hidden <= 0) config.fail("hidden_size must be positive");

  const bool legacy = config.json().contains("zaya_layers");
  if (!legacy && config.has("ffn_hidden_size") && !config.has("layer_types")) {
    config.fail("an original-format ZAYA config without \"zaya_layers\" is not supported; convert it with "
                "transformers' convert_zaya_weights_to_hf.py");
  }
  const ZayaShape s = legacy ? read_legacy(config, spec.hidden) : read_native(config);
  spec.context_length = static_cast<int>(config.integer_or("max_position_embeddings", legacy ? 4096 : 131072));
  spec.rms_eps = legacy ? config.real_or("norm_epsilon", 1e-5) : config.real_or("rms_norm_eps", 1e-5);

  auto check = [&](const char* what, int64_t v, int64_t max) {
    if (v <= 0 || v > max) config.fail(std::string(what) + " is out of range (" + std::to_string(v) + ")");
  };
  check("the query head count", s.q_heads, 4096);
  check("the KV head count", s.kv_heads, 4096);
  check("head_dim", s.head_dim, 65536);
  check("the expert count", s.experts, 65536);
  check("the expert width", s.expert_width, 1 << 24);
  check("the router width", s.router_width, 1 << 24);
  if (s.head_dim * s.kv_heads % 2 != 0) config.fail("the KV width must be even (half of it comes from the previous token)");
  if (s.active != 1) config.fail("ZAYA supports one expert per token only (num_experts_per_tok is " + std::to_string(s.active) + ")");
  if (s.conv0 < 1 || s.conv1 < 1 || s.conv0 > 64 || s.conv1 > 64) config.fail("cca_time0 and cca_time1 must be between 1 and 64");

  const uint64_t q_dim = uint64_t(s.q_heads) * s.head_dim, k_dim = uint64_t(s.kv_heads) * s.head_dim;
  spec.layers.assign(s.n_layers, LayerSpec{});
  for (int il = 0; il < s.n_layers; ++il) {
    LayerSpec& l = spec.layers[il];
    l.index = l.kv_source = il;
    l.attention = AttentionKind::Cca;
    l.window = s.windows[il];  // a "hybrid_sliding" CCA layer keeps only this many positions
    l.q_heads = s.q_heads;
    l.kv_heads = s.kv_heads;
    l.head_dim_k = l.head_dim_v = s.head_dim;
    l.rope = zaya_rope(config, s.head_dim, s.types[il], l.window > 0);
    l.qk_norm = true;  // L2 norm to sqrt(head_dim), keys times a per-KV-head temperature
    l.qk_conv_kernel = s.conv0;
    l.qk_conv_kernel2 = s.conv1;
    // Conv state: the last (k0 - 1) + (k1 - 1) pre-conv [q~; k~] columns; value state: the
    // previous token's W_v2 output (half a KV width).
    l.state_elements = uint64_t((s.conv0 - 1) + (s.conv1 - 1)) * (q_dim + k_dim) + k_dim / 2;
    l.ffn.kind = FfnKind::Moe;
    l.ffn.activation = Activation::Silu;
    l.ffn.experts = s.experts;
    l.ffn.active_experts = 1;
    l.ffn.expert_width = s.expert_width;
    l.ffn.skip_expert = s.skip_expert;
    l.ffn.router_score = RouterScore::Softmax;
    l.ffn.expert_bias = true;  // balancing_biases: selection only
    l.ffn.router_width = s.router_width;
  }
}

// ---- tensors: llama.cpp-style names for the transformers checkpoint's weights ----
//   token_embd, output_norm, output (untied only)         embed_tokens, norm, lm_head
//   inp_scale.weight / .bias                              model.input_hidden_states_scale / _bias
//   blk.N.attn_norm, ffn_norm                             input_layernorm, post_attention_layernorm
//   blk.N.attn_q, attn_k, attn_output                     q_proj, k_proj, o_proj
//   blk.N.attn_v, attn_v_prev                             v_proj_current, v_proj_delayed (W_v1, W_v2)
//   blk.N.attn_conv_dw.weight {k0, C} / .bias {C}         conv_qk_depthwise, C = q_dim + k_dim
//   blk.N.attn_conv_grp.weight {k1, C/groups, C} / .bias  conv_qk_grouped, groups = q_heads + kv_heads
//   blk.N.attn_temp {kv_heads}                            qk_norm.temp
//   blk.N.res_attn_h / res_attn_r .weight/.bias {d}       post_attention_residual_scale: scale/bias of
//   blk.N.res_ffn_h / res_ffn_r .weight/.bias {d}         the branch (h) and residual (r); post_mlp too
//   blk.N.ffn_gate_inp_down.weight {d, R} / .bias {R}     router down_proj
//   blk.N.ffn_gate_inp_state {R}                          router_states_scale (layers after the first)
//   blk.N.ffn_gate_inp_norm {R}                           router_mlp.norm
//   blk.N.ffn_gate_inp_fc1, fc2 .weight {R, R} / .bias    router_mlp.fc1, fc2
//   blk.N.ffn_gate_inp {R, E + skip}                      router_mlp.out_proj
//   blk.N.exp_probs_b.bias {E + skip}                     balancing_biases (selection only)
//   blk.N.ffn_gate_exps, ffn_up_exps {d, I, E}            experts.gate_up_proj, split in two
//   blk.N.ffn_down_exps {I, d, E}                         experts.down_proj
std::vector<TensorSpec> zaya_tensors(const ModelSpec& spec) {
  const uint64_t d = spec.hidden;
  auto global = [](const std::string& name, std::vector<uint64_t> shape) {
    return TensorSpec{name, std::move(shape), 0, 0, -1, classify_tensor(name)};
  };
  std::vector<TensorSpec> tensors;
  tensors.push_back(global("token_embd.weight", {d, uint64_t(spec.vocab)}));
  tensors.push_back(global("inp_scale.weight", {d}));
  tensors.push_back(global("inp_scale.bias", {d}));

  TensorList blk;
  for (const LayerSpec& l : spec.layers) {
    const int il = l.index;
    const uint64_t q = uint64_t(l.q_heads) * l.head_dim_k, k = uint64_t(l.kv_heads) * l.head_dim_k,
                   v_half = uint64_t(l.kv_heads) * l.head_dim_v / 2, channels = q + k,
                   groups = uint64_t(l.q_heads) + l.kv_heads;
    blk.layer(il, "attn_norm", {d});
    blk.layer(il, "attn_q", {d, q});
    blk.layer(il, "attn_k", {d, k});
    blk.layer(il, "attn_v", {d, v_half});
    blk.layer(il, "attn_v_prev", {d, v_half});
    blk.layer(il, "attn_conv_dw", {uint64_t(l.qk_conv_kernel), channels});
    blk.layer(il, "attn_conv_dw", {channels}, ".bias");
    blk.layer(il, "attn_conv_grp", {uint64_t(l.qk_conv_kernel2), channels / groups, channels});
    blk.layer(il, "attn_conv_grp", {channels}, ".bias");
    blk.layer(il, "attn_temp", {uint64_t(l.kv_heads)});
    blk.layer(il, "attn_output", {q, d});
    for (const char* name : {"res_attn_h", "res_attn_r"}) {
      blk.layer(il, name, {d});
      blk.layer(il, name, {d}, ".bias");
    }
    blk.layer(il, "ffn_norm", {d});
    const FfnSpec& f = l.ffn;
    const uint64_t r = f.router_width, choices = uint64_t(f.experts) + (f.skip_expert ? 1 : 0),
                   e = f.experts, w = f.expert_width;
    blk.layer(il, "ffn_gate_inp_down", {d, r});
    blk.layer(il, "ffn_gate_inp_down", {r}, ".bias");
    if (il > 0) blk.layer(il, "ffn_gate_inp_state", {r});
    blk.layer(il, "ffn_gate_inp_norm", {r});
    blk.layer(il, "ffn_gate_inp_fc1", {r, r});
    blk.layer(il, "ffn_gate_inp_fc1", {r}, ".bias");
    blk.layer(il, "ffn_gate_inp_fc2", {r, r});
    blk.layer(il, "ffn_gate_inp_fc2", {r}, ".bias");
    blk.layer(il, "ffn_gate_inp", {r, choices});
    blk.layer(il, "exp_probs_b", {choices}, ".bias");
    blk.layer(il, "ffn_gate_exps", {d, w, e});
    blk.layer(il, "ffn_up_exps", {d, w, e});
    blk.layer(il, "ffn_down_exps", {w, d, e});
    for (const char* name : {"res_ffn_h", "res_ffn_r"}) {
      blk.layer(il, name, {d});
      blk.layer(il, name, {d}, ".bias");
    }
  }
  for (TensorSpec& ts : blk.take()) tensors.push_back(std::move(ts));
  tensors.push_back(global("output_norm.weight", {d}));
  if (!spec.tied_embeddings) tensors.push_back(global("output.weight", {d, uint64_t(spec.vocab)}));
  return tensors;
}

}  // namespace

const Architecture kZayaArchitecture{"zaya", {"zaya"}, nullptr, zaya_from_config, zaya_tensors};

}  // namespace archscope
