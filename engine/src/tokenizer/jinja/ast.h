// The parsed template: expressions and statements, each with the line it came from.
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "tokenizer/jinja/value.h"

namespace archscope::jinja {

struct Expr;
using ExprPtr = std::unique_ptr<Expr>;

enum class ExprKind {
  Literal,      // value
  Name,         // name
  List,         // items
  Tuple,        // items
  Dict,         // items: key, value, key, value, ...
  Attribute,    // a.name
  Subscript,    // a[b]
  Slice,        // a[b:c:d], each of b, c, d may be null
  Call,         // a(items..., keywords...)
  Filter,       // a | name(items..., keywords...); a is null in a {% filter %} block
  Test,         // a is [not] name(items...)
  Unary,        // name ("not", "-", "+") applied to a
  Binary,       // a name b: and, or, +, -, *, /, //, %, **, ~
  Compare,      // a ops[0] items[0] ops[1] items[1] ...: ==, !=, <, >, <=, >=, in, not in
  Conditional,  // a if b else c (c null: undefined when b is false)
};

struct Expr {
  ExprKind kind;
  int line = 0;
  std::string name;  // variable, attribute, filter, test or operator
  Value value;       // Literal
  ExprPtr a, b, c;
  std::vector<ExprPtr> items;                              // elements or positional arguments
  std::vector<std::pair<std::string, ExprPtr>> keywords;  // keyword arguments
  std::vector<std::string> ops;                            // Compare
  bool negated = false;                                    // "is not"
};

struct Stmt;
using StmtPtr = std::unique_ptr<Stmt>;
using Body = std::vector<StmtPtr>;

enum class StmtKind {
  Text,      // text
  Output,    // {{ expr }}
  If,        // if expr: body, else else_body (an elif is an If alone in else_body)
  For,       // for target in expr [if condition]: body, else else_body
  Set,       // set target = expr; target a name, a tuple of names or ns.attribute
  SetBlock,  // set target: the rendered body
  Macro,     // macro name(params): body
  FilterBlock,  // filter expr (a Filter with a null operand): the rendered body
  Break,
  Continue,
};

struct Stmt {
  StmtKind kind;
  int line = 0;
  std::string text;  // Text, Macro name
  ExprPtr expr;
  ExprPtr target;
  ExprPtr condition;
  Body body, else_body;
  std::vector<std::pair<std::string, ExprPtr>> params;  // Macro: name, default (null: none)
};

}  // namespace archscope::jinja
