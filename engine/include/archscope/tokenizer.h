// Text <-> token ids the way llama.cpp does it, from a GGUF file's tokenizer.ggml.* keys.
//
// Three algorithms, picked by tokenizer.ggml.model:
//   "gpt2"   byte-level BPE: the text is split by the pre-tokenizer's regexes
//            (tokenizer.ggml.pre: "llama-bpe"/"llama3", "qwen2", "default", ...), each
//            piece's bytes are mapped to GPT-2's printable characters, then merged by
//            tokenizer.ggml.merges in rank order.
//   "llama"  SentencePiece-style: spaces become U+2581 ("▁"), pieces are merged by
//            tokenizer.ggml.scores, characters with no token fall back to <0xNN> tokens.
//   "gemma4" llama.cpp's Gemma 4 variant of BPE: spaces become "▁" as in SentencePiece,
//            the text is split only at newlines, merges run on raw UTF-8 and characters
//            with no token fall back to <0xNN> tokens.
// Control and user-defined tokens ("<|eot_id|>", "<|im_start|>") are cut out of the text
// before any of this (llama.cpp's tokenizer_st_partition); control tokens only when
// parse_special is true.
//
// Nothing in the file is trusted: a missing or mistyped key, an id out of range, a merge
// naming an unknown token or a repeated token throws archscope::Error naming the file and
// the key. (llama.cpp warns and carries on for some of these; archscope refuses.)
//
// Building the tables takes a while for big vocabularies (Gemma 4's 262k tokens and 515k
// merges: about 0.2-0.5 s); build once per model. A Tokenizer is immutable and cheap to
// copy (copies share the tables); encode may be called from several threads.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace archscope {

class GgufFile;
class GgufWriter;

// tokenizer.ggml.token_type values (llama.cpp's llama_token_type).
enum class TokenType : int32_t {
  Undefined = 0,
  Normal = 1,
  Unknown = 2,
  Control = 3,
  UserDefined = 4,
  Unused = 5,
  Byte = 6,
};

// A vocabulary as plain data: exactly the tokenizer.* keys llama.cpp reads. What
// Tokenizer::from_vocabulary builds from, what make_small_bpe_vocab returns and what
// write_to puts into a GGUF file (so a model writer can embed a real vocabulary).
struct Vocabulary {
  std::string model = "gpt2";          // tokenizer.ggml.model: "gpt2", "llama" or "gemma4"
  std::string pre;                     // tokenizer.ggml.pre (empty: key not written)
  std::vector<std::string> tokens;     // tokenizer.ggml.tokens, the raw token texts
  std::vector<TokenType> token_types;  // tokenizer.ggml.token_type (empty: all normal)
  std::vector<float> scores;           // tokenizer.ggml.scores (empty: key not written)
  std::vector<std::string> merges;     // tokenizer.ggml.merges, "left right", best first
  // Special token ids; -1 leaves the key out (llama.cpp then uses its per-model default).
  int32_t bos = -1, eos = -1, eot = -1, unknown = -1, padding = -1;
  std::optional<bool> add_bos, add_eos, add_space_prefix;  // tokenizer.ggml.add_*; unset: left out
  std::string chat_template;           // tokenizer.chat_template (empty: key not written)

  int32_t find(std::string_view token) const;  // index of a token text, -1 when absent
  // Writes the keys above with llama.cpp's names and types (strings, i32 token types,
  // f32 scores, u32 ids, bools). Throws archscope::Error if an id is out of range.
  void write_to(GgufWriter& writer) const;
};

class Tokenizer {
 public:
  // Reads tokenizer.ggml.* from a GGUF file; throws archscope::Error naming the file and key.
  static Tokenizer from_gguf(const GgufFile& file);
  // The same from plain data; `source` names it in error messages.
  static Tokenizer from_vocabulary(const Vocabulary& vocab, const std::string& source = "vocabulary");

  // llama.cpp's llama_tokenize. add_special adds BOS (and EOS) when the vocabulary asks for
  // it (add_bos() / add_eos()); parse_special turns control-token texts in `text` into
  // their ids (user-defined tokens are always matched). Invalid UTF-8 is tokenized as
  // llama.cpp does it (U+FFFD for BPE, byte tokens for SentencePiece); never throws for text.
  std::vector<int32_t> encode(std::string_view text, bool add_special, bool parse_special) const;

  // The bytes a token stands for (llama.cpp's token_to_piece with special = true): byte
  // tokens decoded, "▁" turned back into spaces, GPT-2's byte mapping undone; control and
  // user-defined tokens give their text, unused ones nothing. Throws archscope::Error for
  // an id outside [0, vocab_size()).
  std::string token_text(int32_t id) const;
  // token_text of each id, concatenated; render_special false drops control and unknown
  // tokens (llama.cpp's special = false). May end inside a UTF-8 character.
  std::string decode(const std::vector<int32_t>& ids, bool render_special = true) const;

  // Special ids, -1 when the vocabulary has none.
  int32_t bos() const;
  int32_t eos() const;
  int32_t eot() const;      // end of turn: the key, else "<|eot_id|>", "<|im_end|>", "<end_of_turn>", ...
  int32_t unknown() const;
  int32_t padding() const;
  bool add_bos() const;     // encode(..., add_special = true, ...) puts bos() first
  bool add_eos() const;
  // llama.cpp's EOG set: eos, eot, eom and every token whose text is an end-of-turn marker
  // (<|eot_id|>, <|im_end|>, <|endoftext|>, <end_of_turn>, <turn|>, <eos>, ...).
  bool is_end_of_generation(int32_t id) const;
  std::vector<int32_t> end_of_generation_ids() const;  // ascending

  size_t vocab_size() const;
  TokenType token_type(int32_t id) const;  // after llama.cpp's fix-ups (end-of-turn markers are Control)
  bool is_control(int32_t id) const;       // Control or Unknown: hidden when not rendering specials
  const std::string& raw_token(int32_t id) const;  // the text as stored in the file
  int32_t find_token(std::string_view raw) const;   // id of a raw token text, -1 when absent
  const std::string& model() const;  // tokenizer.ggml.model
  const std::string& pre() const;    // pre-tokenizer in use ("" for SentencePiece)
  const std::string& source() const; // the file (or name) it came from

  // The vocabulary as data (rebuilt from the tables), and writing it to a GGUF.
  Vocabulary vocabulary() const;
  void write_to(GgufWriter& writer) const;

  struct Impl;

 private:
  explicit Tokenizer(std::shared_ptr<const Impl> impl) : impl_(std::move(impl)) {}
  std::shared_ptr<const Impl> impl_;  // immutable; copies share it, encode is thread-safe
};

// Turns token ids into text as they are generated, one id at a time, returning only
// complete UTF-8 characters: a character split across tokens (emoji, CJK, byte-fallback
// tokens) is held until its last byte arrives. Invalid bytes come out as U+FFFD, so
// everything returned is valid UTF-8.
class StreamDecoder {
 public:
  // render_special false (the default, like llama.cpp's generation output) drops control
  // tokens such as <|eot_id|>.
  explicit StreamDecoder(Tokenizer tokenizer, bool render_special = false);

  std::string push(int32_t id);  // throws archscope::Error for an id out of range
  std::string flush();           // the held bytes; an incomplete character becomes U+FFFD
  void reset();                  // drops held bytes
  size_t pending_bytes() const { return pending_.size(); }

 private:
  Tokenizer tokenizer_;
  bool render_special_;
  std::string pending_;
};

// A small but real byte-level BPE vocabulary, trained here (deterministically) from a
// built-in English sample of a few KB, for tests and tiny demo models.
//   Llama3: 256 byte tokens (id = byte value), learned merges, then <|begin_of_text|>,
//           <|end_of_text|>, <|start_header_id|>, <|end_header_id|>, <|eot_id|>;
//           model "gpt2", pre "llama-bpe", bos <|begin_of_text|>, eos <|end_of_text|>,
//           eot <|eot_id|>, add_bos true.
//   Qwen2:  the same with <|endoftext|>, <|im_start|>, <|im_end|>; pre "qwen2",
//           bos = padding = <|endoftext|>, eos <|im_end|>, add_bos false.
// vocab_size counts everything (bytes + merges + special tokens) and is met exactly: if
// the text runs out of pairs seen twice, <|reserved_special_token_N|> control tokens fill
// the rest. It must leave room for the byte and special tokens (else archscope::Error).
// training_text replaces the built-in sample.
//   Gemma4: llama.cpp's "gemma4" model: <pad> <eos> <bos> <unk> <mask> <|turn> <turn|>
//           and the channel / tool tokens of the chat template, 256 <0xNN> byte tokens, the sample's characters, then
//           merges learned on raw UTF-8 with spaces as "▁"; bos <bos>, eos <eos>, add_bos.
//   DeepSeek3: the gpt2 layout with pre "deepseek-v3" and DeepSeek V3 / V4's control tokens
//           <｜begin▁of▁sentence｜> (bos), <｜end▁of▁sentence｜> (eos), <｜User｜>, <｜Assistant｜>;
//           add_bos true.
// Writing it: make_small_bpe_vocab().write_to(writer).
enum class SmallVocabStyle { Llama3, Qwen2, Gemma4, DeepSeek3 };
struct SmallBpeOptions {
  SmallVocabStyle style = SmallVocabStyle::Llama3;
  size_t vocab_size = 512;
  std::string training_text;  // empty: the built-in sample
};
Vocabulary make_small_bpe_vocab(const SmallBpeOptions& options = {});
const std::string& builtin_training_text();

}  // namespace archscope
