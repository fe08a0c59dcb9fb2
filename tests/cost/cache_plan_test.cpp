// CachePlan and CostModel on hand-built specs, where every figure can be worked out on paper.
#include <gtest/gtest.h>

#include "archscope/cache_plan.h"
#include "archscope/cost_model.h"

namespace archscope {
namespace {

LayerSpec layer(int index, AttentionKind kind, int window = 0) {
  LayerSpec l;
  l.index = l.kv_source = index;
  l.attention = kind;
  l.window = window;
  l.q_heads = 8;
  l.kv_heads = 2;
  l.head_dim_k = l.head_dim_v = 64;
  return l;
}

ModelSpec spec_of(std::vector<LayerSpec> layers) {
  ModelSpec spec;
  spec.hidden = 512;
  spec.vocab = 1000;
  spec.layers = std::move(layers);
  return spec;
}

TEST(CachePlan, GlobalLayerHoldsTheWholeContext) {
  const CachePlan plan = plan_cache(spec_of({layer(0, AttentionKind::Global)}), 1000, GgmlType::F16);
  // 1000 positions x (K + V) x 2 heads x 64 dims x 2 bytes
  EXPECT_EQ(plan.layers[0].positions, 1000u);
  EXPECT_EQ(plan.bytes, 1000u * 2 * 2 * 64 * 2);
  EXPECT_EQ(plan.bytes_naive, plan.bytes);
  EXPECT_EQ(plan.bytes_no_sharing, plan.bytes);
}

TEST(CachePlan, SlidingLayerKeepsOnlyItsWindow) {
  const ModelSpec spec = spec_of({layer(0, AttentionKind::Sliding, 128)});
  EXPECT_EQ(plan_cache(spec, 100).layers[0].positions, 100u);  // below the window: all of it
  const CachePlan plan = plan_cache(spec, 1000, GgmlType::F32);
  EXPECT_EQ(plan.layers[0].positions, 128u);
  EXPECT_EQ(plan.bytes, 128u * 2 * 2 * 64 * 4);
  EXPECT_EQ(plan.bytes_no_windows, 1000u * 2 * 2 * 64 * 4);
  EXPECT_EQ(plan.bytes_naive, 1000u * 2 * 2 * 64 * 4);
}

TEST(CachePlan, ReaderHoldsNothingAndSeesItsProducer) {
  std::vector<LayerSpec> layers = {layer(0, AttentionKind::Sliding, 16), layer(1, AttentionKind::Global),
                                   layer(2, AttentionKind::Sliding, 16), layer(3, AttentionKind::Global)};
  layers[2].kv_source = 0;
  layers[3].kv_source = 1;
  const CachePlan plan = plan_cache(spec_of(layers), 64, GgmlType::BF16);
  const uint64_t row = 2 * 2 * 64 * 2;  // K and V rows of one position
  EXPECT_FALSE(plan.layers[3].owner);
  EXPECT_EQ(plan.layers[3].source, 1);
  EXPECT_EQ(plan.layers[3].bytes, 0u);
  EXPECT_EQ(plan.layers[3].positions, 64u);
  EXPECT_EQ(plan.layers[2].positions, 16u);
  EXPECT_EQ(plan.bytes, (16 + 64) * row);
  EXPECT_EQ(plan.bytes_no_sharing, 2 * (16 + 64) * row);
  EXPECT_EQ(plan.bytes_no_windows, 2 * 64 * row);
  EXPECT_EQ(plan.bytes_naive, 4 * 64 * row);
}

TEST(CachePlan, KeysEqualValuesAreCachedOnce) {
  LayerSpec l = layer(0, AttentionKind::Global);
  l.k_equals_v = true;
  const CachePlan plan = plan_cache(spec_of({l}), 10, GgmlType::F16);
  EXPECT_EQ(plan.bytes, 10u * 2 * 64 * 2);
  EXPECT_EQ(plan.bytes_naive, 2 * plan.bytes);  // a calculator counts K and V
}

TEST(CachePlan, CompressedLayersAddEntriesAndState) {
  LayerSpec csa = layer(0, AttentionKind::Csa, 128);
  csa.kv_heads = 1;
  csa.head_dim_k = csa.head_dim_v = 512;
  csa.k_equals_v = true;
  csa.compress_ratio = 4;
  csa.indexer_dim = 128;
  csa.indexer_top_k = 512;
  csa.indexer_heads = 64;
  csa.state_elements = 1000;
  LayerSpec hca = csa;
  hca.index = hca.kv_source = 1;
  hca.attention = AttentionKind::Hca;
  hca.compress_ratio = 128;
  hca.indexer_dim = hca.indexer_top_k = hca.indexer_heads = 0;
  const CachePlan plan = plan_cache(spec_of({csa, hca}), 4096, GgmlType::F16);
  EXPECT_EQ(plan.layers[0].positions, 128u);
  EXPECT_EQ(plan.layers[0].compressed_entries, 1024u);
  EXPECT_EQ(plan.layers[0].compressed_bytes, 1024u * (512 + 128) * 2);
  EXPECT_EQ(plan.layers[0].state_bytes, 4000u);
  EXPECT_EQ(plan.layers[0].bytes, 128u * 512 * 2 + 1024u * (512 + 128) * 2 + 4000);
  EXPECT_EQ(plan.layers[1].compressed_entries, 32u);
  EXPECT_EQ(plan.layers[1].bytes, 128u * 512 * 2 + 32u * 512 * 2 + 4000);

  // One query reaches the window plus the indexer's top 512 (CSA) or every entry (HCA).
  const DecodeCost cost = estimate_decode(spec_of({csa, hca}), plan);
  EXPECT_EQ(cost.layers[0].attended_positions, 128u + 512u);
  EXPECT_EQ(cost.layers[1].attended_positions, 128u + 32u);
}

TEST(CachePlan, Q8RowsRoundUpToBlocks) {
  EXPECT_EQ(cache_row_bytes(GgmlType::Q8_0, 128), 4u * 34);
  EXPECT_EQ(cache_row_bytes(GgmlType::Q8_0, 100), 4u * 34);
  EXPECT_EQ(cache_row_bytes(GgmlType::F16, 100), 200u);
  EXPECT_EQ(parse_cache_type("Q8_0"), GgmlType::Q8_0);
  EXPECT_FALSE(parse_cache_type("q4_K").has_value());
  EXPECT_THROW(plan_cache(spec_of({layer(0, AttentionKind::Global)}), 8, GgmlType::Q4_K), std::exception);
}

TEST(CostModel, ExpertsCountAtTheirActiveShare) {
  ModelSpec spec = spec_of({layer(0, AttentionKind::Global)});
  spec.layers[0].ffn.kind = FfnKind::Moe;
  spec.layers[0].ffn.experts = 8;
  spec.layers[0].ffn.active_experts = 2;
  spec.tensors = {
      {"token_embd.weight", {512, 1000}, 0, 512 * 1000 * 4, -1, WeightComponent::TokenEmbedding},
      {"blk.0.ffn_up_exps.weight", {512, 64, 8}, 0, 512 * 64 * 8 * 4, 0, WeightComponent::RoutedExperts},
      {"blk.0.attn_q.weight", {512, 512}, 0, 512 * 512 * 4, 0, WeightComponent::Attention},
  };
  const WeightSummary w = summarize_weights(spec);
  EXPECT_EQ(w.params, 512u * 1000 + 512 * 64 * 8 + 512 * 512);
  // Tied embeddings: the table is also the output head, so it is multiplied once per token.
  EXPECT_EQ(w.active_params, 512u * 1000 + 512 * 64 * 2 + 512 * 512);
  const DecodeCost cost = estimate_decode(spec, plan_cache(spec, 100));
  EXPECT_EQ(cost.layers[0].weight_bytes_read, 512u * 64 * 2 * 4 + 512 * 512 * 4);
  EXPECT_EQ(cost.weight_bytes_read, 512u * 1000 * 4 + 512 * 64 * 2 * 4 + 512 * 512 * 4);
  EXPECT_EQ(cost.layers[0].attended_positions, 100u);
  EXPECT_DOUBLE_EQ(cost.layers[0].attention_flops, 2.0 * 8 * (64 + 64) * 100);
}

}  // namespace
}  // namespace archscope
