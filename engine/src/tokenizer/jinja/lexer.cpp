// The lexer follows jinja2's (lexer.py): text up to the next {{, {% or {#, then the tokens
// of the tag; the whitespace rules are applied to the text around each tag.
#include "tokenizer/jinja/lexer.h"

#include <cctype>
#include <charconv>
#include <cstdlib>

#include "archscope/error.h"
#include "tokenizer/utf8.h"

namespace archscope::jinja {
namespace {

[[noreturn]] void fail(int line, const std::string& message) {
  throw Error("line " + std::to_string(line) + ": " + message);
}

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_name_start(char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool is_name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
bool is_digit(char c) { return c >= '0' && c <= '9'; }

// \r\n and \r become \n; one trailing newline goes (jinja2's keep_trailing_newline off).
std::string normalize_newlines(std::string_view source) {
  std::string out;
  out.reserve(source.size());
  for (size_t i = 0; i < source.size(); ++i) {
    if (source[i] == '\r') {
      out += '\n';
      if (i + 1 < source.size() && source[i + 1] == '\n') ++i;
    } else {
      out += source[i];
    }
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

class Lexer {
 public:
  explicit Lexer(std::string source) : src_(std::move(source)) {}

  std::vector<Token> run() {
    while (pos_ < src_.size()) {
      const size_t tag = find_tag(pos_);
      std::string text = src_.substr(pos_, tag - pos_);
      const int text_line = line_;
      count_lines(pos_, tag);
      pos_ = tag;
      if (tag == src_.size()) {
        emit_text(std::move(text), text_line);
        break;
      }
      const char kind = src_[tag + 1];  // '{', '%' or '#'
      const char sign = tag + 2 < src_.size() ? src_[tag + 2] : '\0';
      if (sign == '-') {
        while (!text.empty() && is_space(text.back())) text.pop_back();
      } else if (sign != '+' && kind != '{') {
        lstrip_line(text);
      }
      emit_text(std::move(text), text_line);
      pos_ = tag + 2 + ((sign == '-' || sign == '+') ? 1 : 0);
      if (kind == '#') {
        comment();
      } else if (kind == '%' && raw_block()) {
        continue;
      } else {
        tag_tokens(kind == '{' ? TokenKind::PrintBegin : TokenKind::BlockBegin);
      }
    }
    tokens_.push_back({TokenKind::End, "", line_});
    return std::move(tokens_);
  }

 private:
  size_t find_tag(size_t from) const {
    for (size_t i = from; i + 1 < src_.size(); ++i) {
      if (src_[i] == '{' && (src_[i + 1] == '{' || src_[i + 1] == '%' || src_[i + 1] == '#')) return i;
    }
    return src_.size();
  }

  void count_lines(size_t from, size_t to) {
    for (size_t i = from; i < to && i < src_.size(); ++i) line_ += src_[i] == '\n';
  }

  // lstrip_blocks: spaces and tabs between the start of a line and a block tag go.
  void lstrip_line(std::string& text) const {
    const size_t newline = text.rfind('\n');
    const size_t start = newline == std::string::npos ? 0 : newline + 1;
    if (start == 0 && !line_starting_) return;
    if (start == text.size()) return;
    for (size_t i = start; i < text.size(); ++i) {
      if (!is_space(text[i])) return;
    }
    text.resize(start);
  }

  void emit_text(std::string text, int line) {
    line_starting_ = false;
    if (!text.empty()) tokens_.push_back({TokenKind::Text, std::move(text), line});
  }

  // After "%}" or "#}": "-" strips all whitespace, "+" keeps it, else trim_blocks eats one "\n".
  void after_block_end(bool strip, bool keep) {
    const size_t start = pos_;
    if (strip) {
      while (pos_ < src_.size() && is_space(src_[pos_])) ++pos_;
    } else if (!keep && pos_ < src_.size() && src_[pos_] == '\n') {
      ++pos_;
    }
    line_starting_ = pos_ > start && src_[pos_ - 1] == '\n';
    count_lines(start, pos_);
  }

  void comment() {
    const int start_line = line_;
    const size_t end = src_.find("#}", pos_);
    if (end == std::string::npos) fail(start_line, "comment {# has no closing #}");
    const bool strip = end > pos_ && src_[end - 1] == '-';
    const bool keep = end > pos_ && src_[end - 1] == '+';
    count_lines(pos_, end);
    pos_ = end + 2;
    after_block_end(strip, keep);
  }

  // {% raw %}...{% endraw %}: the text in between, tags and all.
  bool raw_block() {
    size_t p = pos_;
    while (p < src_.size() && is_space(src_[p])) ++p;
    if (src_.compare(p, 3, "raw") != 0 || (p + 3 < src_.size() && is_name_char(src_[p + 3]))) return false;
    p += 3;
    while (p < src_.size() && is_space(src_[p])) ++p;
    const bool strip_after_open = p < src_.size() && src_[p] == '-';
    if (strip_after_open || (p < src_.size() && src_[p] == '+')) ++p;
    if (src_.compare(p, 2, "%}") != 0) fail(line_, "expected %} after raw");
    count_lines(pos_, p + 2);
    pos_ = p + 2;
    if (strip_after_open) {
      while (pos_ < src_.size() && is_space(src_[pos_])) ++pos_;
    } else if (pos_ < src_.size() && src_[pos_] == '\n') {
      ++pos_;
      ++line_;
    }
    const int text_line = line_;
    for (size_t i = pos_; (i = src_.find("{%", i)) != std::string::npos; ++i) {
      size_t q = i + 2;
      const bool strip_before = q < src_.size() && src_[q] == '-';
      if (strip_before || (q < src_.size() && src_[q] == '+')) ++q;
      while (q < src_.size() && is_space(src_[q])) ++q;
      if (src_.compare(q, 6, "endraw") != 0) continue;
      q += 6;
      while (q < src_.size() && is_space(src_[q])) ++q;
      const bool strip_after = q < src_.size() && src_[q] == '-';
      if (strip_after || (q < src_.size() && src_[q] == '+')) ++q;
      if (src_.compare(q, 2, "%}") != 0) continue;
      std::string text = src_.substr(pos_, i - pos_);
      if (strip_before) {
        while (!text.empty() && is_space(text.back())) text.pop_back();
      }
      count_lines(pos_, q + 2);
      pos_ = q + 2;
      if (!text.empty()) tokens_.push_back({TokenKind::Text, std::move(text), text_line});
      after_block_end(strip_after, false);
      return true;
    }
    fail(text_line, "{% raw %} has no {% endraw %}");
  }

  void tag_tokens(TokenKind begin) {
    const int start_line = line_;
    tokens_.push_back({begin, begin == TokenKind::PrintBegin ? "{{" : "{%", line_});
    std::vector<char> brackets;  // "}}" inside an open { ... } is two braces, not the tag end
    while (true) {
      while (pos_ < src_.size() && is_space(src_[pos_])) {
        line_ += src_[pos_] == '\n';
        ++pos_;
      }
      if (pos_ >= src_.size()) {
        fail(start_line, begin == TokenKind::PrintBegin ? "{{ has no closing }}" : "{% has no closing %}");
      }
      if (brackets.empty() && end_of_tag(begin)) return;
      const char c = src_[pos_];
      if (c == '\'' || c == '"') {
        string_literal();
      } else if (is_digit(c)) {
        number();
      } else if (is_name_start(c)) {
        const size_t start = pos_;
        while (pos_ < src_.size() && is_name_char(src_[pos_])) ++pos_;
        tokens_.push_back({TokenKind::Name, src_.substr(start, pos_ - start), line_});
      } else {
        operator_token(brackets);
      }
    }
  }

  bool end_of_tag(TokenKind begin) {
    const char close = begin == TokenKind::PrintBegin ? '}' : '%';
    const TokenKind end = begin == TokenKind::PrintBegin ? TokenKind::PrintEnd : TokenKind::BlockEnd;
    const char c = src_[pos_];
    const std::string closing{close, '}'};
    const bool signed_end = (c == '-' || c == '+') && src_.compare(pos_ + 1, 2, closing) == 0;
    if (!signed_end && src_.compare(pos_, 2, closing) != 0) return false;
    tokens_.push_back({end, end == TokenKind::PrintEnd ? "}}" : "%}", line_});
    pos_ += signed_end ? 3 : 2;
    if (end == TokenKind::PrintEnd) {
      const size_t start = pos_;
      if (signed_end && c == '-') {
        while (pos_ < src_.size() && is_space(src_[pos_])) ++pos_;
      }
      line_starting_ = pos_ > start && src_[pos_ - 1] == '\n';
      count_lines(start, pos_);
    } else {
      after_block_end(signed_end && c == '-', signed_end && c == '+');
    }
    return true;
  }

  // Python's string escapes (unicode-escape); an unknown escape keeps its backslash.
  void string_literal() {
    const int start_line = line_;
    const char quote = src_[pos_++];
    std::string value;
    while (true) {
      if (pos_ >= src_.size()) fail(start_line, "string literal has no closing quote");
      const char c = src_[pos_++];
      if (c == quote) break;
      if (c == '\n') ++line_;
      if (c != '\\') {
        value += c;
        continue;
      }
      if (pos_ >= src_.size()) fail(start_line, "string literal has no closing quote");
      const char e = src_[pos_++];
      switch (e) {
        case 'n': value += '\n'; break;
        case 't': value += '\t'; break;
        case 'r': value += '\r'; break;
        case 'b': value += '\b'; break;
        case 'f': value += '\f'; break;
        case 'v': value += '\v'; break;
        case 'a': value += '\a'; break;
        case '0': case '1': case '2': case '3': case '4': case '5': case '6': case '7': {
          uint32_t code = static_cast<uint32_t>(e - '0');
          for (int k = 0; k < 2 && pos_ < src_.size() && src_[pos_] >= '0' && src_[pos_] <= '7'; ++k) {
            code = code * 8 + static_cast<uint32_t>(src_[pos_++] - '0');
          }
          tokenizer::append_utf8(value, code);
          break;
        }
        case 'x': case 'u': case 'U': {
          const int digits = e == 'x' ? 2 : e == 'u' ? 4 : 8;
          uint32_t code = 0;
          for (int k = 0; k < digits; ++k) {
            const int h = pos_ < src_.size() ? hex_value(src_[pos_]) : -1;
            if (h < 0) fail(line_, std::string("truncated \\") + e + " escape in a string literal");
            code = code * 16 + static_cast<uint32_t>(h);
            ++pos_;
          }
          if (code > 0x10FFFF) fail(line_, "\\U escape beyond U+10FFFF in a string literal");
          tokenizer::append_utf8(value, code);
          break;
        }
        case '\n': ++line_; break;  // a backslash-newline joins lines
        case '\\': case '\'': case '"': value += e; break;
        default:
          value += '\\';
          value += e;
      }
    }
    tokens_.push_back({TokenKind::String, std::move(value), start_line});
  }

  void number() {
    const size_t start = pos_;
    auto digits = [&] {
      while (pos_ < src_.size() && (is_digit(src_[pos_]) || (src_[pos_] == '_' && pos_ + 1 < src_.size() && is_digit(src_[pos_ + 1])))) ++pos_;
    };
    digits();
    bool is_float = false;
    // "1.5" is a float, but "x.0.1" (after a dot) is attribute access in jinja2.
    const bool after_dot = !tokens_.empty() && tokens_.back().kind == TokenKind::Operator && tokens_.back().text == ".";
    if (!after_dot && pos_ + 1 < src_.size() && src_[pos_] == '.' && is_digit(src_[pos_ + 1])) {
      ++pos_;
      digits();
      is_float = true;
    }
    if (!after_dot && pos_ < src_.size() && (src_[pos_] == 'e' || src_[pos_] == 'E')) {
      size_t p = pos_ + 1;
      if (p < src_.size() && (src_[p] == '+' || src_[p] == '-')) ++p;
      if (p < src_.size() && is_digit(src_[p])) {
        pos_ = p;
        digits();
        is_float = true;
      }
    }
    std::string text;
    for (size_t i = start; i < pos_; ++i) {
      if (src_[i] != '_') text += src_[i];
    }
    Token token{is_float ? TokenKind::Float : TokenKind::Integer, text, line_};
    if (is_float) {
      token.number = std::strtod(text.c_str(), nullptr);
    } else {
      const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), token.integer);
      (void)end;
      if (ec != std::errc()) fail(line_, "integer literal " + text + " is too large");
    }
    tokens_.push_back(std::move(token));
  }

  void operator_token(std::vector<char>& brackets) {
    static const char* const kTwo[] = {"**", "//", "==", "!=", "<=", ">="};
    for (const char* op : kTwo) {
      if (src_.compare(pos_, 2, op) == 0) {
        tokens_.push_back({TokenKind::Operator, op, line_});
        pos_ += 2;
        return;
      }
    }
    const char c = src_[pos_];
    if (std::string_view("+-*/%~<>=.,:|()[]{}").find(c) == std::string_view::npos) {
      const auto u = static_cast<unsigned char>(c);
      fail(line_, u < 0x20 || u >= 0x7f ? "unexpected byte in a tag" : std::string("unexpected character '") + c + "' in a tag");
    }
    if (c == '(' || c == '[' || c == '{') {
      brackets.push_back(c == '(' ? ')' : c == '[' ? ']' : '}');
    } else if (c == ')' || c == ']' || c == '}') {
      if (brackets.empty()) fail(line_, std::string("unexpected '") + c + "'");
      if (brackets.back() != c) fail(line_, std::string("unexpected '") + c + "', expected '" + brackets.back() + "'");
      brackets.pop_back();
    }
    tokens_.push_back({TokenKind::Operator, std::string(1, c), line_});
    ++pos_;
  }

  std::string src_;
  size_t pos_ = 0;
  int line_ = 1;
  bool line_starting_ = true;  // the text that follows starts a line (for lstrip_blocks)
  std::vector<Token> tokens_;
};

}  // namespace

std::vector<Token> tokenize(std::string_view source) { return Lexer(normalize_newlines(source)).run(); }

}  // namespace archscope::jinja
