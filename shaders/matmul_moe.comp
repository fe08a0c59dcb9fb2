// Expert matmul over the chosen experts only (reference::moe_matmul): for token t and
// choice j, expert e = route[t][j] (routing row: top_k ids as floats, then weights),
//   out[t][j][r] = sum_c W_e[r][c] * x[c],  x = a[t] (shared input) or a[t][j].
// Only the chosen experts' rows are read, so a decode step reads top_k experts' weights,
// not all of them. Like matmul_vec.comp: one subgroup per row, lanes over the columns,
// a subgroup sum. Two ways to spread the work (BY_EXPERT):
//   0 (decode)  a work group per (token, choice): each chosen row is read once;
//   1 (prefill) a work group per expert, looping over the step's (token, choice) pairs that
//               chose it: an expert's rows come from memory once per step and from cache
//               for its other tokens, instead of once per token.
// A 3D expert tensor is stored as experts x rows rows, bound in pieces of whole rows, one
// dispatch per piece: rows of other pieces are skipped.
// Grid: x = groups of ROWS rows of one expert, y = token x top_k + choice (BY_EXPERT 0) or
// expert (BY_EXPERT 1).
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_arithmetic : require

layout(local_size_x = 64) in;
layout(constant_id = 0) const uint QUANT_TYPE = 0;
layout(constant_id = 1) const uint BY_EXPERT = 0;
const uint ROWS = 8u;  // rows per work group (step_ops.cpp: kMoeRows)

#include "step.glsl"
layout(set = 0, binding = 1) readonly buffer Weights { uint weights[]; };
layout(set = 0, binding = 2) readonly buffer X { float x[]; };
layout(set = 0, binding = 3) readonly buffer Route { float route[]; };
layout(set = 0, binding = 4) writeonly buffer Out { float result[]; };

layout(push_constant) uniform Push {
  uint cols;        // W columns = input columns per choice
  uint row_bytes;   // bytes per stored W row
  uint rows;        // rows of one expert (output columns per choice)
  uint first_row;   // the piece's first row, counting experts x rows
  uint piece_rows;  // rows in this piece
  uint top_k;
  uint shared_input;  // 1: every choice reads a[t]; 0: choice j reads a[t][j]
  uint per_token;
} p;

#define QUANT_WORDS weights
#include "quant.glsl"

// Row r of `expert` times the input of (t, j), summed over the subgroup; the caller has
// checked that the row lies in this piece.
void row_times_input(uint expert, uint r, uint t, uint j) {
  const uint row = expert * p.rows + r - p.first_row;
  const uint x_base = p.shared_input != 0u ? t * p.cols : (t * p.top_k + j) * p.cols;
  float sum = 0.0;
  for (uint e = 4u * gl_SubgroupInvocationID; e < p.cols; e += 4u * gl_SubgroupSize) {
    const uint i = x_base + e;
    vec4 v = vec4(0.0);
    if (e + 4u <= p.cols) v = vec4(x[i], x[i + 1u], x[i + 2u], x[i + 3u]);
    else for (uint c = 0u; e + c < p.cols; ++c) v[c] = x[i + c];
    sum += dot(load4(row * p.row_bytes, e, p.cols), v);
  }
  sum = subgroupAdd(sum);
  if (subgroupElect()) result[(t * p.top_k + j) * p.rows + r] = sum;
}

bool in_piece(uint expert, uint r) {
  const uint stored = expert * p.rows + r;
  return stored >= p.first_row && stored < p.first_row + p.piece_rows;
}

void main() {
  const uint tokens = rows_in_step(p.per_token);
  if (BY_EXPERT == 0u) {
    const uint t = gl_WorkGroupID.y / p.top_k, j = gl_WorkGroupID.y % p.top_k;
    if (t >= tokens) return;
    const uint expert = uint(route[t * 2u * p.top_k + j]);
    for (uint k = gl_SubgroupID; k < ROWS; k += gl_NumSubgroups) {
      const uint r = gl_WorkGroupID.x * ROWS + k;
      if (r >= p.rows) return;  // the same for the whole subgroup
      if (in_piece(expert, r)) row_times_input(expert, r, t, j);
    }
    return;
  }
  const uint expert = gl_WorkGroupID.y;
  for (uint k = gl_SubgroupID; k < ROWS; k += gl_NumSubgroups) {
    const uint r = gl_WorkGroupID.x * ROWS + k;
    if (r >= p.rows) return;
    if (!in_piece(expert, r)) continue;
    for (uint t = 0u; t < tokens; ++t) {
      for (uint j = 0u; j < p.top_k; ++j) {
        if (uint(route[t * 2u * p.top_k + j]) == expert) row_times_input(expert, r, t, j);
      }
    }
  }
}
