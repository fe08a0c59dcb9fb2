// The angle of one rotary pair, as ggml_rope_ext: shared by rope.comp and compress_kv.comp
// (which ropes each compressed entry at its block's position).
struct Rope {
  float theta_scale;  // theta^(-2 / rotary_dims)
  float freq_scale, ext_factor, attn_factor;
  float corr_low, corr_high;  // YaRN correction dims (host: ggml_rope_yarn_corr_dims)
};

// (cos, sin) of pair i at `position`, divided by the pair's frequency factor; `inverse`
// turns back by the same angle (ggml_rope_back).
vec2 rope_cos_sin(Rope r, int position, uint i, float factor, bool inverse) {
  // position * theta_scale^i built by repeated multiplication, as ggml and the reference
  // do, so the angles round the same way.
  // (`precise`: no fused multiply-adds, which would round differently from the reference;
  // at position 100000 one rounding is 0.008 radians.)
  precise float theta_base = float(position);
  for (uint j = 0u; j < i; ++j) theta_base *= r.theta_scale;
  precise const float theta_extrap = theta_base / factor;
  // ggml's rope_yarn: interpolate by freq_scale, blending back to extrapolation over the
  // YaRN ramp, with its magnitude correction.
  precise float theta = r.freq_scale * theta_extrap;
  float mscale = r.attn_factor;
  if (r.ext_factor != 0.0) {
    const float y = (float(i) - r.corr_low) / max(0.001, r.corr_high - r.corr_low);
    const float ramp_mix = (1.0 - min(1.0, max(0.0, y))) * r.ext_factor;
    theta = theta * (1.0 - ramp_mix) + theta_extrap * ramp_mix;
    mscale *= 1.0 + 0.1 * log(1.0 / r.freq_scale);
  }
  // Reduced to [-pi, pi] first (2 pi in two parts, Cody-Waite): GPU sin and cos are only
  // accurate near zero, and angles reach the position count.
  const float turns = round(theta * 0.15915494309189535);
  theta = (theta - turns * 6.28125) - turns * 0.0019353071795864769;  // (turns * 6.28125 is exact)
  const float s = sin(theta) * mscale;
  return vec2(cos(theta) * mscale, inverse ? -s : s);
}
