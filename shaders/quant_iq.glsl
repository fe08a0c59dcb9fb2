// ggml's grid i-quants for quant.glsl (which includes this after word_at / byte_at / f16_at):
// four elements at a time, with the arithmetic of the reference path (iq_quants.cpp), whose
// comments spell out each layout. The grids are a storage buffer the backend binds for every
// shader (from the C++ tables); iq_grids.glsl, which the build generates, declares it and
// each grid's offset. Every index is assembled from exactly as many bits as its grid has
// points, so no block bytes can read outside a grid.
//
// Offsets: a block starts at an even byte (every i-quant block has an even size), so the
// fp16 scale and 16-bit fields are read within one word.

#include "iq_grids.glsl"

bool is_grid_iquant() {
  return QUANT_TYPE == TYPE_IQ2_XXS || QUANT_TYPE == TYPE_IQ2_XS || QUANT_TYPE == TYPE_IQ2_S ||
         QUANT_TYPE == TYPE_IQ3_XXS || QUANT_TYPE == TYPE_IQ3_S || QUANT_TYPE == TYPE_IQ1_S || QUANT_TYPE == TYPE_IQ1_M;
}

uint u16_at(uint b) { return (QUANT_WORDS[b >> 2] >> ((b & 2u) * 8u)) & 0xffffu; }  // b even

// The 7 stored sign bits of 8 elements plus the eighth that makes their count even
// (ggml's ksigns_iq2xs).
uint iq_signs8(uint bits7) { return bits7 | ((uint(bitCount(bits7)) & 1u) << 7); }

// Four elements of a block, read in two steps: iq_locate reads the block's bytes (which grid
// word, scale, signs), then the grid word is read and iq_values does the arithmetic.
struct IqFour {
  uint word;     // index into the type's grid
  uint shift;    // bits to drop from the grid word (iq1: two points of 16 bits per word)
  float scale;   // db (iq2, iq3) or dl (iq1)
  uint signs;    // sign bits of the four elements (iq2, iq3)
  float delta;   // +-1/8 (iq1)
};

uint iq_grid_word(uint i) {
  const uint first = QUANT_TYPE == TYPE_IQ2_XXS ? IQ2XXS_GRID : QUANT_TYPE == TYPE_IQ2_XS ? IQ2XS_GRID
                   : QUANT_TYPE == TYPE_IQ2_S ? IQ2S_GRID : QUANT_TYPE == TYPE_IQ3_XXS ? IQ3XXS_GRID
                   : QUANT_TYPE == TYPE_IQ3_S ? IQ3S_GRID : IQ1S_GRID;
  return iq_grids[first + i];
}

// Elements l .. l + 3 (l a multiple of 4) of the super-block at byte `block`. Within it,
// u = l / 32 is the 32-element unit, p8 = l / 8 the point of 8 (iq2, iq1) and h = (l / 4) & 1
// its half; l / 4 the point of 4 (iq3).
IqFour iq_locate(uint block, uint l) {
  const uint u = l >> 5, p8 = l >> 3, h = (l >> 2) & 1u;
  IqFour f;
  f.shift = 0u;
  f.delta = 0.0;
  if (QUANT_TYPE == TYPE_IQ2_XXS) {
    const uint unit = block + 2u + 8u * u;
    const uint signs_scale = word_at(unit + 4u);
    f.scale = f16_at(block) * (0.5 + float(signs_scale >> 28)) * 0.25;
    f.word = 2u * byte_at(unit + (p8 & 3u)) + h;
    f.signs = iq_signs8((signs_scale >> (7u * (p8 & 3u))) & 127u) >> (4u * h);
  } else if (QUANT_TYPE == TYPE_IQ2_XS) {
    const uint q = u16_at(block + 2u + 2u * p8);
    const uint s = (byte_at(block + 66u + u) >> (4u * ((l >> 4) & 1u))) & 15u;
    f.scale = f16_at(block) * (0.5 + float(s)) * 0.25;
    f.word = 2u * (q & 511u) + h;
    f.signs = iq_signs8(q >> 9) >> (4u * h);
  } else if (QUANT_TYPE == TYPE_IQ2_S) {
    const uint high = (byte_at(block + 66u + u) >> (2u * (p8 & 3u))) & 3u;
    const uint s = (byte_at(block + 74u + u) >> (4u * ((l >> 4) & 1u))) & 15u;
    f.scale = f16_at(block) * (0.5 + float(s)) * 0.25;
    f.word = 2u * (byte_at(block + 2u + p8) | (high << 8)) + h;
    f.signs = byte_at(block + 34u + p8) >> (4u * h);
  } else if (QUANT_TYPE == TYPE_IQ3_XXS) {
    const uint signs_scale = word_at(block + 66u + 4u * u);
    f.scale = f16_at(block) * (0.5 + float(signs_scale >> 28)) * 0.5;
    f.word = byte_at(block + 2u + (l >> 2));
    f.signs = iq_signs8((signs_scale >> (7u * (p8 & 3u))) & 127u) >> (4u * h);
  } else if (QUANT_TYPE == TYPE_IQ3_S) {
    const uint p4 = l >> 2;
    const uint s = (byte_at(block + 106u + (u >> 1)) >> (4u * (u & 1u))) & 15u;
    f.scale = f16_at(block) * float(1u + 2u * s);
    f.word = byte_at(block + 2u + p4) | (((byte_at(block + 66u + u) >> (p4 & 7u)) & 1u) << 8);
    f.signs = byte_at(block + 74u + p8) >> (4u * h);
  } else {  // TYPE_IQ1_S, TYPE_IQ1_M
    uint point, scale;
    float d;
    if (QUANT_TYPE == TYPE_IQ1_S) {
      const uint qh = u16_at(block + 34u + 2u * u);
      point = byte_at(block + 2u + p8) | (((qh >> (3u * (p8 & 3u))) & 7u) << 8);
      scale = (qh >> 12) & 7u;
      d = f16_at(block);
      f.delta = (qh & 0x8000u) != 0u ? -0.125 : 0.125;
    } else {
      // The fp16 super-block scale is the top nibbles of the four 16-bit scale words.
      const uint w0 = word_at(block + 48u), w1 = word_at(block + 52u);
      d = unpackHalf2x16(((w0 >> 12) & 0xfu) | ((w0 >> 24) & 0xf0u) | ((w1 >> 4) & 0xf00u) | ((w1 >> 16) & 0xf000u)).x;
      const uint sc = (u < 4u ? w0 : w1) >> (16u * ((u >> 1) & 1u));  // scale word u / 2
      scale = (sc >> (6u * (u & 1u) + 3u * ((l >> 4) & 1u))) & 7u;
      const uint qh = byte_at(block + 32u + (p8 >> 1)) >> (4u * (p8 & 1u));
      point = byte_at(block + p8) | ((qh & 7u) << 8);
      f.delta = (qh & 8u) != 0u ? -0.125 : 0.125;
    }
    f.scale = d * float(2u * scale + 1u);
    f.word = point >> 1;
    f.shift = 16u * (point & 1u) + 8u * h;
    f.signs = 0u;
  }
  return f;
}

// iq2, iq3: db * level * sign for the four byte levels of w; iq1: dl * (level + delta) for
// the four 2-bit levels (-1, 0, 1) in the low byte of w >> shift.
vec4 iq_values(IqFour f, uint w) {
  if (QUANT_TYPE == TYPE_IQ1_S || QUANT_TYPE == TYPE_IQ1_M) {
    const int bits = int(w >> f.shift);
    const vec4 level = vec4(bitfieldExtract(bits, 0, 2), bitfieldExtract(bits, 2, 2), bitfieldExtract(bits, 4, 2),
                            bitfieldExtract(bits, 6, 2));
    return f.scale * (level + f.delta);
  }
  const vec4 level = vec4(w & 255u, (w >> 8) & 255u, (w >> 16) & 255u, w >> 24);
  const vec4 sign = vec4(1.0) - 2.0 * vec4(f.signs & 1u, (f.signs >> 1) & 1u, (f.signs >> 2) & 1u, (f.signs >> 3) & 1u);
  return f.scale * level * sign;
}

uint iq_block_bytes() {
  return QUANT_TYPE == TYPE_IQ2_XXS ? 66u : QUANT_TYPE == TYPE_IQ2_XS ? 74u : QUANT_TYPE == TYPE_IQ2_S ? 82u
       : QUANT_TYPE == TYPE_IQ3_XXS ? 98u : QUANT_TYPE == TYPE_IQ3_S ? 110u : QUANT_TYPE == TYPE_IQ1_S ? 50u : 56u;
}

// Elements e .. e + 3 of the row at byte `row`.
vec4 iq_load4(uint row, uint e) {
  const IqFour f = iq_locate(row + iq_block_bytes() * (e >> 8), e & 255u);
  return iq_values(f, iq_grid_word(f.word));
}

// The 32-element unit at e (a multiple of 32) of the row at byte `row`.
void iq_load32(uint row, uint e, out float v[32]) {
  const uint block = row + iq_block_bytes() * (e >> 8);
  for (uint i = 0u; i < 8u; ++i) {
    const IqFour f = iq_locate(block, (e & 255u) + 4u * i);
    const vec4 x = iq_values(f, iq_grid_word(f.word));
    v[4u * i] = x.x;
    v[4u * i + 1u] = x.y;
    v[4u * i + 2u] = x.z;
    v[4u * i + 3u] = x.w;
  }
}
