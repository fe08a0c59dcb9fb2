// A recursive-descent parser shaped like jinja2's: one function per precedence level.
#include "tokenizer/jinja/parser.h"

#include <algorithm>
#include <initializer_list>
#include <string_view>

#include "archscope/error.h"

namespace archscope::jinja {
namespace {

constexpr size_t kMaxDictLiteral = 10000;  // building a dict is quadratic in its keys

class Parser {
 public:
  explicit Parser(const std::vector<Token>& tokens) : tokens_(tokens) {}

  Body run() {
    Body body = statements({});
    if (peek().kind != TokenKind::End) fail(peek().line, "unexpected '" + peek().text + "'");
    return body;
  }

 private:
  // Each nested statement or expression level holds one of these; too deep is an error.
  struct DepthGuard {
    explicit DepthGuard(Parser& p) : parser(p) {
      if (++parser.depth_ > kMaxParseDepth) {
        parser.fail(parser.peek().line, "nesting deeper than " + std::to_string(kMaxParseDepth) + " levels");
      }
    }
    ~DepthGuard() { --parser.depth_; }
    Parser& parser;
  };

  [[noreturn]] void fail(int line, const std::string& message) const {
    throw Error("line " + std::to_string(line) + ": " + message);
  }

  const Token& peek(size_t ahead = 0) const {
    const size_t i = std::min(pos_ + ahead, tokens_.size() - 1);  // the last token is End
    return tokens_[i];
  }
  const Token& next() {
    const Token& t = peek();
    if (pos_ < tokens_.size() - 1) ++pos_;
    return t;
  }
  bool is_op(std::string_view op, size_t ahead = 0) const {
    return peek(ahead).kind == TokenKind::Operator && peek(ahead).text == op;
  }
  bool is_name(std::string_view name, size_t ahead = 0) const {
    return peek(ahead).kind == TokenKind::Name && peek(ahead).text == name;
  }
  bool skip_op(std::string_view op) {
    if (!is_op(op)) return false;
    next();
    return true;
  }
  bool skip_name(std::string_view name) {
    if (!is_name(name)) return false;
    next();
    return true;
  }
  static std::string describe(const Token& t) {
    switch (t.kind) {
      case TokenKind::End: return "the end of the template";
      case TokenKind::BlockEnd: return "'%}'";
      case TokenKind::PrintEnd: return "'}}'";
      case TokenKind::Text: return "template text";
      case TokenKind::String: return "a string";
      default: return "'" + t.text + "'";
    }
  }
  void expect_op(std::string_view op) {
    if (!skip_op(op)) fail(peek().line, "expected '" + std::string(op) + "', found " + describe(peek()));
  }
  void expect_name(std::string_view name) {
    if (!skip_name(name)) fail(peek().line, "expected '" + std::string(name) + "', found " + describe(peek()));
  }
  const std::string& expect_identifier(const char* what) {
    if (peek().kind != TokenKind::Name) fail(peek().line, std::string("expected ") + what + ", found " + describe(peek()));
    return next().text;
  }
  void expect_block_end() {
    if (peek().kind != TokenKind::BlockEnd) fail(peek().line, "expected '%}', found " + describe(peek()));
    next();
  }

  ExprPtr make(ExprKind kind, int line) {
    auto e = std::make_unique<Expr>();
    e->kind = kind;
    e->line = line;
    return e;
  }

  // ---- statements ----

  // Statements up to a {% name %} in `ends` (left unconsumed) or the end of the template;
  // the last of `ends` is the tag that closes the block, named when it is missing.
  Body statements(std::initializer_list<std::string_view> ends, int opened_at = 0, const char* opener = nullptr) {
    DepthGuard guard(*this);
    Body body;
    while (true) {
      const Token& t = peek();
      if (t.kind == TokenKind::End) {
        if (ends.size() == 0) return body;
        fail(opened_at, std::string("{% ") + opener + " %} has no {% " + std::string(*(ends.end() - 1)) + " %}");
      }
      if (t.kind == TokenKind::Text) {
        auto s = std::make_unique<Stmt>();
        s->kind = StmtKind::Text;
        s->line = t.line;
        s->text = next().text;
        body.push_back(std::move(s));
      } else if (t.kind == TokenKind::PrintBegin) {
        next();
        auto s = std::make_unique<Stmt>();
        s->kind = StmtKind::Output;
        s->line = t.line;
        s->expr = tuple(true);
        if (peek().kind != TokenKind::PrintEnd) fail(peek().line, "expected '}}', found " + describe(peek()));
        next();
        body.push_back(std::move(s));
      } else if (t.kind == TokenKind::BlockBegin) {
        const Token& name = peek(1);
        if (name.kind == TokenKind::Name && std::find(ends.begin(), ends.end(), name.text) != ends.end()) return body;
        next();
        statement(body);
      } else {
        fail(t.line, "unexpected " + describe(t));
      }
    }
  }

  // One {% ... %} statement (after "{%"), appended to `body`.
  void statement(Body& body) {
    const Token& t = peek();
    if (t.kind != TokenKind::Name) fail(t.line, "expected a tag name after '{%', found " + describe(t));
    const std::string name = t.text;
    const int line = t.line;
    next();
    if (name == "if") return body.push_back(if_statement(line));
    if (name == "for") return body.push_back(for_statement(line));
    if (name == "set") return body.push_back(set_statement(line));
    if (name == "macro") return body.push_back(macro_statement(line));
    if (name == "filter") return body.push_back(filter_block(line));
    if (name == "break" || name == "continue") {
      expect_block_end();
      auto s = std::make_unique<Stmt>();
      s->kind = name == "break" ? StmtKind::Break : StmtKind::Continue;
      s->line = line;
      return body.push_back(std::move(s));
    }
    if (name == "generation") {
      // transformers' marker around assistant text (for training masks): renders its body.
      expect_block_end();
      Body inner = statements({"endgeneration"}, line, "generation");
      close_block("endgeneration");
      for (StmtPtr& s : inner) body.push_back(std::move(s));
      return;
    }
    if (name == "include" || name == "import" || name == "from" || name == "extends" || name == "block" ||
        name == "call" || name == "with" || name == "autoescape" || name == "do") {
      fail(line, "{% " + name + " %} is not supported in chat templates");
    }
    fail(line, "unknown tag '" + name + "'");
  }

  void close_block(const char* end) {
    next();  // {%
    expect_name(end);
    expect_block_end();
  }

  StmtPtr if_statement(int line) {
    auto s = std::make_unique<Stmt>();
    s->kind = StmtKind::If;
    s->line = line;
    s->expr = tuple(false);
    expect_block_end();
    s->body = statements({"elif", "else", "endif"}, line, "if");
    next();  // {%
    const Token& branch = next();
    if (branch.text == "elif") {
      s->else_body.push_back(if_statement(branch.line));  // consumes the endif
      return s;
    }
    if (branch.text == "else") {
      expect_block_end();
      s->else_body = statements({"endif"}, line, "if");
      next();
      next();
    }
    expect_block_end();
    return s;
  }

  StmtPtr for_statement(int line) {
    auto s = std::make_unique<Stmt>();
    s->kind = StmtKind::For;
    s->line = line;
    s->target = assign_target(false);
    expect_name("in");
    s->expr = tuple(false, /*stop_at_if=*/true);
    if (is_name("recursive")) fail(peek().line, "recursive loops are not supported in chat templates");
    if (skip_name("if")) s->condition = expression(true);
    expect_block_end();
    s->body = statements({"else", "endfor"}, line, "for");
    next();
    if (next().text == "else") {
      expect_block_end();
      s->else_body = statements({"endfor"}, line, "for");
      next();
      next();
    }
    expect_block_end();
    return s;
  }

  StmtPtr set_statement(int line) {
    auto s = std::make_unique<Stmt>();
    s->line = line;
    s->target = assign_target(true);
    if (skip_op("=")) {
      s->kind = StmtKind::Set;
      s->expr = tuple(true);
      expect_block_end();
      return s;
    }
    s->kind = StmtKind::SetBlock;
    if (s->target->kind != ExprKind::Name) fail(line, "a {% set %} block assigns one name");
    expect_block_end();
    s->body = statements({"endset"}, line, "set");
    close_block("endset");
    return s;
  }

  StmtPtr macro_statement(int line) {
    auto s = std::make_unique<Stmt>();
    s->kind = StmtKind::Macro;
    s->line = line;
    s->text = expect_identifier("a macro name");
    expect_op("(");
    while (!is_op(")")) {
      if (!s->params.empty()) expect_op(",");
      if (is_op(")")) break;
      const std::string& param = expect_identifier("a parameter name");
      for (const auto& p : s->params) {
        if (p.first == param) fail(line, "macro '" + s->text + "' has two parameters named '" + param + "'");
      }
      ExprPtr fallback;
      if (skip_op("=")) {
        fallback = expression(true);
      } else if (!s->params.empty() && s->params.back().second) {
        fail(line, "macro '" + s->text + "': parameter '" + param + "' without a default follows one with a default");
      }
      s->params.emplace_back(param, std::move(fallback));
    }
    next();
    expect_block_end();
    s->body = statements({"endmacro"}, line, "macro");
    next();
    expect_name("endmacro");
    if (peek().kind == TokenKind::Name && peek().text == s->text) next();
    expect_block_end();
    return s;
  }

  StmtPtr filter_block(int line) {
    auto s = std::make_unique<Stmt>();
    s->kind = StmtKind::FilterBlock;
    s->line = line;
    s->expr = filter(nullptr);
    while (skip_op("|")) s->expr = filter(std::move(s->expr));
    expect_block_end();
    s->body = statements({"endfilter"}, line, "filter");
    close_block("endfilter");
    return s;
  }

  // A name, a tuple of names ("a, b" or "(a, b)"), or with_namespace "ns.attr".
  ExprPtr assign_target(bool with_namespace) {
    const int line = peek().line;
    if (with_namespace && peek().kind == TokenKind::Name && is_op(".", 1)) {
      auto e = make(ExprKind::Attribute, line);
      auto object = make(ExprKind::Name, line);
      object->name = next().text;
      next();
      e->a = std::move(object);
      e->name = expect_identifier("an attribute name");
      return e;
    }
    const bool parens = skip_op("(");
    auto tuple_target = make(ExprKind::Tuple, line);
    do {
      if (parens && is_op(")")) break;
      auto name = make(ExprKind::Name, peek().line);
      name->name = expect_identifier("a variable name");
      tuple_target->items.push_back(std::move(name));
    } while (skip_op(","));
    if (parens) expect_op(")");
    if (tuple_target->items.size() == 1 && !parens) return std::move(tuple_target->items[0]);
    return tuple_target;
  }

  // ---- expressions ----

  // Expressions separated by commas: a tuple when there is a comma.
  ExprPtr tuple(bool with_condition, bool stop_at_if = false) {
    const int line = peek().line;
    std::vector<ExprPtr> items;
    bool comma = false;
    while (true) {
      if (!items.empty()) {
        if (!skip_op(",")) break;
        comma = true;
      }
      const Token& t = peek();
      if (t.kind == TokenKind::BlockEnd || t.kind == TokenKind::PrintEnd || is_op(")") ||
          (stop_at_if && is_name("if"))) {
        if (items.empty()) fail(t.line, "expected an expression, found " + describe(t));
        break;
      }
      items.push_back(expression(with_condition));
    }
    if (!comma && items.size() == 1) return std::move(items[0]);
    auto e = make(ExprKind::Tuple, line);
    e->items = std::move(items);
    return e;
  }

  ExprPtr expression(bool with_condition) {
    DepthGuard guard(*this);
    return with_condition ? conditional() : or_expr();
  }

  ExprPtr conditional() {
    ExprPtr value = or_expr();
    while (is_name("if")) {
      auto e = make(ExprKind::Conditional, next().line);
      e->b = or_expr();
      if (skip_name("else")) e->c = conditional();
      e->a = std::move(value);
      value = std::move(e);
    }
    return value;
  }

  ExprPtr binary(std::string op, ExprPtr left, ExprPtr right, int line) {
    auto e = make(ExprKind::Binary, line);
    e->name = std::move(op);
    e->a = std::move(left);
    e->b = std::move(right);
    return e;
  }

  ExprPtr or_expr() {
    ExprPtr left = and_expr();
    while (is_name("or")) {
      const int line = next().line;
      left = binary("or", std::move(left), and_expr(), line);
    }
    return left;
  }

  ExprPtr and_expr() {
    ExprPtr left = not_expr();
    while (is_name("and")) {
      const int line = next().line;
      left = binary("and", std::move(left), not_expr(), line);
    }
    return left;
  }

  ExprPtr not_expr() {
    if (is_name("not")) {
      DepthGuard guard(*this);
      auto e = make(ExprKind::Unary, next().line);
      e->name = "not";
      e->a = not_expr();
      return e;
    }
    return compare();
  }

  // Comparisons and membership; a < b < c is (a < b) and (b < c), as in Python.
  ExprPtr compare() {
    ExprPtr first = math1();
    auto e = make(ExprKind::Compare, peek().line);
    while (true) {
      if (peek().kind == TokenKind::Operator &&
          (peek().text == "==" || peek().text == "!=" || peek().text == "<" || peek().text == ">" ||
           peek().text == "<=" || peek().text == ">=")) {
        e->ops.push_back(next().text);
      } else if (is_name("in")) {
        next();
        e->ops.push_back("in");
      } else if (is_name("not") && is_name("in", 1)) {
        next();
        next();
        e->ops.push_back("not in");
      } else {
        break;
      }
      e->items.push_back(math1());
    }
    if (e->ops.empty()) return first;
    e->a = std::move(first);
    return e;
  }

  ExprPtr math1() {
    ExprPtr left = concat();
    while (is_op("+") || is_op("-")) {
      const Token& op = next();
      left = binary(op.text, std::move(left), concat(), op.line);
    }
    return left;
  }

  ExprPtr concat() {
    ExprPtr left = math2();
    while (is_op("~")) {
      const int line = next().line;
      left = binary("~", std::move(left), math2(), line);
    }
    return left;
  }

  ExprPtr math2() {
    ExprPtr left = power();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      const Token& op = next();
      left = binary(op.text, std::move(left), power(), op.line);
    }
    return left;
  }

  ExprPtr power() {
    ExprPtr left = unary(true);
    while (is_op("**")) {
      const int line = next().line;
      left = binary("**", std::move(left), unary(true), line);
    }
    return left;
  }

  ExprPtr unary(bool with_filter) {
    DepthGuard guard(*this);
    ExprPtr node;
    if (is_op("-") || is_op("+")) {
      node = make(ExprKind::Unary, peek().line);
      node->name = next().text;
      node->a = unary(false);
    } else {
      node = postfix(primary());
    }
    if (with_filter) node = filters_and_tests(std::move(node));
    return node;
  }

  ExprPtr primary() {
    const Token& t = peek();
    switch (t.kind) {
      case TokenKind::Name: {
        next();
        auto e = make(ExprKind::Literal, t.line);
        if (t.text == "true" || t.text == "True") e->value = Value(true);
        else if (t.text == "false" || t.text == "False") e->value = Value(false);
        else if (t.text == "none" || t.text == "None") e->value = Value::none();
        else {
          e->kind = ExprKind::Name;
          e->name = t.text;
        }
        return e;
      }
      case TokenKind::String: {
        auto e = make(ExprKind::Literal, t.line);
        std::string s;
        while (peek().kind == TokenKind::String) s += next().text;  // "a" "b" is "ab"
        e->value = Value(std::move(s));
        return e;
      }
      case TokenKind::Integer: {
        next();
        auto e = make(ExprKind::Literal, t.line);
        e->value = Value(t.integer);
        return e;
      }
      case TokenKind::Float: {
        next();
        auto e = make(ExprKind::Literal, t.line);
        e->value = Value(t.number);
        return e;
      }
      case TokenKind::Operator:
        if (t.text == "(") {
          next();
          if (skip_op(")")) return make(ExprKind::Tuple, t.line);
          ExprPtr inner = tuple(true);
          expect_op(")");
          return inner;
        }
        if (t.text == "[") {
          next();
          auto e = make(ExprKind::List, t.line);
          while (!is_op("]")) {
            if (!e->items.empty()) expect_op(",");
            if (is_op("]")) break;
            e->items.push_back(expression(true));
          }
          next();
          return e;
        }
        if (t.text == "{") {
          next();
          auto e = make(ExprKind::Dict, t.line);
          while (!is_op("}")) {
            if (!e->items.empty()) expect_op(",");
            if (is_op("}")) break;
            if (e->items.size() >= 2 * kMaxDictLiteral) fail(t.line, "a dict literal of more than 10000 entries");
            e->items.push_back(expression(true));
            expect_op(":");
            e->items.push_back(expression(true));
          }
          next();
          return e;
        }
        break;
      default: break;
    }
    fail(t.line, "expected an expression, found " + describe(t));
  }

  ExprPtr postfix(ExprPtr node) {
    while (true) {
      if (is_op(".") || is_op("[")) {
        node = subscript(std::move(node));
      } else if (is_op("(")) {
        node = call(std::move(node));
      } else {
        return node;
      }
    }
  }

  ExprPtr filters_and_tests(ExprPtr node) {
    while (true) {
      if (is_op("|")) {
        next();
        node = filter(std::move(node));
      } else if (is_name("is")) {
        node = test(std::move(node));
      } else if (is_op("(")) {
        node = call(std::move(node));
      } else {
        return node;
      }
    }
  }

  ExprPtr subscript(ExprPtr object) {
    const Token& op = next();
    if (op.text == ".") {
      const Token& t = peek();
      if (t.kind == TokenKind::Name) {
        auto e = make(ExprKind::Attribute, t.line);
        e->a = std::move(object);
        e->name = next().text;
        return e;
      }
      if (t.kind == TokenKind::Integer) {  // x.0 is x[0]
        auto e = make(ExprKind::Subscript, t.line);
        e->a = std::move(object);
        e->b = make(ExprKind::Literal, t.line);
        e->b->value = Value(next().integer);
        return e;
      }
      fail(t.line, "expected an attribute name after '.', found " + describe(t));
    }
    // [index] or [start:stop:step]
    ExprPtr parts[3];
    int colons = 0;
    while (!is_op("]")) {
      if (is_op(":")) {
        if (++colons > 2) fail(peek().line, "a slice has at most two ':'");
        next();
        continue;
      }
      if (parts[colons]) fail(peek().line, "expected ']' or ':', found " + describe(peek()));
      parts[colons] = expression(true);
    }
    next();
    if (colons == 0) {
      if (!parts[0]) fail(op.line, "empty subscript []");
      auto e = make(ExprKind::Subscript, op.line);
      e->a = std::move(object);
      e->b = std::move(parts[0]);
      return e;
    }
    auto e = make(ExprKind::Slice, op.line);
    e->items.push_back(std::move(object));
    for (ExprPtr& part : parts) e->items.push_back(std::move(part));
    return e;
  }

  void arguments(Expr& e) {
    expect_op("(");
    while (!is_op(")")) {
      if (!e.items.empty() || !e.keywords.empty()) expect_op(",");
      if (is_op(")")) break;
      if (is_op("*") || is_op("**")) fail(peek().line, "argument unpacking (* and **) is not supported");
      if (peek().kind == TokenKind::Name && is_op("=", 1)) {
        std::string key = next().text;
        next();
        for (const auto& k : e.keywords) {
          if (k.first == key) fail(e.line, "keyword argument '" + key + "' given twice");
        }
        e.keywords.emplace_back(std::move(key), expression(true));
      } else {
        if (!e.keywords.empty()) fail(peek().line, "a positional argument follows a keyword argument");
        e.items.push_back(expression(true));
      }
    }
    next();
  }

  ExprPtr call(ExprPtr callee) {
    auto e = make(ExprKind::Call, peek().line);
    e->a = std::move(callee);
    arguments(*e);
    return e;
  }

  ExprPtr filter(ExprPtr operand) {
    auto e = make(ExprKind::Filter, peek().line);
    e->a = std::move(operand);
    e->name = expect_identifier("a filter name");
    if (is_op("(")) arguments(*e);
    return e;
  }

  ExprPtr test(ExprPtr operand) {
    auto e = make(ExprKind::Test, next().line);  // "is"
    e->a = std::move(operand);
    e->negated = skip_name("not");
    e->name = expect_identifier("a test name");
    if (is_op("(")) {
      arguments(*e);
      return e;
    }
    // `x is divisibleby 3`, `x is equalto 'a'`: one primary argument without brackets.
    const Token& t = peek();
    const bool starts_primary = t.kind == TokenKind::Name || t.kind == TokenKind::String ||
                                t.kind == TokenKind::Integer || t.kind == TokenKind::Float || is_op("(") ||
                                is_op("[") || is_op("{");
    // As jinja2: any name but else/or/and starts the argument ("x is string if c" is an error there too).
    if (starts_primary && !is_name("else") && !is_name("or") && !is_name("and")) {
      if (is_name("is")) fail(peek().line, "tests cannot be chained with 'is'");
      e->items.push_back(postfix(primary()));
    }
    return e;
  }

  const std::vector<Token>& tokens_;
  size_t pos_ = 0;
  int depth_ = 0;
};

}  // namespace

Body parse(const std::vector<Token>& tokens) { return Parser(tokens).run(); }

}  // namespace archscope::jinja
