// StoreKv and Attention on the Vulkan backend against the reference, for every cache type:
// GQA, sliding windows over ring buffers that wrap, sinks, softcap, K = V, unequal key and
// value head dims, split (flash-decoding) attention, and caches split over several
// bindings.
#include <gtest/gtest.h>

#include <cmath>

#include "vulkan/op_test_support.h"

namespace archscope::testing {
namespace {

struct AttentionCase {
  const char* name;
  GgmlType type;
  int q_heads, kv_heads, head_dim_k, head_dim_v;
  int64_t capacity;
  int window;  // 0: none
  bool sinks;
  float softcap;  // 0: none
  bool k_equals_v;
  int max_tokens;    // 1: a decode graph
  int steps;         // decode steps after the prefill steps (enough to reach every split)
  uint64_t binding;  // max_binding_bytes, 0: the device's
};

const AttentionCase kCases[] = {
    // name                type             q  kv  dk  dv  cap  win  sinks cap  K=V  max  steps binding
    {"f16_gqa_decode", GgmlType::F16, 4, 2, 64, 64, 300, 0, false, 0.0f, false, 1, 320, 0},
    {"f32_odd_dims_prefill", GgmlType::F32, 2, 2, 40, 40, 128, 0, false, 0.0f, false, 16, 40, 0},
    {"bf16_window_ring", GgmlType::BF16, 4, 1, 64, 64, 32, 32, false, 0.0f, false, 1, 80, 0},
    {"q8_0_sinks_softcap", GgmlType::Q8_0, 8, 2, 64, 64, 200, 0, true, 30.0f, false, 8, 110, 0},
    {"f16_ring_prefill", GgmlType::F16, 4, 2, 32, 32, 24, 24, true, 0.0f, false, 10, 12, 0},
    {"f16_step_overfills_ring", GgmlType::F16, 2, 1, 32, 32, 16, 16, false, 0.0f, false, 20, 3, 0},
    {"f16_window_inside_cache", GgmlType::F16, 4, 2, 64, 64, 64, 10, false, 0.0f, false, 12, 20, 0},
    {"f16_k_equals_v", GgmlType::F16, 4, 4, 64, 64, 96, 0, false, 0.0f, true, 1, 100, 0},
    {"q8_0_k_equals_v", GgmlType::Q8_0, 4, 2, 64, 64, 96, 0, true, 0.0f, true, 4, 80, 0},
    {"f16_value_dims_differ", GgmlType::F16, 4, 2, 64, 32, 100, 0, false, 0.0f, false, 1, 110, 0},
    {"bf16_odd_head_dims", GgmlType::BF16, 3, 1, 21, 45, 50, 0, true, 20.0f, false, 5, 10, 0},
    {"f32_big_heads", GgmlType::F32, 2, 1, 256, 512, 80, 0, false, 0.0f, false, 1, 90, 0},
    // Caches in parts of whole slots (one binding each), with splits inside each part.
    {"f16_parts_prefill", GgmlType::F16, 4, 2, 64, 64, 150, 0, false, 0.0f, false, 4, 150, 16384},
    {"q8_0_parts_decode", GgmlType::Q8_0, 4, 2, 64, 64, 200, 0, true, 0.0f, false, 1, 210, 8192},
    {"bf16_parts_ring", GgmlType::BF16, 2, 1, 64, 64, 48, 48, false, 10.0f, false, 3, 60, 4096},
};

class AttentionTest : public VulkanOpTest, public ::testing::WithParamInterface<AttentionCase> {};

// Prefill steps of max_tokens (and one shorter), then single-token decode steps, with
// positions running past the capacity so ring buffers wrap.
std::vector<Step> attention_steps(const AttentionCase& c) {
  std::vector<Step> steps;
  int32_t position = 0;
  if (c.max_tokens > 1) {
    for (int count : {c.max_tokens, std::max(1, c.max_tokens / 2 + 1), c.max_tokens}) {
      steps.push_back(prefill_step(position, count));
      position += count;
    }
  }
  for (const Step& s : decode_steps(position, c.steps)) steps.push_back(s);
  return steps;
}

TEST_P(AttentionTest, MatchesReference) {
  const AttentionCase c = GetParam();
  TestModel m;
  Graph g;
  g.max_tokens = c.max_tokens;
  const int q = add_input(g, m, "q", int64_t(c.q_heads) * c.head_dim_k, 1, 64, 2.0f);
  const int k = add_input(g, m, "k", int64_t(c.kv_heads) * c.head_dim_k, 2, 64, 2.0f);
  const int v = c.k_equals_v ? -1 : add_input(g, m, "v", int64_t(c.kv_heads) * c.head_dim_v, 3);
  const int cache = m.add_cache(c.type, c.capacity, c.kv_heads, c.head_dim_k, c.head_dim_v, c.k_equals_v);
  Op store = make_op(OpKind::StoreKv, -1, k, v);
  store.cache = cache;
  add_op(g, store);
  Op attend = make_op(OpKind::Attention, g.add_tensor("attn", int64_t(c.q_heads) * c.head_dim_v), q);
  attend.cache = cache;
  attend.attention.q_heads = c.q_heads;
  attend.attention.kv_heads = c.kv_heads;
  attend.attention.head_dim_k = c.head_dim_k;
  attend.attention.head_dim_v = c.head_dim_v;
  attend.attention.scale = 1.0f / std::sqrt(static_cast<float>(c.head_dim_k));
  attend.attention.softcap = c.softcap;
  attend.attention.window = c.window;
  if (c.sinks) attend.weight = m.add_weight("sinks", GgmlType::F32, c.q_heads, 1, 4, 3.0f);
  const int out = add_op(g, attend);
  g.logits = out;

  VulkanBackendOptions options;
  options.max_binding_bytes = c.binding;
  // The caches hold the same rounded values on both sides (the conversions are bit exact);
  // what differs is summation order and exp().
  expect_agree(m, g, attention_steps(c), {out}, 5e-5, options);
}

INSTANTIATE_TEST_SUITE_P(Caches, AttentionTest, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return std::string(info.param.name); });

// A cache nothing was stored in: every slot empty, so the output is zeros (even with sinks).
TEST_F(VulkanOpTest, AttentionOverAnEmptyCacheIsZero) {
  TestModel m;
  Graph g;
  g.max_tokens = 3;
  const int q = add_input(g, m, "q", 2 * 64, 1);
  const int cache = m.add_cache(GgmlType::F16, 40, 1, 64, 64);
  Op attend =
      make_op(OpKind::Attention, g.add_tensor("attn", 2 * 64), q, -1, m.add_weight("sinks", GgmlType::F32, 2, 1, 2));
  attend.cache = cache;
  attend.attention = {2, 1, 64, 64, 0.125f, 0.0f, 0, nullptr};
  const int out = add_op(g, attend);
  g.logits = out;
  std::unique_ptr<Backend> gpu = make_vulkan_backend("");
  gpu->load(m.resources);
  gpu->prepare(g);
  gpu->run(g, std::vector<int32_t>{1, 2, 3}, 7);
  for (float x : gpu->read(g, out)) ASSERT_EQ(x, 0.0f);
}

}  // namespace
}  // namespace archscope::testing
