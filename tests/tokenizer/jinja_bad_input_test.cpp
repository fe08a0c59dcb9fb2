// A chat template comes from an untrusted file: no template text, however broken, deep
// or busy, may crash the interpreter, hang it or exhaust memory; each gives an error that
// says what went wrong (these tests also run under ASan and UBSan: parsers_asan_tests).
#include <gtest/gtest.h>

#include <chrono>
#include <fstream>
#include <random>
#include <sstream>
#include <string>

#include "tokenizer/jinja/template.h"

namespace archscope::jinja {
namespace {

std::string render(const std::string& source, RenderOptions options = {}) {
  Result<Template> t = Template::parse(source);
  if (!t) return std::string("ERROR ") + t.error().what();
  Result<std::string> out = t->render(nlohmann::ordered_json::object(), options);
  if (!out) return std::string("ERROR ") + out.error().what();
  return *out;
}

std::string repeat(const std::string& s, int n) {
  std::string out;
  for (int i = 0; i < n; ++i) out += s;
  return out;
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

TEST(JinjaBadInput, DeepNestingIsAnError) {
  EXPECT_EQ(render("{{ " + repeat("(", 5000) + "1" + repeat(")", 5000) + " }}"),
            "ERROR line 1: nesting deeper than 200 levels");
  EXPECT_TRUE(has(render("{{ " + repeat("[", 5000) + repeat("]", 5000) + " }}"), "nesting deeper than 200 levels"));
  EXPECT_TRUE(has(render(repeat("{% if true %}", 5000) + repeat("{% endif %}", 5000)), "nesting deeper than 200 levels"));
  EXPECT_TRUE(has(render("{{ " + repeat("not ", 5000) + "1 }}"), "nesting deeper than 200 levels"));
  EXPECT_TRUE(has(render("{{ " + repeat("-", 5000) + "1 }}"), "nesting deeper than 200 levels"));
  // Deep but allowed: 60 levels render.
  EXPECT_EQ(render("{{ " + repeat("(", 60) + "7" + repeat(")", 60) + " }}"), "7");
}

TEST(JinjaBadInput, EndlessRecursionIsAnError) {
  EXPECT_TRUE(has(render("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}"), "nests deeper than 300 levels at run time"));
  EXPECT_TRUE(has(render("{% macro a() %}{{ b() }}{% endmacro %}{% macro b() %}{{ a() }}{% endmacro %}{{ a() }}"),
                  "nests deeper than 300 levels"));
}

TEST(JinjaBadInput, HugeLoopsAreErrors) {
  EXPECT_EQ(render("{% for i in range(1000000000) %}x{% endfor %}"),
            "ERROR line 1: the template builds a list of more than 200000 items");
  RenderOptions small;
  small.limits.max_steps = 100000;
  EXPECT_EQ(render("{% for i in range(1000) %}{% for j in range(1000) %}{% endfor %}{% endfor %}", small),
            "ERROR line 1: the template runs more than 100000 steps (a loop that does not end?)");
  // With the default limits the same kind of loop stops within seconds (4 s here, more under ASan).
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(has(render("{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"),
                  "the template runs more than 10000000 steps"));
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(120));
}

TEST(JinjaBadInput, RunawayOutputIsAnError) {
  EXPECT_TRUE(has(render("{% set ns = namespace(s='x') %}{% for i in range(64) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}"),
                  "builds a string of more than 16777216 bytes"));
  EXPECT_TRUE(has(render("{{ 'x' * 1000000000000 }}"), "builds a string of more than"));
  EXPECT_TRUE(has(render("{{ [1, 2] * 1000000000000 }}"), "builds a list of more than"));
  EXPECT_TRUE(has(render("{% for i in range(100000) %}{{ 'y' * 1000 }}{% endfor %}"), "the rendering is over 16777216 bytes"));
  // Growing a string one piece at a time costs quadratic work: the work limit stops it.
  EXPECT_TRUE(has(render("{% set ns = namespace(s='') %}{% for i in range(100000) %}{% for j in range(100) %}"
                         "{% set ns.s = ns.s ~ 'abcdefgh' %}{% endfor %}{% endfor %}"),
                  "bytes of strings in all"));
  // Reading a long text again and again (by index, or with a filter) is work too.
  EXPECT_TRUE(has(render("{% set s = 'x' * 10000000 %}{% for i in range(100000) %}{{ s[i] }}{% endfor %}"),
                  "reads more than 1073741824 bytes of strings and lists in all"));
  EXPECT_TRUE(has(render("{% set s = 'x' * 10000000 %}{% for i in range(100000) %}{{ s | length }}{% endfor %}"),
                  "reads more than 1073741824 bytes"));
}

TEST(JinjaBadInput, MalformedTemplatesAreErrors) {
  const char* const broken[] = {
      "{{", "{%", "{#", "{{ x", "{% if %}", "{% for %}", "{% for x %}", "{% for x in %}{% endfor %}",
      "{% set %}", "{% set = 1 %}", "{% macro %}", "{% macro f( %}", "{% endif %}", "{% else %}",
      "{{ x | }}", "{{ x is }}", "{{ x. }}", "{{ x[ }}", "{{ x[] }}", "{{ x[1:2:3:4] }}", "{{ f(a=1, 2) }}",
      "{{ 'unterminated }}", "{{ \"\\x4 }}", "{{ '\\U11111111' }}", "{{ @ }}", "{{ } }}", "{% raw %}no end",
      "{{ 99999999999999999999999 }}", "{% if x %}{% elif %}{% endif %}", "{% macro f(a=1, b) %}{% endmacro %}",
      "{% filter %}{% endfilter %}", "{{ x if }}", "{% for a, in xs %}{% endfor %}",
  };
  for (const char* source : broken) {
    const std::string out = render(source);
    EXPECT_EQ(out.rfind("ERROR line ", 0), 0u) << source << " -> " << out;
  }
}

TEST(JinjaBadInput, OversizedTemplateIsRefused) {
  EXPECT_TRUE(has(render(std::string(5 << 20, 'x')), "over the limit of 4 MiB"));
}

TEST(JinjaBadInput, BadFromJsonIsAnError) {
  EXPECT_EQ(render("{{ '{nope' | from_json }}"), "ERROR line 1: from_json: the text is not JSON");
  EXPECT_EQ(render("{{ ('" + repeat("[", 600) + repeat("]", 600) + "' | from_json) | length }}"),
            "ERROR line 1: JSON data nested deeper than 512 levels");
}

TEST(JinjaBadInput, InvalidUtf8PassesThrough) {
  EXPECT_EQ(render("a\xff\xfe{{ '\xc3' | length }}"), "a\xff\xfe" "1");
}

// Every prefix, and random corruptions, of a long real template: an error or a rendering,
// never a crash.
TEST(JinjaBadInput, TruncatedAndCorruptedRealTemplates) {
  std::ifstream file(ARCHSCOPE_SOURCE_DIR "/tests/tokenizer/chat_templates/google-gemma-4-31B-it.jinja");
  std::stringstream text;
  text << file.rdbuf();
  const std::string source = text.str();
  ASSERT_GT(source.size(), 10000u);
  const auto ctx = nlohmann::ordered_json::parse(R"({"messages": [{"role": "user", "content": "hi"}], "add_generation_prompt": true})");
  auto survive = [&](const std::string& s) {
    Result<Template> t = Template::parse(s);
    if (t) (void)t->render(ctx);
  };
  for (size_t n = 0; n < source.size(); n += 97) survive(source.substr(0, n));
  std::mt19937 rng(7);
  const std::string alphabet = "{}%#-+()[]|.,:'\"\\ \n=<>!~*/ax0";
  for (int i = 0; i < 300; ++i) {
    std::string s = source;
    for (int k = 0; k < 5; ++k) s[rng() % s.size()] = alphabet[rng() % alphabet.size()];
    survive(s);
  }
}

}  // namespace
}  // namespace archscope::jinja
