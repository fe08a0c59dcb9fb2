#include "runtime/graph.h"

#include "archscope/error.h"

namespace archscope {

const char* to_string(OpKind kind) {
  switch (kind) {
    case OpKind::GetRows: return "get_rows";
    case OpKind::RmsNorm: return "rms_norm";
    case OpKind::MatMul: return "matmul";
    case OpKind::Rope: return "rope";
    case OpKind::StoreKv: return "store_kv";
    case OpKind::Attention: return "attention";
    case OpKind::Glu: return "glu";
    case OpKind::Add: return "add";
    case OpKind::Mul: return "mul";
    case OpKind::MulWeight: return "mul_weight";
    case OpKind::Scale: return "scale";
    case OpKind::Softcap: return "softcap";
    case OpKind::Softmax: return "softmax";
    case OpKind::LastRow: return "last_row";
    case OpKind::SliceCols: return "slice_cols";
    case OpKind::ExpertScale: return "expert_scale";
    case OpKind::Softplus: return "softplus";
    case OpKind::MulGrouped: return "mul_grouped";
    case OpKind::Route: return "route";
    case OpKind::MoeMatMul: return "moe_matmul";
    case OpKind::MoeSum: return "moe_sum";
    case OpKind::KeepHeads: return "keep_heads";
    case OpKind::Repeat: return "repeat";
    case OpKind::HyperWeights: return "hyper_weights";
    case OpKind::HyperCollapse: return "hyper_collapse";
    case OpKind::HyperExpand: return "hyper_expand";
    case OpKind::GroupedMatMul: return "grouped_matmul";
    case OpKind::CompressKv: return "compress_kv";
    case OpKind::IndexerTopK: return "indexer_top_k";
  }
  return "?";
}

void validate_graph(const Graph& g, const ModelResources& r) {
  const int n_tensors = static_cast<int>(g.tensors.size());
  for (size_t i = 0; i < g.ops.size(); ++i) {
    const Op& op = g.ops[i];
    auto fail = [&](const std::string& problem) {
      throw Error("step graph op " + std::to_string(i) + " (" + to_string(op.kind) + ", layer " +
                  std::to_string(op.layer) + "): " + problem);
    };
    auto tensor = [&](int id, const char* what) -> const TensorDesc& {
      if (id < 0 || id >= n_tensors) fail(std::string("bad ") + what + " tensor id " + std::to_string(id));
      return g.tensors[id];
    };
    auto weight = [&](int id) -> const WeightDesc& {
      if (id < 0 || id >= static_cast<int>(r.weights.size())) fail("bad weight id " + std::to_string(id));
      return r.weights[id];
    };
    auto cache = [&](int id) -> const CacheDesc& {
      if (id < 0 || id >= static_cast<int>(r.caches.size())) fail("bad cache id " + std::to_string(id));
      return r.caches[id];
    };
    auto same_width = [&](const TensorDesc& a, const TensorDesc& b) {
      if (a.cols != b.cols) fail(a.name + " has " + std::to_string(a.cols) + " columns, " + b.name + " " + std::to_string(b.cols));
    };
    switch (op.kind) {
      case OpKind::GetRows: {
        const WeightDesc& w = weight(op.weight);
        if (tensor(op.out, "out").cols != w.cols) fail("output width differs from " + w.name);
        break;
      }
      case OpKind::RmsNorm: {
        const TensorDesc& a = tensor(op.a, "input");
        same_width(tensor(op.out, "out"), a);
        const int64_t group = op.group > 0 ? op.group : a.cols;
        if (a.cols % group != 0) fail("group " + std::to_string(group) + " does not divide " + std::to_string(a.cols));
        if (op.weight >= 0 && weight(op.weight).cols != group) fail("norm weight " + weight(op.weight).name + " is not " + std::to_string(group) + " wide");
        break;
      }
      case OpKind::MatMul: {
        const WeightDesc& w = weight(op.weight);
        if (tensor(op.a, "input").cols != w.cols) fail("input width differs from " + w.name + "'s " + std::to_string(w.cols));
        if (tensor(op.out, "out").cols != w.rows) fail("output width differs from " + w.name + "'s " + std::to_string(w.rows) + " rows");
        if (tensor(op.out, "out").per_token != tensor(op.a, "input").per_token) fail("mixes per-token and single-row tensors");
        break;
      }
      case OpKind::Rope: {
        const TensorDesc& a = tensor(op.a, "input");
        if (op.out != op.a) fail("rope works in place");
        if (int64_t(op.heads) * op.head_dim != a.cols) fail(a.name + " is not heads x head_dim");
        if (op.rope.rotary_offset + op.rope.rotary_dims > op.head_dim || op.rope.rotary_dims % 2) fail("bad rotary dims");
        if (op.weight >= 0 && weight(op.weight).cols != op.rope.rotary_dims / 2) fail("rope factors do not match the rotary dims");
        break;
      }
      case OpKind::StoreKv: {
        const CacheDesc& c = cache(op.cache);
        if (tensor(op.a, "keys").cols != int64_t(c.kv_heads) * c.head_dim_k) fail("keys do not match the cache");
        if (c.k_equals_v != (op.b < 0)) fail("values given to a K = V cache, or missing");
        if (op.b >= 0 && tensor(op.b, "values").cols != int64_t(c.kv_heads) * c.head_dim_v) fail("values do not match the cache");
        break;
      }
      case OpKind::Attention: {
        const CacheDesc& c = cache(op.cache);
        const reference::AttentionParams& p = op.attention;
        if (p.kv_heads != c.kv_heads || p.head_dim_k != c.head_dim_k || p.head_dim_v != c.head_dim_v) fail("attention shape differs from its cache");
        if (p.q_heads <= 0 || p.q_heads % p.kv_heads) fail("query heads do not group over KV heads");
        if (tensor(op.a, "query").cols != int64_t(p.q_heads) * p.head_dim_k) fail("query width");
        if (tensor(op.out, "out").cols != int64_t(p.q_heads) * p.head_dim_v) fail("output width");
        if (op.weight >= 0 && weight(op.weight).cols != p.q_heads) fail("one sink per query head expected");
        if (c.kind != CacheKind::Raw) fail("attention reads a raw cache first");
        if (op.cache2 >= 0) {
          const CacheDesc& c2 = cache(op.cache2);
          if (c2.kind != CacheKind::Compressed || c2.head_dim_k != c.head_dim_k || c2.kv_heads != c.kv_heads || !c.k_equals_v || !c2.k_equals_v) {
            fail("compressed entries must be K = V rows like the raw cache's");
          }
        }
        if (op.b >= 0 && (op.cache2 < 0 || tensor(op.b, "selection").per_token != tensor(op.a, "query").per_token)) fail("a selection needs compressed entries");
        break;
      }
      case OpKind::Repeat: {
        const TensorDesc& a = tensor(op.a, "input");
        if (a.cols <= 0 || tensor(op.out, "out").cols % a.cols) fail("output is not whole copies of " + a.name);
        break;
      }
      case OpKind::HyperWeights: {
        const int64_t n = op.heads, mixes = tensor(op.a, "mixes").cols;
        same_width(tensor(op.out, "out"), tensor(op.a, "mixes"));
        if (n < 1 || (mixes != n && mixes != (2 + n) * n)) fail(std::to_string(mixes) + " mixes do not fit " + std::to_string(n) + " streams");
        if (weight(op.weight).cols * weight(op.weight).rows != mixes) fail("base " + weight(op.weight).name + " is not one value per mix");
        if (weight(op.weight2).cols * weight(op.weight2).rows != (mixes == n ? 1 : 3)) fail("scale " + weight(op.weight2).name + " has the wrong count");
        break;
      }
      case OpKind::HyperCollapse: {
        const TensorDesc& a = tensor(op.a, "streams");
        const int64_t d = tensor(op.out, "out").cols;
        if (d <= 0 || a.cols % d) fail(a.name + " is not whole streams");
        if (tensor(op.b, "weights").cols < a.cols / d) fail("fewer weights than streams");
        break;
      }
      case OpKind::HyperExpand: {
        const TensorDesc& f = tensor(op.a, "site output");
        const TensorDesc& x = tensor(op.c, "streams");
        same_width(tensor(op.out, "out"), x);
        if (op.out == op.c) fail("cannot mix the streams in place");
        if (f.cols <= 0 || x.cols % f.cols) fail(x.name + " is not whole streams of " + f.name);
        const int64_t n = x.cols / f.cols;
        if (tensor(op.b, "weights").cols != (2 + n) * n) fail("weights are not (2 + n) n wide");
        break;
      }
      case OpKind::GroupedMatMul: {
        const WeightDesc& w = weight(op.weight);
        if (op.group < 1 || w.rows % op.group) fail(w.name + "'s rows do not split into " + std::to_string(op.group) + " groups");
        if (tensor(op.a, "input").cols != op.group * w.cols) fail("input is not groups x " + std::to_string(w.cols));
        if (tensor(op.out, "out").cols != w.rows) fail("output width differs from " + w.name + "'s rows");
        break;
      }
      case OpKind::CompressKv: {
        const CacheDesc& state = cache(op.cache);
        const CacheDesc& entries = cache(op.cache2);
        const TensorDesc& kv = tensor(op.a, "kv");
        same_width(kv, tensor(op.b, "score"));
        const int64_t width = entries.head_dim_k;
        if (state.kind != CacheKind::State || state.type != GgmlType::F32 || entries.kind != CacheKind::Compressed) fail("needs an f32 state ring and a compressed cache");
        if (entries.ratio != op.ratio || op.ratio < 1) fail("ratio differs from the compressed cache's");
        if (kv.cols != width && kv.cols != 2 * width) fail("kv rows are neither one nor two entries wide");
        if (state.head_dim_k != kv.cols || state.head_dim_v != kv.cols) fail("state rows differ from kv rows");
        if (state.capacity < (kv.cols == width ? 1 : 2) * op.ratio) fail("state ring is shorter than the pooled rows");
        if (weight(op.weight).cols != kv.cols || weight(op.weight).rows != op.ratio) fail("ape " + weight(op.weight).name + " is not ratio x kv rows");
        if (weight(op.weight2).cols != width) fail("norm " + weight(op.weight2).name + " is not one entry wide");
        if (op.rope.rotary_offset + op.rope.rotary_dims > width || op.rope.rotary_dims % 2) fail("bad rotary dims");
        break;
      }
      case OpKind::IndexerTopK: {
        const CacheDesc& keys = cache(op.cache);
        if (keys.kind != CacheKind::Compressed || keys.head_dim_k != op.head_dim) fail("index keys are not compressed entries of head_dim");
        if (tensor(op.a, "queries").cols != int64_t(op.heads) * op.head_dim) fail("queries are not heads x head_dim");
        if (tensor(op.b, "weights").cols != op.heads) fail("one weight per head expected");
        if (tensor(op.out, "out").cols < 1) fail("top-k is empty");
        break;
      }
      case OpKind::Glu:
        if (op.limit > 0.0f && op.activation != Activation::Silu) fail("only SwiGLU is clamped");
        [[fallthrough]];
      case OpKind::Add:
      case OpKind::Mul:
        same_width(tensor(op.out, "out"), tensor(op.a, "a"));
        same_width(tensor(op.a, "a"), tensor(op.b, "b"));
        break;
      case OpKind::MulWeight: {
        const TensorDesc& a = tensor(op.a, "input");
        same_width(tensor(op.out, "out"), a);
        const int64_t n = weight(op.weight).cols * weight(op.weight).rows;
        if (n != 1 && n != a.cols) fail("weight " + weight(op.weight).name + " neither a scalar nor a row");
        break;
      }
      case OpKind::Scale:
      case OpKind::Softcap:
      case OpKind::Softmax:
      case OpKind::Softplus:
        same_width(tensor(op.out, "out"), tensor(op.a, "input"));
        break;
      case OpKind::LastRow:
        same_width(tensor(op.out, "out"), tensor(op.a, "input"));
        if (tensor(op.out, "out").per_token || !tensor(op.a, "input").per_token) fail("takes a per-token tensor to one row");
        break;
      case OpKind::SliceCols: {
        const TensorDesc& a = tensor(op.a, "input");
        const TensorDesc& out = tensor(op.out, "out");
        if (op.out == op.a) fail("cannot slice in place");
        const int64_t group = op.group > 0 ? op.group : a.cols;
        if (a.cols % group != 0) fail("group " + std::to_string(group) + " does not divide " + a.name);
        const int64_t groups = a.cols / group;
        if (out.cols % groups != 0) fail(out.name + " is not " + std::to_string(groups) + " equal slices");
        const int64_t width = out.cols / groups;
        if (op.offset < 0 || op.offset + width > group) fail("columns [" + std::to_string(op.offset) + ", " + std::to_string(op.offset + width) + ") are outside " + (op.group > 0 ? "a group of " : "") + a.name);
        if (out.per_token != a.per_token) fail("mixes per-token and single-row tensors");
        break;
      }
      case OpKind::ExpertScale: {
        const TensorDesc& route = tensor(op.a, "route");
        same_width(tensor(op.out, "out"), route);
        if (route.cols < 2 || route.cols % 2) fail("route tensor " + route.name + " is not 2 x top-k wide");
        if (weight(op.weight).rows != 1) fail("per-expert scales " + weight(op.weight).name + " are not one row");
        break;
      }
      case OpKind::MulGrouped: {
        const TensorDesc& a = tensor(op.a, "a");
        const TensorDesc& b = tensor(op.b, "b");
        same_width(tensor(op.out, "out"), a);
        if (b.cols <= 0 || a.cols % b.cols) fail(b.name + "'s " + std::to_string(b.cols) + " columns do not divide " + a.name + "'s " + std::to_string(a.cols));
        if (a.per_token != b.per_token) fail("mixes per-token and single-row tensors");
        break;
      }
      case OpKind::Route: {
        const reference::RouteParams& p = op.route;
        if (tensor(op.a, "logits").cols != p.experts) fail("router logits are not " + std::to_string(p.experts) + " wide");
        if (p.top_k < 1 || p.top_k > p.experts) fail("top-k " + std::to_string(p.top_k) + " is not between 1 and the " + std::to_string(p.experts) + " experts");
        if (tensor(op.out, "out").cols != 2 * int64_t(p.top_k)) fail("route output is not 2 x top-k wide");
        if (op.weight >= 0 && weight(op.weight).cols * weight(op.weight).rows != p.experts) fail("selection bias " + weight(op.weight).name + " is not one value per expert");
        if (op.b >= 0 && tensor(op.b, "chosen experts").cols != p.top_k) fail("chosen experts are not top-k wide");
        break;
      }
      case OpKind::MoeMatMul: {
        const WeightDesc& w = weight(op.weight);
        const TensorDesc& route = tensor(op.b, "route");
        const int64_t k = route.cols / 2;
        if (k < 1 || route.cols % 2) fail("route tensor " + route.name + " is not 2 x top-k wide");
        if (k > w.experts) fail("top-k " + std::to_string(k) + " exceeds the " + std::to_string(w.experts) + " experts of " + w.name);
        const int64_t a_cols = tensor(op.a, "input").cols;
        if (a_cols != w.cols && a_cols != k * w.cols) fail("input width is neither " + w.name + "'s " + std::to_string(w.cols) + " nor top-k times it");
        if (tensor(op.out, "out").cols != k * w.rows) fail("output width is not top-k x " + std::to_string(w.rows));
        break;
      }
      case OpKind::KeepHeads: {
        const TensorDesc& a = tensor(op.a, "input");
        same_width(tensor(op.out, "out"), a);
        if (op.group <= 0 || op.heads <= 0 || a.cols % (int64_t(op.group) * op.heads)) fail(a.name + " is not whole KV groups of " + std::to_string(op.heads) + " heads of " + std::to_string(op.group));
        if (op.kept_heads < 0 || op.kept_heads > op.heads) fail("keeps " + std::to_string(op.kept_heads) + " of " + std::to_string(op.heads) + " heads per group");
        break;
      }
      case OpKind::MoeSum: {
        const TensorDesc& route = tensor(op.b, "route");
        const int64_t k = route.cols / 2;
        if (k < 1 || route.cols % 2) fail("route tensor " + route.name + " is not 2 x top-k wide");
        if (tensor(op.a, "input").cols != k * tensor(op.out, "out").cols) fail("input is not top-k outputs wide");
        break;
      }
    }
  }
  if (g.logits < 0 || g.logits >= n_tensors) throw Error("step graph has no logits tensor");
}

}  // namespace archscope
