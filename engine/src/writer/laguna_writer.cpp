// Tiny Laguna models: the keys llama.cpp's converter writes for LagunaForCausalLM
// (conversion/laguna.py on top of TextModel.set_gguf_parameters) and llama_model_laguna
// reads. The tiny preset keeps XS.2's features at toy sizes: per-layer query heads (4 on
// global layers, 8 on sliding ones, 2 KV heads), a window of 8 tokens so short runs cross
// it, YaRN over half the head on global layers, a per-head softplus output gate, one dense
// lead layer, then MoE layers of 8 sigmoid-routed experts (top 2) plus a shared expert.
#include "writer/tiny_model.h"

namespace archscope {

namespace {

struct LagunaShape {
  int hidden, layers, global_heads, sliding_heads, kv_heads, head_dim, dense_ffn, experts, top_k, expert_ffn,
      shared_ffn, window, context, vocab;
};

LagunaShape laguna_shape(const std::string&) { return {128, 5, 4, 8, 2, 32, 256, 8, 2, 64, 64, 8, 512, 512}; }

TinyModelPlan laguna_plan(const std::string& preset) {
  const LagunaShape s = laguna_shape(preset);
  ModelSpec spec;
  spec.name = "archscope " + preset + " laguna";
  spec.hidden = s.hidden;
  spec.context_length = s.context;
  spec.rms_eps = 1e-6;
  spec.tied_embeddings = false;
  spec.layers.resize(s.layers);
  for (int il = 0; il < s.layers; ++il) {
    LayerSpec& l = spec.layers[il];
    const bool global = il % 4 == 0;  // llama.cpp's pattern for a period of 4, full attention first
    l.index = l.kv_source = il;
    l.attention = global ? AttentionKind::Global : AttentionKind::Sliding;
    l.window = global ? 0 : s.window;
    l.q_heads = global ? s.global_heads : s.sliding_heads;
    l.kv_heads = s.kv_heads;
    l.head_dim_k = l.head_dim_v = s.head_dim;
    l.qk_norm = true;
    l.attn_output_gate = true;
    l.attn_gate_per_head = true;
    l.rope.neox = true;
    if (global) {  // as XS.2: YaRN x32 from 4096 over half the head, theta 500k
      l.rope.theta = 500000.0;
      l.rope.rotary_dims = s.head_dim / 2;
      l.rope.scaling = RopeScaling::Yarn;
      l.rope.factor = 32.0;
      l.rope.original_context = 4096;
      l.rope.attn_factor = 1.0;
    } else {
      l.rope.theta = 10000.0;
      l.rope.rotary_dims = s.head_dim;
    }
    FfnSpec& f = l.ffn;
    f.activation = Activation::Silu;
    if (il == 0) {
      f.dense_width = s.dense_ffn;
      continue;
    }
    f.kind = FfnKind::Moe;
    f.experts = s.experts;
    f.active_experts = s.top_k;
    f.expert_width = s.expert_ffn;
    f.shared_experts = 1;
    f.shared_width = s.shared_ffn;
    f.router_score = RouterScore::Sigmoid;
    f.expert_bias = true;
    f.normalize_weights = true;
    f.routed_scale = 2.5;
  }
  return {spec, small_vocab(SmallVocabStyle::Llama3, s.vocab, kLlama3ChatTemplate)};
}

// The first layer of a kind (layer 0 when there is none).
const LayerSpec& first_layer(const ModelSpec& spec, bool (*is)(const LayerSpec&)) {
  for (const LayerSpec& l : spec.layers) {
    if (is(l)) return l;
  }
  return spec.layers.at(0);
}

void laguna_metadata(const ModelSpec& spec, GgufWriter& w) {
  const LayerSpec& global = first_layer(spec, [](const LayerSpec& l) { return l.attention == AttentionKind::Global; });
  const LayerSpec& sliding = first_layer(spec, [](const LayerSpec& l) { return l.attention == AttentionKind::Sliding; });
  const FfnSpec& moe = first_layer(spec, [](const LayerSpec& l) { return l.ffn.kind == FfnKind::Moe; }).ffn;
  int leading_dense = 0;
  while (leading_dense < spec.layer_count() && spec.layers[leading_dense].ffn.kind == FfnKind::Dense) ++leading_dense;
  write_common_keys(spec, w);
  // LagunaModel.set_gguf_parameters: head_count becomes the per-layer array.
  std::vector<int32_t> heads;
  for (const LayerSpec& l : spec.layers) heads.push_back(l.q_heads);
  w.set_i32_array("laguna.attention.head_count", heads);
  w.set_f32("laguna.rope.freq_base_swa", static_cast<float>(sliding.rope.theta));
  w.set_string("laguna.rope.scaling.type", "yarn");
  w.set_f32("laguna.rope.scaling.factor", static_cast<float>(global.rope.factor));
  w.set_u32("laguna.rope.scaling.original_context_length", static_cast<uint32_t>(global.rope.original_context));
  // Written by the converter from XS.2's config, read by llama.cpp's laguna loader: neither
  // (it runs with beta_fast 32 and magnitude 1; so does archscope).
  w.set_f32("laguna.rope.scaling.yarn_attn_factor", 1.0f);
  w.set_f32("laguna.rope.scaling.yarn_beta_fast", 64.0f);
  w.set_f32("laguna.rope.scaling.yarn_beta_slow", 1.0f);
  w.set_u32("laguna.attention.key_length", static_cast<uint32_t>(global.head_dim_k));
  w.set_u32("laguna.attention.value_length", static_cast<uint32_t>(global.head_dim_v));
  w.set_u32("laguna.vocab_size", static_cast<uint32_t>(spec.vocab));
  w.set_u32("laguna.attention.sliding_window", static_cast<uint32_t>(sliding.window));
  w.set_u32("laguna.expert_count", static_cast<uint32_t>(moe.experts));
  w.set_u32("laguna.expert_used_count", static_cast<uint32_t>(moe.active_experts));
  w.set_u32("laguna.expert_feed_forward_length", static_cast<uint32_t>(moe.expert_width));
  w.set_u32("laguna.expert_shared_feed_forward_length", static_cast<uint32_t>(moe.shared_width));
  w.set_bool("laguna.expert_weights_norm", moe.normalize_weights);
  w.set_f32("laguna.expert_weights_scale", static_cast<float>(moe.routed_scale));
  w.set_u32("laguna.expert_gating_func", 2);  // sigmoid
  w.set_u32("laguna.leading_dense_block_count", static_cast<uint32_t>(leading_dense));
  w.set_u32("laguna.rope.dimension_count", static_cast<uint32_t>(global.rope.rotary_dims));
  w.set_u32("laguna.rope.dimension_count_swa", static_cast<uint32_t>(sliding.rope.rotary_dims));
}

}  // namespace

const TinyArchitectureWriter kLagunaTinyWriter{"laguna", {"tiny"}, {{"xs2", "laguna-xs.2.json"}}, laguna_plan, laguna_metadata};

}  // namespace archscope
