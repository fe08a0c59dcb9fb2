// The pre-tokenizers (regex splitting before BPE) against llama.cpp. The expected words
// below were produced at development time by llama.cpp's own unicode_regex_split (its
// src/unicode.cpp + unicode-data.cpp compiled with a small driver) with the regex lists its
// llm_tokenizer_bpe uses for each tokenizer.ggml.pre; they are literals here so the test
// needs no llama.cpp. They cover contractions (case-insensitive in llama3/qwen2), digit
// grouping (1-3 digits for llama3 and deepseek-v3, single digits for qwen2), runs of
// spaces, newlines and CRLF, punctuation, CJK, emoji and non-ASCII whitespace.
#include <gtest/gtest.h>

#include "tokenizer/pre_tokenizer.h"

namespace archscope::tokenizer {
namespace {

struct Expected {
  const char* pre;
  std::string text;
  std::vector<std::string> words;
};

const std::vector<Expected> kFromLlamaCpp = {
    {"deepseek-v3", "I'm sure you'll see they've DONE it, it's HE'LL and WE'D", {"I", "'m", " sure", " you", "'ll", " see", " they", "'ve", " DONE", " it", ",", " it", "'s", " HE", "'LL", " and", " WE", "'D"}},
    {"deepseek-v3", "1234567 and 12 3 4567890", {"123", "456", "7", " and", " ", "12", " ", "3", " ", "456", "789", "0"}},
    {"deepseek-v3", "Hello   world\n\n  indented\ttab  \n", {"Hello", "  ", " world", "\n\n", " ", " indented", "\ttab", "  \n"}},
    {"deepseek-v3", "   leading and trailing   ", {"  ", " leading", " and", " trailing", "   "}},
    {"deepseek-v3", "x\r\n\r\ny", {"x", "\r\n\r\n", "y"}},
    {"deepseek-v3", "$100+ <tag> a^b ~~ 3.14159!!", {"$", "100", "+", " <", "tag", ">", " a", "^b", " ~~", " ", "3", ".", "141", "59", "!!"}},
    {"deepseek-v3", "日本語のテキスト 123 中文", {"日本語のテキスト", " ", "123", " ", "中文"}},
    {"deepseek-v3", "emoji 🦙🚀 ok\xC2\xA0" "nbsp\xE3\x80\x80" "ideographic", {"emoji", " 🦙🚀", " ok", "\xC2\xA0" "nbsp", "\xE3\x80\x80" "ideographic"}},
    {"deepseek-v3", "Äpfel über straße ÉCOLE", {"Äpfel", " über", " straße", " ÉCOLE"}},
    {"default", "I'm sure you'll see they've DONE it, it's HE'LL and WE'D", {"I", "'", "m", " sure", " you", "'", "ll", " see", " they", "'", "ve", " DONE", " it", ",", " it", "'", "s", " HE", "'", "LL", " and", " WE", "'", "D"}},
    {"default", "1234567 and 12 3 4567890", {"123", "456", "7", " and", " ", "12", " ", "3", " ", "456", "789", "0"}},
    {"default", "Hello   world\n\n  indented\ttab  \n", {"Hello", "  ", " world", "\n\n ", " indented", "\t", "tab", "  \n"}},
    {"default", "   leading and trailing   ", {"  ", " leading", " and", " trailing", "   "}},
    {"default", "x\r\n\r\ny", {"x", "\r\n\r", "\n", "y"}},
    {"default", "$100+ <tag> a^b ~~ 3.14159!!", {"$", "100", "+", " ", "<", "tag", ">", " a", "^", "b", " ", "~~", " ", "3", ".", "141", "59", "!!"}},
    {"default", "日本語のテキスト 123 中文", {"日本語のテキスト", " ", "123", " 中文"}},
    {"default", "emoji 🦙🚀 ok\xC2\xA0" "nbsp\xE3\x80\x80" "ideographic", {"emoji", " 🦙🚀", " ok", "\xC2\xA0" "", "nbsp", "\xE3\x80\x80" "", "ideographic"}},
    {"default", "Äpfel über straße ÉCOLE", {"Äpfel", " über", " straße", " ÉCOLE"}},
    {"gemma4", "I'm sure you'll see they've DONE it, it's HE'LL and WE'D", {"I'm sure you'll see they've DONE it, it's HE'LL and WE'D"}},
    {"gemma4", "1234567 and 12 3 4567890", {"1234567 and 12 3 4567890"}},
    {"gemma4", "Hello   world\n\n  indented\ttab  \n", {"Hello   world", "\n\n", "  indented\ttab  ", "\n"}},
    {"gemma4", "   leading and trailing   ", {"   leading and trailing   "}},
    {"gemma4", "x\r\n\r\ny", {"x\r", "\n", "\r", "\n", "y"}},
    {"gemma4", "$100+ <tag> a^b ~~ 3.14159!!", {"$100+ <tag> a^b ~~ 3.14159!!"}},
    {"gemma4", "日本語のテキスト 123 中文", {"日本語のテキスト 123 中文"}},
    {"gemma4", "emoji 🦙🚀 ok\xC2\xA0" "nbsp\xE3\x80\x80" "ideographic", {"emoji 🦙🚀 ok\xC2\xA0" "nbsp\xE3\x80\x80" "ideographic"}},
    {"gemma4", "Äpfel über straße ÉCOLE", {"Äpfel über straße ÉCOLE"}},
    {"gpt-2", "I'm sure you'll see they've DONE it, it's HE'LL and WE'D", {"I", "'m", " sure", " you", "'ll", " see", " they", "'ve", " DONE", " it", ",", " it", "'s", " HE", "'", "LL", " and", " WE", "'", "D"}},
    {"gpt-2", "1234567 and 12 3 4567890", {"1234567", " and", " 12", " 3", " 4567890"}},
    {"gpt-2", "Hello   world\n\n  indented\ttab  \n", {"Hello", "  ", " world", "\n\n ", " indented", "\t", "tab", "  \n"}},
    {"gpt-2", "   leading and trailing   ", {"  ", " leading", " and", " trailing", "   "}},
    {"gpt-2", "x\r\n\r\ny", {"x", "\r\n\r", "\n", "y"}},
    {"gpt-2", "$100+ <tag> a^b ~~ 3.14159!!", {"$", "100", "+", " <", "tag", ">", " a", "^", "b", " ~~", " 3", ".", "14159", "!!"}},
    {"gpt-2", "日本語のテキスト 123 中文", {"日本語のテキスト", " 123", " 中文"}},
    {"gpt-2", "emoji 🦙🚀 ok\xC2\xA0" "nbsp\xE3\x80\x80" "ideographic", {"emoji", " 🦙🚀", " ok", "\xC2\xA0" "", "nbsp", "\xE3\x80\x80" "", "ideographic"}},
    {"gpt-2", "Äpfel über straße ÉCOLE", {"Äpfel", " über", " straße", " ÉCOLE"}},
    {"laguna", "I'm sure you'll see they've DONE it, it's HE'LL and WE'D", {"I", "'m", " sure", " you", "'ll", " see", " they", "'ve", " DONE", " it", ",", " it", "'s", " HE", "'LL", " and", " WE", "'D"}},
    {"laguna", "1234567 and 12 3 4567890", {"1", "2", "3", "4", "5", "6", "7", " and", " ", "1", "2", " ", "3", " ", "4", "5", "6", "7", "8", "9", "0"}},
    {"laguna", "Hello   world\n\n  indented\ttab  \n", {"Hello", "  ", " world", "\n\n", " ", " indented", "\ttab", "  ", "\n"}},
    {"laguna", "   leading and trailing   ", {"  ", " leading", " and", " trailing", "   "}},
    {"laguna", "x\r\n\r\ny", {"x", "\r", "\n", "\r", "\n", "y"}},
    {"laguna", "$100+ <tag> a^b ~~ 3.14159!!", {"$", "1", "0", "0", "+", " <", "tag", ">", " a", "^b", " ~~", " ", "3", ".", "1", "4", "1", "5", "9", "!!"}},
    {"laguna", "日本語のテキスト 123 中文", {"日本語のテキスト", " ", "1", "2", "3", " 中文"}},
    {"laguna", "emoji 🦙🚀 ok\xC2\xA0" "nbsp\xE3\x80\x80" "ideographic", {"emoji", " 🦙🚀", " ok", "\xC2\xA0" "nbsp", "\xE3\x80\x80" "ideographic"}},
    {"laguna", "Äpfel über straße ÉCOLE", {"Äpfel", " über", " straße", " ÉCOLE"}},
    {"llama-bpe", "I'm sure you'll see they've DONE it, it's HE'LL and WE'D", {"I", "'m", " sure", " you", "'ll", " see", " they", "'ve", " DONE", " it", ",", " it", "'s", " HE", "'LL", " and", " WE", "'D"}},
    {"llama-bpe", "1234567 and 12 3 4567890", {"123", "456", "7", " and", " ", "12", " ", "3", " ", "456", "789", "0"}},
    {"llama-bpe", "Hello   world\n\n  indented\ttab  \n", {"Hello", "  ", " world", "\n\n", " ", " indented", "\ttab", "  \n"}},
    {"llama-bpe", "   leading and trailing   ", {"  ", " leading", " and", " trailing", "   "}},
    {"llama-bpe", "x\r\n\r\ny", {"x", "\r\n\r\n", "y"}},
    {"llama-bpe", "$100+ <tag> a^b ~~ 3.14159!!", {"$", "100", "+", " <", "tag", ">", " a", "^b", " ~~", " ", "3", ".", "141", "59", "!!"}},
    {"llama-bpe", "日本語のテキスト 123 中文", {"日本語のテキスト", " ", "123", " 中文"}},
    {"llama-bpe", "emoji 🦙🚀 ok\xC2\xA0" "nbsp\xE3\x80\x80" "ideographic", {"emoji", " 🦙🚀", " ok", "\xC2\xA0" "nbsp", "\xE3\x80\x80" "ideographic"}},
    {"llama-bpe", "Äpfel über straße ÉCOLE", {"Äpfel", " über", " straße", " ÉCOLE"}},
    {"qwen2", "I'm sure you'll see they've DONE it, it's HE'LL and WE'D", {"I", "'m", " sure", " you", "'ll", " see", " they", "'ve", " DONE", " it", ",", " it", "'s", " HE", "'LL", " and", " WE", "'D"}},
    {"qwen2", "1234567 and 12 3 4567890", {"1", "2", "3", "4", "5", "6", "7", " and", " ", "1", "2", " ", "3", " ", "4", "5", "6", "7", "8", "9", "0"}},
    {"qwen2", "Hello   world\n\n  indented\ttab  \n", {"Hello", "  ", " world", "\n\n", " ", " indented", "\ttab", "  \n"}},
    {"qwen2", "   leading and trailing   ", {"  ", " leading", " and", " trailing", "   "}},
    {"qwen2", "x\r\n\r\ny", {"x", "\r\n\r\n", "y"}},
    {"qwen2", "$100+ <tag> a^b ~~ 3.14159!!", {"$", "1", "0", "0", "+", " <", "tag", ">", " a", "^b", " ~~", " ", "3", ".", "1", "4", "1", "5", "9", "!!"}},
    {"qwen2", "日本語のテキスト 123 中文", {"日本語のテキスト", " ", "1", "2", "3", " 中文"}},
    {"qwen2", "emoji 🦙🚀 ok\xC2\xA0" "nbsp\xE3\x80\x80" "ideographic", {"emoji", " 🦙🚀", " ok", "\xC2\xA0" "nbsp", "\xE3\x80\x80" "ideographic"}},
    {"qwen2", "Äpfel über straße ÉCOLE", {"Äpfel", " über", " straße", " ÉCOLE"}},
};

TEST(PreTokenizer, SplitsLikeLlamaCpp) {
  for (const Expected& e : kFromLlamaCpp) {
    const PreTokenizerSpec* spec = find_pre_tokenizer(e.pre);
    ASSERT_NE(spec, nullptr) << e.pre;
    EXPECT_EQ(RegexSplitter(spec->regexes).split(e.text), e.words) << e.pre << ": '" << e.text << "'";
  }
}

// Cases where PCRE2's own Unicode tables or its idea of whitespace would differ from
// llama.cpp; expected words again from llama.cpp's unicode_regex_split at development time.
TEST(PreTokenizer, UsesLlamaCppCharacterTables) {
  auto split = [](const char* pre, const std::string& text) {
    return RegexSplitter(find_pre_tokenizer(pre)->regexes).split(text);
  };
  // U+2EDCE (CJK Extension I, Unicode 15.1) is a letter to llama.cpp, so it joins the run.
  EXPECT_EQ(split("llama-bpe", "\u205F\U0002EDCE\u65E5-b"),
            (std::vector<std::string>{"\u205F\U0002EDCE\u65E5", "-b"}));
  // U+1FABC (Unicode 15.0) is a symbol: it joins the punctuation that follows.
  EXPECT_EQ(split("deepseek-v3", "\U0001FABC.1"), (std::vector<std::string>{"\U0001FABC.", "1"}));
  // Non-ASCII whitespace never matches a literal range: U+2028 and U+1680 lie inside
  // deepseek-coder's [\x{800}-\x{4E00}] but llama.cpp sees them as whitespace.
  EXPECT_EQ(split("deepseek-coder", "\u2028."), (std::vector<std::string>{"\u2028."}));
  EXPECT_EQ(split("deepseek-coder", "\u1680^"), (std::vector<std::string>{"\u1680^"}));
  // \p{Lu} and \p{Ll} both mean "letter" in llama.cpp.
  EXPECT_EQ(split("youtu", "\u0431dL9\u200D/"), (std::vector<std::string>{"\u0431dL", "9", "\u200D/"}));
}

TEST(PreTokenizer, NamesMapToLlamaCppTypes) {
  EXPECT_EQ(find_pre_tokenizer("llama-bpe")->name, "llama3");
  EXPECT_EQ(find_pre_tokenizer("llama3")->name, "llama3");
  EXPECT_TRUE(find_pre_tokenizer("llama-bpe")->ignore_merges);
  EXPECT_TRUE(find_pre_tokenizer("llama-bpe")->add_bos);
  EXPECT_EQ(find_pre_tokenizer("qwen2")->name, "qwen2");
  EXPECT_FALSE(find_pre_tokenizer("qwen2")->add_bos);
  EXPECT_EQ(find_pre_tokenizer("")->name, "default");  // llama.cpp's fallback, with a warning
  EXPECT_FALSE(find_pre_tokenizer("gemma4")->byte_encode);
  EXPECT_TRUE(find_pre_tokenizer("gemma4")->escape_spaces);
  EXPECT_EQ(find_pre_tokenizer("deepseek-v3")->regexes.size(), 3u);
  EXPECT_EQ(find_pre_tokenizer("laguna")->regexes.size(), 2u);
  EXPECT_EQ(find_pre_tokenizer("kimi-k2"), nullptr);  // custom matcher in llama.cpp, not ported
  EXPECT_EQ(find_pre_tokenizer("no-such-thing"), nullptr);
}

TEST(PreTokenizer, EveryRegexCompiles) {
  for (const std::string& name : supported_pre_tokenizers()) {
    EXPECT_NO_THROW(RegexSplitter(find_pre_tokenizer(name)->regexes)) << name;
  }
}

TEST(PreTokenizer, InvalidUtf8BecomesReplacementCharacters) {
  // llama.cpp decodes leniently: a byte that starts no valid sequence is U+FFFD.
  const RegexSplitter split(find_pre_tokenizer("llama-bpe")->regexes);
  EXPECT_EQ(split.split("ab\xFF" "cd"), (std::vector<std::string>{"ab", "\xEF\xBF\xBD" "cd"}));
  EXPECT_EQ(split.split("\xE2\x82"), (std::vector<std::string>{"\xEF\xBF\xBD\xEF\xBF\xBD"}));
  EXPECT_TRUE(split.split("").empty());
}

TEST(PreTokenizer, LongInputIsLinear) {
  const RegexSplitter split(find_pre_tokenizer("llama-bpe")->regexes);
  const std::string spaces(200000, ' ');
  EXPECT_EQ(split.split(spaces + "x").size(), 2u);  // "   ...  " then " x"
  const std::string words = [] {
    std::string s;
    for (int i = 0; i < 20000; ++i) s += "word" + std::to_string(i) + ", ";
    return s;
  }();
  EXPECT_GT(split.split(words).size(), 60000u);
}

}  // namespace
}  // namespace archscope::tokenizer
