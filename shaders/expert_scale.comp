// ExpertScale: route rows (top_k chosen expert ids as floats, then their weights) with each
// weight multiplied by its expert's scale (Gemma 4's per-expert down-projection scale,
// reference::expert_scale). In place is fine.
// Grid: rows x top_k choices (rows = the graph's max_tokens, or 1), spread over x and y.
#version 450
#extension GL_GOOGLE_include_directive : require

layout(local_size_x = 256) in;

#include "step.glsl"
layout(set = 0, binding = 1) readonly buffer Route { float route[]; };
layout(set = 0, binding = 2) readonly buffer Scales { float scales[]; };
layout(set = 0, binding = 3) writeonly buffer Out { float result[]; };

layout(push_constant) uniform Push {
  uint top_k;
  uint experts;
  uint per_token;
} p;

void main() {
  const uint i = gl_GlobalInvocationID.y * (gl_NumWorkGroups.x * gl_WorkGroupSize.x) + gl_GlobalInvocationID.x;
  if (i >= rows_in_step(p.per_token) * p.top_k) return;
  const uint row = i / p.top_k, j = i % p.top_k;
  const uint base = row * 2u * p.top_k;
  const float id = route[base + j];
  const bool known = id >= 0.0 && id < float(p.experts);
  result[base + j] = id;
  result[base + p.top_k + j] = known ? route[base + p.top_k + j] * scales[uint(id)] : 0.0;
}
