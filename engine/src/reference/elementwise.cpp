// Activations, gated MLP products, softmax and element-wise arithmetic on f32.
#include <algorithm>
#include <cmath>
#include <limits>

#include "reference/ops.h"

namespace archscope::reference {

// The tanh approximation of GELU, computed exactly (ggml on the CPU uses an f16 table).
float gelu_tanh(float x) {
  constexpr float kSqrt2OverPi = 0.79788456080286535587989211986876f;
  constexpr float kCoefA = 0.044715f;
  return 0.5f * x * (1.0f + std::tanh(kSqrt2OverPi * x * (1.0f + kCoefA * x * x)));
}

float silu(float x) { return x / (1.0f + std::exp(-x)); }

void swiglu(const float* gate, const float* up, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = silu(gate[i]) * up[i];
}

void swiglu_clamped(const float* gate, const float* up, float* out, int64_t n, float limit) {
  for (int64_t i = 0; i < n; ++i) {
    const float g = std::min(gate[i], limit);
    out[i] = silu(g) * std::clamp(up[i], -limit, limit);
  }
}

void geglu(const float* gate, const float* up, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = gelu_tanh(gate[i]) * up[i];
}

// Per row: exp(x - max) / sum, the sum in double. A row of -inf only (nothing allowed)
// becomes zeros rather than NaN.
void softmax_rows(float* x, int64_t rows, int64_t n) {
  for (int64_t r = 0; r < rows; ++r) {
    float* row = x + r * n;
    float max = -std::numeric_limits<float>::infinity();
    for (int64_t i = 0; i < n; ++i) max = std::max(max, row[i]);
    if (max == -std::numeric_limits<float>::infinity()) {
      std::fill(row, row + n, 0.0f);
      continue;
    }
    double sum = 0.0;
    for (int64_t i = 0; i < n; ++i) {
      row[i] = std::exp(row[i] - max);
      sum += row[i];
    }
    const float inv = static_cast<float>(1.0 / sum);
    for (int64_t i = 0; i < n; ++i) row[i] *= inv;
  }
}

void add(const float* a, const float* b, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] + b[i];
}

void mul(const float* a, const float* b, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = a[i] * b[i];
}

void scale(float* x, float s, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] *= s;
}

void softcap(float* x, float cap, int64_t n) {
  for (int64_t i = 0; i < n; ++i) x[i] = cap * std::tanh(x[i] / cap);
}

void slice_cols(const float* a, int64_t rows, int64_t a_cols, int64_t group, int64_t offset, int64_t cols, float* out) {
  const int64_t groups = a_cols / group, width = cols / groups;
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t g = 0; g < groups; ++g) {
      const float* from = a + r * a_cols + g * group + offset;
      std::copy(from, from + width, out + r * cols + g * width);
    }
  }
}

void expert_scale(const float* route, float* out, int64_t tokens, int64_t top_k, const float* scales, int64_t experts) {
  for (int64_t t = 0; t < tokens; ++t) {
    const float* in = route + t * 2 * top_k;
    float* o = out + t * 2 * top_k;
    for (int64_t j = 0; j < top_k; ++j) {
      const float id = in[j];
      const bool known = id >= 0.0f && id < static_cast<float>(experts);
      o[j] = id;
      o[top_k + j] = known ? in[top_k + j] * scales[static_cast<int64_t>(id)] : 0.0f;
    }
  }
}

}  // namespace archscope::reference
