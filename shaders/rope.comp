// Rope: rotary position embedding in place, as ggml_rope_ext (NeoX or GPT-J pairs, YaRN,
// frequency factors). Row t holds `heads` heads of head_dim; in each head the dims
// [offset, offset + rotary_dims) rotate in rotary_dims / 2 pairs by the angle
// position * theta_scale^i / factor[i] of pair i.
// Grid: x covers heads x pairs, y the tokens.
#version 450
#extension GL_GOOGLE_include_directive : require

layout(local_size_x = 64) in;

#include "step.glsl"
layout(set = 0, binding = 1) buffer X { float x[]; };
layout(set = 0, binding = 2) readonly buffer Factors { float factors[]; };  // rotary_dims / 2, if has_factors

layout(push_constant) uniform Push {
  uint heads, head_dim, rotary_dims, rotary_offset;
  uint neox;          // pairs (i, i + rotary_dims / 2); else (2i, 2i + 1)
  uint has_factors;
  float theta_scale;  // theta^(-2 / rotary_dims)
  float freq_scale, ext_factor, attn_factor;
  float corr_low, corr_high;  // YaRN correction dims (host: ggml_rope_yarn_corr_dims)
} p;

void main() {
  const uint t = gl_WorkGroupID.y;
  const uint half_ = p.rotary_dims / 2u;
  const uint k = gl_GlobalInvocationID.x;
  if (t >= uint(step.n_tokens) || k >= p.heads * half_) return;
  const uint head = k / half_, i = k % half_;

  // position * theta_scale^i built by repeated multiplication, as ggml and the reference
  // do, so the angles round the same way.
  // (`precise`: no fused multiply-adds, which would round differently from the reference;
  // at position 100000 one rounding is 0.008 radians.)
  precise float theta_base = float(step.first_position + int(t));
  for (uint j = 0u; j < i; ++j) theta_base *= p.theta_scale;
  precise const float theta_extrap = theta_base / (p.has_factors != 0u ? factors[i] : 1.0);
  // ggml's rope_yarn: interpolate by freq_scale, blending back to extrapolation over the
  // YaRN ramp, with its magnitude correction.
  precise float theta = p.freq_scale * theta_extrap;
  float mscale = p.attn_factor;
  if (p.ext_factor != 0.0) {
    const float y = (float(i) - p.corr_low) / max(0.001, p.corr_high - p.corr_low);
    const float ramp_mix = (1.0 - min(1.0, max(0.0, y))) * p.ext_factor;
    theta = theta * (1.0 - ramp_mix) + theta_extrap * ramp_mix;
    mscale *= 1.0 + 0.1 * log(1.0 / p.freq_scale);
  }
  // Reduced to [-pi, pi] first (2 pi in two parts, Cody-Waite): GPU sin and cos are only
  // accurate near zero, and angles reach the position count.
  const float turns = round(theta * 0.15915494309189535);
  theta = (theta - turns * 6.28125) - turns * 0.0019353071795864769;  // (turns * 6.28125 is exact)
  const float c = cos(theta) * mscale, s = sin(theta) * mscale;

  const uint base = (t * p.heads + head) * p.head_dim + p.rotary_offset;
  const uint ia = base + (p.neox != 0u ? i : 2u * i);
  const uint ib = base + (p.neox != 0u ? i + half_ : 2u * i + 1u);
  const float x0 = x[ia], x1 = x[ib];
  x[ia] = x0 * c - x1 * s;
  x[ib] = x0 * s + x1 * c;
}
