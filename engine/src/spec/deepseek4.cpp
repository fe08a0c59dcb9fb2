// DeepSeek V4 (Flash, Pro). Per layer: mHC (4 residual streams mixed at the attention and
// MoE sites), low-rank queries, one shared K = V head of 512 with partial interleaved RoPE on
// its last 64 dims, learned attention sinks, a grouped low-rank output projection, and a
// 128-token sliding window on every layer. Layers with compress ratio 4 (CSA) add overlapping
// 4x-compressed entries picked top-k by a lightning indexer; ratio 128 (HCA) adds all
// 128x-compressed entries; ratio 0 is the window alone. FFN: routed experts (sqrtsoftplus
// router) plus one shared expert; the first layers pick their experts by token id.
// References: llama.cpp src/models/deepseek4.cpp (hparams, tensors, graph),
// src/llama-kv-cache-dsv4.cpp (compressor state), conversion/deepseek.py (config -> GGUF);
// transformers models/deepseek_v4 (configuration, modular).
#include <algorithm>

#include "spec/llama.h"

namespace archscope {

namespace {

constexpr int kCsaRatio = 4;
constexpr int kHcaRatio = 128;
constexpr int kHcWidth = 4;  // llama.cpp asserts hc_mult == 4 (its mixing ops are written for 4 streams)

// The facts both sources (GGUF, config.json) provide, gathered before the layers are built.
struct Deepseek4Params {
  int n_layers = 0;            // main layers (the MTP block, when present, is not one of them)
  int heads = 0, kv_heads = 0, head_dim = 0, head_dim_v = 0, rope_dims = 0;
  int q_lora_rank = 0, o_groups = 0, o_lora_rank = 0;
  int window = 0;
  std::vector<int64_t> ratios;  // compress ratio per layer; may be longer than n_layers (MTP entries)
  int indexer_heads = 0, indexer_dim = 0, indexer_top_k = 0;
  int hc = 0, sinkhorn_iters = 0;
  double hc_eps = 1e-6;
  int experts = 0, active_experts = 0, expert_width = 0, shared_experts = 0, hash_layers = 0;
  bool normalize_weights = true;  // expert_weights_norm / norm_topk_prob
  double routed_scale = 1.0;      // expert_weights_scale / routed_scaling_factor
  std::vector<double> swiglu_limits, shared_swiglu_limits;  // per layer (may be empty: no clamp)
  RopeSpec main_rope;      // ratio-0 layers: rope_theta, no scaling
  RopeSpec compress_rope;  // CSA/HCA layers: compress_rope_theta with the config's YaRN
};

// Compressor state for the block being filled, per sequence, in elements (llama.cpp keeps it
// in F32: llama_kv_cache_dsv4 makes llama_dsv4_comp_state kv + score planes).
//   CSA: kv and score of 2*ratio positions x 2*head_dim (overlapping windows), plus the
//        indexer's own compressor: 2*ratio positions x 2*indexer_dim, kv and score.
//   HCA: kv and score of ratio positions x head_dim.
uint64_t compressor_state_elements(const Deepseek4Params& p, int ratio) {
  if (ratio == kCsaRatio) {
    return 2ull * (2 * ratio) * (2ull * p.head_dim) + 2ull * (2 * ratio) * (2ull * p.indexer_dim);
  }
  if (ratio == kHcaRatio) return 2ull * ratio * p.head_dim;
  return 0;
}

// Checks the facts llama.cpp's deepseek4 loader and graph rely on, then makes the layers.
template <class Fail>
void build_layers(const Deepseek4Params& p, ModelSpec& spec, const std::string& ratios_key, Fail&& fail) {
  const auto positive = [&](const char* what, int v) {
    if (v <= 0) fail(std::string(what) + " must be positive (found " + std::to_string(v) + ")");
  };
  positive("layer count", p.n_layers);
  positive("query heads", p.heads);
  positive("head dim", p.head_dim);
  positive("q LoRA rank", p.q_lora_rank);
  positive("output groups", p.o_groups);
  positive("output LoRA rank", p.o_lora_rank);
  positive("sliding window", p.window);
  positive("expert count", p.experts);
  positive("experts per token", p.active_experts);
  positive("expert width", p.expert_width);
  if (p.kv_heads != 1) fail("DeepSeek V4 has one shared K = V head, found " + std::to_string(p.kv_heads) + " KV heads");
  if (p.head_dim_v != p.head_dim) {
    fail("keys and values are one tensor, but the key length (" + std::to_string(p.head_dim) +
         ") differs from the value length (" + std::to_string(p.head_dim_v) + ")");
  }
  if (p.heads % p.o_groups != 0) {
    fail(std::to_string(p.heads) + " query heads do not split into " + std::to_string(p.o_groups) + " output groups");
  }
  if (p.rope_dims <= 0 || p.rope_dims > p.head_dim || p.rope_dims % 2 != 0) {
    fail("RoPE dimension count " + std::to_string(p.rope_dims) + " does not fit a " + std::to_string(p.head_dim) + "-dim head");
  }
  if (p.hc != kHcWidth) fail("hyper-connection count must be 4 (as llama.cpp requires), found " + std::to_string(p.hc));
  positive("Sinkhorn iterations", p.sinkhorn_iters);
  if (p.active_experts > p.experts) {
    fail(std::to_string(p.active_experts) + " experts per token is more than the " + std::to_string(p.experts) + " experts");
  }
  if (p.hash_layers < 0 || p.hash_layers > p.n_layers) {
    fail("hash-routed layer count " + std::to_string(p.hash_layers) + " is out of range for " + std::to_string(p.n_layers) + " layers");
  }
  if (p.ratios.size() < static_cast<size_t>(p.n_layers)) {
    fail(ratios_key + " has " + std::to_string(p.ratios.size()) + " entries but the model has " +
         std::to_string(p.n_layers) + " layers");
  }
  const bool any_csa = std::find(p.ratios.begin(), p.ratios.begin() + p.n_layers, kCsaRatio) != p.ratios.begin() + p.n_layers;
  if (any_csa) {
    positive("indexer heads", p.indexer_heads);
    positive("indexer top-k", p.indexer_top_k);
    // The indexer's keys rotate the same rope_dims dims as the main head (llama.cpp asserts it).
    if (p.indexer_dim < p.rope_dims) {
      fail("indexer key length " + std::to_string(p.indexer_dim) + " is shorter than the " + std::to_string(p.rope_dims) +
           " RoPE dims");
    }
  }

  spec.hc_width = p.hc;
  spec.hc_sinkhorn_iters = p.sinkhorn_iters;
  spec.hc_eps = p.hc_eps;
  spec.q_lora_rank = p.q_lora_rank;
  spec.o_groups = p.o_groups;
  spec.o_lora_rank = p.o_lora_rank;
  spec.tied_embeddings = false;  // llama.cpp requires output.weight
  spec.layers.assign(p.n_layers, LayerSpec{});
  for (int il = 0; il < p.n_layers; ++il) {
    const int64_t ratio = p.ratios[il];
    if (ratio != 0 && ratio != kCsaRatio && ratio != kHcaRatio) {
      fail(ratios_key + "[" + std::to_string(il) + "] is " + std::to_string(ratio) + "; only 0, 4 and 128 are supported");
    }
    LayerSpec& l = spec.layers[il];
    l.index = l.kv_source = il;
    l.attention = ratio == kCsaRatio ? AttentionKind::Csa : ratio == kHcaRatio ? AttentionKind::Hca : AttentionKind::Sliding;
    l.window = p.window;  // every layer attends to the raw K = V of the last `window` positions
    l.compress_ratio = static_cast<int>(ratio);
    l.q_heads = p.heads;
    l.kv_heads = p.kv_heads;
    l.head_dim_k = l.head_dim_v = p.head_dim;
    l.k_equals_v = true;
    l.qk_norm = true;  // q: unweighted RMSNorm per head; kv: weighted RMSNorm (attn_kv_a_norm), both before RoPE
    l.rope = ratio == 0 ? p.main_rope : p.compress_rope;
    l.rope.rotary_dims = p.rope_dims;
    l.rope.rotary_offset = p.head_dim - p.rope_dims;  // the last rope_dims dims rotate
    l.rope.neox = false;                               // LLAMA_ROPE_TYPE_NORM: adjacent pairs
    // YaRN without its magnitude factor: transformers forces attention_factor 1.0, llama.cpp
    // cancels ggml's mscale (dsv4_rope_attn_factor).
    if (l.rope.scaling == RopeScaling::Yarn) l.rope.attn_factor = 1.0;
    if (ratio == kCsaRatio) {
      l.indexer_heads = p.indexer_heads;
      l.indexer_dim = p.indexer_dim;
      l.indexer_top_k = p.indexer_top_k;
    }
    l.state_elements = compressor_state_elements(p, static_cast<int>(ratio));
    l.hc_width = p.hc;
    l.ffn.kind = FfnKind::Moe;
    l.ffn.activation = Activation::Silu;
    l.ffn.experts = p.experts;
    l.ffn.active_experts = p.active_experts;
    l.ffn.expert_width = p.expert_width;
    l.ffn.shared_experts = p.shared_experts;
    l.ffn.shared_width = p.expert_width;  // llama.cpp: ffn_*_shexp are n_ff_exp * n_expert_shared wide
    l.ffn.hash_routed = il < p.hash_layers;
    l.ffn.router_score = RouterScore::SqrtSoftplus;  // weights sqrt(softplus(logits)), also on hash layers
    l.ffn.expert_bias = !l.ffn.hash_routed;          // exp_probs_b; hash layers select by table instead
    l.ffn.normalize_weights = p.normalize_weights;
    l.ffn.routed_scale = p.routed_scale;
    if (static_cast<size_t>(il) < p.swiglu_limits.size()) l.ffn.swiglu_limit = p.swiglu_limits[il];
    if (static_cast<size_t>(il) < p.shared_swiglu_limits.size()) l.ffn.shared_swiglu_limit = p.shared_swiglu_limits[il];
  }
}

int to_int(const GgufMetadataReader& meta, const std::string& suffix, int64_t v) {
  if (v < 0 || v > (int64_t{1} << 31) - 1) meta.fail(meta.key(suffix) + " is out of range (" + std::to_string(v) + ")");
  return static_cast<int>(v);
}

int required_int(const GgufMetadataReader& meta, const std::string& suffix) {
  return to_int(meta, suffix, meta.integer(suffix));
}

// A key llama.cpp reads with get_key_or_arr(..., n_layer_all): one value for every layer,
// or an array of exactly n values.
std::vector<double> per_layer_reals(const GgufMetadataReader& meta, const std::string& suffix, int n) {
  const GgufValue* v = meta.file().find(meta.key(suffix));
  if (!v) meta.fail("missing metadata key " + meta.key(suffix));
  if (!v->is_array()) return std::vector<double>(n, v->as_double(meta.key(suffix)));
  if (v->items.size() != static_cast<size_t>(n)) {
    meta.fail(meta.key(suffix) + " has " + std::to_string(v->items.size()) + " entries but the model has " +
              std::to_string(n) + " layers");
  }
  std::vector<double> out;
  for (const GgufValue& item : v->items) out.push_back(item.as_double(meta.key(suffix)));
  return out;
}

// llama_expert_gating_func_type: LLAMA_EXPERT_GATING_FUNC_TYPE_SQRT_SOFTPLUS
constexpr int64_t kGatingSqrtSoftplus = 4;

void deepseek4_from_gguf(const GgufMetadataReader& meta, ModelSpec& spec) {
  const CommonHparams hp = read_common_hparams(meta);
  apply_common_hparams(hp, spec);  // name, hidden, vocab, context, eps; layers are rebuilt below
  const int n_all = hp.n_layers;

  // An MTP ("nextn") block sits after the main layers; llama.cpp ignores the count when the
  // block's eh_proj tensor is absent (llama_model_deepseek4::load_arch_hparams).
  int nextn = to_int(meta, "nextn_predict_layers", meta.integer_or("nextn_predict_layers", 0));
  if (nextn > n_all) meta.fail(meta.key("nextn_predict_layers") + " is larger than " + meta.key("block_count"));
  if (nextn > 0 && !meta.file().find_tensor("blk." + std::to_string(n_all - nextn) + ".nextn.eh_proj.weight")) nextn = 0;

  Deepseek4Params p;
  p.n_layers = n_all - nextn;
  spec.rms_eps = meta.real("attention.layer_norm_rms_epsilon");  // required for deepseek4
  p.heads = static_cast<int>(hp.q_heads[0]);
  p.kv_heads = static_cast<int>(hp.kv_heads[0]);
  for (int il = 0; il < n_all; ++il) {
    if (hp.q_heads[il] != p.heads || hp.kv_heads[il] != p.kv_heads) {
      meta.fail("head counts differ between layers (layer " + std::to_string(il) + "), which deepseek4 does not support");
    }
  }
  p.head_dim = hp.head_dim_k;
  p.head_dim_v = hp.head_dim_v;
  p.rope_dims = hp.rope_dims;
  p.q_lora_rank = required_int(meta, "attention.q_lora_rank");
  p.window = required_int(meta, "attention.sliding_window");
  p.o_groups = required_int(meta, "attention.output_group_count");
  p.o_lora_rank = required_int(meta, "attention.output_lora_rank");
  p.indexer_heads = required_int(meta, "attention.indexer.head_count");
  p.indexer_dim = required_int(meta, "attention.indexer.key_length");
  p.indexer_top_k = required_int(meta, "attention.indexer.top_k");
  p.hc = required_int(meta, "hyper_connection.count");
  p.sinkhorn_iters = required_int(meta, "hyper_connection.sinkhorn_iterations");
  p.hc_eps = meta.real("hyper_connection.epsilon");
  p.hash_layers = required_int(meta, "hash_layer_count");
  p.experts = hp.experts;
  p.active_experts = hp.active_experts;
  p.expert_width = required_int(meta, "expert_feed_forward_length");
  p.shared_experts = required_int(meta, "expert_shared_count");
  p.routed_scale = meta.real("expert_weights_scale");
  if (!meta.has("expert_weights_norm")) meta.fail("missing metadata key " + meta.key("expert_weights_norm"));
  p.normalize_weights = meta.flag_or("expert_weights_norm", false);
  p.swiglu_limits = per_layer_reals(meta, "swiglu_clamp_exp", n_all);
  // The shared expert's clamp defaults to the routed experts' (llama.cpp).
  p.shared_swiglu_limits = meta.has("swiglu_clamp_shexp") ? per_layer_reals(meta, "swiglu_clamp_shexp", n_all) : p.swiglu_limits;
  if (meta.integer("expert_gating_func") != kGatingSqrtSoftplus) {
    meta.fail(meta.key("expert_gating_func") + " is " + std::to_string(meta.integer("expert_gating_func")) +
              "; deepseek4 expects 4 (sqrtsoftplus)");
  }

  auto ratios = meta.int_array_or("attention.compress_ratios");
  if (!ratios) meta.fail("missing metadata key " + meta.key("attention.compress_ratios"));
  p.ratios = *ratios;
  // llama.cpp checks the list against every block, MTP included.
  if (p.ratios.size() < static_cast<size_t>(n_all)) {
    meta.fail(meta.key("attention.compress_ratios") + " has " + std::to_string(p.ratios.size()) +
              " entries but " + meta.key("block_count") + " is " + std::to_string(n_all));
  }

  // Ratio-0 layers: plain RoPE at rope.freq_base. Compressed layers: compress_rope_freq_base
  // with the file's scaling (YaRN); llama.cpp cancels YaRN's magnitude factor (dsv4_rope_attn_factor).
  p.main_rope = spec.layers.empty() ? RopeSpec{} : spec.layers[0].rope;
  p.compress_rope = p.main_rope;
  p.main_rope.scaling = RopeScaling::None;
  p.main_rope.factor = 1.0;
  p.main_rope.original_context = 0;
  p.compress_rope.theta = meta.real("attention.compress_rope_freq_base");

  const std::string ratios_key = meta.key("attention.compress_ratios");
  build_layers(p, spec, ratios_key, [&](const std::string& problem) { meta.fail(problem); });
}

int config_int(const ConfigReader& config, const std::string& key) {
  const int64_t v = config.integer(key);
  if (v < 0 || v > (int64_t{1} << 31) - 1) config.fail("\"" + key + "\" is out of range (" + std::to_string(v) + ")");
  return static_cast<int>(v);
}

int config_int_or(const ConfigReader& config, const std::string& key, int fallback) {
  return config.has(key) ? config_int(config, key) : fallback;
}

void deepseek4_from_config(const ConfigReader& config, ModelSpec& spec) {
  spec.hidden = config_int(config, "hidden_size");
  spec.vocab = config_int(config, "vocab_size");
  spec.context_length = config_int_or(config, "max_position_embeddings", 0);
  spec.rms_eps = config.real_or("rms_norm_eps", 1e-6);
  if (config.flag_or("tie_word_embeddings", false)) config.fail("tied embeddings are not supported for deepseek_v4");

  Deepseek4Params p;
  p.n_layers = config_int(config, "num_hidden_layers");
  if (p.n_layers > 4096) config.fail("num_hidden_layers is out of range");
  p.heads = config_int(config, "num_attention_heads");
  p.kv_heads = config_int_or(config, "num_key_value_heads", 1);
  p.head_dim = p.head_dim_v = config_int(config, "head_dim");
  p.q_lora_rank = config_int(config, "q_lora_rank");
  p.o_groups = config_int(config, "o_groups");
  p.o_lora_rank = config_int(config, "o_lora_rank");
  p.window = config_int(config, "sliding_window");
  p.indexer_heads = config_int(config, "index_n_heads");
  p.indexer_dim = config_int(config, "index_head_dim");
  p.indexer_top_k = config_int(config, "index_topk");
  p.hc = config_int(config, "hc_mult");
  p.sinkhorn_iters = config_int(config, "hc_sinkhorn_iters");
  p.hc_eps = config.real_or("hc_eps", 1e-6);
  p.swiglu_limits = p.shared_swiglu_limits = std::vector<double>(p.n_layers, config.real_or("swiglu_limit", 0.0));
  p.experts = config_int(config, "n_routed_experts");
  p.active_experts = config_int(config, "num_experts_per_tok");
  p.expert_width = config_int(config, "moe_intermediate_size");
  p.shared_experts = config_int_or(config, "n_shared_experts", 1);
  p.normalize_weights = config.flag_or("norm_topk_prob", true);     // transformers' defaults
  p.routed_scale = config.real_or("routed_scaling_factor", 1.5);
  const std::string scoring = config.text_or("scoring_func", "sqrtsoftplus");  // transformers' default
  if (scoring != "sqrtsoftplus") config.fail("scoring_func is \"" + scoring + "\"; deepseek4 expects \"sqrtsoftplus\"");

  // Per-layer compression: transformers' layer_types with compress_rates when given (they take
  // precedence there), else the published configs' compress_ratios (one entry per layer plus
  // the MTP block).
  std::string ratios_key = "compress_ratios";
  if (!config.has("layer_types")) {
    p.ratios = config.int_array("compress_ratios");
  } else {
    ratios_key = "layer_types";
    int csa = kCsaRatio, hca = kHcaRatio;
    if (const nlohmann::json* rates = config.object_or_null("compress_rates")) {
      ConfigReader r(*rates, config.path());
      csa = config_int_or(r, "compressed_sparse_attention", csa);
      hca = config_int_or(r, "heavily_compressed_attention", hca);
    }
    for (const std::string& type : config.text_array("layer_types")) {
      if (type == "sliding_attention") p.ratios.push_back(0);
      else if (type == "compressed_sparse_attention") p.ratios.push_back(csa);
      else if (type == "heavily_compressed_attention") p.ratios.push_back(hca);
      else config.fail("layer_types has an unknown entry \"" + type + "\"");
    }
  }

  // Hash-routed layers: transformers' mlp_layer_types when given, else num_hash_layers
  // (published configs); transformers defaults to 3.
  if (!config.has("mlp_layer_types")) {
    p.hash_layers = config_int_or(config, "num_hash_layers", 3);
  } else {
    const std::vector<std::string> types = config.text_array("mlp_layer_types");
    while (p.hash_layers < static_cast<int>(types.size()) && types[p.hash_layers] == "hash_moe") ++p.hash_layers;
    for (size_t i = p.hash_layers; i < types.size(); ++i) {
      if (types[i] != "moe") config.fail("mlp_layer_types: hash_moe layers must come first, found \"" + types[i] + "\" at " + std::to_string(i));
    }
  }

  // RoPE: legacy keys (rope_theta for ratio-0 layers; compress_rope_theta plus rope_scaling
  // for compressed layers) or transformers' rope_parameters {"main": ..., "compress": ...}.
  const nlohmann::json* params = config.object_or_null("rope_parameters");
  const bool nested = params && params->contains("main") && (*params)["main"].is_object() &&
                      params->contains("compress") && (*params)["compress"].is_object();
  if (nested) {
    p.main_rope = rope_from_config(config, p.head_dim, "main");
    p.compress_rope = rope_from_config(config, p.head_dim, "compress");
  } else {
    p.main_rope.theta = config.real_or("rope_theta", 10000.0);
    p.compress_rope = rope_from_config(config, p.head_dim);
    p.compress_rope.theta = config.real_or("compress_rope_theta", 160000.0);
  }
  if (config.has("qk_rope_head_dim")) {
    p.rope_dims = config_int(config, "qk_rope_head_dim");
  } else if (config.has("partial_rotary_factor")) {
    p.rope_dims = static_cast<int>(p.head_dim * config.real("partial_rotary_factor"));
  } else {
    p.rope_dims = p.compress_rope.rotary_dims;  // rope_parameters' partial_rotary_factor, else the whole head
  }

  build_layers(p, spec, ratios_key, [&](const std::string& problem) { config.fail(problem); });
}

// llama.cpp's deepseek4 tensors (load_arch_tensors), main layers only: the converter skips
// the MTP block in a normal export, and the published totals do not count it.
std::vector<TensorSpec> deepseek4_tensors(const ModelSpec& spec) {
  const uint64_t d = spec.hidden, vocab = spec.vocab, hc = spec.hc_width;
  const uint64_t hc_dim = hc * d, hc_mix = (2 + hc) * hc;  // 24 mixing numbers for 4 streams
  const uint64_t qr = spec.q_lora_rank, og = spec.o_groups, olr = spec.o_lora_rank;
  TensorList t;
  t.global("token_embd", {d, vocab});
  t.global("output_norm", {d});
  t.global("output", {d, vocab});
  t.global("output_hc_fn", {hc_dim, hc});
  t.global("output_hc_base", {hc});
  t.global("output_hc_scale", {1});
  for (const LayerSpec& l : spec.layers) {
    const int i = l.index;
    const uint64_t heads = l.q_heads, hd = l.head_dim_k;
    t.layer(i, "attn_norm", {d});
    t.layer(i, "attn_sinks", {heads});
    t.layer(i, "attn_q_a", {d, qr});
    t.layer(i, "attn_q_a_norm", {qr});
    t.layer(i, "attn_q_b", {qr, heads * hd});
    t.layer(i, "attn_kv", {d, hd});
    t.layer(i, "attn_kv_a_norm", {hd});
    t.layer(i, "attn_output_a", {heads * hd / og, og * olr});  // file shape; llama.cpp views it as {.., olr, og}
    t.layer(i, "attn_output_b", {og * olr, d});
    for (const char* site : {"attn", "ffn"}) {
      t.layer(i, std::string("hc_") + site + "_fn", {hc_dim, hc_mix});
      t.layer(i, std::string("hc_") + site + "_base", {hc_mix});
      t.layer(i, std::string("hc_") + site + "_scale", {3});
    }
    if (l.compress_ratio != 0) {
      const uint64_t ratio = l.compress_ratio, coff = ratio == kCsaRatio ? 2 : 1;  // CSA windows overlap
      t.layer(i, "attn_compressor_kv", {d, coff * hd});
      t.layer(i, "attn_compressor_gate", {d, coff * hd});
      t.layer(i, "attn_compressor_ape", {coff * hd, ratio});
      t.layer(i, "attn_compressor_norm", {hd});
      if (ratio == kCsaRatio) {
        const uint64_t ih = l.indexer_heads, id = l.indexer_dim;
        t.layer(i, "indexer.proj", {d, ih});
        t.layer(i, "indexer.attn_q_b", {qr, ih * id});
        t.layer(i, "indexer_compressor_kv", {d, 2 * id});
        t.layer(i, "indexer_compressor_gate", {d, 2 * id});
        t.layer(i, "indexer_compressor_ape", {2 * id, ratio});
        t.layer(i, "indexer_compressor_norm", {id});
      }
    }
    const uint64_t experts = l.ffn.experts, width = l.ffn.expert_width, shared = uint64_t(l.ffn.shared_experts) * width;
    t.layer(i, "ffn_gate_inp", {d, experts});
    if (l.ffn.hash_routed) {
      t.layer(i, "ffn_gate_tid2eid", {uint64_t(l.ffn.active_experts), vocab});  // I32 expert ids per token
    } else {
      t.layer(i, "exp_probs_b", {experts}, ".bias");
    }
    t.layer(i, "ffn_norm", {d});
    t.layer(i, "ffn_gate_exps", {d, width, experts});
    t.layer(i, "ffn_down_exps", {width, d, experts});
    t.layer(i, "ffn_up_exps", {d, width, experts});
    t.layer(i, "ffn_gate_shexp", {d, shared});
    t.layer(i, "ffn_down_shexp", {shared, d});
    t.layer(i, "ffn_up_shexp", {d, shared});
  }
  return t.take();
}

}  // namespace

const Architecture kDeepseek4Architecture{"deepseek4", {"deepseek_v4"}, deepseek4_from_gguf, deepseek4_from_config,
                                          deepseek4_tensors};

}  // namespace archscope
