// Does archscope's built-in chat format give the model the prompt its own template gives?
//
// archscope writes prompts with built-in formats (chat_template.h) chosen from the text of a
// file's tokenizer.chat_template. check_chat_template renders that template with archscope's
// Jinja interpreter, as transformers' apply_chat_template would, for two sample
// conversations (system + user + assistant + user, and the same without the system
// message), with add_generation_prompt true, no tools, the vocabulary's bos_token and
// eos_token, and enable_thinking false for the formats that are thinking off (Gemma 4,
// DeepSeek V4, Laguna; for ChatML the template's own default stands), and compares it with
// the built-in format's text.
//
// "Agrees" means the same bytes the model would see: the built-in side is format_chat's
// text with the BOS token's text in front when encode_chat adds a BOS (the vocabulary's
// add_bos, or a format whose template starts with one), the template side is the rendering
// as it is (templates write bos_token themselves). A template that raises an error for one
// sample (Gemma 2 refuses a system message) is judged on the other.
#pragma once

#include <ctime>
#include <string>
#include <vector>

#include "archscope/chat_template.h"

namespace archscope {

class GgufFile;
class Tokenizer;

struct ChatTemplateCheck {
  enum class Outcome {
    NoTemplate,       // the file has no tokenizer.chat_template: the format comes from the architecture
    Agrees,           // every sample renders the same text both ways
    Differs,          // a sample renders differently: `conversation` and the two texts show it
    NoBuiltInFormat,  // detect_chat_format found no format: chats run as plain text
    RenderFailed,     // the interpreter could not render the template: `error` says why
  };
  Outcome outcome = Outcome::NoTemplate;
  std::string chat_template;               // the file's template text, "" when none
  ChatFormat format = ChatFormat::Plain;   // the built-in format archscope uses for the file
  std::vector<ChatMessage> conversation;   // the sample shown (the first that differs)
  std::string template_text;               // its rendering by the template
  std::string builtin_text;                // and by the built-in format, BOS text included
  size_t first_difference = std::string::npos;  // byte offset where the two texts first differ
  std::string error;                       // RenderFailed: "line 12: unknown filter 'foo'"
  std::string note;                        // e.g. which sample the template refused, and why

  bool agrees() const { return outcome == Outcome::Agrees; }
  // Worth a warning: the model may get a prompt other than the one it was trained on.
  bool warns() const { return outcome == Outcome::Differs || outcome == Outcome::NoBuiltInFormat; }
  // One line for the CLI and the status bar.
  std::string summary() const;
};

// The vocabulary's facts the check needs.
struct ChatTemplateTokens {
  std::string bos, eos;   // token texts, "" when the vocabulary has none
  bool adds_bos = false;  // the tokenizer's add_bos: encode puts a BOS first
};

// Reads tokenizer.chat_template and the vocabulary from the file; never throws. `now` is
// the date strftime_now and Llama 3.2's format write (0: the clock).
ChatTemplateCheck check_chat_template(const GgufFile& file, std::time_t now = 0);
// The same with the file's vocabulary already loaded (a running session's tokenizer).
ChatTemplateCheck check_chat_template(const GgufFile& file, const Tokenizer& tokenizer, std::time_t now = 0);
// The same for a template text and the format to hold it against.
ChatTemplateCheck check_chat_template(const std::string& chat_template, ChatFormat format,
                                      const ChatTemplateTokens& tokens, std::time_t now = 0);

// The sample conversations, with a system message and without one.
std::vector<std::vector<ChatMessage>> chat_template_samples();

}  // namespace archscope
