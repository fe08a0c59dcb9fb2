// SliceCols: out[t] = a[t][offset, offset + width) of every group of `group` columns, side by
// side: one layer's slice of a wide per-token tensor (Gemma 4's per-layer embeddings hold
// every layer's inputs side by side; group = the whole row), or the gate or up half of each
// expert's fused gate_up output (group = 2 x expert width).
// Grid: rows x cols elements (rows = the graph's max_tokens, or 1), spread over x and y.
#version 450
#extension GL_GOOGLE_include_directive : require

layout(local_size_x = 256) in;

#include "step.glsl"
layout(set = 0, binding = 1) readonly buffer A { float a[]; };
layout(set = 0, binding = 2) writeonly buffer Out { float result[]; };

layout(push_constant) uniform Push {
  uint a_cols;
  uint cols;
  uint offset;
  uint per_token;
  uint group;
  uint width;
} p;

void main() {
  const uint i = gl_GlobalInvocationID.y * (gl_NumWorkGroups.x * gl_WorkGroupSize.x) + gl_GlobalInvocationID.x;
  if (i >= rows_in_step(p.per_token) * p.cols) return;
  const uint row = i / p.cols, c = i % p.cols;
  result[i] = a[row * p.a_cols + (c / p.width) * p.group + p.offset + c % p.width];
}
