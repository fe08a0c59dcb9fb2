// StreamDecoder: text comes out only in whole UTF-8 characters, however the bytes are
// spread over tokens. The small llama3-style vocabulary has one token per byte (id = byte
// value), which makes splitting characters across tokens easy to arrange.
#include <gtest/gtest.h>

#include "archscope/tokenizer.h"
#include "tokenizer/utf8.h"
#include "tokenizer_fixtures.h"

namespace archscope {
namespace {

using testing::small_vocab;

const Tokenizer& bpe() {
  static const Tokenizer tok = Tokenizer::from_vocabulary(small_vocab(SmallVocabStyle::Llama3));
  return tok;
}

bool valid_utf8(std::string_view s) {
  while (!s.empty()) {
    const int n = tokenizer::utf8_valid_prefix(s);
    if (n <= 0) return false;
    s.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

TEST(StreamDecoder, HoldsSplitCharacters) {
  StreamDecoder d(bpe());
  // 🦙 is F0 9F A6 99: nothing until its last byte.
  EXPECT_EQ(d.push(0xF0), "");
  EXPECT_EQ(d.push(0x9F), "");
  EXPECT_EQ(d.push(0xA6), "");
  EXPECT_EQ(d.pending_bytes(), 3u);
  EXPECT_EQ(d.push(0x99), "🦙");
  // 日 (E6 97 A5) then "a": the character waits, then both come out in order.
  EXPECT_EQ(d.push(0xE6), "");
  EXPECT_EQ(d.push(0x97), "");
  EXPECT_EQ(d.push(0xA5), "日");
  EXPECT_EQ(d.push('a'), "a");
  EXPECT_EQ(d.flush(), "");
}

TEST(StreamDecoder, WholeTextInAnyTokenization) {
  const std::string text = "Keeper's log: 日本語のテキスト, 한국어, 😶‍🌫️ and 🚀 — done.";
  for (const std::vector<int32_t>& ids :
       {bpe().encode(text, false, false), [&] {
          std::vector<int32_t> bytes;  // one token per byte: every multi-byte character split
          for (char c : text) bytes.push_back(static_cast<uint8_t>(c));
          return bytes;
        }()}) {
    StreamDecoder d(bpe());
    std::string out;
    for (int32_t id : ids) {
      const std::string chunk = d.push(id);
      EXPECT_TRUE(valid_utf8(chunk));
      out += chunk;
    }
    out += d.flush();
    EXPECT_EQ(out, text);
  }
}

TEST(StreamDecoder, IncompleteAndInvalidBytesBecomeReplacementCharacters) {
  StreamDecoder d(bpe());
  EXPECT_EQ(d.push(0xE6), "");
  EXPECT_EQ(d.push(0x97), "");
  EXPECT_EQ(d.flush(), "\xEF\xBF\xBD");  // the unfinished character, as one U+FFFD
  EXPECT_EQ(d.pending_bytes(), 0u);
  EXPECT_EQ(d.push(0x80), "\xEF\xBF\xBD");       // a stray continuation byte
  EXPECT_EQ(d.push(0xE6), "");
  EXPECT_EQ(d.push('a'), "\xEF\xBF\xBD" "a");     // a lead byte cut short
  EXPECT_EQ(d.push(0xC0), "\xEF\xBF\xBD");       // never valid (overlong form)
  EXPECT_EQ(d.push(0xED), "");
  EXPECT_EQ(d.push(0xA0), "\xEF\xBF\xBD\xEF\xBF\xBD");  // a surrogate: ED then A0, each replaced
  d.push(0xF0);
  d.reset();
  EXPECT_EQ(d.flush(), "");
}

TEST(StreamDecoder, ControlTokensHiddenUnlessAsked) {
  const int32_t eot = bpe().eot();
  StreamDecoder quiet(bpe());
  EXPECT_EQ(quiet.push('o'), "o");
  EXPECT_EQ(quiet.push(eot), "");
  StreamDecoder loud(bpe(), /*render_special=*/true);
  EXPECT_EQ(loud.push(eot), "<|eot_id|>");
  EXPECT_THROW(loud.push(512), Error);
  EXPECT_THROW(loud.push(-3), Error);
}

TEST(StreamDecoder, SentencePieceByteTokens) {
  Vocabulary v;
  v.model = "llama";
  v.tokens = {"<unk>", "<s>", "</s>", "▁h"};
  v.token_types = {TokenType::Unknown, TokenType::Control, TokenType::Control, TokenType::Normal};
  for (int b = 0; b < 256; ++b) {
    char name[8];
    std::snprintf(name, sizeof(name), "<0x%02X>", b);
    v.tokens.push_back(name);
    v.token_types.push_back(TokenType::Byte);
  }
  const Tokenizer tok = Tokenizer::from_vocabulary(v);
  const std::vector<int32_t> ids = tok.encode("hé", false, false);
  ASSERT_EQ(ids, (std::vector<int32_t>{3, 4 + 0xC3, 4 + 0xA9}));
  StreamDecoder d(tok);
  EXPECT_EQ(d.push(ids[0]), " h");
  EXPECT_EQ(d.push(ids[1]), "");
  EXPECT_EQ(d.push(ids[2]), "é");
}

}  // namespace
}  // namespace archscope
