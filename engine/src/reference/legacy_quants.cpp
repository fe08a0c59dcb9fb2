// The 32-element block types of ggml's first quantizers (Q8_0, Q4_0, Q4_1, Q5_0, Q5_1): one
// fp16 scale (and for the _1 types a min) per 32 elements, 4, 5 or 8 bits per element.
// Arithmetic as ggml-quants.c's dequantize_row_* and quantize_row_*_ref, operation for
// operation.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>

#include "reference/ops.h"
#include "reference/quant_blocks.h"

namespace archscope::reference {
namespace {

// ggml converts a float level to its integer type with a plain C cast ((int8_t)v, (uint8_t)v),
// which C leaves undefined for NaN and out-of-range values. Its x86 builds (the files people
// download, the oracle of the tests) truncate to a 32-bit integer, whose "indefinite" result
// for NaN and |v| >= 2^31 is INT_MIN, and keep the low byte. This does the same, defined:
// NaN (from NaN or inf input, or a scale that overflows) gives 0, as in ggml.
uint8_t low_byte_of_trunc(float v) {
  if (!(std::fabs(v) < 2147483648.0f)) return 0;
  return static_cast<uint8_t>(static_cast<int32_t>(v));
}

// ggml's MIN(top, (int8_t)v), as the byte it stores.
uint8_t level_at_most(float v, int top) {
  const int level = static_cast<int8_t>(low_byte_of_trunc(v));
  return static_cast<uint8_t>(std::min(top, level));
}

// The fifth bits of a block's 32 levels: bit j of the little-endian word for element j.
void store_fifth_bits(uint32_t qh, uint8_t* dst) {
  for (int k = 0; k < 4; ++k) dst[k] = static_cast<uint8_t>(qh >> (8 * k));
}
uint32_t load_fifth_bits(const uint8_t* src) {
  return uint32_t(src[0]) | uint32_t(src[1]) << 8 | uint32_t(src[2]) << 16 | uint32_t(src[3]) << 24;
}

// Smallest and largest value of a block, skipping NaN (as ggml's v < min / v > max do).
void min_max(const float* x, int n, float* min, float* max) {
  *min = std::numeric_limits<float>::max();
  *max = -std::numeric_limits<float>::max();
  for (int j = 0; j < n; ++j) {
    if (x[j] < *min) *min = x[j];
    if (x[j] > *max) *max = x[j];
  }
}

}  // namespace

void dequantize_row_q8_0(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n / kQK8_0; ++i) {
    const BlockQ8_0 b = load_block<BlockQ8_0>(src, i);
    const float d = fp16_to_f32(b.d);
    for (int j = 0; j < kQK8_0; ++j) dst[i * kQK8_0 + j] = static_cast<float>(b.qs[j]) * d;
  }
}

void dequantize_row_q4_0(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n / kQK4_0; ++i) {
    const BlockQ4_0 b = load_block<BlockQ4_0>(src, i);
    const float d = fp16_to_f32(b.d);
    float* y = dst + i * kQK4_0;
    for (int j = 0; j < kQK4_0 / 2; ++j) {
      y[j] = static_cast<float>((b.qs[j] & 0x0F) - 8) * d;
      y[j + kQK4_0 / 2] = static_cast<float>((b.qs[j] >> 4) - 8) * d;
    }
  }
}

// Symmetric 8-bit: d = amax / 127, q = round(x / d) (half away from zero).
void quantize_row_q8_0(const float* src, uint8_t* dst, int64_t n) {
  for (int64_t i = 0; i < n / kQK8_0; ++i) {
    const float* x = src + i * kQK8_0;
    float amax = 0.0f;
    // ggml's MAX(amax, |x|): a NaN becomes amax, and the next value replaces it.
    for (int j = 0; j < kQK8_0; ++j) amax = amax > std::fabs(x[j]) ? amax : std::fabs(x[j]);
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    BlockQ8_0 b;
    b.d = f32_to_fp16(d);
    for (int j = 0; j < kQK8_0; ++j) {
      // |q| <= 127 for finite input and a normal d; NaN, and inf from a d below 2^-126, give 0.
      b.qs[j] = static_cast<int8_t>(low_byte_of_trunc(std::round(x[j] * id)));
    }
    store_block(b, dst, i);
  }
}

// Symmetric 4-bit: d = (the value of largest magnitude, sign kept) / -8, so that value
// maps to q = 0 and the range [-8, 7] * d covers the block; q = trunc(x / d + 8.5), at most 15.
void quantize_row_q4_0(const float* src, uint8_t* dst, int64_t n) {
  for (int64_t i = 0; i < n / kQK4_0; ++i) {
    const float* x = src + i * kQK4_0;
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < kQK4_0; ++j) {
      if (amax < std::fabs(x[j])) {  // the first of equal magnitudes wins
        amax = std::fabs(x[j]);
        max = x[j];
      }
    }
    const float d = max / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    // In [0.5, 16.5] for finite input and a normal d; NaN (from NaN or inf input) gives 0.
    auto quant = [&](float v) { return level_at_most(v * id + 8.5f, 15); };
    BlockQ4_0 b;
    b.d = f32_to_fp16(d);
    for (int j = 0; j < kQK4_0 / 2; ++j) {
      b.qs[j] = static_cast<uint8_t>(quant(x[j]) | (quant(x[j + kQK4_0 / 2]) << 4));
    }
    store_block(b, dst, i);
  }
}

void dequantize_row_q4_1(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n / 32; ++i) {
    const BlockQ4_1 b = load_block<BlockQ4_1>(src, i);
    const float d = fp16_to_f32(b.d), m = fp16_to_f32(b.m);
    float* y = dst + i * 32;
    for (int j = 0; j < 16; ++j) {
      y[j] = static_cast<float>(b.qs[j] & 0x0F) * d + m;
      y[j + 16] = static_cast<float>(b.qs[j] >> 4) * d + m;
    }
  }
}

void dequantize_row_q5_0(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n / 32; ++i) {
    const BlockQ5_0 b = load_block<BlockQ5_0>(src, i);
    const float d = fp16_to_f32(b.d);
    const uint32_t qh = load_fifth_bits(b.qh);
    float* y = dst + i * 32;
    for (int j = 0; j < 16; ++j) {
      const int h0 = ((qh >> j) << 4) & 0x10, h1 = (qh >> (j + 12)) & 0x10;
      y[j] = static_cast<float>(((b.qs[j] & 0x0F) | h0) - 16) * d;
      y[j + 16] = static_cast<float>(((b.qs[j] >> 4) | h1) - 16) * d;
    }
  }
}

void dequantize_row_q5_1(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n / 32; ++i) {
    const BlockQ5_1 b = load_block<BlockQ5_1>(src, i);
    const float d = fp16_to_f32(b.d), m = fp16_to_f32(b.m);
    const uint32_t qh = load_fifth_bits(b.qh);
    float* y = dst + i * 32;
    for (int j = 0; j < 16; ++j) {
      const int h0 = ((qh >> j) << 4) & 0x10, h1 = (qh >> (j + 12)) & 0x10;
      y[j] = static_cast<float>((b.qs[j] & 0x0F) | h0) * d + m;
      y[j + 16] = static_cast<float>((b.qs[j] >> 4) | h1) * d + m;
    }
  }
}

// Asymmetric 4-bit: m = min, d = (max - min) / 15, q = trunc((x - min) / d + 0.5), at most 15.
void quantize_row_q4_1(const float* src, uint8_t* dst, int64_t n) {
  for (int64_t i = 0; i < n / 32; ++i) {
    const float* x = src + i * 32;
    float min, max;
    min_max(x, 32, &min, &max);
    const float d = (max - min) / 15;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    BlockQ4_1 b;
    b.d = f32_to_fp16(d);
    b.m = f32_to_fp16(min);
    for (int j = 0; j < 16; ++j) {
      const uint8_t q0 = level_at_most((x[j] - min) * id + 0.5f, 15);
      const uint8_t q1 = level_at_most((x[j + 16] - min) * id + 0.5f, 15);
      b.qs[j] = static_cast<uint8_t>(q0 | (q1 << 4));
    }
    store_block(b, dst, i);
  }
}

// Symmetric 5-bit, as Q4_0 with 32 levels: d = (the value of largest magnitude) / -16,
// q = trunc(x / d + 16.5), at most 31.
void quantize_row_q5_0(const float* src, uint8_t* dst, int64_t n) {
  for (int64_t i = 0; i < n / 32; ++i) {
    const float* x = src + i * 32;
    float amax = 0.0f, max = 0.0f;
    for (int j = 0; j < 32; ++j) {
      if (amax < std::fabs(x[j])) {
        amax = std::fabs(x[j]);
        max = x[j];
      }
    }
    const float d = max / -16;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    BlockQ5_0 b;
    b.d = f32_to_fp16(d);
    uint32_t qh = 0;
    for (int j = 0; j < 16; ++j) {
      const uint8_t q0 = level_at_most(x[j] * id + 16.5f, 31);
      const uint8_t q1 = level_at_most(x[j + 16] * id + 16.5f, 31);
      b.qs[j] = static_cast<uint8_t>((q0 & 0x0F) | ((q1 & 0x0F) << 4));
      qh |= uint32_t((q0 & 0x10u) >> 4) << j;
      qh |= uint32_t((q1 & 0x10u) >> 4) << (j + 16);
    }
    store_fifth_bits(qh, b.qh);
    store_block(b, dst, i);
  }
}

// Asymmetric 5-bit: m = min, d = (max - min) / 31, q = trunc((x - min) / d + 0.5) (ggml does
// not clamp: finite input stays within 31).
void quantize_row_q5_1(const float* src, uint8_t* dst, int64_t n) {
  for (int64_t i = 0; i < n / 32; ++i) {
    const float* x = src + i * 32;
    float min, max;
    min_max(x, 32, &min, &max);
    const float d = (max - min) / 31;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    BlockQ5_1 b;
    b.d = f32_to_fp16(d);
    b.m = f32_to_fp16(min);
    uint32_t qh = 0;
    for (int j = 0; j < 16; ++j) {
      const uint8_t q0 = low_byte_of_trunc((x[j] - min) * id + 0.5f);
      const uint8_t q1 = low_byte_of_trunc((x[j + 16] - min) * id + 0.5f);
      b.qs[j] = static_cast<uint8_t>((q0 & 0x0F) | ((q1 & 0x0F) << 4));
      qh |= uint32_t((q0 & 0x10u) >> 4) << j;
      qh |= uint32_t((q1 & 0x10u) >> 4) << (j + 16);
    }
    store_fifth_bits(qh, b.qh);
    store_block(b, dst, i);
  }
}

}  // namespace archscope::reference
