// The sampler chain's steps. Candidates stay sorted most likely first after keep_top_k,
// so top-p and min-p are single passes over a prefix.
#include "sampling/transforms.h"

#include <algorithm>
#include <cfloat>
#include <cmath>

namespace archscope::sampling {

float sanitize_logit(float logit) {
  if (std::isnan(logit)) return -INFINITY;
  if (logit == INFINITY) return FLT_MAX;
  return logit;
}

std::vector<Candidate> make_candidates(std::span<const float> logits) {
  std::vector<Candidate> c(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) c[i] = {static_cast<int32_t>(i), sanitize_logit(logits[i])};
  return c;
}

void apply_repeat_penalty(std::vector<Candidate>& by_id, std::span<const int32_t> history, float penalty, int last_n) {
  if (penalty == 1.0f || last_n == 0 || history.empty()) return;
  const size_t n = last_n < 0 ? history.size() : std::min(history.size(), static_cast<size_t>(last_n));
  std::vector<int32_t> recent(history.end() - static_cast<std::ptrdiff_t>(n), history.end());
  std::sort(recent.begin(), recent.end());
  recent.erase(std::unique(recent.begin(), recent.end()), recent.end());
  for (int32_t id : recent) {
    if (id < 0 || static_cast<size_t>(id) >= by_id.size()) continue;
    float& logit = by_id[id].logit;
    logit = logit <= 0.0f ? logit * penalty : logit / penalty;
  }
}

void keep_top_k(std::vector<Candidate>& c, int k) {
  const size_t keep = k <= 0 ? c.size() : std::min(c.size(), static_cast<size_t>(k));
  std::partial_sort(c.begin(), c.begin() + static_cast<std::ptrdiff_t>(keep), c.end(), more_likely);
  c.resize(keep);
}

std::vector<double> softmax_weights(std::span<const Candidate> sorted, double& sum) {
  std::vector<double> w(sorted.size());
  sum = 0.0;
  if (sorted.empty()) return w;
  const float max_logit = sorted[0].logit;
  if (max_logit == -INFINITY) {  // nothing has any weight: the first token takes it all
    w[0] = 1.0;
    sum = 1.0;
    return w;
  }
  for (size_t i = 0; i < sorted.size(); ++i) {
    w[i] = std::exp(sorted[i].logit - max_logit);
    sum += w[i];
  }
  return w;
}

void keep_top_p(std::vector<Candidate>& sorted, float p) {
  if (p >= 1.0f || sorted.size() <= 1) return;
  double sum = 0.0;
  const std::vector<double> w = softmax_weights(sorted, sum);
  float cumulative = 0.0f;  // llama.cpp accumulates float probabilities
  for (size_t i = 0; i < sorted.size(); ++i) {
    cumulative += static_cast<float>(w[i] / sum);
    if (cumulative >= p) {
      sorted.resize(i + 1);
      return;
    }
  }
}

void keep_min_p(std::vector<Candidate>& sorted, float p) {
  if (p <= 0.0f || sorted.empty()) return;
  const float min_logit = sorted[0].logit + std::log(p);
  size_t keep = 1;  // the most likely token always stays
  while (keep < sorted.size() && sorted[keep].logit >= min_logit) ++keep;
  sorted.resize(keep);
}

void apply_temperature(std::vector<Candidate>& c, float temperature) {
  for (Candidate& x : c) x.logit = sanitize_logit(x.logit / temperature);
}

}  // namespace archscope::sampling
