// StreamDecoder: token bytes are appended to a pending buffer and only whole, valid UTF-8
// characters leave it.
#include "archscope/tokenizer.h"
#include "tokenizer/utf8.h"

namespace archscope {
namespace {

const char kReplacement[] = "\xEF\xBF\xBD";  // U+FFFD

// Moves the complete characters at the front of `pending` to the result; invalid bytes
// become U+FFFD. At the end (final) an incomplete character becomes U+FFFD as well.
std::string take_complete(std::string& pending, bool final) {
  std::string out;
  size_t i = 0;
  while (i < pending.size()) {
    const int n = tokenizer::utf8_valid_prefix(std::string_view(pending).substr(i));
    if (n > 0) {
      out.append(pending, i, static_cast<size_t>(n));
      i += static_cast<size_t>(n);
    } else if (n < 0) {
      out += kReplacement;
      i += static_cast<size_t>(-n);
    } else {
      if (final) {
        out += kReplacement;
        i = pending.size();
      }
      break;
    }
  }
  pending.erase(0, i);
  return out;
}

}  // namespace

StreamDecoder::StreamDecoder(Tokenizer tokenizer, bool render_special)
    : tokenizer_(std::move(tokenizer)), render_special_(render_special) {}

std::string StreamDecoder::push(int32_t id) {
  if (render_special_ || !tokenizer_.is_control(id)) pending_ += tokenizer_.token_text(id);
  return take_complete(pending_, false);
}

std::string StreamDecoder::flush() { return take_complete(pending_, true); }

void StreamDecoder::reset() { pending_.clear(); }

}  // namespace archscope
