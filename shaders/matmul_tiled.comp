// MatMul for prefill: out[t][r] = sum_c W[r][c] * x[t][c] for many tokens. Each work group
// computes a tile of 32 output rows x 32 tokens: per 32 columns it dequantizes the 32 W
// rows' units and the 32 tokens' x into shared memory once, then every invocation
// accumulates a 4 x 4 block of the tile from there.
// Pieces as in matmul_vec.comp. Grid: x = row tiles, y = token tiles (of max_tokens).
#version 450
#extension GL_GOOGLE_include_directive : require

layout(local_size_x = 64) in;
layout(constant_id = 0) const uint QUANT_TYPE = 0;
const uint TILE = 32u;

#include "step.glsl"
layout(set = 0, binding = 1) readonly buffer Weights { uint weights[]; };
layout(set = 0, binding = 2) readonly buffer X { float x[]; };
layout(set = 0, binding = 3) writeonly buffer Out { float result[]; };

layout(push_constant) uniform Push {
  uint cols, row_bytes, rows, first_out, out_cols, per_token, x_stride, x_offset, first_row;  // as in matmul_vec.comp
} p;

#define QUANT_WORDS weights
#include "quant.glsl"

shared float w_tile[TILE][TILE + 1u];  // [row][column]; +1 keeps the column reads apart
shared float x_tile[TILE][TILE + 1u];  // [token][column]

void main() {
  const uint tokens = rows_in_step(p.per_token);
  const uint row0 = gl_WorkGroupID.x * TILE, token0 = gl_WorkGroupID.y * TILE;
  if (token0 >= tokens) return;  // the whole group leaves together
  const uint id = gl_LocalInvocationID.x;
  const uint tr = id % 8u, tt = id / 8u;  // this invocation's rows tr + 8i, tokens tt + 8j

  float acc[4][4];
  for (uint i = 0u; i < 4u; ++i)
    for (uint j = 0u; j < 4u; ++j) acc[i][j] = 0.0;

  for (uint e = 0u; e < p.cols; e += TILE) {
    const uint n = min(TILE, p.cols - e);
    if (id < TILE) {  // invocations 0..31 dequantize one W row's unit each
      float v[32];
      if (row0 + id < p.rows) {
        load32((p.first_row + row0 + id) * p.row_bytes, e, n, v);
      } else {
        for (uint i = 0u; i < 32u; ++i) v[i] = 0.0;
      }
      for (uint i = 0u; i < TILE; ++i) w_tile[id][i] = v[i];
    }
    for (uint k = id; k < TILE * TILE; k += gl_WorkGroupSize.x) {
      const uint t = k / TILE, c = k % TILE;
      x_tile[t][c] = (token0 + t < tokens && c < n) ? x[(token0 + t) * p.x_stride + p.x_offset + e + c] : 0.0;
    }
    barrier();
    for (uint c = 0u; c < TILE; ++c) {
      float wv[4], xv[4];
      for (uint i = 0u; i < 4u; ++i) wv[i] = w_tile[tr + 8u * i][c];
      for (uint j = 0u; j < 4u; ++j) xv[j] = x_tile[tt + 8u * j][c];
      for (uint i = 0u; i < 4u; ++i)
        for (uint j = 0u; j < 4u; ++j) acc[i][j] += wv[i] * xv[j];
    }
    barrier();
  }

  for (uint i = 0u; i < 4u; ++i) {
    const uint r = row0 + tr + 8u * i;
    if (r >= p.rows) continue;
    for (uint j = 0u; j < 4u; ++j) {
      const uint t = token0 + tt + 8u * j;
      if (t < tokens) result[t * p.out_cols + p.first_out + r] = acc[i][j];
    }
  }
}
