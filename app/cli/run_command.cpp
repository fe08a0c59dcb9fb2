// archscope-cli run: continue a prompt (plain completion), streaming the text.
#include <iostream>

#include "generation.h"
#include "session_options.h"

namespace archscope::cli {

namespace {

struct RunOptions {
  RunModelOptions run;
  SamplingOptions sampling;
  std::string prompt;
};

int run_run(const RunOptions& opt) {
  std::unique_ptr<Session> session = opt.run.open();
  if (!session) return kExitBadInput;
  std::vector<int32_t> history = session->tokenizer().encode(opt.prompt, true, false);
  if (history.empty()) {
    std::cerr << "archscope-cli: the prompt is empty and the model adds no BOS token\n";
    return kExitBadInput;
  }
  if (static_cast<int>(history.size()) >= session->context()) {
    std::cerr << "archscope-cli: the prompt is " << history.size() << " tokens; the context holds "
              << session->context() << " (use --context)\n";
    return kExitBadInput;
  }
  install_interrupt_handler();
  Result<std::vector<float>> logits = session->feed(history);
  if (!logits) {
    std::cerr << "archscope-cli: " << logits.error().what() << "\n";
    return 1;
  }
  std::cout << opt.prompt << std::flush;
  Sampler sampler(opt.sampling.settings);
  const Generation g = generate_to_stdout(*session, std::move(logits.value()), sampler, history, opt.sampling.max_tokens);
  std::cout << "\n";
  if (!g.error.empty()) {
    std::cerr << "archscope-cli: " << g.error << "\n";
    return 1;
  }
  if (g.stopped) {
    std::cerr << "archscope-cli: stopped\n";
    return 130;
  }
  return 0;
}

}  // namespace

Command add_run_command(CLI::App& app) {
  auto opt = std::make_shared<RunOptions>();
  CLI::App* sub = app.add_subcommand("run", "Continue a prompt, streaming the text");
  opt->run.add_to(sub);
  opt->sampling.add_to(sub);
  sub->add_option("-p,--prompt", opt->prompt, "The text to continue")->required();
  return {sub, [opt] { return run_run(*opt); }};
}

}  // namespace archscope::cli
