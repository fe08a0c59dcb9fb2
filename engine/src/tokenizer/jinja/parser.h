// Tokens -> statements, with jinja2's grammar and operator precedence (parser.py): from
// loosest to tightest, `x if c else y`, or, and, not, comparisons and in, + -, ~, * / // %,
// **, unary - +, then postfix . [] () and the | filters and `is` tests of a primary.
#pragma once

#include <vector>

#include "tokenizer/jinja/ast.h"
#include "tokenizer/jinja/lexer.h"

namespace archscope::jinja {

// Nesting deeper than this (brackets, blocks) is an error, not a stack overflow.
inline constexpr int kMaxParseDepth = 200;

// Throws archscope::Error("line N: ...") naming what was expected; tags jinja2 has but chat
// templates do not use (include, import, extends, block, call) are errors that say so.
Body parse(const std::vector<Token>& tokens);

}  // namespace archscope::jinja
