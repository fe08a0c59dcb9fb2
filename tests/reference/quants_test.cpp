// Quantization of every weight type: round-trip error bounds, dequantization of hand-made
// blocks against the block formulas, and bit-exact agreement with llama.cpp's ggml.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "archscope/error.h"
#include "reference/iq_grids.h"
#include "reference/ops.h"
#include "reference/quant_blocks.h"
#include "reference_test_data.h"

namespace archscope::reference {
namespace {

using testing::fnv1a;
using testing::golden_row;
using testing::kGoldenRowLength;
using testing::Lcg;

// ggml's grid i-quants (iq_quants.cpp, iq_quantize.cpp).
constexpr GgmlType kGridIQuants[] = {GgmlType::IQ2_XXS, GgmlType::IQ2_XS, GgmlType::IQ2_S, GgmlType::IQ3_XXS,
                                     GgmlType::IQ3_S,   GgmlType::IQ1_S,  GgmlType::IQ1_M};

constexpr GgmlType kAllTypes[] = {GgmlType::F32,     GgmlType::F16,    GgmlType::BF16,   GgmlType::Q8_0,
                                  GgmlType::Q4_0,    GgmlType::Q4_1,   GgmlType::Q5_0,   GgmlType::Q5_1,
                                  GgmlType::MXFP4,   GgmlType::Q2_K,   GgmlType::Q3_K,   GgmlType::Q4_K,
                                  GgmlType::Q5_K,    GgmlType::Q6_K,   GgmlType::IQ4_NL, GgmlType::IQ4_XS,
                                  GgmlType::IQ2_XXS, GgmlType::IQ2_XS, GgmlType::IQ2_S,  GgmlType::IQ3_XXS,
                                  GgmlType::IQ3_S,   GgmlType::IQ1_S,  GgmlType::IQ1_M};

bool is_grid_i_quant(GgmlType t) {
  return std::find(std::begin(kGridIQuants), std::end(kGridIQuants), t) != std::end(kGridIQuants);
}

std::vector<uint8_t> quantize(GgmlType type, const std::vector<float>& x) {
  std::vector<uint8_t> q(*ggml_bytes(type, x.size()));
  quantize_row(type, x.data(), q.data(), static_cast<int64_t>(x.size()));
  return q;
}

std::vector<float> dequantize(GgmlType type, const std::vector<uint8_t>& q, size_t n) {
  std::vector<float> y(n);
  dequantize_row(type, q.data(), y.data(), static_cast<int64_t>(n));
  return y;
}

template <class Block>
std::vector<float> dequantize_block(GgmlType type, const Block& b) {
  std::vector<uint8_t> bytes(sizeof(Block));
  std::memcpy(bytes.data(), &b, sizeof(Block));
  return dequantize(type, bytes, ggml_type_info(type)->block_size);
}

TEST(Quants, SupportedTypes) {
  for (GgmlType t : kAllTypes) EXPECT_TRUE(is_supported_weight_type(t)) << ggml_type_info(t)->name;
  for (GgmlType t : {GgmlType::Q8_1, GgmlType::Q8_K, GgmlType::TQ1_0, GgmlType::TQ2_0, GgmlType::NVFP4}) {
    EXPECT_FALSE(is_supported_weight_type(t)) << ggml_type_info(t)->name;
  }
}

// DeepSeek V4's token-to-expert table (ffn_gate_tid2eid) is I32: rows read as exact ids.
TEST(Quants, I32RowsReadAsExactIntegers) {
  EXPECT_TRUE(is_supported_weight_type(GgmlType::I32));
  const std::vector<int32_t> ids = {0, 7, -3, 16777216};
  std::vector<uint8_t> bytes(ids.size() * 4);
  std::memcpy(bytes.data(), ids.data(), bytes.size());
  const std::vector<float> got = dequantize(GgmlType::I32, bytes, ids.size());
  for (size_t i = 0; i < ids.size(); ++i) EXPECT_EQ(got[i], static_cast<float>(ids[i]));
}

TEST(Quants, RejectsUnsupportedTypesAndPartialBlocks) {
  std::vector<float> x(512);
  std::vector<uint8_t> q(2048);
  EXPECT_THROW(quantize_row(GgmlType::TQ1_0, x.data(), q.data(), 256), Error);
  EXPECT_THROW(dequantize_row(GgmlType::TQ2_0, q.data(), x.data(), 256), Error);
  EXPECT_THROW(quantize_row(GgmlType::Q8_0, x.data(), q.data(), 33), Error);
  EXPECT_THROW(dequantize_row(GgmlType::Q4_K, q.data(), x.data(), 128), Error);
  EXPECT_NO_THROW(dequantize_row(GgmlType::F16, q.data(), x.data(), 7));
}

// Data uniform in [-A, A) for amplitudes in fp16's normal range (below it the fp16 block
// scales lose precision, as in ggml). Bounds are per element, as a fraction of A; the
// second is the RMS error relative to the RMS of the data.
TEST(Quants, RoundTripErrorWithinTypeBound) {
  struct Bound { GgmlType type; double max_error, rms_error; };
  const Bound bounds[] = {
      {GgmlType::F32, 0.0, 0.0},
      {GgmlType::Q8_0, 0.0045, 0.0045},  // half a step of amax/127, plus the fp16 scale's rounding
      {GgmlType::Q4_0, 0.126, 0.07},     // the value opposite the largest clamps to 7/8 of it
      {GgmlType::Q4_1, 0.068, 0.062},    // half a step of (max - min) / 15
      {GgmlType::Q5_0, 0.063, 0.033},    // the value opposite the largest clamps to 15/16 of it
      {GgmlType::Q5_1, 0.034, 0.031},    // half a step of (max - min) / 31
      {GgmlType::MXFP4, 0.25, 0.13},     // a largest magnitude just under 2^k maps to level 6, 3/4 of it
      {GgmlType::Q2_K, 0.40, 0.24},
      {GgmlType::Q3_K, 0.23, 0.13},
      {GgmlType::Q4_K, 0.12, 0.06},
      {GgmlType::Q5_K, 0.065, 0.03},
      {GgmlType::Q6_K, 0.02, 0.015},
      {GgmlType::IQ4_NL, 0.12, 0.065},
      {GgmlType::IQ4_XS, 0.13, 0.065},
      // The grid i-quants fit uniform data poorly (their grids and scale fudge factors are
      // made for bell-shaped weights); these bounds pin what ggml's searches give.
      {GgmlType::IQ3_S, 0.41, 0.145},
      {GgmlType::IQ3_XXS, 0.80, 0.195},
      {GgmlType::IQ2_S, 0.58, 0.245},
      {GgmlType::IQ2_XS, 0.91, 0.29},
      {GgmlType::IQ2_XXS, 0.93, 0.34},
      {GgmlType::IQ1_M, 1.27, 0.52},
      {GgmlType::IQ1_S, 0.91, 0.42},
  };
  for (const Bound& b : bounds) {
    Lcg rng(7);
    double worst = 0, squared_error = 0, squared_value = 0;
    for (float A : {1.0f, 0.5f, 20.0f, 300.0f}) {
      std::vector<float> x(256 * 16);
      for (float& v : x) v = rng.uniform() * A;
      const std::vector<float> y = dequantize(b.type, quantize(b.type, x), x.size());
      for (size_t i = 0; i < x.size(); ++i) {
        const double e = std::fabs(double(y[i]) - x[i]) / A;
        worst = std::max(worst, e);
        squared_error += e * e;
        squared_value += double(x[i]) * x[i] / (double(A) * A);
      }
    }
    const char* name = ggml_type_info(b.type)->name;
    EXPECT_LE(worst, b.max_error) << name;
    EXPECT_LE(std::sqrt(squared_error / squared_value), b.rms_error) << name;
  }
}

// f16 and bf16 round each value to nearest: at most half a unit in the last place.
TEST(Quants, FloatTypesRoundEachValue) {
  Lcg rng(3);
  std::vector<float> x(1000);
  for (float& v : x) v = rng.uniform() * 1000.0f;
  for (auto [type, half_ulp] : {std::pair{GgmlType::F16, 0x1p-11}, std::pair{GgmlType::BF16, 0x1p-8}}) {
    const std::vector<float> y = dequantize(type, quantize(type, x), x.size());
    for (size_t i = 0; i < x.size(); ++i) {
      if (std::fabs(x[i]) < 1e-3f) continue;  // (f16 subnormals: absolute, not relative, precision)
      EXPECT_LE(std::fabs(double(y[i]) - x[i]), std::fabs(x[i]) * half_ulp) << ggml_type_info(type)->name << " " << x[i];
    }
  }
}

TEST(Quants, ZerosStayZeros) {
  const std::vector<float> zeros(512, 0.0f);
  for (GgmlType t : kAllTypes) {
    const std::vector<float> y = dequantize(t, quantize(t, zeros), zeros.size());
    for (float v : y) ASSERT_EQ(v, 0.0f) << ggml_type_info(t)->name;
  }
}

// A weight file may hold NaN or inf; quantizing it must not crash (or hit undefined
// behaviour, which a sanitizer build would report); blocks without them are unaffected.
// The grid i-quants' searches need finite values: they read NaN and inf as 0.
TEST(Quants, NonFiniteInputIsContained) {
  std::vector<float> x(768, 0.25f);
  x[3] = std::numeric_limits<float>::quiet_NaN();
  x[300] = std::numeric_limits<float>::infinity();
  x[301] = -std::numeric_limits<float>::infinity();
  const std::vector<float> finite(x.size(), 0.25f);
  for (GgmlType t : kAllTypes) {
    const char* name = ggml_type_info(t)->name;
    const std::vector<uint8_t> q = quantize(t, x);
    const std::vector<float> y = dequantize(t, q, x.size());
    if (is_grid_i_quant(t)) {
      std::vector<float> zeroed = x;
      zeroed[3] = zeroed[300] = zeroed[301] = 0.0f;
      EXPECT_EQ(q, quantize(t, zeroed)) << name;
    } else {
      EXPECT_NEAR(y[100], 0.25f, 1e-3) << name;  // a (sub-)block of its own
    }
    const std::vector<float> want = dequantize(t, quantize(t, finite), finite.size());
    for (size_t i = 512; i < x.size(); ++i) ASSERT_EQ(y[i], want[i]) << name << " " << i;  // a super-block of its own
  }
}

// ---- Hand-made blocks: expected values computed from the block formula. All products
// here are small integers times powers of two, exact in f32, so the comparison is exact.

TEST(Quants, DequantizeQ8_0Block) {
  BlockQ8_0 b;
  b.d = 0x3800;  // 0.5
  for (int j = 0; j < 32; ++j) b.qs[j] = static_cast<int8_t>(j * 8 - 128);
  const std::vector<float> y = dequantize_block(GgmlType::Q8_0, b);
  for (int j = 0; j < 32; ++j) EXPECT_EQ(y[j], 0.5f * static_cast<float>(j * 8 - 128)) << j;
}

TEST(Quants, DequantizeQ4_0Block) {
  BlockQ4_0 b;
  b.d = 0xB400;  // -0.25
  // Byte j: low nibble j (element j), high nibble 15 - j (element j + 16).
  for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  const std::vector<float> y = dequantize_block(GgmlType::Q4_0, b);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], -0.25f * static_cast<float>(j - 8)) << j;
    EXPECT_EQ(y[j + 16], -0.25f * static_cast<float>(7 - j)) << j;
  }
}

// Sub-block scales and mins for the Q4_K / Q5_K blocks, with the 12 bytes packed by hand:
// bytes 0-3: sc[0..3] | (sc[4..7] >> 4) << 6; bytes 4-7: m[0..3] | (m[4..7] >> 4) << 6;
// bytes 8-11: (sc[4..7] & 15) | (m[4..7] & 15) << 4.
constexpr std::array<int, 8> kSc = {1, 2, 3, 4, 17, 33, 50, 63};
constexpr std::array<int, 8> kM = {0, 5, 10, 63, 16, 1, 32, 7};
constexpr std::array<uint8_t, 12> kPackedScales = {0x41, 0x82, 0xC3, 0xC4, 0x40, 0x05,
                                                   0x8A, 0x3F, 0x01, 0x11, 0x02, 0x7F};

TEST(Quants, UnpackKQuantScales) {
  for (int j = 0; j < 8; ++j) {
    uint8_t sc, m;
    unpack_scale_min_k4(j, kPackedScales.data(), &sc, &m);
    EXPECT_EQ(sc, kSc[j]) << j;
    EXPECT_EQ(m, kM[j]) << j;
  }
}

TEST(Quants, DequantizeQ4_KBlock) {
  BlockQ4_K b;
  b.d = 0x3800;     // 0.5
  b.dmin = 0x3400;  // 0.25
  std::memcpy(b.scales, kPackedScales.data(), 12);
  // 32-byte chunk c holds sub-block 2c in its low nibbles and 2c + 1 in its high nibbles.
  for (int c = 0; c < 4; ++c)
    for (int l = 0; l < 32; ++l) b.qs[32 * c + l] = static_cast<uint8_t>((l % 16) | ((15 - l % 16) << 4));
  const std::vector<float> y = dequantize_block(GgmlType::Q4_K, b);
  for (int s = 0; s < 8; ++s) {
    for (int l = 0; l < 32; ++l) {
      const int q = s % 2 == 0 ? l % 16 : 15 - l % 16;
      EXPECT_EQ(y[32 * s + l], 0.5f * kSc[s] * q - 0.25f * kM[s]) << s << "," << l;
    }
  }
}

TEST(Quants, DequantizeQ5_KBlock) {
  BlockQ5_K b;
  b.d = 0x3800;
  b.dmin = 0x3400;
  std::memcpy(b.scales, kPackedScales.data(), 12);
  for (int c = 0; c < 4; ++c)
    for (int l = 0; l < 32; ++l) b.qs[32 * c + l] = static_cast<uint8_t>((l % 16) | ((15 - l % 16) << 4));
  for (int l = 0; l < 32; ++l) b.qh[l] = static_cast<uint8_t>(l * 37 + 11);  // bit s: 16 more for sub-block s
  const std::vector<float> y = dequantize_block(GgmlType::Q5_K, b);
  for (int s = 0; s < 8; ++s) {
    for (int l = 0; l < 32; ++l) {
      const int q = (s % 2 == 0 ? l % 16 : 15 - l % 16) + (((l * 37 + 11) >> s) & 1) * 16;
      EXPECT_EQ(y[32 * s + l], 0.5f * kSc[s] * q - 0.25f * kM[s]) << s << "," << l;
    }
  }
}

TEST(Quants, DequantizeQ6_KBlockByHand) {
  BlockQ6_K b{};
  b.d = 0x3400;  // 0.25
  for (int s = 0; s < 16; ++s) b.scales[s] = static_cast<int8_t>(s - 8);
  // With all bits zero every q is 0, i.e. -32 after the offset.
  b.ql[0] = 0x21;        // element 0: low bits 1; element 64: low bits 2
  b.ql[32] = 0x7C;       // element 32: low bits 0xC; element 96: low bits 7
  b.qh[0] = 0b11100100;  // high bits: element 0 -> 0, 32 -> 1, 64 -> 2, 96 -> 3
  b.ql[64 + 5] = 0xF0;   // second half, element 128 + 5: low 0; 128 + 69: low 0xF
  b.qh[32 + 5] = 0b00110011;  // element 133 -> 3, 165 -> 0, 197 -> 3, 229 -> 0
  const std::vector<float> y = dequantize_block(GgmlType::Q6_K, b);
  // Element 32 r + l of the first half uses scale 2 r + l / 16; the second half scales 8 + ...
  EXPECT_EQ(y[0], 0.25f * -8 * (1 - 32));
  EXPECT_EQ(y[32], 0.25f * -6 * ((0xC | 16) - 32));
  EXPECT_EQ(y[64], 0.25f * -4 * ((2 | 32) - 32));
  EXPECT_EQ(y[96], 0.25f * -2 * ((7 | 48) - 32));
  EXPECT_EQ(y[133], 0.25f * 0 * (48 - 32));
  EXPECT_EQ(y[197], 0.25f * 4 * ((0xF | 48) - 32));
  EXPECT_EQ(y[165], 0.25f * 2 * (0 - 32));
  EXPECT_EQ(y[20], 0.25f * -7 * -32);   // scale index 1 (l = 20 >= 16)
  EXPECT_EQ(y[255], 0.25f * 7 * -32);   // last sub-block
}

// Builds a Q6_K block from chosen 6-bit values following the documented layout, and
// checks every element: value(128 h + 32 r + l) = d * scales[8 h + 2 r + l / 16] * (q - 32).
TEST(Quants, DequantizeQ6_KBlockEveryElement) {
  std::array<int, 256> q6;
  for (int i = 0; i < 256; ++i) q6[i] = (i * 29 + 5) % 64;
  BlockQ6_K b{};
  b.d = 0x3C00;  // 1.0
  for (int s = 0; s < 16; ++s) b.scales[s] = static_cast<int8_t>(s * 17 - 128);
  for (int h = 0; h < 2; ++h) {
    for (int r = 0; r < 4; ++r) {
      for (int l = 0; l < 32; ++l) {
        const int q = q6[128 * h + 32 * r + l];
        b.ql[64 * h + l + 32 * (r % 2)] |= static_cast<uint8_t>((q & 15) << (r < 2 ? 0 : 4));
        b.qh[32 * h + l] |= static_cast<uint8_t>((q >> 4) << (2 * r));
      }
    }
  }
  const std::vector<float> y = dequantize_block(GgmlType::Q6_K, b);
  for (int h = 0; h < 2; ++h)
    for (int r = 0; r < 4; ++r)
      for (int l = 0; l < 32; ++l) {
        const int i = 128 * h + 32 * r + l;
        EXPECT_EQ(y[i], float(b.scales[8 * h + 2 * r + l / 16]) * float(q6[i] - 32)) << i;
      }
}

TEST(Quants, DequantizeQ4_1Block) {
  BlockQ4_1 b;
  b.d = 0x3800;  // 0.5
  b.m = 0xC000;  // -2
  for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  const std::vector<float> y = dequantize_block(GgmlType::Q4_1, b);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], 0.5f * j - 2.0f) << j;
    EXPECT_EQ(y[j + 16], 0.5f * (15 - j) - 2.0f) << j;
  }
}

// The fifth bit of element j is bit j of the little-endian word qh (elements 16..31 too).
constexpr std::array<uint8_t, 4> kFifthBits = {0x96, 0x0F, 0xC3, 0xA5};  // 0xA5C30F96
int fifth_bit(int j) { return (0xA5C30F96u >> j) & 1; }

TEST(Quants, DequantizeQ5_0Block) {
  BlockQ5_0 b;
  b.d = 0xB400;  // -0.25
  std::memcpy(b.qh, kFifthBits.data(), 4);
  for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  const std::vector<float> y = dequantize_block(GgmlType::Q5_0, b);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], -0.25f * ((j | fifth_bit(j) << 4) - 16)) << j;
    EXPECT_EQ(y[j + 16], -0.25f * (((15 - j) | fifth_bit(j + 16) << 4) - 16)) << j;
  }
}

TEST(Quants, DequantizeQ5_1Block) {
  BlockQ5_1 b;
  b.d = 0x3800;  // 0.5
  b.m = 0xC400;  // -4
  std::memcpy(b.qh, kFifthBits.data(), 4);
  for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  const std::vector<float> y = dequantize_block(GgmlType::Q5_1, b);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], 0.5f * (j | fifth_bit(j) << 4) - 4.0f) << j;
    EXPECT_EQ(y[j + 16], 0.5f * ((15 - j) | fifth_bit(j + 16) << 4) - 4.0f) << j;
  }
}

// fp4 (e2m1) codes: sign bit 3, then the magnitudes 0, 0.5, 1, 1.5, 2, 3, 4, 6.
constexpr std::array<float, 16> kFp4 = {0, 0.5f, 1, 1.5f, 2, 3, 4, 6, 0, -0.5f, -1, -1.5f, -2, -3, -4, -6};

// The e8m0 byte is a bare exponent, 2^(e - 127), down to the subnormal 2^-127 (e 0).
TEST(Quants, DequantizeMxfp4Blocks) {
  const std::array<std::pair<uint8_t, float>, 5> scales = {
      {{127, 1.0f}, {130, 8.0f}, {120, 0x1p-7f}, {1, 0x1p-126f}, {0, 0x1p-127f}}};
  for (auto [e, scale] : scales) {
    BlockMxfp4 b;
    b.e = e;
    for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>(j | ((15 - j) << 4));
    const std::vector<float> y = dequantize_block(GgmlType::MXFP4, b);
    for (int j = 0; j < 16; ++j) {
      EXPECT_EQ(y[j], kFp4[j] * scale) << "e " << int(e) << ", " << j;
      EXPECT_EQ(y[j + 16], kFp4[15 - j] * scale) << "e " << int(e) << ", " << j;
    }
  }
}

// The fp4 values' scale is 2^(floor(log2 amax) - 2), so amax / scale lies in [4, 8) around
// the top level 6; each value takes the nearest level, the lower code of two equally near.
TEST(Quants, Mxfp4ScaleFromTheLargestMagnitude) {
  std::vector<float> x(32, 0.0f);
  x[0] = 5.9f;    // amax: floor(log2 5.9) = 2, scale 1 (e = 127): the levels are kFp4
  x[1] = -3.0f;   // exact level
  x[2] = 0.75f;   // halfway between 0.5 (code 1) and 1 (code 2): code 1
  x[3] = -0.2f;   // nearer 0 than -0.5: code 0 (+0, not -0)
  x[4] = 5.0f;    // halfway between 4 and 6: code 6
  const std::vector<uint8_t> q = quantize(GgmlType::MXFP4, x);
  BlockMxfp4 b;
  std::memcpy(&b, q.data(), sizeof(b));
  EXPECT_EQ(b.e, 127);
  const int expected[6] = {7, 13, 1, 0, 6, 0};  // (x[5] = 0)
  for (int j = 0; j < 6; ++j) EXPECT_EQ(b.qs[j] & 0xF, expected[j]) << j;
  x[0] = 6.0f * 1024;  // floor(log2) = 12: e = 127 + 12 - 2, and the top level 6 * 2^10 is x[0] exactly
  std::memcpy(&b, quantize(GgmlType::MXFP4, x).data(), sizeof(b));
  EXPECT_EQ(b.e, 137);
  EXPECT_EQ(b.qs[0] & 0xF, 7);
  EXPECT_EQ(dequantize(GgmlType::MXFP4, quantize(GgmlType::MXFP4, x), 32)[0], 6.0f * 1024);
}

// Q2_K and Q3_K store an element's 2 low bits at the same place: element 128 h + 32 r + l
// (l < 32) in bits 2r..2r+1 of qs[32 h + l].
template <class Block>
void pack_2bit(const std::array<int, 256>& levels, Block& b) {
  std::memset(b.qs, 0, sizeof(b.qs));
  for (int t = 0; t < 256; ++t) {
    const int h = t / 128, r = (t % 128) / 32, l = t % 32;
    b.qs[32 * h + l] |= static_cast<uint8_t>((levels[t] & 3) << (2 * r));
  }
}

TEST(Quants, DequantizeQ2_KBlock) {
  std::array<int, 256> q2;
  for (int t = 0; t < 256; ++t) q2[t] = (t * 7 + t / 16) % 4;
  BlockQ2_K b;
  b.d = 0x3800;     // 0.5
  b.dmin = 0x3400;  // 0.25
  for (int s = 0; s < 16; ++s) b.scales[s] = static_cast<uint8_t>(s | ((15 - s) << 4));  // scale s, min 15 - s
  pack_2bit(q2, b);
  const std::vector<float> y = dequantize_block(GgmlType::Q2_K, b);
  for (int t = 0; t < 256; ++t) {
    const int s = t / 16;
    EXPECT_EQ(y[t], 0.5f * s * q2[t] - 0.25f * (15 - s)) << t;
  }
}

// Q3_K's 6-bit scales, packed by hand: the low nibble of scale s in nibble s / 8 of byte
// s % 8, its top 2 bits in bits 2 (s / 4) of byte 8 + s % 4.
constexpr std::array<int, 16> kQ3Scales = {0, 1, 2, 3, 17, 31, 32, 33, 48, 63, 5, 10, 20, 40, 50, 60};
constexpr std::array<uint8_t, 12> kQ3PackedScales = {0x00, 0xF1, 0x52, 0xA3, 0x41, 0x8F,
                                                     0x20, 0xC1, 0x74, 0xB4, 0xC8, 0xC8};

TEST(Quants, UnpackQ3_KScales) {
  for (int s = 0; s < 16; ++s) EXPECT_EQ(q3_k_scale(s, kQ3PackedScales.data()), kQ3Scales[s]) << s;
}

// A level L in 0..7 stands for L - 4: its low 2 bits in qs (as Q2_K), its third bit in
// hmask, bit t / 32 of hmask[t % 32] for element t. x = d * (scale - 32) * (L - 4).
TEST(Quants, DequantizeQ3_KBlock) {
  std::array<int, 256> q3;
  for (int t = 0; t < 256; ++t) q3[t] = (t * 5 + t / 32) % 8;
  BlockQ3_K b;
  b.d = 0x3400;  // 0.25
  std::memcpy(b.scales, kQ3PackedScales.data(), 12);
  pack_2bit(q3, b);
  std::memset(b.hmask, 0, sizeof(b.hmask));
  for (int t = 0; t < 256; ++t) b.hmask[t % 32] |= static_cast<uint8_t>((q3[t] >> 2) << (t / 32));
  const std::vector<float> y = dequantize_block(GgmlType::Q3_K, b);
  for (int t = 0; t < 256; ++t) EXPECT_EQ(y[t], 0.25f * (kQ3Scales[t / 16] - 32) * (q3[t] - 4)) << t;
}

// ggml's kvalues_iq4nl, written out here so the table itself is checked.
constexpr std::array<int, 16> kIQ4NL = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};

TEST(Quants, DequantizeIQ4_NLBlock) {
  BlockIQ4_NL b;
  b.d = 0x3800;  // 0.5
  for (int j = 0; j < 16; ++j) b.qs[j] = static_cast<uint8_t>(j | ((15 - j) << 4));
  const std::vector<float> y = dequantize_block(GgmlType::IQ4_NL, b);
  for (int j = 0; j < 16; ++j) {
    EXPECT_EQ(y[j], 0.5f * kIQ4NL[j]) << j;
    EXPECT_EQ(y[j + 16], 0.5f * kIQ4NL[15 - j]) << j;
  }
}

// IQ4_XS's 6-bit sub-block scales, split by hand: low nibbles in scales_l (sub-block s in
// nibble s % 2 of byte s / 2), top 2 bits in scales_h (bits 2s..2s+1).
TEST(Quants, DequantizeIQ4_XSBlock) {
  const std::array<int, 8> ls = {0, 1, 15, 16, 31, 32, 47, 63};
  BlockIQ4_XS b;
  b.d = 0x3400;  // 0.25
  const uint8_t scales_l[4] = {0x10, 0x0F, 0x0F, 0xFF};
  std::memcpy(b.scales_l, scales_l, 4);
  b.scales_h = 0xE940;  // top bits 0, 0, 0, 1, 1, 2, 2, 3
  for (int s = 0; s < 8; ++s)
    for (int j = 0; j < 16; ++j) b.qs[16 * s + j] = static_cast<uint8_t>(((j + s) & 15) | ((15 - j) << 4));
  for (int s = 0; s < 8; ++s) EXPECT_EQ(iq4_xs_scale(s, b), ls[s]) << s;
  const std::vector<float> y = dequantize_block(GgmlType::IQ4_XS, b);
  for (int s = 0; s < 8; ++s) {
    for (int j = 0; j < 16; ++j) {
      EXPECT_EQ(y[32 * s + j], 0.25f * (ls[s] - 32) * kIQ4NL[(j + s) & 15]) << s << "," << j;
      EXPECT_EQ(y[32 * s + 16 + j], 0.25f * (ls[s] - 32) * kIQ4NL[15 - j]) << s << "," << j;
    }
  }
}

// ---- Grid i-quants, hand-made blocks. The grid points used are written out here (and
// checked against the tables), so these check the layouts: which bits give the grid index,
// the signs and the scales. d, the levels and the scales are small, so every product is
// exact in f32.

// Grid points by their bytes (element j = byte j).
std::array<int, 8> bytes8(uint64_t point) {
  std::array<int, 8> v;
  for (int j = 0; j < 8; ++j) v[j] = int((point >> (8 * j)) & 0xFF);
  return v;
}

TEST(Quants, IQuantGridsAreGgmls) {
  // First, a middle and last entries of each table as in ggml-common.h, and the sizes.
  EXPECT_EQ(kIq2xxsGrid[1], 0x080808080808082bull);
  EXPECT_EQ(kIq2xxsGrid[255], 0x2b2b2b1908081908ull);
  EXPECT_EQ(kIq2xsGrid[256], 0x190808080808192bull);
  EXPECT_EQ(kIq2xsGrid[511], 0x2b2b2b2b2b2b2b2bull);
  EXPECT_EQ(kIq2sGrid[768], 0x192b080819082b08ull);
  EXPECT_EQ(kIq3xxsGrid[128], 0x141c3e04u);
  EXPECT_EQ(kIq3xxsGrid[255], 0x3e341c04u);
  EXPECT_EQ(kIq3sGrid[300], 0x07030503u);
  EXPECT_EQ(kIq3sGrid[511], 0x0f0f0101u);
  EXPECT_EQ(kIq1sGrid[1024], 0x0000000000ff0100ull);
  EXPECT_EQ(kIq1sGrid[1536], 0x01ff00000100ff01ull);
  EXPECT_EQ(kIq1sGrid[2047], 0x0101010101010101ull);
  // ggml's ksigns_iq2xs: 7 bits and an eighth that makes the count even.
  EXPECT_EQ(signs_from_7_bits(0), 0);
  EXPECT_EQ(signs_from_7_bits(1), 129);
  EXPECT_EQ(signs_from_7_bits(3), 3);
  EXPECT_EQ(signs_from_7_bits(127), 255);
  EXPECT_EQ(signs_from_7_bits(0x55), 0x55);
}

// The words the Vulkan backend uploads for the shaders hold every grid point at its offset.
TEST(Quants, IQuantGpuGridWordsHoldTheGrids) {
  const std::vector<uint32_t> words = iq_gpu_grid_words();
  uint32_t next = 0;
  for (const IqGpuGrid& g : iq_gpu_grids()) {
    EXPECT_EQ(g.offset, next) << g.name;
    next += g.words;
  }
  ASSERT_EQ(words.size(), next);
  auto check_split = [&](const char* name, auto& grid, uint32_t offset) {
    for (size_t k = 0; k < grid.size(); ++k) {
      ASSERT_EQ(words[offset + 2 * k] | uint64_t(words[offset + 2 * k + 1]) << 32, grid[k]) << name << " " << k;
    }
  };
  const std::span<const IqGpuGrid> g = iq_gpu_grids();
  check_split("iq2_xxs", kIq2xxsGrid, g[0].offset);
  check_split("iq2_xs", kIq2xsGrid, g[1].offset);
  check_split("iq2_s", kIq2sGrid, g[2].offset);
  for (size_t k = 0; k < kIq3xxsGrid.size(); ++k) ASSERT_EQ(words[g[3].offset + k], kIq3xxsGrid[k]) << k;
  for (size_t k = 0; k < kIq3sGrid.size(); ++k) ASSERT_EQ(words[g[4].offset + k], kIq3sGrid[k]) << k;
  for (size_t k = 0; k < kIq1sGrid.size(); ++k) {
    const uint32_t bits = words[g[5].offset + k / 2] >> (16 * (k % 2));
    for (int j = 0; j < 8; ++j) {
      const int level = int((bits >> (2 * j)) & 3u);
      ASSERT_EQ(level == 3 ? -1 : level, static_cast<int8_t>(grid_byte(kIq1sGrid[k], j))) << k << "," << j;
    }
  }
}

// IQ2_XXS: per 32 elements 4 index bytes, then a word: four 7-bit sign groups, scale in
// the top 4 bits; x = d * (0.5 + s) / 4 * level * sign.
TEST(Quants, DequantizeIQ2_XXSBlock) {
  BlockIQ2_XXS b{};
  b.d = 0x4000;  // 2
  uint8_t* q = reinterpret_cast<uint8_t*>(b.qs);
  // Group 0: points 1, 0, 255, 2; signs: element 0 (and by parity 7), elements 0 and 1, none,
  // all seven (and by parity the eighth); s = 3: db = 2 * 3.5 / 4 = 1.75.
  const uint8_t points[4] = {1, 0, 255, 2};
  const uint32_t sign7[4] = {0b0000001, 0b0000011, 0, 0b1111111};
  std::memcpy(q, points, 4);
  const uint32_t word = sign7[0] | sign7[1] << 7 | sign7[2] << 14 | sign7[3] << 21 | 3u << 28;
  std::memcpy(q + 4, &word, 4);
  // Group 7: point 255 at its third eight, s = 15: db = 2 * 15.5 / 4 = 7.75, no signs.
  q[56 + 2] = 255;
  const uint32_t word7 = 15u << 28;
  std::memcpy(q + 60, &word7, 4);
  const std::vector<float> y = dequantize_block(GgmlType::IQ2_XXS, b);
  const bool negative[4][8] = {{1, 0, 0, 0, 0, 0, 0, 1}, {1, 1, 0, 0, 0, 0, 0, 0}, {}, {1, 1, 1, 1, 1, 1, 1, 1}};
  for (int l = 0; l < 4; ++l) {
    const std::array<int, 8> v = bytes8(kIq2xxsGrid[points[l]]);
    for (int j = 0; j < 8; ++j) EXPECT_EQ(y[8 * l + j], 1.75f * v[j] * (negative[l][j] ? -1 : 1)) << l << "," << j;
  }
  EXPECT_EQ(y[32], 2 * 0.5f / 4 * 8);  // groups 1-6: point 0 (all 8), s = 0
  const std::array<int, 8> last = bytes8(0x2b2b2b1908081908ull);
  for (int j = 0; j < 8; ++j) EXPECT_EQ(y[224 + 16 + j], 7.75f * last[j]) << j;
  EXPECT_EQ(y[224], 7.75f * 8);
}

// IQ2_XS: per 8 elements a 16-bit word, index in bits 0-8, 7 sign bits in 9-15; a 4-bit
// scale per 16 (low nibble first).
TEST(Quants, DequantizeIQ2_XSBlock) {
  BlockIQ2_XS b{};
  b.d = 0x3C00;  // 1
  b.qs[0] = static_cast<uint16_t>(511 | 0b0000101 << 9);  // elements 0 and 2 negative (even)
  b.qs[1] = 256;                                           // point 256, no signs
  b.qs[2] = static_cast<uint16_t>(1 | 0b1000000 << 9);   // element 6, and by parity 7, negative
  b.scales[0] = 0x51;  // elements 0-15: s = 1 (db = 1.5 / 4), 16-31: s = 5 (db = 5.5 / 4)
  const std::vector<float> y = dequantize_block(GgmlType::IQ2_XS, b);
  const std::array<int, 8> p511 = bytes8(kIq2xsGrid[511]), p256 = bytes8(kIq2xsGrid[256]),
                           p1 = bytes8(kIq2xsGrid[1]);
  for (int j = 0; j < 8; ++j) {
    EXPECT_EQ(y[j], 0.375f * p511[j] * (j == 0 || j == 2 ? -1 : 1)) << j;
    EXPECT_EQ(y[8 + j], 0.375f * p256[j]) << j;
    EXPECT_EQ(y[16 + j], 1.375f * p1[j] * (j >= 6 ? -1 : 1)) << j;
  }
  EXPECT_EQ(y[24], 1.375f * 8);   // point 0
  EXPECT_EQ(y[32], 0.125f * 8);   // scale 0: db = 0.5 / 4
}

// IQ2_S: 10-bit indexes, the low byte in qs[0..31] and 2 high bits per point in qh (four
// points per byte), 8 sign bits per point in qs[32..63], 4-bit scales per 16.
TEST(Quants, DequantizeIQ2_SBlock) {
  BlockIQ2_S b{};
  b.d = 0x3C00;                // 1
  b.qs[0] = 0;                 // point 768: high bits 3
  b.qs[1] = 255;               // point 1023: high bits 3
  b.qs[3] = 1;                 // point 257: high bits 1
  b.qh[0] = 0b01001111;        // points 0, 1: 3; point 2: 0; point 3: 1
  b.qs[32 + 0] = 0b10000001;   // point 0: elements 0 and 7 negative
  b.qs[32 + 3] = 0b00000001;   // point 3: element 0 negative (no parity rule)
  b.scales[0] = 0x73;          // elements 0-15: s = 3 (db = 3.5 / 4); 16-31: s = 7 (7.5 / 4)
  const std::vector<float> y = dequantize_block(GgmlType::IQ2_S, b);
  const std::array<int, 8> p768 = bytes8(0x192b080819082b08ull), p1023 = bytes8(kIq2sGrid[1023]),
                           p257 = bytes8(kIq2sGrid[257]);
  for (int j = 0; j < 8; ++j) {
    EXPECT_EQ(y[j], 0.875f * p768[j] * (j == 0 || j == 7 ? -1 : 1)) << j;
    EXPECT_EQ(y[8 + j], 0.875f * p1023[j]) << j;
    EXPECT_EQ(y[16 + j], 1.875f * 8) << j;  // point 0
    EXPECT_EQ(y[24 + j], 1.875f * p257[j] * (j == 0 ? -1 : 1)) << j;
  }
}

// IQ3_XXS: per 32 elements eight point bytes (4 elements each) in qs[8 ib ..], and in
// qs[64 + 4 ib] a word of four 7-bit sign groups (per 8 elements) and the 4-bit scale:
// x = d * (0.5 + s) / 2 * level * sign.
TEST(Quants, DequantizeIQ3_XXSBlock) {
  BlockIQ3_XXS b{};
  b.d = 0x3C00;  // 1
  b.qs[0] = 128;  // elements 0-3
  b.qs[1] = 255;  // elements 4-7
  b.qs[8 + 7] = 1;  // group 1, elements 60-63
  const uint32_t word0 = 0b0010001u | 5u << 28;        // elements 0 and 4 negative; db = 5.5 / 2
  const uint32_t word1 = 0b0000001u << 21 | 1u << 28;  // group 1, eight 3: elements 56 and 63; db = 0.75
  std::memcpy(b.qs + 64, &word0, 4);
  std::memcpy(b.qs + 68, &word1, 4);
  const std::vector<float> y = dequantize_block(GgmlType::IQ3_XXS, b);
  const std::array<int, 8> p128 = bytes8(0x141c3e04u), p255 = bytes8(0x3e341c04u), p1 = bytes8(kIq3xxsGrid[1]);
  for (int j = 0; j < 4; ++j) {
    EXPECT_EQ(y[j], 2.75f * p128[j] * (j == 0 ? -1 : 1)) << j;
    EXPECT_EQ(y[4 + j], 2.75f * p255[j] * (j == 0 ? -1 : 1)) << j;
    EXPECT_EQ(y[60 + j], 0.75f * p1[j] * (j == 3 ? -1 : 1)) << j;
  }
  EXPECT_EQ(y[56], 0.75f * -4);  // point 0 (all 4), negative
  EXPECT_EQ(y[57], 0.75f * 4);
  EXPECT_EQ(y[100], 0.25f * 4);  // s = 0
}

// IQ3_S: per 32 elements eight low index bytes, their ninth bits in qh[ib] (bit k for point
// k), 8 sign bits per 8 elements, a 4-bit scale per 32 (two per byte): x = d * (1 + 2 s) *
// level * sign.
TEST(Quants, DequantizeIQ3_SBlock) {
  BlockIQ3_S b{};
  b.d = 0x3800;                  // 0.5
  b.qs[0] = 300 - 256;           // point 300 (ninth bit set below)
  b.qs[1] = 255;                 // point 511
  b.qs[8 + 2] = 44;              // group 1, point 2: 44 (ninth bit clear)
  b.qh[0] = 0b00000011;          // points 0 and 1 of group 0: + 256
  b.signs[0] = 0b00100010;       // elements 1 and 5 negative
  b.signs[4 + 1] = 0b00000001;   // group 1, elements 8-15: element 8 negative
  b.scales[0] = 0x32;            // group 0: s = 2 (db = 2.5), group 1: s = 3 (3.5)
  const std::vector<float> y = dequantize_block(GgmlType::IQ3_S, b);
  const std::array<int, 8> p300 = bytes8(0x07030503u), p511 = bytes8(0x0f0f0101u), p44 = bytes8(kIq3sGrid[44]);
  for (int j = 0; j < 4; ++j) {
    EXPECT_EQ(y[j], 2.5f * p300[j] * (j == 1 ? -1 : 1)) << j;
    EXPECT_EQ(y[4 + j], 2.5f * p511[j] * (j == 1 ? -1 : 1)) << j;
    EXPECT_EQ(y[32 + 8 + j], 3.5f * p44[j] * (j == 0 ? -1 : 1)) << j;
  }
  EXPECT_EQ(y[64], 0.5f * 1);  // group 2: s = 0, point 0 (all 1)
}

// IQ1_S: per 32 elements four low index bytes in qs and a 16-bit qh: 3 high index bits per
// point (bits 0-11), the scale s (12-14) and the delta's sign (15):
// x = d * (2 s + 1) * (level + delta), levels -1, 0, 1, delta +-1/8.
TEST(Quants, DequantizeIQ1_SBlock) {
  BlockIQ1_S b{};
  b.d = 0x3C00;                                        // 1
  b.qs[0] = 0;                                         // point 1024 (high bits 4)
  b.qs[1] = 255;                                       // point 2047 (high bits 7)
  b.qs[2] = 0;                                         // point 1536 (high bits 6)
  b.qh[0] = static_cast<uint16_t>(4 | 7 << 3 | 6 << 6 | 2 << 12 | 0x8000);  // s = 2, delta -1/8
  b.qh[1] = static_cast<uint16_t>(5 << 12);            // s = 5, delta +1/8, points 0
  const std::vector<float> y = dequantize_block(GgmlType::IQ1_S, b);
  const int p1024[8] = {0, 1, -1, 0, 0, 0, 0, 0}, p1536[8] = {1, -1, 0, 1, 0, 0, -1, 1};
  for (int j = 0; j < 8; ++j) {
    EXPECT_EQ(y[j], 5 * (p1024[j] - 0.125f)) << j;
    EXPECT_EQ(y[8 + j], 5 * (1 - 0.125f)) << j;
    EXPECT_EQ(y[16 + j], 5 * (p1536[j] - 0.125f)) << j;
    EXPECT_EQ(y[24 + j], 5 * (-1 - 0.125f)) << j;  // point 0: all -1
    EXPECT_EQ(y[32 + j], 11 * (-1 + 0.125f)) << j;
  }
}

// IQ1_M: per 8 elements a low index byte (qs) and a nibble of qh (3 high index bits, the
// delta's sign in bit 3); per 16 elements a 3-bit scale: four per 16-bit word of `scales`,
// whose top nibbles hold the fp16 super-block scale (word 0's the lowest bits).
TEST(Quants, DequantizeIQ1_MBlock) {
  BlockIQ1_M b{};
  const uint16_t d16 = 0x3800;  // 0.5
  uint16_t sc[4] = {};
  sc[0] = static_cast<uint16_t>(1 | 3 << 3 | 7 << 6 | (d16 & 0xF) << 12);  // scales 0, 1, 2 of 16s: 1, 3, 7
  sc[1] = static_cast<uint16_t>((d16 >> 4 & 0xF) << 12);
  sc[2] = static_cast<uint16_t>((d16 >> 8 & 0xF) << 12);
  sc[3] = static_cast<uint16_t>((d16 >> 12 & 0xF) << 12);
  std::memcpy(b.scales, sc, sizeof(sc));
  b.qs[0] = 0;     // point 1024
  b.qs[1] = 255;   // point 2047
  b.qs[2] = 0;     // point 1536
  b.qh[0] = static_cast<uint8_t>(4 | 8 | 7 << 4);  // point 0: high 4, delta -; point 1: high 7, delta +
  b.qh[1] = 6 | 0x80;                              // point 2: high 6, delta +; point 3: 0, delta -
  const std::vector<float> y = dequantize_block(GgmlType::IQ1_M, b);
  const int p1024[8] = {0, 1, -1, 0, 0, 0, 0, 0}, p1536[8] = {1, -1, 0, 1, 0, 0, -1, 1};
  for (int j = 0; j < 8; ++j) {
    EXPECT_EQ(y[j], 0.5f * 3 * (p1024[j] - 0.125f)) << j;   // scale 1: d * 3
    EXPECT_EQ(y[8 + j], 0.5f * 3 * (1 + 0.125f)) << j;
    EXPECT_EQ(y[16 + j], 0.5f * 7 * (p1536[j] + 0.125f)) << j;  // scale 3: d * 7
    EXPECT_EQ(y[24 + j], 0.5f * 7 * (-1 - 0.125f)) << j;
    EXPECT_EQ(y[32 + j], 0.5f * 15 * (-1 + 0.125f)) << j;  // scale 7: d * 15
  }
}

// ---- Agreement with ggml.
//
// How these constants were produced (at development time; llama.cpp is not needed to run
// the test): llama.cpp commit 80fb11ac73e6 was built with CMake, CPU only, no native or
// SIMD flags (-DGGML_NATIVE=OFF -DGGML_AVX=OFF -DGGML_AVX2=OFF -DGGML_FMA=OFF -DGGML_F16C=OFF),
// and a small harness linked against libggml-base.a ran, on golden_row() from
// reference_test_data.h: quantize_row_{q8_0,q4_0,q4_K,q5_K,q6_K}_ref, ggml_fp32_to_fp16_row
// and ggml_fp32_to_bf16_row_ref for the bytes, then dequantize_row_* / ggml_fp16_to_fp32_row /
// ggml_bf16_to_fp32_row on those bytes for the floats. It printed the FNV-1a 64 hash of the
// bytes, of the floats' bit patterns, and the first 12 bytes of block 1 (super-block 1 for
// the k-quants). The same harness also compared these implementations with ggml on 3000
// random rows of 1024 (normal data, amplitudes e^-20..e^10, shifts, zeros, outliers) for
// every type, and f32 -> f16 / bf16 over all 2^32 bit patterns: no differences. The entries
// of q4_1, q5_0, q5_1, mxfp4, q2_K, q3_K, iq4_nl and iq4_xs were printed by
// GgmlAgreement.DISABLED_PrintGoldens from node-llama-cpp's libggml-base.so (ggml's
// quantize_row_*_ref through ggml_quantize_chunk; quantize_iq4_nl / quantize_iq4_xs
// without an importance matrix), which reproduces the entries above.
struct GgmlGolden {
  GgmlType type;
  uint64_t bytes_hash;
  uint64_t floats_hash;
  std::array<uint8_t, 12> block1_head;
};
constexpr GgmlGolden kGgmlGolden[] = {
    {GgmlType::F16, 0x033403f7d206694full, 0xb821de7fb1208607ull,
     {0x09, 0xba, 0xd9, 0xb9, 0xa9, 0x3b, 0x67, 0x3a, 0x17, 0x3a, 0xae, 0xae}},
    {GgmlType::BF16, 0xcc159eaa1076399bull, 0x6cbbd7b8fe1482cbull,
     {0x41, 0xbf, 0x3b, 0xbf, 0x75, 0x3f, 0x4d, 0x3f, 0x43, 0x3f, 0xd6, 0xbd}},
    {GgmlType::Q8_0, 0xd28f1c696d53d24cull, 0x0c1f6298bd7fd90full,
     {0x93, 0x1f, 0x3e, 0x2d, 0x21, 0x9f, 0xaf, 0x81, 0xd2, 0xa5, 0x00, 0x68}},
    {GgmlType::Q4_0, 0xb186d32afa3b26d4ull, 0x425c2a90e38f8824ull,
     {0x84, 0x2f, 0xfc, 0xab, 0xea, 0x12, 0x53, 0x40, 0x25, 0x92, 0x58, 0x7f}},
    {GgmlType::Q4_1, 0xee33446c1c6af02bull, 0x66bd9bf2196c9c70ull,
     {0x70, 0x2f, 0x84, 0xbb, 0xfc, 0xab, 0xea, 0x12, 0x53, 0x40, 0x25, 0x92}},
    {GgmlType::Q5_0, 0x3e07633a7fabe934ull, 0x03bfa4529f958707ull,
     {0x84, 0x2b, 0x07, 0xe7, 0x87, 0x54, 0xe8, 0x46, 0xb4, 0x14, 0xb6, 0x80}},
    {GgmlType::Q5_1, 0xeee4f53be32a0d8eull, 0x5a1b785df7c52da9ull,
     {0x33, 0x2b, 0x84, 0xbb, 0x07, 0xe7, 0x87, 0x54, 0xf9, 0x57, 0xc5, 0x24}},
    {GgmlType::MXFP4, 0xcafa193e74dd9bc2ull, 0x9e6a4e269ce5b7a7ull,
     {0x7c, 0x76, 0x45, 0x74, 0xff, 0xce, 0xef, 0xfd, 0x2f, 0xd0, 0x97, 0x74}},
    {GgmlType::Q2_K, 0x48de0a00bccb4e16ull, 0x441e9d0af416c0b3ull,
     {0x12, 0x22, 0x44, 0x43, 0x45, 0x65, 0x77, 0x67, 0x98, 0x97, 0xcc, 0x88}},
    {GgmlType::Q3_K, 0x9231f8a083e44bbbull, 0x3c9812628111f01aull,
     {0xc1, 0xbe, 0x4b, 0x0c, 0x1a, 0xf7, 0x45, 0x06, 0x52, 0xb5, 0x95, 0xe8}},
    {GgmlType::Q4_K, 0xdf9112859d439ec7ull, 0xf221313a8086bed3ull,
     {0xe6, 0x1d, 0x3c, 0x29, 0x88, 0xd0, 0xd9, 0xe2, 0x88, 0xd1, 0xdb, 0xe3}},
    {GgmlType::Q5_K, 0xe72a913f0c7c1be2ull, 0xd2f344011287414dull,
     {0xa9, 0x19, 0x16, 0x29, 0x88, 0xd1, 0xd9, 0xe2, 0x89, 0xd2, 0xda, 0xe5}},
    {GgmlType::Q6_K, 0x18e4c351b8e5c4aaull, 0x979a9bb1dca711fcull,
     {0x10, 0x87, 0x50, 0xe5, 0xcf, 0xcd, 0x30, 0x84, 0xf0, 0x48, 0xe5, 0x4f}},
    {GgmlType::IQ4_NL, 0xd603a28489bec5a0ull, 0x8b1973192ff76887ull,
     {0x28, 0x1f, 0xfd, 0xbc, 0xeb, 0x01, 0x42, 0x30, 0x14, 0x91, 0x48, 0x7f}},
    {GgmlType::IQ4_XS, 0xca5d94da7b1dd3e3ull, 0x7fefe0a4c827e341ull,
     {0xc3, 0x11, 0x19, 0x03, 0x8c, 0xf4, 0x55, 0x02, 0x2d, 0x21, 0x4d, 0xf4}},
};

// The same harness on wide_golden_row(): hashes of ggml's bytes and dequantized floats.
struct GgmlWideGolden {
  GgmlType type;
  uint64_t bytes_hash;
  uint64_t floats_hash;
};
constexpr GgmlWideGolden kGgmlWideGolden[] = {
    {GgmlType::F16, 0x3347fdad2363b7a2ull, 0x744bd1eeb94c2f38ull},
    {GgmlType::BF16, 0x472cd3280af692dcull, 0x1d71158fc19a4d8cull},
    {GgmlType::Q8_0, 0x4eb999aa5258d86bull, 0x7e0c49473aa61e0dull},
    {GgmlType::Q4_0, 0xbb57488085b09473ull, 0x639f4515e54f21b0ull},
    {GgmlType::Q4_1, 0x05e400676e9e3c0cull, 0x5635313ed164a71aull},
    {GgmlType::Q5_0, 0x80c38c61707feeebull, 0xa6871653749013a9ull},
    {GgmlType::Q5_1, 0x0a9c20b3d526a05eull, 0x0157ee993988eaa9ull},
    {GgmlType::MXFP4, 0x3e1c6ea3ea6de501ull, 0x2c7c9caa2480614eull},
    {GgmlType::Q2_K, 0xc2880a5dfb59a08eull, 0x17a90deac8305c35ull},
    {GgmlType::Q3_K, 0xbabac6d0154f949aull, 0x2c33dbe375f31695ull},
    {GgmlType::Q4_K, 0xd55bf1fda9c5aa6bull, 0xaf3f79607af86778ull},
    {GgmlType::Q5_K, 0x6fd73d85449de38aull, 0x2ddc54aeb60e3a15ull},
    {GgmlType::Q6_K, 0x909ccf818982e806ull, 0x900520211c8afbbeull},
    {GgmlType::IQ4_NL, 0xe1526bafde60f628ull, 0x647868c3d36852fcull},
    {GgmlType::IQ4_XS, 0x92864227e62e816eull, 0x7c3b8e2c9ae093faull},
    // From GgmlAgreement.DISABLED_PrintGoldens (node-llama-cpp's libggml-base.so, the
    // i-quants needing an importance matrix given all ones).
    {GgmlType::IQ2_XXS, 0xdffa92db203fefa4ull, 0x973aee944710b35eull},
    {GgmlType::IQ2_XS, 0xb80c5e3a5b359e92ull, 0x41034b96cb708577ull},
    {GgmlType::IQ2_S, 0xe88ba273659436bdull, 0x3d12a40eae22df27ull},
    {GgmlType::IQ3_XXS, 0x48d42b747b9e648bull, 0x278cc8d932575630ull},
    {GgmlType::IQ3_S, 0xa7b66bc5d88a8e05ull, 0xdc6887e9e0627e8dull},
    {GgmlType::IQ1_S, 0x1a9bf85d86e33c10ull, 0x668f58f82cc6a4c8ull},
    {GgmlType::IQ1_M, 0x7ef61b72891811a8ull, 0xff6dd11e7b8e83c5ull},
};

// The same printer on golden_row() for the types added after the harness above: its zero
// group and all-zero super-block take the quantizers' skip paths.
constexpr GgmlWideGolden kGgmlGoldenRowHashes[] = {
    {GgmlType::IQ2_XXS, 0xca7b92ddd3997dbbull, 0x5ae0fdc273a6567bull},
    {GgmlType::IQ2_XS, 0x6c99b511dfb6e744ull, 0xbe0ece976d402bd9ull},
    {GgmlType::IQ2_S, 0x35eed602d01f1b0aull, 0x5ab7f19ad0df961cull},
    {GgmlType::IQ3_XXS, 0xa08cdd5b431cbd93ull, 0x3bc15da14246e8deull},
    {GgmlType::IQ3_S, 0x2bd5625e5d4d9b1dull, 0x5b803660d5d31148ull},
    {GgmlType::IQ1_S, 0x99eb5ce0d3ff595bull, 0x9eb2e4dac8f764dfull},
    {GgmlType::IQ1_M, 0xdb345c0f61574053ull, 0x6f85004acda1f631ull},
};


TEST(Quants, GoldenRowIsTheOneGgmlSaw) {
  // Guards the input itself: a changed generator would make every golden check fail
  // for the wrong reason.
  const std::vector<float> x = golden_row();
  ASSERT_EQ(x.size(), size_t(kGoldenRowLength));
  EXPECT_EQ(x[1000], 25.0f);
  EXPECT_EQ(x[27 * 32 + 5], 0.0f);
  EXPECT_EQ(x[0], Lcg(0x5eed1234abcdull).uniform());
}

TEST(Quants, BytesAndFloatsMatchGgml) {
  const std::vector<float> x = golden_row();
  for (const GgmlGolden& g : kGgmlGolden) {
    const char* name = ggml_type_info(g.type)->name;
    const std::vector<uint8_t> q = quantize(g.type, x);
    const size_t block1 = ggml_type_info(g.type)->block_size == 1 ? 0 : ggml_type_info(g.type)->type_size;
    for (size_t i = 0; i < 12; ++i) EXPECT_EQ(q[block1 + i], g.block1_head[i]) << name << " byte " << i;
    EXPECT_EQ(fnv1a(q), g.bytes_hash) << name << " quantized bytes differ from ggml's";
    // Dequantize what ggml wrote (the bytes are equal when the line above passes).
    EXPECT_EQ(fnv1a(dequantize(g.type, q, x.size())), g.floats_hash) << name << " dequantized floats differ";
  }
}

TEST(Quants, WideRowBytesAndFloatsMatchGgml) {
  const std::vector<float> x = testing::wide_golden_row();
  for (const GgmlWideGolden& g : kGgmlWideGolden) {
    const char* name = ggml_type_info(g.type)->name;
    const std::vector<uint8_t> q = quantize(g.type, x);
    EXPECT_EQ(fnv1a(q), g.bytes_hash) << name << " quantized bytes differ from ggml's";
    EXPECT_EQ(fnv1a(dequantize(g.type, q, x.size())), g.floats_hash) << name << " dequantized floats differ";
  }
}

TEST(Quants, GoldenRowHashesMatchGgml) {
  const std::vector<float> x = golden_row();
  for (const GgmlWideGolden& g : kGgmlGoldenRowHashes) {
    const char* name = ggml_type_info(g.type)->name;
    const std::vector<uint8_t> q = quantize(g.type, x);
    EXPECT_EQ(fnv1a(q), g.bytes_hash) << name << " quantized bytes differ from ggml's";
    EXPECT_EQ(fnv1a(dequantize(g.type, q, x.size())), g.floats_hash) << name << " dequantized floats differ";
  }
}

// ---- ggml's rounding rules, on values chosen to sit exactly on the boundaries.

TEST(Quants, Q8_0RoundsHalfAwayFromZero) {
  std::vector<float> x(32, 0.0f);
  x[0] = 127.0f;  // d = 1
  x[1] = 0.5f;
  x[2] = 1.5f;
  x[3] = -2.5f;
  x[4] = -0.5f;
  const std::vector<uint8_t> q = quantize(GgmlType::Q8_0, x);
  BlockQ8_0 b;
  std::memcpy(&b, q.data(), sizeof(b));
  EXPECT_EQ(b.d, 0x3C00);
  EXPECT_EQ(b.qs[0], 127);
  EXPECT_EQ(b.qs[1], 1);
  EXPECT_EQ(b.qs[2], 2);
  EXPECT_EQ(b.qs[3], -3);
  EXPECT_EQ(b.qs[4], -1);
}

TEST(Quants, Q4_0TruncatesAfterShiftingAndKeepsTheFirstLargest) {
  // The first value of largest magnitude (8) sets d = 8 / -8 = -1; its opposite (-8) maps
  // past the top level and is clamped to 15. q = trunc(x / d + 8.5), so x = 0.5 -> q 8,
  // x = -0.5 -> 9, x = 0.4 -> 8, x = -0.6 -> 9.
  std::vector<float> x(32, 0.0f);
  x[0] = 8.0f;
  x[1] = -8.0f;
  x[2] = 0.5f;
  x[3] = -0.5f;
  x[4] = 0.4f;
  x[5] = -0.6f;
  x[6] = 3.0f;
  const std::vector<uint8_t> q = quantize(GgmlType::Q4_0, x);
  BlockQ4_0 b;
  std::memcpy(&b, q.data(), sizeof(b));
  EXPECT_EQ(b.d, 0xBC00);  // -1
  const int expected[7] = {0, 15, 8, 9, 8, 9, 5};
  for (int j = 0; j < 7; ++j) EXPECT_EQ(b.qs[j] & 0xF, expected[j]) << j;
  EXPECT_EQ(b.qs[7] & 0xF, 8);  // zero
}

}  // namespace
}  // namespace archscope::reference
