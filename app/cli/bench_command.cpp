// archscope-cli bench: prefill and decode tokens/s (median of repeats), memory, and how
// many bytes one decode step moves (from the cost model) to compare with the device's
// bandwidth.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>

#include <nlohmann/json.hpp>

#include "archscope/cost_model.h"
#include "format.h"
#include "session_options.h"

namespace archscope::cli {

namespace {

struct BenchOptions {
  RunModelOptions run;
  int prompt = 512;
  int generate = 128;
  int repeat = 3;
  bool json = false;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0.0 : (v.size() % 2 ? v[v.size() / 2] : 0.5 * (v[v.size() / 2 - 1] + v[v.size() / 2]));
}

int run_bench(BenchOptions opt) {
  if (opt.run.context == 0) opt.run.context = opt.prompt + opt.generate;
  std::unique_ptr<Session> session = opt.run.open();
  if (!session) return kExitBadInput;
  if (opt.prompt + opt.generate > session->context()) {
    std::cerr << "archscope-cli: -p " << opt.prompt << " plus -n " << opt.generate << " tokens exceed the context of "
              << session->context() << "\n";
    return kExitBadInput;
  }
  using clock = std::chrono::steady_clock;
  std::vector<double> prefill_rates, decode_rates;
  std::vector<int32_t> prompt(opt.prompt);
  for (int i = 0; i < opt.prompt; ++i) prompt[i] = static_cast<int32_t>((i * 7919 + 13) % session->spec().vocab);
  for (int r = 0; r < opt.repeat; ++r) {
    session->rewind(0);
    auto start = clock::now();
    Result<std::vector<float>> logits = session->feed(prompt);
    if (!logits) {
      std::cerr << "archscope-cli: " << logits.error().what() << "\n";
      return 1;
    }
    prefill_rates.push_back(opt.prompt / std::chrono::duration<double>(clock::now() - start).count());
    start = clock::now();
    for (int i = 0; i < opt.generate; ++i) {
      const int32_t next = static_cast<int32_t>(std::max_element(logits->begin(), logits->end()) - logits->begin());
      logits = session->feed(std::span(&next, 1));
      if (!logits) {
        std::cerr << "archscope-cli: " << logits.error().what() << "\n";
        return 1;
      }
    }
    decode_rates.push_back(opt.generate / std::chrono::duration<double>(clock::now() - start).count());
  }

  const double prefill = median(prefill_rates), decode = median(decode_rates);
  const CachePlan& plan = session->cache_plan();
  // Bytes one decode step reads, halfway through the generated tokens.
  const CachePlan midway = plan_cache(session->spec(), opt.prompt + opt.generate / 2, plan.type);
  const DecodeCost cost = estimate_decode(session->spec(), midway);
  const MemoryUse memory = session->memory();
  const double bandwidth = cost.bytes_read() * decode;
  // Gemma 4's per-layer embedding table in host memory (toggle ple_table): device bytes saved.
  uint64_t ple_table = 0;
  for (const TensorSpec& t : session->spec().tensors)
    if (session->spec().ple_width > 0 && t.name == "per_layer_token_embd.weight") ple_table = t.bytes;
  const bool on_device = session->backend_name().rfind("vulkan", 0) == 0;
  const uint64_t ple_saved = memory.host_tables;
  if (opt.json) {
    nlohmann::json out = {
        {"model", opt.run.model}, {"backend", session->backend_name()}, {"prompt_tokens", opt.prompt},
        {"generated_tokens", opt.generate}, {"repeat", opt.repeat}, {"prefill_tokens_per_s", prefill},
        {"decode_tokens_per_s", decode}, {"kv_bytes", plan.bytes},
        {"memory", {{"weights", memory.weights}, {"caches", memory.caches}, {"scratch", memory.scratch}}},
        {"ple_table_host_bytes", ple_saved},
        {"decode_bytes_per_token", cost.bytes_read()}, {"decode_bandwidth_bytes_per_s", bandwidth},
        // MoE: weights of the chosen experts only, so this follows top-k, not the expert count.
        {"decode_weight_bytes_per_token", cost.weight_bytes_read}, {"decode_cache_bytes_per_token", cost.cache_bytes_read},
    };
    std::cout << out.dump(2) << "\n";
  } else {
    std::printf("%s on %s\n", opt.run.model.c_str(), session->backend_name().c_str());
    std::printf("prefill %d tokens: %10.1f tokens/s   (median of %d)\n", opt.prompt, prefill, opt.repeat);
    std::printf("decode  %d tokens: %10.1f tokens/s\n", opt.generate, decode);
    std::printf("memory: weights %s, KV cache %s, scratch %s\n", human_bytes(memory.weights).c_str(),
                human_bytes(memory.caches).c_str(), human_bytes(memory.scratch).c_str());
    if (ple_table > 0) {
      std::printf("per-layer embedding table: %s\n",
                  ple_saved ? ("in host memory, saves " + human_bytes(ple_saved) + " of device memory").c_str()
                            : ("on the " + std::string(on_device ? "device" : "host (CPU backend)") + ", " +
                               human_bytes(ple_table)).c_str());
    }
    std::printf("decode reads %s per token (weights %s, KV cache %s): %s/s\n", human_bytes(cost.bytes_read()).c_str(),
                human_bytes(cost.weight_bytes_read).c_str(), human_bytes(cost.cache_bytes_read).c_str(),
                human_bytes(bandwidth).c_str());
  }
  return 0;
}

}  // namespace

Command add_bench_command(CLI::App& app) {
  auto opt = std::make_shared<BenchOptions>();
  CLI::App* sub = app.add_subcommand("bench", "Prefill and decode speed, memory and bytes moved per token");
  opt->run.add_to(sub);
  sub->add_option("-p,--prompt", opt->prompt, "Prompt tokens to prefill")->capture_default_str()->check(CLI::Range(1, 1 << 20));
  sub->add_option("-n,--generate", opt->generate, "Tokens to decode")->capture_default_str()->check(CLI::Range(1, 1 << 20));
  sub->add_option("--repeat", opt->repeat, "Repeats; the median is reported")->capture_default_str()->check(CLI::Range(1, 1000));
  sub->add_flag("--json", opt->json, "Print one JSON object");
  return {sub, [opt] { return run_bench(*opt); }};
}

}  // namespace archscope::cli
