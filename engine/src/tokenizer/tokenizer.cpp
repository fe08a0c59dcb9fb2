// Tokenizer's public side: llama.cpp's llama_vocab::impl::tokenize (special tokens cut out
// first, then SentencePiece or BPE on the text between them), token_to_piece, accessors.
#include <array>
#include <cstdio>

#include "archscope/error.h"
#include "archscope/gguf.h"
#include "archscope/tokenizer.h"
#include "tokenizer/utf8.h"
#include "tokenizer/vocab.h"

namespace archscope {

using namespace tokenizer;

int32_t Tokenizer::Impl::byte_token(uint8_t byte) const {
  static constexpr char kHex[] = "0123456789ABCDEF";
  const char name[6] = {'<', '0', 'x', kHex[byte >> 4], kHex[byte & 15], '>'};
  const int32_t id = find(std::string_view(name, 6));
  if (id >= 0 || algorithm != Algorithm::Spm) return id;
  const char raw = static_cast<char>(byte);
  return find(std::string_view(&raw, 1));
}

namespace tokenizer {
namespace {

// llama.cpp's llama_decode_text: GPT-2 stand-in characters back to bytes.
std::string decode_gpt2_text(const std::string& text) {
  std::string out;
  for (uint32_t cpt : decode_lenient(text)) {
    std::string utf8;
    append_utf8(utf8, cpt);
    const int byte = gpt2_text_to_byte(utf8);
    if (byte >= 0) {
      out.push_back(static_cast<char>(byte));
    } else {
      out += "[UNK_BYTE_0x";
      for (char c : utf8) {
        char hex[3];
        std::snprintf(hex, sizeof(hex), "%02x", static_cast<unsigned>(static_cast<uint8_t>(c)));
        out += hex;
      }
      out += text + "]";
    }
  }
  return out;
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// A piece of text between special tokens (token < 0), or a special token.
struct Fragment {
  int32_t token;
  size_t offset, length;
};

// llama.cpp's tokenizer_st_partition: every special token, longest first, is cut out of
// the raw fragments where it occurs as literal text. Control and unknown tokens only when
// parse_special; user-defined tokens always.
std::vector<Fragment> partition(const Tokenizer::Impl& v, std::string_view text, bool parse_special) {
  std::vector<Fragment> fragments;
  if (text.empty()) return fragments;
  fragments.push_back({-1, 0, text.size()});
  std::array<bool, 256> present{};
  for (char c : text) present[static_cast<uint8_t>(c)] = true;

  std::vector<Fragment> next;
  for (int32_t id : v.special_cache) {
    if (!parse_special && (v.attrs[id] & (kAttrControl | kAttrUnknown))) continue;
    const std::string& special = v.tokens[id];
    if (special.size() > text.size() || !present[static_cast<uint8_t>(special[0])]) continue;
    if (text.find(special) == std::string_view::npos) continue;
    next.clear();
    for (const Fragment& f : fragments) {
      if (f.token >= 0) {
        next.push_back(f);
        continue;
      }
      const size_t end = f.offset + f.length;
      size_t base = f.offset;
      while (true) {
        const size_t match = text.substr(0, end).find(special, base);
        if (match == std::string_view::npos) break;
        if (match > base) next.push_back({-1, base, match - base});
        next.push_back({id, 0, 0});
        base = match + special.size();
      }
      if (base < end) next.push_back({-1, base, end - base});
    }
    fragments.swap(next);
  }
  return fragments;
}

}  // namespace

std::string make_piece(const Tokenizer::Impl& v, int32_t id) {
  const uint32_t attr = v.attrs[id];
  const std::string& text = v.tokens[id];
  if (attr & (kAttrUnknown | kAttrControl | kAttrUserDefined)) return text;
  if (attr & kAttrNormal) {
    if (v.algorithm == Algorithm::Spm || (v.pre && v.pre->escape_spaces)) return unescape_spaces(text);
    return decode_gpt2_text(text);
  }
  if (attr & kAttrByte) {
    // "<0xNN>"; anything else is shown as its text rather than trusted.
    if (text.size() == 6 && text.compare(0, 3, "<0x") == 0 && text[5] == '>' && hex_digit(text[3]) >= 0 &&
        hex_digit(text[4]) >= 0) {
      return std::string(1, static_cast<char>(hex_digit(text[3]) * 16 + hex_digit(text[4])));
    }
    return text;
  }
  return "";  // unused or undefined tokens render as nothing
}

}  // namespace tokenizer

std::vector<int32_t> Tokenizer::encode(std::string_view text, bool add_special, bool parse_special) const {
  const Impl& v = *impl_;
  std::vector<int32_t> out;
  out.reserve(text.size() / 3 + 4);
  const std::vector<Fragment> fragments = partition(v, text, parse_special);
  if (add_special && v.add_bos) out.push_back(v.bos);

  if (v.algorithm == Algorithm::Spm) {
    bool previous_special = true;  // a space goes before text at the start and after specials
    for (const Fragment& f : fragments) {
      if (f.token >= 0) {
        out.push_back(f.token);
        previous_special = true;
        continue;
      }
      std::string piece = (v.add_space_prefix && previous_special) ? " " : "";
      piece += text.substr(f.offset, f.length);
      spm_encode(v, escape_spaces(piece), out);
      previous_special = false;
    }
  } else {
    for (const Fragment& f : fragments) {
      if (f.token >= 0) {
        out.push_back(f.token);
        continue;
      }
      const std::string_view piece = text.substr(f.offset, f.length);
      if (v.pre->escape_spaces) {
        bpe_encode(v, escape_spaces(piece), out);
      } else {
        bpe_encode(v, piece, out);
      }
    }
  }
  if (add_special && v.add_eos) out.push_back(v.eos);
  return out;
}

namespace {
void check_range(const Tokenizer::Impl& v, int32_t id) {
  if (id < 0 || static_cast<size_t>(id) >= v.tokens.size()) {
    throw Error(v.source + ": token id " + std::to_string(id) + " is out of range (vocabulary of " +
                std::to_string(v.tokens.size()) + " tokens)");
  }
}
}  // namespace

std::string Tokenizer::token_text(int32_t id) const {
  check_range(*impl_, id);
  return impl_->pieces[id];
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool render_special) const {
  std::string out;
  for (int32_t id : ids) {
    check_range(*impl_, id);
    if (!render_special && (impl_->attrs[id] & (kAttrControl | kAttrUnknown))) continue;
    out += impl_->pieces[id];
  }
  return out;
}

int32_t Tokenizer::bos() const { return impl_->bos; }
int32_t Tokenizer::eos() const { return impl_->eos; }
int32_t Tokenizer::eot() const { return impl_->eot; }
int32_t Tokenizer::unknown() const { return impl_->unk; }
int32_t Tokenizer::padding() const { return impl_->pad; }
bool Tokenizer::add_bos() const { return impl_->add_bos; }
bool Tokenizer::add_eos() const { return impl_->add_eos; }

bool Tokenizer::is_end_of_generation(int32_t id) const {
  return id >= 0 && static_cast<size_t>(id) < impl_->is_eog.size() && impl_->is_eog[id];
}
std::vector<int32_t> Tokenizer::end_of_generation_ids() const { return impl_->eog; }

size_t Tokenizer::vocab_size() const { return impl_->tokens.size(); }

TokenType Tokenizer::token_type(int32_t id) const {
  check_range(*impl_, id);
  const uint32_t attr = impl_->attrs[id];
  if (attr & kAttrControl) return TokenType::Control;
  if (attr & kAttrUserDefined) return TokenType::UserDefined;
  if (attr & kAttrUnknown) return TokenType::Unknown;
  if (attr & kAttrByte) return TokenType::Byte;
  if (attr & kAttrUnused) return TokenType::Unused;
  if (attr & kAttrNormal) return TokenType::Normal;
  return TokenType::Undefined;
}

bool Tokenizer::is_control(int32_t id) const {
  check_range(*impl_, id);
  return (impl_->attrs[id] & (kAttrControl | kAttrUnknown)) != 0;
}

const std::string& Tokenizer::raw_token(int32_t id) const {
  check_range(*impl_, id);
  return impl_->tokens[id];
}

int32_t Tokenizer::find_token(std::string_view raw) const { return impl_->find(raw); }
const std::string& Tokenizer::model() const { return impl_->model; }
const std::string& Tokenizer::pre() const {
  static const std::string none;
  return impl_->pre ? impl_->pre->name : none;
}
const std::string& Tokenizer::source() const { return impl_->source; }

Vocabulary Tokenizer::vocabulary() const {
  const Impl& v = *impl_;
  Vocabulary out;
  out.model = v.model;
  out.pre = v.file_pre;
  out.tokens = v.tokens;
  out.token_types = v.file_types;
  out.scores = v.scores;
  out.merges.reserve(v.merge_list.size());
  for (const auto& [l, r] : v.merge_list) out.merges.push_back(v.tokens[l] + " " + v.tokens[r]);
  out.bos = v.key_bos, out.eos = v.key_eos, out.eot = v.key_eot, out.unknown = v.key_unk, out.padding = v.key_pad;
  out.add_bos = v.file_add_bos, out.add_eos = v.file_add_eos, out.add_space_prefix = v.file_add_space_prefix;
  out.chat_template = v.chat_template;
  return out;
}

void Tokenizer::write_to(GgufWriter& writer) const { vocabulary().write_to(writer); }

}  // namespace archscope
