// Decode bandwidth measurements, disabled by default (measurements, not checks); run with
//   vulkan_tests --gtest_also_run_disabled_tests --gtest_filter='*Bandwidth*'
// MatVecBandwidth: a 4096 x 4096 weight times one token, timed with the backend's GPU
// timestamps (the MatMul is layer 0 of the graph) and by wall clock around run().
// AttentionBandwidth: one decode token attending over 4096 cached positions of an f16
// cache (32 query heads, 8 KV heads of 128), Llama-3-8B-like.
#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "vulkan/op_test_support.h"

namespace archscope::testing {
namespace {

class MatVecBandwidth : public VulkanOpTest, public ::testing::WithParamInterface<GgmlType> {};

TEST_P(MatVecBandwidth, DISABLED_Measure) {
  constexpr int64_t kN = 4096;
  constexpr int kRuns = 20;
  TestModel m;
  Graph g;
  const int x = add_input(g, m, "x", kN, 1);
  const int w = m.add_weight("w", GetParam(), kN, kN, 2);
  Op matmul = make_op(OpKind::MatMul, g.add_tensor("out", kN), x, -1, w);
  matmul.layer = 0;
  add_op(g, matmul);
  g.logits = matmul.out;
  std::unique_ptr<Backend> gpu = make_vulkan_backend("");
  gpu->load(m.resources);
  gpu->prepare(g);
  gpu->run(g, std::vector<int32_t>{0}, 0);  // warm up

  double best_gpu = 1e30, best_wall = 1e30;
  for (int i = 0; i < kRuns; ++i) {
    const auto start = std::chrono::steady_clock::now();
    gpu->run(g, std::vector<int32_t>{i % 64}, i);
    best_wall = std::min(best_wall,
                         std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    for (const LayerTiming& t : gpu->timings()) {
      if (t.layer == 0) best_gpu = std::min(best_gpu, t.milliseconds);
    }
  }
  const double bytes = double(m.resources.weights[w].bytes());
  std::printf("  %s %lldx%lld (%.1f MB): matmul %.3f ms = %.1f GB/s (GPU timestamps); run() %.3f ms = %.1f GB/s\n",
              type_name(GetParam()), (long long)kN, (long long)kN, bytes / 1e6, best_gpu, bytes / best_gpu / 1e6,
              best_wall, bytes / best_wall / 1e6);
}

INSTANTIATE_TEST_SUITE_P(Types, MatVecBandwidth,
                         ::testing::Values(GgmlType::F32, GgmlType::F16, GgmlType::BF16, GgmlType::Q8_0, GgmlType::Q4_0,
                                           GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::MXFP4,
                                           GgmlType::IQ4_NL, GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::Q4_K,
                                           GgmlType::Q5_K, GgmlType::Q6_K, GgmlType::IQ4_XS, GgmlType::IQ2_XXS,
                                           GgmlType::IQ2_XS, GgmlType::IQ2_S, GgmlType::IQ3_XXS, GgmlType::IQ3_S,
                                           GgmlType::IQ1_S, GgmlType::IQ1_M),
                         [](const auto& info) { return std::string(type_name(info.param)); });

TEST_F(VulkanOpTest, DISABLED_AttentionBandwidth) {
  constexpr int kQ = 32, kKv = 8, kDim = 128, kFilled = 4096, kChunk = 512;
  TestModel m;
  const int cache = m.add_cache(GgmlType::F16, kFilled, kKv, kDim, kDim);
  // Prefill graph: only stores keys and values, kChunk tokens a step.
  Graph fill;
  fill.max_tokens = kChunk;
  const int k = add_input(fill, m, "k", kKv * kDim, 1);
  const int v = add_input(fill, m, "v", kKv * kDim, 2);
  Op store = make_op(OpKind::StoreKv, -1, k, v);
  store.cache = cache;
  add_op(fill, store);
  fill.logits = k;
  // Decode graph: attention of one query over the cache (layer 0).
  Graph decode;
  const int q = add_input(decode, m, "q", kQ * kDim, 3);
  Op attend = make_op(OpKind::Attention, decode.add_tensor("attn", kQ * kDim), q);
  attend.cache = cache;
  attend.layer = 0;
  attend.attention = {kQ, kKv, kDim, kDim, 0.088f, 0.0f, 0, nullptr};
  add_op(decode, attend);
  decode.logits = attend.out;

  std::unique_ptr<Backend> gpu = make_vulkan_backend("");
  gpu->load(m.resources);
  gpu->prepare(fill);
  gpu->prepare(decode);
  for (int p = 0; p < kFilled; p += kChunk) gpu->run(fill, prefill_step(p, kChunk).tokens, p);
  double best = 1e30;
  for (int i = 0; i < 10; ++i) {
    gpu->run(decode, std::vector<int32_t>{1}, kFilled - 1);
    for (const LayerTiming& t : gpu->timings()) {
      if (t.layer == 0) best = std::min(best, t.milliseconds);
    }
  }
  const double bytes = 2.0 * kFilled * kKv * kDim * 2;  // keys and values, f16
  std::printf("  attention over %d f16 positions (%.1f MB of KV): %.3f ms = %.1f GB/s\n", kFilled, bytes / 1e6, best,
              bytes / best / 1e6);
}

}  // namespace
}  // namespace archscope::testing
