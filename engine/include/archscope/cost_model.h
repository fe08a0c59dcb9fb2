// CostModel: weight bytes by component, and what decoding one token costs at a context
// length (FLOPs, weight and cache bytes read, positions each layer attends to). Derived
// from the ModelSpec and its CachePlan only.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "archscope/cache_plan.h"
#include "archscope/model_spec.h"

namespace archscope {

constexpr int kWeightComponentCount = static_cast<int>(WeightComponent::Other) + 1;

struct WeightSummary {
  std::array<uint64_t, kWeightComponentCount> bytes_by_component{};
  uint64_t bytes = 0;
  uint64_t params = 0;
  uint64_t ple_table_bytes = 0;   // the per-layer-embedding table (gathered, never multiplied)
  uint64_t active_params = 0;    // weights multiplied per token: routed experts at top-k / n,
                                 // embedding tables only as the output head when tied
};

struct LayerDecodeCost {
  int layer = 0;
  uint64_t attended_positions = 0;  // raw positions + compressed entries one query reaches
  uint64_t weight_bytes_read = 0;
  uint64_t cache_bytes_read = 0;
  double matmul_flops = 0;          // 2 x weights multiplied in this layer
  double attention_flops = 0;       // scores and weighted sums over attended positions
};

struct DecodeCost {
  uint64_t context = 0;
  std::vector<LayerDecodeCost> layers;
  uint64_t weight_bytes_read = 0;   // including embedding rows and the output head
  uint64_t cache_bytes_read = 0;
  double flops = 0;
  uint64_t bytes_read() const { return weight_bytes_read + cache_bytes_read; }
};

WeightSummary summarize_weights(const ModelSpec& spec);
// The cost of decoding the token at position `plan.context` (attending to plan.context tokens).
DecodeCost estimate_decode(const ModelSpec& spec, const CachePlan& plan);

}  // namespace archscope
