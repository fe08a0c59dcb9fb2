// Decode cost of MoE models scales with the active experts, not the total: a decode step
// reads top-k of the routed experts' weights (and every shared expert and router whole),
// as the engine's expert matmuls do (only the chosen experts' rows are read).
#include <gtest/gtest.h>

#include "archscope/cost_model.h"
#include "archscope/model_loader.h"
#include "archscope/model_writer.h"

namespace archscope {
namespace {

ModelSpec with_active_experts(ModelSpec spec, int active) {
  for (LayerSpec& l : spec.layers) {
    if (l.ffn.kind == FfnKind::Moe) l.ffn.active_experts = active;
  }
  return spec;
}

uint64_t decode_weight_bytes(const ModelSpec& spec) {
  return estimate_decode(spec, plan_cache(spec, 4096)).weight_bytes_read;
}

TEST(MoeDecodeCost, LagunaXs2ReadsOnlyTheChosenExperts) {
  const ModelSpec xs2 = load_model_spec(ARCHSCOPE_SOURCE_DIR "/models/cards/laguna-xs.2.json").value();
  // One routed expert of one layer: gate, up and down, 2048 x 512 bf16 each.
  const uint64_t expert = 3ull * 2048 * 512 * 2;
  const uint64_t top8 = decode_weight_bytes(xs2);
  EXPECT_EQ(top8 - decode_weight_bytes(with_active_experts(xs2, 4)), 39 * 4 * expert);
  EXPECT_EQ(decode_weight_bytes(with_active_experts(xs2, 16)) - top8, 39 * 8 * expert);
  // All 256 experts would be 32 times the routed bytes of top-8.
  const uint64_t all = decode_weight_bytes(with_active_experts(xs2, 256));
  EXPECT_EQ(all - top8, 39ull * 248 * expert);
  // Top-8 reads about 5.2 GiB of the 62 GiB of weights.
  EXPECT_LT(double(top8), 0.1 * double(all));
}

TEST(MoeDecodeCost, TinyLagunaScalesWithTopK) {
  const ModelSpec tiny = tiny_model_spec({"laguna", "tiny", GgmlType::F32, 1});
  // 4 MoE layers; one expert: gate and up 128 x 64, down 64 x 128, f32.
  const uint64_t expert = 3ull * 128 * 64 * 4;
  const uint64_t top2 = decode_weight_bytes(tiny);
  for (int k : {1, 4, 8}) {
    EXPECT_EQ(int64_t(decode_weight_bytes(with_active_experts(tiny, k))) - int64_t(top2), int64_t(4) * (k - 2) * int64_t(expert))
        << "top-" << k;
  }
}

}  // namespace
}  // namespace archscope
