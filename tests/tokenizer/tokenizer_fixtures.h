// Helpers for the tokenizer tests: a temporary folder, GGUF files made from a Vocabulary,
// the trained small vocabularies (trained once per process), and where llama.cpp's
// reference vocabularies live when this machine has them.
#pragma once

#include <gtest/gtest.h>

#include <stdlib.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "archscope/error.h"
#include "archscope/gguf.h"
#include "archscope/tokenizer.h"

namespace archscope::testing {

class TokenizerTempDir {
 public:
  TokenizerTempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "archscope-tokenizer-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TokenizerTempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TokenizerTempDir(const TokenizerTempDir&) = delete;
  TokenizerTempDir& operator=(const TokenizerTempDir&) = delete;
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// Writes the vocabulary (plus any keys already in `writer`) to a GGUF file and reads it back.
inline Tokenizer tokenizer_via_gguf(const Vocabulary& vocab, const std::string& path, GgufWriter writer = {}) {
  vocab.write_to(writer);
  writer.write(path);
  return Tokenizer::from_gguf(GgufFile::open(path));
}

inline const Vocabulary& small_vocab(SmallVocabStyle style) {
  static const Vocabulary llama3 = make_small_bpe_vocab({SmallVocabStyle::Llama3, 512, ""});
  static const Vocabulary qwen2 = make_small_bpe_vocab({SmallVocabStyle::Qwen2, 512, ""});
  return style == SmallVocabStyle::Qwen2 ? qwen2 : llama3;
}

// llama.cpp's source tree: $ARCHSCOPE_LLAMA_CPP_DIR, else /opt/ref/llama.cpp.
inline std::string llama_cpp_dir() {
  const char* env = std::getenv("ARCHSCOPE_LLAMA_CPP_DIR");
  return env && *env ? std::string(env) : std::string("/opt/ref/llama.cpp");
}

inline std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

}  // namespace archscope::testing
