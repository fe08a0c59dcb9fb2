// RMS normalization and rotary position embedding, as ggml's CPU ops compute them
// (ggml-cpu/ops.cpp: ggml_compute_forward_rms_norm_f32, ggml_compute_forward_rope_flt).
#include <algorithm>
#include <cmath>
#include <numbers>
#include <string>
#include <vector>

#include "archscope/error.h"
#include "reference/ops.h"

namespace archscope::reference {

// The mean of squares is summed in double, as ggml does.
void rms_norm(const float* x, const float* w, float* out, int64_t rows, int64_t n, float eps) {
  if (n <= 0) return;
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * n;
    float* yr = out + r * n;
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) sum += static_cast<double>(xr[i] * xr[i]);
    const float mean = static_cast<float>(sum / static_cast<double>(n));
    const float scale = 1.0f / std::sqrt(mean + eps);
    for (int64_t i = 0; i < n; ++i) yr[i] = w ? xr[i] * scale * w[i] : xr[i] * scale;
  }
}

namespace {

// YaRN (https://github.com/jquesnelle/yarn, ggml's rope_yarn_corr_dims): the rotating
// pairs whose wavelength fits between beta_fast and beta_slow turns in the original
// context; pairs below `low` keep their original frequency (extrapolate), pairs above
// `high` are interpolated by freq_scale, and a linear ramp blends between.
struct YarnCorrection {
  float low = 0, high = 0;
};

float yarn_corr_dim(int n_dims, int n_ctx_orig, float n_rot, float base) {
  return n_dims * std::log(n_ctx_orig / (n_rot * 2 * std::numbers::pi_v<float>)) / (2 * std::log(base));
}

YarnCorrection yarn_correction(const RopeParams& p) {
  const float start = std::floor(yarn_corr_dim(p.rotary_dims, p.original_context, p.beta_fast, p.theta));
  const float end = std::ceil(yarn_corr_dim(p.rotary_dims, p.original_context, p.beta_slow, p.theta));
  return {std::max(0.0f, start), std::min(static_cast<float>(p.rotary_dims - 1), end)};
}

// 1 for pairs fully extrapolated, 0 for pairs fully interpolated; pair = i0 / 2.
float yarn_ramp(const YarnCorrection& c, int pair) {
  const float y = (pair - c.low) / std::max(0.001f, c.high - c.low);
  return 1 - std::min(1.0f, std::max(0.0f, y));
}

// cos and sin of the angle of one pair (ggml's rope_yarn). `theta_extrap` is the
// unscaled angle pos * base^(-2 pair / n_dims) / freq_factor.
void yarn_cos_sin(float theta_extrap, int pair, const RopeParams& p, const YarnCorrection& c, float* cos_theta,
                  float* sin_theta) {
  const float theta_interp = p.freq_scale * theta_extrap;
  float theta = theta_interp;
  float mscale = p.attn_factor;
  if (p.ext_factor != 0.0f) {
    const float ramp_mix = yarn_ramp(c, pair) * p.ext_factor;
    theta = theta_interp * (1 - ramp_mix) + theta_extrap * ramp_mix;
    mscale *= 1.0f + 0.1f * std::log(1.0f / p.freq_scale);  // magnitude correction for interpolation
  }
  *cos_theta = std::cos(theta) * mscale;
  *sin_theta = std::sin(theta) * mscale;
}

}  // namespace

void rope(float* x, int64_t tokens, int64_t heads, int64_t head_dim, const int32_t* positions, const RopeParams& p) {
  const int n_dims = p.rotary_dims;
  if (n_dims == 0) return;
  if (n_dims < 0 || n_dims % 2 != 0 || p.rotary_offset < 0 || p.rotary_offset + n_dims > head_dim) {
    throw Error("rope: rotating dims [" + std::to_string(p.rotary_offset) + ", " +
                std::to_string(p.rotary_offset + n_dims) + ") must be an even count inside the head of " +
                std::to_string(head_dim));
  }
  const int half = n_dims / 2;
  const float theta_scale = std::pow(p.theta, -2.0f / n_dims);
  const YarnCorrection correction = yarn_correction(p);
  std::vector<float> cos_theta(half), sin_theta(half);

  for (int64_t t = 0; t < tokens; ++t) {
    // Pair i turns by pos * theta_scale^i, the power built by repeated multiplication as
    // ggml does (so the angles match its rounding).
    float theta = static_cast<float>(positions[t]);
    for (int i = 0; i < half; ++i) {
      const float ff = p.freq_factors ? p.freq_factors[i] : 1.0f;
      yarn_cos_sin(theta / ff, i, p, correction, &cos_theta[i], &sin_theta[i]);
      if (p.inverse) sin_theta[i] = -sin_theta[i];  // ggml_rope_back: the same angle, turned back
      theta *= theta_scale;
    }
    for (int64_t h = 0; h < heads; ++h) {
      float* v = x + (t * heads + h) * head_dim + p.rotary_offset;
      for (int i = 0; i < half; ++i) {
        // NeoX pairs dim i with i + n_dims/2 (rotate_half); GPT-J style pairs 2i with 2i+1.
        const int a = p.neox ? i : 2 * i;
        const int b = p.neox ? i + half : 2 * i + 1;
        const float x0 = v[a], x1 = v[b];
        v[a] = x0 * cos_theta[i] - x1 * sin_theta[i];
        v[b] = x0 * sin_theta[i] + x1 * cos_theta[i];
      }
    }
  }
}

}  // namespace archscope::reference
