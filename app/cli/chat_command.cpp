// archscope-cli chat: a multi-turn conversation in the model's chat format, one user
// message per line of stdin (interactive or piped). /reset starts over, /quit ends.
#include <unistd.h>

#include <iostream>

#include "archscope/chat_template.h"
#include "archscope/gguf.h"
#include "generation.h"
#include "session_options.h"

namespace archscope::cli {

namespace {

struct ChatOptions {
  RunModelOptions run;
  SamplingOptions sampling;
  std::string system;
};

int run_chat(const ChatOptions& opt) {
  std::unique_ptr<Session> session = opt.run.open();
  if (!session) return kExitBadInput;
  const ChatFormat format = detect_chat_format(GgufFile::open(opt.run.model));
  const bool interactive = isatty(STDIN_FILENO);
  if (interactive) {
    std::cerr << "Chatting with " << session->spec().name << " (" << to_string(format) << " format, "
              << session->backend_name() << "). /reset starts over, /quit or Ctrl-D ends.\n";
  }
  install_interrupt_handler();
  std::vector<ChatMessage> messages;
  if (!opt.system.empty()) messages.push_back({"system", opt.system});
  Sampler sampler(opt.sampling.settings);
  std::string line;
  while (true) {
    if (interactive) std::cerr << "> " << std::flush;
    if (!std::getline(std::cin, line) || line == "/quit") break;
    if (line == "/reset") {
      messages.resize(opt.system.empty() ? 0 : 1);
      continue;
    }
    if (line.empty()) continue;
    messages.push_back({"user", line});
    std::vector<int32_t> prompt = encode_chat(session->tokenizer(), format, messages, true);
    if (static_cast<int>(prompt.size()) >= session->context()) {
      std::cerr << "archscope-cli: the conversation no longer fits the context of " << session->context()
                << " tokens; /reset to start over\n";
      messages.pop_back();
      continue;
    }
    Result<std::vector<float>> logits = feed_prompt(*session, prompt);
    if (!logits) {
      std::cerr << "archscope-cli: " << logits.error().what() << "\n";
      return 1;
    }
    std::vector<int32_t> history = prompt;
    const Generation g = generate_to_stdout(*session, std::move(logits.value()), sampler, history, opt.sampling.max_tokens);
    std::cout << "\n" << std::flush;
    if (!g.error.empty()) std::cerr << "archscope-cli: " << g.error << "\n";
    messages.push_back({"assistant", g.text});
  }
  return 0;
}

}  // namespace

Command add_chat_command(CLI::App& app) {
  auto opt = std::make_shared<ChatOptions>();
  CLI::App* sub = app.add_subcommand("chat", "Multi-turn chat in the model's template (reads stdin)");
  opt->run.add_to(sub);
  opt->sampling.add_to(sub);
  sub->add_option("--system", opt->system, "System prompt");
  return {sub, [opt] { return run_chat(*opt); }};
}

}  // namespace archscope::cli
