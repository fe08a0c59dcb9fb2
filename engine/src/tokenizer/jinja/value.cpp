// Values: construction, Python's truth, str(), repr(), ==, < and json.dumps.
#include "tokenizer/jinja/value.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "archscope/error.h"
#include "tokenizer/utf8.h"

namespace archscope::jinja {

const Value* ValueMap::find(std::string_view key) const {
  for (const auto& [k, v] : entries) {
    if (k == key) return &v;
  }
  return nullptr;
}

void ValueMap::set(const std::string& key, Value value) {
  for (auto& [k, v] : entries) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  entries.emplace_back(key, std::move(value));
}

const Value* CallArgs::keyword(std::string_view name) const {
  for (const auto& [k, v] : keywords) {
    if (k == name) return &v;
  }
  return nullptr;
}

Value Value::undefined(std::string hint) {
  Value v;
  if (!hint.empty()) v.s_ = std::make_shared<const std::string>(std::move(hint));
  return v;
}

Value Value::none() {
  Value v;
  v.type_ = Type::None;
  return v;
}

Value::Value(bool b) : type_(Type::Bool), b_(b) {}
Value::Value(int64_t i) : type_(Type::Int), i_(i) {}
Value::Value(double f) : type_(Type::Float), f_(f) {}
Value::Value(std::string s) : type_(Type::String), s_(std::make_shared<const std::string>(std::move(s))) {}

const std::string& Value::empty_string() {
  static const std::string empty;
  return empty;
}

Value Value::list(ValueList items) {
  Value v;
  v.type_ = Type::List;
  v.list_ = std::make_shared<const ValueList>(std::move(items));
  return v;
}

Value Value::tuple(ValueList items) {
  Value v = list(std::move(items));
  v.tuple_ = true;
  return v;
}

Value Value::dict(ValueMap map) {
  Value v;
  v.type_ = Type::Dict;
  v.map_ = std::make_shared<ValueMap>(std::move(map));
  return v;
}

Value Value::namespace_(ValueMap map) {
  Value v = dict(std::move(map));
  v.type_ = Type::Namespace;
  return v;
}

Value Value::callable(std::shared_ptr<const Callable> fn) {
  Value v;
  v.type_ = Type::Callable;
  v.fn_ = std::move(fn);
  return v;
}

Value Value::from_json(const nlohmann::ordered_json& json, int depth) {
  if (depth > 512) throw Error("JSON data nested deeper than 512 levels");
  switch (json.type()) {
    case nlohmann::ordered_json::value_t::null: return none();
    case nlohmann::ordered_json::value_t::boolean: return Value(json.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer: return Value(json.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_unsigned: {
      const uint64_t u = json.get<uint64_t>();
      return u <= static_cast<uint64_t>(INT64_MAX) ? Value(static_cast<int64_t>(u)) : Value(static_cast<double>(u));
    }
    case nlohmann::ordered_json::value_t::number_float: return Value(json.get<double>());
    case nlohmann::ordered_json::value_t::string: return Value(json.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      ValueList items;
      items.reserve(json.size());
      for (const auto& item : json) items.push_back(from_json(item, depth + 1));
      return list(std::move(items));
    }
    case nlohmann::ordered_json::value_t::object: {
      ValueMap map;
      for (const auto& [key, item] : json.items()) map.set(key, from_json(item, depth + 1));
      return dict(std::move(map));
    }
    default: return Value();  // binary and discarded values have no template meaning
  }
}

bool Value::same_object(const Value& other) const {
  if (type_ != other.type_) return false;
  if (type_ == Type::Namespace || type_ == Type::Dict) return map_ == other.map_;
  if (type_ == Type::List) return list_ == other.list_;
  if (type_ == Type::Callable) return fn_ == other.fn_;
  return equal(*this, other);
}

bool Value::truthy() const {
  switch (type_) {
    case Type::Undefined:
    case Type::None: return false;
    case Type::Bool: return b_;
    case Type::Int: return i_ != 0;
    case Type::Float: return f_ != 0.0;
    case Type::String: return !as_string().empty();
    case Type::List: return !list_->empty();
    case Type::Dict: return !map_->entries.empty();
    case Type::Namespace:
    case Type::Callable: return true;
  }
  return false;
}

std::string format_float(double value) {
  if (std::isnan(value)) return "nan";
  if (std::isinf(value)) return value < 0 ? "-inf" : "inf";
  if (value == 0.0) return std::signbit(value) ? "-0.0" : "0.0";
  char buffer[64];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific);
  std::string sci(buffer, result.ptr);  // "-1.2345e+02": shortest digits that read back the same
  std::string sign;
  if (sci[0] == '-') {
    sign = "-";
    sci.erase(0, 1);
  }
  const size_t e = sci.find('e');
  std::string digits = sci.substr(0, e);
  digits.erase(std::remove(digits.begin(), digits.end(), '.'), digits.end());
  const int exponent = std::stoi(sci.substr(e + 1));
  // Python's repr: positional notation for 1e-4 <= |x| < 1e16, else scientific.
  if (exponent >= -4 && exponent < 16) {
    const int point = exponent + 1;  // digits before the decimal point
    if (point <= 0) return sign + "0." + std::string(static_cast<size_t>(-point), '0') + digits;
    if (static_cast<size_t>(point) >= digits.size()) {
      return sign + digits + std::string(static_cast<size_t>(point) - digits.size(), '0') + ".0";
    }
    return sign + digits.substr(0, static_cast<size_t>(point)) + "." + digits.substr(static_cast<size_t>(point));
  }
  std::string out = sign + digits.substr(0, 1);
  if (digits.size() > 1) out += "." + digits.substr(1);
  char exp[16];
  std::snprintf(exp, sizeof exp, "e%c%02d", exponent < 0 ? '-' : '+', std::abs(exponent));
  return out + exp;
}

namespace {

std::string repr_string(const std::string& s) {
  // Python picks single quotes unless the text has one and no double quote.
  const char quote = s.find('\'') != std::string::npos && s.find('"') == std::string::npos ? '"' : '\'';
  std::string out(1, quote);
  for (const char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (c == quote || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (u < 0x20 || u == 0x7f) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", u);
      out += hex;
    } else {
      out += c;
    }
  }
  return out + quote;
}

std::string repr_map(const ValueMap& map) {
  std::string out = "{";
  bool first = true;
  for (const auto& [key, value] : map.entries) {
    if (!first) out += ", ";
    first = false;
    out += repr_string(key) + ": " + value.repr();
  }
  return out + "}";
}

}  // namespace

std::string Value::str() const {
  switch (type_) {
    case Type::Undefined: return "";
    case Type::None: return "None";
    case Type::Bool: return b_ ? "True" : "False";
    case Type::Int: return std::to_string(i_);
    case Type::Float: return format_float(f_);
    case Type::String: return as_string();
    case Type::List: {
      std::string out = tuple_ ? "(" : "[";
      for (size_t i = 0; i < list_->size(); ++i) out += (i ? ", " : "") + (*list_)[i].repr();
      if (tuple_) return out + (list_->size() == 1 ? ",)" : ")");
      return out + "]";
    }
    case Type::Dict: return repr_map(*map_);
    case Type::Namespace: return "<Namespace " + repr_map(*map_) + ">";
    case Type::Callable: return "<function " + fn_->name + ">";
  }
  return "";
}

std::string Value::repr() const {
  if (type_ == Type::String) return repr_string(as_string());
  if (type_ == Type::Undefined) return "Undefined";
  return str();
}

const char* Value::type_name() const {
  switch (type_) {
    case Type::Undefined: return "undefined";
    case Type::None: return "NoneType";
    case Type::Bool: return "bool";
    case Type::Int: return "int";
    case Type::Float: return "float";
    case Type::String: return "str";
    case Type::List: return "list";
    case Type::Dict: return "dict";
    case Type::Namespace: return "namespace";
    case Type::Callable: return "function";
  }
  return "?";
}

bool equal(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.as_float() == b.as_float();
    return a.as_int() == b.as_int();
  }
  if (a.type() != b.type()) return false;
  switch (a.type()) {
    case Value::Type::Undefined:
    case Value::Type::None: return true;
    case Value::Type::String: return a.as_string() == b.as_string();
    case Value::Type::List: {
      if (a.is_tuple() != b.is_tuple() || a.items().size() != b.items().size()) return false;
      for (size_t i = 0; i < a.items().size(); ++i) {
        if (!equal(a.items()[i], b.items()[i])) return false;
      }
      return true;
    }
    case Value::Type::Dict: {
      if (a.map().entries.size() != b.map().entries.size()) return false;
      for (const auto& [key, value] : a.map().entries) {
        const Value* other = b.map().find(key);
        if (!other || !equal(value, *other)) return false;
      }
      return true;
    }
    default: return a.same_object(b);
  }
}

bool less(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.is_float() || b.is_float()) return a.as_float() < b.as_float();
    return a.as_int() < b.as_int();
  }
  if (a.is_string() && b.is_string()) return a.as_string() < b.as_string();  // UTF-8 bytes sort as code points
  if (a.is_list() && b.is_list()) {
    const ValueList& x = a.items();
    const ValueList& y = b.items();
    for (size_t i = 0; i < x.size() && i < y.size(); ++i) {
      if (!equal(x[i], y[i])) return less(x[i], y[i]);
    }
    return x.size() < y.size();
  }
  throw Error(std::string("'<' is not supported between ") + a.type_name() + " and " + b.type_name());
}

namespace {

void append_json_string(std::string& out, const std::string& s, bool ensure_ascii) {
  out += '"';
  auto hex4 = [&out](unsigned v) {
    char buffer[16];
    std::snprintf(buffer, sizeof buffer, "\\u%04x", v);
    out += buffer;
  };
  for (size_t i = 0; i < s.size();) {
    const auto u = static_cast<unsigned char>(s[i]);
    if (u >= 0x80 && ensure_ascii) {
      const int n = tokenizer::utf8_valid_prefix(std::string_view(s).substr(i));
      if (n <= 0) {  // not UTF-8: Python strings cannot hold it; U+FFFD as a decoder would
        hex4(0xfffd);
        i += static_cast<size_t>(n < 0 ? -n : s.size() - i);
        continue;
      }
      const uint32_t cpt = tokenizer::decode_lenient(std::string_view(s).substr(i, static_cast<size_t>(n)))[0];
      if (cpt >= 0x10000) {
        hex4(0xd800 + ((cpt - 0x10000) >> 10));
        hex4(0xdc00 + ((cpt - 0x10000) & 0x3ff));
      } else {
        hex4(cpt);
      }
      i += static_cast<size_t>(n);
      continue;
    }
    const char c = s[i++];
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      default:
        if (u < 0x20 || (u == 0x7f && ensure_ascii)) hex4(u);
        else out += c;
    }
  }
  out += '"';
}

void append_json(std::string& out, const Value& value, const JsonOptions& options, int depth) {
  const bool pretty = options.indent >= 0 || !options.indent_text.empty();
  const std::string unit = options.indent_text.empty() && options.indent > 0 ? std::string(static_cast<size_t>(options.indent), ' ')
                                                                             : options.indent_text;
  const std::string item_sep = !options.item_separator.empty() ? options.item_separator : pretty ? "," : ", ";
  const std::string key_sep = !options.key_separator.empty() ? options.key_separator : ": ";
  auto newline = [&](int level) {
    out += '\n';
    for (int i = 0; i < level; ++i) out += unit;
  };
  if (depth > 512) throw Error("tojson: data nested deeper than 512 levels");
  switch (value.type()) {
    case Value::Type::None: out += "null"; return;
    case Value::Type::Bool: out += value.as_bool() ? "true" : "false"; return;
    case Value::Type::Int: out += std::to_string(value.as_int()); return;
    case Value::Type::Float: {
      const double f = value.as_float();
      if (std::isnan(f)) out += "NaN";
      else if (std::isinf(f)) out += f < 0 ? "-Infinity" : "Infinity";
      else out += format_float(f);
      return;
    }
    case Value::Type::String: append_json_string(out, value.as_string(), options.ensure_ascii); return;
    case Value::Type::List: {
      const ValueList& items = value.items();
      if (items.empty()) {
        out += "[]";
        return;
      }
      out += '[';
      for (size_t i = 0; i < items.size(); ++i) {
        if (i) out += item_sep;
        if (pretty) newline(depth + 1);
        append_json(out, items[i], options, depth + 1);
      }
      if (pretty) newline(depth);
      out += ']';
      return;
    }
    case Value::Type::Dict: {
      std::vector<const std::pair<std::string, Value>*> entries;
      for (const auto& entry : value.map().entries) entries.push_back(&entry);
      if (options.sort_keys) {
        std::stable_sort(entries.begin(), entries.end(), [](auto* a, auto* b) { return a->first < b->first; });
      }
      if (entries.empty()) {
        out += "{}";
        return;
      }
      out += '{';
      for (size_t i = 0; i < entries.size(); ++i) {
        if (i) out += item_sep;
        if (pretty) newline(depth + 1);
        append_json_string(out, entries[i]->first, options.ensure_ascii);
        out += key_sep;
        append_json(out, entries[i]->second, options, depth + 1);
      }
      if (pretty) newline(depth);
      out += '}';
      return;
    }
    default: throw Error(std::string("tojson: a value of type ") + value.type_name() + " is not JSON serializable");
  }
}

}  // namespace

std::string to_json(const Value& value, const JsonOptions& options) {
  std::string out;
  append_json(out, value, options, 0);
  return out;
}

}  // namespace archscope::jinja
