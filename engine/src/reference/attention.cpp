// Causal attention over cached keys and values, one query head at a time:
// scores = scale * q.k (then softcap), masked by causality and the window, softmax in f32
// with the maximum subtracted, optional sink logit in the denominator, weighted sum of values.
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "archscope/error.h"
#include "reference/ops.h"

namespace archscope::reference {
namespace {

bool key_visible(int32_t query_pos, int32_t key_pos, int window) {
  if (key_pos < 0 || key_pos > query_pos) return false;  // empty slot, or in the future
  return window <= 0 || static_cast<int64_t>(query_pos) - key_pos < window;
}

void check_params(const AttentionParams& p) {
  if (p.q_heads <= 0 || p.kv_heads <= 0 || p.q_heads % p.kv_heads != 0 || p.head_dim_k <= 0 || p.head_dim_v <= 0) {
    throw Error("attention: " + std::to_string(p.q_heads) + " query heads cannot share " + std::to_string(p.kv_heads) +
                " KV heads evenly (head dims " + std::to_string(p.head_dim_k) + ", " + std::to_string(p.head_dim_v) +
                ")");
  }
}

}  // namespace

void attention(const float* q, const int32_t* query_positions, int64_t tokens, const float* keys,
               const float* values, const int32_t* key_positions, int64_t n_kv, const AttentionParams& p,
               float* out) {
  check_params(p);
  const int group = p.q_heads / p.kv_heads;  // query heads per KV head
  const int dk = p.head_dim_k, dv = p.head_dim_v;
  std::vector<float> scores(static_cast<size_t>(n_kv));
  std::vector<double> acc(static_cast<size_t>(dv));

  for (int64_t t = 0; t < tokens; ++t) {
    const int32_t qpos = query_positions[t];
    for (int h = 0; h < p.q_heads; ++h) {
      const int kvh = h / group;
      const float* qh = q + (t * p.q_heads + h) * dk;
      float* oh = out + (t * p.q_heads + h) * dv;

      // Scores of the visible keys; the running maximum includes the sink, as ggml's
      // soft_max with sinks does.
      float max = -std::numeric_limits<float>::infinity();
      bool any_visible = false;
      for (int64_t j = 0; j < n_kv; ++j) {
        if (!key_visible(qpos, key_positions[j], p.window)) continue;
        const float* kj = keys + (j * p.kv_heads + kvh) * dk;
        double dot = 0.0;
        for (int d = 0; d < dk; ++d) dot += static_cast<double>(qh[d]) * kj[d];
        float s = static_cast<float>(dot) * p.scale;
        if (p.softcap != 0.0f) s = p.softcap * std::tanh(s / p.softcap);
        scores[j] = s;
        max = std::max(max, s);
        any_visible = true;
      }
      std::fill(oh, oh + dv, 0.0f);
      if (!any_visible) continue;  // nothing to attend to: zeros (a sink alone carries no value)
      if (p.sinks) max = std::max(max, p.sinks[h]);

      double sum = 0.0;
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t j = 0; j < n_kv; ++j) {
        if (!key_visible(qpos, key_positions[j], p.window)) continue;
        const float weight = std::exp(scores[j] - max);
        sum += weight;
        const float* vj = values + (j * p.kv_heads + kvh) * dv;
        for (int d = 0; d < dv; ++d) acc[d] += static_cast<double>(weight) * vj[d];
      }
      if (p.sinks) sum += std::exp(p.sinks[h] - max);  // in the denominator only
      for (int d = 0; d < dv; ++d) oh[d] = static_cast<float>(acc[d] / sum);
    }
  }
}

}  // namespace archscope::reference
