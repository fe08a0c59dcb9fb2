// The sampler chain's steps. After top-k the candidates are sorted most likely first and
// top-p and min-p are passes over a prefix; without top-k they sort only what they keep.
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
  if (k <= 0) return;  // all of them, in id order: sorting a 262,144-token vocabulary is left to whoever needs it
  const size_t keep = std::min(c.size(), static_cast<size_t>(k));
  std::partial_sort(c.begin(), c.begin() + static_cast<std::ptrdiff_t>(keep), c.end(), more_likely);
  c.resize(keep);
}

void sort_most_likely_first(std::vector<Candidate>& c) {
  if (!std::is_sorted(c.begin(), c.end(), more_likely)) std::sort(c.begin(), c.end(), more_likely);
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

void keep_top_p(std::vector<Candidate>& c, float p) {
  if (p >= 1.0f || c.size() <= 1) return;
  // The softmax over all candidates, then the most likely ones in order until they reach p:
  // only that prefix gets sorted, in chunks that double.
  const float max_logit = std::max_element(c.begin(), c.end(), [](const Candidate& a, const Candidate& b) {
                            return a.logit < b.logit;
                          })->logit;
  if (max_logit == -INFINITY) {  // nothing has any weight: the first token takes it all
    sort_most_likely_first(c);
    c.resize(1);
    return;
  }
  double sum = 0.0;
  for (const Candidate& x : c) sum += std::exp(x.logit - max_logit);
  float cumulative = 0.0f;  // llama.cpp accumulates float probabilities
  for (size_t sorted = 0, chunk = 64; sorted < c.size(); sorted += chunk, chunk *= 2) {
    const size_t end = std::min(c.size(), sorted + chunk);
    std::partial_sort(c.begin() + static_cast<std::ptrdiff_t>(sorted), c.begin() + static_cast<std::ptrdiff_t>(end),
                      c.end(), more_likely);
    for (size_t i = sorted; i < end; ++i) {
      cumulative += static_cast<float>(std::exp(c[i].logit - max_logit) / sum);
      if (cumulative >= p) {
        c.resize(i + 1);
        return;
      }
    }
  }
}

void keep_min_p(std::vector<Candidate>& c, float p) {
  if (p <= 0.0f || c.empty()) return;
  // (Unsorted candidates: those above the threshold, then sorted.)
  const Candidate best = *std::min_element(c.begin(), c.end(), more_likely);
  const float min_logit = best.logit + std::log(p);
  std::erase_if(c, [&](const Candidate& x) { return x.logit < min_logit && x.id != best.id; });
  sort_most_likely_first(c);
}

void apply_temperature(std::vector<Candidate>& c, float temperature) {
  for (Candidate& x : c) x.logit = sanitize_logit(x.logit / temperature);
}

}  // namespace archscope::sampling
