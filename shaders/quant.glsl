// Reading rows of ggml-typed data (weights, KV caches) and dequantizing them to f32, 32
// elements at a time. Block layouts are ggml's (llama.cpp ggml/src/ggml-common.h):
//
//   q8_0  34 bytes / 32:  f16 d, int8 q[32]                       x = d * q
//   q4_0  18 bytes / 32:  f16 d, u8 qs[16] (low nibbles 0-15, high 16-31)  x = d * (q - 8)
//   q4_K 144 bytes / 256: f16 d, f16 dmin, u8 scales[12] (6-bit scale and min per 32),
//                         u8 qs[128] (64 elements per 32 bytes: low nibbles, then high)
//                                                                 x = d*sc * q - dmin*m
//   q5_K 176 bytes / 256: as q4_K plus u8 qh[32] (bit j of qh[l] is the fifth bit of
//                         element 32 j + l) before qs
//   q6_K 210 bytes / 256: u8 ql[128], u8 qh[64], int8 scales[16] (one per 16), f16 d
//                                                                 x = d * sc * (q - 32)
//
// The grid i-quants (quant_iq.glsl): per 8 (or 4) elements the index of a grid point of
// magnitudes, signs beside it, 3- or 4-bit scales times an f16 d.
//   iq2_xxs  66 bytes / 256: f16 d, per 32: u8 index[4], u32 (4 x 7 sign bits, 4-bit scale)
//   iq2_xs   74 bytes / 256: f16 d, u16 qs[32] (9-bit index, 7 sign bits), u8 scales[8]
//   iq2_s    82 bytes / 256: f16 d, u8 index[32], u8 signs[32], u8 qh[8] (+2 index bits),
//                            u8 scales[8]                         x = d * (0.5 + s) / 4 * g
//   iq3_xxs  98 bytes / 256: f16 d, u8 index[64] (per 4), per 32 a u32 of signs and scale
//                                                                 x = d * (0.5 + s) / 2 * g
//   iq3_s   110 bytes / 256: f16 d, u8 index[64], u8 qh[8] (+1 index bit), u8 signs[32],
//                            u8 scales[4]                         x = d * (1 + 2 s) * g
//   iq1_s    50 bytes / 256: f16 d, u8 index[32], u16 qh[8] (+3 index bits each, 3-bit
//                            scale, delta sign)                   x = d * (2 s + 1) * (g +- 1/8)
//   iq1_m    56 bytes / 256: u8 index[32], u8 qh[16] (+3 index bits, delta sign per 8),
//                            u16 scales[4] (3-bit scale per 16; f16 d in the top nibbles)
//
// The including shader declares the data as 32-bit words and names it and its type:
//   layout(binding = 1) readonly buffer Weights { uint weights[]; };
//   layout(constant_id = 0) const uint QUANT_TYPE = 0;   // a ggml type number
//   #define QUANT_WORDS weights
//   #include "quant.glsl"
// Plain 32-bit words need no 8- or 16-bit storage feature. A read may touch the word after
// a row's last byte, so the backend pads every binding (vulkan::kBindingSlack). The
// i-quants' grids are binding 15, which every dispatch binds (quant_iq.glsl).

// ggml's type numbers (enum ggml_type).
const uint TYPE_F32 = 0u, TYPE_F16 = 1u, TYPE_Q4_0 = 2u, TYPE_Q4_1 = 3u, TYPE_Q5_0 = 6u, TYPE_Q5_1 = 7u;
const uint TYPE_Q8_0 = 8u, TYPE_Q2_K = 10u, TYPE_Q3_K = 11u, TYPE_Q4_K = 12u, TYPE_Q5_K = 13u, TYPE_Q6_K = 14u;
const uint TYPE_IQ2_XXS = 16u, TYPE_IQ2_XS = 17u, TYPE_IQ3_XXS = 18u, TYPE_IQ1_S = 19u, TYPE_IQ4_NL = 20u;
const uint TYPE_IQ3_S = 21u, TYPE_IQ2_S = 22u, TYPE_IQ4_XS = 23u, TYPE_IQ1_M = 29u, TYPE_BF16 = 30u;
const uint TYPE_MXFP4 = 39u;
const uint TYPE_I32 = 26u;  // index tables, only gathered (get_rows.comp)

// The 4 bytes starting at byte offset b, little-endian. Offsets are even for every type but
// MXFP4 (17-byte blocks), whose odd offsets take the general path.
uint word_at(uint b) {
  const uint i = b >> 2, shift = (b & 3u) * 8u;
  if (shift == 0u) return QUANT_WORDS[i];
  return (QUANT_WORDS[i] >> shift) | (QUANT_WORDS[i + 1u] << (32u - shift));
}
uint byte_at(uint b) { return (QUANT_WORDS[b >> 2] >> ((b & 3u) * 8u)) & 0xffu; }
float f16_at(uint b) { return unpackHalf2x16(QUANT_WORDS[b >> 2] >> ((b & 2u) * 8u)).x; }  // b even

// Scale and min j (0..7) of a q4_K/q5_K super-block, 6 bits each (ggml's get_scale_min_k4).
// `scales` is the byte offset of the 12 packed bytes.
vec2 k_scale_min(uint scales, uint j) {
  if (j < 4u) return vec2(byte_at(scales + j) & 63u, byte_at(scales + j + 4u) & 63u);
  const uint lo = byte_at(scales + j + 4u);
  return vec2((lo & 15u) | ((byte_at(scales + j - 4u) >> 6) << 4), (lo >> 4) | ((byte_at(scales + j) >> 6) << 4));
}

#include "quant_iq.glsl"

// v[i] = element e + i of the row starting at byte `row`, for i < n (n <= 32); 0 for i >= n.
// For the block types e is a multiple of 32 and n is 32.
void load32(uint row, uint e, uint n, out float v[32]) {
  if (QUANT_TYPE == TYPE_F32) {
    const uint w = (row >> 2) + e;
    for (uint i = 0u; i < 32u; ++i) v[i] = i < n ? uintBitsToFloat(QUANT_WORDS[w + i]) : 0.0;
  } else if (QUANT_TYPE == TYPE_F16 || QUANT_TYPE == TYPE_BF16) {
    const uint b = row + 2u * e;
    for (uint i = 0u; i < 16u; ++i) {
      vec2 pair = vec2(0.0);
      if (2u * i < n) {
        const uint w = word_at(b + 4u * i);
        pair = QUANT_TYPE == TYPE_F16 ? unpackHalf2x16(w) : vec2(uintBitsToFloat(w << 16), uintBitsToFloat(w & 0xffff0000u));
      }
      v[2u * i] = pair.x;
      v[2u * i + 1u] = 2u * i + 1u < n ? pair.y : 0.0;
    }
  } else if (QUANT_TYPE == TYPE_Q8_0) {
    const uint block = row + 34u * (e >> 5);
    const float d = f16_at(block);
    for (uint i = 0u; i < 8u; ++i) {
      const int w = int(word_at(block + 2u + 4u * i));
      for (uint j = 0u; j < 4u; ++j) v[4u * i + j] = float(bitfieldExtract(w, int(8u * j), 8)) * d;
    }
  } else if (QUANT_TYPE == TYPE_Q4_0) {
    const uint block = row + 18u * (e >> 5);
    const float d = f16_at(block);
    for (uint i = 0u; i < 4u; ++i) {
      const uint w = word_at(block + 2u + 4u * i);
      for (uint j = 0u; j < 4u; ++j) {
        const uint q = w >> (8u * j);
        v[4u * i + j] = float(int(q & 15u) - 8) * d;
        v[16u + 4u * i + j] = float(int((q >> 4) & 15u) - 8) * d;
      }
    }
  } else if (QUANT_TYPE == TYPE_Q4_K || QUANT_TYPE == TYPE_Q5_K) {
    // Unit u of 32 elements: nibble (u & 1) of the 32 bytes of pair u / 2, scale and min u.
    const bool five = QUANT_TYPE == TYPE_Q5_K;
    const uint block = row + (five ? 176u : 144u) * (e >> 8);
    const uint u = (e >> 5) & 7u;
    const vec2 sm = k_scale_min(block + 4u, u);
    const float d = f16_at(block) * sm.x, m = f16_at(block + 2u) * sm.y;
    const uint qs = block + (five ? 48u : 16u) + 32u * (u >> 1), shift = 4u * (u & 1u);
    for (uint i = 0u; i < 8u; ++i) {
      const uint w = word_at(qs + 4u * i);
      const uint h = five ? word_at(block + 16u + 4u * i) : 0u;
      for (uint j = 0u; j < 4u; ++j) {
        uint q = (w >> (8u * j + shift)) & 15u;
        if (five) q += ((h >> (8u * j + u)) & 1u) << 4;
        v[4u * i + j] = d * float(q) - m;
      }
    }
  } else if (QUANT_TYPE == TYPE_Q6_K) {
    // Unit u: half n = u / 4 of the super-block, quarter k = u % 4 of it: low bits from
    // nibble k / 2 of ql[64 n + 32 (k % 2) + l], high bits 2k..2k+1 of qh[32 n + l],
    // scale 8 n + 2 k + l / 16.
    const uint block = row + 210u * (e >> 8);
    const uint u = (e >> 5) & 7u, half_ = u >> 2, k = u & 3u;
    const float d = f16_at(block + 208u);
    const uint ql = block + 64u * half_ + 32u * (k & 1u), qh = block + 128u + 32u * half_;
    const uint lo_shift = 4u * (k >> 1), hi_shift = 2u * k;
    const uint sc = block + 192u + 8u * half_ + 2u * k;
    const float d0 = d * float(bitfieldExtract(int(byte_at(sc)), 0, 8));
    const float d1 = d * float(bitfieldExtract(int(byte_at(sc + 1u)), 0, 8));
    for (uint i = 0u; i < 8u; ++i) {
      const uint lo = word_at(ql + 4u * i), hi = word_at(qh + 4u * i);
      for (uint j = 0u; j < 4u; ++j) {
        const int q = int(((lo >> (8u * j + lo_shift)) & 15u) | (((hi >> (8u * j + hi_shift)) & 3u) << 4)) - 32;
        v[4u * i + j] = (i < 4u ? d0 : d1) * float(q);
      }
    }
  } else if (is_grid_iquant()) {
    iq_load32(row, e, v);
  }
}

// Elements e .. e + 3 of the row starting at byte `row` (e a multiple of 4; elements at or
// past `cols` are 0 and not read). Four elements always lie in one 32-element unit, so the
// lanes of a subgroup that take consecutive fours read consecutive words of one block.
vec4 load4(uint row, uint e, uint cols) {
  vec4 v = vec4(0.0);
  if (QUANT_TYPE == TYPE_F32) {
    const uint w = (row >> 2) + e;
    if (e + 4u <= cols) return vec4(uintBitsToFloat(QUANT_WORDS[w]), uintBitsToFloat(QUANT_WORDS[w + 1u]),
                                    uintBitsToFloat(QUANT_WORDS[w + 2u]), uintBitsToFloat(QUANT_WORDS[w + 3u]));
    for (uint i = 0u; i < 4u && e + i < cols; ++i) v[i] = uintBitsToFloat(QUANT_WORDS[w + i]);
  } else if (QUANT_TYPE == TYPE_F16 || QUANT_TYPE == TYPE_BF16) {
    const uint b = row + 2u * e;
    const uint lo = word_at(b), hi = e + 2u < cols ? word_at(b + 4u) : 0u;
    v = QUANT_TYPE == TYPE_F16 ? vec4(unpackHalf2x16(lo), unpackHalf2x16(hi))
                               : vec4(uintBitsToFloat(lo << 16), uintBitsToFloat(lo & 0xffff0000u),
                                      uintBitsToFloat(hi << 16), uintBitsToFloat(hi & 0xffff0000u));
    if (e + 4u > cols) {
      for (uint i = 1u; i < 4u; ++i) v[i] = e + i < cols ? v[i] : 0.0;
    }
  } else if (QUANT_TYPE == TYPE_Q8_0) {
    const uint block = row + 34u * (e >> 5);
    const int w = int(word_at(block + 2u + (e & 31u)));
    v = vec4(bitfieldExtract(w, 0, 8), bitfieldExtract(w, 8, 8), bitfieldExtract(w, 16, 8), bitfieldExtract(w, 24, 8)) *
        f16_at(block);
  } else if (QUANT_TYPE == TYPE_Q4_0) {
    const uint block = row + 18u * (e >> 5), j = e & 31u;
    const uint w = word_at(block + 2u + (j & 15u)) >> (j < 16u ? 0u : 4u);
    v = (vec4(w & 15u, (w >> 8) & 15u, (w >> 16) & 15u, (w >> 24) & 15u) - 8.0) * f16_at(block);
  } else if (QUANT_TYPE == TYPE_Q4_K || QUANT_TYPE == TYPE_Q5_K) {
    const bool five = QUANT_TYPE == TYPE_Q5_K;
    const uint block = row + (five ? 176u : 144u) * (e >> 8);
    const uint u = (e >> 5) & 7u, l = e & 31u;
    const vec2 sm = k_scale_min(block + 4u, u);
    const uint w = word_at(block + (five ? 48u : 16u) + 32u * (u >> 1) + l) >> (4u * (u & 1u));
    vec4 q = vec4(w & 15u, (w >> 8) & 15u, (w >> 16) & 15u, (w >> 24) & 15u);
    if (five) {
      const uint h = word_at(block + 16u + l) >> u;
      q += 16.0 * vec4(h & 1u, (h >> 8) & 1u, (h >> 16) & 1u, (h >> 24) & 1u);
    }
    v = f16_at(block) * sm.x * q - f16_at(block + 2u) * sm.y;
  } else if (QUANT_TYPE == TYPE_Q6_K) {
    const uint block = row + 210u * (e >> 8);
    const uint u = (e >> 5) & 7u, half_ = u >> 2, k = u & 3u, l = e & 31u;
    const uint lo = word_at(block + 64u * half_ + 32u * (k & 1u) + l) >> (4u * (k >> 1));
    const uint hi = word_at(block + 128u + 32u * half_ + l) >> (2u * k);
    const ivec4 q = ivec4((lo & 15u) | ((hi & 3u) << 4), ((lo >> 8) & 15u) | (((hi >> 8) & 3u) << 4),
                          ((lo >> 16) & 15u) | (((hi >> 16) & 3u) << 4), ((lo >> 24) & 15u) | (((hi >> 24) & 3u) << 4)) - 32;
    const float scale = float(bitfieldExtract(int(byte_at(block + 192u + 8u * half_ + 2u * k + l / 16u)), 0, 8));
    v = f16_at(block + 208u) * scale * vec4(q);
  } else if (is_grid_iquant()) {
    v = iq_load4(row, e);
  }
  return v;
}
