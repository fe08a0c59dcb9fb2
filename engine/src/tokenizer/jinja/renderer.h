// Runs a parsed template: statements write text, expressions compute values, each in a
// scope (the globals and context, the template's own variables, a loop's, a macro call's).
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <unordered_map>

#include "tokenizer/jinja/ast.h"
#include "tokenizer/jinja/builtins.h"

namespace archscope::jinja {

struct Program {
  Body body;
};

class Renderer {
 public:
  explicit Renderer(const RenderOptions& options);
  // Throws archscope::Error("line N: ...").
  std::string render(const Program& program, const nlohmann::ordered_json& context);

 private:
  struct Scope {
    std::shared_ptr<Scope> parent;
    std::unordered_map<std::string, Value> vars;
    const Value* find(const std::string& name) const;
  };
  using ScopePtr = std::shared_ptr<Scope>;
  struct Macro {
    const Stmt* stmt;
    ScopePtr closure;  // the scope it was defined in: it sees names set there later too
  };
  enum class Flow { Normal, Break, Continue };

  Flow render_block(const Body& body, const ScopePtr& scope, std::string& out);
  Flow render_statement(const Stmt& s, const ScopePtr& scope, std::string& out);
  Flow render_for(const Stmt& s, const ScopePtr& scope, std::string& out);
  void assign(const Expr& target, Value value, const ScopePtr& scope);
  void append(std::string& out, const std::string& text) const;

  Value eval(const Expr& e, const ScopePtr& scope);
  Value eval_node(const Expr& e, const ScopePtr& scope);
  Value eval_attribute(const Value& object, const std::string& name, const Expr& e);
  Value eval_subscript(const Value& object, const Value& key, const Expr& e);
  Value eval_slice(const Expr& e, const ScopePtr& scope);
  Value eval_binary(const Expr& e, const ScopePtr& scope);
  Value eval_compare(const Expr& e, const ScopePtr& scope);
  Value eval_call(const Expr& e, const ScopePtr& scope);
  CallArgs eval_arguments(const Expr& e, const ScopePtr& scope);
  Value call_macro(const Macro& macro, const CallArgs& args);
  void define_globals(Scope& globals);

  RenderOptions options_;
  Budget budget_;
  int depth_ = 0;
  std::deque<Macro> macros_;  // stable addresses: callables point at them
};

}  // namespace archscope::jinja
