// Qwen3: the Llama decoder plus RMSNorm on every query and key head before RoPE, and
// NeoX (split-halves) RoPE.
#include "spec/llama.h"

namespace archscope {

namespace {
void add_qwen3_traits(ModelSpec& spec) {
  for (LayerSpec& l : spec.layers) {
    l.qk_norm = true;
    l.rope.neox = true;
  }
}
void qwen3_from_gguf(const GgufMetadataReader& meta, ModelSpec& spec) {
  llama_like_from_gguf(meta, spec);
  add_qwen3_traits(spec);
}
void qwen3_from_config(const ConfigReader& config, ModelSpec& spec) {
  llama_like_from_config(config, spec);
  add_qwen3_traits(spec);
}
}  // namespace

const Architecture kQwen3Architecture{"qwen3", {"qwen3"}, qwen3_from_gguf, qwen3_from_config, llama_like_tensors};

}  // namespace archscope
