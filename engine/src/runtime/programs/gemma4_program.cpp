// Gemma 4 (llama.cpp src/models/gemma4.cpp), one step (T tokens), d = hidden, L = layers,
// p = per-layer-embedding width:
//   x = E[tokens] * sqrt(d)                                         [T, d]
//   per-layer inputs (PLE):
//     P = (RMSNorm_p(W_proj x / sqrt(d)) + E_ple[tokens] * sqrt(p)) / sqrt(2)   [T, L*p]
//   per layer (sliding or global, each with its own head dim, KV heads and RoPE):
//     h = RMSNorm(x); q = RoPE(RMSNorm_head(Wq h))                  [T, Hq*dk]
//     if it owns a cache: k = RoPE(RMSNorm_head(Wk h)), v = RMSNorm_head(Wv h) without
//       weight, cache <- k, v; a KV-shared layer reads its producer's cache instead
//     x += RMSNorm(Wo attention(q, cache, scale 1))                 [T, d]
//     x += RMSNorm(Wdown (gelu(Wgate RMSNorm(x)) * Wup RMSNorm(x))) [T, d]
//       (MoE layers, 26B-A4B: x += RMSNorm(RMSNorm_1(that MLP) + RMSNorm_2(experts)), the
//       experts chosen by a softmax top-k over Wr (RMSNorm(x) / sqrt(d) * router_scale),
//       their weights renormalised and times a per-expert scale)
//     x += RMSNorm(Wproj (gelu(Wgate_ple x) * P[:, l*p : (l+1)*p])) [T, d]
//     x *= layer_output_scale
//   logits = 30 tanh(Wout RMSNorm(x[T-1]) / 30)                     [vocab]
#include <cmath>
#include <map>

#include "archscope/error.h"
#include "runtime/programs/program.h"

namespace archscope {

Graph build_gemma4_graph(const ProgramInputs& in) {
  const ModelSpec& spec = in.spec;
  const ModelWeights& w = in.weights;
  const float eps = static_cast<float>(spec.rms_eps);
  const int d = spec.hidden, p = spec.ple_width, n_layers = spec.layer_count();
  Graph g;
  g.max_tokens = in.max_tokens;

  // Layers differ in width (head dims, double-wide MLPs): one tensor per name and width,
  // shared by the layers of that shape.
  std::map<std::pair<std::string, int64_t>, int> by_width;
  auto tensor = [&](const std::string& name, int64_t cols) {
    auto [it, added] = by_width.try_emplace({name, cols}, -1);
    if (added) it->second = g.add_tensor(name + "." + std::to_string(cols), cols);
    return it->second;
  };
  auto op = [&](OpKind kind, int out, int a, int b = -1, int weight = -1, int layer = -1) -> Op& {
    Op o;
    o.kind = kind;
    o.out = out;
    o.a = a;
    o.b = b;
    o.weight = weight;
    o.layer = layer;
    g.ops.push_back(o);
    return g.ops.back();
  };
  auto norm = [&](int out, int a, int weight, int layer, int group = 0) {
    Op& n = op(OpKind::RmsNorm, out, a, -1, weight, layer);
    n.eps = eps;
    n.group = group;
  };
  auto scale = [&](int t, double s) { op(OpKind::Scale, t, t).scalar = static_cast<float>(s); };

  const int x = g.add_tensor("x", d);
  const int h = g.add_tensor("h", d);
  const int o = g.add_tensor("attn_out", d);
  op(OpKind::GetRows, x, -1, -1, w.get("token_embd"));
  scale(x, spec.embedding_scale);

  // Per-layer inputs: the token's own slice of E_ple plus a projection of its embedding.
  int ple = -1, ple_gate = -1, ple_slice = -1;
  if (p > 0) {
    const int64_t width = int64_t(n_layers) * p;
    ple = g.add_tensor("ple", width);
    const int ple_tok = g.add_tensor("ple_token", width);
    op(OpKind::GetRows, ple_tok, -1, -1, w.get("per_layer_token_embd"));
    scale(ple_tok, std::sqrt(static_cast<double>(p)));
    op(OpKind::MatMul, ple, x, -1, w.get("per_layer_model_proj"));  // [T, d] -> [T, L*p]
    scale(ple, 1.0 / std::sqrt(static_cast<double>(d)));
    norm(ple, ple, w.get("per_layer_proj_norm"), -1, p);
    op(OpKind::Add, ple, ple, ple_tok);
    scale(ple, 1.0 / std::sqrt(2.0));
    ple_gate = g.add_tensor("ple_gate", p);
    ple_slice = g.add_tensor("ple_slice", p);
  }

  const int rope_freqs = w.find("rope_freqs");
  for (const LayerSpec& l : spec.layers) {
    const int il = l.index;
    const int dk = l.head_dim_k, dv = l.head_dim_v;
    const int q = tensor("q", int64_t(l.q_heads) * dk);
    const int att = tensor("attention", int64_t(l.q_heads) * dv);
    // Global layers rotate over the whole head through rope_freqs (factor 1e30: a pair that
    // does not turn), as llama.cpp does with n_rot = the head dim; sliding layers plainly.
    reference::RopeParams rope = rope_params(l.rope);
    const int factors = l.rope.freq_factors ? rope_freqs : -1;
    if (l.rope.freq_factors) {
      if (rope_freqs < 0) throw Error("layer " + std::to_string(il) + " needs rope_freqs.weight, which is missing");
      rope.rotary_dims = static_cast<int>(2 * w.all()[rope_freqs].cols);
    }
    auto rotate = [&](int t, int heads) {
      Op& r = op(OpKind::Rope, t, t, -1, factors, il);
      r.heads = heads;
      r.head_dim = dk;
      r.rope = rope;
    };

    norm(h, x, w.get(il, "attn_norm"), il);
    op(OpKind::MatMul, q, h, -1, w.get(il, "attn_q"), il);
    norm(q, q, w.get(il, "attn_q_norm"), il, dk);
    rotate(q, l.q_heads);
    if (l.owns_cache()) {
      const int k = tensor("k", int64_t(l.kv_heads) * dk);
      const int v = tensor("v", int64_t(l.kv_heads) * dv);
      op(OpKind::MatMul, k, h, -1, w.get(il, "attn_k"), il);
      // No attn_v (attention_k_eq_v): V is the unroped key projection W_k h, normalised
      // without weight below like every V; K gets k_norm and RoPE. A second MatMul with the
      // same weight keeps K and V apart (both are cached).
      op(OpKind::MatMul, v, h, -1, w.get(il, l.v_from_k_proj ? "attn_k" : "attn_v"), il);
      norm(k, k, w.get(il, "attn_k_norm"), il, dk);
      norm(v, v, -1, il, dv);  // V-norm has no weight
      rotate(k, l.kv_heads);
      op(OpKind::StoreKv, -1, k, v, -1, il).cache = in.cache_of_layer[il];
    }
    Op& a = op(OpKind::Attention, att, q, -1, -1, il);
    a.cache = in.cache_of_layer[il];  // a KV-shared layer's is its producer's
    a.attention.q_heads = l.q_heads;
    a.attention.kv_heads = l.kv_heads;
    a.attention.head_dim_k = dk;
    a.attention.head_dim_v = dv;
    a.attention.scale = 1.0f;  // QK-norm replaces 1/sqrt(d)
    a.attention.window = l.window;
    op(OpKind::MatMul, o, att, -1, w.get(il, "attn_output"), il);
    norm(o, o, w.get(il, "post_attention_norm"), il);
    op(OpKind::Add, x, x, o, -1, il);

    const int gate = tensor("ffn_gate", l.ffn.dense_width);
    const int up = tensor("ffn_up", l.ffn.dense_width);
    norm(h, x, w.get(il, "ffn_norm"), il);
    op(OpKind::MatMul, gate, h, -1, w.get(il, "ffn_gate"), il);
    op(OpKind::MatMul, up, h, -1, w.get(il, "ffn_up"), il);
    op(OpKind::Glu, gate, gate, up, -1, il).activation = Activation::GeluTanh;
    op(OpKind::MatMul, o, gate, -1, w.get(il, "ffn_down"), il);
    if (l.ffn.kind == FfnKind::Moe) {
      const FfnSpec& f = l.ffn;
      const int64_t k = f.active_experts, ew = f.expert_width;
      if (k < 1 || k > f.experts) {
        throw Error("layer " + std::to_string(il) + ": routing to " + std::to_string(k) + " of " +
                    std::to_string(f.experts) + " experts is not possible");
      }
      norm(o, o, w.get(il, "post_ffw_norm_1"), il);  // the dense MLP beside the experts
      // Router (llama.cpp gemma4: on the unweighted norm of x, scaled by 1/sqrt(d) and a vector).
      const int router_in = tensor("router_in", d);
      norm(router_in, x, -1, il);
      op(OpKind::Scale, router_in, router_in, -1, -1, il).scalar = static_cast<float>(1.0 / std::sqrt(double(d)));
      op(OpKind::MulWeight, router_in, router_in, -1, w.get(il, "ffn_gate_inp.scale"), il);
      const int logits = tensor("ffn_router", f.experts);
      op(OpKind::MatMul, logits, router_in, -1, w.get(il, "ffn_gate_inp"), il);  // [T, d] -> [T, experts]
      const int route = g.add_tensor(route_tensor_name(il), 2 * k);  // one per layer: the StepReport reads it
      Op& r = op(OpKind::Route, route, logits, -1, -1, il);
      r.route.score = reference::RouterScoreFn::Softmax;
      r.route.experts = f.experts;
      r.route.top_k = static_cast<int>(k);
      r.route.normalize = true;
      op(OpKind::ExpertScale, route, route, -1, w.get(il, "ffn_down_exps.scale"), il);
      // The chosen experts only: fused gate/up, GELU GLU, down, mixed by the route weights.
      norm(h, x, w.get(il, "pre_ffw_norm_2"), il);
      const int gate_up = tensor("ffn_gate_up_exps", k * 2 * ew);
      const int expert_gate = tensor("ffn_gate_exps", k * ew), expert_up = tensor("ffn_up_exps", k * ew);
      op(OpKind::MoeMatMul, gate_up, h, route, w.get(il, "ffn_gate_up_exps"), il);  // [T, k x 2 ew]
      Op& gate_half = op(OpKind::SliceCols, expert_gate, gate_up, -1, -1, il);
      gate_half.group = static_cast<int>(2 * ew);
      Op& up_half = op(OpKind::SliceCols, expert_up, gate_up, -1, -1, il);
      up_half.group = static_cast<int>(2 * ew);
      up_half.offset = static_cast<int>(ew);
      op(OpKind::Glu, expert_gate, expert_gate, expert_up, -1, il).activation = Activation::GeluTanh;
      const int expert_down = tensor("ffn_down_exps", k * d);
      op(OpKind::MoeMatMul, expert_down, expert_gate, route, w.get(il, "ffn_down_exps"), il);  // [T, k x d]
      const int moe = tensor("ffn_moe", d);
      op(OpKind::MoeSum, moe, expert_down, route, -1, il);
      norm(moe, moe, w.get(il, "post_ffw_norm_2"), il);
      op(OpKind::Add, o, o, moe, -1, il);
    }
    norm(o, o, w.get(il, "post_ffw_norm"), il);
    op(OpKind::Add, x, x, o, -1, il);

    if (p > 0) {
      op(OpKind::MatMul, ple_gate, x, -1, w.get(il, "inp_gate"), il);  // [T, d] -> [T, p]
      op(OpKind::SliceCols, ple_slice, ple, -1, -1, il).offset = il * p;
      op(OpKind::Glu, ple_gate, ple_gate, ple_slice, -1, il).activation = Activation::GeluTanh;
      op(OpKind::MatMul, o, ple_gate, -1, w.get(il, "proj"), il);  // [T, p] -> [T, d]
      norm(o, o, w.get(il, "post_norm"), il);
      op(OpKind::Add, x, x, o, -1, il);
    }
    if (const int s = w.find(il, "layer_output_scale"); s >= 0) op(OpKind::MulWeight, x, x, -1, s, il);
  }

  add_output_head(g, spec, w, x);
  return g;
}

}  // namespace archscope
