// DeepSeek V4's compressed attention: blocks of positions pooled into compressed entries
// (CSA 4:1 with overlapping windows, HCA 128:1), the lightning indexer that picks CSA
// entries, attention over the raw window plus compressed entries, and the grouped output
// projection. As llama.cpp src/models/deepseek4.cpp (build_*_compressed_kv_from_state,
// build_lid_top_k, build_csa_lid_attention, build_hca_attention, build_attention_impl).
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

#include "archscope/error.h"
#include "reference/ops.h"

namespace archscope::reference {

void compress_block(const float* kv, const float* score, const float* ape, const float* norm, int32_t block_start,
                    const CompressParams& p, float* out) {
  const int rows = p.overlap ? 2 * p.ratio : p.ratio;
  const int row_width = p.overlap ? 2 * p.width : p.width;
  for (int c = 0; c < p.width; ++c) {
    auto at = [&](int r) {  // the row's element for channel c: overlapping rows of the block read the second half
      return static_cast<size_t>(r) * row_width + (p.overlap && r >= p.ratio ? p.width : 0) + c;
    };
    auto logit = [&](int r) { return score[at(r)] + ape[static_cast<size_t>(r % p.ratio) * row_width + at(r) % row_width]; };
    float max = -std::numeric_limits<float>::infinity();
    for (int r = 0; r < rows; ++r) max = std::max(max, logit(r));
    double sum = 0.0, acc = 0.0;
    for (int r = 0; r < rows; ++r) {
      const float w = std::exp(logit(r) - max);  // a missing row (score -inf) weighs 0
      sum += w;
      acc += static_cast<double>(w) * kv[at(r)];
    }
    out[c] = static_cast<float>(acc / sum);
  }
  rms_norm(out, norm, out, 1, p.width, p.eps);
  rope(out, 1, 1, p.width, &block_start, p.rope);
}

void indexer_top_k(const float* q, const float* w, const int32_t* query_positions, int64_t tokens, int heads,
                   int dim, const float* keys, const int32_t* key_positions, int64_t n_keys, int top_k, float* out) {
  std::vector<float> scores(static_cast<size_t>(n_keys));
  std::vector<int64_t> order;
  for (int64_t t = 0; t < tokens; ++t) {
    order.clear();
    for (int64_t j = 0; j < n_keys; ++j) {
      if (key_positions[j] < 0 || key_positions[j] > query_positions[t]) continue;
      double s = 0.0;
      for (int h = 0; h < heads; ++h) {
        const float* qh = q + (t * heads + h) * dim;
        double dot = 0.0;
        for (int d = 0; d < dim; ++d) dot += static_cast<double>(qh[d]) * keys[j * dim + d];
        s += w[t * heads + h] * std::max(dot, 0.0);
      }
      scores[j] = static_cast<float>(s);
      order.push_back(j);
    }
    const size_t k = std::min<size_t>(top_k, order.size());
    std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int64_t a, int64_t b) {
      return scores[a] > scores[b] || (scores[a] == scores[b] && a < b);
    });
    for (int j = 0; j < top_k; ++j) out[t * top_k + j] = j < static_cast<int>(k) ? static_cast<float>(order[j]) : -1.0f;
  }
}

void attention_with_compressed(const float* q, const int32_t* query_positions, int64_t tokens, const float* raw,
                               const int32_t* raw_positions, int64_t n_raw, const float* compressed,
                               const int32_t* compressed_positions, int64_t n_compressed, const float* selected,
                               int top_k, const AttentionParams& p, float* out) {
  const int64_t width = int64_t(p.kv_heads) * p.head_dim_k;
  if (p.head_dim_k != p.head_dim_v) throw Error("attention with compressed entries needs keys that are the values");
  std::vector<float> keys;
  std::vector<int32_t> positions;
  std::vector<int64_t> ids;
  for (int64_t t = 0; t < tokens; ++t) {
    const int32_t qpos = query_positions[t];
    keys.assign(raw, raw + n_raw * width);
    positions.assign(raw_positions, raw_positions + n_raw);
    // The entries this query may read, in index order: the selected ones (-1: none), or all.
    ids.clear();
    if (selected) {
      for (int j = 0; j < top_k; ++j) {
        const float id = selected[t * top_k + j];
        if (id >= 0.0f && id < static_cast<float>(n_compressed)) ids.push_back(static_cast<int64_t>(id));
      }
      std::sort(ids.begin(), ids.end());
    } else {
      ids.resize(static_cast<size_t>(n_compressed));
      std::iota(ids.begin(), ids.end(), int64_t{0});
    }
    for (int64_t j : ids) {
      const int32_t kpos = compressed_positions[j];
      if (kpos < 0 || kpos > qpos) continue;
      keys.insert(keys.end(), compressed + j * width, compressed + (j + 1) * width);
      positions.push_back(qpos);  // compressed entries are outside the window: seen as the query's own position
    }
    const int64_t q_width = int64_t(p.q_heads) * p.head_dim_k;
    attention(q + t * q_width, &qpos, 1, keys.data(), keys.data(), positions.data(),
              static_cast<int64_t>(positions.size()), p, out + t * int64_t(p.q_heads) * p.head_dim_v);
  }
}

void grouped_matmul(const WeightView& w, int groups, const float* a, float* out, int64_t tokens) {
  if (groups < 1 || w.rows % groups != 0) {
    throw Error("grouped_matmul: " + std::to_string(w.rows) + " rows do not split into " + std::to_string(groups) + " groups");
  }
  const int64_t rows = w.rows / groups, cols = w.cols;
  std::vector<float> x(static_cast<size_t>(tokens * cols)), y(static_cast<size_t>(tokens * rows));
  for (int g = 0; g < groups; ++g) {
    for (int64_t t = 0; t < tokens; ++t) std::copy_n(a + (t * groups + g) * cols, cols, x.begin() + t * cols);
    const WeightView part{w.type, w.data + static_cast<uint64_t>(g * rows) * w.row_bytes, cols, rows, w.row_bytes};
    matmul(part, x.data(), y.data(), tokens);
    for (int64_t t = 0; t < tokens; ++t) std::copy_n(y.begin() + t * rows, rows, out + (t * groups + g) * rows);
  }
}

}  // namespace archscope::reference
