// Each archscope-cli subcommand registers itself on the CLI11 app and runs when chosen.
#pragma once

#include <functional>

#include <CLI/CLI.hpp>

namespace archscope::cli {

// Exit codes: 0 success, 2 bad input (file, option, model), 1 anything else.
constexpr int kExitBadInput = 2;

// A registered subcommand and what runs it (returns the exit code).
struct Command {
  CLI::App* sub = nullptr;
  std::function<int()> run;
};
Command add_inspect_command(CLI::App& app);
Command add_devices_command(CLI::App& app);
Command add_logits_command(CLI::App& app);
Command add_bench_command(CLI::App& app);
Command add_run_command(CLI::App& app);
Command add_chat_command(CLI::App& app);
Command add_make_model_command(CLI::App& app);
Command add_tokenize_command(CLI::App& app);

}  // namespace archscope::cli
