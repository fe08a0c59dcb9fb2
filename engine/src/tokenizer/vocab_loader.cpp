// Building a Tokenizer from GGUF keys or a Vocabulary, following llama.cpp's
// llama_vocab::impl::load: defaults per model, then the keys, then its fix-ups (end-of-turn
// detection, the EOG set, the special-token list). Unlike llama.cpp, a bad id or merge in
// the file is an error, not a warning.
#include <algorithm>
#include <limits>

#include "archscope/error.h"
#include "archscope/gguf.h"
#include "tokenizer/utf8.h"
#include "tokenizer/vocab.h"

namespace archscope {
namespace {

using tokenizer::Algorithm;

constexpr const char* kModel = "tokenizer.ggml.model";
constexpr const char* kPre = "tokenizer.ggml.pre";
constexpr const char* kTokens = "tokenizer.ggml.tokens";
constexpr const char* kTokenType = "tokenizer.ggml.token_type";
constexpr const char* kScores = "tokenizer.ggml.scores";
constexpr const char* kMerges = "tokenizer.ggml.merges";
constexpr const char* kAddBos = "tokenizer.ggml.add_bos_token";
constexpr const char* kAddEos = "tokenizer.ggml.add_eos_token";
constexpr const char* kAddSpacePrefix = "tokenizer.ggml.add_space_prefix";
constexpr const char* kChatTemplate = "tokenizer.chat_template";

// Special ids read from keys besides the Vocabulary's five (absent: -1).
struct ExtraIds {
  int32_t eom = -1, fim_pre = -1, fim_suf = -1, fim_mid = -1, fim_pad = -1, fim_rep = -1, fim_sep = -1;
};

uint32_t attr_of(TokenType type) {
  using namespace tokenizer;
  switch (type) {
    case TokenType::Normal: return kAttrNormal;
    case TokenType::Unknown: return kAttrUnknown;
    case TokenType::Control: return kAttrControl;
    case TokenType::UserDefined: return kAttrUserDefined;
    case TokenType::Unused: return kAttrUnused;
    case TokenType::Byte: return kAttrByte;
    default: return kAttrUndefined;
  }
}

std::string quoted(std::string_view s) {
  std::string out = "'";
  for (char c : s.substr(0, 60)) {
    if (c == '\n') out += "\\n";
    else if (c == '\t') out += "\\t";
    else if (static_cast<unsigned char>(c) < 0x20) out += "?";
    else out += c;
  }
  if (s.size() > 60) out += "...";
  return out + "'";
}

void check_id(const char* key, int64_t id, size_t n_tokens) {
  if (id < 0 || static_cast<uint64_t>(id) >= n_tokens) {
    throw Error(std::string(key) + ": token id " + std::to_string(id) + " is out of range (the vocabulary has " +
                std::to_string(n_tokens) + " tokens)");
  }
}

Tokenizer::Impl build(Vocabulary in, const ExtraIds& extra) {
  using namespace tokenizer;
  Tokenizer::Impl v;
  v.model = in.model;
  v.file_pre = in.pre;
  v.chat_template = in.chat_template;

  // Which algorithm, and the per-model defaults llama.cpp starts from.
  std::string pre_name = in.pre;
  if (in.model == "llama") {
    v.algorithm = Algorithm::Spm;
    v.bos = 1, v.eos = 2, v.unk = 0;
  } else if (in.model == "gpt2") {
    v.algorithm = Algorithm::Bpe;
    v.bos = 11, v.eos = 11;
  } else if (in.model == "gemma4") {
    v.algorithm = Algorithm::Bpe;
    pre_name = "gemma4";  // llama.cpp ignores tokenizer.ggml.pre for this model
  } else {
    throw Error(std::string(kModel) + ": tokenizer model " + quoted(in.model) +
                " is not supported (supported: gpt2, llama, gemma4)");
  }

  // Tokens.
  const size_t n = in.tokens.size();
  if (n == 0) throw Error(std::string(kTokens) + ": the vocabulary has no tokens");
  if (n > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
    throw Error(std::string(kTokens) + ": " + std::to_string(n) + " tokens is more than ids can address");
  }
  if (!in.scores.empty() && in.scores.size() < n) {
    throw Error(std::string(kScores) + ": " + std::to_string(in.scores.size()) + " scores for " + std::to_string(n) +
                " tokens");
  }
  if (!in.token_types.empty() && in.token_types.size() < n) {
    throw Error(std::string(kTokenType) + ": " + std::to_string(in.token_types.size()) + " token types for " +
                std::to_string(n) + " tokens");
  }
  v.tokens.resize(n);
  v.attrs.assign(n, kAttrNormal);
  v.token_to_id.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    std::string text = in.tokens[i].empty() ? "[EMPTY_" + std::to_string(i) + "]" : std::move(in.tokens[i]);
    const auto [it, inserted] = v.token_to_id.emplace(text, static_cast<int32_t>(i));
    if (!inserted) {
      throw Error(std::string(kTokens) + ": token " + std::to_string(i) + " " + quoted(text) + " repeats token " +
                  std::to_string(it->second));
    }
    v.tokens[i] = std::move(text);
    if (!in.token_types.empty()) v.attrs[i] = attr_of(in.token_types[i]);
  }
  if (!in.scores.empty()) v.scores.assign(in.scores.begin(), in.scores.begin() + static_cast<ptrdiff_t>(n));
  if (!in.token_types.empty()) v.file_types.assign(in.token_types.begin(), in.token_types.begin() + static_cast<ptrdiff_t>(n));

  // Defaults that point outside this vocabulary are dropped, as llama.cpp does.
  for (int32_t* id : {&v.bos, &v.eos, &v.unk}) {
    if (*id >= static_cast<int32_t>(n)) *id = -1;
  }

  // Pre-tokenizer and options.
  if (v.algorithm == Algorithm::Bpe) {
    const PreTokenizerSpec* spec = find_pre_tokenizer(pre_name);
    if (spec == nullptr) {
      throw Error(std::string(kPre) + ": pre-tokenizer " + quoted(pre_name) +
                  " is not supported (llama.cpp's tokenizer.ggml.pre values with plain regexes are; e.g. "
                  "llama-bpe, qwen2, default, gemma4)");
    }
    v.pre = *spec;
    v.splitter.emplace(spec->regexes);
    v.add_bos = spec->add_bos;
    if (spec->no_bos) v.bos = -1;
    v.add_space_prefix = false;
  } else {
    v.add_bos = true;
    v.add_space_prefix = true;
  }
  v.file_add_bos = in.add_bos, v.file_add_eos = in.add_eos, v.file_add_space_prefix = in.add_space_prefix;
  if (in.add_space_prefix) v.add_space_prefix = *in.add_space_prefix;

  // Special ids from keys.
  const std::pair<const char*, int32_t> keyed[] = {
      {"tokenizer.ggml.bos_token_id", in.bos},        {"tokenizer.ggml.eos_token_id", in.eos},
      {"tokenizer.ggml.eot_token_id", in.eot},        {"tokenizer.ggml.unknown_token_id", in.unknown},
      {"tokenizer.ggml.padding_token_id", in.padding}, {"tokenizer.ggml.eom_token_id", extra.eom},
      {"tokenizer.ggml.fim_pre_token_id", extra.fim_pre}, {"tokenizer.ggml.fim_suf_token_id", extra.fim_suf},
      {"tokenizer.ggml.fim_mid_token_id", extra.fim_mid}, {"tokenizer.ggml.fim_pad_token_id", extra.fim_pad},
      {"tokenizer.ggml.fim_rep_token_id", extra.fim_rep}, {"tokenizer.ggml.fim_sep_token_id", extra.fim_sep},
  };
  for (const auto& [key, id] : keyed) {
    if (id != -1) check_id(key, id, n);
  }
  if (in.bos != -1) v.bos = v.key_bos = in.bos;
  if (in.eos != -1) v.eos = v.key_eos = in.eos;
  if (in.eot != -1) v.eot = v.key_eot = in.eot;
  if (in.unknown != -1) v.unk = v.key_unk = in.unknown;
  if (in.padding != -1) v.pad = v.key_pad = in.padding;
  v.eom = extra.eom;

  if (in.add_bos) v.add_bos = *in.add_bos;
  if (in.add_eos) v.add_eos = *in.add_eos;
  if (v.pre && v.pre->name == "gemma4") v.add_bos = true;  // llama.cpp's Gemma 4 workaround
  if (v.add_bos && v.bos < 0) {
    throw Error(std::string(kAddBos) + ": the vocabulary asks for a BOS token but has none (set " +
                "tokenizer.ggml.bos_token_id)");
  }
  if (v.add_eos && v.eos < 0) {
    throw Error(std::string(kAddEos) + ": the vocabulary asks for an EOS token but has none (set " +
                "tokenizer.ggml.eos_token_id)");
  }

  // Merges (BPE): "left right", each side and the result a token; the first rank wins.
  if (v.algorithm == Algorithm::Bpe) {
    if (in.merges.empty()) throw Error(std::string(kMerges) + ": missing or empty (a BPE vocabulary needs its merges)");
    if (in.merges.size() > static_cast<size_t>(std::numeric_limits<int32_t>::max())) {
      throw Error(std::string(kMerges) + ": too many merges");
    }
    v.merges.reserve(in.merges.size());
    v.merge_list.reserve(in.merges.size());
    std::string joined;
    for (size_t i = 0; i < in.merges.size(); ++i) {
      const std::string& merge = in.merges[i];
      auto where = [&] { return std::string(kMerges) + "[" + std::to_string(i) + "] " + quoted(merge); };
      const size_t space = merge.size() > 1 ? merge.find(' ', 1) : std::string::npos;
      if (space == std::string::npos) throw Error(where() + ": not two tokens separated by a space");
      const std::string_view left = std::string_view(merge).substr(0, space);
      const std::string_view right = std::string_view(merge).substr(space + 1);
      const int32_t l = v.find(left), r = v.find(right);
      if (l < 0) throw Error(where() + ": " + quoted(left) + " is not a token");
      if (r < 0) throw Error(where() + ": " + quoted(right) + " is not a token");
      joined.assign(left);
      joined.append(right);
      const int32_t result = v.find(joined);
      if (result < 0) throw Error(where() + ": the merged " + quoted(joined) + " is not a token");
      const uint64_t key = (static_cast<uint64_t>(static_cast<uint32_t>(l)) << 32) | static_cast<uint32_t>(r);
      v.merges.emplace(key, Merge{static_cast<int32_t>(i), result});
      v.merge_list.emplace_back(l, r);
    }
  }

  v.fim_pre = extra.fim_pre, v.fim_suf = extra.fim_suf, v.fim_mid = extra.fim_mid;
  v.fim_pad = extra.fim_pad, v.fim_rep = extra.fim_rep, v.fim_sep = extra.fim_sep;
  tokenizer::finish_vocab(v);
  return v;
}

// --- GGUF keys --------------------------------------------------------------------------

const GgufValue& require(const GgufFile& file, const char* key, const char* what) {
  const GgufValue* v = file.find(key);
  if (v == nullptr) throw Error(std::string(key) + ": missing (" + what + ")");
  return *v;
}

const GgufValue* array_of(const GgufFile& file, const char* key, bool (*ok)(GgufValueType), const char* expected) {
  const GgufValue* v = file.find(key);
  if (v == nullptr) return nullptr;
  if (!v->is_array() || !ok(v->element_type)) {
    throw Error(std::string(key) + ": expected an array of " + expected + ", found " +
                (v->is_array() ? std::string("an array of ") + to_string(v->element_type) : to_string(v->type)));
  }
  return v;
}

bool is_string_type(GgufValueType t) { return t == GgufValueType::String; }
bool is_number_type(GgufValueType t) { return t != GgufValueType::String && t != GgufValueType::Array && t != GgufValueType::Bool; }
bool is_integer_type(GgufValueType t) { return is_number_type(t) && t != GgufValueType::F32 && t != GgufValueType::F64; }

int32_t read_id(const GgufFile& file, const char* key) {
  const GgufValue* v = file.find(key);
  if (v == nullptr) return -1;
  const int64_t id = v->as_int(key);
  if (id < 0 || id > std::numeric_limits<int32_t>::max()) {
    throw Error(std::string(key) + ": token id " + std::to_string(id) + " is out of range");
  }
  return static_cast<int32_t>(id);
}

std::optional<bool> read_bool(const GgufFile& file, const char* key) {
  const GgufValue* v = file.find(key);
  if (v == nullptr) return std::nullopt;
  return v->as_bool(key);
}

Tokenizer::Impl read_gguf(const GgufFile& file) {
  Vocabulary vocab;
  vocab.model = require(file, kModel, "this file has no tokenizer").as_string(kModel);
  if (const GgufValue* pre = file.find(kPre)) vocab.pre = pre->as_string(kPre);

  const GgufValue& tokens = require(file, kTokens, "the token list");
  if (array_of(file, kTokens, is_string_type, "strings") == nullptr) throw Error(std::string(kTokens) + ": missing");
  vocab.tokens.reserve(tokens.items.size());
  for (const GgufValue& t : tokens.items) vocab.tokens.push_back(t.s);

  if (const GgufValue* types = array_of(file, kTokenType, is_integer_type, "integers")) {
    vocab.token_types.reserve(types->items.size());
    for (const GgufValue& t : types->items) {
      const int64_t value = t.as_int(kTokenType);
      vocab.token_types.push_back(value < 0 || value > 6 ? TokenType::Undefined : static_cast<TokenType>(value));
    }
  }
  if (const GgufValue* scores = array_of(file, kScores, is_number_type, "numbers")) {
    vocab.scores.reserve(scores->items.size());
    for (const GgufValue& s : scores->items) vocab.scores.push_back(static_cast<float>(s.as_double(kScores)));
  }
  if (vocab.model != "llama") {
    if (const GgufValue* merges = array_of(file, kMerges, is_string_type, "strings")) {
      vocab.merges.reserve(merges->items.size());
      for (const GgufValue& m : merges->items) vocab.merges.push_back(m.s);
    }
  }

  vocab.bos = read_id(file, "tokenizer.ggml.bos_token_id");
  vocab.eos = read_id(file, "tokenizer.ggml.eos_token_id");
  vocab.eot = read_id(file, "tokenizer.ggml.eot_token_id");
  vocab.unknown = read_id(file, "tokenizer.ggml.unknown_token_id");
  vocab.padding = read_id(file, "tokenizer.ggml.padding_token_id");
  ExtraIds extra;
  extra.eom = read_id(file, "tokenizer.ggml.eom_token_id");
  extra.fim_pre = read_id(file, "tokenizer.ggml.fim_pre_token_id");
  extra.fim_suf = read_id(file, "tokenizer.ggml.fim_suf_token_id");
  extra.fim_mid = read_id(file, "tokenizer.ggml.fim_mid_token_id");
  extra.fim_pad = read_id(file, "tokenizer.ggml.fim_pad_token_id");
  extra.fim_rep = read_id(file, "tokenizer.ggml.fim_rep_token_id");
  extra.fim_sep = read_id(file, "tokenizer.ggml.fim_sep_token_id");
  // Deprecated names of the first three.
  if (extra.fim_pre < 0) extra.fim_pre = read_id(file, "tokenizer.ggml.prefix_token_id");
  if (extra.fim_suf < 0) extra.fim_suf = read_id(file, "tokenizer.ggml.suffix_token_id");
  if (extra.fim_mid < 0) extra.fim_mid = read_id(file, "tokenizer.ggml.middle_token_id");

  vocab.add_bos = read_bool(file, kAddBos);
  vocab.add_eos = read_bool(file, kAddEos);
  vocab.add_space_prefix = read_bool(file, kAddSpacePrefix);
  if (const GgufValue* tmpl = file.find(kChatTemplate)) vocab.chat_template = tmpl->as_string(kChatTemplate);
  return build(std::move(vocab), extra);
}

}  // namespace

Tokenizer Tokenizer::from_gguf(const GgufFile& file) {
  try {
    auto impl = std::make_shared<Impl>(read_gguf(file));
    impl->source = file.path();
    return Tokenizer(std::move(impl));
  } catch (const Error& e) {
    throw Error(file.path() + ": " + e.what());
  }
}

Tokenizer Tokenizer::from_vocabulary(const Vocabulary& vocab, const std::string& source) {
  try {
    auto impl = std::make_shared<Impl>(build(vocab, ExtraIds{}));
    impl->source = source;
    return Tokenizer(std::move(impl));
  } catch (const Error& e) {
    throw Error(source + ": " + e.what());
  }
}

}  // namespace archscope
