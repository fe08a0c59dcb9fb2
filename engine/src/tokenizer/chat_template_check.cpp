// check_chat_template: the file's template rendered by the Jinja interpreter against the
// built-in format, on the same sample conversations.
#include "archscope/chat_template_check.h"

#include <algorithm>

#include "archscope/gguf.h"
#include "archscope/tokenizer.h"
#include "tokenizer/jinja/template.h"

namespace archscope {
namespace {

// The formats whose templates have a thinking mode that archscope leaves off.
bool thinking_off(ChatFormat format) {
  return format == ChatFormat::Gemma4 || format == ChatFormat::DeepSeek4 || format == ChatFormat::Laguna ||
         format == ChatFormat::LagunaXS21 || format == ChatFormat::LagunaS21;
}

nlohmann::ordered_json context(const std::vector<ChatMessage>& messages, ChatFormat format, const ChatTemplateTokens& tokens) {
  nlohmann::ordered_json ctx;
  ctx["messages"] = nlohmann::ordered_json::array();
  for (const ChatMessage& m : messages) ctx["messages"].push_back({{"role", m.role}, {"content", m.content}});
  ctx["add_generation_prompt"] = true;
  ctx["bos_token"] = tokens.bos;
  ctx["eos_token"] = tokens.eos;
  if (thinking_off(format)) ctx["enable_thinking"] = false;
  return ctx;
}

size_t first_difference(const std::string& a, const std::string& b) {
  const auto [ia, ib] = std::mismatch(a.begin(), a.end(), b.begin(), b.end());
  if (ia == a.end() && ib == b.end()) return std::string::npos;
  return static_cast<size_t>(ia - a.begin());
}

}  // namespace

std::vector<std::vector<ChatMessage>> chat_template_samples() {
  const std::vector<ChatMessage> turns = {
      {"user", "Hello! Who are you?"},
      {"assistant", "I am a small model that archscope runs."},
      {"user", "Tell me a story about a cat,\nin two sentences."},
  };
  std::vector<ChatMessage> with_system = {{"system", "You are a helpful assistant."}};
  with_system.insert(with_system.end(), turns.begin(), turns.end());
  return {with_system, turns};
}

std::string ChatTemplateCheck::summary() const {
  const std::string name = to_string(format);
  switch (outcome) {
    case Outcome::NoTemplate: return "no chat template in the file; archscope uses its " + name + " format";
    case Outcome::Agrees: return "chat template renders the same prompt as archscope's built-in " + name + " format";
    case Outcome::Differs:
      return "chat template renders a different prompt than archscope's built-in " + name + " format (from byte " +
             std::to_string(first_difference) + ")";
    case Outcome::NoBuiltInFormat:
      return "archscope has no built-in format for this chat template; chats are sent as plain text";
    case Outcome::RenderFailed: return "chat template could not be checked: " + error;
  }
  return "";
}

ChatTemplateCheck check_chat_template(const std::string& chat_template, ChatFormat format,
                                      const ChatTemplateTokens& tokens, std::time_t now) {
  ChatTemplateCheck check;
  check.chat_template = chat_template;
  check.format = format;
  if (chat_template.empty()) return check;
  if (now == 0) now = std::time(nullptr);
  Result<jinja::Template> parsed = jinja::Template::parse(chat_template);
  if (!parsed) {
    check.outcome = ChatTemplateCheck::Outcome::RenderFailed;
    check.error = parsed.error().what();
    return check;
  }
  jinja::RenderOptions options;
  options.now = now;
  const std::string bos = tokens.adds_bos || (chat_format_starts_with_bos(format) && !tokens.bos.empty()) ? tokens.bos : "";
  bool rendered_any = false;
  for (const std::vector<ChatMessage>& sample : chat_template_samples()) {
    Result<std::string> text = parsed->render(context(sample, format, tokens), options);
    if (!text) {
      const std::string why = text.error().what();
      if (why.find("the template raised an error") != std::string::npos) {
        // The template refuses this conversation on purpose; judge it on the other sample.
        check.note += (check.note.empty() ? "" : "; ") + std::string("the template refuses the sample ") +
                      (sample[0].role == "system" ? "with" : "without") + " a system message (" + why + ")";
        continue;
      }
      check.outcome = ChatTemplateCheck::Outcome::RenderFailed;
      check.error = why;
      check.conversation = sample;
      return check;
    }
    const std::string builtin = bos + format_chat(format, sample, true, now);
    const bool first_rendered = !rendered_any;
    rendered_any = true;
    const size_t diff = first_difference(*text, builtin);
    if (first_rendered || diff != std::string::npos) {
      check.conversation = sample;
      check.template_text = *text;
      check.builtin_text = builtin;
      check.first_difference = diff;
    }
    if (diff != std::string::npos) break;
  }
  if (!rendered_any) {
    check.outcome = ChatTemplateCheck::Outcome::RenderFailed;
    check.error = check.note;
    return check;
  }
  if (format == ChatFormat::Plain) {
    check.outcome = ChatTemplateCheck::Outcome::NoBuiltInFormat;
  } else {
    check.outcome = check.first_difference == std::string::npos ? ChatTemplateCheck::Outcome::Agrees
                                                                : ChatTemplateCheck::Outcome::Differs;
  }
  return check;
}

namespace {

const std::string* file_template(const GgufFile& file) {
  const GgufValue* tmpl = file.find("tokenizer.chat_template");
  return tmpl && tmpl->type == GgufValueType::String && !tmpl->s.empty() ? &tmpl->s : nullptr;
}

ChatTemplateTokens tokens_of(const Tokenizer& tokenizer) {
  ChatTemplateTokens tokens;
  tokens.adds_bos = tokenizer.add_bos();
  if (tokenizer.bos() >= 0) tokens.bos = tokenizer.raw_token(tokenizer.bos());
  if (tokenizer.eos() >= 0) tokens.eos = tokenizer.raw_token(tokenizer.eos());
  return tokens;
}

}  // namespace

ChatTemplateCheck check_chat_template(const GgufFile& file, const Tokenizer& tokenizer, std::time_t now) {
  const ChatFormat format = detect_chat_format(file);
  const std::string* text = file_template(file);
  if (!text) {
    ChatTemplateCheck check;
    check.format = format;
    return check;
  }
  return check_chat_template(*text, format, tokens_of(tokenizer), now);
}

ChatTemplateCheck check_chat_template(const GgufFile& file, std::time_t now) {
  const ChatFormat format = detect_chat_format(file);
  const std::string* text = file_template(file);
  if (!text) {
    ChatTemplateCheck check;
    check.format = format;
    return check;
  }
  Result<Tokenizer> tokenizer = capture([&] { return Tokenizer::from_gguf(file); });
  if (tokenizer) return check_chat_template(*text, format, tokens_of(*tokenizer), now);
  // No usable vocabulary: no BOS text on either side.
  ChatTemplateCheck check = check_chat_template(*text, format, ChatTemplateTokens{}, now);
  check.note += (check.note.empty() ? "" : "; ") + std::string("no vocabulary: ") + tokenizer.error().what();
  return check;
}

}  // namespace archscope
