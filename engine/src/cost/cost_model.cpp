#include "archscope/cost_model.h"

#include <algorithm>

namespace archscope {

namespace {

uint64_t elements_of(const TensorSpec& t) {
  uint64_t n = 1;
  for (uint64_t d : t.shape) n *= d;
  return n;
}

bool is_embedding_table(const TensorSpec& t) {
  return t.component == WeightComponent::TokenEmbedding ||
         (t.component == WeightComponent::PerLayerEmbedding &&
          (t.name.find("per_layer_token_embd") != std::string::npos || t.name.find("embed_tokens_per_layer") != std::string::npos));
}

// Share of a tensor one token uses: routed experts at top-k / n, everything else whole.
double active_share(const ModelSpec& spec, const TensorSpec& t) {
  if (t.component != WeightComponent::RoutedExperts || t.layer < 0 || t.layer >= spec.layer_count()) return 1.0;
  const FfnSpec& ffn = spec.layers[t.layer].ffn;
  if (ffn.experts <= 0 || t.shape.size() < 3) return 1.0;  // biases and 2D tensors are read whole
  return double(ffn.active_experts) / ffn.experts;
}

uint64_t vocab_rows(const TensorSpec& t) { return t.shape.size() >= 2 ? std::max<uint64_t>(t.shape.back(), 1) : 1; }

}  // namespace

WeightSummary summarize_weights(const ModelSpec& spec) {
  WeightSummary w;
  const bool has_output = std::any_of(spec.tensors.begin(), spec.tensors.end(),
                                      [](const TensorSpec& t) { return t.component == WeightComponent::Output; });
  for (const TensorSpec& t : spec.tensors) {
    const uint64_t n = elements_of(t);
    w.bytes_by_component[static_cast<int>(t.component)] += t.bytes;
    w.bytes += t.bytes;
    w.params += n;
    if (t.component == WeightComponent::PerLayerEmbedding && is_embedding_table(t)) w.ple_table_bytes += t.bytes;
    if (is_embedding_table(t)) {
      // Gathered, not multiplied; a tied token table is also the output head.
      if (t.component == WeightComponent::TokenEmbedding && !has_output) w.active_params += n;
    } else if (t.shape.size() >= 2) {
      w.active_params += static_cast<uint64_t>(n * active_share(spec, t));
    }
  }
  return w;
}

DecodeCost estimate_decode(const ModelSpec& spec, const CachePlan& plan) {
  DecodeCost cost;
  cost.context = plan.context;
  cost.layers.resize(spec.layers.size());
  const bool has_output = std::any_of(spec.tensors.begin(), spec.tensors.end(),
                                      [](const TensorSpec& t) { return t.component == WeightComponent::Output; });

  for (const TensorSpec& t : spec.tensors) {
    uint64_t bytes = 0;
    double flops = 0;
    if (is_embedding_table(t)) {
      bytes = t.bytes / vocab_rows(t);  // one row per token
      if (t.component == WeightComponent::TokenEmbedding && !has_output) {
        bytes = t.bytes;  // tied: the table is read whole as the output head
        flops = 2.0 * elements_of(t);
      }
    } else {
      const double share = active_share(spec, t);
      bytes = static_cast<uint64_t>(t.bytes * share);
      if (t.shape.size() >= 2) flops = 2.0 * elements_of(t) * share;
    }
    cost.weight_bytes_read += bytes;
    cost.flops += flops;
    if (t.layer >= 0 && t.layer < spec.layer_count()) {
      cost.layers[t.layer].weight_bytes_read += bytes;
      cost.layers[t.layer].matmul_flops += flops;
    }
  }

  for (const LayerSpec& l : spec.layers) {
    LayerDecodeCost& lc = cost.layers[l.index];
    lc.layer = l.index;
    const LayerCache& held = plan.layers.at(l.kv_source);
    const uint64_t k_row = cache_row_bytes(plan.type, uint64_t(l.kv_heads) * l.head_dim_k);
    const uint64_t v_row = l.k_equals_v ? 0 : cache_row_bytes(plan.type, uint64_t(l.kv_heads) * l.head_dim_v);
    uint64_t reached_entries = held.compressed_entries;
    double indexer_flops = 0;
    uint64_t indexer_bytes = 0;
    if (l.attention == AttentionKind::Csa && l.indexer_top_k > 0) {
      // The lightning indexer scores every entry, then attention reads the top k.
      indexer_flops = 2.0 * l.indexer_heads * l.indexer_dim * held.compressed_entries;
      indexer_bytes = held.compressed_entries * cache_row_bytes(plan.type, l.indexer_dim);
      reached_entries = std::min<uint64_t>(reached_entries, l.indexer_top_k);
    }
    lc.attended_positions = held.positions + reached_entries;
    lc.cache_bytes_read = held.positions * (k_row + v_row) + reached_entries * k_row + indexer_bytes;
    lc.attention_flops = 2.0 * l.active_q_heads() * double(l.head_dim_k + l.head_dim_v) * lc.attended_positions + indexer_flops;
    cost.flops += lc.attention_flops;
    cost.cache_bytes_read += lc.cache_bytes_read;
  }
  return cost;
}

}  // namespace archscope
