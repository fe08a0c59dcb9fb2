// Template text -> tokens, with the whitespace rules transformers renders chat templates
// with: jinja2's trim_blocks (a block tag eats the newline after it), lstrip_blocks (spaces
// before a block tag on its own line go), "-" on a tag strips all whitespace on that side,
// "+" keeps it, and one trailing newline of the template is dropped. Line endings become "\n".
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace archscope::jinja {

enum class TokenKind {
  Text,        // template text between tags, whitespace rules applied
  PrintBegin,  // {{
  PrintEnd,    // }}
  BlockBegin,  // {%
  BlockEnd,    // %}
  Name,
  String,      // escapes resolved
  Integer,
  Float,
  Operator,    // + - * / // % ** ~ == != < > <= >= = . , : | ( ) [ ] { }
  End,         // end of the template
};

struct Token {
  TokenKind kind;
  std::string text;  // text, name, string value or operator
  int line = 1;      // where it starts, 1-based
  int64_t integer = 0;
  double number = 0.0;
};

// Throws archscope::Error("line N: ...") for an unterminated tag, comment or string, a
// character no token starts with, or unbalanced brackets.
std::vector<Token> tokenize(std::string_view source);

}  // namespace archscope::jinja
