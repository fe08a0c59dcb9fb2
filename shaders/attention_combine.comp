// Merges the per-split results of attention.comp: with M the largest split maximum (and
// the sink logit), out = sum_s acc_s exp(m_s - M) / (sum_s l_s exp(m_s - M) + exp(sink - M)).
// Grid: x = query heads, y = tokens.
#version 450
#extension GL_GOOGLE_include_directive : require

layout(local_size_x = 64) in;
const float MASKED = -3.0e38;  // as in attention.comp: a split that saw no visible key

#include "step.glsl"
layout(set = 0, binding = 1) readonly buffer Partials { float partials[]; };
layout(set = 0, binding = 2) readonly buffer Sinks { float sinks[]; };
layout(set = 0, binding = 3) writeonly buffer Out { float result[]; };

layout(push_constant) uniform Push {
  uint q_heads, head_dim_v, splits, has_sinks;
} p;

void main() {
  const uint h = gl_WorkGroupID.x, t = gl_WorkGroupID.y;
  if (t >= uint(step.n_tokens)) return;
  const uint record_size = p.head_dim_v + 2u;
  const uint first = (t * p.q_heads + h) * p.splits * record_size;
  const uint out_base = (t * p.q_heads + h) * p.head_dim_v;

  float top = MASKED;
  for (uint s = 0u; s < p.splits; ++s) top = max(top, partials[first + s * record_size]);
  if (top == MASKED) {  // no visible key at all
    for (uint d = gl_LocalInvocationID.x; d < p.head_dim_v; d += 64u) result[out_base + d] = 0.0;
    return;
  }
  if (p.has_sinks != 0u) top = max(top, sinks[h]);
  float denominator = p.has_sinks != 0u ? exp(sinks[h] - top) : 0.0;
  for (uint s = 0u; s < p.splits; ++s) {
    const float m = partials[first + s * record_size];
    if (m != MASKED) denominator += partials[first + s * record_size + 1u] * exp(m - top);
  }
  for (uint d = gl_LocalInvocationID.x; d < p.head_dim_v; d += 64u) {
    float sum = 0.0;
    for (uint s = 0u; s < p.splits; ++s) {
      const float m = partials[first + s * record_size];
      if (m != MASKED) sum += partials[first + s * record_size + 2u + d] * exp(m - top);
    }
    result[out_base + d] = sum / denominator;
  }
}
