// make_small_bpe_vocab: trains a byte-level BPE vocabulary the textbook way. The sample is
// split into words by the style's pre-tokenizer (llama-bpe, qwen2 or deepseek-v3), each word starts as
// its bytes (token id = byte value), and the most frequent adjacent pair is merged into a
// new token until the vocabulary is full. Ties go to the smaller (left, right) ids, so the
// result is the same on every machine. The Gemma 4 style works on characters instead
// (make_gemma4_vocab below).
#include <map>

#include "archscope/error.h"
#include "archscope/tokenizer.h"
#include "tokenizer/pre_tokenizer.h"
#include "tokenizer/utf8.h"

namespace archscope {
namespace {

struct Style {
  const char* pre;
  std::vector<std::string> specials;
  const char *bos, *eos, *eot, *padding;
  bool add_bos;
};

Style style_of(SmallVocabStyle style) {
  if (style == SmallVocabStyle::Qwen2) {
    return {"qwen2", {"<|endoftext|>", "<|im_start|>", "<|im_end|>"}, "<|endoftext|>", "<|im_end|>", nullptr,
            "<|endoftext|>", false};
  }
  if (style == SmallVocabStyle::DeepSeek3) {
    return {"deepseek-v3",
            {"<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", "<｜User｜>", "<｜Assistant｜>"},
            "<｜begin▁of▁sentence｜>",
            "<｜end▁of▁sentence｜>",
            nullptr,
            nullptr,
            true};
  }
  return {"llama-bpe",
          {"<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"},
          "<|begin_of_text|>",
          "<|end_of_text|>",
          "<|eot_id|>",
          nullptr,
          true};
}

}  // namespace

namespace {

// Gemma 4's layout (llama.cpp tokenizer model "gemma4"): control tokens first, 256
// <0xNN> byte-fallback tokens, then every character of the sample and the learned merges,
// all on raw UTF-8 with spaces escaped to "▁"; the text is split only at newlines.
Vocabulary make_gemma4_vocab(const SmallBpeOptions& options) {
  // The channel, tool-call and quote tokens are user-defined, as the converter marks them
  // (always rendered, so the chat parser can read them).
  const std::vector<std::pair<std::string, TokenType>> specials = {
      {"<pad>", TokenType::Control},       {"<eos>", TokenType::Control},        {"<bos>", TokenType::Control},
      {"<unk>", TokenType::Unknown},       {"<mask>", TokenType::Control},       {"<|turn>", TokenType::Control},
      {"<turn|>", TokenType::Control},     {"<|channel>", TokenType::UserDefined}, {"<channel|>", TokenType::UserDefined},
      {"<|think|>", TokenType::Control},   {"<|tool>", TokenType::Control},      {"<tool|>", TokenType::Control},
      {"<|tool_call>", TokenType::UserDefined}, {"<tool_call|>", TokenType::UserDefined},
      {"<|tool_response>", TokenType::UserDefined}, {"<tool_response|>", TokenType::UserDefined},
      {"<|\"|>", TokenType::UserDefined}};
  const std::string& text = options.training_text.empty() ? builtin_training_text() : options.training_text;
  Vocabulary vocab;
  vocab.model = "gemma4";
  for (const auto& [token, type] : specials) {
    vocab.tokens.push_back(token);
    vocab.token_types.push_back(type);
  }
  for (int b = 0; b < 256; ++b) {
    static const char* hex = "0123456789ABCDEF";
    vocab.tokens.push_back(std::string("<0x") + hex[b >> 4] + hex[b & 15] + ">");
    vocab.token_types.push_back(TokenType::Byte);
  }
  std::string escaped;
  for (char c : text) escaped += c == ' ' ? std::string("\xE2\x96\x81") : std::string(1, c);
  const tokenizer::RegexSplitter splitter(tokenizer::find_pre_tokenizer("gemma4")->regexes);
  std::map<std::string, int> word_counts;
  for (const std::string& word : splitter.split(escaped)) ++word_counts[word];

  // Every character seen becomes a token (sorted by text, so the ids are stable).
  std::map<std::string, int32_t> ids;
  std::vector<std::pair<std::vector<std::string>, int>> words;
  std::map<std::string, int> characters;
  for (const auto& [word, count] : word_counts) {
    std::vector<std::string> seq;
    for (size_t i = 0; i < word.size();) {
      const size_t n = std::min(word.size() - i, tokenizer::utf8_sequence_length(word[i]));
      seq.push_back(word.substr(i, n));
      characters[seq.back()] += count;
      i += n;
    }
    words.emplace_back(std::move(seq), count);
  }
  if (vocab.tokens.size() + characters.size() > options.vocab_size) {
    throw Error("make_small_bpe_vocab: vocab_size " + std::to_string(options.vocab_size) + " leaves no room for the " +
                std::to_string(vocab.tokens.size() + characters.size()) + " special, byte and character tokens");
  }
  for (const auto& [c, count] : characters) {
    ids.emplace(c, static_cast<int32_t>(vocab.tokens.size()));
    vocab.tokens.push_back(c);
    vocab.token_types.push_back(TokenType::Normal);
  }
  while (vocab.tokens.size() < options.vocab_size) {
    std::map<std::pair<std::string, std::string>, int> pairs;
    for (const auto& [seq, count] : words) {
      for (size_t i = 1; i < seq.size(); ++i) pairs[{seq[i - 1], seq[i]}] += count;
    }
    const std::pair<std::string, std::string>* best = nullptr;
    int best_count = 1;  // a pair seen once teaches nothing
    for (const auto& [pair, count] : pairs) {
      if (count > best_count) best = &pair, best_count = count;
    }
    if (!best) break;
    const auto [left, right] = *best;
    vocab.merges.push_back(left + " " + right);
    if (ids.emplace(left + right, static_cast<int32_t>(vocab.tokens.size())).second) {
      vocab.tokens.push_back(left + right);
      vocab.token_types.push_back(TokenType::Normal);
    }
    for (auto& [seq, count] : words) {
      std::vector<std::string> out;
      for (size_t i = 0; i < seq.size(); ++i) {
        if (i + 1 < seq.size() && seq[i] == left && seq[i + 1] == right) {
          out.push_back(left + right);
          ++i;
        } else {
          out.push_back(seq[i]);
        }
      }
      seq = std::move(out);
    }
  }
  for (int i = 0; vocab.tokens.size() < options.vocab_size; ++i) {
    vocab.tokens.push_back("<unused" + std::to_string(i) + ">");
    vocab.token_types.push_back(TokenType::Control);
  }
  // The converter's SpecialVocab: <bos>, <eos>, <unk>, <pad>; BOS added, no space prefix.
  vocab.bos = vocab.find("<bos>");
  vocab.eos = vocab.find("<eos>");
  vocab.unknown = vocab.find("<unk>");
  vocab.padding = vocab.find("<pad>");
  vocab.add_bos = true;
  vocab.add_eos = false;
  vocab.add_space_prefix = false;
  return vocab;
}

}  // namespace

Vocabulary make_small_bpe_vocab(const SmallBpeOptions& options) {
  if (options.style == SmallVocabStyle::Gemma4) return make_gemma4_vocab(options);
  const Style style = style_of(options.style);
  const size_t n_specials = style.specials.size();
  if (options.vocab_size < 256 + n_specials) {
    throw Error("make_small_bpe_vocab: vocab_size " + std::to_string(options.vocab_size) + " leaves no room for the " +
                std::to_string(256 + n_specials) + " byte and special tokens");
  }
  const size_t n_normal = options.vocab_size - n_specials;
  const std::string& text = options.training_text.empty() ? builtin_training_text() : options.training_text;

  Vocabulary vocab;
  vocab.model = "gpt2";
  vocab.pre = style.pre;
  for (int b = 0; b < 256; ++b) vocab.tokens.push_back(tokenizer::gpt2_byte_to_text(static_cast<uint8_t>(b)));
  std::map<std::string, int32_t> ids;
  for (int b = 0; b < 256; ++b) ids.emplace(vocab.tokens[b], b);

  // Distinct words with their counts, each as a sequence of token ids.
  std::map<std::string, int> word_counts;
  const tokenizer::RegexSplitter splitter(tokenizer::find_pre_tokenizer(style.pre)->regexes);
  for (const std::string& word : splitter.split(text)) ++word_counts[word];
  std::vector<std::pair<std::vector<int32_t>, int>> words;
  for (const auto& [word, count] : word_counts) {
    std::vector<int32_t> seq;
    for (char c : word) seq.push_back(static_cast<uint8_t>(c));
    words.emplace_back(std::move(seq), count);
  }

  while (vocab.tokens.size() < n_normal) {
    std::map<std::pair<int32_t, int32_t>, int> pairs;
    for (const auto& [seq, count] : words) {
      for (size_t i = 1; i < seq.size(); ++i) pairs[{seq[i - 1], seq[i]}] += count;
    }
    std::pair<int32_t, int32_t> best{-1, -1};
    int best_count = 1;  // a pair seen once teaches nothing
    for (const auto& [pair, count] : pairs) {
      if (count > best_count) best = pair, best_count = count;
    }
    if (best.first < 0) break;

    const std::string merged = vocab.tokens[best.first] + vocab.tokens[best.second];
    vocab.merges.push_back(vocab.tokens[best.first] + " " + vocab.tokens[best.second]);
    auto [it, added] = ids.emplace(merged, static_cast<int32_t>(vocab.tokens.size()));
    if (added) vocab.tokens.push_back(merged);
    const int32_t result = it->second;
    for (auto& [seq, count] : words) {
      std::vector<int32_t> out;
      out.reserve(seq.size());
      for (size_t i = 0; i < seq.size(); ++i) {
        if (i + 1 < seq.size() && seq[i] == best.first && seq[i + 1] == best.second) {
          out.push_back(result);
          ++i;
        } else {
          out.push_back(seq[i]);
        }
      }
      seq = std::move(out);
    }
  }
  vocab.token_types.assign(vocab.tokens.size(), TokenType::Normal);

  for (const std::string& special : style.specials) {
    vocab.tokens.push_back(special);
    vocab.token_types.push_back(TokenType::Control);
  }
  // A short sample may run out of pairs: reserved tokens keep the size exact, as Llama 3's
  // <|reserved_special_token_N|> do.
  for (int i = 0; vocab.tokens.size() < options.vocab_size; ++i) {
    vocab.tokens.push_back("<|reserved_special_token_" + std::to_string(i) + "|>");
    vocab.token_types.push_back(TokenType::Control);
  }

  vocab.bos = vocab.find(style.bos);
  vocab.eos = vocab.find(style.eos);
  if (style.eot) vocab.eot = vocab.find(style.eot);
  if (style.padding) vocab.padding = vocab.find(style.padding);
  vocab.add_bos = style.add_bos;
  vocab.add_eos = false;
  return vocab;
}

}  // namespace archscope
