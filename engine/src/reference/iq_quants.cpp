// Dequantization of ggml's grid i-quants (IQ2_XXS, IQ2_XS, IQ2_S, IQ3_XXS, IQ3_S, IQ1_S,
// IQ1_M): per group of 8 (or 4) elements a grid point (iq_grids.h), signs, and a scale per
// 16 or 32 elements from a 3- or 4-bit code times the fp16 super-block scale. Arithmetic as
// ggml-quants.c's dequantize_row_iq*, operation for operation (the same products in the
// same order), so the floats agree bit for bit, NaN and inf scales included.
//
// Any bytes are a valid block: each grid index is assembled from exactly as many bits as
// its grid has entries (checked below), so no field value reads outside a grid.
#include <cstring>

#include "reference/iq_grids.h"
#include "reference/ops.h"
#include "reference/quant_blocks.h"

namespace archscope::reference {
namespace {

// Index bits per grid: 8 (iq2_xxs, iq3_xxs), 9 (iq2_xs, iq3_s: 8 + 1 high bit),
// 10 (iq2_s: 8 + 2), 11 (iq1_s, iq1_m: 8 + 3).
static_assert(kIq2xxsGrid.size() == 1u << 8 && kIq3xxsGrid.size() == 1u << 8);
static_assert(kIq2xsGrid.size() == 1u << 9 && kIq3sGrid.size() == 1u << 9);
static_assert(kIq2sGrid.size() == 1u << 10);
static_assert(kIq1sGrid.size() == 1u << 11);

uint32_t le32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;
}

float sign_of(uint32_t signs, int j) { return signs & (1u << j) ? -1.f : 1.f; }

// Eight elements db * level * sign from one grid point (iq2 types).
void write_point8(float db, uint64_t point, uint32_t signs, float* y) {
  for (int j = 0; j < 8; ++j) y[j] = db * grid_byte(point, j) * sign_of(signs, j);
}

// Two 4-element points (iq3 types): the first takes sign bits 0-3, the second 4-7.
void write_points4(float db, uint32_t first, uint32_t second, uint32_t signs, float* y) {
  for (int j = 0; j < 4; ++j) {
    y[j] = db * grid_byte(first, j) * sign_of(signs, j);
    y[j + 4] = db * grid_byte(second, j) * sign_of(signs, j + 4);
  }
}

// Eight elements dl * (level + delta), levels -1, 0, 1 (iq1 types).
void write_point_iq1(float dl, float delta, uint16_t index, float* y) {
  const uint64_t point = kIq1sGrid[index];
  for (int j = 0; j < 8; ++j) y[j] = dl * (static_cast<int8_t>(grid_byte(point, j)) + delta);
}

}  // namespace

// Per 32 elements 8 bytes: four grid indexes (bytes 0-3), then a word of four 7-bit sign
// groups (bits 0-27) and the 4-bit scale s (bits 28-31): db = d * (0.5 + s) / 4.
void dequantize_row_iq2_xxs(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const BlockIQ2_XXS b = load_block<BlockIQ2_XXS>(src, i);
    const auto* qs = reinterpret_cast<const uint8_t*>(b.qs);
    const float d = fp16_to_f32(b.d);
    float* y = dst + i * kQK_K;
    for (int ib = 0; ib < kQK_K / 32; ++ib) {
      const uint32_t indexes = le32(qs + 8 * ib), signs_scale = le32(qs + 8 * ib + 4);
      const float db = d * (0.5f + (signs_scale >> 28)) * 0.25f;
      for (int l = 0; l < 4; ++l, y += 8) {
        write_point8(db, kIq2xxsGrid[(indexes >> (8 * l)) & 255], signs_from_7_bits(signs_scale >> (7 * l)), y);
      }
    }
  }
}

// Per 8 elements a 16-bit word: grid index (bits 0-8) and 7 sign bits (9-15); a 4-bit
// scale per 16 elements (two per byte of `scales`).
void dequantize_row_iq2_xs(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const BlockIQ2_XS b = load_block<BlockIQ2_XS>(src, i);
    const float d = fp16_to_f32(b.d);
    float* y = dst + i * kQK_K;
    for (int ib = 0; ib < kQK_K / 32; ++ib) {
      const float db[2] = {d * (0.5f + (b.scales[ib] & 0xf)) * 0.25f, d * (0.5f + (b.scales[ib] >> 4)) * 0.25f};
      for (int l = 0; l < 4; ++l, y += 8) {
        const uint16_t q = b.qs[4 * ib + l];
        write_point8(db[l / 2], kIq2xsGrid[q & 511], signs_from_7_bits(q >> 9), y);
      }
    }
  }
}

// Per 8 elements: the low 8 index bits in qs[0..31], 8 explicit sign bits in qs[32..63],
// and 2 high index bits in qh (four groups per byte); 4-bit scales as iq2_xs.
void dequantize_row_iq2_s(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const BlockIQ2_S b = load_block<BlockIQ2_S>(src, i);
    const float d = fp16_to_f32(b.d);
    const uint8_t* signs = b.qs + kQK_K / 8;
    float* y = dst + i * kQK_K;
    for (int ib = 0; ib < kQK_K / 32; ++ib) {
      const float db[2] = {d * (0.5f + (b.scales[ib] & 0xf)) * 0.25f, d * (0.5f + (b.scales[ib] >> 4)) * 0.25f};
      for (int l = 0; l < 4; ++l, y += 8) {
        const int index = b.qs[4 * ib + l] | ((b.qh[ib] << (8 - 2 * l)) & 0x300);
        write_point8(db[l / 2], kIq2sGrid[index], signs[4 * ib + l], y);
      }
    }
  }
}

// Per 32 elements: eight 4-element grid indexes in qs[8 ib ..], and a word in qs[64 + 4 ib]
// of four 7-bit sign groups (one per 8 elements) and the 4-bit scale: db = d * (0.5 + s) / 2.
void dequantize_row_iq3_xxs(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const BlockIQ3_XXS b = load_block<BlockIQ3_XXS>(src, i);
    const float d = fp16_to_f32(b.d);
    float* y = dst + i * kQK_K;
    for (int ib = 0; ib < kQK_K / 32; ++ib) {
      const uint8_t* qs = b.qs + 8 * ib;
      const uint32_t signs_scale = le32(b.qs + kQK_K / 4 + 4 * ib);
      const float db = d * (0.5f + (signs_scale >> 28)) * 0.5f;
      for (int l = 0; l < 4; ++l, y += 8) {
        write_points4(db, kIq3xxsGrid[qs[2 * l]], kIq3xxsGrid[qs[2 * l + 1]], signs_from_7_bits(signs_scale >> (7 * l)),
                      y);
      }
    }
  }
}

// Per 32 elements: eight low index bytes in qs, their 9th bits in qh[ib] (bit k for point
// k), 8 explicit sign bits per 8 elements; one 4-bit scale per 32: db = d * (1 + 2 s).
void dequantize_row_iq3_s(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const BlockIQ3_S b = load_block<BlockIQ3_S>(src, i);
    const float d = fp16_to_f32(b.d);
    float* y = dst + i * kQK_K;
    for (int ib = 0; ib < kQK_K / 32; ++ib) {
      const float db = d * (1 + 2 * ((b.scales[ib / 2] >> (4 * (ib % 2))) & 0xf));
      const uint8_t* qs = b.qs + 8 * ib;
      const int qh = b.qh[ib];
      for (int l = 0; l < 4; ++l, y += 8) {
        write_points4(db, kIq3sGrid[qs[2 * l] | ((qh << (8 - 2 * l)) & 256)],
                      kIq3sGrid[qs[2 * l + 1] | ((qh << (7 - 2 * l)) & 256)], b.signs[4 * ib + l], y);
      }
    }
  }
}

// Per 32 elements: four low index bytes in qs; a 16-bit qh[ib] with the 3 high index bits
// of each point (bits 0-11), the 3-bit scale s (12-14): dl = d * (2 s + 1), and the sign
// of the delta (bit 15).
void dequantize_row_iq1_s(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const BlockIQ1_S b = load_block<BlockIQ1_S>(src, i);
    const float d = fp16_to_f32(b.d);
    float* y = dst + i * kQK_K;
    for (int ib = 0; ib < kQK_K / 32; ++ib) {
      const uint16_t qh = b.qh[ib];
      const float dl = d * (2 * ((qh >> 12) & 7) + 1);
      const float delta = qh & 0x8000 ? -kIq1Delta : kIq1Delta;
      for (int l = 0; l < 4; ++l, y += 8) {
        write_point_iq1(dl, delta, static_cast<uint16_t>(b.qs[4 * ib + l] | (((qh >> (3 * l)) & 7) << 8)), y);
      }
    }
  }
}

// Per 8 elements: the low index byte in qs and a nibble of qh (3 high index bits, and the
// delta's sign in bit 3). The 8 scale bytes, read as four 16-bit words, hold a 3-bit scale
// per 16 elements (bits 0-11 of each word) and, in their top nibbles, the fp16 super-block
// scale.
void dequantize_row_iq1_m(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n / kQK_K; ++i) {
    const BlockIQ1_M b = load_block<BlockIQ1_M>(src, i);
    uint16_t sc[4];
    std::memcpy(sc, b.scales, sizeof(sc));
    const uint16_t d16 = static_cast<uint16_t>((sc[0] >> 12) | ((sc[1] >> 8) & 0x00f0) | ((sc[2] >> 4) & 0x0f00) |
                                               (sc[3] & 0xf000));
    const float d = fp16_to_f32(d16);
    float* y = dst + i * kQK_K;
    for (int ib = 0; ib < kQK_K / 32; ++ib) {
      const float dl[2] = {d * (2 * ((sc[ib / 2] >> (6 * (ib % 2) + 0)) & 0x7) + 1),
                           d * (2 * ((sc[ib / 2] >> (6 * (ib % 2) + 3)) & 0x7) + 1)};
      for (int l = 0; l < 4; ++l, y += 8) {
        const int qh = b.qh[2 * ib + l / 2] >> (4 * (l % 2));  // this point's nibble
        const float delta = qh & 0x08 ? -kIq1Delta : kIq1Delta;
        write_point_iq1(dl[l / 2], delta, static_cast<uint16_t>(b.qs[4 * ib + l] | ((qh & 7) << 8)), y);
      }
    }
  }
}

}  // namespace archscope::reference
