// Llama 3: token embedding -> L x [RMSNorm, GQA attention with RoPE, RMSNorm, SwiGLU] -> head.
#include "spec/llama.h"

namespace archscope {

void llama_like_from_gguf(const GgufMetadataReader& meta, ModelSpec& spec) {
  const CommonHparams hp = read_common_hparams(meta);
  apply_common_hparams(hp, spec);
  // Llama 3 stores its frequency scaling as a rope_freqs tensor, not as metadata.
  const bool freq_factors = meta.file().find_tensor("rope_freqs.weight") != nullptr;
  for (LayerSpec& l : spec.layers) {
    l.rope.neox = false;  // llama.cpp LLAMA_ROPE_TYPE_NORM: adjacent pairs
    l.rope.freq_factors = freq_factors;
    l.ffn.activation = Activation::Silu;
    if (hp.experts > 0) meta.fail("mixture-of-experts llama files are not supported");
  }
  spec.tied_embeddings = meta.file().find_tensor("output.weight") == nullptr;
}

RopeSpec rope_from_config(const ConfigReader& config, int head_dim, const std::string& layer_type) {
  RopeSpec rope;
  rope.rotary_dims = head_dim;
  rope.theta = config.real_or("rope_theta", 10000.0);
  const nlohmann::json* params = config.object_or_null("rope_parameters");
  if (params && !layer_type.empty() && params->contains(layer_type) && (*params)[layer_type].is_object()) {
    params = &(*params)[layer_type];
  }
  if (!params) params = config.object_or_null("rope_scaling");
  if (!params) return rope;

  ConfigReader p(*params, config.path());
  rope.theta = p.real_or("rope_theta", rope.theta);
  const std::string type = p.text_or("rope_type", p.text_or("type", "default"));
  if (p.has("partial_rotary_factor")) {
    rope.rotary_dims = static_cast<int>(head_dim * p.real("partial_rotary_factor"));
  }
  rope.factor = p.real_or("factor", 1.0);
  rope.original_context = static_cast<int>(p.integer_or("original_max_position_embeddings", 0));
  if (type == "llama3") {
    rope.scaling = RopeScaling::Llama3;
    rope.freq_factors = true;
    rope.low_freq_factor = p.real_or("low_freq_factor", 1.0);
    rope.high_freq_factor = p.real_or("high_freq_factor", 4.0);
  } else if (type == "yarn") {
    rope.scaling = RopeScaling::Yarn;
    rope.beta_fast = p.real_or("beta_fast", 32.0);
    rope.beta_slow = p.real_or("beta_slow", 1.0);
  } else if (type == "linear") {
    rope.scaling = RopeScaling::Linear;
  } else if (type == "proportional") {
    rope.freq_factors = true;  // Gemma 4: computed over the whole head, only a share rotates
  } else if (type != "default") {
    config.fail("unsupported rope type \"" + type + "\"");
  }
  return rope;
}

void llama_like_from_config(const ConfigReader& config, ModelSpec& spec) {
  spec.hidden = static_cast<int>(config.integer("hidden_size"));
  spec.vocab = static_cast<int>(config.integer("vocab_size"));
  spec.context_length = static_cast<int>(config.integer_or("max_position_embeddings", 0));
  spec.rms_eps = config.real_or("rms_norm_eps", 1e-6);
  spec.tied_embeddings = config.flag_or("tie_word_embeddings", false);
  const int n_layers = static_cast<int>(config.integer("num_hidden_layers"));
  const int q_heads = static_cast<int>(config.integer("num_attention_heads"));
  const int kv_heads = static_cast<int>(config.integer_or("num_key_value_heads", q_heads));
  if (n_layers <= 0 || n_layers > 4096) config.fail("num_hidden_layers is out of range");
  if (q_heads <= 0) config.fail("num_attention_heads must be positive");
  const int head_dim = static_cast<int>(config.integer_or("head_dim", spec.hidden / q_heads));
  const RopeSpec rope = rope_from_config(config, head_dim);
  const int ffn = static_cast<int>(config.integer("intermediate_size"));

  spec.layers.assign(n_layers, LayerSpec{});
  for (int il = 0; il < n_layers; ++il) {
    LayerSpec& l = spec.layers[il];
    l.index = l.kv_source = il;
    l.q_heads = q_heads;
    l.kv_heads = kv_heads;
    l.head_dim_k = l.head_dim_v = head_dim;
    l.rope = rope;
    l.rope.neox = false;
    l.ffn.dense_width = ffn;
    l.ffn.activation = Activation::Silu;
  }
}

std::vector<TensorSpec> llama_like_tensors(const ModelSpec& spec) {
  const uint64_t d = spec.hidden;
  TensorList t;
  t.global("token_embd", {d, uint64_t(spec.vocab)});
  for (const LayerSpec& l : spec.layers) {
    const uint64_t q = uint64_t(l.q_heads) * l.head_dim_k, k = uint64_t(l.kv_heads) * l.head_dim_k,
                   v = uint64_t(l.kv_heads) * l.head_dim_v, o = uint64_t(l.q_heads) * l.head_dim_v;
    t.layer(l.index, "attn_norm", {d});
    t.layer(l.index, "attn_q", {d, q});
    t.layer(l.index, "attn_k", {d, k});
    t.layer(l.index, "attn_v", {d, v});
    t.layer(l.index, "attn_output", {o, d});
    if (l.qk_norm) {
      t.layer(l.index, "attn_q_norm", {uint64_t(l.head_dim_k)});
      t.layer(l.index, "attn_k_norm", {uint64_t(l.head_dim_k)});
    }
    t.layer(l.index, "ffn_norm", {d});
    t.layer(l.index, "ffn_gate", {d, uint64_t(l.ffn.dense_width)});
    t.layer(l.index, "ffn_up", {d, uint64_t(l.ffn.dense_width)});
    t.layer(l.index, "ffn_down", {uint64_t(l.ffn.dense_width), d});
  }
  t.global("output_norm", {d});
  if (!spec.tied_embeddings) t.global("output", {d, uint64_t(spec.vocab)});
  if (!spec.layers.empty() && spec.layers[0].rope.freq_factors) t.global("rope_freqs", {uint64_t(spec.layers[0].rope.rotary_dims / 2)});
  return t.take();
}

const Architecture kLlamaArchitecture{"llama", {"llama"}, llama_like_from_gguf, llama_like_from_config, llama_like_tensors};

}  // namespace archscope
