#include "tokenizer/utf8.h"

#include <array>
#include <unordered_map>

namespace archscope::tokenizer {

size_t utf8_sequence_length(char lead) {
  static constexpr size_t kLookup[] = {1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 3, 4};
  return kLookup[static_cast<uint8_t>(lead) >> 4];
}

std::vector<uint32_t> decode_lenient(std::string_view s) {
  std::vector<uint32_t> out;
  out.reserve(s.size());
  const size_t n = s.size();
  auto byte = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(s[i])); };
  auto cont = [&](size_t i) { return i < n && (byte(i) & 0xC0) == 0x80; };
  size_t i = 0;
  while (i < n) {
    const uint32_t c = byte(i);
    if (!(c & 0x80)) {
      out.push_back(c);
      i += 1;
    } else if (!(c & 0x40)) {
      out.push_back(kReplacementChar);  // stray continuation byte
      i += 1;
    } else if (!(c & 0x20)) {
      if (cont(i + 1)) {
        out.push_back(((c & 0x1F) << 6) | (byte(i + 1) & 0x3F));
        i += 2;
      } else {
        out.push_back(kReplacementChar);
        i += 1;
      }
    } else if (!(c & 0x10)) {
      if (cont(i + 1) && cont(i + 2)) {
        out.push_back(((c & 0x0F) << 12) | ((byte(i + 1) & 0x3F) << 6) | (byte(i + 2) & 0x3F));
        i += 3;
      } else {
        out.push_back(kReplacementChar);
        i += 1;
      }
    } else if (!(c & 0x08)) {
      if (cont(i + 1) && cont(i + 2) && cont(i + 3)) {
        out.push_back(((c & 0x07) << 18) | ((byte(i + 1) & 0x3F) << 12) | ((byte(i + 2) & 0x3F) << 6) |
                      (byte(i + 3) & 0x3F));
        i += 4;
      } else {
        out.push_back(kReplacementChar);
        i += 1;
      }
    } else {
      out.push_back(kReplacementChar);
      i += 1;
    }
  }
  return out;
}

void append_utf8(std::string& out, uint32_t cpt) {
  if (cpt <= 0x7F) {
    out.push_back(static_cast<char>(cpt));
  } else if (cpt <= 0x7FF) {
    out.push_back(static_cast<char>(0xC0 | (cpt >> 6)));
    out.push_back(static_cast<char>(0x80 | (cpt & 0x3F)));
  } else if (cpt <= 0xFFFF) {
    out.push_back(static_cast<char>(0xE0 | (cpt >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cpt >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cpt & 0x3F)));
  } else if (cpt <= 0x10FFFF) {
    out.push_back(static_cast<char>(0xF0 | (cpt >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cpt >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cpt >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cpt & 0x3F)));
  } else {
    append_utf8(out, kReplacementChar);
  }
}

int utf8_valid_prefix(std::string_view s) {
  if (s.empty()) return 0;
  const uint8_t c = static_cast<uint8_t>(s[0]);
  if (c < 0x80) return 1;
  int need = 0;
  uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c >= 0xC2 && c <= 0xDF) {
    need = 1;
  } else if (c >= 0xE0 && c <= 0xEF) {
    need = 2;
    if (c == 0xE0) lo = 0xA0;  // no overlong forms
    if (c == 0xED) hi = 0x9F;  // no surrogates
  } else if (c >= 0xF0 && c <= 0xF4) {
    need = 3;
    if (c == 0xF0) lo = 0x90;
    if (c == 0xF4) hi = 0x8F;  // nothing above U+10FFFF
  } else {
    return -1;  // continuation byte, C0/C1 or F5..FF
  }
  for (int k = 1; k <= need; ++k) {
    if (static_cast<size_t>(k) >= s.size()) return 0;  // so far so good, more to come
    const uint8_t b = static_cast<uint8_t>(s[k]);
    const uint8_t min = k == 1 ? lo : 0x80, max = k == 1 ? hi : 0xBF;
    if (b < min || b > max) return -k;  // the maximal invalid subpart is the first k bytes
  }
  return need + 1;
}

namespace {

struct Gpt2ByteMap {
  std::array<std::string, 256> byte_to_text;
  std::unordered_map<std::string, uint8_t> text_to_byte;

  Gpt2ByteMap() {
    auto printable = [](int b) { return (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF); };
    int n = 0;
    for (int b = 0; b < 256; ++b) {
      const uint32_t cpt = printable(b) ? static_cast<uint32_t>(b) : static_cast<uint32_t>(256 + n++);
      append_utf8(byte_to_text[b], cpt);
      text_to_byte.emplace(byte_to_text[b], static_cast<uint8_t>(b));
    }
  }
};

const Gpt2ByteMap& gpt2_map() {
  static const Gpt2ByteMap map;
  return map;
}

std::string replace_all(std::string_view text, std::string_view from, std::string_view to) {
  std::string out;
  out.reserve(text.size());
  size_t pos = 0;
  while (true) {
    const size_t hit = text.find(from, pos);
    if (hit == std::string_view::npos) break;
    out.append(text.substr(pos, hit - pos));
    out.append(to);
    pos = hit + from.size();
  }
  out.append(text.substr(pos));
  return out;
}

}  // namespace

const std::string& gpt2_byte_to_text(uint8_t byte) { return gpt2_map().byte_to_text[byte]; }

int gpt2_text_to_byte(std::string_view text) {
  const auto& map = gpt2_map().text_to_byte;
  const auto it = map.find(std::string(text));
  return it == map.end() ? -1 : it->second;
}

std::string gpt2_encode_bytes(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size() * 2);
  for (char c : bytes) out += gpt2_byte_to_text(static_cast<uint8_t>(c));
  return out;
}

std::string escape_spaces(std::string_view text) { return replace_all(text, " ", "\xE2\x96\x81"); }
std::string unescape_spaces(std::string_view text) { return replace_all(text, "\xE2\x96\x81", " "); }

}  // namespace archscope::tokenizer
