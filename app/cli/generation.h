// Streaming generation shared by `run` and `chat`: sample, print complete UTF-8 text as it
// arrives, stop at end-of-generation tokens, the token limit or Ctrl-C.
#pragma once

#include <atomic>
#include <csignal>
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "archscope/sampler.h"
#include "archscope/session.h"

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

struct Generation {
  std::string text;
  int tokens = 0;
  bool stopped_by_user = false;
  std::string error;
};

// Continues from `logits` (the logits after the prompt), printing text as it streams.
inline Generation generate(Session& session, std::vector<float> logits, Sampler& sampler,
                           std::vector<int32_t>& history, int max_tokens) {
  Generation g;
  StreamDecoder decoder(session.tokenizer());
  while (g.tokens < max_tokens) {
    if (interrupted().exchange(false)) {
      g.stopped_by_user = true;
      break;
    }
    const int32_t next = sampler.sample(logits, history);
    if (session.tokenizer().is_end_of_generation(next)) break;
    history.push_back(next);
    ++g.tokens;
    const std::string piece = decoder.push(next);
    g.text += piece;
    std::fputs(piece.c_str(), stdout);
    std::fflush(stdout);
    if (session.position() >= session.context()) {
      g.error = "the context of " + std::to_string(session.context()) + " tokens is full";
      break;
    }
    Result<std::vector<float>> fed = session.feed(std::span(&next, 1));
    if (!fed) {
      g.error = fed.error().what();
      break;
    }
    logits = std::move(fed.value());
  }
  const std::string tail = decoder.flush();
  g.text += tail;
  std::fputs(tail.c_str(), stdout);
  std::fflush(stdout);
  return g;
}

}  // namespace archscope::cli
