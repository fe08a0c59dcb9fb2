// archscope's tokenizer against llama.cpp's own tokenizer tests: llama.cpp ships
// vocabulary-only GGUF files with inputs (.inp, cases separated by "__ggml_vocab_test__")
// and the token ids its tokenizer gives for them (.out), checked by its test-tokenizer-0
// with add_special = false, parse_special = false. These need llama.cpp's source tree
// ($ARCHSCOPE_LLAMA_CPP_DIR or /opt/ref/llama.cpp) and are skipped without it.
#include <gtest/gtest.h>

#include <filesystem>
#include <map>

#include "archscope/gguf.h"
#include "archscope/tokenizer.h"
#include "tokenizer/utf8.h"
#include "tokenizer_fixtures.h"

namespace archscope {
namespace {

using testing::llama_cpp_dir;
using testing::read_text_file;

struct Case {
  std::string text;
  std::vector<int32_t> ids;
};

// test-tokenizer-0's reader: inputs split on "\n__ggml_vocab_test__\n", one line of ids each.
std::vector<Case> read_cases(const std::string& gguf) {
  const std::string inp = read_text_file(gguf + ".inp");
  const std::string out = read_text_file(gguf + ".out");
  const std::string sep = "\n__ggml_vocab_test__\n";
  std::vector<std::string> inputs;
  for (size_t pos = 0; pos < inp.size();) {
    const size_t next = inp.find(sep, pos);
    if (next == std::string::npos) {
      inputs.push_back(inp.substr(pos));
      break;
    }
    inputs.push_back(inp.substr(pos, next - pos));
    pos = next + sep.size();
  }
  std::vector<std::string> lines;
  std::stringstream stream(out);
  for (std::string line; std::getline(stream, line);) lines.push_back(line);
  EXPECT_EQ(inputs.size(), lines.size()) << gguf;
  std::vector<Case> cases;
  for (size_t i = 0; i < std::min(inputs.size(), lines.size()); ++i) {
    Case c{inputs[i], {}};
    std::stringstream ids(lines[i]);
    for (int32_t id; ids >> id;) c.ids.push_back(id);
    cases.push_back(std::move(c));
  }
  return cases;
}

std::string show(const std::vector<int32_t>& ids) {
  std::string s;
  for (int32_t id : ids) s += std::to_string(id) + " ";
  return s;
}

bool valid_utf8(std::string_view s) {
  while (!s.empty()) {
    const int n = tokenizer::utf8_valid_prefix(s);
    if (n <= 0) return false;
    s.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// Each reference vocabulary is loaded once per process (Gemma 4's takes about half a second).
const Tokenizer& load(const std::string& path) {
  static std::map<std::string, Tokenizer> cache;
  auto it = cache.find(path);
  if (it == cache.end()) it = cache.emplace(path, Tokenizer::from_gguf(GgufFile::open(path))).first;
  return it->second;
}

class LlamaCppVocab : public ::testing::TestWithParam<std::string> {};

TEST_P(LlamaCppVocab, MatchesTokenizerTest0) {
  const std::string path = llama_cpp_dir() + "/models/ggml-vocab-" + GetParam() + ".gguf";
  if (!std::filesystem::exists(path) || !std::filesystem::exists(path + ".out")) {
    GTEST_SKIP() << path << " not found (set ARCHSCOPE_LLAMA_CPP_DIR to a llama.cpp checkout)";
  }
  const Tokenizer& tok = load(path);
  const std::vector<Case> cases = read_cases(path);
  ASSERT_FALSE(cases.empty());
  int failures = 0;
  for (const Case& c : cases) {
    const std::vector<int32_t> got = tok.encode(c.text, /*add_special=*/false, /*parse_special=*/false);
    if (got != c.ids && ++failures <= 5) {
      ADD_FAILURE() << GetParam() << ": '" << c.text << "'\n  expected " << show(c.ids) << "\n  got      " << show(got);
    }
  }
  EXPECT_EQ(failures, 0) << "of " << cases.size() << " cases";
}

// Every 7th token of the BPE vocabularies: its text encodes back to the same
// text (and, for llama3's ignore_merges, to the token itself), as test-tokenizer-1-bpe.
// Pieces that are not valid UTF-8 (single bytes of a character) cannot round-trip.
TEST_P(LlamaCppVocab, TokenTextsRoundTrip) {
  const std::string path = llama_cpp_dir() + "/models/ggml-vocab-" + GetParam() + ".gguf";
  if (!std::filesystem::exists(path)) GTEST_SKIP() << path << " not found";
  if (GgufFile::open(path).find("tokenizer.ggml.model")->s == "llama") GTEST_SKIP() << "BPE vocabularies only";
  const Tokenizer& tok = load(path);
  int failures = 0;
  for (int32_t id = 0; id < static_cast<int32_t>(tok.vocab_size()); id += 7) {
    const std::string text = tok.token_text(id);
    if (text.empty() || tok.token_type(id) == TokenType::Unused || !valid_utf8(text)) continue;
    const std::vector<int32_t> ids = tok.encode(text, false, true);
    const bool ok = tok.decode(ids) == text && (tok.pre() != "llama3" || ids == std::vector<int32_t>{id});
    if (!ok && ++failures <= 5) ADD_FAILURE() << GetParam() << ": token " << id << " '" << text << "' -> " << show(ids);
  }
  EXPECT_EQ(failures, 0);
}

INSTANTIATE_TEST_SUITE_P(Reference, LlamaCppVocab,
                         ::testing::Values("llama-bpe", "qwen2", "qwen35", "llama-spm", "gemma-4", "gpt-2",
                                           "phi-3", "deepseek-llm", "deepseek-coder", "falcon", "mpt",
                                           "starcoder", "refact", "command-r"),
                         [](const auto& info) {
                           std::string name = info.param;
                           for (char& c : name) if (c == '-') c = '_';
                           return name;
                         });

// Special ids and the EOG set as llama.cpp derives them for real vocabularies.
TEST(LlamaCppVocabSpecials, Llama3AndQwen2AndGemma4) {
  const std::string dir = llama_cpp_dir() + "/models/";
  if (!std::filesystem::exists(dir + "ggml-vocab-llama-bpe.gguf")) GTEST_SKIP() << dir << " not found";
  {
    const Tokenizer& tok = load(dir + "ggml-vocab-llama-bpe.gguf");
    EXPECT_EQ(tok.bos(), 128000);
    EXPECT_EQ(tok.eos(), 128001);
    EXPECT_EQ(tok.eot(), 128009);  // <|eot_id|>
    EXPECT_TRUE(tok.add_bos());
    EXPECT_TRUE(tok.is_end_of_generation(128001));
    EXPECT_TRUE(tok.is_end_of_generation(128009));
    EXPECT_FALSE(tok.is_end_of_generation(tok.find_token("<|start_header_id|>")));
    EXPECT_EQ(tok.encode("<|start_header_id|>user<|end_header_id|>", true, true),
              (std::vector<int32_t>{128000, 128006, 882, 128007}));
    // Without parse_special the control token is plain text.
    EXPECT_GT(tok.encode("<|start_header_id|>", false, false).size(), 1u);
  }
  {
    const Tokenizer& tok = load(dir + "ggml-vocab-qwen2.gguf");
    EXPECT_FALSE(tok.add_bos());
    EXPECT_EQ(tok.eot(), tok.find_token("<|im_end|>"));
    EXPECT_TRUE(tok.is_end_of_generation(tok.find_token("<|im_end|>")));
    EXPECT_TRUE(tok.is_end_of_generation(tok.find_token("<|endoftext|>")));
    EXPECT_FALSE(tok.is_end_of_generation(tok.find_token("<|im_start|>")));
  }
  if (std::filesystem::exists(dir + "ggml-vocab-gemma-4.gguf")) {
    const Tokenizer& tok = load(dir + "ggml-vocab-gemma-4.gguf");
    EXPECT_EQ(tok.model(), "gemma4");
    EXPECT_TRUE(tok.add_bos());
    EXPECT_EQ(tok.bos(), 2);
    EXPECT_TRUE(tok.is_end_of_generation(1));  // <eos>
    EXPECT_TRUE(tok.is_end_of_generation(tok.find_token("<turn|>")));
    EXPECT_FALSE(tok.is_end_of_generation(tok.find_token("<|turn>")));
    const std::vector<int32_t> ids = tok.encode("<|turn>user\nHi<turn|>", true, true);
    ASSERT_GE(ids.size(), 3u);
    EXPECT_EQ(ids.front(), 2);
    EXPECT_EQ(ids[1], tok.find_token("<|turn>"));
    EXPECT_EQ(ids.back(), tok.find_token("<turn|>"));
    EXPECT_EQ(tok.decode(ids, /*render_special=*/false), "user\nHi");
  }
}

}  // namespace
}  // namespace archscope
