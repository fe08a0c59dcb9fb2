// Template: the lexer, the parser and the renderer behind one parse() and one render().
#include "tokenizer/jinja/template.h"

#include "tokenizer/jinja/lexer.h"
#include "tokenizer/jinja/parser.h"
#include "tokenizer/jinja/renderer.h"

namespace archscope::jinja {

constexpr size_t kMaxTemplateBytes = 4u << 20;

Result<Template> Template::parse(std::string_view source) {
  return capture([&] {
    if (source.size() > kMaxTemplateBytes) {
      throw Error("the template is " + std::to_string(source.size()) + " bytes, over the limit of 4 MiB");
    }
    auto program = std::make_shared<Program>();
    program->body = jinja::parse(tokenize(source));
    return Template(std::move(program));
  });
}

Result<std::string> Template::render(const nlohmann::ordered_json& context, const RenderOptions& options) const {
  return capture([&] { return Renderer(options).render(*program_, context); });
}

}  // namespace archscope::jinja
