// The k-quants (Q2_K, Q3_K, Q4_K, Q5_K, Q6_K): 256-element super-blocks of 32- or
// 16-element sub-blocks, each with its own quantized scale (and min), scaled again by fp16
// numbers per super-block. Dequantization is the block formula; quantization is ggml's
// reference search (quantize_row_q*_K_ref with make_qkx2_quants / make_qx_quants /
// make_q3_quants), reproduced operation for operation so the bytes agree with ggml bit for
// bit.
#include <algorithm>
#include <cmath>
#include <cstring>

#include "reference/ops.h"
#include "reference/quant_blocks.h"

namespace archscope::reference {
namespace {

// Below this a group is treated as all zeros (ggml's GROUP_MAX_EPS).
constexpr float kGroupMaxEps = 1e-15f;

// Fits x[i] ~ scale * L[i] - min with L[i] in 0..nmax, min >= 0 (returned through
// `the_min`), minimizing the weighted squared error (use_mad: the weighted absolute error):
// start from the plain min/max grid, then try nstep + 1 grids of (rmin + rdelta * is + nmax)
// steps over the range and keep the least-squares (scale, min) of the best one. As ggml's
// make_qkx2_quants; n <= 32.
float fit_scale_min(int n, int nmax, const float* x, const float* weights, uint8_t* L, float* the_min, float rmin,
                    float rdelta, int nstep, bool use_mad) {
  auto error_of = [use_mad](float diff) { return use_mad ? std::fabs(diff) : diff * diff; };
  float min = x[0], max = x[0];
  float sum_w = weights[0];
  float sum_x = sum_w * x[0];
  for (int i = 1; i < n; ++i) {
    if (x[i] < min) min = x[i];
    if (x[i] > max) max = x[i];
    sum_w += weights[i];
    sum_x += weights[i] * x[i];
  }
  if (min > 0) min = 0;
  if (max == min) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    *the_min = -min;
    return 0.0f;
  }
  float iscale = nmax / (max - min);
  float scale = 1 / iscale;
  float best_error = 0;
  for (int i = 0; i < n; ++i) {
    L[i] = static_cast<uint8_t>(std::clamp(nearest_int(iscale * (x[i] - min)), 0, nmax));
    const float diff = scale * L[i] + min - x[i];
    best_error += weights[i] * error_of(diff);
  }
  uint8_t trial[32];
  for (int is = 0; is <= nstep; ++is) {
    iscale = (rmin + rdelta * is + nmax) / (max - min);
    float sum_l = 0, sum_l2 = 0, sum_xl = 0;
    for (int i = 0; i < n; ++i) {
      const int l = std::clamp(nearest_int(iscale * (x[i] - min)), 0, nmax);
      trial[i] = static_cast<uint8_t>(l);
      const float w = weights[i];
      sum_l += w * l;
      sum_l2 += w * l * l;
      sum_xl += w * l * x[i];
    }
    const float D = sum_w * sum_l2 - sum_l * sum_l;
    if (D > 0) {
      float this_scale = (sum_w * sum_xl - sum_x * sum_l) / D;
      float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / D;
      if (this_min > 0) {
        this_min = 0;
        this_scale = sum_xl / sum_l2;
      }
      float error = 0;
      for (int i = 0; i < n; ++i) {
        const float diff = this_scale * trial[i] + this_min - x[i];
        error += weights[i] * error_of(diff);
      }
      if (error < best_error) {
        std::copy(trial, trial + n, L);
        best_error = error;
        scale = this_scale;
        min = this_min;
      }
    }
  }
  *the_min = -min;
  return scale;
}

// Fits x[i] ~ scale * (L[i] - nmax) with L[i] in 0..2*nmax-1, weights x[i]^2: start from
// the grid that maps the value of largest magnitude to -nmax, then try 18 nearby grids
// and keep the least-squares scale of the best. As ggml's make_qx_quants(rmse_type 1).
float fit_scale_symmetric(int n, int nmax, const float* x, int8_t* L) {
  float max = 0, amax = 0;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > amax) {
      amax = ax;
      max = x[i];
    }
  }
  if (amax < kGroupMaxEps) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    return 0.0f;
  }
  auto level = [nmax](float v) { return std::clamp(nearest_int(v), -nmax, nmax - 1); };
  float iscale = -nmax / max;
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    const int l = level(iscale * x[i]);
    L[i] = static_cast<int8_t>(l + nmax);
    const float w = x[i] * x[i];
    sumlx += w * x[i] * l;
    suml2 += w * l * l;
  }
  float scale = suml2 != 0 ? sumlx / suml2 : 0.0f;
  float best = scale * sumlx;
  for (int is = -9; is <= 9; ++is) {
    if (is == 0) continue;
    iscale = -(nmax + 0.1f * is) / max;
    sumlx = suml2 = 0;
    for (int i = 0; i < n; ++i) {
      const int l = level(iscale * x[i]);
      const float w = x[i] * x[i];
      sumlx += w * x[i] * l;
      suml2 += w * l * l;
    }
    if (suml2 > 0 && sumlx * sumlx > best * suml2) {
      for (int i = 0; i < n; ++i) L[i] = static_cast<int8_t>(level(iscale * x[i]) + nmax);
      scale = sumlx / suml2;
      best = scale * sumlx;
    }
  }
  return scale;
}

// Fits x[i] ~ scale * L[i] with L[i] in -nmax..nmax-1 (returned offset by nmax), weights
// x[i]^2: start from the grid that maps the value of largest magnitude to -nmax, then up to
// 5 rounds of moving single levels to where the current least-squares fit puts them, each
// move kept only if it improves the fit. As ggml's make_q3_quants(do_rmse true).
float fit_scale_symmetric_refined(int n, int nmax, const float* x, int8_t* L) {
  float max = 0, amax = 0;
  for (int i = 0; i < n; ++i) {
    const float ax = std::fabs(x[i]);
    if (ax > amax) {
      amax = ax;
      max = x[i];
    }
  }
  if (amax < kGroupMaxEps) {
    for (int i = 0; i < n; ++i) L[i] = 0;
    return 0.0f;
  }
  const float iscale = -nmax / max;
  float sumlx = 0, suml2 = 0;
  for (int i = 0; i < n; ++i) {
    const int l = std::clamp(nearest_int(iscale * x[i]), -nmax, nmax - 1);
    L[i] = static_cast<int8_t>(l);
    const float w = x[i] * x[i];
    sumlx += w * x[i] * l;
    suml2 += w * l * l;
  }
  for (int round = 0; round < 5; ++round) {
    int changed = 0;
    for (int i = 0; i < n; ++i) {
      const float w = x[i] * x[i];
      float slx = sumlx - w * x[i] * L[i];
      if (slx > 0) {
        float sl2 = suml2 - w * L[i] * L[i];
        const int new_l = std::clamp(nearest_int(x[i] * sl2 / slx), -nmax, nmax - 1);
        if (new_l != L[i]) {
          slx += w * x[i] * new_l;
          sl2 += w * new_l * new_l;
          if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
            L[i] = static_cast<int8_t>(new_l);
            sumlx = slx;
            suml2 = sl2;
            ++changed;
          }
        }
      }
    }
    if (!changed) break;
  }
  for (int i = 0; i < n; ++i) L[i] = static_cast<int8_t>(L[i] + nmax);
  return suml2 > 0.0f ? sumlx / suml2 : 0.0f;
}

// The 2-bit levels of a 256-element block into qs as Q2_K and Q3_K store them: element
// 128 h + 32 r + l in bits 2r..2r+1 of byte 32 h + l.
void pack_2bit_levels(const uint8_t* L, uint8_t* qs) {
  for (int h = 0; h < 2; ++h) {
    const uint8_t* Lh = L + 128 * h;
    for (int l = 0; l < 32; ++l) {
      qs[32 * h + l] = static_cast<uint8_t>(Lh[l] | (Lh[l + 32] << 2) | (Lh[l + 64] << 4) | (Lh[l + 96] << 6));
    }
  }
}

// The part Q4_K and Q5_K share: per 32-element sub-block a (scale, min) fit with levels
// 0..nmax, those quantized to 6 bits against the largest of each (d, dmin), then every
// element re-quantized against the stored scales. Writes d, dmin, the packed scales, and
// the levels L (0..nmax) for the caller to pack.
template <class Block>
void quantize_superblock_scale_min(const float* x, int nmax, float rmin, int nstep, Block& b, uint8_t* L) {
  float scales[kQK_K / 32], mins[kQK_K / 32];
  float max_scale = 0, max_min = 0;
  for (int j = 0; j < kQK_K / 32; ++j) {
    const float* xs = x + 32 * j;
    float sum_x2 = 0;
    for (int l = 0; l < 32; ++l) sum_x2 += xs[l] * xs[l];
    const float av_x = std::sqrt(sum_x2 / 32);
    float weights[32];
    for (int l = 0; l < 32; ++l) weights[l] = av_x + std::fabs(xs[l]);
    scales[j] = fit_scale_min(32, nmax, xs, weights, L + 32 * j, &mins[j], rmin, 0.1f, nstep, false);
    max_scale = std::max(max_scale, scales[j]);
    max_min = std::max(max_min, mins[j]);
  }

  const float inv_scale = max_scale > 0 ? 63.f / max_scale : 0.f;
  const float inv_min = max_min > 0 ? 63.f / max_min : 0.f;
  std::memset(b.scales, 0, sizeof(b.scales));
  for (int j = 0; j < kQK_K / 32; ++j) {
    // ggml stores the rounded value in a uint8_t before clamping; keep that wrap-around.
    const uint8_t ls = std::min<uint8_t>(63, static_cast<uint8_t>(nearest_int(inv_scale * scales[j])));
    const uint8_t lm = std::min<uint8_t>(63, static_cast<uint8_t>(nearest_int(inv_min * mins[j])));
    if (j < 4) {
      b.scales[j] = ls;
      b.scales[j + 4] = lm;
    } else {
      b.scales[j + 4] = static_cast<uint8_t>((ls & 0xF) | ((lm & 0xF) << 4));
      b.scales[j - 4] |= static_cast<uint8_t>((ls >> 4) << 6);
      b.scales[j] |= static_cast<uint8_t>((lm >> 4) << 6);
    }
  }
  b.d = f32_to_fp16(max_scale / 63.f);
  b.dmin = f32_to_fp16(max_min / 63.f);

  for (int j = 0; j < kQK_K / 32; ++j) {
    uint8_t sc, m;
    unpack_scale_min_k4(j, b.scales, &sc, &m);
    const float d = fp16_to_f32(b.d) * sc;
    if (d == 0.0f) continue;  // keeps the levels of the fit
    const float dm = fp16_to_f32(b.dmin) * m;
    for (int i = 0; i < 32; ++i) {
      L[32 * j + i] = static_cast<uint8_t>(std::clamp(nearest_int((x[32 * j + i] + dm) / d), 0, nmax));
    }
  }
}

}  // namespace

// For every sub-block of 16 (h = s / 8 the half, r = (s % 8) / 2 the run of 32, l0 = 16 (s % 2)
// its start in the run): the 16 elements' 2-bit levels, bits 2r of qs[32 h + l0 + l].
void dequantize_row_q2_K(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const BlockQ2_K b = load_block<BlockQ2_K>(src, i);
    const float d = fp16_to_f32(b.d), dmin = fp16_to_f32(b.dmin);
    float* y = dst + i * kQK_K;
    for (int s = 0; s < 16; ++s) {
      const float dl = d * (b.scales[s] & 0xF), ml = dmin * (b.scales[s] >> 4);
      const uint8_t* q = b.qs + 32 * (s / 8) + 16 * (s % 2);
      const int shift = 2 * ((s % 8) / 2);
      for (int l = 0; l < 16; ++l) y[16 * s + l] = dl * static_cast<float>((q[l] >> shift) & 3) - ml;
    }
  }
}

// Sub-blocks as Q2_K's; an element's level loses 4 where its hmask bit is clear.
void dequantize_row_q3_K(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const BlockQ3_K b = load_block<BlockQ3_K>(src, i);
    const float d = fp16_to_f32(b.d);
    float* y = dst + i * kQK_K;
    for (int s = 0; s < 16; ++s) {
      const float dl = d * static_cast<float>(q3_k_scale(s, b.scales) - 32);
      const int h = s / 8, r = (s % 8) / 2, l0 = 16 * (s % 2);
      const uint8_t mask = static_cast<uint8_t>(1u << (4 * h + r));
      for (int l = 0; l < 16; ++l) {
        const int q = ((b.qs[32 * h + l0 + l] >> (2 * r)) & 3) - ((b.hmask[l0 + l] & mask) ? 0 : 4);
        y[16 * s + l] = dl * static_cast<float>(q);
      }
    }
  }
}

void dequantize_row_q4_K(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const BlockQ4_K b = load_block<BlockQ4_K>(src, i);
    const float d = fp16_to_f32(b.d);
    const float dmin = fp16_to_f32(b.dmin);
    float* y = dst + i * kQK_K;
    // Each 32 bytes of qs: sub-block s from the low nibbles, s + 1 from the high nibbles.
    for (int s = 0; s < 8; s += 2) {
      const uint8_t* q = b.qs + 16 * s;
      uint8_t sc, m;
      unpack_scale_min_k4(s, b.scales, &sc, &m);
      const float d1 = d * sc, m1 = dmin * m;
      unpack_scale_min_k4(s + 1, b.scales, &sc, &m);
      const float d2 = d * sc, m2 = dmin * m;
      for (int l = 0; l < 32; ++l) y[32 * s + l] = d1 * (q[l] & 0xF) - m1;
      for (int l = 0; l < 32; ++l) y[32 * s + 32 + l] = d2 * (q[l] >> 4) - m2;
    }
  }
}

void dequantize_row_q5_K(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const BlockQ5_K b = load_block<BlockQ5_K>(src, i);
    const float d = fp16_to_f32(b.d);
    const float dmin = fp16_to_f32(b.dmin);
    float* y = dst + i * kQK_K;
    for (int s = 0; s < 8; s += 2) {
      const uint8_t* q = b.qs + 16 * s;
      uint8_t sc, m;
      unpack_scale_min_k4(s, b.scales, &sc, &m);
      const float d1 = d * sc, m1 = dmin * m;
      unpack_scale_min_k4(s + 1, b.scales, &sc, &m);
      const float d2 = d * sc, m2 = dmin * m;
      for (int l = 0; l < 32; ++l) {
        const int hi = (b.qh[l] >> s) & 1;
        y[32 * s + l] = d1 * ((q[l] & 0xF) + 16 * hi) - m1;
      }
      for (int l = 0; l < 32; ++l) {
        const int hi = (b.qh[l] >> (s + 1)) & 1;
        y[32 * s + 32 + l] = d2 * ((q[l] >> 4) + 16 * hi) - m2;
      }
    }
  }
}

// Per 128 elements (half a block): ql[0..63] and qh[0..31] hold four runs of 32.
// Element l + 32 r (r = 0..3) takes its low 4 bits from ql[l + 32 (r & 1)] (low nibble for
// r < 2, high nibble for r >= 2) and its high 2 bits from bits 2r..2r+1 of qh[l]; sub-block
// scale index: 8 * half + 2 r + l / 16.
void dequantize_row_q6_K(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const BlockQ6_K b = load_block<BlockQ6_K>(src, i);
    const float d = fp16_to_f32(b.d);
    for (int half = 0; half < 2; ++half) {
      const uint8_t* ql = b.ql + 64 * half;
      const uint8_t* qh = b.qh + 32 * half;
      const int8_t* sc = b.scales + 8 * half;
      float* y = dst + i * kQK_K + 128 * half;
      for (int r = 0; r < 4; ++r) {
        const uint8_t* low_bytes = ql + 32 * (r & 1);
        const int low_shift = r < 2 ? 0 : 4;
        for (int l = 0; l < 32; ++l) {
          const float scale = d * sc[2 * r + l / 16];
          const int low = (low_bytes[l] >> low_shift) & 0xF;
          const int high = (qh[l] >> (2 * r)) & 3;
          y[32 * r + l] = scale * static_cast<float>((low | (high << 4)) - 32);
        }
      }
    }
  }
}

// Per sub-block of 16 a (scale, min) fit with levels 0..3 minimizing the |x|-weighted
// absolute error; scales and mins quantized to 4 bits against the largest of each; then
// every element re-quantized against the stored values.
void quantize_row_q2_K(const float* src, uint8_t* dst, int64_t n) {
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float* x = src + i * kQK_K;
    BlockQ2_K b;
    uint8_t L[kQK_K];
    float scales[16], mins[16];
    float max_scale = 0, max_min = 0;
    for (int s = 0; s < 16; ++s) {
      float weights[16];
      for (int l = 0; l < 16; ++l) weights[l] = std::fabs(x[16 * s + l]);
      scales[s] = fit_scale_min(16, 3, x + 16 * s, weights, L + 16 * s, &mins[s], -0.5f, 0.1f, 15, true);
      if (scales[s] > max_scale) max_scale = scales[s];
      if (mins[s] > max_min) max_min = mins[s];
    }
    // ggml stores the rounded values without clamping (a negative fit wraps); kept.
    if (max_scale > 0) {
      const float iscale = 15.f / max_scale;
      for (int s = 0; s < 16; ++s) b.scales[s] = static_cast<uint8_t>(nearest_int(iscale * scales[s]));
      b.d = f32_to_fp16(max_scale / 15.f);
    } else {
      std::memset(b.scales, 0, sizeof(b.scales));
      b.d = f32_to_fp16(0.f);
    }
    if (max_min > 0) {
      const float iscale = 15.f / max_min;
      for (int s = 0; s < 16; ++s) b.scales[s] |= static_cast<uint8_t>(nearest_int(iscale * mins[s]) << 4);
      b.dmin = f32_to_fp16(max_min / 15.f);
    } else {
      b.dmin = f32_to_fp16(0.f);
    }
    for (int s = 0; s < 16; ++s) {
      const float d = fp16_to_f32(b.d) * (b.scales[s] & 0xF);
      if (d == 0.0f) continue;  // keeps the levels of the fit
      const float dm = fp16_to_f32(b.dmin) * (b.scales[s] >> 4);
      for (int l = 0; l < 16; ++l) {
        L[16 * s + l] = static_cast<uint8_t>(std::clamp(nearest_int((x[16 * s + l] + dm) / d), 0, 3));
      }
    }
    pack_2bit_levels(L, b.qs);
    store_block(b, dst, i);
  }
}

// Per sub-block of 16 a symmetric fit with levels -4..3; the scales quantized to 6 bits
// against the one of largest magnitude (which maps to -32); every element re-quantized
// against the stored scales; the levels' third bit goes to hmask, the low two to qs.
void quantize_row_q3_K(const float* src, uint8_t* dst, int64_t n) {
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float* x = src + i * kQK_K;
    BlockQ3_K b;
    int8_t L[kQK_K];
    float scales[16];
    float max_scale = 0, amax = 0;
    for (int s = 0; s < 16; ++s) {
      scales[s] = fit_scale_symmetric_refined(16, 4, x + 16 * s, L + 16 * s);
      if (std::fabs(scales[s]) > amax) {
        amax = std::fabs(scales[s]);
        max_scale = scales[s];
      }
    }
    std::memset(b.scales, 0, sizeof(b.scales));
    if (max_scale != 0.0f) {
      const float iscale = -32.f / max_scale;
      for (int s = 0; s < 16; ++s) {
        // ggml rounds into an int8_t, then clamps: keep that wrap-around.
        const int8_t rounded = static_cast<int8_t>(nearest_int(iscale * scales[s]));
        const int l = std::clamp<int>(rounded, -32, 31) + 32;
        if (s < 8) {
          b.scales[s] = static_cast<uint8_t>(l & 0xF);
        } else {
          b.scales[s - 8] |= static_cast<uint8_t>((l & 0xF) << 4);
        }
        b.scales[8 + s % 4] |= static_cast<uint8_t>((l >> 4) << (2 * (s / 4)));
      }
      b.d = f32_to_fp16(1 / iscale);
    } else {
      b.d = f32_to_fp16(0.f);
    }
    for (int s = 0; s < 16; ++s) {
      const float d = fp16_to_f32(b.d) * static_cast<float>(q3_k_scale(s, b.scales) - 32);
      if (d == 0.0f) continue;  // keeps the levels of the fit
      for (int l = 0; l < 16; ++l) {
        L[16 * s + l] = static_cast<int8_t>(std::clamp(nearest_int(x[16 * s + l] / d), -4, 3) + 4);
      }
    }
    // Element e: its high bit is bit e / 32 of hmask[e % 32].
    std::memset(b.hmask, 0, sizeof(b.hmask));
    uint8_t low[kQK_K];
    for (int e = 0; e < kQK_K; ++e) {
      int level = L[e];
      if (level > 3) {
        b.hmask[e % 32] |= static_cast<uint8_t>(1u << (e / 32));
        level -= 4;
      }
      low[e] = static_cast<uint8_t>(level);
    }
    pack_2bit_levels(low, b.qs);
    store_block(b, dst, i);
  }
}

void quantize_row_q4_K(const float* src, uint8_t* dst, int64_t n) {
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float* x = src + i * kQK_K;
    BlockQ4_K b;
    uint8_t L[kQK_K];
    quantize_superblock_scale_min(x, 15, -1.0f, 20, b, L);
    for (int s = 0; s < 8; s += 2) {
      for (int l = 0; l < 32; ++l) {
        b.qs[16 * s + l] = static_cast<uint8_t>(L[32 * s + l] | (L[32 * s + 32 + l] << 4));
      }
    }
    store_block(b, dst, i);
  }
}

void quantize_row_q5_K(const float* src, uint8_t* dst, int64_t n) {
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float* x = src + i * kQK_K;
    BlockQ5_K b;
    uint8_t L[kQK_K];
    quantize_superblock_scale_min(x, 31, -0.5f, 15, b, L);
    std::memset(b.qh, 0, sizeof(b.qh));
    for (int s = 0; s < 8; s += 2) {
      for (int l = 0; l < 32; ++l) {
        const int l1 = L[32 * s + l], l2 = L[32 * s + 32 + l];
        b.qh[l] |= static_cast<uint8_t>(((l1 >> 4) << s) | ((l2 >> 4) << (s + 1)));
        b.qs[16 * s + l] = static_cast<uint8_t>((l1 & 0xF) | ((l2 & 0xF) << 4));
      }
    }
    store_block(b, dst, i);
  }
}

void quantize_row_q6_K(const float* src, uint8_t* dst, int64_t n) {
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const float* x = src + i * kQK_K;
    BlockQ6_K b;
    int8_t L[kQK_K];
    float scales[kQK_K / 16];
    float max_scale = 0, max_abs_scale = 0;
    for (int s = 0; s < kQK_K / 16; ++s) {
      scales[s] = fit_scale_symmetric(16, 32, x + 16 * s, L + 16 * s);
      if (std::fabs(scales[s]) > max_abs_scale) {
        max_abs_scale = std::fabs(scales[s]);
        max_scale = scales[s];
      }
    }
    if (max_abs_scale < kGroupMaxEps) {  // an all-zero block
      std::memset(&b, 0, sizeof(b));
      store_block(b, dst, i);
      continue;
    }
    // The sub-block scale of largest magnitude becomes -128 (its sign flipped, as in the fit).
    const float iscale = -128.f / max_scale;
    b.d = f32_to_fp16(1 / iscale);
    for (int s = 0; s < kQK_K / 16; ++s) {
      b.scales[s] = static_cast<int8_t>(std::min(127, nearest_int(iscale * scales[s])));
    }
    for (int s = 0; s < kQK_K / 16; ++s) {
      const float d = fp16_to_f32(b.d) * b.scales[s];
      if (d == 0.0f) continue;  // keeps the levels of the fit
      for (int e = 0; e < 16; ++e) {
        L[16 * s + e] = static_cast<int8_t>(std::clamp(nearest_int(x[16 * s + e] / d), -32, 31) + 32);
      }
    }
    for (int half = 0; half < 2; ++half) {
      const int8_t* Lh = L + 128 * half;
      uint8_t* ql = b.ql + 64 * half;
      uint8_t* qh = b.qh + 32 * half;
      for (int l = 0; l < 32; ++l) {
        const int q[4] = {Lh[l], Lh[l + 32], Lh[l + 64], Lh[l + 96]};
        ql[l] = static_cast<uint8_t>((q[0] & 0xF) | ((q[2] & 0xF) << 4));
        ql[l + 32] = static_cast<uint8_t>((q[1] & 0xF) | ((q[3] & 0xF) << 4));
        qh[l] = static_cast<uint8_t>((q[0] >> 4) | ((q[1] >> 4) << 2) | ((q[2] >> 4) << 4) | ((q[3] >> 4) << 6));
      }
    }
    store_block(b, dst, i);
  }
}

}  // namespace archscope::reference
