// The tokenizer's tables (Tokenizer::Impl), shared by the loader, the algorithms and the
// decoders in this folder.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "archscope/tokenizer.h"
#include "tokenizer/pre_tokenizer.h"

namespace archscope::tokenizer {

// llama.cpp's llama_token_attr bits.
enum TokenAttr : uint32_t {
  kAttrUndefined = 0,
  kAttrUnknown = 1u << 0,
  kAttrUnused = 1u << 1,
  kAttrNormal = 1u << 2,
  kAttrControl = 1u << 3,
  kAttrUserDefined = 1u << 4,
  kAttrByte = 1u << 5,
};

enum class Algorithm { Spm, Bpe };

// unordered_map<std::string, V> that can be searched with a string_view.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
template <class V>
using StringMap = std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

struct Merge {
  int32_t rank;
  int32_t result;  // the merged token's id
};

}  // namespace archscope::tokenizer

namespace archscope {

struct Tokenizer::Impl {
  std::string source;  // file path (or name) for messages
  std::string model;   // tokenizer.ggml.model
  tokenizer::Algorithm algorithm = tokenizer::Algorithm::Bpe;

  // Token tables.
  std::vector<std::string> tokens;              // texts ("[EMPTY_i]" for empty ones, as llama.cpp)
  std::vector<float> scores;                    // empty when the file had none
  std::vector<TokenType> file_types;            // as in the file; empty when it had none
  std::vector<uint32_t> attrs;                  // llama.cpp's attributes after its fix-ups
  tokenizer::StringMap<int32_t> token_to_id;
  std::vector<std::string> pieces;              // token_text of every id

  // BPE.
  std::optional<tokenizer::PreTokenizerSpec> pre;  // absent for SentencePiece
  std::string file_pre;                            // tokenizer.ggml.pre as written
  std::optional<tokenizer::RegexSplitter> splitter;
  std::unordered_map<uint64_t, tokenizer::Merge> merges;  // (left id << 32 | right id) -> rank, result
  std::vector<std::pair<int32_t, int32_t>> merge_list;    // in file order, for vocabulary()

  // Options.
  bool add_bos = false, add_eos = false, add_space_prefix = false;
  std::optional<bool> file_add_bos, file_add_eos, file_add_space_prefix;  // as written in the file

  // Special tokens (-1: none), and which came from keys (for vocabulary()).
  int32_t bos = -1, eos = -1, eot = -1, eom = -1, unk = -1, pad = -1;
  int32_t fim_pre = -1, fim_suf = -1, fim_mid = -1, fim_pad = -1, fim_rep = -1, fim_sep = -1;
  int32_t key_bos = -1, key_eos = -1, key_eot = -1, key_unk = -1, key_pad = -1;
  std::vector<int32_t> special_cache;  // control/user-defined/unknown ids, longest text first
  std::vector<int32_t> eog;            // end-of-generation ids, ascending
  std::vector<bool> is_eog;
  std::string chat_template;

  int32_t find(std::string_view text) const {
    const auto it = token_to_id.find(text);
    return it == token_to_id.end() ? -1 : it->second;
  }
  int32_t find_merge(int32_t left, int32_t right, int32_t* result) const {
    const auto it = merges.find((static_cast<uint64_t>(static_cast<uint32_t>(left)) << 32) | static_cast<uint32_t>(right));
    if (it == merges.end()) return -1;
    *result = it->second.result;
    return it->second.rank;
  }
  // The token for one raw byte when a piece has no token: <0xNN>, else (SentencePiece) the
  // byte itself as a token; -1 when neither exists.
  int32_t byte_token(uint8_t byte) const;
};

namespace tokenizer {

// The algorithms, each appending the ids for one piece of raw text (no special tokens in it).
void bpe_encode(const Tokenizer::Impl& vocab, std::string_view text, std::vector<int32_t>& out);
void spm_encode(const Tokenizer::Impl& vocab, std::string_view text, std::vector<int32_t>& out);

// token_text of one id (llama.cpp's token_to_piece with special = true).
std::string make_piece(const Tokenizer::Impl& vocab, int32_t id);

// Fills attrs fix-ups, eot/eom, the EOG set, special_cache and pieces (llama.cpp's
// post-load steps), once tokens, attrs and specials from keys are in place.
void finish_vocab(Tokenizer::Impl& vocab);

}  // namespace tokenizer
}  // namespace archscope
