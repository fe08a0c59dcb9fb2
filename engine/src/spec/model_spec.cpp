#include "archscope/model_spec.h"

namespace archscope {

const char* to_string(AttentionKind kind) {
  switch (kind) {
    case AttentionKind::Global: return "global";
    case AttentionKind::Sliding: return "sliding";
    case AttentionKind::Csa: return "csa";
    case AttentionKind::Hca: return "hca";
    case AttentionKind::Cca: return "cca";
  }
  return "?";
}

const char* to_string(RopeScaling scaling) {
  switch (scaling) {
    case RopeScaling::None: return "none";
    case RopeScaling::Linear: return "linear";
    case RopeScaling::Yarn: return "yarn";
    case RopeScaling::Llama3: return "llama3";
  }
  return "?";
}

const char* to_string(Activation act) {
  switch (act) {
    case Activation::Silu: return "silu";
    case Activation::GeluTanh: return "gelu_tanh";
    case Activation::Gelu: return "gelu";
  }
  return "?";
}

const char* to_string(WeightComponent component) {
  switch (component) {
    case WeightComponent::TokenEmbedding: return "token_embedding";
    case WeightComponent::PerLayerEmbedding: return "per_layer_embedding";
    case WeightComponent::Attention: return "attention";
    case WeightComponent::Ffn: return "ffn";
    case WeightComponent::RoutedExperts: return "routed_experts";
    case WeightComponent::SharedExperts: return "shared_experts";
    case WeightComponent::Router: return "router";
    case WeightComponent::Norms: return "norms";
    case WeightComponent::HyperConnection: return "hyper_connection";
    case WeightComponent::Output: return "output";
    case WeightComponent::Other: return "other";
  }
  return "?";
}

namespace {
bool has(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

// "blk.3.proj.weight" -> "proj.weight"; "" for names outside the blocks.
std::string block_part(const std::string& name) {
  if (name.rfind("blk.", 0) != 0) return "";
  const size_t dot = name.find('.', 4);
  return dot == std::string::npos ? "" : name.substr(dot + 1);
}
bool starts(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }
}  // namespace

// Understands llama.cpp names (blk.N.ffn_up_exps) and Hugging Face names
// (model.layers.N.mlp.experts.3.up_proj) so safetensors folders are reported too.
WeightComponent classify_tensor(const std::string& name) {
  if (has(name, "per_layer_token_embd") || has(name, "embed_tokens_per_layer")) return WeightComponent::PerLayerEmbedding;
  const std::string part = block_part(name);
  if (has(name, "per_layer_model_proj") || has(name, "per_layer_proj_norm") || has(name, "per_layer_projection") ||
      starts(part, "inp_gate.") || starts(part, "proj.") || starts(part, "post_norm.") ||
      has(name, "per_layer_input_gate") || has(name, "post_per_layer_input_norm")) {
    return WeightComponent::PerLayerEmbedding;
  }
  if (name.rfind("token_embd", 0) == 0 || has(name, "embed_tokens") || has(name, "wte")) return WeightComponent::TokenEmbedding;
  if (name.rfind("output.", 0) == 0 || has(name, "lm_head")) return WeightComponent::Output;
  if (has(name, "hc_") || has(name, "hyper_conn")) return WeightComponent::HyperConnection;
  if (has(name, "_exps") || has(name, ".experts.") || has(name, "exp_probs_b")) return WeightComponent::RoutedExperts;
  if (has(name, "_shexp") || has(name, "shared_expert") || has(name, "shared_mlp")) return WeightComponent::SharedExperts;
  if (has(name, "ffn_gate_inp") || has(name, "tid2eid") || has(name, "router") || has(name, "mlp.gate.")) return WeightComponent::Router;
  if (has(name, "norm") || has(name, "layernorm")) return WeightComponent::Norms;
  if (has(name, "attn") || has(name, "self_attn") || has(name, "indexer") || has(name, "compressor")) return WeightComponent::Attention;
  if (has(name, "ffn") || has(name, "mlp")) return WeightComponent::Ffn;
  return WeightComponent::Other;
}

}  // namespace archscope
