// MatMul for decode: out[t][r] = sum_c W[r][c] * x[t][c] for a few tokens (at most 8).
// Matrix times vector is memory bound, so each stored weight is read once, by one
// subgroup per row: its lanes take consecutive fours of elements (adjacent lanes read
// adjacent words of a block: coalesced), dequantize them once, dot them with every
// token's x, and a subgroup sum finishes the row. No shared memory, no barriers.
// A work group covers ROWS rows whatever the subgroup size (8 on lavapipe, 32 or 64 on
// GPUs): its subgroups take the rows in turn.
// A weight bigger than one binding is bound in pieces of whole rows, one dispatch each
// (first_out says where the piece's rows land in out).
// Grid: one group per ROWS rows of the piece, spread over x and y (x <= 65535).
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_arithmetic : require

layout(local_size_x = 64) in;
layout(constant_id = 0) const uint QUANT_TYPE = 0;
const uint MAX_TOKENS = 8u;  // the backend uses this shader for graphs of at most 8 tokens
const uint ROWS = 8u;        // rows per work group (step_ops.cpp: kVecRows)

#include "step.glsl"
layout(set = 0, binding = 1) readonly buffer Weights { uint weights[]; };
layout(set = 0, binding = 2) readonly buffer X { float x[]; };
layout(set = 0, binding = 3) writeonly buffer Out { float result[]; };

layout(push_constant) uniform Push {
  uint cols;       // W columns = x columns
  uint row_bytes;  // bytes per stored W row
  uint rows;       // W rows in this piece
  uint first_out;  // output column of the piece's first row
  uint out_cols;   // output columns (all W rows)
  uint per_token;  // x has one row per token (else one row)
  uint x_stride;   // floats between x rows (cols, or more when x holds groups side by side)
  uint x_offset;   // float of x's row where this product's columns start
  uint first_row;  // piece row of this product's first row (GroupedMatMul: a group's rows)
} p;

#define QUANT_WORDS weights
#include "quant.glsl"

vec4 x4(uint t, uint e) {
  const uint i = t * p.x_stride + p.x_offset + e;
  if (e + 4u <= p.cols) return vec4(x[i], x[i + 1u], x[i + 2u], x[i + 3u]);
  vec4 v = vec4(0.0);
  for (uint k = 0u; e + k < p.cols; ++k) v[k] = x[i + k];
  return v;
}

void main() {
  const uint group = gl_WorkGroupID.y * gl_NumWorkGroups.x + gl_WorkGroupID.x;
  const uint tokens = min(rows_in_step(p.per_token), MAX_TOKENS);
  for (uint k = gl_SubgroupID; k < ROWS; k += gl_NumSubgroups) {
    const uint r = group * ROWS + k;
    if (r >= p.rows) return;  // the same for the whole subgroup
    if (tokens == 1u) {  // decode: one token, one accumulator
      float sum = 0.0;
      for (uint e = 4u * gl_SubgroupInvocationID; e < p.cols; e += 4u * gl_SubgroupSize) {
        sum += dot(load4((p.first_row + r) * p.row_bytes, e, p.cols), x4(0u, e));
      }
      sum = subgroupAdd(sum);
      if (subgroupElect()) result[p.first_out + r] = sum;
      continue;
    }
    float acc[MAX_TOKENS];
    for (uint t = 0u; t < MAX_TOKENS; ++t) acc[t] = 0.0;
    for (uint e = 4u * gl_SubgroupInvocationID; e < p.cols; e += 4u * gl_SubgroupSize) {
      const vec4 w = load4((p.first_row + r) * p.row_bytes, e, p.cols);
      for (uint t = 0u; t < tokens; ++t) acc[t] += dot(w, x4(t, e));
    }
    for (uint t = 0u; t < tokens; ++t) {
      const float total = subgroupAdd(acc[t]);
      if (subgroupElect()) result[t * p.out_cols + p.first_out + r] = total;
    }
  }
}
