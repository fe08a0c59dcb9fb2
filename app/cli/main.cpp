// archscope-cli: inspect model architectures and (later) run them from a terminal.
#include <iostream>
#include <vector>

#include "commands.h"

int main(int argc, char** argv) {
  CLI::App app{"archscope: see what long-context LLM architectures do", "archscope-cli"};
  app.set_version_flag("--version", ARCHSCOPE_VERSION);
  app.require_subcommand(1);

  const std::vector<archscope::cli::Command> commands = {
      archscope::cli::add_inspect_command(app),
      archscope::cli::add_devices_command(app),
      archscope::cli::add_logits_command(app),
      archscope::cli::add_bench_command(app),
      archscope::cli::add_run_command(app),
      archscope::cli::add_chat_command(app),
      archscope::cli::add_make_model_command(app),
      archscope::cli::add_tokenize_command(app),
  };

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : archscope::cli::kExitBadInput;
  }
  for (const auto& command : commands) {
    if (command.sub->parsed()) return command.run();
  }
  return archscope::cli::kExitBadInput;
}
