// Activations, gated products, softmax and element-wise arithmetic: known values.
// (Expected numbers computed in double from the formulas in ops.h.)
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "reference/ops.h"

namespace archscope::reference {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

TEST(Elementwise, GeluTanh) {
  EXPECT_EQ(gelu_tanh(0.0f), 0.0f);
  EXPECT_NEAR(gelu_tanh(1.0f), 0.8411919906082768, 1e-6);
  EXPECT_NEAR(gelu_tanh(-1.0f), -0.15880800939172324, 1e-6);
  EXPECT_NEAR(gelu_tanh(3.0f), 2.996362607918227, 1e-6);
  EXPECT_NEAR(gelu_tanh(-3.0f), -0.0036373920817729943, 1e-7);
  EXPECT_NEAR(gelu_tanh(0.5f), 0.34571400982514394, 1e-6);
  EXPECT_EQ(gelu_tanh(10.0f), 10.0f);
  EXPECT_NEAR(gelu_tanh(-10.0f), 0.0, 1e-12);
  EXPECT_FALSE(std::isnan(gelu_tanh(1e6f)));
  EXPECT_FALSE(std::isnan(gelu_tanh(-1e6f)));
}

TEST(Elementwise, Silu) {
  EXPECT_EQ(silu(0.0f), 0.0f);
  EXPECT_NEAR(silu(1.0f), 0.7310585786300049, 1e-6);
  EXPECT_NEAR(silu(-1.0f), -0.2689414213699951, 1e-6);
  EXPECT_NEAR(silu(5.0f), 4.966535745378576, 1e-5);
  EXPECT_NEAR(silu(-20.0f), -4.122307236380407e-08, 1e-12);
  EXPECT_EQ(silu(-1000.0f), 0.0f);  // exp overflows to inf: -1000 / inf = -0
  EXPECT_EQ(silu(1000.0f), 1000.0f);
}

TEST(Elementwise, GatedProducts) {
  const float gate[3] = {1.0f, -1.0f, 0.25f};
  const float up[3] = {2.0f, 3.0f, -4.0f};
  float out[3];
  swiglu(gate, up, out, 3);
  EXPECT_NEAR(out[0], 2 * 0.7310585786300049, 1e-6);
  EXPECT_NEAR(out[1], 3 * -0.2689414213699951, 1e-6);
  EXPECT_NEAR(out[2], -4 * 0.14054412522144952, 1e-6);
  const float gate2[3] = {1.0f, -1.0f, 0.5f};
  geglu(gate2, up, out, 3);
  EXPECT_NEAR(out[0], 2 * 0.8411919906082768, 1e-6);
  EXPECT_NEAR(out[1], 3 * -0.15880800939172324, 1e-6);
  EXPECT_NEAR(out[2], -4 * 0.34571400982514394, 1e-6);
}

TEST(Elementwise, SoftmaxRows) {
  std::vector<float> x = {1, 2, 3, /* row 2: shifted by 1000, same result */ 1001, 1002, 1003};
  softmax_rows(x.data(), 2, 3);
  const double want[3] = {0.09003057317038046, 0.24472847105479767, 0.6652409557748219};
  for (int r = 0; r < 2; ++r)
    for (int i = 0; i < 3; ++i) EXPECT_NEAR(x[r * 3 + i], want[i], 1e-6) << r << "," << i;

  std::vector<float> masked = {-kInf, 0.0f, -kInf, 0.0f};
  softmax_rows(masked.data(), 1, 4);
  EXPECT_EQ(masked, (std::vector<float>{0.0f, 0.5f, 0.0f, 0.5f}));

  std::vector<float> all_masked = {-kInf, -kInf};
  softmax_rows(all_masked.data(), 1, 2);
  EXPECT_EQ(all_masked, (std::vector<float>{0.0f, 0.0f}));
}

TEST(Elementwise, Arithmetic) {
  const float a[3] = {1.5f, -2.0f, 0.0f};
  const float b[3] = {0.5f, 4.0f, -3.0f};
  float out[3];
  add(a, b, out, 3);
  EXPECT_EQ(out[0], 2.0f);
  EXPECT_EQ(out[1], 2.0f);
  EXPECT_EQ(out[2], -3.0f);
  mul(a, b, out, 3);
  EXPECT_EQ(out[0], 0.75f);
  EXPECT_EQ(out[1], -8.0f);
  EXPECT_EQ(out[2], 0.0f);
  float x[3] = {1.0f, -2.0f, 0.25f};
  scale(x, -4.0f, 3);
  EXPECT_EQ(x[0], -4.0f);
  EXPECT_EQ(x[1], 8.0f);
  EXPECT_EQ(x[2], -1.0f);
}

TEST(Elementwise, Softcap) {
  float x[4] = {100.0f, -5.0f, 0.0f, 1e9f};
  softcap(x, 30.0f, 4);
  EXPECT_NEAR(x[0], 29.92373902421512, 1e-5);
  EXPECT_NEAR(x[1], -4.954212387738881, 1e-5);
  EXPECT_EQ(x[2], 0.0f);
  EXPECT_EQ(x[3], 30.0f);
}

}  // namespace
}  // namespace archscope::reference
