// UTF-8 helpers for the tokenizer, with llama.cpp's exact (lenient) decoding rules, and
// GPT-2's byte <-> printable character mapping used by byte-level BPE.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace archscope::tokenizer {

constexpr uint32_t kReplacementChar = 0xFFFD;

// Bytes in the UTF-8 sequence a lead byte starts (1 for continuation and invalid bytes),
// llama.cpp's unicode_len_utf8.
size_t utf8_sequence_length(char lead);

// Code points as llama.cpp's unicode_cpts_from_utf8 decodes them: lenient (overlong forms
// and surrogates pass), each byte that starts no valid sequence becomes U+FFFD.
std::vector<uint32_t> decode_lenient(std::string_view text);

// Appends a code point as UTF-8 (surrogates too, as llama.cpp does); values above
// U+10FFFF become U+FFFD.
void append_utf8(std::string& out, uint32_t cpt);

// Length of the well-formed UTF-8 character at text[0] (strict: no overlong forms,
// surrogates or values above U+10FFFF). 0: text is a valid but incomplete start of a
// character; negative: -n, the first n bytes are an invalid sequence (one U+FFFD).
int utf8_valid_prefix(std::string_view text);

// GPT-2 byte-level BPE: each byte has a printable stand-in character ('Ġ' for space).
const std::string& gpt2_byte_to_text(uint8_t byte);
// The byte a stand-in character (whole string) maps to, -1 when it is not one.
int gpt2_text_to_byte(std::string_view text);
// Maps every byte of `bytes` to its stand-in (llama.cpp's unicode_byte_encoding_process).
std::string gpt2_encode_bytes(std::string_view bytes);

// Replaces every " " with "▁" (U+2581), and back.
std::string escape_spaces(std::string_view text);
std::string unescape_spaces(std::string_view text);

}  // namespace archscope::tokenizer
