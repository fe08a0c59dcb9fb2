// GetRows and MatMul on the Vulkan backend against the reference, for every weight type:
// matrix-vector (decode), small batches, the tiled prefill path, odd sizes, and weights
// split over several bindings.
#include <gtest/gtest.h>

#include "vulkan/op_test_support.h"

namespace archscope::testing {
namespace {

// Every weight type with a row width that is a whole number of its blocks; the float
// types get odd widths (rows start at odd halfwords, units end mid-way). Rows of q5_0,
// iq4_nl and q3_K start at offsets of 2 mod 4 (110, 90, 330 bytes), rows of mxfp4 at odd
// offsets (3 blocks of 17 bytes).
struct TypeCase {
  GgmlType type;
  int64_t cols;
};
const TypeCase kTypes[] = {
    {GgmlType::F32, 37},      {GgmlType::F16, 37},     {GgmlType::BF16, 45},    {GgmlType::Q8_0, 96},
    {GgmlType::Q4_0, 160},    {GgmlType::Q4_1, 96},    {GgmlType::Q5_0, 160},   {GgmlType::Q5_1, 224},
    {GgmlType::MXFP4, 96},    {GgmlType::IQ4_NL, 160}, {GgmlType::Q2_K, 512},   {GgmlType::Q3_K, 768},
    {GgmlType::Q4_K, 512},    {GgmlType::Q5_K, 512},   {GgmlType::Q6_K, 768},   {GgmlType::IQ4_XS, 512},
    {GgmlType::IQ2_XXS, 512}, {GgmlType::IQ2_XS, 256}, {GgmlType::IQ2_S, 512},  {GgmlType::IQ3_XXS, 256},
    {GgmlType::IQ3_S, 512},   {GgmlType::IQ1_S, 256},  {GgmlType::IQ1_M, 512},
};

// Dequantization is the same arithmetic on both sides; only the summation order of a
// matrix product differs (the reference sums in double).
constexpr double kExact = 1e-6;
constexpr double kMatMul = 2e-5;

class WeightTypeTest : public VulkanOpTest, public ::testing::WithParamInterface<TypeCase> {};

std::string name_of(const ::testing::TestParamInfo<TypeCase>& info) { return type_name(info.param.type); }

// embedding lookup: out[t] = table[tokens[t]]
TEST_P(WeightTypeTest, GetRowsMatchesReference) {
  const TypeCase c = GetParam();
  TestModel m;
  Graph g;
  g.max_tokens = 9;
  const int table = m.add_weight("table", c.type, c.cols, 67, 1);
  const int out = g.add_tensor("rows", c.cols);
  add_op(g, make_op(OpKind::GetRows, out, -1, -1, table));
  g.logits = out;
  std::vector<Step> steps = {prefill_step(0, 9, 67), {{66, 0, 66}, 9}, {{5}, 12}};
  expect_agree(m, g, steps, {out}, kExact);
}

// x[t] (tokens x cols) -> W x[t] (tokens x 67); decode graphs use matmul_vec.
TEST_P(WeightTypeTest, MatVecMatchesReference) {
  const TypeCase c = GetParam();
  TestModel m;
  Graph g;
  g.max_tokens = 1;
  const int x = add_input(g, m, "x", c.cols, 2);
  const int w = m.add_weight("w", c.type, c.cols, 67, 3);
  const int out = add_op(g, make_op(OpKind::MatMul, g.add_tensor("out", 67), x, -1, w));
  g.logits = out;
  expect_agree(m, g, decode_steps(0, 3), {out}, kMatMul);
}

// Up to 8 tokens still take the matrix-vector path, every token's dot from one read.
TEST_P(WeightTypeTest, SmallBatchMatchesReference) {
  const TypeCase c = GetParam();
  TestModel m;
  Graph g;
  g.max_tokens = 8;
  const int x = add_input(g, m, "x", c.cols, 4);
  const int w = m.add_weight("w", c.type, c.cols, 33, 5);
  const int out = add_op(g, make_op(OpKind::MatMul, g.add_tensor("out", 33), x, -1, w));
  g.logits = out;
  expect_agree(m, g, {prefill_step(0, 3), prefill_step(3, 8), prefill_step(11, 1)}, {out}, kMatMul);
}

// Prefill graphs use matmul_tiled (GPUs) or matmul_rows (CPU devices); both run here,
// with partial tiles in rows (70 = 64 + 6, 2 x 32 + 6) and tokens (37, 40 of 32-token tiles).
TEST_P(WeightTypeTest, PrefillMatMulMatchesReference) {
  const TypeCase c = GetParam();
  using Choice = VulkanBackendOptions::PrefillMatMul;
  for (Choice choice : {Choice::Tiled, Choice::Rows}) {
    SCOPED_TRACE(choice == Choice::Tiled ? "matmul_tiled" : "matmul_rows");
    if (choice == Choice::Rows && !VulkanDevice::open("").info().subgroup_shuffle) continue;
    TestModel m;
    Graph g;
    g.max_tokens = 40;
    const int x = add_input(g, m, "x", c.cols, 6);
    const int w = m.add_weight("w", c.type, c.cols, 70, 7);
    const int out = add_op(g, make_op(OpKind::MatMul, g.add_tensor("out", 70), x, -1, w));
    g.logits = out;
    VulkanBackendOptions options;
    options.prefill_matmul = choice;
    expect_agree(m, g, {prefill_step(0, 37), prefill_step(37, 1), prefill_step(38, 40)}, {out}, kMatMul, options);
  }
}

// With small bindings (just room for the activations), each weight is stored in several
// pieces of whole rows, one dispatch each.
TEST_P(WeightTypeTest, WeightsSplitOverBindingsMatchReference) {
  const TypeCase c = GetParam();
  for (int max_tokens : {1, 12}) {
    SCOPED_TRACE("max_tokens " + std::to_string(max_tokens));
    const int64_t cols = 3 * c.cols;  // rows wide enough that a weight outgrows the activations
    VulkanBackendOptions small;
    small.max_binding_bytes = (uint64_t(max_tokens) * cols * 4 + 255) / 256 * 256;
    const uint64_t row_bytes = ggml_bytes(c.type, cols).value();
    const int64_t rows = int64_t(3 * small.max_binding_bytes / row_bytes) + 7;  // three pieces and a bit
    ASSERT_LE(uint64_t(max_tokens) * rows * 4, small.max_binding_bytes);
    TestModel m;
    Graph g;
    g.max_tokens = max_tokens;
    const int table = m.add_weight("table", c.type, cols, rows, 8);
    const int looked_up = g.add_tensor("rows", cols);
    add_op(g, make_op(OpKind::GetRows, looked_up, -1, -1, table));
    const int w = m.add_weight("w", c.type, cols, rows, 9);
    const int out = add_op(g, make_op(OpKind::MatMul, g.add_tensor("out", rows), looked_up, -1, w));
    g.logits = out;
    Step last{{int32_t(rows - 1)}, max_tokens};
    expect_agree(m, g, {prefill_step(0, max_tokens, int(rows)), last}, {looked_up, out}, kMatMul, small);
  }
}

INSTANTIATE_TEST_SUITE_P(AllTypes, WeightTypeTest, ::testing::ValuesIn(kTypes), name_of);

// A 3D expert tensor: an Op multiplies by expert 0, as WeightDesc::view() does.
TEST_F(VulkanOpTest, ExpertTensorUsesItsFirstMatrix) {
  TestModel m;
  Graph g;
  const int x = add_input(g, m, "x", 64, 10);
  const int w = m.add_weight("experts", GgmlType::Q8_0, 64, 24, 11, 1.0f, /*experts=*/3);
  const int out = add_op(g, make_op(OpKind::MatMul, g.add_tensor("out", 24), x, -1, w));
  g.logits = out;
  expect_agree(m, g, decode_steps(0, 2), {out}, kMatMul);
}

// A single-row input (e.g. the last token's hidden state) times the output head.
TEST_F(VulkanOpTest, SingleRowMatMulMatchesReference) {
  TestModel m;
  Graph g;
  g.max_tokens = 16;
  const int x = add_input(g, m, "x", 64, 12);
  const int last = add_op(g, make_op(OpKind::LastRow, g.add_tensor("last", 64, false), x));
  const int w = m.add_weight("head", GgmlType::F16, 64, 100, 13);
  const int logits = add_op(g, make_op(OpKind::MatMul, g.add_tensor("logits", 100, false), last, -1, w));
  g.logits = logits;
  expect_agree(m, g, {prefill_step(0, 16), prefill_step(16, 5)}, {last, logits}, kMatMul);
}

}  // namespace
}  // namespace archscope::testing
