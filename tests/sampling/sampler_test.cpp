// The sampler: greedy, seeds, each transform of the chain on crafted distributions, the
// repetition penalty, and empirical frequencies against the distribution drawn from.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <vector>

#include "archscope/error.h"
#include "archscope/sampler.h"

namespace archscope {
namespace {

// Logits whose softmax is exactly `probs`.
std::vector<float> logits_of(const std::vector<double>& probs) {
  std::vector<float> l;
  for (double p : probs) l.push_back(static_cast<float>(std::log(p)));
  return l;
}

SamplerSettings plain(float temperature = 1.0f) {
  SamplerSettings s;
  s.temperature = temperature;
  s.top_k = 0;
  s.top_p = 1.0f;
  s.min_p = 0.0f;
  s.repeat_penalty = 1.0f;
  s.seed = 42;
  return s;
}

std::vector<int32_t> ids(const std::vector<TokenProb>& d) {
  std::vector<int32_t> out;
  for (const TokenProb& t : d) out.push_back(t.id);
  return out;
}

TEST(Sampler, GreedyPicksArgmax) {
  SamplerSettings s;  // defaults, then greedy
  s.temperature = 0.0f;
  Sampler sampler(s);
  const std::vector<float> logits = {0.1f, 2.5f, -1.0f, 2.4f, 0.0f};
  for (int i = 0; i < 10; ++i) EXPECT_EQ(sampler.sample(logits), 1);
  s.temperature = -1.0f;
  EXPECT_EQ(Sampler(s).sample(logits), 1);
  const std::vector<TokenProb> d = Sampler(s).distribution(logits);
  ASSERT_EQ(d.size(), 1u);
  EXPECT_EQ(d[0].id, 1);
  EXPECT_FLOAT_EQ(d[0].prob, 1.0f);
}

TEST(Sampler, GreedyTiesGoToLowerId) {
  Sampler sampler(plain(0.0f));
  EXPECT_EQ(sampler.sample(std::vector<float>{1.0f, 3.0f, 3.0f, 2.0f}), 1);
}

TEST(Sampler, GreedyUsesPenalisedLogits) {
  SamplerSettings s = plain(0.0f);
  s.repeat_penalty = 2.0f;
  Sampler sampler(s);
  const std::vector<float> logits = {1.0f, 3.0f, 2.0f};
  const std::vector<int32_t> history = {1};
  EXPECT_EQ(sampler.sample(logits, history), 2);  // 3 / 2 = 1.5 < 2
}

TEST(Sampler, SameSeedSameTokens) {
  SamplerSettings s = plain();
  s.seed = 1234;
  const std::vector<float> logits = {0.5f, 0.4f, 0.3f, 0.2f, 0.1f, 0.0f, -0.1f, -0.2f};
  Sampler a(s), b(s);
  std::vector<int32_t> ta, tb;
  for (int i = 0; i < 200; ++i) {
    ta.push_back(a.sample(logits));
    tb.push_back(b.sample(logits));
  }
  EXPECT_EQ(ta, tb);
  a.reseed(1234);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(a.sample(logits), ta[i]) << "draw " << i;
}

TEST(Sampler, DifferentSeedsDiffer) {
  const std::vector<float> logits = {0.5f, 0.4f, 0.3f, 0.2f, 0.1f, 0.0f, -0.1f, -0.2f};
  SamplerSettings s = plain();
  s.seed = 1;
  Sampler a(s);
  s.seed = 2;
  Sampler b(s);
  int differences = 0;
  for (int i = 0; i < 200; ++i) differences += a.sample(logits) != b.sample(logits);
  EXPECT_GT(differences, 100);  // 8 near-equal tokens: most draws differ
}

TEST(Sampler, UniformDrawIsPortable) {
  // The C++ standard fixes std::mt19937_64's 10000th output for the default seed 5489;
  // the uniform is its top 53 bits, so the draws are the same with any library.
  SamplerSettings s = plain();
  s.seed = 5489;
  Sampler sampler(s);
  double u = 0.0, sum = 0.0;
  for (int i = 0; i < 10000; ++i) {
    u = sampler.next_uniform();
    ASSERT_GE(u, 0.0);
    ASSERT_LT(u, 1.0);
    sum += u;
  }
  EXPECT_EQ(u, static_cast<double>(9981545732273789042ull >> 11) * 0x1.0p-53);
  EXPECT_NEAR(sum / 10000, 0.5, 0.01);
}

TEST(Sampler, TopKKeepsTheKMostLikely) {
  SamplerSettings s = plain();
  s.top_k = 3;
  const std::vector<float> logits = {0.f, 1.f, 2.f, 3.f, 4.f, 5.f, 6.f, 7.f, 8.f, 9.f};
  const std::vector<TokenProb> d = Sampler(s).distribution(logits);
  EXPECT_EQ(ids(d), (std::vector<int32_t>{9, 8, 7}));
  const double z = std::exp(9.0) + std::exp(8.0) + std::exp(7.0);
  EXPECT_NEAR(d[0].prob, std::exp(9.0) / z, 1e-6);
  EXPECT_NEAR(d[2].prob, std::exp(7.0) / z, 1e-6);
  s.top_k = 100;  // more than the vocabulary: everything stays
  EXPECT_EQ(Sampler(s).distribution(logits).size(), 10u);
}

TEST(Sampler, TopPKeepsTheSmallestSetReachingP) {
  const std::vector<float> logits = logits_of({0.15, 0.5, 0.05, 0.3});
  SamplerSettings s = plain();
  s.top_p = 0.7f;
  EXPECT_EQ(ids(Sampler(s).distribution(logits)), (std::vector<int32_t>{1, 3}));
  s.top_p = 0.81f;
  EXPECT_EQ(ids(Sampler(s).distribution(logits)), (std::vector<int32_t>{1, 3, 0}));
  s.top_p = 0.4f;  // the first token alone reaches p
  EXPECT_EQ(ids(Sampler(s).distribution(logits)), (std::vector<int32_t>{1}));
  s.top_p = 0.0f;  // min_keep 1
  EXPECT_EQ(ids(Sampler(s).distribution(logits)), (std::vector<int32_t>{1}));
  s.top_p = 0.7f;  // renormalised over what stays
  const std::vector<TokenProb> d = Sampler(s).distribution(logits);
  EXPECT_NEAR(d[0].prob, 0.5 / 0.8, 1e-6);
  EXPECT_NEAR(d[1].prob, 0.3 / 0.8, 1e-6);
}

TEST(Sampler, MinPIsRelativeToTheMostLikely) {
  const std::vector<float> logits = logits_of({0.15, 0.5, 0.05, 0.3});
  SamplerSettings s = plain();
  s.min_p = 0.2f;  // keep p >= 0.1
  EXPECT_EQ(ids(Sampler(s).distribution(logits)), (std::vector<int32_t>{1, 3, 0}));
  s.min_p = 0.5f;  // keep p >= 0.25
  EXPECT_EQ(ids(Sampler(s).distribution(logits)), (std::vector<int32_t>{1, 3}));
  s.min_p = 1.0f;  // only the maximum
  EXPECT_EQ(ids(Sampler(s).distribution(logits)), (std::vector<int32_t>{1}));
}

TEST(Sampler, TemperatureScalesLogits) {
  const std::vector<float> logits = {1.0f, 2.0f, 0.0f};
  for (float t : {0.5f, 1.0f, 2.0f}) {
    const std::vector<TokenProb> d = Sampler(plain(t)).distribution(logits);
    ASSERT_EQ(d.size(), 3u);
    const double z = std::exp(1.0 / t) + std::exp(2.0 / t) + std::exp(0.0);
    EXPECT_EQ(d[0].id, 1);
    EXPECT_NEAR(d[0].prob, std::exp(2.0 / t) / z, 1e-6) << "temperature " << t;
    EXPECT_NEAR(d[1].prob, std::exp(1.0 / t) / z, 1e-6) << "temperature " << t;
    EXPECT_NEAR(d[2].prob, 1.0 / z, 1e-6) << "temperature " << t;
  }
}

TEST(Sampler, FiltersSeeTheUntemperedDistribution) {
  // llama.cpp's chain applies top-p and min-p before temperature: a hot temperature
  // flattens what survives but does not let more tokens through.
  const std::vector<float> logits = logits_of({0.15, 0.5, 0.05, 0.3});
  SamplerSettings s = plain(10.0f);
  s.top_p = 0.7f;
  const std::vector<TokenProb> d = Sampler(s).distribution(logits);
  EXPECT_EQ(ids(d), (std::vector<int32_t>{1, 3}));
  EXPECT_LT(d[0].prob, 0.53f);  // nearly flat after temperature 10
  s.top_p = 1.0f;
  s.min_p = 0.5f;
  EXPECT_EQ(ids(Sampler(s).distribution(logits)), (std::vector<int32_t>{1, 3}));
}

TEST(Sampler, TopKThenTopPThenMinP) {
  // Top-p after top-k renormalises over the k survivors.
  const std::vector<float> logits = logits_of({0.4, 0.3, 0.2, 0.1});
  SamplerSettings s = plain();
  s.top_k = 2;    // 0.4, 0.3 -> 0.571, 0.429
  s.top_p = 0.5f; // the first alone reaches 0.5 among the two
  EXPECT_EQ(ids(Sampler(s).distribution(logits)), (std::vector<int32_t>{0}));
  s.top_p = 0.6f;
  EXPECT_EQ(ids(Sampler(s).distribution(logits)), (std::vector<int32_t>{0, 1}));
}

TEST(Sampler, RepeatPenaltyDividesPositiveAndMultipliesNegative) {
  SamplerSettings s = plain();
  s.repeat_penalty = 2.0f;
  const std::vector<float> logits = {4.0f, -1.0f, 1.0f, 0.0f};
  const std::vector<int32_t> history = {0, 1, 0, 0, 99, -5};  // repeats count once; bad ids ignored
  std::map<int32_t, float> after;
  for (const TokenProb& t : Sampler(s).distribution(logits, history)) after[t.id] = t.logit;
  EXPECT_FLOAT_EQ(after[0], 2.0f);
  EXPECT_FLOAT_EQ(after[1], -2.0f);
  EXPECT_FLOAT_EQ(after[2], 1.0f);
  EXPECT_FLOAT_EQ(after[3], 0.0f);
}

TEST(Sampler, RepeatPenaltyLooksAtTheLastNTokens) {
  SamplerSettings s = plain();
  s.repeat_penalty = 2.0f;
  s.repeat_last_n = 2;
  const std::vector<float> logits = {4.0f, 4.0f, 4.0f};
  const std::vector<int32_t> history = {0, 1, 2, 2};
  auto logit_of = [&](const SamplerSettings& settings, int32_t id) {
    for (const TokenProb& t : Sampler(settings).distribution(logits, history)) {
      if (t.id == id) return t.logit;
    }
    return NAN;
  };
  EXPECT_FLOAT_EQ(logit_of(s, 0), 4.0f);  // outside the window
  EXPECT_FLOAT_EQ(logit_of(s, 1), 4.0f);
  EXPECT_FLOAT_EQ(logit_of(s, 2), 2.0f);
  s.repeat_last_n = 3;
  EXPECT_FLOAT_EQ(logit_of(s, 1), 2.0f);
  s.repeat_last_n = -1;  // the whole history
  EXPECT_FLOAT_EQ(logit_of(s, 0), 2.0f);
  s.repeat_last_n = 0;   // off
  EXPECT_FLOAT_EQ(logit_of(s, 2), 4.0f);
}

// Pearson's chi-square of observed counts against expected probabilities.
double chi_square(const std::map<int32_t, int>& counts, const std::vector<TokenProb>& expected, int n) {
  double chi2 = 0.0;
  for (const TokenProb& t : expected) {
    const double e = t.prob * n;
    const auto it = counts.find(t.id);
    const double o = it == counts.end() ? 0.0 : it->second;
    chi2 += (o - e) * (o - e) / e;
  }
  return chi2;
}

TEST(Sampler, EmpiricalFrequenciesMatchTheDistribution) {
  const std::vector<float> logits = {1.0f, 0.2f, -0.5f, 2.0f, 0.0f, 1.5f, -3.0f, -1.0f};
  struct Case { float temperature; int top_k; float top_p; float min_p; };
  for (const Case c : {Case{1.0f, 0, 1.0f, 0.0f}, Case{0.7f, 5, 1.0f, 0.0f}, Case{1.3f, 0, 0.9f, 0.05f},
                       Case{0.8f, 40, 0.95f, 0.05f}}) {
    SamplerSettings s = plain(c.temperature);
    s.top_k = c.top_k;
    s.top_p = c.top_p;
    s.min_p = c.min_p;
    s.seed = 7;
    Sampler sampler(s);
    const std::vector<TokenProb> expected = sampler.distribution(logits);
    std::map<int32_t, int> counts;
    const int n = 40000;
    for (int i = 0; i < n; ++i) counts[sampler.sample(logits)]++;
    for (const auto& [id, count] : counts) {
      bool allowed = false;
      for (const TokenProb& t : expected) allowed |= t.id == id;
      EXPECT_TRUE(allowed) << "token " << id << " was filtered out but drawn " << count << " times";
    }
    // Degrees of freedom <= 7; chi-square above 30 has probability < 1e-4 there.
    EXPECT_LT(chi_square(counts, expected, n), 30.0) << "temperature " << c.temperature << " top_k " << c.top_k;
  }
}

TEST(Sampler, NanAndInfiniteLogitsAreSafe) {
  Sampler sampler(plain());
  const std::vector<float> with_nan = {NAN, 1.0f, NAN};
  for (int i = 0; i < 20; ++i) EXPECT_EQ(sampler.sample(with_nan), 1);
  const std::vector<float> with_inf = {0.0f, INFINITY, 1.0f};
  for (int i = 0; i < 20; ++i) EXPECT_EQ(sampler.sample(with_inf), 1);
  const std::vector<float> all_minus_inf = {-INFINITY, -INFINITY};
  EXPECT_EQ(sampler.sample(all_minus_inf), 0);
}

TEST(Sampler, EmptyLogitsAreAnError) {
  Sampler sampler;
  EXPECT_THROW(sampler.sample(std::span<const float>{}), Error);
}

// Gemma 4's 262,144-token vocabulary: without top-k, top-p and min-p sort only what they
// keep, yet give what sorting everything gives (the same candidates, the same draws).
TEST(Sampler, LargeVocabularyWithoutTopKSortsOnlyWhatItKeeps) {
  std::vector<float> logits(262144);
  uint64_t state = 12345;
  // As a model's: a long tail (a spread of 4) and a few dozen likely tokens 16 to 20 above it.
  for (size_t i = 0; i < logits.size(); ++i) {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    logits[i] = static_cast<float>(state >> 40) * 0x1p-24f * 4.0f + (i % 5003 == 7 ? 16.0f + float(i % 5) : 0.0f);
  }
  for (auto [top_p, min_p] : {std::pair{0.95f, 0.0f}, std::pair{0.5f, 0.0f}, std::pair{1.0f, 0.05f},
                              std::pair{0.9f, 0.01f}}) {
    SamplerSettings s = plain(0.8f);
    s.top_p = top_p;
    s.min_p = min_p;
    Sampler sampler(s);
    // The reference: every candidate sorted first (top-k of the whole vocabulary).
    SamplerSettings sorted = s;
    sorted.top_k = int(logits.size());
    Sampler reference(sorted);
    EXPECT_EQ(sampler.distribution(logits, {}).size(), reference.distribution(logits, {}).size()) << top_p << " " << min_p;
    for (int i = 0; i < 5; ++i) ASSERT_EQ(sampler.sample(logits, {}), reference.sample(logits, {})) << i;
  }
  // And fast: a draw with top-p alone costs a few passes over the vocabulary, not a sort of it.
  SamplerSettings s = plain(0.8f), sorted = plain(0.8f);
  s.top_p = sorted.top_p = 0.95f;
  sorted.top_k = int(logits.size());
  auto seconds_per_draw = [&](const SamplerSettings& settings) {
    Sampler sampler(settings);
    const auto started = std::chrono::steady_clock::now();
    for (int i = 0; i < 20; ++i) sampler.sample(logits, {});
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() / 20;
  };
  const double fast = seconds_per_draw(s), full_sort = seconds_per_draw(sorted);
  std::printf("262,144 tokens, top-p 0.95: %.2f ms per draw (sorting everything: %.2f ms)\n", 1e3 * fast, 1e3 * full_sort);
  EXPECT_LT(fast, full_sort / 3);
}

TEST(TopProbabilities, RawSoftmaxMostLikelyFirst) {
  const std::vector<float> logits = {1.0f, 3.0f, 2.0f, 3.0f, 0.0f};
  const std::vector<TokenProb> top = top_probabilities(logits, 3);
  ASSERT_EQ(top.size(), 3u);
  EXPECT_EQ(ids(top), (std::vector<int32_t>{1, 3, 2}));  // ties by lower id
  double z = 0.0;
  for (float l : logits) z += std::exp(double(l));
  EXPECT_NEAR(top[0].prob, std::exp(3.0) / z, 1e-7);
  EXPECT_NEAR(top[2].prob, std::exp(2.0) / z, 1e-7);
  EXPECT_FLOAT_EQ(top[2].logit, 2.0f);
  EXPECT_EQ(top_probabilities(logits, 100).size(), 5u);
  EXPECT_TRUE(top_probabilities(logits, 0).empty());
  EXPECT_TRUE(top_probabilities({}, 3).empty());
}

TEST(TopProbabilities, IgnoresSamplerSettings) {
  // Large logits stay exact (no overflow) and sum to one over the vocabulary.
  const std::vector<float> logits = {1000.0f, 999.0f, 998.0f};
  const std::vector<TokenProb> top = top_probabilities(logits, 3);
  double sum = 0.0;
  for (const TokenProb& t : top) sum += t.prob;
  EXPECT_NEAR(sum, 1.0, 1e-6);
  EXPECT_NEAR(top[0].prob, 1.0 / (1.0 + std::exp(-1.0) + std::exp(-2.0)), 1e-6);
}

}  // namespace
}  // namespace archscope
