// attention against a straightforward double-precision implementation: GQA head mapping,
// causal and window masks, empty cache slots, sinks, softcap, and empty visibility.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "archscope/error.h"
#include "reference/ops.h"
#include "reference_test_data.h"

namespace archscope::reference {
namespace {

using testing::Lcg;

struct Problem {
  AttentionParams p;
  std::vector<int32_t> query_pos, key_pos;
  std::vector<float> q, k, v;
  int64_t tokens() const { return static_cast<int64_t>(query_pos.size()); }
  int64_t n_kv() const { return static_cast<int64_t>(key_pos.size()); }
};

Problem make_problem(AttentionParams p, std::vector<int32_t> query_pos, std::vector<int32_t> key_pos, uint64_t seed) {
  Problem pr{p, std::move(query_pos), std::move(key_pos), {}, {}, {}};
  Lcg rng(seed);
  pr.q.resize(pr.tokens() * p.q_heads * p.head_dim_k);
  pr.k.resize(pr.n_kv() * p.kv_heads * p.head_dim_k);
  pr.v.resize(pr.n_kv() * p.kv_heads * p.head_dim_v);
  for (float& x : pr.q) x = rng.uniform() * 2.0f;
  for (float& x : pr.k) x = rng.uniform() * 2.0f;
  for (float& x : pr.v) x = rng.uniform();
  return pr;
}

std::vector<float> run(const Problem& pr) {
  std::vector<float> out(pr.tokens() * pr.p.q_heads * pr.p.head_dim_v, 123.0f);
  attention(pr.q.data(), pr.query_pos.data(), pr.tokens(), pr.k.data(), pr.v.data(), pr.key_pos.data(), pr.n_kv(),
            pr.p, out.data());
  return out;
}

// The textbook definition, in double: for each query and head, softmax over the visible
// keys (and the sink, which adds exp(sink) to the denominator only) of the scaled,
// soft-capped dot products; output the weighted sum of values, or zeros if none is visible.
std::vector<double> naive(const Problem& pr) {
  const AttentionParams& p = pr.p;
  const int group = p.q_heads / p.kv_heads;
  std::vector<double> out(pr.tokens() * p.q_heads * p.head_dim_v, 0.0);
  for (int64_t t = 0; t < pr.tokens(); ++t) {
    for (int h = 0; h < p.q_heads; ++h) {
      const int kvh = h / group;
      std::vector<double> score(pr.n_kv());
      std::vector<bool> visible(pr.n_kv());
      bool any = false;
      for (int64_t j = 0; j < pr.n_kv(); ++j) {
        const int32_t kp = pr.key_pos[j], qp = pr.query_pos[t];
        visible[j] = kp >= 0 && kp <= qp && (p.window == 0 || qp - kp < p.window);
        if (!visible[j]) continue;
        any = true;
        double s = 0;
        for (int d = 0; d < p.head_dim_k; ++d) {
          s += double(pr.q[(t * p.q_heads + h) * p.head_dim_k + d]) * pr.k[(j * p.kv_heads + kvh) * p.head_dim_k + d];
        }
        s *= p.scale;
        if (p.softcap != 0) s = p.softcap * std::tanh(s / p.softcap);
        score[j] = s;
      }
      if (!any) continue;
      double denominator = p.sinks ? std::exp(double(p.sinks[h])) : 0.0;
      for (int64_t j = 0; j < pr.n_kv(); ++j) denominator += visible[j] ? std::exp(score[j]) : 0.0;
      for (int64_t j = 0; j < pr.n_kv(); ++j) {
        if (!visible[j]) continue;
        const double w = std::exp(score[j]) / denominator;
        for (int d = 0; d < p.head_dim_v; ++d) {
          out[(t * p.q_heads + h) * p.head_dim_v + d] += w * pr.v[(j * p.kv_heads + kvh) * p.head_dim_v + d];
        }
      }
    }
  }
  return out;
}

void expect_matches_naive(const Problem& pr) {
  const std::vector<float> got = run(pr);
  const std::vector<double> want = naive(pr);
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 2e-6) << "element " << i;
}

AttentionParams gqa(int q_heads, int kv_heads, int dk, int dv) {
  AttentionParams p;
  p.q_heads = q_heads;
  p.kv_heads = kv_heads;
  p.head_dim_k = dk;
  p.head_dim_v = dv;
  p.scale = 1.0f / std::sqrt(static_cast<float>(dk));
  return p;
}

TEST(Attention, CausalGqaMatchesNaive) {
  // Prefill of 3 tokens at positions 4..6 over a cache holding positions 0..6.
  expect_matches_naive(make_problem(gqa(6, 2, 8, 5), {4, 5, 6}, {0, 1, 2, 3, 4, 5, 6}, 1));
  expect_matches_naive(make_problem(gqa(3, 3, 16, 16), {6}, {0, 1, 2, 3, 4, 5, 6}, 2));  // MHA
  expect_matches_naive(make_problem(gqa(4, 1, 4, 4), {0, 1}, {1, 0}, 3));                // MQA, unordered cache
}

TEST(Attention, QueryHeadsReadTheirKvHead) {
  // One visible key: each output is that key's value row of the mapped KV head.
  Problem pr = make_problem(gqa(4, 2, 4, 3), {0}, {0}, 4);
  const std::vector<float> out = run(pr);
  for (int h = 0; h < 4; ++h) {
    const int kvh = h / 2;  // heads 0, 1 -> KV head 0; heads 2, 3 -> KV head 1
    for (int d = 0; d < 3; ++d) EXPECT_FLOAT_EQ(out[h * 3 + d], pr.v[kvh * 3 + d]) << h << "," << d;
  }
}

TEST(Attention, CausalMaskHidesTheFuture) {
  Problem pr = make_problem(gqa(2, 2, 4, 4), {1}, {0, 1, 2, 3}, 5);
  const std::vector<float> with_future = run(pr);
  pr.key_pos = {0, 1, -1, -1};  // same visible set, future keys replaced by empty slots
  const std::vector<float> without = run(pr);
  EXPECT_EQ(with_future, without);
  expect_matches_naive(pr);
}

TEST(Attention, WindowKeepsOnlyRecentKeys) {
  AttentionParams p = gqa(4, 2, 8, 8);
  p.window = 3;  // query at 7 sees 5, 6, 7
  Problem pr = make_problem(p, {5, 7}, {0, 1, 2, 3, 4, 5, 6, 7}, 6);
  expect_matches_naive(pr);
  const std::vector<float> windowed = run(pr);
  // The same output from a cache that only holds the window for the second query.
  Problem only = pr;
  only.query_pos = {7};
  only.q.assign(pr.q.begin() + 4 * 8, pr.q.end());
  only.p.window = 0;
  for (int j = 0; j < 5; ++j) only.key_pos[j] = -1;
  const std::vector<float> reference = run(only);
  for (size_t i = 0; i < reference.size(); ++i) EXPECT_EQ(windowed[4 * 8 + i], reference[i]) << i;
}

TEST(Attention, SinksJoinTheDenominatorOnly) {
  AttentionParams p = gqa(2, 1, 4, 4);
  const float sinks[2] = {0.5f, -3.0f};
  p.sinks = sinks;
  expect_matches_naive(make_problem(p, {2, 3}, {0, 1, 2, 3}, 7));

  // By hand: one key with score s and a sink z: out = v * e^s / (e^s + e^z).
  Problem pr = make_problem(p, {0}, {0}, 8);
  const std::vector<float> out = run(pr);
  for (int h = 0; h < 2; ++h) {
    double sh = 0;
    for (int d = 0; d < 4; ++d) sh += double(pr.q[h * 4 + d]) * pr.k[d];
    sh *= p.scale;
    const double w = std::exp(sh) / (std::exp(sh) + std::exp(double(sinks[h])));
    for (int d = 0; d < 4; ++d) EXPECT_NEAR(out[h * 4 + d], pr.v[d] * w, 1e-6) << h << "," << d;
  }
}

TEST(Attention, SoftcapBoundsScoresBeforeMasking) {
  AttentionParams p = gqa(2, 2, 8, 4);
  p.scale = 4.0f;  // large scores, so the cap matters
  p.softcap = 2.0f;
  Problem pr = make_problem(p, {3, 4}, {0, 1, 2, 3, 4, -1}, 9);
  expect_matches_naive(pr);
  AttentionParams uncapped = p;
  uncapped.softcap = 0.0f;
  Problem other = pr;
  other.p = uncapped;
  const std::vector<float> a = run(pr), b = run(other);
  double diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff += std::fabs(a[i] - b[i]);
  EXPECT_GT(diff, 1e-2);
}

TEST(Attention, NothingVisibleGivesZeros) {
  AttentionParams p = gqa(2, 1, 4, 3);
  const float sinks[2] = {1.0f, 1.0f};
  p.sinks = sinks;
  p.window = 2;
  // Query 0 sees only future or empty keys; query 9 has only keys outside its window.
  Problem pr = make_problem(p, {0, 9}, {1, 2, -1, 5}, 10);
  const std::vector<float> out = run(pr);
  for (float v : out) EXPECT_EQ(v, 0.0f);
  pr.p.sinks = nullptr;  // without sinks too
  for (float v : run(pr)) EXPECT_EQ(v, 0.0f);
  pr.key_pos.clear();  // an empty cache
  pr.k.clear();
  pr.v.clear();
  for (float v : run(pr)) EXPECT_EQ(v, 0.0f);
}

TEST(Attention, LargeScoresDoNotOverflow) {
  AttentionParams p = gqa(1, 1, 2, 2);
  p.scale = 1.0f;
  Problem pr{p, {1}, {0, 1}, {100.0f, 0.0f}, {10.0f, 0.0f, 9.0f, 0.0f}, {1.0f, 2.0f, 3.0f, 4.0f}};
  // Scores 1000 and 900: the first key takes everything.
  const std::vector<float> out = run(pr);
  EXPECT_FLOAT_EQ(out[0], 1.0f);
  EXPECT_FLOAT_EQ(out[1], 2.0f);
}

TEST(Attention, RejectsUnevenHeadGroups) {
  Problem pr = make_problem(gqa(3, 2, 4, 4), {0}, {0}, 11);
  std::vector<float> out(12);
  EXPECT_THROW(attention(pr.q.data(), pr.query_pos.data(), 1, pr.k.data(), pr.v.data(), pr.key_pos.data(), 1, pr.p,
                         out.data()),
               Error);
}

}  // namespace
}  // namespace archscope::reference
