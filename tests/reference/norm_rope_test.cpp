// rms_norm and rope: known values, partial and offset rotation, per-token positions,
// frequency factors, linear scaling and YaRN (against an independent double-precision
// derivation and against numbers produced by ggml).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include "archscope/error.h"
#include "reference/ops.h"
#include "reference_test_data.h"

namespace archscope::reference {
namespace {

using testing::Lcg;

void expect_all_near(const std::vector<float>& got, const std::vector<double>& want, double tol) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tol) << "element " << i;
}

// ---- rms_norm

TEST(RmsNorm, KnownValues) {
  const float x[4] = {1, 2, 3, 4};  // mean of squares 7.5
  std::vector<float> y(4);
  rms_norm(x, nullptr, y.data(), 1, 4, 0.0f);
  expect_all_near(y, {0.3651483716701107, 0.7302967433402214, 1.0954451150103321, 1.4605934866804429}, 1e-6);

  const float w[4] = {1, 0.5f, -1, 2};
  rms_norm(x, w, y.data(), 1, 4, 0.0f);
  expect_all_near(y, {0.3651483716701107, 0.3651483716701107, -1.0954451150103321, 2.9211869733608857}, 1e-6);

  rms_norm(x, nullptr, y.data(), 1, 4, 1.0f);  // eps joins the mean: 1 / sqrt(8.5)
  expect_all_near(y, {0.3429971702850177, 0.6859943405700354, 1.0289915108550531, 1.3719886811400708}, 1e-6);
}

TEST(RmsNorm, RowsAreIndependentAndMatchDouble) {
  const int64_t rows = 3, n = 1001;
  Lcg rng(17);
  std::vector<float> x(rows * n), w(n), y(rows * n);
  for (float& v : x) v = rng.uniform() * 7.0f;
  for (float& v : w) v = rng.uniform();
  rms_norm(x.data(), w.data(), y.data(), rows, n, 1e-6f);
  for (int64_t r = 0; r < rows; ++r) {
    double ss = 0;
    for (int64_t i = 0; i < n; ++i) ss += double(x[r * n + i]) * x[r * n + i];
    const double s = 1.0 / std::sqrt(ss / n + 1e-6);
    for (int64_t i = 0; i < n; ++i) {
      const double want = x[r * n + i] * s * w[i];
      EXPECT_NEAR(y[r * n + i], want, 1e-6 * std::fabs(want) + 1e-7) << r << "," << i;
    }
  }
}

// ---- rope: x = {1, 2, 3, 4} at position 1 with base 10000 and 4 rotating dims turns
// pair 0 by 1 radian and pair 1 by 10000^(-1/2) = 0.01 radian.

constexpr double kNeox1234[4] = {
    1 * 0.5403023058681398 - 3 * 0.8414709848078965,        // x0 cos 1 - x2 sin 1
    2 * 0.9999500004166653 - 4 * 0.009999833334166664,      // x1 cos .01 - x3 sin .01
    1 * 0.8414709848078965 + 3 * 0.5403023058681398,        // x0 sin 1 + x2 cos 1
    2 * 0.009999833334166664 + 4 * 0.9999500004166653};    // x1 sin .01 + x3 cos .01
constexpr double kNormal1234[4] = {
    1 * 0.5403023058681398 - 2 * 0.8414709848078965,        // pair (0, 1) by 1 radian
    1 * 0.8414709848078965 + 2 * 0.5403023058681398,
    3 * 0.9999500004166653 - 4 * 0.009999833334166664,      // pair (2, 3) by 0.01
    3 * 0.009999833334166664 + 4 * 0.9999500004166653};

RopeParams params(int dims, bool neox, int offset = 0) {
  RopeParams p;
  p.rotary_dims = dims;
  p.rotary_offset = offset;
  p.neox = neox;
  p.theta = 10000.0f;
  return p;
}

std::vector<float> roped(std::vector<float> x, int64_t tokens, int64_t heads, std::vector<int32_t> pos,
                         const RopeParams& p) {
  rope(x.data(), tokens, heads, static_cast<int64_t>(x.size()) / (tokens * heads), pos.data(), p);
  return x;
}

TEST(Rope, NeoxPairsHalves) {
  expect_all_near(roped({1, 2, 3, 4}, 1, 1, {1}, params(4, true)),
                  {kNeox1234[0], kNeox1234[1], kNeox1234[2], kNeox1234[3]}, 1e-6);
}

TEST(Rope, NormalPairsNeighbours) {
  expect_all_near(roped({1, 2, 3, 4}, 1, 1, {1}, params(4, false)),
                  {kNormal1234[0], kNormal1234[1], kNormal1234[2], kNormal1234[3]}, 1e-6);
}

TEST(Rope, PartialRotationLeavesTheRestAlone) {
  const std::vector<float> y = roped({1, 2, 3, 4, 5, 6}, 1, 1, {1}, params(4, true));
  expect_all_near(y, {kNeox1234[0], kNeox1234[1], kNeox1234[2], kNeox1234[3], 5, 6}, 1e-6);
  EXPECT_EQ(y[4], 5.0f);
  EXPECT_EQ(y[5], 6.0f);
}

TEST(Rope, OffsetRotatesOnlyTheRangeFromTheOffset) {
  std::vector<float> y = roped({9, 8, 1, 2, 3, 4}, 1, 1, {1}, params(4, true, 2));
  expect_all_near(y, {9, 8, kNeox1234[0], kNeox1234[1], kNeox1234[2], kNeox1234[3]}, 1e-6);
  EXPECT_EQ(y[0], 9.0f);
  EXPECT_EQ(y[1], 8.0f);

  y = roped({9, 8, 1, 2, 3, 4, 7, 6}, 1, 1, {1}, params(4, false, 2));
  expect_all_near(y, {9, 8, kNormal1234[0], kNormal1234[1], kNormal1234[2], kNormal1234[3], 7, 6}, 1e-6);
  EXPECT_EQ(y[6], 7.0f);
  EXPECT_EQ(y[7], 6.0f);
}

TEST(Rope, PositionsArePerTokenAndHeadsTurnAlike) {
  Lcg rng(2);
  std::vector<float> x(3 * 2 * 8);
  for (float& v : x) v = rng.uniform();
  const RopeParams p = params(8, true);
  const std::vector<float> y = roped(x, 3, 2, {0, 1, 3}, p);
  for (int i = 0; i < 16; ++i) EXPECT_EQ(y[i], x[i]) << "position 0 does not turn";
  for (int t = 1; t < 3; ++t) {
    for (int h = 0; h < 2; ++h) {
      const int32_t pos = t == 1 ? 1 : 3;
      const std::vector<float> head(x.begin() + (t * 2 + h) * 8, x.begin() + (t * 2 + h + 1) * 8);
      const std::vector<float> alone = roped(head, 1, 1, {pos}, p);
      for (int d = 0; d < 8; ++d) EXPECT_EQ(y[(t * 2 + h) * 8 + d], alone[d]) << t << "," << h << "," << d;
    }
  }
}

TEST(Rope, FreqFactorsDivideTheFrequencies) {
  // A huge factor stops pair 1 from turning; pair 0 is unaffected.
  const float stop_pair1[2] = {1.0f, 1e30f};
  RopeParams p = params(4, true);
  p.freq_factors = stop_pair1;
  const std::vector<float> y = roped({1, 2, 3, 4}, 1, 1, {1}, p);
  EXPECT_NEAR(y[0], kNeox1234[0], 1e-6);
  EXPECT_NEAR(y[2], kNeox1234[2], 1e-6);
  EXPECT_EQ(y[1], 2.0f);
  EXPECT_EQ(y[3], 4.0f);

  // Factor 2 at position 2 turns pair 0 exactly as factor 1 at position 1.
  const float halve_pair0[2] = {2.0f, 1.0f};
  p.freq_factors = halve_pair0;
  const std::vector<float> a = roped({1, 2, 3, 4}, 1, 1, {2}, p);
  const std::vector<float> b = roped({1, 2, 3, 4}, 1, 1, {1}, params(4, true));
  EXPECT_EQ(a[0], b[0]);
  EXPECT_EQ(a[2], b[2]);
  EXPECT_NE(a[1], b[1]);  // pair 1 still turns at position 2
}

TEST(Rope, WithoutExtFactorScalingIsLinear) {
  // freq_scale 0.5 at position 2 is position 1; attn_factor scales the result.
  RopeParams p = params(8, false);
  p.freq_scale = 0.5f;
  p.attn_factor = 2.0f;
  p.beta_fast = 32;
  p.original_context = 4096;  // ignored without ext_factor
  const std::vector<float> x = {1, -2, 3, 0.5f, 0.25f, 7, -1, 2};
  const std::vector<float> scaled = roped(x, 1, 1, {2}, p);
  const std::vector<float> plain = roped(x, 1, 1, {1}, params(8, false));
  for (int d = 0; d < 8; ++d) EXPECT_EQ(scaled[d], 2.0f * plain[d]) << d;
}

TEST(Rope, RejectsRangesOutsideTheHead) {
  std::vector<float> x(8);
  const int32_t pos = 0;
  EXPECT_THROW(rope(x.data(), 1, 1, 8, &pos, params(6, true, 4)), Error);
  EXPECT_THROW(rope(x.data(), 1, 1, 8, &pos, params(3, true)), Error);
  EXPECT_NO_THROW(rope(x.data(), 1, 1, 8, &pos, params(0, true)));
}

// ---- YaRN

// YaRN re-derived in double from its definition (Peng et al., as ggml implements it):
// pairs rotating fewer than beta_slow times over the original context are interpolated
// (theta * freq_scale), pairs rotating more than beta_fast times keep theta, a linear ramp
// between (the correction dims, rounded outwards) mixes by ext_factor, and cos/sin are
// scaled by attn_factor * (1 + 0.1 ln(1 / freq_scale)).
std::vector<double> yarn_double(const std::vector<float>& x, int64_t tokens, int64_t heads, int64_t head_dim,
                                const std::vector<int32_t>& pos, const RopeParams& p) {
  const int n = p.rotary_dims;
  auto corr_dim = [&](double rotations) {
    return n * std::log(p.original_context / (rotations * 2 * std::numbers::pi)) / (2 * std::log(double(p.theta)));
  };
  const double low = std::max(0.0, std::floor(corr_dim(p.beta_fast)));
  const double high = std::min(double(n - 1), std::ceil(corr_dim(p.beta_slow)));
  std::vector<double> y(x.begin(), x.end());
  for (int64_t t = 0; t < tokens; ++t) {
    for (int i = 0; i < n / 2; ++i) {
      const double ff = p.freq_factors ? p.freq_factors[i] : 1.0;
      const double extrap = pos[t] * std::pow(double(p.theta), -2.0 * i / n) / ff;
      const double interp = p.freq_scale * extrap;
      const double ramp = 1 - std::clamp((i - low) / std::max(0.001, high - low), 0.0, 1.0);
      const double mix = ramp * p.ext_factor;
      const double theta = interp * (1 - mix) + extrap * mix;
      const double mscale = p.attn_factor * (p.ext_factor != 0 ? 1 + 0.1 * std::log(1.0 / p.freq_scale) : 1.0);
      for (int64_t h = 0; h < heads; ++h) {
        const size_t base = (t * heads + h) * head_dim + p.rotary_offset;
        const size_t a = base + (p.neox ? i : 2 * i), b = base + (p.neox ? i + n / 2 : 2 * i + 1);
        const double x0 = x[a], x1 = x[b];
        y[a] = (x0 * std::cos(theta) - x1 * std::sin(theta)) * mscale;
        y[b] = (x0 * std::sin(theta) + x1 * std::cos(theta)) * mscale;
      }
    }
  }
  return y;
}

// Produced at development time by ggml_rope_ext (+ ggml_rope_set_offset) on ggml's CPU
// backend, llama.cpp commit 80fb11ac73e6 built without SIMD flags (see quants_test.cpp),
// for the inputs of the YaRN tests below; printed with %.9g.
constexpr float kGgmlYarnNeox[] = {
    0.84990561, 0.196969837, -0.959363401, -0.684691548, 0.94202745, 0.904134929,
    -0.450475007, -0.774681926, -0.207113057, 0.494311392, 0.84348911, -0.588894784,
    -0.833205163, 0.0329759195, 0.111632839, -0.518976212, 0.0857550576, 0.105999015,
    0.500938118, -0.840091109, 0.431705147, -0.490808457, -0.351833791, 1.01176775,
    -0.200310141, -0.822836041, 0.506187558, -0.552720428, 0.808817983, 0.566738307,
    -0.687996566, 0.0242641605, 0.480725467, -0.0177993625, -0.881921172, -0.125001758,
    0.848290682, 0.148291916, -0.866638839, -0.918148279, 0.934032083, -0.636580586,
    0.245126098, 0.433704615, -0.517091513, 0.932661474, -0.823315501, -0.774209738,
    -0.407146931, -0.41631785, -1.22325385, -0.493633151, -0.32733652, -0.297204912,
    -0.368699193, 0.667993367, 0.72844547, -0.18898356, 0.21864441, -0.693990052,
    -1.13292468, 0.622216463, -0.75738126, 0.00782112312, -1.45233107, -0.621655285,
    -0.933515012, 0.882484078, -0.0281615928, -0.5678038, -0.366582334, -0.204407111,
    -0.255771101, 1.20231354, 0.969217777, 0.506252885, 0.912004471, 1.08328891,
    0.357289612, -0.916214228, 0.294386119, 0.0975750089, 0.855078697, -0.62387234,
    -0.672373116, -0.0823998749, -0.658485532, -0.562128663, 0.248337746, -0.983812749,
    -0.9856354, 0.165001601, 0.121806502, -0.314129561, -1.36827171, -1.12648118};
constexpr float kGgmlYarnNormalOffsetFreqFactors[] = {
    -0.56357038, 0.988405824, -0.756487727, -0.638035178, -0.349021554, 0.673358798,
    -0.82945931, -0.565136969, 0.579083323, -0.0607617609, 1.04992402, -0.191179574,
    0.802670598, 0.509272397, 0.759129286, 0.648646355, -0.10206151, -0.712026,
    -0.74058342, 0.847764373, 0.743882656, 0.0299184322, -0.949847937, -0.246879339,
    -0.370953202, -0.0525761843, 0.14587754, 1.13158751, 1.05970263, -0.425864726,
    -0.663788021, -0.883614779, 0.194381326, 0.212361932, -0.879305124, 0.970665932,
    0.950605512, -0.588493466, 0.25789094, -0.448546529};

struct YarnCase {
  int64_t head_dim, heads, tokens;
  std::vector<int32_t> pos;
  RopeParams p;
  uint64_t seed;
  std::vector<float> input() const {
    Lcg rng(seed);
    std::vector<float> x(head_dim * heads * tokens);
    for (float& v : x) v = rng.uniform();
    return x;
  }
};

YarnCase yarn_neox() {
  YarnCase c{16, 2, 3, {0, 7, 1234}, params(16, true), 11};
  c.p.freq_scale = 0.25f;
  c.p.ext_factor = 1.0f;
  c.p.original_context = 512;
  return c;
}

const float kStopLastPair[4] = {1.0f, 2.0f, 4.0f, 1e30f};

YarnCase yarn_normal_offset_freq_factors() {
  YarnCase c{20, 1, 2, {5, 300}, params(8, false, 6), 12};
  c.p.theta = 500000.0f;
  c.p.freq_scale = 0.125f;
  c.p.ext_factor = 0.5f;
  c.p.attn_factor = 0.9f;
  c.p.original_context = 128;
  c.p.freq_factors = kStopLastPair;
  return c;
}

TEST(Rope, YarnMatchesDoublePrecisionDerivation) {
  for (const YarnCase& c : {yarn_neox(), yarn_normal_offset_freq_factors()}) {
    const std::vector<float> x = c.input();
    const std::vector<float> y = roped(x, c.tokens, c.heads, c.pos, c.p);
    const std::vector<double> want = yarn_double(x, c.tokens, c.heads, c.head_dim, c.pos, c.p);
    // f32 angles at position 1234 carry ~1e-4 rad of rounding; the ramp itself is exact.
    expect_all_near(y, want, 5e-4);
  }
}

TEST(Rope, YarnMatchesGgml) {
  const struct {
    YarnCase c;
    const float* golden;
  } cases[] = {{yarn_neox(), kGgmlYarnNeox}, {yarn_normal_offset_freq_factors(), kGgmlYarnNormalOffsetFreqFactors}};
  for (const auto& [c, golden] : cases) {
    const std::vector<float> y = roped(c.input(), c.tokens, c.heads, c.pos, c.p);
    // Same f32 operations as ggml; only libm's cosf/sinf may differ by an ulp elsewhere.
    for (size_t i = 0; i < y.size(); ++i) EXPECT_NEAR(y[i], golden[i], 2e-6) << i;
  }
}

TEST(Rope, YarnRampSeparatesFastAndSlowPairs) {
  // With ext_factor 1, the fastest pair (0) keeps its original angle and the slowest is
  // fully interpolated; both get the same magnitude correction.
  YarnCase c = yarn_neox();
  c.tokens = 1;
  c.heads = 1;
  c.pos = {100};
  const std::vector<float> x = {1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0};  // pair 0: (1, 0); pair 7: (1, 0)
  const std::vector<float> y = roped(x, 1, 1, c.pos, c.p);
  const double mscale = 1 + 0.1 * std::log(4.0);
  EXPECT_NEAR(y[0], std::cos(100.0) * mscale, 1e-4);  // extrapolated: angle = pos
  EXPECT_NEAR(y[8], std::sin(100.0) * mscale, 1e-4);
  const double slow = 100.0 * std::pow(10000.0, -14.0 / 16) * 0.25;  // interpolated: angle * freq_scale
  EXPECT_NEAR(y[7], std::cos(slow) * mscale, 1e-5);
  EXPECT_NEAR(y[15], std::sin(slow) * mscale, 1e-5);
}

}  // namespace
}  // namespace archscope::reference
