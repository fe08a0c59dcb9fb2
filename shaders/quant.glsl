// Reading rows of ggml-typed data (weights, KV caches) and dequantizing them to f32, 32
// elements at a time. Block layouts are ggml's (llama.cpp ggml/src/ggml-common.h):
//
//   q8_0    34 bytes / 32:  f16 d, int8 q[32]                     x = d * q
//   q4_0    18 bytes / 32:  f16 d, u8 qs[16] (low nibbles 0-15, high 16-31)  x = d * (q - 8)
//   q4_1    20 bytes / 32:  f16 d, f16 m, u8 qs[16] (as q4_0)     x = d * q + m
//   q5_0    22 bytes / 32:  f16 d, u8 qh[4] (bit j: fifth bit of element j), u8 qs[16]
//                                                                 x = d * (q - 16)
//   q5_1    24 bytes / 32:  f16 d, f16 m, u8 qh[4], u8 qs[16]     x = d * q + m
//   mxfp4   17 bytes / 32:  u8 e (e8m0), u8 qs[16] (as q4_0)      x = 2^(e-128) * fp4x2[q]
//   iq4_nl  18 bytes / 32:  f16 d, u8 qs[16] (as q4_0)            x = d * iq4nl[q]
//   q2_K    84 bytes / 256: u8 scales[16] (low nibble scale, high min, per 16), u8 qs[64]
//                           (element 128 h + 32 r + l: bits 2r of qs[32 h + l]), f16 d, f16 dmin
//                                                                 x = d*sc * q - dmin*m
//   q3_K   110 bytes / 256: u8 hmask[32] (element t: bit t / 32 of hmask[t % 32]), u8 qs[64]
//                           (as q2_K), u8 scales[12] (6-bit per 16: low 4 in nibble s / 8 of
//                           byte s % 8, high 2 in bits 2 (s / 4) of byte 8 + s % 4), f16 d
//                                                                 x = d * (sc - 32) * (q - 4 * !hbit)
//   q4_K   144 bytes / 256: f16 d, f16 dmin, u8 scales[12] (6-bit scale and min per 32),
//                           u8 qs[128] (64 elements per 32 bytes: low nibbles, then high)
//                                                                 x = d*sc * q - dmin*m
//   q5_K   176 bytes / 256: as q4_K plus u8 qh[32] (bit j of qh[l] is the fifth bit of
//                           element 32 j + l) before qs
//   q6_K   210 bytes / 256: u8 ql[128], u8 qh[64], int8 scales[16] (one per 16), f16 d
//                                                                 x = d * sc * (q - 32)
//   iq4_xs 136 bytes / 256: f16 d, u16 scales_h (bits 2s: high 2 bits of scale s), u8
//                           scales_l[4] (nibble s % 2 of byte s / 2: low 4), u8 qs[128]
//                           (16 bytes per 32, as q4_0)
//                                                                 x = d * (sc - 32) * iq4nl[q]
//
// fp4x2 (mxfp4's e2m1 values doubled) and iq4nl are tables of 16 signed levels (ggml's
// kvalues_mxfp4, kvalues_iq4nl), kept as 16 bytes in four words (table_level).
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

// The level tables, 16 signed bytes little-endian in four words, picked by code c (0..15)
// with a vector index and a sign-extending extract: no memory, no divergent table reads.
const uvec4 KVALUES_MXFP4 = uvec4(0x03020100u, 0x0C080604u, 0xFDFEFF00u, 0xF4F8FAFCu);
const uvec4 KVALUES_IQ4NL = uvec4(0xBFAD9881u, 0xF6EADDCFu, 0x26190D01u, 0x71594535u);
int table_level(uvec4 table, uint c) { return bitfieldExtract(int(table[c >> 2]), int(8u * (c & 3u)), 8); }
// The levels of the four nibbles at bit `shift` of each byte of w.
vec4 table_levels4(uvec4 table, uint w, uint shift) {
  w >>= shift;
  return vec4(table_level(table, w & 15u), table_level(table, (w >> 8) & 15u), table_level(table, (w >> 16) & 15u),
              table_level(table, (w >> 24) & 15u));
}

// ggml's e8m0 scale halved, 2^(e - 128), built from its bits (e 0 and 1: subnormals).
float e8m0_half(uint e) { return uintBitsToFloat(e < 2u ? 0x00200000u << e : (e - 1u) << 23); }

// Scale s (0..15) of a q3_K super-block, 6 bits, 32 meaning 0. `scales`: byte offset of the 12 bytes.
int q3_k_scale(uint scales, uint s) {
  return int(((byte_at(scales + (s & 7u)) >> (4u * (s >> 3))) & 15u) |
             (((byte_at(scales + 8u + (s & 3u)) >> (2u * (s >> 2))) & 3u) << 4));
}

// Scale s (0..7) of an iq4_xs super-block at byte `block`, 6 bits, 32 meaning 0.
int iq4_xs_scale(uint block, uint s) {
  const uint high = (word_at(block) >> (16u + 2u * s)) & 3u;
  return int(((byte_at(block + 4u + (s >> 1)) >> (4u * (s & 1u))) & 15u) | (high << 4));
}

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
  } else if (QUANT_TYPE == TYPE_Q4_1 || QUANT_TYPE == TYPE_Q5_0 || QUANT_TYPE == TYPE_Q5_1) {
    // The fifth bits (q5_*) of elements 0..31 are bits 0..31 of the word qh.
    const uint size = QUANT_TYPE == TYPE_Q4_1 ? 20u : QUANT_TYPE == TYPE_Q5_0 ? 22u : 24u;
    const uint block = row + size * (e >> 5);
    const bool has_min = QUANT_TYPE != TYPE_Q5_0, five = QUANT_TYPE != TYPE_Q4_1;
    const float d = f16_at(block), m = has_min ? f16_at(block + 2u) : 0.0;
    const uint qh = five ? word_at(block + (has_min ? 4u : 2u)) : 0u;
    const uint qs = block + size - 16u;
    for (uint i = 0u; i < 4u; ++i) {
      const uint w = word_at(qs + 4u * i);
      for (uint j = 0u; j < 4u; ++j) {
        const uint l = 4u * i + j;
        uint q0 = (w >> (8u * j)) & 15u, q1 = (w >> (8u * j + 4u)) & 15u;
        if (five) {
          q0 |= ((qh >> l) & 1u) << 4;
          q1 |= ((qh >> (l + 16u)) & 1u) << 4;
        }
        if (has_min) {
          v[l] = float(q0) * d + m;
          v[l + 16u] = float(q1) * d + m;
        } else {
          v[l] = float(int(q0) - 16) * d;
          v[l + 16u] = float(int(q1) - 16) * d;
        }
      }
    }
  } else if (QUANT_TYPE == TYPE_MXFP4 || QUANT_TYPE == TYPE_IQ4_NL) {
    const bool fp4 = QUANT_TYPE == TYPE_MXFP4;
    const uint block = row + (fp4 ? 17u : 18u) * (e >> 5);
    const float d = fp4 ? e8m0_half(byte_at(block)) : f16_at(block);
    const uint qs = block + (fp4 ? 1u : 2u);
    for (uint i = 0u; i < 4u; ++i) {
      const uint w = word_at(qs + 4u * i);
      // (Not a table variable chosen by fp4: a select between constant vectors on the
      // specialization constant is an OpSpecConstantOp Select, which lavapipe got wrong.)
      vec4 lo, hi;
      if (fp4) {
        lo = table_levels4(KVALUES_MXFP4, w, 0u);
        hi = table_levels4(KVALUES_MXFP4, w, 4u);
      } else {
        lo = table_levels4(KVALUES_IQ4NL, w, 0u);
        hi = table_levels4(KVALUES_IQ4NL, w, 4u);
      }
      for (uint j = 0u; j < 4u; ++j) {
        v[4u * i + j] = d * lo[j];
        v[16u + 4u * i + j] = d * hi[j];
      }
    }
  } else if (QUANT_TYPE == TYPE_IQ4_XS) {
    // Unit u: sub-block u, its 16 bytes of qs, its 6-bit scale.
    const uint block = row + 136u * (e >> 8), u = (e >> 5) & 7u;
    const float dl = f16_at(block) * float(iq4_xs_scale(block, u) - 32);
    const uint qs = block + 8u + 16u * u;
    for (uint i = 0u; i < 4u; ++i) {
      const uint w = word_at(qs + 4u * i);
      const vec4 lo = table_levels4(KVALUES_IQ4NL, w, 0u), hi = table_levels4(KVALUES_IQ4NL, w, 4u);
      for (uint j = 0u; j < 4u; ++j) {
        v[4u * i + j] = dl * lo[j];
        v[16u + 4u * i + j] = dl * hi[j];
      }
    }
  } else if (QUANT_TYPE == TYPE_Q2_K || QUANT_TYPE == TYPE_Q3_K) {
    // Unit u = 4 h + r: bits 2r of the 32 bytes qs[32 h ..]; sub-blocks 2u (first 16) and
    // 2u + 1. q3_K: the third bit is bit u of hmask[l], 4 off where it is clear.
    const bool three = QUANT_TYPE == TYPE_Q3_K;
    const uint block = row + (three ? 110u : 84u) * (e >> 8);
    const uint u = (e >> 5) & 7u, h = u >> 2, r = u & 3u;
    const uint qs = block + (three ? 32u : 16u) + 32u * h;
    float d0, d1, m0 = 0.0, m1 = 0.0;
    if (three) {
      const float d = f16_at(block + 108u);
      d0 = d * float(q3_k_scale(block + 96u, 2u * u) - 32);
      d1 = d * float(q3_k_scale(block + 96u, 2u * u + 1u) - 32);
    } else {
      const float d = f16_at(block + 80u), dmin = f16_at(block + 82u);
      const uint sc0 = byte_at(block + 2u * u), sc1 = byte_at(block + 2u * u + 1u);
      d0 = d * float(sc0 & 15u);
      m0 = dmin * float(sc0 >> 4);
      d1 = d * float(sc1 & 15u);
      m1 = dmin * float(sc1 >> 4);
    }
    for (uint i = 0u; i < 8u; ++i) {
      const uint w = word_at(qs + 4u * i) >> (2u * r);
      const uint hm = three ? word_at(block + 4u * i) >> u : 0u;
      for (uint j = 0u; j < 4u; ++j) {
        const int q = int((w >> (8u * j)) & 3u);
        if (three) {
          v[4u * i + j] = (i < 4u ? d0 : d1) * float(q - 4 + 4 * int((hm >> (8u * j)) & 1u));
        } else {
          v[4u * i + j] = (i < 4u ? d0 : d1) * float(q) - (i < 4u ? m0 : m1);
        }
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
  } else if (QUANT_TYPE == TYPE_Q4_1 || QUANT_TYPE == TYPE_Q5_0 || QUANT_TYPE == TYPE_Q5_1) {
    const uint size = QUANT_TYPE == TYPE_Q4_1 ? 20u : QUANT_TYPE == TYPE_Q5_0 ? 22u : 24u;
    const uint block = row + size * (e >> 5), j = e & 31u;
    const bool has_min = QUANT_TYPE != TYPE_Q5_0;
    const uint w = word_at(block + size - 16u + (j & 15u)) >> (j < 16u ? 0u : 4u);
    vec4 q = vec4(w & 15u, (w >> 8) & 15u, (w >> 16) & 15u, (w >> 24) & 15u);
    if (QUANT_TYPE != TYPE_Q4_1) {
      const uint h = word_at(block + (has_min ? 4u : 2u)) >> j;
      q += 16.0 * vec4(h & 1u, (h >> 1) & 1u, (h >> 2) & 1u, (h >> 3) & 1u);
    }
    v = has_min ? q * f16_at(block) + f16_at(block + 2u) : (q - 16.0) * f16_at(block);
  } else if (QUANT_TYPE == TYPE_MXFP4) {
    const uint block = row + 17u * (e >> 5), j = e & 31u;
    v = e8m0_half(byte_at(block)) * table_levels4(KVALUES_MXFP4, word_at(block + 1u + (j & 15u)), j < 16u ? 0u : 4u);
  } else if (QUANT_TYPE == TYPE_IQ4_NL) {
    const uint block = row + 18u * (e >> 5), j = e & 31u;
    v = f16_at(block) * table_levels4(KVALUES_IQ4NL, word_at(block + 2u + (j & 15u)), j < 16u ? 0u : 4u);
  } else if (QUANT_TYPE == TYPE_IQ4_XS) {
    const uint block = row + 136u * (e >> 8), u = (e >> 5) & 7u, j = e & 31u;
    const float dl = f16_at(block) * float(iq4_xs_scale(block, u) - 32);
    v = dl * table_levels4(KVALUES_IQ4NL, word_at(block + 8u + 16u * u + (j & 15u)), j < 16u ? 0u : 4u);
  } else if (QUANT_TYPE == TYPE_Q2_K) {
    const uint block = row + 84u * (e >> 8);
    const uint u = (e >> 5) & 7u, l = e & 31u, s = 2u * u + (l >> 4);
    const uint w = word_at(block + 16u + 32u * (u >> 2) + l) >> (2u * (u & 3u));
    const uint sc = byte_at(block + s);
    const vec4 q = vec4(w & 3u, (w >> 8) & 3u, (w >> 16) & 3u, (w >> 24) & 3u);
    v = f16_at(block + 80u) * float(sc & 15u) * q - f16_at(block + 82u) * float(sc >> 4);
  } else if (QUANT_TYPE == TYPE_Q3_K) {
    const uint block = row + 110u * (e >> 8);
    const uint u = (e >> 5) & 7u, l = e & 31u, s = 2u * u + (l >> 4);
    const uint w = word_at(block + 32u + 32u * (u >> 2) + l) >> (2u * (u & 3u));
    const uint hm = word_at(block + l) >> u;
    const ivec4 q = ivec4(w & 3u, (w >> 8) & 3u, (w >> 16) & 3u, (w >> 24) & 3u) - 4 +
                    4 * ivec4(hm & 1u, (hm >> 8) & 1u, (hm >> 16) & 1u, (hm >> 24) & 1u);
    v = f16_at(block + 108u) * float(q3_k_scale(block + 96u, s) - 32) * vec4(q);
  } else if (is_grid_iquant()) {
    v = iq_load4(row, e);
  }
  return v;
}
