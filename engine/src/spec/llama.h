// The plain grouped-query decoder (Llama 3); Qwen3 reuses it with QK-norm.
#pragma once

#include "spec/architecture.h"

namespace archscope {

void llama_like_from_gguf(const GgufMetadataReader& meta, ModelSpec& spec);
void llama_like_from_config(const ConfigReader& config, ModelSpec& spec);
std::vector<TensorSpec> llama_like_tensors(const ModelSpec& spec);

// RoPE from a config: the legacy keys (rope_theta, rope_scaling) or transformers'
// rope_parameters object (optionally one object per layer type, e.g. "sliding_attention").
RopeSpec rope_from_config(const ConfigReader& config, int head_dim, const std::string& layer_type = "");

}  // namespace archscope
