// Llama 3 and Qwen3, one step (T tokens):
//   x = E[tokens]                                                  [T, d]
//   per layer: h = RMSNorm(x); q, k, v = Wq h, Wk h, Wv h          [T, Hq*dk], [T, Hkv*dk], [T, Hkv*dv]
//              (Qwen3: RMSNorm per q and k head); RoPE(q, k); cache <- k, v
//              x += Wo attention(q, cache)                          [T, d]
//              x += Wdown (silu(Wgate RMSNorm(x)) * Wup RMSNorm(x)) [T, d]
//   logits = Wout RMSNorm(x[T-1])                                  [vocab]
#include <cmath>

#include "runtime/programs/program.h"

namespace archscope {

Graph build_llama_graph(const ProgramInputs& in) {
  const ModelSpec& spec = in.spec;
  const ModelWeights& w = in.weights;
  const float eps = static_cast<float>(spec.rms_eps);
  Graph g;
  g.max_tokens = in.max_tokens;

  // Activations are reused by every layer; widths come from the widest layer.
  int max_q = 0, max_kv_k = 0, max_kv_v = 0, max_o = 0, max_ff = 0;
  for (const LayerSpec& l : spec.layers) {
    max_q = std::max(max_q, l.q_heads * l.head_dim_k);
    max_kv_k = std::max(max_kv_k, l.kv_heads * l.head_dim_k);
    max_kv_v = std::max(max_kv_v, l.kv_heads * l.head_dim_v);
    max_o = std::max(max_o, l.q_heads * l.head_dim_v);
    max_ff = std::max(max_ff, l.ffn.dense_width);
  }
  const int x = g.add_tensor("x", spec.hidden);
  const int h = g.add_tensor("h", spec.hidden);
  const int q = g.add_tensor("q", max_q);
  const int k = g.add_tensor("k", max_kv_k);
  const int v = g.add_tensor("v", max_kv_v);
  const int att = g.add_tensor("attention", max_o);
  const int o = g.add_tensor("attn_out", spec.hidden);
  const int gate = g.add_tensor("ffn_gate", max_ff);
  const int up = g.add_tensor("ffn_up", max_ff);
  const int down = g.add_tensor("ffn_down", spec.hidden);

  auto op = [&](OpKind kind, int out, int a, int b = -1, int weight = -1, int layer = -1) -> Op& {
    Op o_;
    o_.kind = kind;
    o_.out = out;
    o_.a = a;
    o_.b = b;
    o_.weight = weight;
    o_.layer = layer;
    g.ops.push_back(o_);
    return g.ops.back();
  };

  op(OpKind::GetRows, x, -1, -1, w.get("token_embd"));
  const int rope_freqs = w.find("rope_freqs");
  for (const LayerSpec& l : spec.layers) {
    const int il = l.index;
    op(OpKind::RmsNorm, h, x, -1, w.get(il, "attn_norm"), il).eps = eps;
    op(OpKind::MatMul, q, h, -1, w.get(il, "attn_q"), il);
    op(OpKind::MatMul, k, h, -1, w.get(il, "attn_k"), il);
    op(OpKind::MatMul, v, h, -1, w.get(il, "attn_v"), il);
    if (l.qk_norm) {
      Op& qn = op(OpKind::RmsNorm, q, q, -1, w.get(il, "attn_q_norm"), il);
      qn.eps = eps;
      qn.group = l.head_dim_k;
      Op& kn = op(OpKind::RmsNorm, k, k, -1, w.get(il, "attn_k_norm"), il);
      kn.eps = eps;
      kn.group = l.head_dim_k;
    }
    for (auto [t, heads] : {std::pair{q, l.q_heads}, std::pair{k, l.kv_heads}}) {
      Op& r = op(OpKind::Rope, t, t, -1, l.rope.freq_factors ? rope_freqs : -1, il);
      r.heads = heads;
      r.head_dim = l.head_dim_k;
      r.rope = rope_params(l.rope);
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
    op(OpKind::MatMul, o, att, -1, w.get(il, "attn_output"), il);
    op(OpKind::Add, x, x, o, -1, il);

    op(OpKind::RmsNorm, h, x, -1, w.get(il, "ffn_norm"), il).eps = eps;
    op(OpKind::MatMul, gate, h, -1, w.get(il, "ffn_gate"), il);
    op(OpKind::MatMul, up, h, -1, w.get(il, "ffn_up"), il);
    op(OpKind::Glu, gate, gate, up, -1, il).activation = l.ffn.activation;
    op(OpKind::MatMul, down, gate, -1, w.get(il, "ffn_down"), il);
    op(OpKind::Add, x, x, down, -1, il);
  }

  add_output_head(g, spec, w, x);
  return g;
}

}  // namespace archscope
