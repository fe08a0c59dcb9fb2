#include "runtime/programs/program.h"

#include <cmath>

#include "archscope/error.h"

namespace archscope {

Graph build_step_graph(const ProgramInputs& in) {
  const std::string& arch = in.spec.architecture;
  if (arch == "llama" || arch == "qwen3") return build_llama_graph(in);
  if (arch == "gemma4") return build_gemma4_graph(in);
  if (arch == "laguna") return build_laguna_graph(in);
  if (arch == "deepseek4") return build_deepseek4_graph(in);
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
    // ggml's rope multiplies cos/sin by attn_factor * (1 + 0.1 ln factor); llama.cpp divides
    // its attn_factor by that, so the net magnitude is the spec's (default: that very factor).
    const double ggml_mscale = 1.0 + 0.1 * std::log(rope.factor);
    p.attn_factor = rope.attn_factor > 0.0 ? static_cast<float>(rope.attn_factor / ggml_mscale) : 1.0f;
  }
  return p;
}

int TensorPool::get(const std::string& name, int64_t cols) {
  auto [it, added] = ids_.try_emplace({name, cols}, -1);
  if (added) it->second = graph_.add_tensor(name + "." + std::to_string(cols), cols);
  return it->second;
}

void add_output_head(Graph& g, const ModelSpec& spec, const ModelWeights& w, int x) {
  const int last = g.add_tensor("last", spec.hidden, false);
  const int last_norm = g.add_tensor("last_norm", spec.hidden, false);
  g.logits = g.add_tensor("logits", spec.vocab, false);
  add_op(g, OpKind::LastRow, last, x);
  add_op(g, OpKind::RmsNorm, last_norm, last, -1, w.get("output_norm")).eps = static_cast<float>(spec.rms_eps);
  const int head = w.find("output") >= 0 ? w.get("output") : w.get("token_embd");
  add_op(g, OpKind::MatMul, g.logits, last_norm, -1, head);
  if (spec.final_logit_softcap > 0.0) {
    add_op(g, OpKind::Softcap, g.logits, g.logits).scalar = static_cast<float>(spec.final_logit_softcap);
  }
}

Op& add_op(Graph& g, OpKind kind, int out, int a, int b, int weight, int layer) {
  Op op;
  op.kind = kind;
  op.out = out;
  op.a = a;
  op.b = b;
  op.weight = weight;
  op.layer = layer;
  g.ops.push_back(op);
  return g.ops.back();
}

std::string route_tensor_name(int layer) { return "blk." + std::to_string(layer) + ".ffn_route"; }
std::string hyper_tensor_name(int layer, const std::string& site) {
  return "blk." + std::to_string(layer) + ".hc_" + site + "_weights";
}

namespace {
reference::RouterScoreFn router_score_fn(RouterScore score) {
  switch (score) {
    case RouterScore::Softmax: return reference::RouterScoreFn::Softmax;
    case RouterScore::Sigmoid: return reference::RouterScoreFn::Sigmoid;
    case RouterScore::SqrtSoftplus: return reference::RouterScoreFn::SqrtSoftplus;
  }
  return reference::RouterScoreFn::Softmax;
}
}  // namespace

void add_routed_experts(Graph& g, TensorPool& pool, const ModelWeights& w, const LayerSpec& l, int64_t hidden, int h,
                        int out) {
  const FfnSpec& f = l.ffn;
  const int il = l.index;
  if (f.kind != FfnKind::Moe || f.experts < 1 || f.active_experts < 1 || f.active_experts > f.experts) {
    throw Error("layer " + std::to_string(il) + ": routing to " + std::to_string(f.active_experts) + " of " +
                std::to_string(f.experts) + " experts is not possible");
  }
  if (f.skip_expert || f.router_width > 0) {
    throw Error("layer " + std::to_string(il) + ": this kind of expert routing cannot run yet");
  }
  const int64_t k = f.active_experts;
  const int logits = pool.get("ffn_router", f.experts);
  const int route = g.add_tensor(route_tensor_name(il), 2 * k);  // one per layer: the StepReport reads it
  const int gate = pool.get("ffn_gate_exps", k * f.expert_width);
  const int up = pool.get("ffn_up_exps", k * f.expert_width);
  const int down = pool.get("ffn_down_exps", k * hidden);
  add_op(g, OpKind::MatMul, logits, h, -1, w.get(il, "ffn_gate_inp"), il);
  int chosen = -1;  // hash routing: the token's experts from the id table; the router only weighs them
  if (f.hash_routed) {
    chosen = pool.get("ffn_hash_experts", k);
    add_op(g, OpKind::GetRows, chosen, -1, -1, w.get(il, "ffn_gate_tid2eid"), il);
  }
  Op& r = add_op(g, OpKind::Route, route, logits, chosen, f.expert_bias ? w.get(il, "exp_probs_b.bias") : -1, il);
  r.route.score = router_score_fn(f.router_score);
  r.route.experts = f.experts;
  r.route.top_k = f.active_experts;
  r.route.normalize = f.normalize_weights;
  r.route.scale = static_cast<float>(f.routed_scale);
  add_op(g, OpKind::MoeMatMul, gate, h, route, w.get(il, "ffn_gate_exps"), il);    // [T, k x width], chosen experts only
  add_op(g, OpKind::MoeMatMul, up, h, route, w.get(il, "ffn_up_exps"), il);
  Op& glu = add_op(g, OpKind::Glu, gate, gate, up, -1, il);
  glu.activation = f.activation;
  glu.limit = static_cast<float>(f.swiglu_limit);
  add_op(g, OpKind::MoeMatMul, down, gate, route, w.get(il, "ffn_down_exps"), il);  // [T, k x hidden]
  add_op(g, OpKind::MoeSum, out, down, route, -1, il);                              // [T, hidden]
}

}  // namespace archscope
