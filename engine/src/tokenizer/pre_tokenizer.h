// BPE pre-tokenizers: the regex lists llama.cpp's llm_tokenizer_bpe uses for each
// tokenizer.ggml.pre value, and a splitter that runs them with PCRE2 the way llama.cpp's
// unicode_regex_split does (with llama.cpp's own character tables; see pre_tokenizer.cpp).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace archscope::tokenizer {

// What a tokenizer.ggml.pre value means (llama.cpp's llama_vocab::impl::load and
// llm_tokenizer_bpe). Regexes are llama.cpp's strings, unchanged.
struct PreTokenizerSpec {
  std::string name;                  // canonical llama.cpp pre type ("llama3", "qwen2", ...)
  std::vector<std::string> regexes;  // applied in turn, each refining the previous split
  bool byte_encode = true;           // GPT-2 byte mapping (false: raw UTF-8, gemma4)
  bool escape_spaces = false;        // " " -> "▁" before splitting (gemma4)
  bool ignore_merges = false;        // a piece that is a whole token is taken as is (llama3)
  bool add_bos = false;              // default for tokenizer.ggml.add_bos_token
  bool no_bos = false;               // the pre type disables the BOS token (chatglm)
};

// The spec for a tokenizer.ggml.pre value ("" means "default", as llama.cpp does with a
// warning); nullptr when llama.cpp has none or this port does not support it.
const PreTokenizerSpec* find_pre_tokenizer(std::string_view pre);
// Every supported tokenizer.ggml.pre value, for messages and tests.
std::vector<std::string> supported_pre_tokenizers();

// Splits text into words with a list of regexes, as unicode_regex_split(text, regexes,
// byte_encode = false): each regex splits every current piece into its matches and the
// gaps between them. The text is decoded leniently first (invalid bytes become U+FFFD).
// Thread-safe once built.
class RegexSplitter {
 public:
  explicit RegexSplitter(const std::vector<std::string>& regexes);  // throws archscope::Error
  std::vector<std::string> split(std::string_view text) const;

  struct Compiled;

 private:
  std::vector<std::shared_ptr<const Compiled>> compiled_;
};

}  // namespace archscope::tokenizer
