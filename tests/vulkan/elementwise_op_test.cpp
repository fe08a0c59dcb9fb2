// The element-wise ops (Glu, Add, Mul, MulWeight, Scale, Softcap), LastRow and SliceCols
// on the Vulkan backend against the reference.
#include <gtest/gtest.h>

#include "archscope/error.h"
#include "vulkan/op_test_support.h"

namespace archscope::testing {
namespace {

constexpr double kTolerance = 1e-5;

TEST_F(VulkanOpTest, ElementwiseOpsMatchReference) {
  TestModel m;
  Graph g;
  g.max_tokens = 6;
  const int64_t n = 203;  // odd: the last work group is partial
  const int a = add_input(g, m, "a", n, 1, 64, 4.0f);
  const int b = add_input(g, m, "b", n, 2, 64, 4.0f);
  auto binary = [&](OpKind kind, const char* name, int lhs, int rhs) {
    return add_op(g, make_op(kind, g.add_tensor(name, n), lhs, rhs));
  };
  const int sum = binary(OpKind::Add, "add", a, b);
  const int product = binary(OpKind::Mul, "mul", a, b);
  Op swiglu = make_op(OpKind::Glu, g.add_tensor("swiglu", n), a, b);
  swiglu.activation = Activation::Silu;
  Op geglu = make_op(OpKind::Glu, g.add_tensor("geglu", n), a, b);
  geglu.activation = Activation::GeluTanh;
  Op gelu = make_op(OpKind::Glu, g.add_tensor("gelu", n), a, b);
  gelu.activation = Activation::Gelu;  // runs as gelu_tanh on both backends
  const int s = add_op(g, swiglu), gt = add_op(g, geglu), ge = add_op(g, gelu);

  Op scale = make_op(OpKind::Scale, g.add_tensor("scale", n), a);
  scale.scalar = -0.125f;
  Op cap = make_op(OpKind::Softcap, g.add_tensor("softcap", n), a);
  cap.scalar = 1.5f;  // inputs up to 4: well into tanh's flat part
  const int scaled = add_op(g, scale), capped = add_op(g, cap);
  Op big = make_op(OpKind::Scale, g.add_tensor("big", n), a);
  big.scalar = 1e6f;
  const int huge = add_op(g, big);
  Op cap_huge = make_op(OpKind::Softcap, huge, huge);  // in place, |x / cap| up to 1e5
  cap_huge.scalar = 30.0f;
  add_op(g, cap_huge);

  const int row_f32 = m.add_weight("row32", GgmlType::F32, n, 1, 3);
  const int row_bf16 = m.add_weight("row16", GgmlType::BF16, n, 1, 4);  // bound as an f32 copy
  const int scalar = m.add_weight("scalar", GgmlType::F32, 1, 1, 5);
  const int mw1 = add_op(g, make_op(OpKind::MulWeight, g.add_tensor("mul_row32", n), a, -1, row_f32));
  const int mw2 = add_op(g, make_op(OpKind::MulWeight, g.add_tensor("mul_row16", n), a, -1, row_bf16));
  const int mw3 = add_op(g, make_op(OpKind::MulWeight, g.add_tensor("mul_scalar", n), a, -1, scalar));
  const int in_place = binary(OpKind::Add, "acc", a, b);
  add_op(g, make_op(OpKind::Add, in_place, in_place, product));  // out = a

  const int last = add_op(g, make_op(OpKind::LastRow, g.add_tensor("last", n, false), sum));
  g.logits = last;
  expect_agree(m, g, {prefill_step(0, 6), prefill_step(6, 1), prefill_step(7, 4)},
               {sum, product, s, gt, ge, scaled, capped, huge, mw1, mw2, mw3, in_place, last}, kTolerance);
}

// SliceCols: one layer's slice of a wide per-token tensor (Gemma 4's per-layer inputs),
// at the start, in the middle and at the end of the row, and of a single-row tensor.
TEST_F(VulkanOpTest, SliceColsMatchesReference) {
  TestModel m;
  Graph g;
  g.max_tokens = 5;
  const int64_t n = 10 * 37;
  const int a = add_input(g, m, "a", n, 1, 64, 4.0f);
  std::vector<int> outs;
  for (int offset : {0, 4 * 37, 9 * 37}) {
    Op slice = make_op(OpKind::SliceCols, g.add_tensor("slice" + std::to_string(offset), 37), a);
    slice.offset = offset;
    outs.push_back(add_op(g, slice));
  }
  const int last = add_op(g, make_op(OpKind::LastRow, g.add_tensor("last", n, false), a));
  Op row = make_op(OpKind::SliceCols, g.add_tensor("row_slice", 300, false), last);
  row.offset = 70;
  outs.push_back(add_op(g, row));
  g.logits = last;
  expect_agree(m, g, {prefill_step(0, 5), prefill_step(5, 1), prefill_step(6, 3)}, outs, 0.0);
}

// Grouped SliceCols: the gate and up halves of each chosen expert's fused gate_up output
// (Gemma 4 MoE), and ExpertScale: route weights times a per-expert scale, in place too.
TEST_F(VulkanOpTest, GroupedSliceColsAndExpertScaleMatchReference) {
  TestModel m;
  Graph g;
  g.max_tokens = 5;
  const int64_t k = 3, width = 40;
  const int gate_up = add_input(g, m, "gate_up", k * 2 * width, 1, 64, 4.0f);
  Op gate = make_op(OpKind::SliceCols, g.add_tensor("gate", k * width), gate_up);
  gate.group = 2 * width;
  Op up = make_op(OpKind::SliceCols, g.add_tensor("up", k * width), gate_up);
  up.group = 2 * width;
  up.offset = width;
  const int gate_half = add_op(g, gate), up_half = add_op(g, up);
  // Routes of 3 choices of 8 experts: whole ids as floats (8: out of range, weight 0), then weights.
  const int table = m.add_weight("routes", GgmlType::F32, 2 * k, 64, 2);
  float* rows = reinterpret_cast<float*>(m.storage.back().data());
  for (int64_t r = 0; r < 64; ++r) {
    for (int64_t j = 0; j < k; ++j) rows[r * 2 * k + j] = static_cast<float>((r * 3 + j) % 9);
  }
  const int route = add_op(g, make_op(OpKind::GetRows, g.add_tensor("route", 2 * k), -1, -1, table));
  const int scales = m.add_weight("scales", GgmlType::F32, 8, 1, 3, 2.0f);
  Op scaled = make_op(OpKind::ExpertScale, g.add_tensor("scaled", 2 * k), route, -1, scales);
  const int scaled_route = add_op(g, scaled);
  Op in_place = make_op(OpKind::ExpertScale, route, route, -1, scales);
  add_op(g, in_place);
  g.logits = add_op(g, make_op(OpKind::LastRow, g.add_tensor("last", k * width, false), up_half));
  expect_agree(m, g, {prefill_step(0, 5), prefill_step(5, 1), prefill_step(6, 3)},
               {gate_half, up_half, scaled_route, route}, 0.0);
}

TEST(SliceCols, ReferenceSemantics) {
  // Two groups of 4 columns; the second half of each: {2, 3, 6, 7}.
  const float a[8] = {0, 1, 2, 3, 4, 5, 6, 7};
  float out[4];
  reference::slice_cols(a, 1, 8, 4, 2, 4, out);
  EXPECT_EQ(std::vector<float>(out, out + 4), (std::vector<float>{2, 3, 6, 7}));
  // Route (ids 2 and 9 of 4 experts, weights 0.75 and 0.25): weight times scale[2], or 0.
  const float route[4] = {2, 9, 0.75f, 0.25f};
  const float scales[4] = {1, 1, 4, 1};
  float scaled[4];
  reference::expert_scale(route, scaled, 1, 2, scales, 4);
  EXPECT_EQ(std::vector<float>(scaled, scaled + 4), (std::vector<float>{2, 9, 3.0f, 0.0f}));
}

TEST(SliceCols, OutOfRangeIsRefused) {
  Graph g;
  const int a = g.add_tensor("a", 32);
  Op slice = make_op(OpKind::SliceCols, g.add_tensor("s", 16), a);
  slice.offset = 17;
  g.ops.push_back(slice);
  g.logits = a;
  try {
    validate_graph(g, ModelResources{});
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("columns [17, 33) are outside a"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace archscope::testing

namespace archscope::testing {
namespace {

// A gathered-only table kept in host memory (Gemma 4's per-layer embeddings): Host always,
// Auto only when the weights would not fit the device's memory. The rows come out exactly
// as from a device copy, and the table's bytes leave the device.
TEST_F(VulkanOpTest, HostTablesAreGatheredOnTheHost) {
  for (auto [placement, device_bytes, expect_host] :
       {std::tuple{TablePlacement::Host, uint64_t{0}, true}, std::tuple{TablePlacement::Auto, uint64_t{0}, false},
        std::tuple{TablePlacement::Auto, uint64_t{4096}, true}, std::tuple{TablePlacement::Device, uint64_t{4096}, false}}) {
    SCOPED_TRACE(static_cast<int>(placement));
    TestModel m;
    Graph g;
    g.max_tokens = 4;
    const int table = m.add_weight("table", GgmlType::Q8_0, 96, 64, 7);
    m.resources.weights[table].placement = placement;
    const int rows = add_op(g, make_op(OpKind::GetRows, g.add_tensor("rows", 96), -1, -1, table));
    const int doubled = add_op(g, make_op(OpKind::Add, g.add_tensor("doubled", 96), rows, rows));
    g.logits = add_op(g, make_op(OpKind::LastRow, g.add_tensor("last", 96, false), doubled));
    VulkanBackendOptions options;
    options.device_memory_bytes = device_bytes;
    expect_agree(m, g, {prefill_step(0, 4), prefill_step(4, 1), prefill_step(5, 3)}, {rows, doubled}, 0.0, options);

    std::unique_ptr<Backend> gpu = make_vulkan_backend("", options);
    gpu->load(m.resources);
    gpu->prepare(g);
    const uint64_t table_bytes = m.resources.weights[table].bytes();
    EXPECT_EQ(gpu->memory().host_tables, expect_host ? table_bytes : 0u);
    if (expect_host) {
      EXPECT_LT(gpu->memory().weights, table_bytes);
    } else {
      EXPECT_GE(gpu->memory().weights, table_bytes);
    }
  }
}

// A host table can only be gathered: any other use is refused when the graph is prepared.
TEST_F(VulkanOpTest, HostTablesCannotBeMultiplied) {
  TestModel m;
  Graph g;
  const int table = m.add_weight("table", GgmlType::F32, 32, 64, 7);
  m.resources.weights[table].placement = TablePlacement::Host;
  const int x = add_op(g, make_op(OpKind::GetRows, g.add_tensor("x", 32), -1, -1, table));
  g.logits = add_op(g, make_op(OpKind::MatMul, g.add_tensor("y", 64), x, -1, table));
  std::unique_ptr<Backend> gpu = make_vulkan_backend("");
  gpu->load(m.resources);
  try {
    gpu->prepare(g);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("kept in host memory and can only be gathered"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace archscope::testing
