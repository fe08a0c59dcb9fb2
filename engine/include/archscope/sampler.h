// Next-token sampling: llama.cpp's common sampler chain, reproducible for a seed.
//
//   logits -> repetition penalty -> top-k -> top-p -> min-p -> temperature -> draw
//
// Each step has llama.cpp's semantics (src/llama-sampler.cpp): the penalty divides a
// positive logit and multiplies a non-positive one; top-p keeps the smallest set of the
// most likely tokens whose probability sums to at least p (at least one token); min-p
// keeps tokens with probability >= min_p x the largest. Temperature <= 0 is greedy (the
// penalised argmax). The random draw uses its own generator and arithmetic, so a seed
// gives the same tokens with every compiler and standard library.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <vector>

namespace archscope {

struct SamplerSettings {
  float temperature = 0.8f;    // <= 0: greedy
  int top_k = 40;              // <= 0: off
  float top_p = 0.95f;         // >= 1: off
  float min_p = 0.05f;         // <= 0: off
  float repeat_penalty = 1.0f; // 1: off
  int repeat_last_n = 64;      // tokens of history the penalty looks at; 0: off, -1: all
  uint64_t seed = 0;
};

// A token and its probability. logit: the raw logit (top_probabilities) or the one after
// the penalty and temperature (Sampler::distribution).
struct TokenProb {
  int32_t id = 0;
  float prob = 0.0f;
  float logit = 0.0f;
};

class Sampler {
 public:
  explicit Sampler(SamplerSettings settings = {});

  const SamplerSettings& settings() const { return settings_; }
  // Restarts the random sequence, as a new Sampler with this seed would.
  void reseed(uint64_t seed);

  // Picks the next token from logits (one per vocabulary entry). history holds the
  // tokens so far (oldest first); its last repeat_last_n are penalised. Throws
  // archscope::Error when logits is empty.
  int32_t sample(std::span<const float> logits, std::span<const int32_t> history = {});

  // The distribution sample() draws from, after every transform: the surviving tokens,
  // most likely first (ties by lower id), probabilities summing to 1. Greedy gives the
  // single argmax with probability 1. Does not advance the random sequence.
  std::vector<TokenProb> distribution(std::span<const float> logits, std::span<const int32_t> history = {}) const;

  // A uniform double in [0, 1) from the next 53 bits of the generator (what sample() uses).
  double next_uniform();

 private:
  SamplerSettings settings_;
  std::mt19937_64 rng_;
};

// Softmax of the raw logits (no transforms), the n most likely tokens, ties by lower id.
std::vector<TokenProb> top_probabilities(std::span<const float> logits, int n);

}  // namespace archscope
