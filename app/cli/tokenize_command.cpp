// archscope-cli tokenize: the model's token ids for text on stdin, one line of ids per
// input. Plain: the whole input as one text (with the BOS the model adds). --chat: every
// line is a JSON conversation ([{"role": "user", "content": "..."}, ...]) in the model's
// chat format, as the app would feed it. Used to prepare training data for demo models.
#include <iostream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "archscope/chat_template.h"
#include "archscope/error.h"
#include "archscope/gguf.h"
#include "archscope/tokenizer.h"
#include "commands.h"

namespace archscope::cli {

namespace {

struct TokenizeOptions {
  std::string model;
  bool chat = false;
};

void print_ids(const std::vector<int32_t>& ids) {
  for (size_t i = 0; i < ids.size(); ++i) std::cout << (i ? " " : "") << ids[i];
  std::cout << "\n";
}

int run_tokenize(const TokenizeOptions& opt) {
  Result<Tokenizer> tokenizer = archscope::capture([&] { return Tokenizer::from_gguf(GgufFile::open(opt.model)); });
  if (!tokenizer) {
    std::cerr << "archscope-cli: " << tokenizer.error().what() << "\n";
    return kExitBadInput;
  }
  if (!opt.chat) {
    const std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    print_ids(tokenizer->encode(text, true, false));
    return 0;
  }
  const ChatFormat format = detect_chat_format(GgufFile::open(opt.model));
  std::string line;
  for (int number = 1; std::getline(std::cin, line); ++number) {
    if (line.empty()) continue;
    std::vector<ChatMessage> messages;
    try {
      for (const auto& m : nlohmann::json::parse(line)) messages.push_back({m.at("role"), m.at("content")});
    } catch (const std::exception& e) {
      std::cerr << "archscope-cli: line " << number << " is not a JSON list of {role, content}: " << e.what() << "\n";
      return kExitBadInput;
    }
    print_ids(encode_chat(*tokenizer, format, messages, false));
  }
  return 0;
}

}  // namespace

Command add_tokenize_command(CLI::App& app) {
  auto opt = std::make_shared<TokenizeOptions>();
  CLI::App* sub = app.add_subcommand("tokenize", "Token ids of stdin (a text, or JSON conversations with --chat)");
  sub->add_option("-m,--model", opt->model, "GGUF model file")->required();
  sub->add_flag("--chat", opt->chat, "Each input line is a JSON conversation, formatted with the model's chat template");
  return {sub, [opt] { return run_tokenize(*opt); }};
}

}  // namespace archscope::cli
