// The chosen experts' outputs mixed by their routing weights (reference::moe_sum):
//   out[t][c] = sum_j weight[t][j] * a[t][j][c]   (routing row: top_k ids, then weights)
// Grid: x over the columns, y = tokens (the graph's max_tokens).
#version 450
#extension GL_GOOGLE_include_directive : require

layout(local_size_x = 256) in;

#include "step.glsl"
layout(set = 0, binding = 1) readonly buffer A { float a[]; };
layout(set = 0, binding = 2) readonly buffer Route { float route[]; };
layout(set = 0, binding = 3) writeonly buffer Out { float result[]; };

layout(push_constant) uniform Push {
  uint cols;
  uint top_k;
  uint per_token;
} p;

void main() {
  const uint c = gl_GlobalInvocationID.x, t = gl_WorkGroupID.y;
  if (c >= p.cols || t >= rows_in_step(p.per_token)) return;
  const uint w = t * 2u * p.top_k + p.top_k;
  float sum = 0.0;
  for (uint j = 0u; j < p.top_k; ++j) sum += route[w + j] * a[(t * p.top_k + j) * p.cols + c];
  result[t * p.cols + c] = sum;
}
