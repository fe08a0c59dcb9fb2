// DeepSeek V4, one step (T tokens); the residual is n = 4 streams of d (mHC):
//   X = [E[tokens]] x n                                                  [T, n d]
//   per layer, two sites (attention, then MoE), each:
//     w = HyperWeights(hc_fn RMSNorm(X))            pre [n], post [n], Sinkhorn mix [n x n]
//     h = RMSNorm(sum_i pre_i X_i)                                       [T, d]
//     X_i <- post_i site(h) + sum_j mix_ji X_j
//   attention(h): qr = RMSNorm(Wqa h); q = RMSNorm_per_head(Wqb qr), RoPE on the last dims;
//     kv = RoPE(RMSNorm(Wkv h)) (one K = V head) into the raw window cache;
//     CSA / HCA layers: compressor(h) pools completed blocks into compressed entries;
//     CSA: the lightning indexer (own compressor, queries from qr) picks top-k entries;
//     o = attention(q, window + compressed entries, sinks); de-RoPE;
//     out = Wob GroupedMatMul(Woa, o)                                    [T, d]
//   MoE(h): routed experts (sqrt-softplus router, bias for selection; the first layers take
//     the token's experts from a table), clamped SwiGLU, plus the shared expert
//   logits = Wout RMSNorm(sum_i pre_i X_i[T-1])   (head weights: pre only)
// Reference: llama.cpp src/models/deepseek4.cpp, build_moe_ffn in src/llama-graph.cpp.
#include <cmath>

#include "archscope/error.h"
#include "runtime/programs/program.h"

namespace archscope {

Graph build_deepseek4_graph(const ProgramInputs& in) {
  const ModelSpec& spec = in.spec;
  const ModelWeights& w = in.weights;
  const float eps = static_cast<float>(spec.rms_eps);
  const int n = spec.hc_width;
  const int64_t d = spec.hidden;
  if (in.compressed_of_layer.size() != spec.layers.size()) throw Error("deepseek4: no compressed caches given");
  Graph g;
  g.max_tokens = in.max_tokens;
  TensorPool pool(g);
  auto op = [&](OpKind kind, int out, int a, int b = -1, int weight = -1, int layer = -1) -> Op& {
    return add_op(g, kind, out, a, b, weight, layer);
  };
  auto rms_norm = [&](int out, int a, int weight, int il, int group = 0) {
    Op& o = op(OpKind::RmsNorm, out, a, -1, weight, il);
    o.eps = eps;
    o.group = group;
  };
  auto rope = [&](int t, int heads, int head_dim, const LayerSpec& l, bool inverse = false) {
    Op& r = op(OpKind::Rope, t, t, -1, -1, l.index);
    r.heads = heads;
    r.head_dim = head_dim;
    r.rope = rope_params(l.rope);
    r.rope.rotary_offset = head_dim - l.rope.rotary_dims;  // the last dims rotate (indexer heads too)
    r.rope.inverse = inverse;
  };
  // A compressor: kv and score rows of h pooled into `entries` every `ratio` tokens.
  auto compressor = [&](const LayerSpec& l, const std::string& prefix, int width, int h, int entries, int state) {
    const int64_t row = (l.attention == AttentionKind::Csa ? 2 : 1) * int64_t(width);
    const int kv = pool.get(prefix + "_kv", row), score = pool.get(prefix + "_score", row);
    op(OpKind::MatMul, kv, h, -1, w.get(l.index, prefix + "_kv"), l.index);
    op(OpKind::MatMul, score, h, -1, w.get(l.index, prefix + "_gate"), l.index);
    Op& c = op(OpKind::CompressKv, -1, kv, score, w.get(l.index, prefix + "_ape"), l.index);
    c.weight2 = w.get(l.index, prefix + "_norm");
    c.cache = state;
    c.cache2 = entries;
    c.ratio = l.compress_ratio;
    c.eps = eps;
    c.rope = rope_params(l.rope);
    c.rope.rotary_offset = width - l.rope.rotary_dims;
  };
  // Site weights from the streams: fn, base, scale are "<prefix>_fn" etc.
  auto hyper_weights = [&](int x, const std::string& prefix, int out, int il) {
    const int mixes_count = static_cast<int>(g.tensors[out].cols);
    const int flat = g.tensors[x].per_token ? pool.get("hc_flat", n * d) : g.add_tensor("hc_head_flat", n * d, false);
    const int mixes = g.tensors[x].per_token ? pool.get("hc_mixes", mixes_count) : g.add_tensor("hc_head_mixes", mixes_count, false);
    rms_norm(flat, x, -1, il);
    op(OpKind::MatMul, mixes, flat, -1, w.get(prefix + "_fn"), il);
    Op& hw = op(OpKind::HyperWeights, out, mixes, -1, w.get(prefix + "_base"), il);
    hw.weight2 = w.get(prefix + "_scale");
    hw.heads = n;
    hw.iterations = spec.hc_identity_mix ? 0 : spec.hc_sinkhorn_iters;
    hw.eps = static_cast<float>(spec.hc_eps);
  };

  int x = g.add_tensor("hc_streams", n * d), y = g.add_tensor("hc_streams_next", n * d);
  const int embedding = g.add_tensor("embedding", d);
  const int site_in = g.add_tensor("hc_site_in", d);
  const int h = g.add_tensor("h", d);
  const int site_out = g.add_tensor("site_out", d);
  op(OpKind::GetRows, embedding, -1, -1, w.get("token_embd"));
  op(OpKind::Repeat, x, embedding);

  for (const LayerSpec& l : spec.layers) {
    const int il = l.index;
    const std::string blk = "blk." + std::to_string(il) + ".";
    const CompressedCaches& cc = in.compressed_of_layer[il];
    // One site: X -> h -> site(h) -> X' (the streams swap tensors).
    auto site = [&](const std::string& name, const char* norm, auto&& body) {
      const int weights = g.add_tensor(hyper_tensor_name(il, name), (2 + n) * n);  // one per site: the StepReport reads it
      hyper_weights(x, blk + "hc_" + name, weights, il);
      op(OpKind::HyperCollapse, site_in, x, weights, -1, il);
      rms_norm(h, site_in, w.get(il, norm), il);
      body();
      op(OpKind::HyperExpand, y, site_out, weights, -1, il).c = x;
      std::swap(x, y);
    };

    site("attn", "attn_norm", [&] {
      const int hd = l.head_dim_k, heads = l.q_heads;
      const int qr = pool.get("q_lora", spec.q_lora_rank);
      const int q = pool.get("q", int64_t(heads) * hd);
      const int kv = pool.get("kv", hd);
      const int att = pool.get("attention", int64_t(heads) * hd);
      const int oa = pool.get("attn_output_a", int64_t(spec.o_groups) * spec.o_lora_rank);
      op(OpKind::MatMul, qr, h, -1, w.get(il, "attn_q_a"), il);
      rms_norm(qr, qr, w.get(il, "attn_q_a_norm"), il);
      op(OpKind::MatMul, q, qr, -1, w.get(il, "attn_q_b"), il);
      rms_norm(q, q, -1, il, hd);
      rope(q, heads, hd, l);
      op(OpKind::MatMul, kv, h, -1, w.get(il, "attn_kv"), il);
      rms_norm(kv, kv, w.get(il, "attn_kv_a_norm"), il);
      rope(kv, 1, hd, l);
      int selected = -1;
      if (l.compress_ratio > 0) compressor(l, "attn_compressor", hd, h, cc.entries, cc.state);
      if (l.attention == AttentionKind::Csa) {
        const int id = l.indexer_dim, ih = l.indexer_heads;
        compressor(l, "indexer_compressor", id, h, cc.index_keys, cc.index_state);
        const int iq = pool.get("indexer_q", int64_t(ih) * id), iw = pool.get("indexer_weights", ih);
        selected = pool.get("indexer_top_k", l.indexer_top_k);
        op(OpKind::MatMul, iq, qr, -1, w.get(il, "indexer.attn_q_b"), il);
        rope(iq, ih, id, l);
        op(OpKind::MatMul, iw, h, -1, w.get(il, "indexer.proj"), il);
        op(OpKind::Scale, iw, iw, -1, -1, il).scalar = 1.0f / std::sqrt(static_cast<float>(id * ih));
        Op& top = op(OpKind::IndexerTopK, selected, iq, iw, -1, il);
        top.cache = cc.index_keys;
        top.heads = ih;
        top.head_dim = id;
      }
      op(OpKind::StoreKv, -1, kv, -1, -1, il).cache = in.cache_of_layer[il];
      Op& a = op(OpKind::Attention, att, q, selected, w.get(il, "attn_sinks"), il);
      a.cache = in.cache_of_layer[il];
      a.cache2 = l.compress_ratio > 0 ? cc.entries : -1;
      a.attention.q_heads = heads;
      a.attention.kv_heads = 1;
      a.attention.head_dim_k = a.attention.head_dim_v = hd;
      a.attention.scale = 1.0f / std::sqrt(static_cast<float>(hd));
      a.attention.window = l.window;
      rope(att, heads, hd, l, true);
      op(OpKind::GroupedMatMul, oa, att, -1, w.get(il, "attn_output_a"), il).group = spec.o_groups;
      op(OpKind::MatMul, site_out, oa, -1, w.get(il, "attn_output_b"), il);
    });

    site("ffn", "ffn_norm", [&] {
      add_routed_experts(g, pool, w, l, d, h, site_out);
      const int width = l.ffn.shared_experts * l.ffn.shared_width;
      const int gate = pool.get("ffn_gate_shexp", width), up = pool.get("ffn_up_shexp", width);
      const int shared = pool.get("ffn_shexp_out", d);
      op(OpKind::MatMul, gate, h, -1, w.get(il, "ffn_gate_shexp"), il);
      op(OpKind::MatMul, up, h, -1, w.get(il, "ffn_up_shexp"), il);
      Op& glu = op(OpKind::Glu, gate, gate, up, -1, il);
      glu.activation = Activation::Silu;
      glu.limit = static_cast<float>(l.ffn.shared_swiglu_limit);
      op(OpKind::MatMul, shared, gate, -1, w.get(il, "ffn_down_shexp"), il);
      op(OpKind::Add, site_out, site_out, shared, -1, il);
    });
  }

  // Head: the last token's streams collapsed by their own pre weights, then the usual norm and output.
  const int last = g.add_tensor("last_streams", n * d, false);
  const int pre = g.add_tensor("hc_head_pre", n, false);
  const int collapsed = g.add_tensor("last", d, false);
  const int last_norm = g.add_tensor("last_norm", d, false);
  g.logits = g.add_tensor("logits", spec.vocab, false);
  op(OpKind::LastRow, last, x);
  hyper_weights(last, "output_hc", pre, -1);
  op(OpKind::HyperCollapse, collapsed, last, pre);
  rms_norm(last_norm, collapsed, w.get("output_norm"), -1);
  op(OpKind::MatMul, g.logits, last_norm, -1, w.get("output"));
  return g;
}

}  // namespace archscope
