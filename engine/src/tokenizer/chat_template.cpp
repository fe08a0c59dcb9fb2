// Chat formats. Llama3, ChatML, Gemma and DeepSeek3 follow llama.cpp's
// llm_chat_apply_template (src/llama-chat.cpp) line by line; Llama31/32, Gemma4, DeepSeek4
// and the Laguna formats are what their Jinja templates (llama.cpp's models/templates/
// meta-llama-Llama-3.1-8B-Instruct.jinja, -3.2-3B-, google-gemma-4-31B-it.jinja,
// deepseek-ai-DeepSeek-V4.jinja, poolside-Laguna-XS.2.jinja, -XS-2.1, -S-2.1) render for
// text messages with no tools and thinking off, with the leading BOS left out;
// chat_template_check.cpp holds each against the template it stands for.
#include "archscope/chat_template.h"

#include <cctype>
#include <functional>

#include "archscope/gguf.h"
#include "archscope/tokenizer.h"
#include "tokenizer/jinja/builtins.h"

namespace archscope {
namespace {

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

// ASCII whitespace, as llama.cpp's trim() and its Jinja strip filter.
std::string trim(std::string_view s, bool left = true, bool right = true) {
  size_t start = 0, end = s.size();
  while (left && start < end && is_space(s[start])) ++start;
  while (right && end > start && is_space(s[end - 1])) --end;
  return std::string(s.substr(start, end - start));
}

std::string strip_chars(std::string_view s, char c, bool left, bool right) {
  size_t start = 0, end = s.size();
  while (left && start < end && s[start] == c) ++start;
  while (right && end > start && s[end - 1] == c) --end;
  return std::string(s.substr(start, end - start));
}

// Python's str.split(sep): the parts between occurrences.
std::vector<std::string> split(std::string_view s, std::string_view sep) {
  std::vector<std::string> parts;
  size_t pos = 0;
  while (true) {
    const size_t hit = s.find(sep, pos);
    if (hit == std::string_view::npos) break;
    parts.emplace_back(s.substr(pos, hit - pos));
    pos = hit + sep.size();
  }
  parts.emplace_back(s.substr(pos));
  return parts;
}

bool contains(const std::string& s, std::string_view needle) { return s.find(needle) != std::string::npos; }

std::string llama3(const std::vector<ChatMessage>& messages, bool add_ass) {
  std::string out;
  for (const ChatMessage& m : messages) {
    out += "<|start_header_id|>" + m.role + "<|end_header_id|>\n\n" + trim(m.content) + "<|eot_id|>";
  }
  if (add_ass) out += "<|start_header_id|>assistant<|end_header_id|>\n\n";
  return out;
}

// Llama 3.1 to 3.3: the first system message (or none) goes into a system turn that always
// opens with the knowledge cutoff and a date; the other messages are Llama 3 turns.
std::string llama31(const std::vector<ChatMessage>& messages, bool add_ass, const std::string& date) {
  std::string system;
  size_t first = 0;
  if (!messages.empty() && messages[0].role == "system") {
    system = trim(messages[0].content);
    first = 1;
  }
  std::string out = "<|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: " +
                    date + "\n\n" + system + "<|eot_id|>";
  return out + llama3(std::vector<ChatMessage>(messages.begin() + static_cast<std::ptrdiff_t>(first), messages.end()), add_ass);
}

std::string chatml(const std::vector<ChatMessage>& messages, bool add_ass) {
  std::string out;
  for (const ChatMessage& m : messages) out += "<|im_start|>" + m.role + "\n" + m.content + "<|im_end|>\n";
  if (add_ass) out += "<|im_start|>assistant\n";
  return out;
}

// Gemma 2/3: no system turn; the system text goes into the next user turn.
std::string gemma(const std::vector<ChatMessage>& messages, bool add_ass) {
  std::string out, system_prompt;
  for (const ChatMessage& m : messages) {
    if (m.role == "system") {
      system_prompt += trim(m.content);
      continue;
    }
    const std::string role = m.role == "assistant" ? "model" : m.role;
    out += "<start_of_turn>" + role + "\n";
    if (!system_prompt.empty() && role != "model") {
      out += system_prompt + "\n\n";
      system_prompt.clear();
    }
    out += trim(m.content) + "<end_of_turn>\n";
  }
  if (add_ass) out += "<start_of_turn>model\n";
  return out;
}

std::string deepseek3(const std::vector<ChatMessage>& messages, bool add_ass) {
  std::string out;
  for (const ChatMessage& m : messages) {
    if (m.role == "system") out += m.content + "\n\n";
    else if (m.role == "user") out += "<｜User｜>" + m.content;
    else if (m.role == "assistant") out += "<｜Assistant｜>" + m.content + "<｜end▁of▁sentence｜>";
  }
  if (add_ass) out += "<｜Assistant｜>";
  return out;
}

// DeepSeek V4: system texts joined first, consecutive user turns joined by a blank line,
// "</think>" opens every assistant turn when thinking is off.
std::string deepseek4(const std::vector<ChatMessage>& messages, bool add_ass) {
  std::string out;
  bool first_system = true;
  for (const ChatMessage& m : messages) {
    if (m.role != "system") continue;
    out += (first_system ? "" : "\n\n") + m.content;
    first_system = false;
  }
  bool in_user = false;
  for (const ChatMessage& m : messages) {
    if (m.role == "user" || m.role == "developer" || m.role == "tool") {
      out += in_user ? "\n\n" : "<｜User｜>";
      in_user = true;
      out += m.role == "tool" ? "<tool_result>" + m.content + "</tool_result>" : m.content;
    } else if (m.role == "assistant") {
      in_user = false;
      out += "<｜Assistant｜></think>" + m.content + "<｜end▁of▁sentence｜>";
    }
  }
  if (add_ass) out += "<｜Assistant｜></think>";
  return out;
}

// Gemma 4: the first system message becomes a system turn; the model's turns have their
// thought channel removed; the generation prompt closes an empty thought channel.
std::string gemma4(const std::vector<ChatMessage>& messages, bool add_ass) {
  std::string out;
  size_t first = 0;
  if (!messages.empty() && (messages[0].role == "system" || messages[0].role == "developer")) {
    out += "<|turn>system\n" + trim(messages[0].content) + "<turn|>\n";
    first = 1;
  }
  auto strip_thinking = [](const std::string& text) {
    std::string result;
    for (const std::string& part : split(text, "<channel|>")) {
      result += contains(part, "<|channel>") ? split(part, "<|channel>")[0] : part;
    }
    return trim(result);
  };
  std::string previous_role;  // of the previous non-tool message
  for (size_t i = first; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    if (m.role == "tool") continue;  // tool results only render next to tool calls
    const std::string role = m.role == "assistant" ? "model" : m.role;
    if (!(role == "model" && previous_role == "assistant")) out += "<|turn>" + role + "\n";
    out += role == "model" ? strip_thinking(m.content) : trim(m.content);
    out += "<turn|>\n";
    previous_role = m.role;
  }
  if (add_ass) out += "<|turn>model\n<|channel>thought\n<channel|>";
  return out;
}

const char* const kPoolsideSystemMessage =
    "You are a helpful, conversationally-fluent assistant made by Poolside. You are here to be helpful to users "
    "through natural language conversations.";

// Laguna XS.2: tags on their own lines and a default system message (XS-2.1: none).
std::string laguna(const std::vector<ChatMessage>& messages, bool add_ass, bool default_system) {
  std::string system_message = default_system ? kPoolsideSystemMessage : "";
  if (!messages.empty() && messages[0].role == "system") system_message = messages[0].content;
  std::string out;
  if (!trim(system_message).empty()) out += "<system>\n\n" + trim(system_message, false, true) + "\n</system>\n";
  for (size_t i = 0; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    std::string content = m.content;
    if (m.role == "user") {
      out += "<user>\n" + content + "\n</user>\n";
    } else if (m.role == "assistant") {
      out += "<assistant>\n";
      std::string reasoning;
      if (contains(content, "</think>")) {
        const auto parts = split(content, "</think>");
        reasoning = strip_chars(split(strip_chars(parts.front(), '\n', false, true), "<think>").back(), '\n', true, false);
        content = strip_chars(parts.back(), '\n', true, false);
      }
      out += reasoning.empty() ? "</think>\n" : "<think>\n" + trim(reasoning) + "\n</think>\n";
      if (!trim(content).empty()) out += trim(content) + "\n";
      out += "</assistant>\n";
    } else if (m.role == "tool") {
      out += "<tool_response>\n" + content + "\n</tool_response>\n";
    } else if (m.role == "system" && i != 0) {
      out += "<system>\n" + content + "\n</system>\n";
    }
  }
  if (add_ass) out += "<assistant>\n</think>";
  return out;
}

// Laguna S-2.1: the same tags with nothing between them and the text, the first system
// message (or Poolside's) in a <system> turn, assistant text kept as it is.
std::string laguna_s21(const std::vector<ChatMessage>& messages, bool add_ass) {
  std::string system_message = kPoolsideSystemMessage;
  size_t first = 0;
  if (!messages.empty() && messages[0].role == "system") {
    system_message = messages[0].content;
    first = 1;
  }
  std::string out;
  if (!trim(system_message).empty()) out += "<system>" + trim(system_message, false, true) + "</system>\n";
  for (size_t i = first; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    if (m.role == "user") out += "<user>" + m.content + "</user>\n";
    else if (m.role == "assistant") out += "<assistant></think>" + m.content + "</assistant>\n";
    else if (m.role == "tool") out += "<tool_response>" + m.content + "</tool_response>\n";
    else if (m.role == "system") out += "<system>" + m.content + "</system>\n";
  }
  if (add_ass) out += "<assistant></think>";
  return out;
}

}  // namespace

const char* to_string(ChatFormat format) {
  switch (format) {
    case ChatFormat::Plain: return "plain";
    case ChatFormat::Llama3: return "llama3";
    case ChatFormat::Llama31: return "llama3.1";
    case ChatFormat::Llama32: return "llama3.2";
    case ChatFormat::ChatML: return "chatml";
    case ChatFormat::Gemma: return "gemma";
    case ChatFormat::Gemma4: return "gemma4";
    case ChatFormat::DeepSeek3: return "deepseek3";
    case ChatFormat::DeepSeek4: return "deepseek4";
    case ChatFormat::Laguna: return "laguna";
    case ChatFormat::LagunaXS21: return "laguna-xs-2.1";
    case ChatFormat::LagunaS21: return "laguna-s-2.1";
  }
  return "?";
}

ChatFormat detect_chat_format(const std::string& t) {
  if (t.empty()) return ChatFormat::Plain;
  // llama.cpp accepts a built-in template's name in place of a template.
  if (t == "chatml") return ChatFormat::ChatML;
  if (t == "llama3") return ChatFormat::Llama3;
  if (t == "gemma") return ChatFormat::Gemma;
  if (t == "deepseek3") return ChatFormat::DeepSeek3;
  // Jinja-only in llama.cpp; their markers appear in no template of the chain below.
  if (contains(t, "<|turn>")) return ChatFormat::Gemma4;
  if (contains(t, "<｜Assistant｜>") && (contains(t, "drop_thinking") || contains(t, "<tool_result>"))) {
    return ChatFormat::DeepSeek4;
  }
  if (contains(t, "<user>") && contains(t, "<assistant>") && contains(t, "</assistant>")) {
    // XS.2 and XS-2.1 write "<user>\n" (XS-2.1 with no default system message), S-2.1 "<user>".
    if (!contains(t, "<user>\\n")) return ChatFormat::LagunaS21;
    return contains(t, "set system_message = \"\"") ? ChatFormat::LagunaXS21 : ChatFormat::Laguna;
  }

  // llama.cpp's llm_chat_detect_template, in its order; formats archscope does not
  // implement are Plain, so that they still shadow the later checks as they do there.
  auto has = [&](std::string_view s) { return contains(t, s); };
  if (has("<|im_start|>")) {
    return has("<|im_sep|>") || has("<end_of_utterance>") ? ChatFormat::Plain : ChatFormat::ChatML;
  }
  const std::vector<std::function<bool()>> unsupported_before_gemma = {
      [&] { return t.find("mistral") == 0 || has("[INST]"); },
      [&] { return has("<|assistant|>") && has("<|end|>"); },
      [&] { return has("[gMASK]<sop>"); },
      [&] { return has("<|assistant|>") && has("<|user|>"); },
      [&] { return has("<|{{ item['role'] }}|>") && has("<|begin_of_image|>"); },
      [&] { return has("<|user|>") && has("<|endoftext|>"); },
      [&] { return has("bos_token + message['role']"); },
  };
  for (const auto& check : unsupported_before_gemma) {
    if (check()) return ChatFormat::Plain;
  }
  if (has("<start_of_turn>")) return ChatFormat::Gemma;
  const std::vector<std::function<bool()>> unsupported_before_llama3 = {
      [&] { return has("'\\n\\nAssistant: ' + eos_token"); },
      [&] { return has("GPT4 Correct "); },
      [&] { return has("USER: ") && has("ASSISTANT: "); },
      [&] { return has("### Instruction:") && has("<|EOT|>"); },
      [&] { return has("<|START_OF_TURN_TOKEN|>") && has("<|USER_TOKEN|>"); },
  };
  for (const auto& check : unsupported_before_llama3) {
    if (check()) return ChatFormat::Plain;
  }
  if (has("<|start_header_id|>") && has("<|end_header_id|>")) {
    if (!has("Cutting Knowledge Date")) return ChatFormat::Llama3;
    return has("strftime_now") ? ChatFormat::Llama32 : ChatFormat::Llama31;
  }
  if (has("[gMASK]sop") || has("<用户>") || has("'Assistant: ' + message['content'] + eos_token")) {
    return ChatFormat::Plain;
  }
  if (has("<｜Assistant｜>") && has("<｜User｜>") && has("<｜end▁of▁sentence｜>")) return ChatFormat::DeepSeek3;
  return ChatFormat::Plain;
}

ChatFormat detect_chat_format(const GgufFile& file) {
  if (const GgufValue* tmpl = file.find("tokenizer.chat_template"); tmpl && tmpl->type == GgufValueType::String) {
    return detect_chat_format(tmpl->s);
  }
  const GgufValue* arch_value = file.find("general.architecture");
  if (arch_value == nullptr || arch_value->type != GgufValueType::String) return ChatFormat::Plain;
  const std::string& arch = arch_value->s;
  if (arch == "llama") {
    const GgufValue* tokens = file.find("tokenizer.ggml.tokens");
    if (tokens && tokens->is_array()) {
      for (const GgufValue& token : tokens->items) {
        if (token.type == GgufValueType::String && token.s == "<|start_header_id|>") return ChatFormat::Llama3;
      }
    }
    return ChatFormat::Plain;
  }
  if (arch == "qwen2" || arch == "qwen3" || arch == "qwen2moe" || arch == "qwen3moe") return ChatFormat::ChatML;
  if (arch == "gemma" || arch == "gemma2" || arch == "gemma3" || arch == "gemma3n" || arch == "zaya") {
    return ChatFormat::Gemma;
  }
  if (arch == "gemma4") return ChatFormat::Gemma4;
  if (arch == "deepseek2" || arch == "deepseek3") return ChatFormat::DeepSeek3;
  if (arch == "deepseek4") return ChatFormat::DeepSeek4;
  if (arch == "laguna") return ChatFormat::Laguna;
  return ChatFormat::Plain;
}

std::string format_chat(ChatFormat format, const std::vector<ChatMessage>& messages, bool add_assistant_prefix) {
  return format_chat(format, messages, add_assistant_prefix, std::time(nullptr));
}

std::string format_chat(ChatFormat format, const std::vector<ChatMessage>& messages, bool add_assistant_prefix,
                        std::time_t now) {
  switch (format) {
    case ChatFormat::Plain: {
      std::string out;
      for (const ChatMessage& m : messages) out += m.content;
      return out;
    }
    case ChatFormat::Llama3: return llama3(messages, add_assistant_prefix);
    case ChatFormat::Llama31: return llama31(messages, add_assistant_prefix, "26 Jul 2024");
    case ChatFormat::Llama32: return llama31(messages, add_assistant_prefix, jinja::strftime_english("%d %b %Y", now));
    case ChatFormat::ChatML: return chatml(messages, add_assistant_prefix);
    case ChatFormat::Gemma: return gemma(messages, add_assistant_prefix);
    case ChatFormat::Gemma4: return gemma4(messages, add_assistant_prefix);
    case ChatFormat::DeepSeek3: return deepseek3(messages, add_assistant_prefix);
    case ChatFormat::DeepSeek4: return deepseek4(messages, add_assistant_prefix);
    case ChatFormat::Laguna: return laguna(messages, add_assistant_prefix, true);
    case ChatFormat::LagunaXS21: return laguna(messages, add_assistant_prefix, false);
    case ChatFormat::LagunaS21: return laguna_s21(messages, add_assistant_prefix);
  }
  return {};
}

bool chat_format_starts_with_bos(ChatFormat format) {
  return format == ChatFormat::Gemma4 || format == ChatFormat::DeepSeek4 || format == ChatFormat::Laguna ||
         format == ChatFormat::LagunaXS21 || format == ChatFormat::LagunaS21;
}

std::vector<int32_t> encode_chat(const Tokenizer& tokenizer, ChatFormat format,
                                 const std::vector<ChatMessage>& messages, bool add_assistant_prefix) {
  std::vector<int32_t> ids =
      tokenizer.encode(format_chat(format, messages, add_assistant_prefix), /*add_special=*/true, /*parse_special=*/true);
  if (chat_format_starts_with_bos(format) && !tokenizer.add_bos() && tokenizer.bos() >= 0) {
    ids.insert(ids.begin(), tokenizer.bos());
  }
  return ids;
}

}  // namespace archscope
