// The hyperparameters every llama.cpp architecture shares, read once.
#include <filesystem>

#include "spec/architecture.h"

namespace archscope {

namespace {
int to_int(const GgufMetadataReader& meta, const std::string& what, int64_t v) {
  if (v < 0 || v > (int64_t{1} << 31) - 1) meta.fail(what + " is out of range (" + std::to_string(v) + ")");
  return static_cast<int>(v);
}
}  // namespace

CommonHparams read_common_hparams(const GgufMetadataReader& meta) {
  CommonHparams hp;
  hp.name = meta.text_or("general.name").value_or(std::filesystem::path(meta.path()).stem().string());
  hp.n_layers = to_int(meta, meta.key("block_count"), meta.integer("block_count"));
  if (hp.n_layers <= 0 || hp.n_layers > 4096) meta.fail(meta.key("block_count") + " is out of range (" + std::to_string(hp.n_layers) + ")");
  hp.hidden = to_int(meta, meta.key("embedding_length"), meta.integer("embedding_length"));
  hp.context_length = to_int(meta, meta.key("context_length"), meta.integer("context_length"));

  if (auto v = meta.integer_or("vocab_size")) {
    hp.vocab = to_int(meta, meta.key("vocab_size"), *v);
  } else if (const GgufValue* tokens = meta.file().find("tokenizer.ggml.tokens"); tokens && tokens->is_array()) {
    hp.vocab = to_int(meta, "tokenizer.ggml.tokens", static_cast<int64_t>(tokens->items.size()));
  } else if (const GgufTensor* embd = meta.file().find_tensor("token_embd.weight"); embd && embd->shape.size() == 2) {
    hp.vocab = to_int(meta, "token_embd.weight", static_cast<int64_t>(embd->shape[1]));
  } else {
    meta.fail("cannot tell the vocabulary size: no " + meta.key("vocab_size") + " and no tokenizer.ggml.tokens");
  }
  hp.rms_eps = meta.real_or("attention.layer_norm_rms_epsilon", 1e-6);

  hp.q_heads = meta.per_layer("attention.head_count", hp.n_layers);
  hp.kv_heads = meta.per_layer_or("attention.head_count_kv", hp.n_layers).value_or(hp.q_heads);
  hp.ffn_width = meta.per_layer_or("feed_forward_length", hp.n_layers).value_or(std::vector<int64_t>(hp.n_layers, 0));
  for (int il = 0; il < hp.n_layers; ++il) {
    for (int64_t v : {hp.q_heads[il], hp.kv_heads[il], hp.ffn_width[il]}) {
      to_int(meta, "layer " + std::to_string(il) + " head or width count", v);
    }
  }

  // Head dims default to hidden / heads, as in llama.cpp.
  int64_t first_heads = 0;
  for (int64_t h : hp.q_heads) first_heads = first_heads ? first_heads : h;
  const int64_t default_head = first_heads > 0 ? hp.hidden / first_heads : 0;
  hp.head_dim_k = to_int(meta, meta.key("attention.key_length"), meta.integer_or("attention.key_length", default_head));
  hp.head_dim_v = to_int(meta, meta.key("attention.value_length"), meta.integer_or("attention.value_length", default_head));
  hp.head_dim_k_swa = to_int(meta, meta.key("attention.key_length_swa"), meta.integer_or("attention.key_length_swa", hp.head_dim_k));
  hp.head_dim_v_swa = to_int(meta, meta.key("attention.value_length_swa"), meta.integer_or("attention.value_length_swa", hp.head_dim_v));
  hp.rope_dims = to_int(meta, meta.key("rope.dimension_count"), meta.integer_or("rope.dimension_count", hp.head_dim_k));
  hp.rope_dims_swa = to_int(meta, meta.key("rope.dimension_count_swa"), meta.integer_or("rope.dimension_count_swa", hp.rope_dims));
  hp.rope_theta = meta.real_or("rope.freq_base", 10000.0);
  hp.rope_theta_swa = meta.real_or("rope.freq_base_swa", 0.0);

  const std::string scaling = meta.text_or(meta.key("rope.scaling.type")).value_or("none");
  if (scaling == "yarn") hp.rope_scaling = RopeScaling::Yarn;
  else if (scaling == "linear") hp.rope_scaling = RopeScaling::Linear;
  else if (scaling == "none" || scaling.empty()) hp.rope_scaling = RopeScaling::None;
  else if (scaling == "longrope") hp.rope_scaling = RopeScaling::None;
  else meta.fail(meta.key("rope.scaling.type") + " has an unknown value \"" + scaling + "\"");
  hp.rope_factor = meta.real_or("rope.scaling.factor", meta.real_or("rope.scale_linear", 1.0));
  if (hp.rope_factor == 0.0) hp.rope_factor = 1.0;
  if (hp.rope_scaling == RopeScaling::Linear && hp.rope_factor == 1.0) hp.rope_scaling = RopeScaling::None;
  hp.rope_original_context = to_int(meta, meta.key("rope.scaling.original_context_length"),
                                    meta.integer_or("rope.scaling.original_context_length", hp.context_length));
  hp.yarn_beta_fast = meta.real_or("rope.scaling.yarn_beta_fast", 32.0);
  hp.yarn_beta_slow = meta.real_or("rope.scaling.yarn_beta_slow", 1.0);

  hp.window = to_int(meta, meta.key("attention.sliding_window"), meta.integer_or("attention.sliding_window", 0));
  hp.experts = to_int(meta, meta.key("expert_count"), meta.integer_or("expert_count", 0));
  auto used = meta.per_layer_or("expert_used_count", hp.n_layers);
  if (used) for (int64_t u : *used) hp.active_experts = std::max(hp.active_experts, to_int(meta, meta.key("expert_used_count"), u));
  // Some converters write expert widths per layer; the widest describes the model.
  if (auto widths = meta.per_layer_or("expert_feed_forward_length", hp.n_layers)) {
    for (int64_t w : *widths) hp.expert_width = std::max(hp.expert_width, to_int(meta, meta.key("expert_feed_forward_length"), w));
  }
  hp.shared_experts = to_int(meta, meta.key("expert_shared_count"), meta.integer_or("expert_shared_count", 0));
  hp.shared_width = to_int(meta, meta.key("expert_shared_feed_forward_length"), meta.integer_or("expert_shared_feed_forward_length", 0));
  if (hp.active_experts > hp.experts) {
    meta.fail(meta.key("expert_used_count") + " (" + std::to_string(hp.active_experts) + ") is larger than " +
              meta.key("expert_count") + " (" + std::to_string(hp.experts) + ")");
  }
  return hp;
}

void apply_common_hparams(const CommonHparams& hp, ModelSpec& spec) {
  spec.name = hp.name;
  spec.hidden = hp.hidden;
  spec.vocab = hp.vocab;
  spec.context_length = hp.context_length;
  spec.rms_eps = hp.rms_eps;
  spec.layers.assign(hp.n_layers, LayerSpec{});
  for (int il = 0; il < hp.n_layers; ++il) {
    LayerSpec& l = spec.layers[il];
    l.index = il;
    l.kv_source = il;
    l.q_heads = static_cast<int>(hp.q_heads[il]);
    l.kv_heads = static_cast<int>(hp.kv_heads[il]);
    l.head_dim_k = hp.head_dim_k;
    l.head_dim_v = hp.head_dim_v;
    l.rope.theta = hp.rope_theta;
    l.rope.rotary_dims = hp.rope_dims;
    l.rope.scaling = hp.rope_scaling;
    l.rope.factor = hp.rope_factor;
    l.rope.original_context = hp.rope_original_context;
    l.rope.beta_fast = hp.yarn_beta_fast;
    l.rope.beta_slow = hp.yarn_beta_slow;
    l.ffn.dense_width = static_cast<int>(hp.ffn_width[il]);
  }
}

}  // namespace archscope
