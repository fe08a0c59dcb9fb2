// SentencePiece-style vocabularies (tokenizer.ggml.model "llama") and llama.cpp's Gemma 4
// BPE variant ("gemma4"), each a tiny vocabulary built here. The expected ids follow from
// the algorithms by hand: SentencePiece merges the pair whose joined text has the best
// score, BPE the pair with the best merge rank; characters with no token fall back to
// <0xNN> byte tokens.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>

#include "archscope/gguf.h"
#include "archscope/tokenizer.h"
#include "tokenizer_fixtures.h"

namespace archscope {
namespace {

using testing::TokenizerTempDir;
using testing::tokenizer_via_gguf;

// <unk> <s> </s> <0x00>..<0xFF> then scored pieces, a control and a user-defined token.
Vocabulary tiny_spm() {
  Vocabulary v;
  v.model = "llama";
  auto add = [&](const std::string& text, TokenType type, float score) {
    v.tokens.push_back(text);
    v.token_types.push_back(type);
    v.scores.push_back(score);
  };
  add("<unk>", TokenType::Unknown, 0);
  add("<s>", TokenType::Control, 0);
  add("</s>", TokenType::Control, 0);
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    add(name, TokenType::Byte, 0);
  }
  for (const char* c : {"▁", "h", "e", "l", "o", "w", "r", "d"}) add(c, TokenType::Normal, -10);  // 259..266
  add("▁h", TokenType::Normal, -3);       // 267
  add("he", TokenType::Normal, -4);       // 268
  add("ll", TokenType::Normal, -2);       // 269
  add("lo", TokenType::Normal, -6);       // 270
  add("llo", TokenType::Normal, -2.5);    // 271
  add("▁he", TokenType::Normal, -2.8);    // 272
  add("▁hello", TokenType::Normal, -1);   // 273
  add("▁w", TokenType::Normal, -3.5);     // 274
  add("or", TokenType::Normal, -5);       // 275
  add("<|im_end|>", TokenType::Control, 0);     // 276
  add("<tool>", TokenType::UserDefined, 0);     // 277
  return v;
}

constexpr int32_t kByte0 = 3, kSpace = 259, kH = 260, kL = 262, kD = 266, kSpaceH = 267, kHe = 268;
constexpr int32_t kLlo = 271, kSpaceHello = 273, kSpaceW = 274, kOr = 275, kImEnd = 276, kTool = 277;

TEST(Spm, MergesByScore) {
  TokenizerTempDir dir;
  const Tokenizer tok = tokenizer_via_gguf(tiny_spm(), dir.file("spm.gguf"));
  EXPECT_EQ(tok.model(), "llama");
  EXPECT_EQ(tok.bos(), 1);  // llama.cpp's SentencePiece defaults: bos 1, eos 2, unk 0
  EXPECT_EQ(tok.eos(), 2);
  EXPECT_EQ(tok.unknown(), 0);
  EXPECT_TRUE(tok.add_bos());
  // " hello world" -> ▁hello ▁w or l d  (ll, llo, ▁h, ▁he, ▁hello, ▁w, or in score order)
  EXPECT_EQ(tok.encode("hello world", false, false), (std::vector<int32_t>{kSpaceHello, kSpaceW, kOr, kL, kD}));
  EXPECT_EQ(tok.encode("hello world", true, false),
            (std::vector<int32_t>{1, kSpaceHello, kSpaceW, kOr, kL, kD}));
  EXPECT_EQ(tok.token_text(kSpaceHello), " hello");
  EXPECT_EQ(tok.decode(tok.encode("hello world", false, false)), " hello world");
}

TEST(Spm, ByteFallback) {
  const Tokenizer tok = Tokenizer::from_vocabulary(tiny_spm());
  // "é" and "🦙" have no piece: their UTF-8 bytes come out as <0xNN> tokens.
  EXPECT_EQ(tok.encode("hé", false, false), (std::vector<int32_t>{kSpaceH, kByte0 + 0xC3, kByte0 + 0xA9}));
  EXPECT_EQ(tok.encode("🦙", false, false),
            (std::vector<int32_t>{kSpace, kByte0 + 0xF0, kByte0 + 0x9F, kByte0 + 0xA6, kByte0 + 0x99}));
  EXPECT_EQ(tok.token_text(kByte0 + 0xC3), "\xC3");
  EXPECT_EQ(tok.token_type(kByte0 + 0xC3), TokenType::Byte);
  EXPECT_EQ(tok.decode(tok.encode("hé 🦙", false, false)), " hé 🦙");
  // Invalid UTF-8 goes through the byte tokens unchanged.
  EXPECT_EQ(tok.decode(tok.encode("h\xFF", false, false)), " h\xFF");
}

TEST(Spm, SpecialTokensAndSpacePrefix) {
  const Tokenizer tok = Tokenizer::from_vocabulary(tiny_spm());
  // After a special token the next text gets the leading space again (llama.cpp's is_prev_special).
  EXPECT_EQ(tok.encode("hello<|im_end|>world", false, true),
            (std::vector<int32_t>{kSpaceHello, kImEnd, kSpaceW, kOr, kL, kD}));
  // Control tokens only with parse_special; user-defined ones always.
  const std::vector<int32_t> unparsed = tok.encode("hello<|im_end|>", false, false);
  EXPECT_EQ(std::count(unparsed.begin(), unparsed.end(), kImEnd), 0);
  EXPECT_EQ(tok.encode("hello<tool>hello", false, false), (std::vector<int32_t>{kSpaceHello, kTool, kSpaceHello}));
  EXPECT_TRUE(tok.is_end_of_generation(kImEnd));  // "<|im_end|>" is an end-of-turn text
  EXPECT_EQ(tok.eot(), kImEnd);
  EXPECT_TRUE(tok.is_end_of_generation(2));  // eos
}

TEST(Spm, AddSpacePrefixKey) {
  Vocabulary v = tiny_spm();
  v.add_space_prefix = false;
  v.add_bos = false;
  TokenizerTempDir dir;
  const Tokenizer tok = tokenizer_via_gguf(v, dir.file("spm.gguf"));
  EXPECT_FALSE(tok.add_bos());
  // "hello": ll, llo, then he (h and e untouched) -> he llo
  EXPECT_EQ(tok.encode("hello", true, false), (std::vector<int32_t>{kHe, kLlo}));
}

TEST(Spm, MissingByteTokensUseUnknown) {
  Vocabulary v;
  v.model = "llama";
  v.tokens = {"<unk>", "<s>", "</s>", "▁", "a"};
  v.token_types = {TokenType::Unknown, TokenType::Control, TokenType::Control, TokenType::Normal, TokenType::Normal};
  const Tokenizer tok = Tokenizer::from_vocabulary(v);
  EXPECT_EQ(tok.encode("ab", false, false), (std::vector<int32_t>{3, 4, 0}));  // ▁ a <unk>
}

// --- Gemma 4's BPE: "▁" for spaces, splits only at newlines, raw UTF-8, <0xNN> fallback ---

Vocabulary tiny_gemma4() {
  Vocabulary v;
  v.model = "gemma4";
  v.pre = "gemma4";
  auto add = [&](const std::string& text, TokenType type) {
    v.tokens.push_back(text);
    v.token_types.push_back(type);
    v.scores.push_back(0);
  };
  add("<pad>", TokenType::Control);  // 0
  add("<eos>", TokenType::Control);  // 1
  add("<bos>", TokenType::Control);  // 2
  add("<unk>", TokenType::Unknown);  // 3
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    add(name, TokenType::Byte);  // 4..259
  }
  for (const char* t : {"▁", "h", "e", "l", "o", "\n", "\n\n", "ll", "llo", "he", "hello", "▁hello"}) {
    add(t, TokenType::Normal);  // 260..271
  }
  add("<|turn>", TokenType::Control);   // 272
  add("<turn|>", TokenType::Control);   // 273
  v.merges = {"l l", "ll o", "h e", "he llo", "▁ hello"};
  v.bos = 2;
  v.eos = 1;
  v.padding = 0;
  v.unknown = 3;
  v.add_bos = false;  // llama.cpp forces it on for Gemma 4 anyway
  return v;
}

TEST(Gemma4Bpe, MergesRawUtf8WithSpacesEscaped) {
  TokenizerTempDir dir;
  const Tokenizer tok = tokenizer_via_gguf(tiny_gemma4(), dir.file("gemma4.gguf"));
  EXPECT_EQ(tok.model(), "gemma4");
  EXPECT_EQ(tok.pre(), "gemma4");
  EXPECT_TRUE(tok.add_bos());
  // "hello hello\n\nhi" -> words "hello▁hello", "\n\n", "hi"; 'i' has no token -> <0x69>.
  const std::vector<int32_t> ids = tok.encode("hello hello\n\nhi", true, false);
  EXPECT_EQ(ids, (std::vector<int32_t>{2, 270, 271, 266, 261, 4 + 'i'}));
  EXPECT_EQ(tok.token_text(271), " hello");
  EXPECT_EQ(tok.decode(ids, /*render_special=*/false), "hello hello\n\nhi");
  EXPECT_TRUE(tok.is_end_of_generation(1));    // <eos>
  EXPECT_TRUE(tok.is_end_of_generation(273));  // <turn|>
  EXPECT_FALSE(tok.is_end_of_generation(272));
  EXPECT_EQ(tok.encode("<|turn>hello<turn|>", false, true), (std::vector<int32_t>{272, 270, 273}));
}

}  // namespace
}  // namespace archscope
