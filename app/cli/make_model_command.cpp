// archscope-cli make-model: a tiny random model with llama.cpp's exact keys and names,
// for tests and experiments.
#include <unistd.h>

#include <iostream>

#include "archscope/error.h"
#include "archscope/model_writer.h"
#include "commands.h"
#include "format.h"

namespace archscope::cli {

namespace {

struct MakeModelOptions {
  std::string arch;
  std::string preset = "tiny";
  std::string type = "f16";
  bool pure = false;
  uint64_t seed = 1;
  std::string vocab;
  std::string output;
};

int run_make_model(const MakeModelOptions& opt) {
  TinyModelOptions options{opt.arch, opt.preset, WeightFormat(opt.type, opt.pure), opt.seed, opt.vocab};
  // Big files take minutes: a progress line on a terminal, updated per percent.
  int shown = -1;
  options.progress = [&](uint64_t done, uint64_t total) {
    const int percent = total ? static_cast<int>(100 * done / total) : 100;
    if (percent == shown || !isatty(STDERR_FILENO)) return;
    shown = percent;
    std::cerr << "\rwriting " << opt.output << ": " << percent << "% of " << human_bytes(static_cast<double>(total)) << std::flush;
    if (done == total) std::cerr << "\n";
  };
  Result<bool> written = capture([&] {
    write_tiny_model(options, opt.output);
    return true;
  });
  if (!written) {
    std::cerr << "archscope-cli: " << written.error().what() << "\n";
    return kExitBadInput;
  }
  std::cout << "wrote " << opt.output << "\n";
  return 0;
}

}  // namespace

Command add_make_model_command(CLI::App& app) {
  auto opt = std::make_shared<MakeModelOptions>();
  CLI::App* sub = app.add_subcommand("make-model", "Write a tiny random model (GGUF) of an architecture");
  sub->add_option("--arch", opt->arch, "llama, qwen3, gemma4, laguna or deepseek4")->required();
  sub->add_option("--preset", opt->preset,
                  "tiny or small (gemma4: tiny, tiny-moe, demo; laguna, deepseek4: tiny), or a published model's "
                  "dimensions with random weights: gemma4 e2b, e4b, 26b-a4b, 31b; laguna xs2; deepseek4 flash; qwen3 8b")
      ->capture_default_str();
  std::string file_types;
  for (const std::string& name : tiny_model_file_types()) file_types += (file_types.empty() ? "" : ", ") + name;
  sub->add_option("--type", opt->type,
                  "Weight type, as llama-quantize names it (its mix of tensor types: Q4_K_M is Q4_K with Q6_K "
                  "for the head and some attn_v / ffn_down; F32, F16, BF16: the converter's output): " + file_types)
      ->capture_default_str();
  sub->add_flag("--pure", opt->pure, "Every quantizable matrix the type's main ggml type (llama-quantize --pure)");
  sub->add_option("--seed", opt->seed, "Random seed")->capture_default_str();
  sub->add_option("--vocab", opt->vocab,
                  "Published-size presets: take the tokenizer from this GGUF file (e.g. llama.cpp's "
                  "models/ggml-vocab-gemma-4.gguf); default: the family's small vocabulary padded to size");
  sub->add_option("-o,--output", opt->output, "Output .gguf path")->required();
  return {sub, [opt] { return run_make_model(*opt); }};
}

}  // namespace archscope::cli
