// The gate and mixture-of-experts ops on the Vulkan backend against the reference:
// Softplus, MulGrouped (per-head gates), KeepHeads (dropped query heads), Route (softmax,
// sigmoid and sqrt-softplus scores, with and without a selection bias, renormalised and
// scaled), MoeMatMul (shared and per-choice inputs, quantized experts, experts split over
// several bindings) and MoeSum, in decode and prefill steps.
#include <gtest/gtest.h>

#include "archscope/error.h"
#include "vulkan/op_test_support.h"

namespace archscope::testing {
namespace {

constexpr double kTolerance = 2e-5;

TEST_F(VulkanOpTest, GateOpsMatchReference) {
  TestModel m;
  Graph g;
  g.max_tokens = 5;
  const int heads = 6, head_dim = 12, n = heads * head_dim;
  const int a = add_input(g, m, "a", n, 1, 64, 4.0f);
  const int logits = add_input(g, m, "gate_logits", heads, 2, 64, 30.0f);  // past softplus's x > 20 branch
  const int gate = add_op(g, make_op(OpKind::Softplus, g.add_tensor("softplus", heads), logits));
  const int gated = add_op(g, make_op(OpKind::MulGrouped, g.add_tensor("gated", n), a, gate));
  const int in_place = add_op(g, make_op(OpKind::Softplus, g.add_tensor("copy", n), a));
  add_op(g, make_op(OpKind::MulGrouped, in_place, in_place, gate));  // out = a
  Op keep = make_op(OpKind::KeepHeads, g.add_tensor("kept", n), a);
  keep.group = head_dim;
  keep.heads = 3;  // two KV groups of 3 query heads
  keep.kept_heads = 2;
  const int kept = add_op(g, keep);
  g.logits = add_op(g, make_op(OpKind::LastRow, g.add_tensor("last", n, false), gated));
  expect_agree(m, g, {prefill_step(0, 5), prefill_step(5, 1)}, {gate, gated, in_place, kept}, kTolerance);

  // KeepHeads really zeroes the third head of each group and keeps the others.
  std::unique_ptr<Backend> cpu = make_cpu_backend();
  cpu->load(m.resources);
  cpu->prepare(g);
  cpu->run(g, std::vector<int32_t>{3}, 0);
  const std::vector<float> in = cpu->read(g, a), out = cpu->read(g, kept);
  for (int c = 0; c < n; ++c) EXPECT_EQ(out[c], (c / head_dim) % 3 == 2 ? 0.0f : in[c]) << "column " << c;
}

struct RouteCase {
  reference::RouterScoreFn score;
  bool bias, normalize;
  float scale;
  int experts = 37, top_k = 5;  // fewer experts than route.comp's 64 invocations, or more
};

TEST_F(VulkanOpTest, RouteMatchesReference) {
  for (const RouteCase& c : {RouteCase{reference::RouterScoreFn::Sigmoid, true, true, 2.5f},
                             RouteCase{reference::RouterScoreFn::Softmax, false, true, 1.0f},
                             RouteCase{reference::RouterScoreFn::Softmax, false, false, 1.0f},
                             RouteCase{reference::RouterScoreFn::SqrtSoftplus, true, false, 1.5f},
                             RouteCase{reference::RouterScoreFn::Sigmoid, true, true, 2.5f, 256, 8},
                             RouteCase{reference::RouterScoreFn::Softmax, false, true, 1.0f, 200, 8}}) {
    SCOPED_TRACE("score " + std::to_string(int(c.score)) + " bias " + std::to_string(c.bias) + " experts " +
                 std::to_string(c.experts));
    TestModel m;
    Graph g;
    g.max_tokens = 7;
    const int experts = c.experts, top_k = c.top_k;
    const int logits = add_input(g, m, "logits", experts, 3, 64, 3.0f);
    Op route = make_op(OpKind::Route, g.add_tensor("route", 2 * top_k), logits, -1,
                       c.bias ? m.add_weight("bias", GgmlType::F32, experts, 1, 4, 0.5f) : -1);
    route.route = {c.score, experts, top_k, c.normalize, c.scale, nullptr};
    const int r = add_op(g, route);
    g.logits = add_op(g, make_op(OpKind::LastRow, g.add_tensor("last", 2 * top_k, false), r));
    expect_agree(m, g, {prefill_step(0, 7), prefill_step(7, 1), prefill_step(8, 3)}, {r}, kTolerance);
  }
}

// More chosen experts than route.comp keeps (64): a clear error when the graph is
// prepared, not a wrong result; validate_graph refuses a top-k above the expert count.
TEST_F(VulkanOpTest, RouteLimitsAreClearErrors) {
  TestModel m;
  Graph g;
  const int logits = add_input(g, m, "logits", 100, 3);
  Op route = make_op(OpKind::Route, g.add_tensor("route", 2 * 65), logits);
  route.route = {reference::RouterScoreFn::Sigmoid, 100, 65, true, 1.0f, nullptr};
  g.logits = add_op(g, route);
  std::unique_ptr<Backend> gpu = make_vulkan_backend("");
  gpu->load(m.resources);
  try {
    gpu->prepare(g);
    ADD_FAILURE() << "prepared a route to 65 experts";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("routes to 1 to 64 experts"), std::string::npos) << e.what();
  }

  Graph too_many;
  const int l2 = add_input(too_many, m, "logits2", 4, 4);
  Op r2 = make_op(OpKind::Route, too_many.add_tensor("route", 2 * 5), l2);
  r2.route = {reference::RouterScoreFn::Sigmoid, 4, 5, true, 1.0f, nullptr};
  too_many.logits = add_op(too_many, r2);
  try {
    validate_graph(too_many, m.resources);
    ADD_FAILURE() << "a top-5 of 4 experts validated";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("top-k 5 is not between 1 and the 4 experts"), std::string::npos) << e.what();
  }
}

class MoeOpTest : public VulkanOpTest {
 protected:
  // A small MoE FFN: route, gate and up experts from a shared input, SwiGLU, down experts
  // from per-choice inputs, weighted sum.
  // max_tokens 9 records the prefill shader (a work group per expert), 1 the decode one (a
  // work group per chosen expert). d: the input width, width: the experts' hidden width
  // (256-element multiples for the k- and i-quants).
  void moe_ffn_case(GgmlType type, int max_tokens, const VulkanBackendOptions& options, double tolerance, int d = 64,
                    int width = 32);
};

void MoeOpTest::moe_ffn_case(GgmlType type, int max_tokens, const VulkanBackendOptions& options, double tolerance,
                             int d, int width) {
  TestModel m;
  Graph g;
  g.max_tokens = max_tokens;
  const int experts = 8, top_k = 3;
  const int x = add_input(g, m, "x", d, 5);
  const int logits = add_op(g, make_op(OpKind::MatMul, g.add_tensor("logits", experts), x, -1,
                                       m.add_weight("router", GgmlType::F32, d, experts, 6)));
  Op route = make_op(OpKind::Route, g.add_tensor("route", 2 * top_k), logits, -1,
                     m.add_weight("bias", GgmlType::F32, experts, 1, 7, 0.3f));
  route.route = {reference::RouterScoreFn::Sigmoid, experts, top_k, true, 2.5f, nullptr};
  const int r = add_op(g, route);
  const int gate = add_op(g, make_op(OpKind::MoeMatMul, g.add_tensor("gate", top_k * width), x, r,
                                     m.add_weight("gate_exps", type, d, width, 8, 0.2f, experts)));
  const int up = add_op(g, make_op(OpKind::MoeMatMul, g.add_tensor("up", top_k * width), x, r,
                                   m.add_weight("up_exps", type, d, width, 9, 0.2f, experts)));
  Op glu = make_op(OpKind::Glu, gate, gate, up);
  glu.activation = Activation::Silu;
  add_op(g, glu);
  const int down = add_op(g, make_op(OpKind::MoeMatMul, g.add_tensor("down", top_k * d), gate, r,
                                     m.add_weight("down_exps", type, width, d, 10, 0.2f, experts)));
  const int sum = add_op(g, make_op(OpKind::MoeSum, g.add_tensor("sum", d), down, r));
  g.logits = add_op(g, make_op(OpKind::LastRow, g.add_tensor("last", d, false), sum));
  const std::vector<Step> steps = max_tokens > 1
                                      ? std::vector<Step>{prefill_step(0, 9), prefill_step(9, 1), prefill_step(10, 2)}
                                      : decode_steps(0, 6);
  expect_agree(m, g, steps, {r, gate, up, down, sum}, tolerance, options);
}

TEST_F(MoeOpTest, MoeFfnMatchesReference) {
  for (int max_tokens : {1, 9}) {
    for (GgmlType type : {GgmlType::F32, GgmlType::F16, GgmlType::Q8_0}) {
      SCOPED_TRACE(std::string(type_name(type)) + ", max_tokens " + std::to_string(max_tokens));
      moe_ffn_case(type, max_tokens, {}, 1e-4);
    }
  }
}

// The quantized types the experts of downloaded files come in (MXFP4_MOE files, Q4_K_M's
// Q5_0 fallbacks, ...): 32-element types with the usual shape (mxfp4's 32-wide down experts
// have rows of 17 bytes, at odd offsets), 256-element types with 256-wide experts.
TEST_F(MoeOpTest, MoeFfnWithQuantizedExpertsMatchesReference) {
  for (int max_tokens : {1, 9}) {
    for (GgmlType type : {GgmlType::MXFP4, GgmlType::Q4_1, GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::IQ4_NL,
                          GgmlType::Q2_K, GgmlType::Q3_K, GgmlType::IQ4_XS}) {
      SCOPED_TRACE(std::string(type_name(type)) + ", max_tokens " + std::to_string(max_tokens));
      const bool k_block = ggml_type_info(type)->block_size == 256;
      moe_ffn_case(type, max_tokens, {}, 1e-4, k_block ? 256 : 64, k_block ? 256 : 32);
    }
  }
}

// The grid i-quants of DeepSeek V4 / "UD" expert tensors (IQ2_XXS, IQ1_S, ...).
TEST_F(MoeOpTest, MoeFfnWithGridIQuantExperts) {
  for (int max_tokens : {1, 9}) {
    for (GgmlType type : {GgmlType::IQ2_XXS, GgmlType::IQ2_XS, GgmlType::IQ2_S, GgmlType::IQ3_XXS, GgmlType::IQ3_S,
                          GgmlType::IQ1_S, GgmlType::IQ1_M}) {
      SCOPED_TRACE(std::string(type_name(type)) + ", max_tokens " + std::to_string(max_tokens));
      moe_ffn_case(type, max_tokens, {}, 1e-4, 256, 256);
    }
  }
}

TEST_F(MoeOpTest, MoeFfnWithExpertsSplitOverBindings) {
  // 8 KiB bindings (the widest activation is 6.75 KiB): the f32 gate experts, 8 x 32 rows
  // of 256 bytes, are bound in pieces of 31 rows, so experts straddle pieces.
  VulkanBackendOptions options;
  options.max_binding_bytes = 8192;
  for (int max_tokens : {1, 9}) {
    SCOPED_TRACE("max_tokens " + std::to_string(max_tokens));
    moe_ffn_case(GgmlType::F32, max_tokens, options, 1e-4);
  }
}

}  // namespace
}  // namespace archscope::testing
