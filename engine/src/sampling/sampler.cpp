// Sampler: llama.cpp's common chain (penalties -> top-k -> top-p -> min-p -> temperature
// -> draw) over sampling/transforms.h, with a portable random draw.
#include "archscope/sampler.h"

#include <algorithm>
#include <cmath>

#include "archscope/error.h"
#include "sampling/transforms.h"

namespace archscope {

using sampling::Candidate;

namespace {

// Runs every transform; returns the surviving candidates, most likely first.
std::vector<Candidate> transformed(const SamplerSettings& s, std::span<const float> logits,
                                   std::span<const int32_t> history) {
  if (logits.empty()) throw Error("sampler: no logits to sample from (empty vocabulary)");
  std::vector<Candidate> c = sampling::make_candidates(logits);
  sampling::apply_repeat_penalty(c, history, s.repeat_penalty, s.repeat_last_n);
  if (s.temperature <= 0.0f) {
    // Greedy: the penalised argmax, lowest id among equals.
    c = {*std::min_element(c.begin(), c.end(), sampling::more_likely)};
    return c;
  }
  sampling::keep_top_k(c, s.top_k);
  sampling::keep_top_p(c, s.top_p);
  sampling::keep_min_p(c, s.min_p);
  sampling::sort_most_likely_first(c);  // (only when nothing above truncated: the draw walks this order)
  sampling::apply_temperature(c, s.temperature);
  return c;
}

}  // namespace

Sampler::Sampler(SamplerSettings settings) : settings_(settings), rng_(settings.seed) {}

void Sampler::reseed(uint64_t seed) {
  settings_.seed = seed;
  rng_.seed(seed);
}

double Sampler::next_uniform() {
  // The top 53 bits of one 64-bit draw, scaled to [0, 1): exact in a double and the same
  // everywhere (std::uniform_real_distribution's arithmetic differs between libraries).
  return static_cast<double>(rng_() >> 11) * 0x1.0p-53;
}

int32_t Sampler::sample(std::span<const float> logits, std::span<const int32_t> history) {
  const std::vector<Candidate> c = transformed(settings_, logits, history);
  const double u = next_uniform();  // drawn even for a single candidate, as llama.cpp does
  if (c.size() == 1) return c[0].id;
  double sum = 0.0;
  const std::vector<double> w = sampling::softmax_weights(c, sum);
  const double target = u * sum;
  double running = 0.0;
  for (size_t i = 0; i < c.size(); ++i) {
    running += w[i];
    if (running > target) return c[i].id;
  }
  return c.back().id;  // rounding left target at the very top
}

std::vector<TokenProb> Sampler::distribution(std::span<const float> logits, std::span<const int32_t> history) const {
  const std::vector<Candidate> c = transformed(settings_, logits, history);
  double sum = 0.0;
  const std::vector<double> w = sampling::softmax_weights(c, sum);
  std::vector<TokenProb> out(c.size());
  for (size_t i = 0; i < c.size(); ++i) out[i] = {c[i].id, static_cast<float>(w[i] / sum), c[i].logit};
  return out;
}

std::vector<TokenProb> top_probabilities(std::span<const float> logits, int n) {
  if (logits.empty() || n <= 0) return {};
  std::vector<Candidate> c = sampling::make_candidates(logits);
  const size_t keep = std::min(c.size(), static_cast<size_t>(n));
  std::partial_sort(c.begin(), c.begin() + static_cast<std::ptrdiff_t>(keep), c.end(), sampling::more_likely);
  const float max_logit = c[0].logit;
  double sum = 0.0;
  if (max_logit != -INFINITY) {
    for (const Candidate& x : c) sum += std::exp(static_cast<double>(x.logit) - max_logit);
  }
  std::vector<TokenProb> out(keep);
  for (size_t i = 0; i < keep; ++i) {
    const double p = max_logit == -INFINITY ? (i == 0 ? 1.0 : 0.0) : std::exp(static_cast<double>(c[i].logit) - max_logit) / sum;
    // Report the caller's logit, not the sanitised one.
    out[i] = {c[i].id, static_cast<float>(p), logits[static_cast<size_t>(c[i].id)]};
  }
  return out;
}

}  // namespace archscope
