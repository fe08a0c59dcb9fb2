// The trained small byte-level BPE vocabularies: their GGUF keys, and encoding / decoding
// with them through a real GGUF file.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>

#include "archscope/gguf.h"
#include "archscope/tokenizer.h"
#include "tokenizer_fixtures.h"

namespace archscope {
namespace {

using testing::small_vocab;
using testing::TokenizerTempDir;
using testing::tokenizer_via_gguf;

class SmallBpe : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new TokenizerTempDir();
    llama3_ = new Tokenizer(tokenizer_via_gguf(small_vocab(SmallVocabStyle::Llama3), dir_->file("llama3.gguf")));
    qwen2_ = new Tokenizer(tokenizer_via_gguf(small_vocab(SmallVocabStyle::Qwen2), dir_->file("qwen2.gguf")));
  }
  static void TearDownTestSuite() {
    delete llama3_;
    delete qwen2_;
    delete dir_;
  }
  static TokenizerTempDir* dir_;
  static Tokenizer* llama3_;
  static Tokenizer* qwen2_;
};
TokenizerTempDir* SmallBpe::dir_ = nullptr;
Tokenizer* SmallBpe::llama3_ = nullptr;
Tokenizer* SmallBpe::qwen2_ = nullptr;

TEST_F(SmallBpe, VocabularyShape) {
  const Vocabulary& v = small_vocab(SmallVocabStyle::Llama3);
  ASSERT_EQ(v.tokens.size(), 512u);
  EXPECT_EQ(v.tokens[' '], "\xC4\xA0");  // 'Ġ', GPT-2's stand-in for the space byte
  EXPECT_EQ(v.tokens['a'], "a");
  EXPECT_EQ(v.tokens[507], "<|begin_of_text|>");
  EXPECT_EQ(v.tokens[511], "<|eot_id|>");
  EXPECT_EQ(v.merges.size(), 507u - 256u);  // every merge made a new token with this sample
  EXPECT_EQ(v.bos, 507);
  EXPECT_EQ(v.eos, 508);
  EXPECT_EQ(v.eot, 511);
  EXPECT_EQ(v.token_types[100], TokenType::Normal);
  EXPECT_EQ(v.token_types[509], TokenType::Control);
  // Training is deterministic.
  const Vocabulary again = make_small_bpe_vocab();
  EXPECT_EQ(again.tokens, v.tokens);
  EXPECT_EQ(again.merges, v.merges);

  const Vocabulary& q = small_vocab(SmallVocabStyle::Qwen2);
  ASSERT_EQ(q.tokens.size(), 512u);
  EXPECT_EQ(q.tokens[509], "<|endoftext|>");
  EXPECT_EQ(q.tokens[511], "<|im_end|>");
  EXPECT_EQ(q.pre, "qwen2");
}

TEST_F(SmallBpe, WritesLlamaCppKeys) {
  const GgufFile file = GgufFile::open(dir_->file("llama3.gguf"));
  EXPECT_EQ(file.find("tokenizer.ggml.model")->s, "gpt2");
  EXPECT_EQ(file.find("tokenizer.ggml.pre")->s, "llama-bpe");
  const GgufValue* tokens = file.find("tokenizer.ggml.tokens");
  ASSERT_NE(tokens, nullptr);
  EXPECT_EQ(tokens->element_type, GgufValueType::String);
  EXPECT_EQ(tokens->items.size(), 512u);
  EXPECT_EQ(file.find("tokenizer.ggml.token_type")->element_type, GgufValueType::I32);
  EXPECT_EQ(file.find("tokenizer.ggml.merges")->element_type, GgufValueType::String);
  EXPECT_EQ(file.find("tokenizer.ggml.bos_token_id")->type, GgufValueType::U32);
  EXPECT_EQ(file.find("tokenizer.ggml.bos_token_id")->u, 507u);
  EXPECT_EQ(file.find("tokenizer.ggml.eos_token_id")->u, 508u);
  EXPECT_EQ(file.find("tokenizer.ggml.eot_token_id")->u, 511u);
  EXPECT_TRUE(file.find("tokenizer.ggml.add_bos_token")->u);
  EXPECT_EQ(file.find("tokenizer.ggml.scores"), nullptr);  // byte-level BPE has none
}

TEST_F(SmallBpe, VocabularyRoundTripsThroughTheTokenizer) {
  const Vocabulary& v = small_vocab(SmallVocabStyle::Llama3);
  const Vocabulary back = llama3_->vocabulary();
  EXPECT_EQ(back.tokens, v.tokens);
  EXPECT_EQ(back.token_types, v.token_types);
  EXPECT_EQ(back.merges, v.merges);
  EXPECT_EQ(back.bos, v.bos);
  EXPECT_EQ(back.eot, v.eot);
  EXPECT_EQ(back.add_bos, v.add_bos);
  EXPECT_EQ(back.pre, "llama-bpe");
}

TEST_F(SmallBpe, EncodeDecodeRoundTrip) {
  const std::vector<std::string> texts = {
      "Hello, world!",
      "The lighthouse keeper wrote 1,234 notes in 1962.",
      "  leading spaces, trailing spaces  \n\n\ttabs and\r\nCRLF",
      "I'm sure they'll say it's fine; WE'RE not.",
      "naïve café — 日本語のテキスト, 中文, 한국어 🦙🚀 😶‍🌫️",
      "",
      builtin_training_text(),
  };
  for (const Tokenizer* tok : {llama3_, qwen2_}) {
    for (const std::string& text : texts) {
      const std::vector<int32_t> ids = tok->encode(text, false, false);
      EXPECT_EQ(tok->decode(ids), text);
      for (int32_t id : ids) EXPECT_FALSE(tok->is_control(id)) << text;
    }
  }
}

TEST_F(SmallBpe, MergesCompressTheSample) {
  const std::string& text = builtin_training_text();
  const size_t n = llama3_->encode(text, false, false).size();
  EXPECT_LT(n, text.size() / 2);  // 256 merges learned from this very text
  EXPECT_EQ(llama3_->encode(" the", false, false).size(), 1u);
  EXPECT_EQ(llama3_->encode("the", false, false).size(), 1u);
  // Same result from the Vocabulary directly, no file in between.
  const Tokenizer direct = Tokenizer::from_vocabulary(small_vocab(SmallVocabStyle::Llama3));
  EXPECT_EQ(direct.encode(text, false, false), llama3_->encode(text, false, false));
}

TEST_F(SmallBpe, PreTokenizerDigitGroups) {
  // llama3 groups up to three digits, qwen2 splits every digit; merges never cross them.
  auto pieces = [](const Tokenizer& tok, const std::string& text) {
    std::vector<std::string> out;
    for (int32_t id : tok.encode(text, false, false)) out.push_back(tok.token_text(id));
    return out;
  };
  const auto llama = pieces(*llama3_, "1234567");
  std::string joined;
  for (const std::string& p : llama) {
    EXPECT_LE(p.size(), 3u);
    joined += p;
  }
  EXPECT_EQ(joined, "1234567");
  EXPECT_GE(llama.size(), 3u);
  EXPECT_EQ(pieces(*qwen2_, "1234567"), (std::vector<std::string>{"1", "2", "3", "4", "5", "6", "7"}));
}

TEST_F(SmallBpe, SpecialTokensAreCutOutWhenParsed) {
  const std::string prompt = "<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|>";
  const int32_t start = llama3_->find_token("<|start_header_id|>");
  const int32_t end = llama3_->find_token("<|end_header_id|>");
  const int32_t eot = llama3_->find_token("<|eot_id|>");
  const std::vector<int32_t> parsed = llama3_->encode(prompt, /*add_special=*/true, /*parse_special=*/true);
  ASSERT_GE(parsed.size(), 5u);
  EXPECT_EQ(parsed[0], llama3_->bos());
  EXPECT_EQ(parsed[1], start);
  EXPECT_EQ(parsed.back(), eot);
  EXPECT_NE(std::find(parsed.begin(), parsed.end(), end), parsed.end());
  EXPECT_EQ(llama3_->decode(parsed), "<|begin_of_text|>" + prompt);
  EXPECT_EQ(llama3_->decode(parsed, /*render_special=*/false), "user\n\nHi there");

  // Not parsed: the same text is ordinary bytes, no control token appears.
  const std::vector<int32_t> plain = llama3_->encode(prompt, false, false);
  for (int32_t id : plain) EXPECT_FALSE(llama3_->is_control(id));
  EXPECT_EQ(llama3_->decode(plain), prompt);

  // A special token between words splits the text around it.
  const std::vector<int32_t> mid = llama3_->encode("a<|eot_id|>b", false, true);
  EXPECT_EQ(mid, (std::vector<int32_t>{'a', eot, 'b'}));
}

TEST_F(SmallBpe, BosAndEndOfGeneration) {
  EXPECT_TRUE(llama3_->add_bos());
  EXPECT_EQ(llama3_->encode("hi", true, false).front(), llama3_->bos());
  EXPECT_NE(llama3_->encode("hi", false, false).front(), llama3_->bos());
  EXPECT_TRUE(llama3_->is_end_of_generation(llama3_->eos()));
  EXPECT_TRUE(llama3_->is_end_of_generation(llama3_->eot()));
  EXPECT_FALSE(llama3_->is_end_of_generation(llama3_->bos()));
  EXPECT_FALSE(llama3_->is_end_of_generation(llama3_->find_token("<|start_header_id|>")));
  EXPECT_FALSE(llama3_->is_end_of_generation(-1));
  EXPECT_FALSE(llama3_->is_end_of_generation(100000));
  EXPECT_EQ(llama3_->end_of_generation_ids(), (std::vector<int32_t>{508, 511}));

  EXPECT_FALSE(qwen2_->add_bos());
  EXPECT_EQ(qwen2_->encode("hi", true, false), qwen2_->encode("hi", false, false));
  EXPECT_EQ(qwen2_->eot(), qwen2_->find_token("<|im_end|>"));  // found by its text
  EXPECT_TRUE(qwen2_->is_end_of_generation(qwen2_->find_token("<|im_end|>")));
  EXPECT_TRUE(qwen2_->is_end_of_generation(qwen2_->find_token("<|endoftext|>")));
  EXPECT_FALSE(qwen2_->is_end_of_generation(qwen2_->find_token("<|im_start|>")));
}

TEST_F(SmallBpe, TokenTextUndoesTheByteMapping) {
  EXPECT_EQ(llama3_->token_text(' '), " ");
  EXPECT_EQ(llama3_->raw_token(' '), "\xC4\xA0");
  EXPECT_EQ(llama3_->token_text('\n'), "\n");
  EXPECT_EQ(llama3_->token_text(0xE6), "\xE6");  // a lone lead byte of a 3-byte character
  EXPECT_EQ(llama3_->token_text(llama3_->eot()), "<|eot_id|>");
  EXPECT_THROW(llama3_->token_text(512), Error);
  EXPECT_THROW(llama3_->token_text(-1), Error);
}

TEST_F(SmallBpe, CustomSampleAndPadding) {
  // A tiny sample runs out of pairs; reserved tokens keep the requested size.
  const Vocabulary v = make_small_bpe_vocab({SmallVocabStyle::Qwen2, 300, "aaaa bbbb aaaa"});
  ASSERT_EQ(v.tokens.size(), 300u);
  EXPECT_LT(v.merges.size(), 10u);
  EXPECT_EQ(v.tokens.back().rfind("<|reserved_special_token_", 0), 0u);
  const Tokenizer tok = Tokenizer::from_vocabulary(v);
  EXPECT_EQ(tok.decode(tok.encode("aaaa bbbb", false, false)), "aaaa bbbb");
  EXPECT_THROW(make_small_bpe_vocab({SmallVocabStyle::Llama3, 200, ""}), Error);
}

}  // namespace
}  // namespace archscope
