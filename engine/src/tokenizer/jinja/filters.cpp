// jinja2's built-in filters and tests (filters.py, tests.py) that chat templates use, with
// transformers' tojson (ensure_ascii off by default) and llama.cpp's from_json.
#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "archscope/error.h"
#include "tokenizer/jinja/builtins.h"

namespace archscope::jinja {
namespace {

[[noreturn]] void fail(const std::string& message) { throw Error(message); }

bool flag(const CallArgs& args, size_t index, const char* name, bool fallback = false) {
  const Value* v = argument(args, index, name);
  return v ? v->truthy() : fallback;
}

// The items a filter iterates: a list, a string's code points, a dict's keys; undefined is empty.
ValueList iterate(const Value& value, const std::string& filter) {
  if (value.is_list()) return value.items();
  if (value.is_undefined()) return {};
  if (value.is_string()) {
    ValueList out;
    for (std::string& c : code_points(value.as_string())) out.emplace_back(std::move(c));
    return out;
  }
  if (value.is_dict()) {
    ValueList out;
    for (const auto& entry : value.map().entries) out.emplace_back(entry.first);
    return out;
  }
  fail(filter + ": a value of type " + value.type_name() + " is not iterable");
}

// environment.getitem for "a.b.0" attribute paths (map, selectattr, sort, ...).
Value attribute_path(const Value& item, const std::string& path) {
  Value v = item;
  size_t pos = 0;
  while (pos <= path.size()) {
    const size_t dot = path.find('.', pos);
    const std::string part = path.substr(pos, dot == std::string::npos ? std::string::npos : dot - pos);
    if (v.is_dict() || v.is_namespace()) {
      const Value* found = v.map().find(part);
      v = found ? *found : Value::undefined(part);
    } else if (v.is_list() && !part.empty() && std::all_of(part.begin(), part.end(), ::isdigit)) {
      const size_t i = std::strtoull(part.c_str(), nullptr, 10);
      v = i < v.items().size() ? v.items()[i] : Value::undefined(part);
    } else {
      return Value::undefined(part);
    }
    if (dot == std::string::npos) break;
    pos = dot + 1;
  }
  return v;
}

// Sort keys: strings lowered unless case_sensitive.
Value sort_key(const Value& v, bool case_sensitive) {
  if (!case_sensitive && v.is_string()) return Value(ascii_lower(v.as_string()));
  return v;
}

std::string indent(const std::string& s, const CallArgs& args) {
  const Value* width = argument(args, 0, "width");
  std::string unit = "    ";
  if (width && width->is_string()) unit = width->as_string();
  else if (width && width->is_number()) unit = std::string(static_cast<size_t>(std::clamp<int64_t>(width->as_int(), 0, 1024)), ' ');
  const bool first = flag(args, 1, "first"), blank = flag(args, 2, "blank");
  std::vector<std::string> lines;
  size_t pos = 0;
  while (true) {
    const size_t nl = s.find('\n', pos);
    lines.push_back(s.substr(pos, nl == std::string::npos ? std::string::npos : nl - pos));
    if (nl == std::string::npos) break;
    pos = nl + 1;
  }
  if (lines.size() > 1 && lines.back().empty()) lines.pop_back();  // splitlines drops a final ""
  std::string out;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (i) out += '\n';
    if ((i > 0 || first) && (blank || !lines[i].empty())) out += unit;
    out += lines[i];
  }
  if (lines.size() == 1 && first && !blank && lines[0].empty()) out = unit;  // jinja2 indents a lone empty first line
  return out;
}

Value to_int(const Value& v, const Value& fallback) {
  if (v.is_number()) return Value(v.is_float() ? static_cast<int64_t>(std::trunc(v.as_float())) : v.as_int());
  if (!v.is_string()) return fallback;
  const std::string s = strip(v.as_string(), true, true);
  char* end = nullptr;
  errno = 0;
  const long long i = std::strtoll(s.c_str(), &end, 10);
  if (!s.empty() && end == s.c_str() + s.size() && errno == 0) return Value(static_cast<int64_t>(i));
  const double f = std::strtod(s.c_str(), &end);
  if (!s.empty() && end == s.c_str() + s.size() && std::isfinite(f) && std::fabs(f) < 9.2e18) {
    return Value(static_cast<int64_t>(std::trunc(f)));
  }
  return fallback;
}

Value to_float(const Value& v, const Value& fallback) {
  if (v.is_number()) return Value(v.as_float());
  if (!v.is_string()) return fallback;
  const std::string s = strip(v.as_string(), true, true);
  char* end = nullptr;
  const double f = std::strtod(s.c_str(), &end);
  return !s.empty() && end == s.c_str() + s.size() ? Value(f) : fallback;
}

// Tool-call arguments are small; a cap keeps a hostile text from costing quadratic time.
Value from_json_text(const std::string& text) {
  if (text.size() > 64 * 1024) fail("from_json: the text is over 64 KiB");
  nlohmann::ordered_json json = nlohmann::ordered_json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded()) fail("from_json: the text is not JSON");
  return Value::from_json(json);
}

Value tojson(const Value& v, const CallArgs& args, Budget& budget) {
  JsonOptions options;
  options.ensure_ascii = flag(args, 0, "ensure_ascii");
  if (const Value* indent_arg = argument(args, 1, "indent"); indent_arg && !indent_arg->is_none()) {
    if (indent_arg->is_string()) options.indent_text = indent_arg->as_string();
    else if (indent_arg->is_number()) options.indent = static_cast<int>(std::clamp<int64_t>(indent_arg->as_int(), 0, 64));
    else fail("tojson: indent must be a number or a string");
    if (options.indent_text.empty() && options.indent < 0) options.indent = 0;
  }
  if (const Value* separators = argument(args, 2, "separators"); separators && !separators->is_none()) {
    if (!separators->is_list() || separators->items().size() != 2 || !separators->items()[0].is_string() ||
        !separators->items()[1].is_string()) {
      fail("tojson: separators must be a pair of strings");
    }
    options.item_separator = separators->items()[0].as_string();
    options.key_separator = separators->items()[1].as_string();
    if (options.item_separator.empty() || options.key_separator.empty()) fail("tojson: empty separators are not supported");
  }
  options.sort_keys = flag(args, 3, "sort_keys");
  std::string out = to_json(v, options);
  budget.string_built(out.size());
  return Value(std::move(out));
}

Value dictsort(const Value& v, const CallArgs& args) {
  if (!v.is_dict()) fail(std::string("dictsort needs a dict, not ") + v.type_name());
  const bool case_sensitive = flag(args, 0, "case_sensitive");
  const Value* by = argument(args, 1, "by");
  const bool by_value = by && by->is_string() && by->as_string() == "value";
  if (by && !(by->is_string() && (by->as_string() == "key" || by->as_string() == "value"))) {
    fail("dictsort: 'by' must be 'key' or 'value'");
  }
  const bool reverse = flag(args, 2, "reverse");
  ValueList pairs;
  for (const auto& [key, value] : v.map().entries) pairs.push_back(Value::tuple({Value(key), value}));
  std::stable_sort(pairs.begin(), pairs.end(), [&](const Value& a, const Value& b) {
    const Value ka = sort_key(a.items()[by_value ? 1 : 0], case_sensitive);
    const Value kb = sort_key(b.items()[by_value ? 1 : 0], case_sensitive);
    return reverse ? less(kb, ka) : less(ka, kb);
  });
  return Value::list(std::move(pairs));
}

Value sort(const Value& v, const CallArgs& args) {
  ValueList items = iterate(v, "sort");
  const bool reverse = flag(args, 0, "reverse"), case_sensitive = flag(args, 1, "case_sensitive");
  const Value* attribute = argument(args, 2, "attribute");
  auto key = [&](const Value& item) {
    return sort_key(attribute && !attribute->is_none() ? attribute_path(item, attribute->str()) : item, case_sensitive);
  };
  std::stable_sort(items.begin(), items.end(), [&](const Value& a, const Value& b) {
    return reverse ? less(key(b), key(a)) : less(key(a), key(b));
  });
  return Value::list(std::move(items));
}

// select / reject (item passes a test), selectattr / rejectattr (an attribute passes it).
Value select(const std::string& name, const Value& v, const CallArgs& args) {
  const bool on_attribute = name == "selectattr" || name == "rejectattr";
  const bool keep = name == "select" || name == "selectattr";
  size_t next = 0;
  std::string attribute;
  if (on_attribute) {
    if (args.positional.empty() || !args.positional[0].is_string()) fail(name + " needs an attribute name");
    attribute = args.positional[next++].as_string();
  }
  std::string test;
  CallArgs test_args;
  if (next < args.positional.size()) {
    if (!args.positional[next].is_string()) fail(name + ": the test must be named by a string");
    test = args.positional[next++].as_string();
    if (!has_test(test)) fail(name + ": unknown test '" + test + "'");
    test_args.positional.assign(args.positional.begin() + static_cast<std::ptrdiff_t>(next), args.positional.end());
  }
  ValueList out;
  if (!v.truthy()) return Value::list({});  // jinja2 selects nothing from none or an empty value
  for (const Value& item : iterate(v, name)) {
    const Value subject = on_attribute ? attribute_path(item, attribute) : item;
    const bool passes = test.empty() ? subject.truthy() : apply_test(test, subject, test_args);
    if (passes == keep) out.push_back(item);
  }
  return Value::list(std::move(out));
}

Value map(const Value& v, const CallArgs& args, Budget& budget) {
  ValueList out;
  if (!v.truthy()) return Value::list({});  // as jinja2: none maps to nothing
  if (const Value* attribute = args.keyword("attribute")) {
    const Value* fallback = args.keyword("default");
    for (const Value& item : iterate(v, "map")) {
      Value x = attribute_path(item, attribute->str());
      out.push_back(x.is_undefined() && fallback ? *fallback : x);
    }
    return Value::list(std::move(out));
  }
  if (args.positional.empty() || !args.positional[0].is_string()) fail("map needs a filter name or attribute=");
  const std::string filter = args.positional[0].as_string();
  CallArgs rest;
  rest.positional.assign(args.positional.begin() + 1, args.positional.end());
  rest.keywords = args.keywords;
  for (const Value& item : iterate(v, "map")) out.push_back(apply_filter(filter, item, rest, budget));
  return Value::list(std::move(out));
}

Value min_max(bool want_max, const Value& v, const CallArgs& args) {
  const ValueList items = iterate(v, want_max ? "max" : "min");
  if (items.empty()) return Value::undefined("the " + std::string(want_max ? "max" : "min") + " of an empty sequence");
  const bool case_sensitive = flag(args, 0, "case_sensitive");
  const Value* attribute = argument(args, 1, "attribute");
  auto key = [&](const Value& item) {
    return sort_key(attribute && !attribute->is_none() ? attribute_path(item, attribute->str()) : item, case_sensitive);
  };
  const Value* best = &items[0];
  for (const Value& item : items) {
    if (want_max ? less(key(*best), key(item)) : less(key(item), key(*best))) best = &item;
  }
  return *best;
}

std::string jinja_title(const std::string& s) {
  // jinja2's title: words start after "-", whitespace and opening brackets.
  std::string out;
  bool start = true;
  for (const char c : s) {
    const bool separator = c == '-' || c == '(' || c == '{' || c == '[' || c == '<' ||
                           std::isspace(static_cast<unsigned char>(c));
    if (separator) {
      out += c;
      start = true;
    } else {
      out += start ? ascii_upper(std::string(1, c)) : ascii_lower(std::string(1, c));
      start = false;
    }
  }
  return out;
}

}  // namespace

Value apply_filter(const std::string& name, const Value& v, const CallArgs& args, Budget& budget) {
  if (name == "trim") {
    const Value* chars = argument(args, 0, "chars");
    return Value(strip(v.str(), true, true, chars && chars->is_string() ? std::optional(chars->as_string()) : std::nullopt));
  }
  if (name == "length" || name == "count") {
    if (v.is_string()) return Value(static_cast<int64_t>(code_point_count(v.as_string())));
    if (v.is_list()) return Value(static_cast<int64_t>(v.items().size()));
    if (v.is_dict()) return Value(static_cast<int64_t>(v.map().entries.size()));
    if (v.is_undefined()) return Value(static_cast<int64_t>(0));
    fail(std::string("length: a value of type ") + v.type_name() + " has no length");
  }
  if (name == "default" || name == "d") {
    const Value* fallback = argument(args, 0, "default_value");
    const bool boolean = flag(args, 1, "boolean");
    if (v.is_undefined() || (boolean && !v.truthy())) return fallback ? *fallback : Value("");
    return v;
  }
  if (name == "upper") return Value(ascii_upper(v.str()));
  if (name == "lower") return Value(ascii_lower(v.str()));
  if (name == "capitalize") {
    std::string s = ascii_lower(v.str());
    if (!s.empty()) s[0] = ascii_upper(s.substr(0, 1))[0];
    return Value(s);
  }
  if (name == "title") return Value(jinja_title(v.str()));
  if (name == "tojson") return tojson(v, args, budget);
  if (name == "from_json") {
    if (!v.is_string()) fail(std::string("from_json needs a string, not ") + v.type_name());
    return from_json_text(v.as_string());
  }
  if (name == "items") {
    if (v.is_undefined()) return Value::list({});
    if (!v.is_dict()) fail(std::string("items needs a dict, not ") + v.type_name());
    ValueList pairs;
    for (const auto& [key, value] : v.map().entries) pairs.push_back(Value::tuple({Value(key), value}));
    return Value::list(std::move(pairs));
  }
  if (name == "dictsort") return dictsort(v, args);
  if (name == "join") {
    const Value* sep = argument(args, 0, "d");
    const Value* attribute = argument(args, 1, "attribute");
    const std::string separator = sep ? sep->str() : "";
    std::string out;
    bool first = true;
    for (const Value& item : iterate(v, "join")) {
      if (!first) out += separator;
      first = false;
      out += (attribute && !attribute->is_none() ? attribute_path(item, attribute->str()) : item).str();
      budget.string_built(out.size());
    }
    return Value(out);
  }
  if (name == "list") return Value::list(iterate(v, "list"));
  if (name == "first" || name == "last") {
    const ValueList items = iterate(v, name);
    if (items.empty()) return Value::undefined("the " + name + " item of an empty sequence");
    return name == "first" ? items.front() : items.back();
  }
  if (name == "reverse") {
    if (v.is_string()) {
      std::vector<std::string> cpts = code_points(v.as_string());
      std::string out;
      for (auto it = cpts.rbegin(); it != cpts.rend(); ++it) out += *it;
      return Value(out);
    }
    ValueList items = iterate(v, "reverse");
    std::reverse(items.begin(), items.end());
    return Value::list(std::move(items));
  }
  if (name == "sort") return sort(v, args);
  if (name == "unique") {
    const bool case_sensitive = flag(args, 0, "case_sensitive");
    const Value* attribute = argument(args, 1, "attribute");
    ValueList out, seen;
    for (const Value& item : iterate(v, "unique")) {
      const Value key = sort_key(attribute && !attribute->is_none() ? attribute_path(item, attribute->str()) : item, case_sensitive);
      if (std::none_of(seen.begin(), seen.end(), [&](const Value& s) { return equal(s, key); })) {
        seen.push_back(key);
        out.push_back(item);
      }
    }
    return Value::list(std::move(out));
  }
  if (name == "select" || name == "reject" || name == "selectattr" || name == "rejectattr") return select(name, v, args);
  if (name == "map") return map(v, args, budget);
  if (name == "min" || name == "max") return min_max(name == "max", v, args);
  if (name == "sum") {
    const Value* attribute = argument(args, 0, "attribute");
    const Value* start = argument(args, 1, "start");
    Value total = start ? *start : Value(static_cast<int64_t>(0));
    for (const Value& item : iterate(v, "sum")) {
      const Value x = attribute && !attribute->is_none() ? attribute_path(item, attribute->str()) : item;
      if (!x.is_number() || !total.is_number()) fail(std::string("sum: cannot add ") + x.type_name());
      if (x.is_float() || total.is_float()) total = Value(total.as_float() + x.as_float());
      else total = Value(total.as_int() + x.as_int());
    }
    return total;
  }
  if (name == "abs") {
    if (v.is_float()) return Value(std::fabs(v.as_float()));
    if (v.is_number()) return Value(v.as_int() < 0 ? -v.as_int() : v.as_int());
    fail(std::string("abs needs a number, not ") + v.type_name());
  }
  if (name == "round") {
    if (!v.is_number()) fail(std::string("round needs a number, not ") + v.type_name());
    const Value* precision = argument(args, 0, "precision");
    const Value* method = argument(args, 1, "method");
    const double scale = std::pow(10.0, precision && precision->is_number() ? static_cast<double>(std::clamp<int64_t>(precision->as_int(), -300, 300)) : 0.0);
    const std::string how = method ? method->str() : "common";
    const double x = v.as_float() * scale;
    const double r = how == "floor" ? std::floor(x) : how == "ceil" ? std::ceil(x) : std::round(x);
    return Value(r / scale);
  }
  if (name == "int") {
    const Value* fallback = argument(args, 0, "default");
    return to_int(v, fallback ? *fallback : Value(static_cast<int64_t>(0)));
  }
  if (name == "float") {
    const Value* fallback = argument(args, 0, "default");
    return to_float(v, fallback ? *fallback : Value(0.0));
  }
  if (name == "string") return Value(v.str());
  if (name == "bool") return Value(v.truthy());
  if (name == "safe") return v;
  if (name == "escape" || name == "e" || name == "forceescape") {
    std::string out;
    for (const char c : v.str()) {
      switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&#34;"; break;
        case '\'': out += "&#39;"; break;
        default: out += c;
      }
    }
    budget.string_built(out.size());
    return Value(out);
  }
  if (name == "replace") {
    CallArgs method_args = args;
    return *call_method(Value(v.str()), "replace", method_args, budget);
  }
  if (name == "indent") {
    std::string out = indent(v.str(), args);
    budget.string_built(out.size());
    return Value(out);
  }
  if (name == "wordcount") {
    int64_t words = 0;
    bool in_word = false;
    for (const std::string& c : code_points(v.str())) {
      const bool space = is_python_space(c);
      if (!space && !in_word) ++words;
      in_word = !space;
    }
    return Value(words);
  }
  fail("unknown filter '" + name + "'");
}

namespace {

const char* const kTests[] = {"defined", "undefined", "none",    "boolean",  "true",   "false",   "integer",
                              "float",   "number",    "string",  "mapping",  "iterable", "sequence", "callable",
                              "odd",     "even",      "divisibleby", "eq",   "equalto", "==",     "ne",
                              "!=",      "lt",        "<",       "le",       "<=",     "gt",      ">",
                              "ge",      ">=",        "in",      "lower",    "upper",  "sameas",  "escaped"};

const Value& test_argument(const std::string& name, const CallArgs& args) {
  if (args.positional.empty()) fail("test '" + name + "' needs an argument");
  return args.positional[0];
}

}  // namespace

bool has_test(const std::string& name) {
  return std::find(std::begin(kTests), std::end(kTests), name) != std::end(kTests);
}

bool apply_test(const std::string& name, const Value& v, const CallArgs& args) {
  if (name == "defined") return !v.is_undefined();
  if (name == "undefined") return v.is_undefined();
  if (name == "none") return v.is_none();
  if (name == "boolean") return v.is_bool();
  if (name == "true") return v.is_bool() && v.as_bool();
  if (name == "false") return v.is_bool() && !v.as_bool();
  if (name == "integer") return v.is_int();
  if (name == "float") return v.is_float();
  if (name == "number") return v.is_number();
  if (name == "string") return v.is_string();
  if (name == "mapping") return v.is_dict();
  // Python's iter() and len()/[] work on undefined too (it is an empty sequence).
  if (name == "iterable" || name == "sequence") return v.is_string() || v.is_list() || v.is_dict() || v.is_undefined();
  if (name == "callable") return v.is_callable();
  if (name == "odd" || name == "even") {  // Python: value % 2 == 1 (odd) or == 0 (even), floats too
    if (!v.is_number()) fail("test '" + name + "' needs a number, not " + v.type_name());
    const double r = v.is_float() ? std::fmod(std::fmod(v.as_float(), 2.0) + 2.0, 2.0) : static_cast<double>(((v.as_int() % 2) + 2) % 2);
    return name == "odd" ? r == 1.0 : r == 0.0;
  }
  if (name == "divisibleby") {
    const Value& n = test_argument(name, args);
    if (!v.is_number() || !n.is_number()) fail("divisibleby needs numbers");
    if (n.as_int() == 0) fail("divisibleby 0");
    return v.as_int() % n.as_int() == 0;
  }
  if (name == "eq" || name == "equalto" || name == "==") return equal(v, test_argument(name, args));
  if (name == "ne" || name == "!=") return !equal(v, test_argument(name, args));
  if (name == "lt" || name == "<") return less(v, test_argument(name, args));
  if (name == "gt" || name == ">") return less(test_argument(name, args), v);
  if (name == "le" || name == "<=") return !less(test_argument(name, args), v);
  if (name == "ge" || name == ">=") return !less(v, test_argument(name, args));
  if (name == "in") {
    const Value& seq = test_argument(name, args);
    if (seq.is_string()) return v.is_string() && seq.as_string().find(v.as_string()) != std::string::npos;
    if (seq.is_list()) return std::any_of(seq.items().begin(), seq.items().end(), [&](const Value& x) { return equal(x, v); });
    if (seq.is_dict()) return v.is_string() && seq.map().find(v.as_string()) != nullptr;
    return false;
  }
  if (name == "lower") return v.is_string() && ascii_lower(v.as_string()) == v.as_string();
  if (name == "upper") return v.is_string() && ascii_upper(v.as_string()) == v.as_string();
  if (name == "sameas") return v.same_object(test_argument(name, args));
  if (name == "escaped") return false;
  fail("unknown test '" + name + "'");
}

}  // namespace archscope::jinja
