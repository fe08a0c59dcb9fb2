// Softmax on the Vulkan backend against the reference (reference::softmax_rows): rows of
// one column, odd widths, wider than a work group's reach in one pass, and very wide
// (a vocabulary), in place and not, per-token and single-row; rows with -inf entries,
// and a row of all -inf, which gives zeros.
#include <gtest/gtest.h>

#include <cstring>
#include <limits>

#include "vulkan/op_test_support.h"

namespace archscope::testing {
namespace {

// exp() on a GPU is allowed a few ulp per unit of |x|: inputs up to 8 stay within this.
constexpr double kTolerance = 2e-5;

TEST_F(VulkanOpTest, SoftmaxMatchesReferenceAtAnyWidth) {
  for (int64_t n : {1, 7, 256, 4099, 262144}) {
    SCOPED_TRACE("width " + std::to_string(n));
    TestModel m;
    Graph g;
    g.max_tokens = 3;
    constexpr int64_t kVocab = 4;  // the widest table is 4 MiB
    const int a = add_input(g, m, "a", n, 1, kVocab, 8.0f);
    const int copy = add_op(g, make_op(OpKind::Softmax, g.add_tensor("softmax", n), a));
    const int b = add_input(g, m, "b", n, 2, kVocab, 8.0f);
    add_op(g, make_op(OpKind::Softmax, b, b));  // in place
    const int single = add_op(g, make_op(OpKind::LastRow, g.add_tensor("last", n, false), a));
    const int one_row = add_op(g, make_op(OpKind::Softmax, g.add_tensor("one_row", n, false), single));
    g.logits = one_row;
    expect_agree(m, g, {Step{{0, 1, 2}, 0}, Step{{3}, 3}, Step{{2, 1}, 4}}, {copy, b, one_row}, kTolerance);
  }
}

TEST_F(VulkanOpTest, SoftmaxOfMaskedRows) {
  // Table rows: all -inf; -inf but for a few entries; random; one +large spike.
  const int64_t n = 301;
  const float inf = std::numeric_limits<float>::infinity();
  std::vector<float> values = random_values(4 * n, 7, 4.0f);
  for (int64_t c = 0; c < n; ++c) values[c] = -inf;
  for (int64_t c = 0; c < n; ++c) {
    if (c % 50 != 3) values[n + c] = -inf;
  }
  values[3 * n + 17] = 80.0f;
  TestModel m;
  WeightDesc w;
  w.name = "masked.table";
  w.type = GgmlType::F32;
  w.cols = n;
  w.rows = 4;
  w.row_bytes = n * sizeof(float);
  std::vector<uint8_t>& bytes = m.storage.emplace_back(values.size() * sizeof(float));
  std::memcpy(bytes.data(), values.data(), bytes.size());
  w.data = bytes.data();
  m.resources.weights.push_back(w);

  Graph g;
  g.max_tokens = 4;
  const int a = g.add_tensor("masked", n);
  add_op(g, make_op(OpKind::GetRows, a, -1, -1, 0));
  const int out = add_op(g, make_op(OpKind::Softmax, g.add_tensor("softmax", n), a));
  add_op(g, make_op(OpKind::Softmax, a, a));  // in place, the all -inf row too
  g.logits = add_op(g, make_op(OpKind::LastRow, g.add_tensor("last", n, false), out));
  expect_agree(m, g, {Step{{0, 1, 2, 3}, 0}, Step{{0}, 4}}, {out, a}, kTolerance);
}

}  // namespace
}  // namespace archscope::testing
