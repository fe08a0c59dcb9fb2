// What the renderer calls on values: filters (x | trim), tests (x is string), the methods
// of strings and dicts (x.split(',')), the global functions, and the budget they all draw
// on. Python's jinja2 (and transformers' additions) is the model for each.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "tokenizer/jinja/template.h"
#include "tokenizer/jinja/value.h"

namespace archscope::jinja {

// The limits of one render, counted down as it goes; throws archscope::Error when one is hit.
class Budget {
 public:
  explicit Budget(const RenderLimits& limits) : limits_(limits) {}
  void step();
  // A string of `bytes` was built: within the size limit, and counted as work.
  void string_built(size_t bytes);
  void list_built(size_t items) const;
  // An operation read `bytes` of strings or lists (each costs as much as it reads): counted
  // as work, so that a loop over a long text stops instead of running for hours.
  void scanned(size_t bytes);
  const RenderLimits& limits() const { return limits_; }

 private:
  RenderLimits limits_;
  uint64_t steps_ = 0;
  uint64_t string_work_ = 0;
};

// What an operation on `v` costs to read: a string's bytes, 16 per list item or dict entry.
size_t weight(const Value& v);

// Throws archscope::Error with the message (the renderer adds the line).
Value apply_filter(const std::string& name, const Value& operand, const CallArgs& args, Budget& budget);
bool apply_test(const std::string& name, const Value& operand, const CallArgs& args);
bool has_test(const std::string& name);
// A method of a string or dict; nullopt when the value has no method of that name.
std::optional<Value> call_method(const Value& object, const std::string& name, const CallArgs& args, Budget& budget);

// Strings as Python sees them: code points (UTF-8 sequences, invalid bytes one each).
std::vector<std::string> code_points(const std::string& s);
size_t code_point_count(const std::string& s);
bool is_python_space(const std::string& cpt);
// str.strip / lstrip / rstrip: whitespace, or any code point of `chars` when given.
std::string strip(const std::string& s, bool left, bool right, const std::optional<std::string>& chars = std::nullopt);
std::string ascii_upper(std::string s);
std::string ascii_lower(std::string s);

// Python's strftime for the usual directives, in English (the C locale).
std::string strftime_english(const std::string& format, std::time_t when);

// Argument helpers: the i-th positional or the named keyword argument, or nullptr.
const Value* argument(const CallArgs& args, size_t index, const char* name);

}  // namespace archscope::jinja
