// Row conversion for every weight type: the float types, the 32-element block types
// (Q8_0, Q4_0) and the dispatch to the k-quants (k_quants.cpp). Arithmetic follows
// ggml-quants.c's dequantize_row_* and quantize_row_*_ref operation for operation, so the
// bytes and floats agree with ggml bit for bit.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

#include "archscope/error.h"
#include "reference/ops.h"
#include "reference/quant_blocks.h"

namespace archscope::reference {
namespace {

std::string type_name(GgmlType type) {
  const GgmlTypeInfo* info = ggml_type_info(type);
  return info ? info->name : "type " + std::to_string(static_cast<uint32_t>(type));
}

void check_row(const char* op, GgmlType type, int64_t n) {
  if (!is_supported_weight_type(type)) {
    throw Error(std::string(op) + ": " + type_name(type) +
                " is not a type archscope computes with (f32, f16, bf16, q8_0, q4_0, q4_K, q5_K, q6_K)");
  }
  const int64_t block = ggml_type_info(type)->block_size;
  if (n < 0 || n % block != 0) {
    throw Error(std::string(op) + ": a " + type_name(type) + " row of " + std::to_string(n) +
                " elements is not a whole number of " + std::to_string(block) + "-element blocks");
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

bool is_supported_weight_type(GgmlType type) {
  switch (type) {
    case GgmlType::F32:
    case GgmlType::F16:
    case GgmlType::BF16:
    case GgmlType::Q8_0:
    case GgmlType::Q4_0:
    case GgmlType::Q4_K:
    case GgmlType::Q5_K:
    case GgmlType::Q6_K:
    case GgmlType::I32:  // index tables (DeepSeek V4 tid2eid), gathered as floats
      return true;
    default:
      return false;
  }
}

void dequantize_row(GgmlType type, const uint8_t* src, float* dst, int64_t n) {
  check_row("dequantize_row", type, n);
  switch (type) {
    case GgmlType::F32:
      std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
      return;
    case GgmlType::F16:
    case GgmlType::BF16:
      for (int64_t i = 0; i < n; ++i) {
        uint16_t h;
        std::memcpy(&h, src + 2 * i, 2);
        dst[i] = type == GgmlType::F16 ? fp16_to_f32(h) : bf16_to_f32(h);
      }
      return;
    case GgmlType::I32:
      for (int64_t i = 0; i < n; ++i) {
        int32_t v;
        std::memcpy(&v, src + 4 * i, 4);
        dst[i] = static_cast<float>(v);
      }
      return;
    case GgmlType::Q8_0: return dequantize_row_q8_0(src, dst, n);
    case GgmlType::Q4_0: return dequantize_row_q4_0(src, dst, n);
    case GgmlType::Q4_K: return dequantize_row_q4_K(src, dst, n);
    case GgmlType::Q5_K: return dequantize_row_q5_K(src, dst, n);
    case GgmlType::Q6_K: return dequantize_row_q6_K(src, dst, n);
    default: return;  // unreachable: check_row rejected it
  }
}

void quantize_row(GgmlType type, const float* src, uint8_t* dst, int64_t n) {
  check_row("quantize_row", type, n);
  switch (type) {
    case GgmlType::F32:
      std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
      return;
    case GgmlType::F16:
    case GgmlType::BF16:
      for (int64_t i = 0; i < n; ++i) {
        const uint16_t h = type == GgmlType::F16 ? f32_to_fp16(src[i]) : f32_to_bf16(src[i]);
        std::memcpy(dst + 2 * i, &h, 2);
      }
      return;
    case GgmlType::Q8_0: return quantize_row_q8_0(src, dst, n);
    case GgmlType::Q4_0: return quantize_row_q4_0(src, dst, n);
    case GgmlType::Q4_K: return quantize_row_q4_K(src, dst, n);
    case GgmlType::Q5_K: return quantize_row_q5_K(src, dst, n);
    case GgmlType::Q6_K: return quantize_row_q6_K(src, dst, n);
    default: return;
  }
}

}  // namespace archscope::reference
