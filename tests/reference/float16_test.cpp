// f16 and bf16 conversions: exact values, round-to-nearest-even ties, subnormals, overflow,
// infinities and NaN.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>

#include "reference/ops.h"

namespace archscope::reference {
namespace {

float from_bits(uint32_t u) { return std::bit_cast<float>(u); }
uint32_t to_bits(float f) { return std::bit_cast<uint32_t>(f); }
constexpr float kInf = std::numeric_limits<float>::infinity();

TEST(Float16, ExactValues) {
  EXPECT_EQ(f32_to_fp16(0.0f), 0x0000);
  EXPECT_EQ(f32_to_fp16(-0.0f), 0x8000);
  EXPECT_EQ(f32_to_fp16(1.0f), 0x3C00);
  EXPECT_EQ(f32_to_fp16(-2.0f), 0xC000);
  EXPECT_EQ(f32_to_fp16(0.333251953125f), 0x3555);  // the f16 nearest 1/3, exactly
  EXPECT_EQ(f32_to_fp16(65504.0f), 0x7BFF);         // largest finite f16
  EXPECT_EQ(f32_to_fp16(0x1p-14f), 0x0400);         // smallest normal
  EXPECT_EQ(f32_to_fp16(0x1p-24f), 0x0001);         // smallest subnormal
  EXPECT_EQ(f32_to_fp16(1023 * 0x1p-24f), 0x03FF);  // largest subnormal
  EXPECT_EQ(f32_to_fp16(-5 * 0x1p-24f), 0x8005);
}

TEST(Float16, RoundsToNearestEven) {
  // Between 1 (0x3C00) and 1 + 2^-10 (0x3C01): below, at and above the midpoint.
  EXPECT_EQ(f32_to_fp16(1.0f + 0x1p-11f - 0x1p-20f), 0x3C00);
  EXPECT_EQ(f32_to_fp16(1.0f + 0x1p-11f), 0x3C00);  // tie -> even
  EXPECT_EQ(f32_to_fp16(1.0f + 0x1p-11f + 0x1p-20f), 0x3C01);
  EXPECT_EQ(f32_to_fp16(1.0f + 3 * 0x1p-11f), 0x3C02);  // tie between 0x3C01 and 0x3C02 -> even
  EXPECT_EQ(f32_to_fp16(2047.0f / 1024.0f + 0x1p-11f), 0x4000);  // carries into the exponent
  // Subnormals: units of 2^-24.
  EXPECT_EQ(f32_to_fp16(0x1p-25f), 0x0000);                     // tie with zero -> zero
  EXPECT_EQ(f32_to_fp16(std::nextafter(0x1p-25f, 1.0f)), 0x0001);
  EXPECT_EQ(f32_to_fp16(3 * 0x1p-25f), 0x0002);                 // 1.5 units -> 2
  EXPECT_EQ(f32_to_fp16(5 * 0x1p-25f), 0x0002);                 // 2.5 units -> 2
  EXPECT_EQ(f32_to_fp16(1023.5f * 0x1p-24f), 0x0400);           // up into the normals
  EXPECT_EQ(f32_to_fp16(1e-10f), 0x0000);
  EXPECT_EQ(f32_to_fp16(-1e-10f), 0x8000);
  EXPECT_EQ(f32_to_fp16(from_bits(0x00000001)), 0x0000);        // f32 subnormal
}

TEST(Float16, OverflowInfinityAndNaN) {
  EXPECT_EQ(f32_to_fp16(65519.0f), 0x7BFF);
  EXPECT_EQ(f32_to_fp16(65520.0f), 0x7C00);  // midpoint to 2^16 ties to the even side: inf
  EXPECT_EQ(f32_to_fp16(1e10f), 0x7C00);
  EXPECT_EQ(f32_to_fp16(-1e10f), 0xFC00);
  EXPECT_EQ(f32_to_fp16(kInf), 0x7C00);
  EXPECT_EQ(f32_to_fp16(-kInf), 0xFC00);
  EXPECT_EQ(f32_to_fp16(std::numeric_limits<float>::quiet_NaN()), 0x7E00);
  EXPECT_EQ(f32_to_fp16(from_bits(0xFF800001)), 0xFE00);  // signalling, negative

  EXPECT_EQ(fp16_to_f32(0x7C00), kInf);
  EXPECT_EQ(fp16_to_f32(0xFC00), -kInf);
  EXPECT_TRUE(std::isnan(fp16_to_f32(0x7E00)));
  EXPECT_TRUE(std::isnan(fp16_to_f32(0x7C01)));
  EXPECT_EQ(to_bits(fp16_to_f32(0x7C01)), 0x7FC02000u);  // quietened, payload kept
}

TEST(Float16, ToF32) {
  EXPECT_EQ(fp16_to_f32(0x3C00), 1.0f);
  EXPECT_EQ(fp16_to_f32(0xC000), -2.0f);
  EXPECT_EQ(fp16_to_f32(0x7BFF), 65504.0f);
  EXPECT_EQ(fp16_to_f32(0x0001), 0x1p-24f);
  EXPECT_EQ(fp16_to_f32(0x03FF), 1023 * 0x1p-24f);
  EXPECT_EQ(fp16_to_f32(0x0400), 0x1p-14f);
  EXPECT_EQ(fp16_to_f32(0x3555), 0.333251953125f);
  EXPECT_EQ(to_bits(fp16_to_f32(0x8000)), 0x80000000u);
  EXPECT_EQ(fp16_to_f32(0x8001), -0x1p-24f);
}

// Every finite f16 survives the trip through f32, and values are ordered.
TEST(Float16, EveryHalfRoundTrips) {
  float previous = -kInf;
  for (uint32_t h = 0; h < 0x7C00; ++h) {
    const float f = fp16_to_f32(static_cast<uint16_t>(h));
    ASSERT_EQ(f32_to_fp16(f), h);
    ASSERT_EQ(f32_to_fp16(-f), h | 0x8000);
    if (h > 0) {
      ASSERT_GT(f, previous) << h;
    }
    previous = f;
  }
}

// For a spread of f32 bit patterns, the result is the nearest f16 (ties to even).
TEST(Float16, NearestOverManyInputs) {
  for (uint64_t u = 0; u < 0x477FF000u; u += 3331) {  // 0 up to 65520, where inf takes over
    const float f = from_bits(static_cast<uint32_t>(u));
    const uint16_t h = f32_to_fp16(f);
    const double err = std::fabs(double(fp16_to_f32(h)) - f);
    if (h > 0) {
      const double down = std::fabs(double(fp16_to_f32(h - 1)) - f);
      ASSERT_TRUE(err < down || (err == down && (h & 1) == 0)) << std::hex << u;
    }
    if (h < 0x7C00) {
      const double up = h + 1 < 0x7C00 ? std::fabs(double(fp16_to_f32(h + 1)) - f) : std::fabs(65536.0 - f);
      ASSERT_TRUE(err < up || (err == up && (h & 1) == 0)) << std::hex << u;
    }
  }
}

TEST(BFloat16, ConversionsAndRounding) {
  EXPECT_EQ(f32_to_bf16(1.0f), 0x3F80);
  EXPECT_EQ(f32_to_bf16(-2.0f), 0xC000);
  EXPECT_EQ(bf16_to_f32(0x3F80), 1.0f);
  EXPECT_EQ(bf16_to_f32(0x4049), 3.140625f);
  EXPECT_EQ(f32_to_bf16(3.14159265f), 0x4049);
  EXPECT_EQ(f32_to_bf16(1.0f + 0x1p-8f), 0x3F80);  // tie -> even
  EXPECT_EQ(f32_to_bf16(1.0f + 0x1p-8f + 0x1p-20f), 0x3F81);
  EXPECT_EQ(f32_to_bf16(1.0f + 3 * 0x1p-8f), 0x3F82);  // tie -> even
  EXPECT_EQ(f32_to_bf16(from_bits(0x3FFF8000)), 0x4000);  // carry into the exponent
  // Subnormals round like everything else.
  EXPECT_EQ(f32_to_bf16(from_bits(0x00018000)), 0x0002);
  EXPECT_EQ(f32_to_bf16(from_bits(0x00008000)), 0x0000);
  EXPECT_EQ(bf16_to_f32(0x0001), from_bits(0x00010000));
  // The largest f32 rounds up to infinity; infinities and NaN.
  EXPECT_EQ(f32_to_bf16(std::numeric_limits<float>::max()), 0x7F80);
  EXPECT_EQ(f32_to_bf16(kInf), 0x7F80);
  EXPECT_EQ(f32_to_bf16(-kInf), 0xFF80);
  EXPECT_EQ(f32_to_bf16(std::numeric_limits<float>::quiet_NaN()), 0x7FC0);
  EXPECT_EQ(f32_to_bf16(from_bits(0x7F800001)), 0x7FC0);  // signalling NaN is not rounded to inf
  EXPECT_EQ(f32_to_bf16(from_bits(0xFFA12345)), 0xFFE1);  // sign and top payload kept, made quiet
  EXPECT_TRUE(std::isnan(bf16_to_f32(0x7FC1)));
  EXPECT_EQ(to_bits(bf16_to_f32(0x8000)), 0x80000000u);
}

}  // namespace
}  // namespace archscope::reference
