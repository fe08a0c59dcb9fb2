// Softmax: out = exp(a - max) / sum(exp(a - max)) over each row of `cols` columns; a row
// of all -inf gives zeros (as reference::softmax_rows). In place is fine. One work group
// per row, so rows of any width: three strided passes over the row (max, sum, write),
// each followed by a subgroup + shared-memory reduction (reduce.glsl).
// Grid: y = rows (the graph's max_tokens, or 1).
#version 450
#extension GL_GOOGLE_include_directive : require

layout(local_size_x = 256) in;

#include "step.glsl"
#include "reduce.glsl"
layout(set = 0, binding = 1) readonly buffer A { float a[]; };
layout(set = 0, binding = 2) writeonly buffer Out { float result[]; };

layout(push_constant) uniform Push {
  uint cols;
  uint per_token;
} p;

void main() {
  const uint row = gl_WorkGroupID.y;
  if (row >= rows_in_step(p.per_token)) return;  // the whole group leaves together
  const uint base = row * p.cols;
  const uint id = gl_LocalInvocationID.x, stride = gl_WorkGroupSize.x;

  float m = uintBitsToFloat(0xFF800000u);  // -inf
  for (uint i = id; i < p.cols; i += stride) m = max(m, a[base + i]);
  m = workgroup_max(m);
  if (isinf(m) && m < 0.0) {  // nothing visible: zeros, not exp(-inf - -inf) = NaN
    for (uint i = id; i < p.cols; i += stride) result[base + i] = 0.0;
    return;
  }

  float sum = 0.0;
  for (uint i = id; i < p.cols; i += stride) sum += exp(a[base + i] - m);
  const float inv = 1.0 / workgroup_sum(sum);
  // Each invocation rewrites only the elements it read above, so out may be a.
  for (uint i = id; i < p.cols; i += stride) result[base + i] = exp(a[base + i] - m) * inv;
}
