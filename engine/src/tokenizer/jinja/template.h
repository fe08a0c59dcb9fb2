// A chat template: parsed once from the text in a model file, rendered with a context
// (messages, add_generation_prompt, bos_token, ...) the way transformers'
// apply_chat_template renders it. The text comes from an untrusted file, so parsing and
// rendering report errors as values naming the template line, and rendering stops at
// limits on output, work and nesting instead of running away.
#pragma once

#include <cstdint>
#include <ctime>
#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "archscope/error.h"

namespace archscope::jinja {

struct RenderLimits {
  size_t max_output_bytes = 16u << 20;   // the rendering, and any one string built on the way
  uint64_t max_steps = 10'000'000;       // statements run, loop iterations and calls
  uint64_t max_string_work = 1u << 30;   // bytes of strings and lists built or read in all (stops quadratic work)
  size_t max_list_items = 200'000;       // any list built (range(), +, *)
  int max_depth = 300;                   // nested expressions, blocks and macro calls at run time
};

struct RenderOptions {
  std::time_t now = 0;  // what strftime_now formats (local time); 0: the clock at render time
  RenderLimits limits;
};

struct Program;

class Template {
 public:
  // Errors: "line N: what is wrong". Templates over 4 MiB are refused.
  static Result<Template> parse(std::string_view source);

  // The context's keys become template variables; raise_exception, strftime_now, range,
  // namespace, dict and the constants true/false/none are there too.
  Result<std::string> render(const nlohmann::ordered_json& context, const RenderOptions& options = {}) const;

 private:
  explicit Template(std::shared_ptr<const Program> program) : program_(std::move(program)) {}
  std::shared_ptr<const Program> program_;
};

}  // namespace archscope::jinja
