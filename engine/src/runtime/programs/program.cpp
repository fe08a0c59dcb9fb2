#include "runtime/programs/program.h"

#include "archscope/error.h"

namespace archscope {

Graph build_step_graph(const ProgramInputs& in) {
  const std::string& arch = in.spec.architecture;
  if (arch == "llama" || arch == "qwen3") return build_llama_graph(in);
  if (arch == "gemma4") {
    for (const LayerSpec& l : in.spec.layers) {
      if (l.ffn.kind == FfnKind::Moe) throw Error("running Gemma 4 MoE models is not supported yet (inspect works)");
    }
    return build_gemma4_graph(in);
  }
  throw Error("running " + arch + " models is not supported yet (inspect works)");
}

reference::RopeParams rope_params(const RopeSpec& rope) {
  reference::RopeParams p;
  p.rotary_dims = rope.rotary_dims;
  p.rotary_offset = rope.rotary_offset;
  p.neox = rope.neox;
  p.theta = static_cast<float>(rope.theta);
  p.original_context = rope.original_context;
  p.beta_fast = static_cast<float>(rope.beta_fast);
  p.beta_slow = static_cast<float>(rope.beta_slow);
  if (rope.scaling == RopeScaling::Linear || rope.scaling == RopeScaling::Yarn) {
    p.freq_scale = static_cast<float>(1.0 / rope.factor);
  }
  if (rope.scaling == RopeScaling::Yarn) {
    p.ext_factor = 1.0f;  // llama.cpp: yarn_ext_factor defaults to 1 for YaRN models
    p.attn_factor = rope.attn_factor > 0.0 ? static_cast<float>(rope.attn_factor) : 1.0f;
  }
  return p;
}

}  // namespace archscope
