// archscope-cli tokenize: the model's token ids for text on stdin, one line of ids per
// input. Plain: the whole input as one text (with the BOS the model adds). --chat: every
// line is a JSON conversation ([{"role": "user", "content": "..."}, ...]) in the model's
// chat format, as the app would feed it: a final assistant message follows the prompt with
// its generation prefix (Gemma 4's empty thought channel included), as the model sees it
// when it writes that reply. Used to prepare training data for demo models.
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

// The conversation's ids as they are when the model writes the last assistant message:
// the prompt before it with the generation prefix, then the reply and its turn's end
// (what the template renders after the reply's turn header).
std::vector<int32_t> encode_reply(const Tokenizer& tokenizer, ChatFormat format, const std::vector<ChatMessage>& messages) {
  const std::vector<ChatMessage> before(messages.begin(), messages.end() - 1);
  const std::string head = format_chat(format, before, false);
  const std::string whole = format_chat(format, messages, false);
  if (!whole.starts_with(head)) return encode_chat(tokenizer, format, messages, false);  // no such format yet
  const std::string turn = whole.substr(head.size());
  const std::string prefix = format_chat(format, before, true).substr(head.size());
  size_t header = 0;  // the turn header both share, e.g. "<|turn>model\n"
  while (header < turn.size() && header < prefix.size() && turn[header] == prefix[header]) ++header;
  std::vector<int32_t> ids = encode_chat(tokenizer, format, before, true);
  const std::vector<int32_t> reply = tokenizer.encode(turn.substr(header), false, true);
  ids.insert(ids.end(), reply.begin(), reply.end());
  return ids;
}

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
    const bool reply = !messages.empty() && messages.back().role == "assistant";
    print_ids(reply ? encode_reply(*tokenizer, format, messages) : encode_chat(*tokenizer, format, messages, false));
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
