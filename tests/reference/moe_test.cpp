// MoE routing, expert products and gates: known values. (Expected numbers computed in
// double from the formulas in ops.h.)
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "archscope/error.h"
#include "reference/ops.h"

namespace archscope::reference {
namespace {

TEST(Moe, SigmoidRoutingBiasSelectsButDoesNotWeigh) {
  // sigmoid: 0.6225, 0.2689, 0.8808, 0.5; the bias lifts expert 1 into the top 2, but its
  // weight is its own unbiased score: 0.2689 and 0.8808 renormalised, times 2.5.
  const std::vector<float> logits = {0.5f, -1.0f, 2.0f, 0.0f};
  const std::vector<float> bias = {0.0f, 1.0f, 0.0f, 0.0f};
  std::vector<float> out(4);
  route(logits.data(), out.data(), 1, {RouterScoreFn::Sigmoid, 4, 2, true, 2.5f, bias.data()});
  EXPECT_EQ(out[0], 1.0f);  // 1.2689 with the bias: first
  EXPECT_EQ(out[1], 2.0f);
  EXPECT_NEAR(out[2], 0.5847882399400746, 1e-6);
  EXPECT_NEAR(out[3], 1.9152117600599254, 1e-6);

  route(logits.data(), out.data(), 1, {RouterScoreFn::Sigmoid, 4, 2, false, 1.0f, nullptr});
  EXPECT_EQ(out[0], 2.0f);  // without the bias: experts 2 and 0, raw scores
  EXPECT_EQ(out[1], 0.0f);
  EXPECT_NEAR(out[2], 0.8807970779778823, 1e-6);
  EXPECT_NEAR(out[3], 0.6224593312018546, 1e-6);
}

TEST(Moe, SoftmaxAndSqrtSoftplusScores) {
  const std::vector<float> logits = {0.5f, -1.0f, 2.0f, 0.0f, /* token 2: a tie */ 1.0f, 3.0f, 3.0f, 1.0f};
  std::vector<float> out(2 * 4);
  route(logits.data(), out.data(), 2, {RouterScoreFn::Softmax, 4, 2, false, 1.0f, nullptr});
  EXPECT_EQ(out[0], 2.0f);
  EXPECT_EQ(out[1], 0.0f);
  EXPECT_NEAR(out[2], 0.7100999228861742, 1e-6);  // softmax over all 4 experts
  EXPECT_NEAR(out[3], 0.15844470951497971, 1e-6);
  EXPECT_EQ(out[4], 1.0f);  // equal scores: the lower id first
  EXPECT_EQ(out[5], 2.0f);

  route(logits.data(), out.data(), 1, {RouterScoreFn::SqrtSoftplus, 4, 1, false, 1.0f, nullptr});
  EXPECT_EQ(out[0], 2.0f);
  EXPECT_NEAR(out[1], 1.4583991261115636, 1e-6);  // sqrt(log(1 + e^2))
}

TEST(Moe, TopKOutsideTheExpertsIsAnError) {
  const std::vector<float> logits(4, 0.0f);
  std::vector<float> out(10);
  EXPECT_THROW(route(logits.data(), out.data(), 1, {RouterScoreFn::Sigmoid, 4, 5, true, 1.0f, nullptr}), Error);
  EXPECT_THROW(route(logits.data(), out.data(), 1, {RouterScoreFn::Sigmoid, 4, 0, true, 1.0f, nullptr}), Error);
}

TEST(Moe, ExpertProductsUseTheChosenExpertsAndMixByWeight) {
  // Three 2 x 2 f32 experts: expert e is (e + 1) times the identity.
  std::vector<float> w(3 * 4, 0.0f);
  for (int e = 0; e < 3; ++e) w[e * 4] = w[e * 4 + 3] = float(e + 1);
  std::vector<WeightView> experts;
  for (int e = 0; e < 3; ++e) {
    experts.push_back({GgmlType::F32, reinterpret_cast<const uint8_t*>(w.data() + e * 4), 2, 2, 2 * sizeof(float)});
  }
  const std::vector<float> route_row = {2.0f, 0.0f, 0.25f, 0.75f};  // experts 2 and 0, weights 0.25 and 0.75
  const std::vector<float> x = {1.0f, -2.0f};
  std::vector<float> out(4);
  moe_matmul(experts.data(), 3, x.data(), true, route_row.data(), 2, out.data(), 1);
  EXPECT_EQ(out, (std::vector<float>{3.0f, -6.0f, 1.0f, -2.0f}));
  const std::vector<float> per_choice = {1.0f, 1.0f, 2.0f, 3.0f};  // choice 0 reads [1, 1], choice 1 [2, 3]
  moe_matmul(experts.data(), 3, per_choice.data(), false, route_row.data(), 2, out.data(), 1);
  EXPECT_EQ(out, (std::vector<float>{3.0f, 3.0f, 2.0f, 3.0f}));
  std::vector<float> mixed(2);
  moe_sum(out.data(), route_row.data(), 2, mixed.data(), 1, 2);
  EXPECT_EQ(mixed, (std::vector<float>{0.25f * 3 + 0.75f * 2, 0.25f * 3 + 0.75f * 3}));

  const std::vector<float> bad_route = {3.0f, 0.0f, 1.0f, 0.0f};  // no expert 3
  EXPECT_THROW(moe_matmul(experts.data(), 3, x.data(), true, bad_route.data(), 2, out.data(), 1), Error);
}

TEST(Moe, GatesAndDroppedHeads) {
  EXPECT_NEAR(softplus(1.0f), 1.3132616875182228, 1e-6);
  EXPECT_EQ(softplus(30.0f), 30.0f);  // x itself above 20, as ggml
  EXPECT_EQ(softplus(-30.0f), 0.0f);   // 1 + e^-30 is 1 in f32, as in ggml's logf(1 + expf(x))
  // Two heads of 2 columns, one gate each.
  const std::vector<float> a = {1, 2, 3, 4}, gate = {10, 100};
  std::vector<float> out(4);
  mul_grouped(a.data(), gate.data(), out.data(), 1, 4, 2);
  EXPECT_EQ(out, (std::vector<float>{10, 20, 300, 400}));
  // Two KV groups of 3 heads of 1 column; the first 2 of each group stay.
  const std::vector<float> heads = {1, 2, 3, 4, 5, 6};
  std::vector<float> kept(6);
  keep_heads(heads.data(), kept.data(), 6, 1, 3, 2);
  EXPECT_EQ(kept, (std::vector<float>{1, 2, 0, 4, 5, 0}));
}

}  // namespace
}  // namespace archscope::reference
