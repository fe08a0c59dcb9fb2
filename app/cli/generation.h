// Streaming generation shared by `run` and `chat`: archscope::generate printing complete
// UTF-8 text as it arrives, stopped by Ctrl-C after the current token.
#pragma once

#include <atomic>
#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "archscope/generation.h"

namespace archscope::cli {

struct SamplingOptions {
  SamplerSettings settings;
  int max_tokens = 256;

  void add_to(CLI::App* sub) {
    sub->add_option("-n,--n-predict", max_tokens, "Most tokens to generate")->capture_default_str()->check(CLI::Range(1, 1 << 24));
    sub->add_option("--temp", settings.temperature, "Temperature (0: greedy)")->capture_default_str();
    sub->add_option("--top-k", settings.top_k, "Top-k (0: off)")->capture_default_str();
    sub->add_option("--top-p", settings.top_p, "Top-p (1: off)")->capture_default_str();
    sub->add_option("--min-p", settings.min_p, "Min-p (0: off)")->capture_default_str();
    sub->add_option("--repeat-penalty", settings.repeat_penalty, "Repetition penalty (1: off)")->capture_default_str();
    sub->add_option("--seed", settings.seed, "Random seed")->capture_default_str();
  }
};

// Set by Ctrl-C while generating; the loop stops after the current token.
inline std::atomic<bool>& interrupted() {
  static std::atomic<bool> flag{false};
  return flag;
}

inline void install_interrupt_handler() {
  std::signal(SIGINT, [](int) { interrupted() = true; });
}

// Continues from `logits` (the logits after the prompt), printing text as it streams.
inline Generation generate_to_stdout(Session& session, std::vector<float> logits, Sampler& sampler,
                                     std::vector<int32_t>& history, int max_tokens) {
  interrupted() = false;
  return generate(session, std::move(logits), sampler, history, max_tokens,
                  [](int32_t, const std::string& piece, const std::vector<float>&) {
                    std::fputs(piece.c_str(), stdout);
                    std::fflush(stdout);
                    return !interrupted().exchange(false);
                  });
}

}  // namespace archscope::cli
