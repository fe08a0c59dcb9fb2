// Laguna (XS.2), one step (T tokens); query heads Hq differ per layer (fewer on global layers):
//   x = E[tokens]                                                       [T, d]
//   per layer: h = RMSNorm(x)
//              q, k, v = Wq h, Wk h, Wv h                               [T, Hq*dk], [T, Hkv*dk], [T, Hkv*dv]
//              g = softplus(Wg h)                                       [T, Hq] per head, or [T, Hq*dv] per element
//              RMSNorm per q and k head; RoPE: global layers YaRN over the first rotary dims,
//              sliding layers plain RoPE over the whole head; cache <- k, v
//              x += Wo (g * attention(q, cache, window))                [T, d]
//              h = RMSNorm(x)
//              dense lead layers: x += Wdown (silu(Wgate h) * Wup h)
//              MoE layers:        x += routed experts(h)               (top-k by sigmoid score + bias,
//                                                                        weights renormalised x routed scale)
//                                      + Wdown_s (silu(Wgate_s h) * Wup_s h)   (the shared expert)
//   logits = Wout RMSNorm(x[T-1])                                       [vocab]
// Reference: llama.cpp src/models/laguna.cpp, build_moe_ffn in src/llama-graph.cpp.
#include <cmath>

#include "runtime/programs/program.h"

namespace archscope {

Graph build_laguna_graph(const ProgramInputs& in) {
  const ModelSpec& spec = in.spec;
  const ModelWeights& w = in.weights;
  const float eps = static_cast<float>(spec.rms_eps);
  Graph g;
  g.max_tokens = in.max_tokens;
  TensorPool pool(g);
  auto op = [&](OpKind kind, int out, int a, int b = -1, int weight = -1, int layer = -1) -> Op& {
    return add_op(g, kind, out, a, b, weight, layer);
  };
  // out = Wdown (silu(Wgate h) * Wup h): the dense MLP, or the shared expert (suffix _shexp).
  auto gated_mlp = [&](int h, int out, const std::string& suffix, int width, int il) {
    const int gate = pool.get("ffn_gate" + suffix, width), up = pool.get("ffn_up" + suffix, width);
    op(OpKind::MatMul, gate, h, -1, w.get(il, "ffn_gate" + suffix), il);
    op(OpKind::MatMul, up, h, -1, w.get(il, "ffn_up" + suffix), il);
    op(OpKind::Glu, gate, gate, up, -1, il).activation = Activation::Silu;
    op(OpKind::MatMul, out, gate, -1, w.get(il, "ffn_down" + suffix), il);
  };

  const int x = g.add_tensor("x", spec.hidden);
  const int h = g.add_tensor("h", spec.hidden);
  const int o = g.add_tensor("attn_out", spec.hidden);
  const int down = g.add_tensor("ffn_down", spec.hidden);

  op(OpKind::GetRows, x, -1, -1, w.get("token_embd"));
  for (const LayerSpec& l : spec.layers) {
    const int il = l.index;
    const int q = pool.get("q", int64_t(l.q_heads) * l.head_dim_k);
    const int k = pool.get("k", int64_t(l.kv_heads) * l.head_dim_k);
    const int v = pool.get("v", int64_t(l.kv_heads) * l.head_dim_v);
    const int att = pool.get("attention", int64_t(l.q_heads) * l.head_dim_v);
    const int gate = pool.get("attn_gate", l.attn_gate_per_head ? l.q_heads : int64_t(l.q_heads) * l.head_dim_v);

    op(OpKind::RmsNorm, h, x, -1, w.get(il, "attn_norm"), il).eps = eps;
    op(OpKind::MatMul, q, h, -1, w.get(il, "attn_q"), il);
    op(OpKind::MatMul, k, h, -1, w.get(il, "attn_k"), il);
    op(OpKind::MatMul, v, h, -1, w.get(il, "attn_v"), il);
    op(OpKind::MatMul, gate, h, -1, w.get(il, "attn_gate"), il);  // from the attention input, as in HF
    op(OpKind::Softplus, gate, gate, -1, -1, il);
    for (auto [t, norm] : {std::pair{q, "attn_q_norm"}, std::pair{k, "attn_k_norm"}}) {
      Op& n = op(OpKind::RmsNorm, t, t, -1, w.get(il, norm), il);
      n.eps = eps;
      n.group = l.head_dim_k;
    }
    for (auto [t, heads] : {std::pair{q, l.q_heads}, std::pair{k, l.kv_heads}}) {
      Op& r = op(OpKind::Rope, t, t, -1, -1, il);
      r.heads = heads;
      r.head_dim = l.head_dim_k;
      r.rope = rope_params(l.rope);  // sliding layers: no scaling, so plain RoPE
    }
    Op& store = op(OpKind::StoreKv, -1, k, v, -1, il);
    store.cache = in.cache_of_layer[il];
    Op& a = op(OpKind::Attention, att, q, -1, -1, il);
    a.cache = in.cache_of_layer[il];
    a.attention.q_heads = l.q_heads;
    a.attention.kv_heads = l.kv_heads;
    a.attention.head_dim_k = l.head_dim_k;
    a.attention.head_dim_v = l.head_dim_v;
    a.attention.scale = 1.0f / std::sqrt(static_cast<float>(l.head_dim_k));
    a.attention.window = l.window;
    if (l.kept_q_heads > 0 && l.kept_q_heads < l.q_heads) {  // what-if: dropped heads contribute nothing
      Op& keep = op(OpKind::KeepHeads, att, att, -1, -1, il);
      keep.group = l.head_dim_v;
      keep.heads = l.q_heads / l.kv_heads;
      keep.kept_heads = l.kept_q_heads / l.kv_heads;
    }
    op(l.attn_gate_per_head ? OpKind::MulGrouped : OpKind::Mul, att, att, gate, -1, il);
    op(OpKind::MatMul, o, att, -1, w.get(il, "attn_output"), il);
    op(OpKind::Add, x, x, o, -1, il);

    op(OpKind::RmsNorm, h, x, -1, w.get(il, "ffn_norm"), il).eps = eps;
    if (l.ffn.kind == FfnKind::Dense) {
      gated_mlp(h, down, "", l.ffn.dense_width, il);
    } else {
      add_routed_experts(g, pool, w, l, spec.hidden, h, down);
      if (l.ffn.shared_experts > 0) {  // (routed + shared) + x, in llama.cpp's order
        const int shared_out = pool.get("ffn_shexp_out", spec.hidden);
        gated_mlp(h, shared_out, "_shexp", l.ffn.shared_width, il);
        op(OpKind::Add, down, down, shared_out, -1, il);
      }
    }
    op(OpKind::Add, x, x, down, -1, il);
  }

  add_output_head(g, spec, w, x);
  return g;
}

}  // namespace archscope
