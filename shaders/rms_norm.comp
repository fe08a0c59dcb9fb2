// RmsNorm: out = x / sqrt(mean(x^2) + eps) * w, over each group of `group` columns of a
// row (group = cols: the whole row; group = head_dim: per head). In place is fine.
// Grid: x = groups per row, y = rows (the graph's max_tokens, or 1).
#version 450
#extension GL_GOOGLE_include_directive : require

layout(local_size_x = 128) in;

#include "step.glsl"
#include "reduce.glsl"
layout(set = 0, binding = 1) readonly buffer A { float a[]; };
layout(set = 0, binding = 2) readonly buffer W { float w[]; };  // group floats, if has_weight
layout(set = 0, binding = 3) writeonly buffer Out { float result[]; };

layout(push_constant) uniform Push {
  uint cols;
  uint group;
  uint per_token;
  uint has_weight;
  float eps;
} p;

void main() {
  const uint row = gl_WorkGroupID.y;
  if (row >= rows_in_step(p.per_token)) return;
  const uint base = row * p.cols + gl_WorkGroupID.x * p.group;

  float sum = 0.0;
  for (uint i = gl_LocalInvocationID.x; i < p.group; i += gl_WorkGroupSize.x) sum += a[base + i] * a[base + i];
  const float scale = 1.0 / sqrt(workgroup_sum(sum) / float(p.group) + p.eps);
  // Each invocation rewrites only the elements it read above, so out may be a.
  for (uint i = gl_LocalInvocationID.x; i < p.group; i += gl_WorkGroupSize.x) {
    const float y = a[base + i] * scale;
    result[base + i] = p.has_weight != 0u ? y * w[i] : y;
  }
}
