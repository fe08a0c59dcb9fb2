// The renderer: statements top to bottom, expressions by recursion, Python's jinja2 rules
// for scopes (a loop's and a macro's variables stay inside; `if` has no scope of its own),
// undefined values (printing one prints nothing, using one otherwise is an error) and
// operators. Every error names the template line it happened on.
#include "tokenizer/jinja/renderer.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "archscope/error.h"

namespace archscope::jinja {
namespace {

// An error that already names its line; others get the line of the node they pass through.
class LocatedError : public Error {
 public:
  LocatedError(int line, const std::string& message) : Error("line " + std::to_string(line) + ": " + message) {}
};

[[noreturn]] void fail(const std::string& message) { throw Error(message); }

[[noreturn]] void undefined_error(const Value& v) {
  fail((v.as_string().empty() ? std::string("a value") : "'" + v.as_string() + "'") + " is undefined");
}

struct DepthGuard {
  DepthGuard(int& depth, int max) : depth_(depth) {
    if (++depth_ > max) fail("the template nests deeper than " + std::to_string(max) + " levels at run time");
  }
  ~DepthGuard() { --depth_; }
  int& depth_;
};

// Integer arithmetic that reports overflow instead of wrapping.
int64_t add(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) fail("integer overflow");
  return r;
}
int64_t subtract(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_sub_overflow(a, b, &r)) fail("integer overflow");
  return r;
}
int64_t multiply(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) fail("integer overflow");
  return r;
}

// Python's floor division and modulo for integers.
int64_t floor_div(int64_t a, int64_t b) {
  if (b == 0) fail("division by zero");
  if (a == INT64_MIN && b == -1) fail("integer overflow");
  int64_t q = a / b;
  if ((a % b != 0) && ((a < 0) != (b < 0))) --q;
  return q;
}

int64_t floor_mod(int64_t a, int64_t b) {
  if (b == 0) fail("modulo by zero");
  if (b == -1) return 0;
  int64_t r = a % b;
  if (r != 0 && ((r < 0) != (b < 0))) r += b;
  return r;
}

ValueList items_of(const Value& v) {
  if (v.is_list()) return v.items();
  if (v.is_undefined()) return {};  // iterating undefined is an empty loop, as in jinja2
  if (v.is_dict()) {
    ValueList keys;
    for (const auto& entry : v.map().entries) keys.emplace_back(entry.first);
    return keys;
  }
  if (v.is_string()) {
    ValueList chars;
    for (std::string& c : code_points(v.as_string())) chars.emplace_back(std::move(c));
    return chars;
  }
  fail(std::string("a value of type ") + v.type_name() + " is not iterable");
}

// Python's slice.indices and the items it picks.
std::vector<size_t> slice_indices(size_t size, const Value& start, const Value& stop, const Value& step) {
  auto as_index = [](const Value& v, const char* what) -> std::optional<int64_t> {
    if (v.is_undefined() || v.is_none()) return std::nullopt;
    if (!v.is_int() && !v.is_bool()) fail(std::string("slice ") + what + " must be an integer");
    return v.as_int();
  };
  const int64_t n = static_cast<int64_t>(size);
  const int64_t st = as_index(step, "step").value_or(1);
  if (st == 0) fail("slice step cannot be zero");
  auto clamp = [&](std::optional<int64_t> v, int64_t fallback) {
    if (!v) return fallback;
    int64_t i = *v < 0 ? *v + n : *v;
    if (st > 0) return std::clamp<int64_t>(i, 0, n);
    return std::clamp<int64_t>(i, -1, n - 1);
  };
  const int64_t begin = clamp(as_index(start, "start"), st > 0 ? 0 : n - 1);
  const int64_t end = clamp(as_index(stop, "stop"), st > 0 ? n : -1);
  std::vector<size_t> out;
  for (int64_t i = begin; st > 0 ? i < end : i > end; i += st) out.push_back(static_cast<size_t>(i));
  return out;
}

}  // namespace

const Value* Renderer::Scope::find(const std::string& name) const {
  for (const Scope* s = this; s; s = s->parent.get()) {
    const auto it = s->vars.find(name);
    if (it != s->vars.end()) return &it->second;
  }
  return nullptr;
}

Renderer::Renderer(const RenderOptions& options) : options_(options), budget_(options.limits) {
  if (options_.now == 0) options_.now = std::time(nullptr);
}

std::string Renderer::render(const Program& program, const nlohmann::ordered_json& context) {
  auto globals = std::make_shared<Scope>();
  define_globals(*globals);
  if (context.is_object()) {
    for (const auto& [key, value] : context.items()) globals->vars[key] = Value::from_json(value);
  }
  auto top = std::make_shared<Scope>();  // the template's own `set`s shadow the context
  top->parent = globals;
  std::string out;
  const Flow flow = render_block(program.body, top, out);
  if (flow != Flow::Normal) fail(std::string("{% ") + (flow == Flow::Break ? "break" : "continue") + " %} outside a loop");
  return out;
}

void Renderer::define_globals(Scope& globals) {
  auto native = [&globals](const std::string& name, NativeFunction fn) {
    globals.vars[name] = Value::callable(std::make_shared<Callable>(Callable{name, std::move(fn), nullptr}));
  };
  native("raise_exception", [](const CallArgs& args) -> Value {
    fail("the template raised an error: " + (args.positional.empty() ? std::string() : args.positional[0].str()));
  });
  const std::time_t now = options_.now;
  native("strftime_now", [now](const CallArgs& args) {
    const Value* format = argument(args, 0, "format");
    if (!format || !format->is_string()) fail("strftime_now needs a format string");
    return Value(strftime_english(format->as_string(), now));
  });
  Budget* budget = &budget_;
  native("range", [budget](const CallArgs& args) {
    int64_t start = 0, stop = 0, step = 1;
    for (const Value& v : args.positional) {
      if (!v.is_int() && !v.is_bool()) fail(std::string("range() needs integers, not ") + v.type_name());
    }
    const auto& p = args.positional;
    if (p.size() == 1) stop = p[0].as_int();
    else if (p.size() == 2 || p.size() == 3) start = p[0].as_int(), stop = p[1].as_int(), step = p.size() == 3 ? p[2].as_int() : 1;
    else fail("range() takes 1 to 3 arguments");
    if (step == 0) fail("range() step cannot be zero");
    const double count = std::max(0.0, std::ceil((static_cast<double>(stop) - static_cast<double>(start)) / static_cast<double>(step)));
    budget->list_built(static_cast<size_t>(std::min(count, 1e18)));
    ValueList items;
    for (int64_t i = start; step > 0 ? i < stop : i > stop; i += step) items.emplace_back(i);
    return Value::list(std::move(items));
  });
  native("namespace", [](const CallArgs& args) {
    ValueMap map;
    if (!args.positional.empty()) {
      if (args.positional.size() > 1 || !args.positional[0].is_dict()) fail("namespace() takes a dict and keyword arguments");
      map = args.positional[0].map();
    }
    for (const auto& [key, value] : args.keywords) map.set(key, value);
    return Value::namespace_(std::move(map));
  });
  native("dict", [](const CallArgs& args) {
    ValueMap map;
    if (!args.positional.empty()) {
      if (args.positional.size() > 1 || !args.positional[0].is_dict()) fail("dict() takes a dict and keyword arguments");
      map = args.positional[0].map();
    }
    for (const auto& [key, value] : args.keywords) map.set(key, value);
    return Value::dict(std::move(map));
  });
}

void Renderer::append(std::string& out, const std::string& text) const {
  if (out.size() + text.size() > options_.limits.max_output_bytes) {
    fail("the rendering is over " + std::to_string(options_.limits.max_output_bytes) + " bytes");
  }
  out += text;
}

Renderer::Flow Renderer::render_block(const Body& body, const ScopePtr& scope, std::string& out) {
  DepthGuard guard(depth_, options_.limits.max_depth);
  for (const StmtPtr& s : body) {
    const Flow flow = render_statement(*s, scope, out);
    if (flow != Flow::Normal) return flow;
  }
  return Flow::Normal;
}

Renderer::Flow Renderer::render_statement(const Stmt& s, const ScopePtr& scope, std::string& out) {
  try {
    budget_.step();
    switch (s.kind) {
      case StmtKind::Text: append(out, s.text); break;
      case StmtKind::Output: append(out, eval(*s.expr, scope).str()); break;
      case StmtKind::If: return render_block(eval(*s.expr, scope).truthy() ? s.body : s.else_body, scope, out);
      case StmtKind::For: return render_for(s, scope, out);
      case StmtKind::Set: assign(*s.target, eval(*s.expr, scope), scope); break;
      case StmtKind::SetBlock: {
        std::string captured;
        if (render_block(s.body, scope, captured) != Flow::Normal) fail("break or continue inside {% set %}");
        assign(*s.target, Value(std::move(captured)), scope);
        break;
      }
      case StmtKind::FilterBlock: {
        std::string captured;
        if (render_block(s.body, scope, captured) != Flow::Normal) fail("break or continue inside {% filter %}");
        // The filter chain was parsed with a null innermost operand: the block's text.
        std::vector<const Expr*> chain;
        for (const Expr* f = s.expr.get(); f; f = f->a.get()) chain.push_back(f);
        Value v(std::move(captured));
        for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
          v = apply_filter((*it)->name, v, eval_arguments(**it, scope), budget_);
        }
        append(out, v.str());
        break;
      }
      case StmtKind::Macro: {
        macros_.push_back({&s, scope});
        scope->vars[s.text] = Value::callable(std::make_shared<Callable>(Callable{s.text, nullptr, &macros_.back()}));
        break;
      }
      case StmtKind::Break: return Flow::Break;
      case StmtKind::Continue: return Flow::Continue;
    }
  } catch (const LocatedError&) {
    throw;
  } catch (const Error& e) {
    throw LocatedError(s.line, e.what());
  }
  return Flow::Normal;
}

Renderer::Flow Renderer::render_for(const Stmt& s, const ScopePtr& scope, std::string& out) {
  const Value iterable = eval(*s.expr, scope);
  if (iterable.is_none()) fail("cannot loop over none");
  auto loop_scope = std::make_shared<Scope>();
  loop_scope->parent = scope;
  budget_.scanned(weight(iterable));
  ValueList items = items_of(iterable);
  if (s.condition) {  // `for x in xs if cond`: the loop sees only the items that pass
    ValueList kept;
    for (Value& item : items) {
      budget_.step();
      assign(*s.target, item, loop_scope);
      if (eval(*s.condition, loop_scope).truthy()) kept.push_back(std::move(item));
    }
    items = std::move(kept);
  }
  const int64_t n = static_cast<int64_t>(items.size());
  for (int64_t i = 0; i < n; ++i) {
    budget_.step();
    // The loop variable is updated in place unless the template kept a reference to it.
    Value& loop = loop_scope->vars["loop"];
    if (!loop.unshared_dict()) {
      ValueMap fresh;
      for (const char* key : {"index", "index0", "revindex", "revindex0", "first", "last", "length", "previtem",
                              "nextitem", "depth", "depth0"}) {
        fresh.entries.emplace_back(key, Value());
      }
      loop = Value::dict(std::move(fresh));
    }
    auto& entries = loop.mutable_map().entries;
    entries[0].second = Value(i + 1);
    entries[1].second = Value(i);
    entries[2].second = Value(n - i);
    entries[3].second = Value(n - i - 1);
    entries[4].second = Value(i == 0);
    entries[5].second = Value(i == n - 1);
    entries[6].second = Value(n);
    entries[7].second = i > 0 ? items[static_cast<size_t>(i - 1)] : Value::undefined("loop.previtem");
    entries[8].second = i + 1 < n ? items[static_cast<size_t>(i + 1)] : Value::undefined("loop.nextitem");
    entries[9].second = Value(static_cast<int64_t>(1));
    entries[10].second = Value(static_cast<int64_t>(0));
    // Each iteration starts from the variables outside the loop, as in jinja2: a `set` in the
    // body lasts until the end of its iteration (state that carries over lives in a namespace).
    auto iteration = std::make_shared<Scope>();
    iteration->parent = loop_scope;
    assign(*s.target, items[static_cast<size_t>(i)], iteration);
    if (render_block(s.body, iteration, out) == Flow::Break) break;
  }
  if (n == 0) return render_block(s.else_body, loop_scope, out);
  return Flow::Normal;
}

void Renderer::assign(const Expr& target, Value value, const ScopePtr& scope) {
  if (target.kind == ExprKind::Name) {
    scope->vars[target.name] = std::move(value);
    return;
  }
  if (target.kind == ExprKind::Tuple) {
    const ValueList parts = items_of(value);
    if (parts.size() != target.items.size()) {
      fail("cannot unpack " + std::to_string(parts.size()) + " values into " + std::to_string(target.items.size()) + " names");
    }
    for (size_t i = 0; i < parts.size(); ++i) assign(*target.items[i], parts[i], scope);
    return;
  }
  // ns.attr = value: only namespaces can be changed.
  const Value object = eval(*target.a, scope);
  if (!object.is_namespace()) fail("cannot set an attribute on a " + std::string(object.type_name()) + " (only on a namespace())");
  object.namespace_map().set(target.name, std::move(value));
}

Value Renderer::eval(const Expr& e, const ScopePtr& scope) {
  DepthGuard guard(depth_, options_.limits.max_depth);
  try {
    return eval_node(e, scope);
  } catch (const LocatedError&) {
    throw;
  } catch (const Error& error) {
    throw LocatedError(e.line, error.what());
  }
}

Value Renderer::eval_node(const Expr& e, const ScopePtr& scope) {
  switch (e.kind) {
    case ExprKind::Literal: return e.value;
    case ExprKind::Name: {
      const Value* v = scope->find(e.name);
      return v ? *v : Value::undefined(e.name);
    }
    case ExprKind::List:
    case ExprKind::Tuple: {
      ValueList items;
      for (const ExprPtr& item : e.items) items.push_back(eval(*item, scope));
      return e.kind == ExprKind::Tuple ? Value::tuple(std::move(items)) : Value::list(std::move(items));
    }
    case ExprKind::Dict: {
      ValueMap map;
      for (size_t i = 0; i + 1 < e.items.size(); i += 2) {
        const Value key = eval(*e.items[i], scope);
        if (!key.is_string()) fail(std::string("dict keys must be strings, not ") + key.type_name());
        map.set(key.as_string(), eval(*e.items[i + 1], scope));
      }
      return Value::dict(std::move(map));
    }
    case ExprKind::Attribute: return eval_attribute(eval(*e.a, scope), e.name, e);
    case ExprKind::Subscript: return eval_subscript(eval(*e.a, scope), eval(*e.b, scope), e);
    case ExprKind::Slice: return eval_slice(e, scope);
    case ExprKind::Call: return eval_call(e, scope);
    case ExprKind::Filter: {
      const Value operand = eval(*e.a, scope);
      budget_.scanned(weight(operand));
      return apply_filter(e.name, operand, eval_arguments(e, scope), budget_);
    }
    case ExprKind::Test: {
      if (!has_test(e.name)) fail("unknown test '" + e.name + "'");
      const Value operand = eval(*e.a, scope);
      const CallArgs args = eval_arguments(e, scope);
      if (!args.positional.empty()) budget_.scanned(weight(args.positional[0]));
      return Value(apply_test(e.name, operand, args) != e.negated);
    }
    case ExprKind::Unary: {
      const Value v = eval(*e.a, scope);
      if (e.name == "not") return Value(!v.truthy());
      if (v.is_undefined()) undefined_error(v);
      if (!v.is_number()) fail("bad operand type for unary " + e.name + ": " + v.type_name());
      if (e.name == "+") return v.is_float() ? v : Value(v.as_int());
      if (v.is_float()) return Value(-v.as_float());
      return Value(subtract(0, v.as_int()));
    }
    case ExprKind::Binary: return eval_binary(e, scope);
    case ExprKind::Compare: return eval_compare(e, scope);
    case ExprKind::Conditional:
      if (eval(*e.b, scope).truthy()) return eval(*e.a, scope);
      return e.c ? eval(*e.c, scope) : Value::undefined("the else of an if expression");
  }
  return Value();
}

// jinja2's getattr: a dict's key or a namespace's attribute; anything else has none.
Value Renderer::eval_attribute(const Value& object, const std::string& name, const Expr&) {
  if (object.is_undefined()) undefined_error(object);
  if (object.is_dict() || object.is_namespace()) {
    const Value* v = object.map().find(name);
    return v ? *v : Value::undefined(name);
  }
  return Value::undefined(name);
}

// jinja2's getitem: dict keys, list and string indexes (negative from the end).
Value Renderer::eval_subscript(const Value& object, const Value& key, const Expr&) {
  if (object.is_undefined()) undefined_error(object);
  if ((object.is_dict() || object.is_namespace()) && key.is_string()) {
    const Value* v = object.map().find(key.as_string());
    return v ? *v : Value::undefined(key.as_string());
  }
  if ((object.is_list() || object.is_string()) && (key.is_int() || key.is_bool())) {
    if (object.is_string()) budget_.scanned(object.as_string().size());
    std::vector<std::string> cpts;
    if (object.is_string()) cpts = code_points(object.as_string());
    const int64_t size = static_cast<int64_t>(object.is_list() ? object.items().size() : cpts.size());
    int64_t i = key.as_int();
    if (i < 0) i += size;
    if (i < 0 || i >= size) return Value::undefined("index " + std::to_string(key.as_int()) + " (out of range)");
    return object.is_list() ? object.items()[static_cast<size_t>(i)] : Value(cpts[static_cast<size_t>(i)]);
  }
  return Value::undefined(key.str());
}

Value Renderer::eval_slice(const Expr& e, const ScopePtr& scope) {
  const Value object = eval(*e.items[0], scope);
  Value bounds[3];
  for (int i = 0; i < 3; ++i) {
    if (e.items[static_cast<size_t>(i) + 1]) bounds[i] = eval(*e.items[static_cast<size_t>(i) + 1], scope);
  }
  if (object.is_undefined()) undefined_error(object);
  budget_.scanned(weight(object));
  if (object.is_list()) {
    ValueList out;
    for (size_t i : slice_indices(object.items().size(), bounds[0], bounds[1], bounds[2])) out.push_back(object.items()[i]);
    return Value::list(std::move(out));
  }
  if (object.is_string()) {
    const std::vector<std::string> cpts = code_points(object.as_string());
    std::string out;
    for (size_t i : slice_indices(cpts.size(), bounds[0], bounds[1], bounds[2])) out += cpts[i];
    return Value(out);
  }
  fail(std::string("cannot slice a ") + object.type_name());
}

Value Renderer::eval_binary(const Expr& e, const ScopePtr& scope) {
  const std::string& op = e.name;
  const Value a = eval(*e.a, scope);
  if (op == "and") return a.truthy() ? eval(*e.b, scope) : a;
  if (op == "or") return a.truthy() ? a : eval(*e.b, scope);
  const Value b = eval(*e.b, scope);
  if (op == "~") {
    std::string s = a.str() + b.str();
    budget_.string_built(s.size());
    return Value(std::move(s));
  }
  if (a.is_undefined()) undefined_error(a);
  if (b.is_undefined()) undefined_error(b);
  auto unsupported = [&]() -> Value {
    fail("unsupported operand types for " + op + ": '" + a.type_name() + "' and '" + b.type_name() + "'");
  };
  if (a.is_number() && b.is_number()) {
    const bool real = a.is_float() || b.is_float();
    const double x = a.as_float(), y = b.as_float();
    const int64_t i = a.as_int(), j = b.as_int();
    if (op == "+") return real ? Value(x + y) : Value(add(i, j));
    if (op == "-") return real ? Value(x - y) : Value(subtract(i, j));
    if (op == "*") return real ? Value(x * y) : Value(multiply(i, j));
    if (op == "/") {
      if (y == 0.0) fail("division by zero");
      return Value(x / y);
    }
    if (op == "//") {
      if (!real) return Value(floor_div(i, j));
      if (y == 0.0) fail("division by zero");
      return Value(std::floor(x / y));
    }
    if (op == "%") {
      if (!real) return Value(floor_mod(i, j));
      if (y == 0.0) fail("modulo by zero");
      const double m = std::fmod(x, y);
      return Value(m != 0.0 && ((m < 0) != (y < 0)) ? m + y : m);
    }
    if (op == "**") {
      if (!real && j >= 0) {
        int64_t result = 1, base = i;
        for (int64_t k = j; k > 0; k >>= 1) {
          if (k & 1) result = multiply(result, base);
          if (k > 1) base = multiply(base, base);
        }
        return Value(result);
      }
      if (x == 0.0 && y < 0) fail("zero cannot be raised to a negative power");
      return Value(std::pow(x, y));
    }
    return unsupported();
  }
  if (op == "+") {
    if (a.is_string() && b.is_string()) {
      budget_.string_built(a.as_string().size() + b.as_string().size());
      return Value(a.as_string() + b.as_string());
    }
    if (a.is_list() && b.is_list()) {
      budget_.list_built(a.items().size() + b.items().size());
      ValueList items = a.items();
      items.insert(items.end(), b.items().begin(), b.items().end());
      return Value::list(std::move(items));
    }
    return unsupported();
  }
  if (op == "*" && (a.is_string() || a.is_list() || b.is_string() || b.is_list())) {
    const Value& seq = a.is_number() ? b : a;
    const Value& count = a.is_number() ? a : b;
    if (!count.is_int() && !count.is_bool()) return unsupported();
    const int64_t n = std::max<int64_t>(0, count.as_int());
    if (seq.is_string()) {
      const size_t size = seq.as_string().size();
      if (size && static_cast<uint64_t>(n) > options_.limits.max_output_bytes / size) budget_.string_built(options_.limits.max_output_bytes + 1);
      budget_.string_built(size * static_cast<size_t>(n));
      std::string out;
      for (int64_t k = 0; k < n; ++k) out += seq.as_string();
      return Value(std::move(out));
    }
    const size_t size = seq.items().size();
    if (size && static_cast<uint64_t>(n) > options_.limits.max_list_items / size) budget_.list_built(options_.limits.max_list_items + 1);
    budget_.list_built(size * static_cast<size_t>(n));
    ValueList items;
    for (int64_t k = 0; k < n; ++k) items.insert(items.end(), seq.items().begin(), seq.items().end());
    return Value::list(std::move(items));
  }
  return unsupported();
}

Value Renderer::eval_compare(const Expr& e, const ScopePtr& scope) {
  Value left = eval(*e.a, scope);
  for (size_t k = 0; k < e.ops.size(); ++k) {
    Value right = eval(*e.items[k], scope);
    budget_.scanned(weight(left) + weight(right));
    const std::string& op = e.ops[k];
    bool result = false;
    if (op == "==") result = equal(left, right);
    else if (op == "!=") result = !equal(left, right);
    else if (op == "in" || op == "not in") {
      if (right.is_string()) {
        if (!left.is_string()) fail(std::string("'in <string>' needs a string on the left, not ") + left.type_name());
        result = right.as_string().find(left.as_string()) != std::string::npos;
      } else if (right.is_list()) {
        result = std::any_of(right.items().begin(), right.items().end(), [&](const Value& x) { return equal(x, left); });
      } else if (right.is_dict()) {
        result = left.is_string() && right.map().find(left.as_string()) != nullptr;
      } else if (!right.is_undefined()) {
        fail(std::string("a value of type ") + right.type_name() + " is not iterable");
      }
      if (op == "not in") result = !result;
    } else {
      if (left.is_undefined()) undefined_error(left);
      if (right.is_undefined()) undefined_error(right);
      if (op == "<") result = less(left, right);
      else if (op == ">") result = less(right, left);
      else if (op == "<=") result = !less(right, left);
      else result = !less(left, right);  // >=
    }
    if (!result) return Value(false);
    left = std::move(right);
  }
  return Value(true);
}

CallArgs Renderer::eval_arguments(const Expr& e, const ScopePtr& scope) {
  CallArgs args;
  args.line = e.line;
  for (const ExprPtr& item : e.items) args.positional.push_back(eval(*item, scope));
  for (const auto& [key, value] : e.keywords) args.keywords.emplace_back(key, eval(*value, scope));
  return args;
}

Value Renderer::eval_call(const Expr& e, const ScopePtr& scope) {
  Value callee;
  if (e.a->kind == ExprKind::Attribute) {
    // x.method(...): the methods of strings and dicts first, as Python's getattr finds them.
    const Value object = eval(*e.a->a, scope);
    if (object.is_undefined()) undefined_error(object);
    const CallArgs args = eval_arguments(e, scope);
    budget_.scanned(weight(object));
    if (std::optional<Value> result = call_method(object, e.a->name, args, budget_)) return *result;
    callee = eval_attribute(object, e.a->name, *e.a);
    if (!callee.is_callable()) fail(std::string("'") + object.type_name() + "' object has no method '" + e.a->name + "'");
    return callee.function().macro ? call_macro(*static_cast<const Macro*>(callee.function().macro), args)
                                   : callee.function().native(args);
  }
  callee = eval(*e.a, scope);
  if (callee.is_undefined()) undefined_error(callee);
  if (!callee.is_callable()) fail(std::string("a ") + callee.type_name() + " is not callable");
  const CallArgs args = eval_arguments(e, scope);
  budget_.step();
  if (callee.function().macro) return call_macro(*static_cast<const Macro*>(callee.function().macro), args);
  return callee.function().native(args);
}

Value Renderer::call_macro(const Macro& macro, const CallArgs& args) {
  DepthGuard guard(depth_, options_.limits.max_depth);
  const Stmt& s = *macro.stmt;
  const auto& params = s.params;
  if (args.positional.size() > params.size()) {
    fail("macro '" + s.text + "' takes at most " + std::to_string(params.size()) + " arguments, " +
         std::to_string(args.positional.size()) + " given");
  }
  for (const auto& [key, value] : args.keywords) {
    if (std::none_of(params.begin(), params.end(), [&](const auto& p) { return p.first == key; })) {
      fail("macro '" + s.text + "' has no parameter '" + key + "'");
    }
  }
  auto call_scope = std::make_shared<Scope>();
  call_scope->parent = macro.closure;
  for (size_t i = 0; i < params.size(); ++i) {
    const std::string& name = params[i].first;
    if (i < args.positional.size()) {
      call_scope->vars[name] = args.positional[i];
    } else if (const Value* v = args.keyword(name)) {
      call_scope->vars[name] = *v;
    } else if (params[i].second) {
      call_scope->vars[name] = eval(*params[i].second, call_scope);
    } else {
      call_scope->vars[name] = Value::undefined(name);
    }
  }
  std::string out;
  if (render_block(s.body, call_scope, out) != Flow::Normal) fail("break or continue outside a loop in macro '" + s.text + "'");
  budget_.string_built(out.size());
  return Value(std::move(out));
}

}  // namespace archscope::jinja
