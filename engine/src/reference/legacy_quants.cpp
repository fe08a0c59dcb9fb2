// The 32-element block types of ggml's first quantizers (Q8_0, Q4_0, ...): one fp16 scale
// (and for some a min) per 32 elements. Arithmetic as ggml-quants.c's dequantize_row_* and
// quantize_row_*_ref, operation for operation.
#include <algorithm>
#include <cmath>

#include "reference/ops.h"
#include "reference/quant_blocks.h"

namespace archscope::reference {

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
    for (int j = 0; j < kQK8_0; ++j) amax = std::max(amax, std::fabs(x[j]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    BlockQ8_0 b;
    b.d = f32_to_fp16(d);
    for (int j = 0; j < kQK8_0; ++j) {
      const float q = std::round(x[j] * id);  // |q| <= 127 for finite input; NaN or inf input gives 0
      b.qs[j] = std::isnan(q) ? 0 : static_cast<int8_t>(std::clamp(q, -128.0f, 127.0f));
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
    auto quant = [&](float v) {
      // In [0.5, 16.5] for finite input; fmax also sends NaN (from NaN or inf input) to 0.
      const float shifted = std::fmin(std::fmax(v * id + 8.5f, 0.0f), 15.0f);
      return static_cast<uint8_t>(shifted);  // truncates, as ggml's (int8_t) cast
    };
    BlockQ4_0 b;
    b.d = f32_to_fp16(d);
    for (int j = 0; j < kQK4_0 / 2; ++j) {
      b.qs[j] = static_cast<uint8_t>(quant(x[j]) | (quant(x[j + kQK4_0 / 2]) << 4));
    }
    store_block(b, dst, i);
  }
}

}  // namespace archscope::reference
