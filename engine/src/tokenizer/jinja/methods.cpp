// Methods of strings and dicts as Python has them (str.strip, str.split, dict.get, ...),
// the string helpers they share with the filters, and strftime.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>

#include "archscope/error.h"
#include "tokenizer/jinja/builtins.h"
#include "tokenizer/utf8.h"

namespace archscope::jinja {

void Budget::step() {
  if (++steps_ > limits_.max_steps) {
    throw Error("the template runs more than " + std::to_string(limits_.max_steps) + " steps (a loop that does not end?)");
  }
}

void Budget::string_built(size_t bytes) {
  if (bytes > limits_.max_output_bytes) {
    throw Error("the template builds a string of more than " + std::to_string(limits_.max_output_bytes) + " bytes");
  }
  string_work_ += bytes;
  if (string_work_ > limits_.max_string_work) {
    throw Error("the template builds more than " + std::to_string(limits_.max_string_work) + " bytes of strings in all");
  }
}

void Budget::scanned(size_t bytes) {
  string_work_ += bytes;
  if (string_work_ > limits_.max_string_work) {
    throw Error("the template reads more than " + std::to_string(limits_.max_string_work) +
                " bytes of strings and lists in all (a loop over a long text?)");
  }
}

size_t weight(const Value& v) {
  if (v.is_string()) return v.as_string().size();
  if (v.is_list()) return 16 * v.items().size();
  if (v.is_dict() || v.is_namespace()) return 16 * v.map().entries.size();
  return 0;
}

void Budget::list_built(size_t items) const {
  if (items > limits_.max_list_items) {
    throw Error("the template builds a list of more than " + std::to_string(limits_.max_list_items) + " items");
  }
}

const Value* argument(const CallArgs& args, size_t index, const char* name) {
  if (index < args.positional.size()) return &args.positional[index];
  return name ? args.keyword(name) : nullptr;
}

std::vector<std::string> code_points(const std::string& s) {
  std::vector<std::string> out;
  for (size_t i = 0; i < s.size();) {
    const int n = tokenizer::utf8_valid_prefix(std::string_view(s).substr(i));
    const size_t len = n > 0 ? static_cast<size_t>(n) : 1;
    out.push_back(s.substr(i, len));
    i += len;
  }
  return out;
}

size_t code_point_count(const std::string& s) {
  size_t count = 0;
  for (size_t i = 0; i < s.size();) {
    const int n = tokenizer::utf8_valid_prefix(std::string_view(s).substr(i));
    i += n > 0 ? static_cast<size_t>(n) : 1;
    ++count;
  }
  return count;
}

// Python's str.isspace code points.
bool is_python_space(const std::string& cpt) {
  if (cpt.size() == 1) {
    const char c = cpt[0];
    return c == ' ' || (c >= '\t' && c <= '\r') || (c >= '\x1c' && c <= '\x1f');
  }
  static const char* const kWide[] = {"\u0085", "\u00a0", "\u1680", "\u2000", "\u2001", "\u2002", "\u2003",
                                      "\u2004", "\u2005", "\u2006", "\u2007", "\u2008", "\u2009", "\u200a",
                                      "\u2028", "\u2029", "\u202f", "\u205f", "\u3000"};
  for (const char* w : kWide) {
    if (cpt == w) return true;
  }
  return false;
}

std::string strip(const std::string& s, bool left, bool right, const std::optional<std::string>& chars) {
  const std::vector<std::string> cpts = code_points(s);
  std::vector<std::string> set;
  if (chars) set = code_points(*chars);
  auto strippable = [&](const std::string& c) {
    return chars ? std::find(set.begin(), set.end(), c) != set.end() : is_python_space(c);
  };
  size_t begin = 0, end = cpts.size();
  while (left && begin < end && strippable(cpts[begin])) ++begin;
  while (right && end > begin && strippable(cpts[end - 1])) --end;
  std::string out;
  for (size_t i = begin; i < end; ++i) out += cpts[i];
  return out;
}

std::string ascii_upper(std::string s) {
  for (char& c : s) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return s;
}

std::string ascii_lower(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

std::string strftime_english(const std::string& format, std::time_t when) {
  static const char* const kMonths[] = {"January", "February", "March",     "April",   "May",      "June",
                                        "July",    "August",   "September", "October", "November", "December"};
  static const char* const kDays[] = {"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"};
  std::tm tm{};
  localtime_r(&when, &tm);
  auto two = [](int v) {
    char b[16];
    std::snprintf(b, sizeof b, "%02d", v);
    return std::string(b);
  };
  std::string out;
  for (size_t i = 0; i < format.size(); ++i) {
    if (format[i] != '%' || i + 1 == format.size()) {
      out += format[i];
      continue;
    }
    const char d = format[++i];
    switch (d) {
      case 'Y': out += std::to_string(tm.tm_year + 1900); break;
      case 'y': out += two(tm.tm_year % 100); break;
      case 'm': out += two(tm.tm_mon + 1); break;
      case 'd': out += two(tm.tm_mday); break;
      case 'e':
        if (tm.tm_mday < 10) out += ' ';
        out += std::to_string(tm.tm_mday);
        break;
      case 'b': out += std::string(kMonths[tm.tm_mon]).substr(0, 3); break;
      case 'B': out += kMonths[tm.tm_mon]; break;
      case 'a': out += std::string(kDays[tm.tm_wday]).substr(0, 3); break;
      case 'A': out += kDays[tm.tm_wday]; break;
      case 'H': out += two(tm.tm_hour); break;
      case 'I': out += two(tm.tm_hour % 12 == 0 ? 12 : tm.tm_hour % 12); break;
      case 'M': out += two(tm.tm_min); break;
      case 'S': out += two(tm.tm_sec); break;
      case 'p': out += tm.tm_hour < 12 ? "AM" : "PM"; break;
      case 'j': {
        char b[16];
        std::snprintf(b, sizeof b, "%03d", tm.tm_yday + 1);
        out += b;
        break;
      }
      case '%': out += '%'; break;
      default: out += '%'; out += d;
    }
  }
  return out;
}

namespace {

const std::string& string_arg(const CallArgs& args, size_t index, const char* name, const char* method) {
  const Value* v = argument(args, index, name);
  if (!v || !v->is_string()) throw Error(std::string(method) + "() needs a string argument");
  return v->as_string();
}

std::optional<std::string> optional_chars(const CallArgs& args, const char* method) {
  const Value* v = argument(args, 0, "chars");
  if (!v || v->is_none()) return std::nullopt;
  if (!v->is_string()) throw Error(std::string(method) + "() argument must be a string or None");
  return v->as_string();
}

// Python's str.split(sep=None, maxsplit=-1).
Value split(const std::string& s, const CallArgs& args, Budget& budget) {
  const Value* sep = argument(args, 0, "sep");
  const Value* max = argument(args, 1, "maxsplit");
  int64_t maxsplit = max && max->is_number() ? max->as_int() : -1;
  ValueList parts;
  if (sep && !sep->is_none()) {
    if (!sep->is_string()) throw Error("split() separator must be a string or None");
    const std::string& d = sep->as_string();
    if (d.empty()) throw Error("split(): empty separator");
    size_t pos = 0;
    while (maxsplit != 0) {
      const size_t hit = s.find(d, pos);
      if (hit == std::string::npos) break;
      parts.emplace_back(s.substr(pos, hit - pos));
      pos = hit + d.size();
      if (maxsplit > 0) --maxsplit;
      budget.list_built(parts.size());
    }
    parts.emplace_back(s.substr(pos));
  } else {
    // Runs of whitespace separate; no empty parts at the ends.
    const std::vector<std::string> cpts = code_points(s);
    size_t i = 0;
    while (i < cpts.size()) {
      while (i < cpts.size() && is_python_space(cpts[i])) ++i;
      if (i == cpts.size()) break;
      std::string part;
      if (maxsplit == 0) {
        for (; i < cpts.size(); ++i) part += cpts[i];
        parts.emplace_back(std::move(part));  // the rest as it is, trailing whitespace too
        break;
      }
      while (i < cpts.size() && !is_python_space(cpts[i])) part += cpts[i++];
      parts.emplace_back(std::move(part));
      if (maxsplit > 0) --maxsplit;
      budget.list_built(parts.size());
    }
  }
  budget.list_built(parts.size());
  return Value::list(std::move(parts));
}

bool affix_test(const std::string& s, const Value& affix, bool prefix) {
  auto one = [&](const std::string& a) {
    if (a.size() > s.size()) return false;
    return prefix ? s.compare(0, a.size(), a) == 0 : s.compare(s.size() - a.size(), a.size(), a) == 0;
  };
  if (affix.is_string()) return one(affix.as_string());
  if (affix.is_list()) {
    for (const Value& v : affix.items()) {
      if (!v.is_string()) throw Error(std::string(prefix ? "startswith" : "endswith") + "() tuple items must be strings");
      if (one(v.as_string())) return true;
    }
    return false;
  }
  throw Error(std::string(prefix ? "startswith" : "endswith") + "() argument must be a string or a tuple of strings");
}

std::optional<Value> string_method(const std::string& s, const std::string& name, const CallArgs& args, Budget& budget) {
  if (name == "strip" || name == "lstrip" || name == "rstrip") {
    return Value(strip(s, name != "rstrip", name != "lstrip", optional_chars(args, name.c_str())));
  }
  if (name == "split") return split(s, args, budget);
  if (name == "startswith" || name == "endswith") {
    const Value* affix = argument(args, 0, nullptr);
    if (!affix) throw Error(name + "() needs an argument");
    return Value(affix_test(s, *affix, name == "startswith"));
  }
  if (name == "upper") return Value(ascii_upper(s));
  if (name == "lower") return Value(ascii_lower(s));
  if (name == "capitalize") {
    std::string out = ascii_lower(s);
    if (!out.empty()) out[0] = ascii_upper(out.substr(0, 1))[0];
    return Value(out);
  }
  if (name == "title") {  // str.title: a letter after a non-letter starts a word
    std::string out = s;
    bool in_word = false;
    for (char& c : out) {
      const bool letter = std::isalpha(static_cast<unsigned char>(c)) != 0;
      if (letter) c = in_word ? ascii_lower(std::string(1, c))[0] : ascii_upper(std::string(1, c))[0];
      in_word = letter;
    }
    return Value(out);
  }
  if (name == "replace") {
    const std::string& from = string_arg(args, 0, "old", "replace");
    const std::string& to = string_arg(args, 1, "new", "replace");
    const Value* count_arg = argument(args, 2, "count");
    int64_t count = count_arg && count_arg->is_number() ? count_arg->as_int() : -1;
    std::string out;
    if (from.empty()) {  // Python inserts `to` between the code points, and at both ends
      const std::vector<std::string> cpts = code_points(s);
      for (size_t i = 0; i <= cpts.size(); ++i) {
        if (count != 0) {
          out += to;
          if (count > 0) --count;
        }
        if (i < cpts.size()) out += cpts[i];
        budget.string_built(out.size());
      }
      return Value(out);
    }
    size_t pos = 0;
    while (count != 0) {
      const size_t hit = s.find(from, pos);
      if (hit == std::string::npos) break;
      out.append(s, pos, hit - pos);
      out += to;
      pos = hit + from.size();
      if (count > 0) --count;
      budget.string_built(out.size());
    }
    out.append(s, pos, std::string::npos);
    budget.string_built(out.size());
    return Value(out);
  }
  if (name == "find" || name == "rfind" || name == "count") {
    const std::string& needle = string_arg(args, 0, "sub", name.c_str());
    if (name == "count") {
      if (needle.empty()) return Value(static_cast<int64_t>(code_point_count(s) + 1));
      int64_t n = 0;
      for (size_t pos = s.find(needle); pos != std::string::npos; pos = s.find(needle, pos + needle.size())) ++n;
      return Value(n);
    }
    const size_t hit = name == "find" ? s.find(needle) : s.rfind(needle);
    if (hit == std::string::npos) return Value(static_cast<int64_t>(-1));
    return Value(static_cast<int64_t>(code_point_count(s.substr(0, hit))));
  }
  if (name == "join") {
    const Value* items = argument(args, 0, nullptr);
    if (!items || !items->is_list()) throw Error("join() needs a list of strings");
    std::string out;
    for (size_t i = 0; i < items->items().size(); ++i) {
      const Value& v = items->items()[i];
      if (!v.is_string()) throw Error(std::string("join(): item ") + std::to_string(i) + " is a " + v.type_name() + ", not a string");
      if (i) out += s;
      out += v.as_string();
      budget.string_built(out.size());
    }
    return Value(out);
  }
  if (name == "splitlines") {
    ValueList lines;
    size_t pos = 0;
    while (pos < s.size()) {
      const size_t nl = s.find_first_of("\n\r", pos);
      if (nl == std::string::npos) {
        lines.emplace_back(s.substr(pos));
        break;
      }
      lines.emplace_back(s.substr(pos, nl - pos));
      pos = nl + (s[nl] == '\r' && nl + 1 < s.size() && s[nl + 1] == '\n' ? 2 : 1);
      budget.list_built(lines.size());
    }
    return Value::list(std::move(lines));
  }
  if (name == "isdigit" || name == "isalpha" || name == "isalnum" || name == "isspace" || name == "islower" ||
      name == "isupper") {
    if (s.empty()) return Value(false);
    bool cased = false;
    for (const char c : s) {
      const auto u = static_cast<unsigned char>(c);
      if (name == "isdigit" && !std::isdigit(u)) return Value(false);
      if (name == "isalpha" && !std::isalpha(u)) return Value(false);
      if (name == "isalnum" && !std::isalnum(u)) return Value(false);
      if (name == "isspace" && !std::isspace(u)) return Value(false);
      if (name == "islower" && std::isupper(u)) return Value(false);
      if (name == "isupper" && std::islower(u)) return Value(false);
      cased = cased || std::isalpha(u);
    }
    return Value(name == "islower" || name == "isupper" ? cased : true);
  }
  return std::nullopt;
}

ValueList pairs(const ValueMap& map) {
  ValueList out;
  for (const auto& [key, value] : map.entries) out.push_back(Value::tuple({Value(key), value}));
  return out;
}

std::optional<Value> dict_method(const Value& dict, const std::string& name, const CallArgs& args) {
  const ValueMap& map = dict.map();
  if (name == "get") {
    const Value* key = argument(args, 0, "key");
    if (!key) throw Error("get() needs a key");
    const Value* fallback = argument(args, 1, "default");
    const Value* found = key->is_string() ? map.find(key->as_string()) : nullptr;
    return found ? *found : fallback ? *fallback : Value::none();
  }
  if (name == "items") return Value::list(pairs(map));
  if (name == "keys" || name == "values") {
    ValueList out;
    for (const auto& [key, value] : map.entries) out.push_back(name == "keys" ? Value(key) : value);
    return Value::list(std::move(out));
  }
  return std::nullopt;
}

}  // namespace

std::optional<Value> call_method(const Value& object, const std::string& name, const CallArgs& args, Budget& budget) {
  if (object.is_string()) return string_method(object.as_string(), name, args, budget);
  if (object.is_dict()) return dict_method(object, name, args);
  return std::nullopt;
}

}  // namespace archscope::jinja
