// The types whose 4-bit codes index a table of non-uniform levels instead of a uniform grid:
// IQ4_NL (32-element blocks, fp16 scale), IQ4_XS (256-element super-blocks of eight
// IQ4_NL-style sub-blocks with 6-bit scales) and MXFP4 (fp4 e2m1 codes with a power-of-two
// e8m0 scale per 32). Arithmetic as ggml-quants.c's dequantize_row_*, quantize_iq4_nl /
// quantize_iq4_xs without an importance matrix (quantize_row_iq4_nl_impl, ntry 7) and
// quantize_row_mxfp4_ref, operation for operation.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "reference/ops.h"
#include "reference/quant_blocks.h"

namespace archscope::reference {
namespace {

constexpr int kQK4_NL = 32;
constexpr int kQKMxfp4 = 32;
constexpr float kGroupMaxEps = 1e-15f;  // ggml's GROUP_MAX_EPS

// 2^(e - 128), the e8m0 scale halved (the table holds doubled e2m1 values): ggml's
// ggml_e8m0_to_fp32_half, which builds the float's bits (e 0 and 1 give subnormals).
float e8m0_half_to_f32(uint8_t e) {
  const uint32_t bits = e < 2 ? 0x00200000u << e : uint32_t(e - 1) << 23;
  float f;
  std::memcpy(&f, &bits, sizeof(f));
  return f;
}

// The index of the level nearest to x in the 16 ascending levels (ties to the lower one):
// ggml's best_index_int8. NaN ends at the top level, as in ggml.
int nearest_level(const int8_t* values, float x) {
  if (x <= values[0]) return 0;
  if (x >= values[15]) return 15;
  int lo = 0, hi = 15;
  while (hi - lo > 1) {
    const int mid = (lo + hi) / 2;
    if (x < values[mid]) {
      hi = mid;
    } else {
      lo = mid;
    }
  }
  return x - values[hi - 1] < values[hi] - x ? hi - 1 : hi;
}

// One super-block of `n` elements in sub-blocks of 32 (n = 32: IQ4_NL, n = 256: IQ4_XS),
// weights x^2 (no importance matrix). Per sub-block: a scale from the largest value and the
// least-squares scale of the best of 15 nearby grids. IQ4_XS then quantizes the sub-block
// scales to 6 bits (the largest in magnitude maps to -32) and re-picks every level.
// Writes the fp16 scale *dh, the codes q4 (n / 2 bytes) and, for IQ4_XS, the scales.
void quantize_iq4_superblock(int n, const float* x, uint16_t* dh, uint8_t* q4, uint16_t* scales_h, uint8_t* scales_l) {
  constexpr int kTries = 7;
  const int8_t* values = kValuesIQ4NL;
  const int blocks = n / 32;
  uint8_t L[kQK_K];
  float scales[kQK_K / 32];
  std::memset(q4, 0, static_cast<size_t>(n / 2));
  *dh = f32_to_fp16(0.f);

  float max_scale = 0, amax_scale = 0;
  for (int ib = 0; ib < blocks; ++ib) {
    const float* xb = x + 32 * ib;
    uint8_t* Lb = L + 32 * ib;
    float weight[32];
    for (int j = 0; j < 32; ++j) weight[j] = xb[j] * xb[j];
    float amax = 0, max = 0;
    for (int j = 0; j < 32; ++j) {
      const float ax = std::fabs(xb[j]);
      if (ax > amax) {
        amax = ax;
        max = xb[j];
      }
    }
    if (amax < kGroupMaxEps) {
      scales[ib] = 0;
      continue;
    }
    float d = -max / values[0];
    float id = 1 / d;
    float sumqx = 0, sumq2 = 0;
    for (int j = 0; j < 32; ++j) {
      const int l = nearest_level(values, id * xb[j]);
      Lb[j] = static_cast<uint8_t>(l);
      const float q = values[l];
      const float w = weight[j];
      sumqx += w * q * xb[j];
      sumq2 += w * q * q;
    }
    d = sumq2 > 0 ? sumqx / sumq2 : 0.f;
    float best = d * sumqx;
    for (int itry = -kTries; itry <= kTries; ++itry) {
      id = (itry + values[0]) / max;
      sumqx = sumq2 = 0;
      for (int j = 0; j < 32; ++j) {
        const float q = values[nearest_level(values, id * xb[j])];
        const float w = weight[j];
        sumqx += w * q * xb[j];
        sumq2 += w * q * q;
      }
      if (sumq2 > 0 && sumqx * sumqx > best * sumq2) {
        d = sumqx / sumq2;
        best = d * sumqx;
      }
    }
    scales[ib] = d;
    if (std::fabs(d) > amax_scale) {
      amax_scale = std::fabs(d);
      max_scale = d;
    }
  }

  if (blocks > 1) {
    *scales_h = 0;
    const float d = -max_scale / 32;
    *dh = f32_to_fp16(d);
    const float id = d != 0.0f ? 1 / d : 0.f;
    for (int ib = 0; ib < blocks; ++ib) {
      int l = std::clamp(nearest_int(id * scales[ib]), -32, 31);
      const float dl = d * l;
      const float idl = dl != 0.0f ? 1 / dl : 0.f;
      for (int j = 0; j < 32; ++j) L[32 * ib + j] = static_cast<uint8_t>(nearest_level(values, idl * x[32 * ib + j]));
      l += 32;
      const uint8_t low = static_cast<uint8_t>(l & 0xF), high = static_cast<uint8_t>(l >> 4);
      if (ib % 2 == 0) {
        scales_l[ib / 2] = low;
      } else {
        scales_l[ib / 2] |= static_cast<uint8_t>(low << 4);
      }
      *scales_h = static_cast<uint16_t>(*scales_h | (high << (2 * (ib % 8))));
    }
  } else {
    // IQ4_NL: the scale is stored as is; the levels are re-picked against it (also where
    // the first pass skipped an all-zero block).
    *dh = f32_to_fp16(scales[0]);
    const float id = scales[0] != 0.0f ? 1 / scales[0] : 0;
    for (int j = 0; j < n; ++j) L[j] = static_cast<uint8_t>(nearest_level(values, id * x[j]));
  }

  for (int i = 0; i < n / 32; ++i) {
    for (int j = 0; j < 16; ++j) q4[16 * i + j] = static_cast<uint8_t>(L[32 * i + j] | (L[32 * i + 16 + j] << 4));
  }
}

// The fp4 code whose level times d is nearest to x (the first of equal distances): ggml's
// best_index_mxfp4. NaN gives code 0.
int nearest_mxfp4(float x, float d) {
  int best = 0;
  float best_error = std::fabs(kValuesMxfp4[0] * d - x);
  for (int i = 1; i < 16; ++i) {
    const float error = std::fabs(kValuesMxfp4[i] * d - x);
    if (error < best_error) {
      best = i;
      best_error = error;
    }
  }
  return best;
}

// ggml's (uint8_t)(floorf(log2f(amax)) - 2 + 127) as its x86 builds compute it: truncated to
// a 32-bit integer, low byte kept (tiny amax wraps past 0 to the top; inf gives the
// "indefinite" integer, whose low byte is 0). Defined here for every input.
uint8_t mxfp4_exponent(float amax) {
  const float e = std::floor(std::log2(amax)) - 2 + 127;
  if (!(std::fabs(e) < 2147483648.0f)) return 0;
  return static_cast<uint8_t>(static_cast<int32_t>(e));
}

}  // namespace

void dequantize_row_iq4_nl(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n / kQK4_NL; ++i) {
    const BlockIQ4_NL b = load_block<BlockIQ4_NL>(src, i);
    const float d = fp16_to_f32(b.d);
    float* y = dst + i * kQK4_NL;
    for (int j = 0; j < 16; ++j) {
      y[j] = d * kValuesIQ4NL[b.qs[j] & 0xF];
      y[j + 16] = d * kValuesIQ4NL[b.qs[j] >> 4];
    }
  }
}

void dequantize_row_iq4_xs(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const BlockIQ4_XS b = load_block<BlockIQ4_XS>(src, i);
    const float d = fp16_to_f32(b.d);
    for (int s = 0; s < 8; ++s) {
      const float dl = d * static_cast<float>(iq4_xs_scale(s, b) - 32);
      const uint8_t* qs = b.qs + 16 * s;
      float* y = dst + i * kQK_K + 32 * s;
      for (int j = 0; j < 16; ++j) {
        y[j] = dl * kValuesIQ4NL[qs[j] & 0xF];
        y[j + 16] = dl * kValuesIQ4NL[qs[j] >> 4];
      }
    }
  }
}

void dequantize_row_mxfp4(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n / kQKMxfp4; ++i) {
    const BlockMxfp4 b = load_block<BlockMxfp4>(src, i);
    const float d = e8m0_half_to_f32(b.e);
    float* y = dst + i * kQKMxfp4;
    for (int j = 0; j < 16; ++j) {
      y[j] = kValuesMxfp4[b.qs[j] & 0xF] * d;
      y[j + 16] = kValuesMxfp4[b.qs[j] >> 4] * d;
    }
  }
}

void quantize_row_iq4_nl(const float* src, uint8_t* dst, int64_t n) {
  for (int64_t i = 0; i < n / kQK4_NL; ++i) {
    BlockIQ4_NL b;
    quantize_iq4_superblock(kQK4_NL, src + i * kQK4_NL, &b.d, b.qs, nullptr, nullptr);
    store_block(b, dst, i);
  }
}

void quantize_row_iq4_xs(const float* src, uint8_t* dst, int64_t n) {
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    BlockIQ4_XS b;
    quantize_iq4_superblock(kQK_K, src + i * kQK_K, &b.d, b.qs, &b.scales_h, b.scales_l);
    store_block(b, dst, i);
  }
}

// The scale is the power of two that puts the largest magnitude in the fp4 range (amax /
// 2^e in [4, 8), the top level being 6); each element takes its nearest level.
void quantize_row_mxfp4(const float* src, uint8_t* dst, int64_t n) {
  for (int64_t i = 0; i < n / kQKMxfp4; ++i) {
    const float* x = src + i * kQKMxfp4;
    float amax = 0.0f;
    for (int j = 0; j < kQKMxfp4; ++j) {
      if (amax < std::fabs(x[j])) amax = std::fabs(x[j]);
    }
    BlockMxfp4 b;
    b.e = amax > 0.0f ? mxfp4_exponent(amax) : 0;
    const float d = e8m0_half_to_f32(b.e);
    for (int j = 0; j < 16; ++j) {
      b.qs[j] = static_cast<uint8_t>(nearest_mxfp4(x[j], d) | (nearest_mxfp4(x[j + 16], d) << 4));
    }
    store_block(b, dst, i);
  }
}

}  // namespace archscope::reference
