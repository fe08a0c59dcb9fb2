// archscope-cli make-model: a tiny random model with llama.cpp's exact keys and names,
// for tests and experiments.
#include <iostream>

#include "archscope/error.h"
#include "archscope/model_writer.h"
#include "commands.h"

namespace archscope::cli {

namespace {

struct MakeModelOptions {
  std::string arch;
  std::string preset = "tiny";
  std::string type = "f16";
  bool pure = false;
  uint64_t seed = 1;
  std::string output;
};

int run_make_model(const MakeModelOptions& opt) {
  Result<bool> written = capture([&] {
    write_tiny_model({opt.arch, opt.preset, WeightFormat(opt.type, opt.pure), opt.seed}, opt.output);
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
  sub->add_option("--preset", opt->preset, "tiny or small (gemma4: tiny, tiny-moe or demo; laguna, deepseek4: tiny)")->capture_default_str();
  std::string file_types;
  for (const std::string& name : tiny_model_file_types()) file_types += (file_types.empty() ? "" : ", ") + name;
  sub->add_option("--type", opt->type,
                  "Weight type, as llama-quantize names it (its mix of tensor types: Q4_K_M is Q4_K with Q6_K "
                  "for the head and some attn_v / ffn_down; F32, F16, BF16: the converter's output): " + file_types)
      ->capture_default_str();
  sub->add_flag("--pure", opt->pure, "Every quantizable matrix the type's main ggml type (llama-quantize --pure)");
  sub->add_option("--seed", opt->seed, "Random seed")->capture_default_str();
  sub->add_option("-o,--output", opt->output, "Output .gguf path")->required();
  return {sub, [opt] { return run_make_model(*opt); }};
}

}  // namespace archscope::cli
