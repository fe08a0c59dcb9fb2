// RmsNorm and Rope on the Vulkan backend against the reference.
#include <gtest/gtest.h>

#include "vulkan/op_test_support.h"

namespace archscope::testing {
namespace {

constexpr double kTolerance = 2e-5;

Op norm_op(int out, int a, int weight, int group, float eps) {
  Op op = make_op(OpKind::RmsNorm, out, a, -1, weight);
  op.group = group;
  op.eps = eps;
  return op;
}

// Whole rows with an f32 weight, heads of 64 with an f16 weight (bound as an f32 copy), no
// weight, in place, and a single-row tensor.
TEST_F(VulkanOpTest, RmsNormMatchesReference) {
  TestModel m;
  Graph g;
  g.max_tokens = 5;
  const int x = add_input(g, m, "x", 320, 1, 64, 3.0f);
  const int w_row = m.add_weight("norm", GgmlType::F32, 320, 1, 2);
  const int w_head = m.add_weight("q_norm", GgmlType::F16, 64, 1, 3);
  const int row = add_op(g, norm_op(g.add_tensor("row", 320), x, w_row, 0, 1e-6f));
  const int heads = add_op(g, norm_op(g.add_tensor("heads", 320), x, w_head, 64, 1e-5f));
  const int plain = add_op(g, norm_op(g.add_tensor("plain", 320), x, -1, 0, 1e-6f));
  const int odd = add_input(g, m, "odd", 333, 4);  // 333 columns: partial last pass
  add_op(g, norm_op(odd, odd, -1, 0, 1e-6f));      // in place
  const int last = add_op(g, make_op(OpKind::LastRow, g.add_tensor("last", 320, false), x));
  const int last_norm = add_op(g, norm_op(g.add_tensor("last_norm", 320, false), last, w_row, 0, 1e-6f));
  g.logits = last_norm;
  expect_agree(m, g, {prefill_step(0, 5), prefill_step(5, 2), {{1}, 7}}, {row, heads, plain, odd, last_norm},
               kTolerance);
}

struct RopeCase {
  const char* name;
  bool neox;
  int rotary_dims, rotary_offset;
  bool factors;
  bool yarn;
  float theta;
};
const RopeCase kRopes[] = {
    {"neox", true, 64, 0, false, false, 10000.0f},
    {"gptj", false, 64, 0, false, false, 10000.0f},
    {"partial_neox", true, 32, 0, false, false, 1000000.0f},  // the first half rotates
    {"tail_gptj", false, 16, 48, false, false, 10000.0f},     // the last dims rotate (DeepSeek)
    {"freq_factors", true, 64, 0, true, false, 500000.0f},    // Llama 3 long-context factors
    {"yarn", true, 64, 0, false, true, 10000.0f},             // YaRN ramp and magnitude scale
    {"yarn_gptj_factors", false, 32, 32, true, true, 10000.0f},
};

class RopeTest : public VulkanOpTest, public ::testing::WithParamInterface<RopeCase> {};

// 3 heads of 64 per token; positions from 0 to past 100000 (angles far beyond 2 pi).
TEST_P(RopeTest, MatchesReference) {
  const RopeCase c = GetParam();
  TestModel m;
  Graph g;
  g.max_tokens = 4;
  const int x = add_input(g, m, "x", 3 * 64, 1);
  Op op = make_op(OpKind::Rope, x, x);
  op.heads = 3;
  op.head_dim = 64;
  op.rope.neox = c.neox;
  op.rope.rotary_dims = c.rotary_dims;
  op.rope.rotary_offset = c.rotary_offset;
  op.rope.theta = c.theta;
  if (c.factors) {
    // Divisors between 1 and 8, as ggml's freq_factors.
    TestModel& model = m;
    const int f = model.add_weight("rope_freqs", GgmlType::F32, c.rotary_dims / 2, 1, 2, 1.0f);
    float* values = reinterpret_cast<float*>(const_cast<uint8_t*>(model.resources.weights[f].data));
    for (int i = 0; i < c.rotary_dims / 2; ++i) values[i] = 4.5f + 3.5f * values[i];
    op.weight = f;
  }
  if (c.yarn) {
    op.rope.freq_scale = 0.25f;
    op.rope.ext_factor = 1.0f;
    op.rope.original_context = 4096;
    op.rope.attn_factor = 1.0f;
  }
  add_op(g, op);
  g.logits = x;
  std::vector<Step> steps = {prefill_step(0, 4), prefill_step(17, 3), {{9}, 4095}, prefill_step(100000, 4)};
  expect_agree(m, g, steps, {x}, kTolerance);
}

INSTANTIATE_TEST_SUITE_P(Variants, RopeTest, ::testing::ValuesIn(kRopes),
                         [](const auto& info) { return std::string(info.param.name); });

}  // namespace
}  // namespace archscope::testing
