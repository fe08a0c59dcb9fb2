// Rope: rotary position embedding in place, as ggml_rope_ext (NeoX or GPT-J pairs, YaRN,
// frequency factors), or turned back (inverse: ggml_rope_ext_back, DeepSeek V4's attention
// output). Row t holds `heads` heads of head_dim; in each head the dims
// [offset, offset + rotary_dims) rotate in rotary_dims / 2 pairs by the angle
// position * theta_scale^i / factor[i] of pair i (rope.glsl).
// Grid: x covers heads x pairs, y the tokens.
#version 450
#extension GL_GOOGLE_include_directive : require

layout(local_size_x = 64) in;

#include "step.glsl"
#include "rope.glsl"
layout(set = 0, binding = 1) buffer X { float x[]; };
layout(set = 0, binding = 2) readonly buffer Factors { float factors[]; };  // rotary_dims / 2, if has_factors

layout(push_constant) uniform Push {
  uint heads, head_dim, rotary_dims, rotary_offset;
  uint neox;          // pairs (i, i + rotary_dims / 2); else (2i, 2i + 1)
  uint has_factors;
  Rope rope;
  uint inverse;
} p;

void main() {
  const uint t = gl_WorkGroupID.y;
  const uint half_ = p.rotary_dims / 2u;
  const uint k = gl_GlobalInvocationID.x;
  if (t >= uint(step.n_tokens) || k >= p.heads * half_) return;
  const uint head = k / half_, i = k % half_;
  const vec2 cs = rope_cos_sin(p.rope, step.first_position + int(t), i, p.has_factors != 0u ? factors[i] : 1.0,
                               p.inverse != 0u);

  const uint base = (t * p.heads + head) * p.head_dim + p.rotary_offset;
  const uint ia = base + (p.neox != 0u ? i : 2u * i);
  const uint ib = base + (p.neox != 0u ? i + half_ : 2u * i + 1u);
  const float x0 = x[ia], x1 = x[ib];
  x[ia] = x0 * cs.x - x1 * cs.y;
  x[ib] = x0 * cs.y + x1 * cs.x;
}
