// DeepSeek V4's manifold-constrained hyper-connections (mHC): n residual streams, mixed at
// every attention and MoE site by weights made per token. As llama.cpp's unfused path
// (build_hc_pre, build_hc_sinkhorn, build_hc_post in src/models/deepseek4.cpp).
#include <cmath>
#include <string>
#include <vector>

#include "archscope/error.h"
#include "reference/ops.h"

namespace archscope::reference {
namespace {
float sigmoid(float x) { return 1.0f / (1.0f + std::exp(-x)); }
}  // namespace

void hyper_weights(const float* mixes, float* out, int64_t tokens, int64_t mix_count, int streams, const float* scale,
                   const float* base, int iterations, float eps) {
  const int n = streams;
  const bool head = mix_count == n;
  if (n < 1 || (!head && mix_count != int64_t(2 + n) * n)) {
    throw Error("hyper_weights: " + std::to_string(mix_count) + " mixes do not fit " + std::to_string(n) + " streams");
  }
  std::vector<float> m(size_t(n) * n);
  for (int64_t t = 0; t < tokens; ++t) {
    const float* x = mixes + t * mix_count;
    float* o = out + t * mix_count;
    for (int i = 0; i < n; ++i) o[i] = sigmoid(x[i] * scale[0] + base[i]) + eps;
    if (head) continue;
    for (int i = 0; i < n; ++i) o[n + i] = 2.0f * sigmoid(x[n + i] * scale[1] + base[n + i]);
    // m[j n + i]: source stream j, destination stream i (ggml: ne0 = destination).
    for (int k = 0; k < n * n; ++k) m[k] = x[2 * n + k] * scale[2] + base[2 * n + k];
    auto divide_by_dst_sums = [&] {  // each source's row over destinations sums to 1
      for (int j = 0; j < n; ++j) {
        float sum = 0.0f;
        for (int i = 0; i < n; ++i) sum += m[j * n + i];
        for (int i = 0; i < n; ++i) m[j * n + i] /= sum + eps;
      }
    };
    auto divide_by_src_sums = [&] {
      for (int i = 0; i < n; ++i) {
        float sum = 0.0f;
        for (int j = 0; j < n; ++j) sum += m[j * n + i];
        for (int j = 0; j < n; ++j) m[j * n + i] /= sum + eps;
      }
    };
    if (iterations == 0) {  // what-if: no mixing, each stream keeps itself
      for (int k = 0; k < n * n; ++k) o[2 * n + k] = k / n == k % n ? 1.0f : 0.0f;
      continue;
    }
    softmax_rows(m.data(), n, n);
    for (float& v : m) v += eps;
    divide_by_src_sums();
    for (int it = 1; it < iterations; ++it) {
      divide_by_dst_sums();
      divide_by_src_sums();
    }
    for (int k = 0; k < n * n; ++k) o[2 * n + k] = m[k];
  }
}

void hyper_collapse(const float* x, const float* weights, int64_t weight_cols, float* out, int64_t tokens,
                    int streams, int64_t d) {
  for (int64_t t = 0; t < tokens; ++t) {
    const float* xt = x + t * streams * d;
    const float* w = weights + t * weight_cols;
    float* o = out + t * d;
    for (int64_t c = 0; c < d; ++c) {
      float sum = 0.0f;
      for (int i = 0; i < streams; ++i) sum += w[i] * xt[i * d + c];  // in stream order, as ggml adds them
      o[c] = sum;
    }
  }
}

void hyper_expand(const float* f, const float* weights, const float* x, float* out, int64_t tokens, int streams,
                  int64_t d) {
  const int n = streams;
  for (int64_t t = 0; t < tokens; ++t) {
    const float* w = weights + t * (2 + n) * n;
    const float* xt = x + t * n * d;
    for (int i = 0; i < n; ++i) {
      float* o = out + (t * n + i) * d;
      for (int64_t c = 0; c < d; ++c) {
        float v = f[t * d + c] * w[n + i];
        for (int j = 0; j < n; ++j) v += xt[j * d + c] * w[2 * n + j * n + i];
        o[c] = v;
      }
    }
  }
}

}  // namespace archscope::reference
