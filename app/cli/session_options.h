// The options every command that runs a model shares: -m, --device, --context, --cache-type,
// --batch, --toggle.
#pragma once

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "archscope/cache_plan.h"
#include "archscope/session.h"
#include "commands.h"

namespace archscope::cli {

struct RunModelOptions {
  std::string model;
  std::string device = "auto";
  std::string cache_type = "f16";
  int context = 0;
  int batch = 256;
  std::vector<std::string> toggles;  // NAME=VALUE what-if changes (archscope/toggles.h)

  void add_to(CLI::App* sub) {
    sub->add_option("-m,--model", model, "GGUF model file")->required();
    sub->add_option("--device", device, "auto, vulkan, cpu, or a Vulkan device index or name part")->capture_default_str();
    sub->add_option("--context", context, "Context length in tokens (default: the model's, at most 4096)");
    sub->add_option("--cache-type", cache_type, "KV cache element type: f32, f16, bf16, q8_0")->capture_default_str();
    sub->add_option("--batch", batch, "Prefill tokens per step")->capture_default_str()->check(CLI::Range(1, 65536));
    sub->add_option("--toggle", toggles,
                    "What-if change NAME=VALUE, repeatable (window=N, all_global=on; Gemma 4: ple=off, ple_table=host|device|auto; Laguna: global_heads=N, sliding_heads=N; DeepSeek V4: hc_mix=identity, hc_sinkhorn=N, csa_top_k=N)");
  }

  // Opens the session, or prints one line and returns null.
  std::unique_ptr<Session> open() const {
    const std::optional<GgmlType> type = parse_cache_type(cache_type);
    if (!type) {
      std::cerr << "archscope-cli: --cache-type must be f32, f16, bf16 or q8_0, not \"" << cache_type << "\"\n";
      return nullptr;
    }
    SessionOptions options;
    options.device = device;
    options.cache_type = *type;
    options.context = context;
    options.batch = batch;
    for (const std::string& text : toggles) {
      Result<Toggle> toggle = parse_toggle(text);
      if (!toggle) {
        std::cerr << "archscope-cli: --toggle: " << toggle.error().what() << "\n";
        return nullptr;
      }
      options.toggles.push_back(toggle.value());
    }
    Result<std::unique_ptr<Session>> session = Session::open(model, options);
    if (!session) {
      std::cerr << "archscope-cli: " << session.error().what() << "\n";
      return nullptr;
    }
    if (!session.value()->notice().empty()) std::cerr << "archscope-cli: " << session.value()->notice() << "\n";
    return std::move(session.value());
  }
};

}  // namespace archscope::cli
