// Mixture-of-experts routing and expert products, and the softplus gate, as llama.cpp's
// build_moe_ffn composes them from ggml ops (llama-graph.cpp): scores, biased top-k,
// unbiased weights gathered, renormalised, scaled; experts multiplied only where chosen.
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "archscope/error.h"
#include "reference/ops.h"

namespace archscope::reference {

float softplus(float x) { return x > 20.0f ? x : std::log(1.0f + std::exp(x)); }

void softplus(const float* x, float* out, int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = softplus(x[i]);
}

void mul_grouped(const float* a, const float* b, float* out, int64_t rows, int64_t cols, int64_t group) {
  const int64_t b_cols = cols / group;
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) out[r * cols + c] = a[r * cols + c] * b[r * b_cols + c / group];
  }
}

void keep_heads(const float* a, float* out, int64_t n, int64_t head_cols, int period, int kept) {
  for (int64_t i = 0; i < n; ++i) out[i] = (i / head_cols) % period < kept ? a[i] : 0.0f;
}

void route(const float* logits, float* out, int64_t tokens, const RouteParams& p) {
  if (p.top_k < 1 || p.top_k > p.experts) {
    throw Error("route: top-k " + std::to_string(p.top_k) + " must be between 1 and the " + std::to_string(p.experts) +
                " experts");
  }
  std::vector<float> scores(p.experts);
  std::vector<int> order(p.experts);
  for (int64_t t = 0; t < tokens; ++t) {
    const float* x = logits + t * p.experts;
    switch (p.score) {
      case RouterScoreFn::Softmax:
        std::copy(x, x + p.experts, scores.begin());
        softmax_rows(scores.data(), 1, p.experts);
        break;
      case RouterScoreFn::Sigmoid:
        for (int e = 0; e < p.experts; ++e) scores[e] = 1.0f / (1.0f + std::exp(-x[e]));
        break;
      case RouterScoreFn::SqrtSoftplus:
        for (int e = 0; e < p.experts; ++e) scores[e] = std::sqrt(softplus(x[e]));
        break;
    }
    if (p.chosen) {
      for (int j = 0; j < p.top_k; ++j) {
        const float id = p.chosen[t * p.top_k + j];
        if (!(id >= 0.0f && id < static_cast<float>(p.experts))) {
          throw Error("route: expert id " + std::to_string(id) + " is outside the " + std::to_string(p.experts) + " experts");
        }
        order[j] = static_cast<int>(id);
      }
    } else {
      auto selection = [&](int e) { return p.bias ? scores[e] + p.bias[e] : scores[e]; };
      for (int e = 0; e < p.experts; ++e) order[e] = e;
      std::partial_sort(order.begin(), order.begin() + p.top_k, order.end(), [&](int a, int b) {
        const float sa = selection(a), sb = selection(b);
        return sa > sb || (sa == sb && a < b);
      });
    }
    float* row = out + t * 2 * p.top_k;
    float sum = 0.0f;
    for (int j = 0; j < p.top_k; ++j) {
      row[j] = static_cast<float>(order[j]);
      row[p.top_k + j] = scores[order[j]];
      sum += scores[order[j]];
    }
    const float divisor = p.normalize ? std::max(sum, 6.103515625e-5f) : 1.0f;
    for (int j = 0; j < p.top_k; ++j) row[p.top_k + j] = row[p.top_k + j] / divisor * p.scale;
  }
}

void moe_matmul(const WeightView* experts, int64_t n_experts, const float* a, bool shared_input, const float* route,
                int top_k, float* out, int64_t tokens) {
  const int64_t cols = experts[0].cols, rows = experts[0].rows;
  for (int64_t t = 0; t < tokens; ++t) {
    for (int j = 0; j < top_k; ++j) {
      const int64_t e = static_cast<int64_t>(route[t * 2 * top_k + j]);
      if (e < 0 || e >= n_experts) throw Error("moe_matmul: expert id " + std::to_string(e) + " out of range");
      const float* x = shared_input ? a + t * cols : a + (t * top_k + j) * cols;
      matmul(experts[e], x, out + (t * top_k + j) * rows, 1);
    }
  }
}

void moe_sum(const float* a, const float* route, int top_k, float* out, int64_t tokens, int64_t cols) {
  for (int64_t t = 0; t < tokens; ++t) {
    const float* w = route + t * 2 * top_k + top_k;
    for (int64_t c = 0; c < cols; ++c) {
      float sum = 0.0f;
      for (int j = 0; j < top_k; ++j) sum += w[j] * a[(t * top_k + j) * cols + c];
      out[t * cols + c] = sum;
    }
  }
}

}  // namespace archscope::reference
