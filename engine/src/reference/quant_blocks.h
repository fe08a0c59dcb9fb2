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

// Row converters, n a multiple of the block size (the dispatchers in quants.cpp check).
void dequantize_row_q8_0(const uint8_t* src, float* dst, int64_t n);
void dequantize_row_q4_0(const uint8_t* src, float* dst, int64_t n);
void dequantize_row_q4_K(const uint8_t* src, float* dst, int64_t n);
void dequantize_row_q5_K(const uint8_t* src, float* dst, int64_t n);
void dequantize_row_q6_K(const uint8_t* src, float* dst, int64_t n);
void quantize_row_q8_0(const float* src, uint8_t* dst, int64_t n);
void quantize_row_q4_0(const float* src, uint8_t* dst, int64_t n);
void quantize_row_q4_K(const float* src, uint8_t* dst, int64_t n);
void quantize_row_q5_K(const float* src, uint8_t* dst, int64_t n);
void quantize_row_q6_K(const float* src, uint8_t* dst, int64_t n);

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
