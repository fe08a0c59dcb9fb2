// The steps of the sampler chain, one function each, on a list of candidate tokens.
// Semantics follow llama.cpp's samplers (src/llama-sampler.cpp); see archscope/sampler.h.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace archscope::sampling {

struct Candidate {
  int32_t id = 0;
  float logit = 0.0f;
};

// One candidate per logit, in id order. NaN becomes -inf and +inf the largest finite
// float, so every later comparison and softmax is well defined.
std::vector<Candidate> make_candidates(std::span<const float> logits);
float sanitize_logit(float logit);

// More likely first: larger logit, then lower id.
inline bool more_likely(const Candidate& a, const Candidate& b) {
  return a.logit > b.logit || (a.logit == b.logit && a.id < b.id);
}

// Repetition penalty on the tokens among the last `last_n` of history (all of it when
// last_n < 0, none when 0), each token once however often it occurs: a positive logit is
// divided by `penalty`, a non-positive one multiplied. `by_id` must be in id order
// (make_candidates' output); history ids outside it are ignored.
void apply_repeat_penalty(std::vector<Candidate>& by_id, std::span<const int32_t> history, float penalty, int last_n);

// Sorts most likely first and keeps the first k; k <= 0 keeps all, in the order they are.
void keep_top_k(std::vector<Candidate>& c, int k);
// Keeps the smallest most-likely-first prefix whose softmax probability sums to >= p (at
// least one), sorted; p >= 1 keeps all, as they are. Sorts only what it keeps.
void keep_top_p(std::vector<Candidate>& c, float p);
// Keeps the tokens whose probability is >= p x the largest (logit >= max + ln p), sorted
// most likely first; p <= 0 keeps all, as they are.
void keep_min_p(std::vector<Candidate>& c, float p);
// Most likely first (nothing to do when they already are).
void sort_most_likely_first(std::vector<Candidate>& c);
// Divides every logit by temperature (> 0).
void apply_temperature(std::vector<Candidate>& c, float temperature);

// Unnormalised softmax weights exp(logit - max) of sorted candidates (largest logit
// first) and their sum, as llama.cpp's dist sampler computes them (exp in float, sum in double).
std::vector<double> softmax_weights(std::span<const Candidate> sorted, double& sum);

}  // namespace archscope::sampling
