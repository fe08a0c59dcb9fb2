// MatMul for prefill on CPU devices (lavapipe): out[t][r] = sum_c W[r][c] * x[t][c].
// Each invocation owns one W row and TOKENS tokens' sums in registers. Per 32 columns it
// dequantizes its row's 32 elements once (load32), and for each token the subgroup's
// lanes read consecutive x columns, one each, and pass them round by subgroupShuffle, so
// one x read feeds SUBGROUP lanes' rows. No shared memory, no barriers.
// Why: lavapipe runs a subgroup as one SIMD vector, and a load whose address is not a
// constant or push constant becomes a loop over the lanes, while shuffles by a constant
// lane and private arrays are plain vector operations. Each read here feeds about 7
// multiply-adds, against 2 in matmul_tiled.comp (3.3x faster on lavapipe). GPUs keep
// matmul_tiled (step_ops.cpp), which reads W coalesced and shares it through shared memory.
// SUBGROUP must be the subgroup size the shader runs with (the device's fixed size).
// Pieces as in matmul_vec.comp. Grid: x = groups of 64 rows, y = groups of TOKENS tokens.
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_shuffle : require

layout(local_size_x = 64) in;
layout(constant_id = 0) const uint QUANT_TYPE = 0;
layout(constant_id = 1) const uint SUBGROUP = 8u;  // the device's subgroup size
const uint TOKENS = 32u;                           // step_ops.cpp: kRowsTokens
const uint LANES = SUBGROUP < 32u ? SUBGROUP : 32u;  // lanes reading x per round (<= one unit)

#include "step.glsl"
layout(set = 0, binding = 1) readonly buffer Weights { uint weights[]; };
layout(set = 0, binding = 2) readonly buffer X { float x[]; };
layout(set = 0, binding = 3) writeonly buffer Out { float result[]; };

layout(push_constant) uniform Push {
  uint cols, row_bytes, rows, first_out, out_cols, per_token, x_stride, x_offset, first_row;  // as in matmul_vec.comp
} p;

#define QUANT_WORDS weights
#include "quant.glsl"

void main() {
  const uint tokens = rows_in_step(p.per_token);
  const uint token0 = gl_WorkGroupID.y * TOKENS;
  if (token0 >= tokens) return;  // the whole group leaves together
  const uint lane = gl_SubgroupInvocationID;
  // Invocations past the last row compute a copy of it and store nothing: every lane must
  // stay for the shuffles (and lavapipe reads fastest with all lanes active).
  const uint r_out = gl_WorkGroupID.x * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
  const uint row = (p.first_row + min(r_out, p.rows - 1u)) * p.row_bytes;
  // Tokens past the step's last repeat it (their sums are dropped): no branch per token.
  uint x_row[TOKENS];
  float acc[TOKENS];
  for (uint t = 0u; t < TOKENS; ++t) {
    x_row[t] = min(token0 + t, tokens - 1u) * p.x_stride + p.x_offset;
    acc[t] = 0.0;
  }
  for (uint e = 0u; e < p.cols; e += 32u) {
    float w[32];
    load32(row, e, min(32u, p.cols - e), w);  // zeros past the last column
    for (uint j = 0u; j < 32u; j += LANES) {
      const uint c = e + j + lane;
      const bool reads = lane < LANES && c < p.cols;
      for (uint t = 0u; t < TOKENS; ++t) {
        const float xv = reads ? x[x_row[t] + c] : 0.0;
        for (uint k = 0u; k < LANES; ++k) acc[t] += w[j + k] * subgroupShuffle(xv, k);
      }
    }
  }
  if (r_out >= p.rows) return;
  for (uint t = 0u; t < TOKENS && token0 + t < tokens; ++t) result[(token0 + t) * p.out_cols + p.first_out + r_out] = acc[t];
}
