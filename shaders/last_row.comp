// LastRow: out (one row) = the row of a that belongs to the step's last token.
#version 450
#extension GL_GOOGLE_include_directive : require

layout(local_size_x = 256) in;

#include "step.glsl"
layout(set = 0, binding = 1) readonly buffer A { float a[]; };
layout(set = 0, binding = 2) writeonly buffer Out { float result[]; };

layout(push_constant) uniform Push {
  uint cols;
} p;

void main() {
  const uint c = gl_GlobalInvocationID.y * (gl_NumWorkGroups.x * gl_WorkGroupSize.x) + gl_GlobalInvocationID.x;
  if (c >= p.cols) return;
  result[c] = a[uint(step.n_tokens - 1) * p.cols + c];
}
