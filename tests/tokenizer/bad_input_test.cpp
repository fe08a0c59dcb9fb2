// Nothing in a file is trusted: each broken vocabulary is an archscope::Error whose one line
// names the file and the key. And no text, however odd, breaks encode.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <random>

#include "archscope/gguf.h"
#include "archscope/tokenizer.h"
#include "tokenizer_fixtures.h"

namespace archscope {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using testing::small_vocab;
using testing::TokenizerTempDir;

// A valid little BPE vocabulary to break in different ways.
Vocabulary little() {
  Vocabulary v;
  v.model = "gpt2";
  v.pre = "qwen2";
  v.tokens = {"a", "b", "ab", "<|im_end|>"};
  v.token_types = {TokenType::Normal, TokenType::Normal, TokenType::Normal, TokenType::Control};
  v.merges = {"a b"};
  v.bos = 3;
  v.eos = 3;
  return v;
}

// Writes `v` plus `extra` keys to a file and loads it; returns the error message ("" if none).
std::string load_error(const TokenizerTempDir& dir, const Vocabulary& v,
                       const std::function<void(GgufWriter&)>& extra = {}) {
  GgufWriter w;
  v.write_to(w);
  if (extra) extra(w);
  w.write(dir.file("bad.gguf"));
  try {
    Tokenizer::from_gguf(GgufFile::open(dir.file("bad.gguf")));
  } catch (const Error& e) {
    return e.what();
  }
  return "";
}

TEST(BadVocabulary, TheValidOneLoads) {
  TokenizerTempDir dir;
  EXPECT_EQ(load_error(dir, little()), "");
  const Tokenizer tok = Tokenizer::from_vocabulary(little());
  EXPECT_EQ(tok.encode("abab", false, false), (std::vector<int32_t>{2, 2}));
}

TEST(BadVocabulary, MissingOrMistypedKeys) {
  TokenizerTempDir dir;
  const std::string file = dir.file("bad.gguf");
  {
    GgufWriter w;
    w.set_string("general.architecture", "llama");
    w.write(file);
    try {
      Tokenizer::from_gguf(GgufFile::open(file));
      ADD_FAILURE() << "no error";
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), AllOf(HasSubstr(file), HasSubstr("tokenizer.ggml.model"), HasSubstr("missing")));
    }
  }
  {
    GgufWriter w;
    w.set_string("tokenizer.ggml.model", "gpt2");
    w.write(file);
    try {
      Tokenizer::from_gguf(GgufFile::open(file));
      ADD_FAILURE() << "no error";
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), AllOf(HasSubstr(file), HasSubstr("tokenizer.ggml.tokens: missing")));
    }
  }
  Vocabulary no_tokens = little();
  no_tokens.tokens.clear();
  no_tokens.token_types.clear();
  no_tokens.bos = no_tokens.eos = -1;
  EXPECT_THAT(load_error(dir, no_tokens), AllOf(HasSubstr(file), HasSubstr("tokenizer.ggml.tokens: the vocabulary has no tokens")));
  EXPECT_THAT(load_error(dir, little(), [](GgufWriter& w) { w.set_i32_array("tokenizer.ggml.tokens", {1, 2, 3, 4}); }),
              AllOf(HasSubstr(file), HasSubstr("tokenizer.ggml.tokens"), HasSubstr("array of strings")));
  EXPECT_THAT(load_error(dir, little(), [](GgufWriter& w) { w.set_string("tokenizer.ggml.token_type", "normal"); }),
              AllOf(HasSubstr("tokenizer.ggml.token_type"), HasSubstr("expected an array of integers")));
  EXPECT_THAT(load_error(dir, little(), [](GgufWriter& w) { w.set_f32_array("tokenizer.ggml.scores", {0.f}); }),
              AllOf(HasSubstr("tokenizer.ggml.scores"), HasSubstr("1 scores for 4 tokens")));
  EXPECT_THAT(load_error(dir, little(), [](GgufWriter& w) { w.set_string("tokenizer.ggml.bos_token_id", "3"); }),
              AllOf(HasSubstr("tokenizer.ggml.bos_token_id"), HasSubstr("expected an integer")));
  EXPECT_THAT(load_error(dir, little(), [](GgufWriter& w) { w.set_u32("tokenizer.ggml.add_bos_token", 1); }),
              HasSubstr("tokenizer.ggml.add_bos_token: expected a bool"));
}

TEST(BadVocabulary, IdsOutOfRange) {
  TokenizerTempDir dir;
  const std::string file = dir.file("bad.gguf");
  for (const char* key : {"tokenizer.ggml.bos_token_id", "tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id",
                          "tokenizer.ggml.padding_token_id", "tokenizer.ggml.unknown_token_id",
                          "tokenizer.ggml.eom_token_id", "tokenizer.ggml.fim_pad_token_id"}) {
    EXPECT_THAT(load_error(dir, little(), [&](GgufWriter& w) { w.set_u32(key, 4); }),
                AllOf(HasSubstr(file), HasSubstr(key), HasSubstr("token id 4 is out of range"),
                      HasSubstr("4 tokens")));
  }
  EXPECT_THAT(load_error(dir, little(), [](GgufWriter& w) { w.set_i32("tokenizer.ggml.eos_token_id", -7); }),
              HasSubstr("tokenizer.ggml.eos_token_id: token id -7 is out of range"));
  Vocabulary v = little();
  v.bos = 9;
  EXPECT_THROW(
      {
        GgufWriter w;
        v.write_to(w);
      },
      Error);
  try {
    Tokenizer::from_vocabulary(v, "my-vocab");
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), AllOf(HasSubstr("my-vocab"), HasSubstr("bos_token_id"), HasSubstr("9")));
  }
}

TEST(BadVocabulary, Merges) {
  TokenizerTempDir dir;
  Vocabulary v = little();
  v.merges = {"a b", "a c"};
  EXPECT_THAT(load_error(dir, v), AllOf(HasSubstr("tokenizer.ggml.merges[1] 'a c'"), HasSubstr("'c' is not a token")));
  v.merges = {"b a"};
  EXPECT_THAT(load_error(dir, v), HasSubstr("the merged 'ba' is not a token"));
  v.merges = {"ab"};
  EXPECT_THAT(load_error(dir, v), HasSubstr("not two tokens separated by a space"));
  v.merges.clear();
  EXPECT_THAT(load_error(dir, v), HasSubstr("tokenizer.ggml.merges: missing"));
}

TEST(BadVocabulary, ModelsAndTokens) {
  TokenizerTempDir dir;
  Vocabulary v = little();
  v.model = "bert";
  EXPECT_THAT(load_error(dir, v), AllOf(HasSubstr("tokenizer.ggml.model"), HasSubstr("'bert' is not supported")));
  v = little();
  v.pre = "kimi-k2";
  EXPECT_THAT(load_error(dir, v), AllOf(HasSubstr("tokenizer.ggml.pre"), HasSubstr("'kimi-k2' is not supported")));
  v = little();
  v.tokens[2] = "a";
  EXPECT_THAT(load_error(dir, v), HasSubstr("tokenizer.ggml.tokens: token 2 'a' repeats token 0"));
  v = little();
  v.token_types.pop_back();
  EXPECT_THAT(load_error(dir, v), HasSubstr("3 token types for 4 tokens"));
  // SentencePiece adds BOS by default; a vocabulary too small to have llama.cpp's default id 1.
  Vocabulary spm;
  spm.model = "llama";
  spm.tokens = {"a"};
  EXPECT_THAT(load_error(dir, spm), HasSubstr("asks for a BOS token but has none"));
  spm.add_bos = false;
  EXPECT_EQ(load_error(dir, spm), "");
}

// Random bytes, random UTF-8 and lone special-token fragments: encode never throws, and for
// byte-level BPE the valid UTF-8 comes back unchanged.
TEST(BadText, EncodeSurvivesAnything) {
  const Tokenizer bpe = Tokenizer::from_vocabulary(small_vocab(SmallVocabStyle::Llama3));
  Vocabulary spm_vocab;
  spm_vocab.model = "llama";
  spm_vocab.tokens = {"<unk>", "<s>", "</s>", "▁", "a"};
  const Tokenizer spm = Tokenizer::from_vocabulary(spm_vocab);
  std::mt19937 rng(1234);
  const std::vector<std::string> pieces = {"<|eot_id|", "|>", "<|", "\xF0\x9F", "\xA6\x99", "\r\n", "  ", "'s", "1234",
                                           "日本", "\x80", "\xFF", "<|eot_id|>", "\xE2\x96\x81"};
  for (int round = 0; round < 300; ++round) {
    std::string text;
    const int n = static_cast<int>(rng() % 40);
    for (int i = 0; i < n; ++i) {
      if (rng() % 2) text += pieces[rng() % pieces.size()];
      else text += static_cast<char>(rng() % 256);
    }
    for (bool parse : {false, true}) {
      EXPECT_NO_THROW({
        const auto ids = bpe.encode(text, true, parse);
        for (int32_t id : ids) EXPECT_LT(static_cast<size_t>(id), bpe.vocab_size());
        bpe.decode(ids);
        spm.encode(text, true, parse);
      });
    }
  }
}

}  // namespace
}  // namespace archscope
