// matmul and get_rows on every weight type, against a double-precision
// dequantize-then-multiply, on odd sizes.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "archscope/error.h"
#include "reference/ops.h"
#include "reference_test_data.h"

namespace archscope::reference {
namespace {

using testing::Lcg;

// A quantized weight matrix with a row stride of `row_bytes` (padding bytes are filled
// with garbage so reading past a row would show).
struct Weights {
  std::vector<uint8_t> bytes;
  WeightView view;
};

Weights make_weights(GgmlType type, int64_t rows, int64_t cols, uint64_t padding, uint64_t seed) {
  Weights w;
  const uint64_t row_bytes = *ggml_bytes(type, cols) + padding;
  w.bytes.assign(row_bytes * rows, 0xA5);
  Lcg rng(seed);
  std::vector<float> row(cols);
  for (int64_t r = 0; r < rows; ++r) {
    for (float& v : row) v = rng.uniform() * 0.5f;
    quantize_row(type, row.data(), w.bytes.data() + r * row_bytes, cols);
  }
  w.view = {type, w.bytes.data(), cols, rows, row_bytes};
  return w;
}

TEST(Matmul, EveryTypeMatchesDoublePrecisionProduct) {
  const GgmlType types[] = {GgmlType::F32,   GgmlType::F16,  GgmlType::BF16,   GgmlType::Q8_0,
                            GgmlType::Q4_0,  GgmlType::Q4_1, GgmlType::Q5_0,   GgmlType::Q5_1,
                            GgmlType::MXFP4, GgmlType::Q2_K, GgmlType::Q3_K,   GgmlType::Q4_K,
                            GgmlType::Q5_K,  GgmlType::Q6_K, GgmlType::IQ4_NL, GgmlType::IQ4_XS};
  for (GgmlType type : types) {
    const bool k_quant = ggml_type_info(type)->block_size == 256;
    const int64_t cols = k_quant ? 3 * 256 : 7 * 32, rows = 13, tokens = 5;
    for (uint64_t padding : {0u, 6u}) {
      const Weights w = make_weights(type, rows, cols, padding, 99);
      Lcg rng(5);
      std::vector<float> x(tokens * cols);
      for (float& v : x) v = rng.uniform();
      std::vector<float> out(tokens * rows, -1.0f);
      matmul(w.view, x.data(), out.data(), tokens);

      std::vector<float> wr(cols);
      for (int64_t r = 0; r < rows; ++r) {
        dequantize_row(type, w.bytes.data() + r * w.view.row_bytes, wr.data(), cols);
        for (int64_t t = 0; t < tokens; ++t) {
          double expected = 0, magnitude = 0;
          for (int64_t c = 0; c < cols; ++c) {
            expected += double(wr[c]) * x[t * cols + c];
            magnitude += std::fabs(double(wr[c]) * x[t * cols + c]);
          }
          EXPECT_NEAR(out[t * rows + r], expected, 1e-6 * magnitude + 1e-30)
              << ggml_type_info(type)->name << " row " << r << " token " << t << " padding " << padding;
        }
      }
    }
  }
}

// The product uses the weights' values, not just something self-consistent: an F32
// matrix with known entries.
TEST(Matmul, KnownSmallProduct) {
  const float w[3][4] = {{1, 2, 3, 4}, {0, -1, 0, 1}, {0.5f, 0.5f, 0.5f, 0.5f}};
  const float x[2][4] = {{1, 1, 1, 1}, {1, -2, 3, -4}};
  WeightView view{GgmlType::F32, reinterpret_cast<const uint8_t*>(w), 4, 3, 16};
  float out[2][3];
  matmul(view, &x[0][0], &out[0][0], 2);
  EXPECT_EQ(out[0][0], 10.0f);
  EXPECT_EQ(out[0][1], 0.0f);
  EXPECT_EQ(out[0][2], 2.0f);
  EXPECT_EQ(out[1][0], 1 - 4 + 9 - 16);
  EXPECT_EQ(out[1][1], 2 - 4);
  EXPECT_EQ(out[1][2], -1.0f);
}

// The float types have no blocks: any width works, including ones that are not a
// multiple of the dot product's unrolling.
TEST(Matmul, FloatTypesAnyWidth) {
  for (GgmlType type : {GgmlType::F32, GgmlType::F16, GgmlType::BF16}) {
    for (int64_t cols : {1, 3, 5, 7}) {
      const Weights w = make_weights(type, 3, cols, 0, 8);
      std::vector<float> x(cols, 1.0f), out(3), row(cols);
      matmul(w.view, x.data(), out.data(), 1);
      for (int64_t r = 0; r < 3; ++r) {
        dequantize_row(type, w.bytes.data() + r * w.view.row_bytes, row.data(), cols);
        double sum = 0;
        for (float v : row) sum += v;
        EXPECT_FLOAT_EQ(out[r], static_cast<float>(sum)) << ggml_type_info(type)->name << " cols " << cols;
      }
    }
  }
}

TEST(GetRows, ReturnsDequantizedRows) {
  for (GgmlType type : {GgmlType::F16, GgmlType::Q8_0, GgmlType::Q6_K}) {
    const int64_t cols = 256;
    const Weights w = make_weights(type, 9, cols, 2, 3);
    const std::vector<int32_t> ids = {4, 0, 8, 4};
    std::vector<float> out(ids.size() * cols);
    get_rows(w.view, ids, out.data());
    std::vector<float> expected(cols);
    for (size_t t = 0; t < ids.size(); ++t) {
      dequantize_row(type, w.bytes.data() + ids[t] * w.view.row_bytes, expected.data(), cols);
      EXPECT_EQ(std::memcmp(out.data() + t * cols, expected.data(), cols * sizeof(float)), 0)
          << ggml_type_info(type)->name << " id " << ids[t];
    }
  }
}

TEST(GetRows, RejectsIdsOutsideTheTable) {
  const Weights w = make_weights(GgmlType::Q8_0, 5, 64, 0, 1);
  std::vector<float> out(64);
  const std::vector<int32_t> too_big = {5}, negative = {-1};
  EXPECT_THROW(get_rows(w.view, too_big, out.data()), Error);
  EXPECT_THROW(get_rows(w.view, negative, out.data()), Error);
}

TEST(Matmul, RejectsUnsupportedTypesAndShortStrides) {
  std::vector<uint8_t> bytes(4096);
  std::vector<float> x(256), out(4);
  EXPECT_THROW(matmul({GgmlType::TQ2_0, bytes.data(), 256, 2, 66}, x.data(), out.data(), 1), Error);
  EXPECT_THROW(matmul({GgmlType::Q8_0, bytes.data(), 64, 2, 33}, x.data(), out.data(), 1), Error);
  EXPECT_THROW(matmul({GgmlType::Q4_K, bytes.data(), 100, 2, 144}, x.data(), out.data(), 1), Error);
}

}  // namespace
}  // namespace archscope::reference
