// The values a chat template computes with, as Python's jinja2 sees them: undefined, none,
// booleans, integers, floats, strings, lists, dicts (keys in insertion order), namespaces
// (the one mutable object) and callables (macros and built-in functions).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json.hpp>

namespace archscope::jinja {

class Value;
using ValueList = std::vector<Value>;

// A dict or a namespace: string keys in the order they were first set.
struct ValueMap {
  std::vector<std::pair<std::string, Value>> entries;

  const Value* find(std::string_view key) const;
  void set(const std::string& key, Value value);
};

// What a call receives: positional arguments, then keyword arguments in call order.
struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keywords;
  int line = 0;  // of the call, for error messages

  const Value* keyword(std::string_view name) const;
};

struct Callable;

class Value {
 public:
  enum class Type { Undefined, None, Bool, Int, Float, String, List, Dict, Namespace, Callable };

  Value() = default;  // undefined
  static Value undefined(std::string hint = {});  // hint: what was looked up, for "'x' is undefined"
  static Value none();
  Value(bool b);
  Value(int64_t i);
  Value(int i) : Value(static_cast<int64_t>(i)) {}
  Value(double f);
  Value(std::string s);
  Value(const char* s) : Value(std::string(s)) {}
  static Value list(ValueList items);
  static Value tuple(ValueList items);  // a list that prints as (a, b) and is never == a list
  static Value dict(ValueMap map);
  static Value namespace_(ValueMap map);
  static Value callable(std::shared_ptr<const Callable> fn);
  // JSON data (the context: messages, tools, flags); object keys keep their order.
  static Value from_json(const nlohmann::ordered_json& json, int depth = 0);  // throws past 512 levels

  Type type() const { return type_; }
  bool is_undefined() const { return type_ == Type::Undefined; }
  bool is_none() const { return type_ == Type::None; }
  bool is_bool() const { return type_ == Type::Bool; }
  bool is_int() const { return type_ == Type::Int; }
  bool is_float() const { return type_ == Type::Float; }
  bool is_number() const { return type_ == Type::Int || type_ == Type::Float || type_ == Type::Bool; }
  bool is_string() const { return type_ == Type::String; }
  bool is_list() const { return type_ == Type::List; }  // lists and tuples
  bool is_tuple() const { return type_ == Type::List && tuple_; }
  bool is_dict() const { return type_ == Type::Dict; }
  bool is_namespace() const { return type_ == Type::Namespace; }
  bool is_callable() const { return type_ == Type::Callable; }

  bool as_bool() const { return b_; }
  int64_t as_int() const { return type_ == Type::Bool ? (b_ ? 1 : 0) : i_; }
  double as_float() const { return type_ == Type::Float ? f_ : static_cast<double>(as_int()); }
  const std::string& as_string() const { return s_ ? *s_ : empty_string(); }  // the string, or the undefined hint
  const ValueList& items() const { return *list_; }
  const ValueMap& map() const { return *map_; }    // dicts and namespaces
  ValueMap& namespace_map() const { return *map_; }  // namespaces only: `set ns.x = ...`
  const Callable& function() const { return *fn_; }
  bool same_object(const Value& other) const;  // Python's `is`, for namespaces and callables
  // A dict no other value shares: the renderer may update it in place (the loop variable).
  bool unshared_dict() const { return type_ == Type::Dict && map_.use_count() == 1; }
  ValueMap& mutable_map() const { return *map_; }

  // Python's truth value: empty strings, lists and dicts, 0, none and undefined are false.
  bool truthy() const;
  // Python's str(): what {{ value }} prints (undefined prints nothing, none prints "None").
  std::string str() const;
  // Python's repr(), used for strings inside lists and dicts.
  std::string repr() const;
  const char* type_name() const;  // Python's name: "str", "int", "list", "dict", ...

 private:
  Type type_ = Type::Undefined;
  bool b_ = false;
  bool tuple_ = false;
  int64_t i_ = 0;
  double f_ = 0.0;
  std::shared_ptr<const std::string> s_;  // shared: copying a value never copies its text
  static const std::string& empty_string();
  std::shared_ptr<const ValueList> list_;
  std::shared_ptr<ValueMap> map_;
  std::shared_ptr<const Callable> fn_;
};

// A built-in function or a macro. Macros are called by the renderer, which knows their body.
using NativeFunction = std::function<Value(const CallArgs&)>;
struct Callable {
  std::string name;
  NativeFunction native;        // set for built-in functions
  const void* macro = nullptr;  // set for macros: the renderer's macro record
};

// Python's ==: numbers across int, float and bool, lists and dicts element by element.
bool equal(const Value& a, const Value& b);
// Python's <, for numbers, strings and lists; throws archscope::Error for other pairs.
bool less(const Value& a, const Value& b);

// Python's float repr: the shortest text that reads back the same ("0.1", "1e-05", "2.0").
std::string format_float(double value);

struct JsonOptions {
  int indent = -1;              // < 0: one line
  std::string indent_text;      // set when the indent was given as a string
  bool ensure_ascii = false;    // transformers' tojson default: keep UTF-8 as it is
  std::string item_separator;   // "" means Python's default (", ", or "," with an indent)
  std::string key_separator;    // "" means ": "
  bool sort_keys = false;
};
// json.dumps as transformers' tojson filter calls it; throws archscope::Error for
// undefined, namespaces and callables (Python cannot serialise them either).
std::string to_json(const Value& value, const JsonOptions& options);

}  // namespace archscope::jinja
