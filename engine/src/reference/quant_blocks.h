// The block layouts of ggml's quantized types (ggml-common.h), byte for byte, and the
// per-type row converters the reference ops dispatch to. A block is copied out of the
// weight bytes with memcpy before use, so weights need no alignment.
//
// Every layout stores fp16 scales little-endian, as GGUF files do.
#pragma once

#include <cstdint>
#include <cstring>

namespace archscope::reference {

inline constexpr int kQK8_0 = 32;
inline constexpr int kQK4_0 = 32;
inline constexpr int kQK_K = 256;  // k-quant super-block

// x[i] = d * qs[i]
struct BlockQ8_0 {
  uint16_t d;          // fp16 scale
  int8_t qs[kQK8_0];
};
static_assert(sizeof(BlockQ8_0) == 34);

// x[j] = d * ((qs[j] & 0xF) - 8), x[j + 16] = d * ((qs[j] >> 4) - 8), j < 16
struct BlockQ4_0 {
  uint16_t d;               // fp16 scale
  uint8_t qs[kQK4_0 / 2];  // low nibbles: elements 0..15, high nibbles: 16..31
};
static_assert(sizeof(BlockQ4_0) == 18);

// Eight sub-blocks of 32: x = d * sc[s] * q - dmin * m[s], q in 0..15. The 6-bit sc[s] and
// m[s] are packed into `scales` (see unpack_scale_min_k4). Each 32 bytes of qs hold two
// sub-blocks: low nibbles the first, high nibbles the second.
struct BlockQ4_K {
  uint16_t d;     // fp16 super-block scale of the sub-block scales
  uint16_t dmin;  // fp16 super-block scale of the sub-block mins
  uint8_t scales[12];
  uint8_t qs[kQK_K / 2];
};
static_assert(sizeof(BlockQ4_K) == 144);

// As Q4_K with q in 0..31: the fifth bit of element l of sub-block s is bit s of qh[l].
struct BlockQ5_K {
  uint16_t d;
  uint16_t dmin;
  uint8_t scales[12];
  uint8_t qh[kQK_K / 8];
  uint8_t qs[kQK_K / 2];
};
static_assert(sizeof(BlockQ5_K) == 176);

// Sixteen sub-blocks of 16: x = d * scales[s] * (q - 32), q in 0..63 from 4 low bits (ql)
// and 2 high bits (qh); see dequantize_row_q6_K for the interleaving.
struct BlockQ6_K {
  uint8_t ql[kQK_K / 2];
  uint8_t qh[kQK_K / 4];
  int8_t scales[kQK_K / 16];
  uint16_t d;  // fp16 super-block scale
};
static_assert(sizeof(BlockQ6_K) == 210);

// Sub-block j's 6-bit scale and min from the 12 packed bytes of a Q4_K / Q5_K block:
// j < 4: low 6 bits of bytes j and j + 4; j >= 4: a nibble of byte j + 4 for the low
// bits and the top 2 bits of bytes j - 4 (scale) and j (min) for the high bits.
inline void unpack_scale_min_k4(int j, const uint8_t* q, uint8_t* scale, uint8_t* min) {
  if (j < 4) {
    *scale = q[j] & 63;
    *min = q[j + 4] & 63;
  } else {
    *scale = static_cast<uint8_t>((q[j + 4] & 0xF) | ((q[j - 4] >> 6) << 4));
    *min = static_cast<uint8_t>((q[j + 4] >> 4) | ((q[j] >> 6) << 4));
  }
}

// x[j] = d * q[j] + m, q in 0..15 (nibbles laid out as Q4_0's).
struct BlockQ4_1 {
  uint16_t d, m;  // fp16 scale and min
  uint8_t qs[16];
};
static_assert(sizeof(BlockQ4_1) == 20);

// x[j] = d * (q[j] - 16), q in 0..31: low 4 bits as Q4_0's nibbles, bit j of qh the fifth bit of q[j].
struct BlockQ5_0 {
  uint16_t d;
  uint8_t qh[4];  // a little-endian uint32
  uint8_t qs[16];
};
static_assert(sizeof(BlockQ5_0) == 22);

// x[j] = d * q[j] + m, q in 0..31, bits as Q5_0's.
struct BlockQ5_1 {
  uint16_t d, m;
  uint8_t qh[4];
  uint8_t qs[16];
};
static_assert(sizeof(BlockQ5_1) == 24);

// x = e8m0(e) / 2 * kvalues_mxfp4[q]: an fp4 (e2m1) code per element (nibbles as Q4_0's),
// whose table holds the e2m1 values doubled (hence the half), and one power-of-two scale
// per 32 (e8m0: 2^(e - 127)). 17 bytes: rows can start at odd offsets.
struct BlockMxfp4 {
  uint8_t e;
  uint8_t qs[16];
};
static_assert(sizeof(BlockMxfp4) == 17);

// Sixteen sub-blocks of 16: x = d * (scales[s] & 15) * q - dmin * (scales[s] >> 4), q in 0..3.
// Element 128 h + 32 r + l (l < 32) is bits 2r..2r+1 of qs[32 h + l], in sub-block 8 h + 2 r + l / 16.
struct BlockQ2_K {
  uint8_t scales[kQK_K / 16];  // low nibble: scale, high nibble: min
  uint8_t qs[kQK_K / 4];
  uint16_t d, dmin;  // fp16 scales of the sub-block scales and mins
};
static_assert(sizeof(BlockQ2_K) == 84);

// Sixteen sub-blocks of 16: x = d * (sc[s] - 32) * (q - (hmask bit ? 0 : 4)), q in 0..3 from
// qs (laid out as Q2_K's), the hmask bit of element e bit e / 32 of hmask[e % 32]. The 6-bit
// sc[s] are packed into 12 bytes (see q3_k_scale): low 4 bits in nibble s / 8 of byte s % 8,
// high 2 bits in bits 2 (s / 4) of byte 8 + s % 4.
struct BlockQ3_K {
  uint8_t hmask[kQK_K / 8];
  uint8_t qs[kQK_K / 4];
  uint8_t scales[12];
  uint16_t d;  // fp16 super-block scale
};
static_assert(sizeof(BlockQ3_K) == 110);

// Sub-block s's 6-bit scale (0..63, 32 meaning 0) from the 12 packed bytes of a Q3_K block.
inline int q3_k_scale(int s, const uint8_t* scales) {
  const int low = (scales[s % 8] >> (4 * (s / 8))) & 0xF;
  const int high = (scales[8 + s % 4] >> (2 * (s / 4))) & 3;
  return low | (high << 4);
}

// x = d * kvalues_iq4nl[q]: 16 non-uniform levels, nibbles as Q4_0's.
struct BlockIQ4_NL {
  uint16_t d;
  uint8_t qs[16];
};
static_assert(sizeof(BlockIQ4_NL) == 18);

// Eight IQ4_NL-style sub-blocks of 32: x = d * (ls[s] - 32) * kvalues_iq4nl[q]. The 6-bit
// ls[s] are split: low 4 bits in nibble s % 2 of scales_l[s / 2], high 2 bits in bits 2s..2s+1
// of scales_h. qs holds 16 bytes per sub-block, nibbles as Q4_0's.
struct BlockIQ4_XS {
  uint16_t d;  // fp16 super-block scale
  uint16_t scales_h;
  uint8_t scales_l[kQK_K / 64];
  uint8_t qs[kQK_K / 2];
};
static_assert(sizeof(BlockIQ4_XS) == 136);

// Sub-block s's 6-bit scale (0..63, 32 meaning 0) of an IQ4_XS block.
inline int iq4_xs_scale(int s, const BlockIQ4_XS& b) {
  return ((b.scales_l[s / 2] >> (4 * (s % 2))) & 0xF) | (((b.scales_h >> (2 * s)) & 3) << 4);
}

// The 16 levels of IQ4_NL and IQ4_XS, and the e2m1 values (doubled) of MXFP4 (ggml-common.h).
inline constexpr int8_t kValuesIQ4NL[16] = {-127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113};
inline constexpr int8_t kValuesMxfp4[16] = {0, 1, 2, 3, 4, 6, 8, 12, 0, -1, -2, -3, -4, -6, -8, -12};

// Round to nearest, ties to even, as ggml's nearest_int computes it: add 1.5 * 2^23 and
// read the low mantissa bits. Equal to rint for |x| < 2^22; beyond that, and for NaN or
// inf, it gives ggml's (meaningless but defined) value rather than undefined behaviour.
inline int nearest_int(float x) {
  const float shifted = x + 12582912.f;
  int32_t bits;
  std::memcpy(&bits, &shifted, sizeof(bits));
  return (bits & 0x007fffff) - 0x00400000;
}

// The i-quants of 1 to 3 bits: groups of 8 (or 4) elements are indexes into fixed grids
// of sign-free points (iq_grids.h), with signs and scales beside them. The bit layouts are
// spelled out at each type's dequantize_row_* in iq_quants.cpp.
//
// Per 32: 4 index bytes (256 points), then a word of 4 x 7 sign bits and a 4-bit scale.
struct BlockIQ2_XXS {
  uint16_t d;
  uint16_t qs[kQK_K / 8];
};
static_assert(sizeof(BlockIQ2_XXS) == 66);

// Per 8: a word of a 9-bit index (512 points) and 7 sign bits; a 4-bit scale per 16.
struct BlockIQ2_XS {
  uint16_t d;
  uint16_t qs[kQK_K / 8];
  uint8_t scales[kQK_K / 32];
};
static_assert(sizeof(BlockIQ2_XS) == 74);

// Per 8: an index byte, 2 more index bits in qh (1024 points), 8 sign bits (qs[32..63]);
// a 4-bit scale per 16.
struct BlockIQ2_S {
  uint16_t d;
  uint8_t qs[kQK_K / 4];
  uint8_t qh[kQK_K / 32];
  uint8_t scales[kQK_K / 32];
};
static_assert(sizeof(BlockIQ2_S) == 82);

// Per 4: an index byte (256 points); per 32 (qs[64..95]) a word of 4 x 7 sign bits and a
// 4-bit scale.
struct BlockIQ3_XXS {
  uint16_t d;
  uint8_t qs[3 * kQK_K / 8];
};
static_assert(sizeof(BlockIQ3_XXS) == 98);

// Per 4: an index byte and a ninth bit in qh (512 points); 8 sign bits per 8; a 4-bit scale
// per 32.
struct BlockIQ3_S {
  uint16_t d;
  uint8_t qs[kQK_K / 4];
  uint8_t qh[kQK_K / 32];
  uint8_t signs[kQK_K / 8];
  uint8_t scales[kQK_K / 64];
};
static_assert(sizeof(BlockIQ3_S) == 110);

// Per 8: an index byte; per 32 a qh word of 4 x 3 more index bits (2048 points), a 3-bit
// scale and the delta's sign.
struct BlockIQ1_S {
  uint16_t d;
  uint8_t qs[kQK_K / 8];
  uint16_t qh[kQK_K / 32];
};
static_assert(sizeof(BlockIQ1_S) == 50);

// Per 8: an index byte and a qh nibble (3 more index bits, the delta's sign); a 3-bit scale
// per 16. No field for the super-block scale: its fp16 bits are the top nibbles of the four
// scales words.
struct BlockIQ1_M {
  uint8_t qs[kQK_K / 8];
  uint8_t qh[kQK_K / 16];
  uint8_t scales[kQK_K / 32];
};
static_assert(sizeof(BlockIQ1_M) == 56);

// Row converters, n a multiple of the block size (the dispatchers in quants.cpp check).
// Quantizers follow ggml_quantize_chunk without an importance matrix; where ggml requires
// one (iq2_xxs, iq2_xs, iq1_s) they use uniform importance (all ones), as a caller of ggml
// with no imatrix data would have to.
void dequantize_row_q8_0(const uint8_t* src, float* dst, int64_t n);
void quantize_row_q8_0(const float* src, uint8_t* dst, int64_t n);
void dequantize_row_q4_0(const uint8_t* src, float* dst, int64_t n);
void quantize_row_q4_0(const float* src, uint8_t* dst, int64_t n);
void dequantize_row_q4_1(const uint8_t* src, float* dst, int64_t n);
void quantize_row_q4_1(const float* src, uint8_t* dst, int64_t n);
void dequantize_row_q5_0(const uint8_t* src, float* dst, int64_t n);
void quantize_row_q5_0(const float* src, uint8_t* dst, int64_t n);
void dequantize_row_q5_1(const uint8_t* src, float* dst, int64_t n);
void quantize_row_q5_1(const float* src, uint8_t* dst, int64_t n);
void dequantize_row_mxfp4(const uint8_t* src, float* dst, int64_t n);
void quantize_row_mxfp4(const float* src, uint8_t* dst, int64_t n);
void dequantize_row_q2_K(const uint8_t* src, float* dst, int64_t n);
void quantize_row_q2_K(const float* src, uint8_t* dst, int64_t n);
void dequantize_row_q3_K(const uint8_t* src, float* dst, int64_t n);
void quantize_row_q3_K(const float* src, uint8_t* dst, int64_t n);
void dequantize_row_q4_K(const uint8_t* src, float* dst, int64_t n);
void quantize_row_q4_K(const float* src, uint8_t* dst, int64_t n);
void dequantize_row_q5_K(const uint8_t* src, float* dst, int64_t n);
void quantize_row_q5_K(const float* src, uint8_t* dst, int64_t n);
void dequantize_row_q6_K(const uint8_t* src, float* dst, int64_t n);
void quantize_row_q6_K(const float* src, uint8_t* dst, int64_t n);
void dequantize_row_iq4_nl(const uint8_t* src, float* dst, int64_t n);
void quantize_row_iq4_nl(const float* src, uint8_t* dst, int64_t n);
void dequantize_row_iq4_xs(const uint8_t* src, float* dst, int64_t n);
void quantize_row_iq4_xs(const float* src, uint8_t* dst, int64_t n);
void dequantize_row_iq2_xxs(const uint8_t* src, float* dst, int64_t n);
void quantize_row_iq2_xxs(const float* src, uint8_t* dst, int64_t n);
void dequantize_row_iq2_xs(const uint8_t* src, float* dst, int64_t n);
void quantize_row_iq2_xs(const float* src, uint8_t* dst, int64_t n);
void dequantize_row_iq2_s(const uint8_t* src, float* dst, int64_t n);
void quantize_row_iq2_s(const float* src, uint8_t* dst, int64_t n);
void dequantize_row_iq3_xxs(const uint8_t* src, float* dst, int64_t n);
void quantize_row_iq3_xxs(const float* src, uint8_t* dst, int64_t n);
void dequantize_row_iq3_s(const uint8_t* src, float* dst, int64_t n);
void quantize_row_iq3_s(const float* src, uint8_t* dst, int64_t n);
void dequantize_row_iq1_s(const uint8_t* src, float* dst, int64_t n);
void quantize_row_iq1_s(const float* src, uint8_t* dst, int64_t n);
void dequantize_row_iq1_m(const uint8_t* src, float* dst, int64_t n);
void quantize_row_iq1_m(const float* src, uint8_t* dst, int64_t n);

// Blocks are read and written with memcpy: file data need not be aligned for the struct.
template <class Block>
Block load_block(const uint8_t* src, int64_t index) {
  Block b;
  std::memcpy(&b, src + index * static_cast<int64_t>(sizeof(Block)), sizeof(Block));
  return b;
}

template <class Block>
void store_block(const Block& b, uint8_t* dst, int64_t index) {
  std::memcpy(dst + index * static_cast<int64_t>(sizeof(Block)), &b, sizeof(Block));
}

}  // namespace archscope::reference
