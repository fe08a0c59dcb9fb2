// Chat prompts: which format a model expects, and the text of a conversation in it.
//
// Llama3, ChatML, Gemma and DeepSeek3 produce exactly what llama.cpp's built-in
// llm_chat_apply_template (src/llama-chat.cpp) produces. The others are what the published
// Jinja templates render for plain text messages (no tools): Llama 3.1 to 3.3 (meta-llama),
// and with thinking off (the templates' default) google/gemma-4 "-it", deepseek-ai/DeepSeek-V4
// and poolside's Laguna-XS.2, -XS-2.1 and -S-2.1. check_chat_template
// (chat_template_check.h) compares a file's own template with the format chosen for it.
// No format includes the BOS token: encode with add_special = true, or use encode_chat.
#pragma once

#include <cstdint>
#include <ctime>
#include <string>
#include <vector>

namespace archscope {

class GgufFile;
class Tokenizer;

enum class ChatFormat {
  Plain,      // base model completion: the contents concatenated as they are
  Llama3,     // <|start_header_id|>role<|end_header_id|>\n\ncontent<|eot_id|>
  Llama31,    // as Llama3, always a system turn: "Cutting Knowledge Date: December 2023\nToday Date: 26 Jul 2024"
  Llama32,    // as Llama31 with today's date (Llama 3.2's template calls strftime_now)
  ChatML,     // <|im_start|>role\ncontent<|im_end|>\n (Qwen2, Qwen3)
  Gemma,      // <start_of_turn>user\n...<end_of_turn>\n (Gemma 2/3; ZAYA1 uses Gemma 3's tokenizer)
  Gemma4,     // <|turn>user\n...<turn|>\n
  DeepSeek3,  // <｜User｜>...<｜Assistant｜>...<｜end▁of▁sentence｜>
  DeepSeek4,  // as DeepSeek3 with </think> after <｜Assistant｜> (thinking off)
  Laguna,     // <user>\n...\n</user>\n<assistant>\n</think>\n...\n</assistant>\n, Poolside's default system message
  LagunaXS21, // as Laguna with no default system message (Laguna-XS-2.1)
  LagunaS21,  // <user>...</user>\n<assistant></think>...</assistant>\n, no newlines inside (Laguna-S-2.1)
};

const char* to_string(ChatFormat format);

struct ChatMessage {
  std::string role;     // "system", "user", "assistant"
  std::string content;
};

// The format named by a template's distinctive text (as llama.cpp's
// llm_chat_detect_template, plus Gemma 4, DeepSeek V4 and Laguna); Plain when none matches.
ChatFormat detect_chat_format(const std::string& chat_template);
// From tokenizer.chat_template when the file has one, else from general.architecture
// (llama with <|start_header_id|> in its tokens: Llama3; qwen2/qwen3: ChatML; gemma*,
// zaya: Gemma; gemma4: Gemma4; deepseek2/3: DeepSeek3; deepseek4: DeepSeek4; laguna:
// Laguna); Plain when neither says.
ChatFormat detect_chat_format(const GgufFile& file);

// The conversation as prompt text. add_assistant_prefix opens the assistant's turn
// ("add_generation_prompt"), so the model writes the reply next.
std::string format_chat(ChatFormat format, const std::vector<ChatMessage>& messages, bool add_assistant_prefix);
// The same with `now` as today's date (what Llama32 writes, as its template's strftime_now).
std::string format_chat(ChatFormat format, const std::vector<ChatMessage>& messages, bool add_assistant_prefix,
                        std::time_t now);

// Whether the format's template starts with the BOS token (Gemma 4, DeepSeek V4, Laguna's);
// llama.cpp keeps it in the text when the vocabulary does not add one itself.
bool chat_format_starts_with_bos(ChatFormat format);

// format_chat, tokenized with special tokens parsed and exactly one BOS first where the
// model wants one (the vocabulary's add_bos, or the template's own BOS).
std::vector<int32_t> encode_chat(const Tokenizer& tokenizer, ChatFormat format,
                                 const std::vector<ChatMessage>& messages, bool add_assistant_prefix);

}  // namespace archscope
