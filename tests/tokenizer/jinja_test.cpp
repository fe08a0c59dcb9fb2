// The Jinja interpreter, feature by feature. Every expected string below is what Python's
// jinja2 3.1 renders for the same source and context in transformers' setup
// (ImmutableSandboxedEnvironment, trim_blocks, lstrip_blocks, loopcontrols, transformers'
// tojson and raise_exception), recorded at development time.
#include <gtest/gtest.h>

#include <string>

#include "tokenizer/jinja/template.h"

namespace archscope::jinja {
namespace {

struct Case {
  const char* source;
  const char* expected;
};

const nlohmann::ordered_json& context() {
  static const nlohmann::ordered_json ctx = nlohmann::ordered_json::parse(R"({
    "xs": [3, 1, 2], "s": "  Hello World  ", "d": {"b": 2, "a": 1, "C": 3},
    "m": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}, {"role": "user", "content": "bye"}],
    "n": null, "t": true, "f": 1.5})");
  return ctx;
}

// The rendering, or "ERROR <message>".
std::string render(const std::string& source, const nlohmann::ordered_json& ctx = context(), RenderOptions options = {}) {
  Result<Template> t = Template::parse(source);
  if (!t) return std::string("ERROR ") + t.error().what();
  Result<std::string> out = t->render(ctx, options);
  if (!out) return std::string("ERROR ") + out.error().what();
  return *out;
}

TEST(Jinja, Expressions) {
  const Case cases[] = {
      {"{{ 1 + 2 * 3 }}|{{ (1 + 2) * 3 }}|{{ 7 // 2 }}|{{ -7 // 2 }}|{{ 7 % 3 }}|{{ -7 % 3 }}|{{ 2 ** 10 }}|{{ 7 / 2 }}|{{ 6 / 3 }}",
       "7|9|3|-4|1|2|1024|3.5|2.0"},
      {"{{ 'a' ~ 1 ~ none ~ true }}|{{ 'ab' + 'cd' }}|{{ 'ab' * 3 }}|{{ [1] + [2] }}|{{ 1 == 1.0 }}|{{ true == 1 }}",
       "a1NoneTrue|abcd|ababab|[1, 2]|True|True"},
      {"{{ 1 < 2 < 3 }}|{{ 3 > 2 > 2 }}|{{ 'b' in 'abc' }}|{{ 2 in xs }}|{{ 'a' in d }}|{{ 'z' not in d }}|{{ not 1 in xs }}",
       "True|False|True|True|True|True|False"},
      {"{{ 'yes' if t else 'no' }}|{{ 'yes' if n else 'no' }}|{{ 'x' if n }}|{{ n or 'fallback' }}|{{ t and 'both' }}|{{ [] or 0 }}",
       "yes|no||fallback|both|0"},
      {"{{ xs[0] }}|{{ xs[-1] }}|{{ xs[1:] }}|{{ xs[::-1] }}|{{ xs[::2] }}|{{ 'hello'[1:3] }}|{{ 'hello'[::-1] }}|{{ 'héllo'[1] }}|{{ xs[10] }}|",
       "3|2|[1, 2]|[2, 1, 3]|[3, 2]|el|olleh|é||"},
      {"{{ d.a }}|{{ d['b'] }}|{{ m[0].role }}|{{ m[1]['content'] }}|{{ d.missing }}|{{ d.missing is defined }}|{{ undefined_name is defined }}",
       "1|2|user|yo||False|False"},
      {"{{ f }}|{{ 0.1 + 0.2 }}|{{ 1e20 }}|{{ 1.0e-5 }}|{{ 3.0 }}|{{ -0.5 }}|{{ n }}|{{ t }}|{{ xs }}|{{ d }}|{{ 'it''s' }}",
       "1.5|0.30000000000000004|1e+20|1e-05|3.0|-0.5|None|True|[3, 1, 2]|{'b': 2, 'a': 1, 'C': 3}|its"},
      {"{{ {'a': [1, 'x'], 'b': none} }}|{{ [m[0]] }}",
       "{'a': [1, 'x'], 'b': None}|[{'role': 'user', 'content': 'hi'}]"},
  };
  for (const Case& c : cases) EXPECT_EQ(render(c.source), c.expected) << c.source;
}

TEST(Jinja, Whitespace) {
  const Case cases[] = {
      {"a\n  {% if true %}\n  b\n  {% endif %}\nc",
       "a\n  b\nc"},
      {"a  {%- if true -%}  b  {%- endif -%}  c",
       "abc"},
      {"{{ 'x' }}\n{{ 'y' }}\n",
       "x\ny"},
      {"  {# comment #}\nline\n  {#- trimmed -#}  next",
       "linenext"},
      {"{% for i in xs %}\n  {{ i }}\n{% endfor %}\n",
       "  3\n  1\n  2\n"},
      {"{%- for i in xs -%}\n  [{{- i -}}]\n{%- endfor -%}",
       "[3][1][2]"},
      {"a {%+ if true %}b{% endif +%}\nc",
       "a b\nc"},
      {"x\r\ny\r\n{% if true %}\r\nz{% endif %}",
       "x\ny\nz"},
      {"{% raw %}{{ not rendered }}{% endraw %}!",
       "{{ not rendered }}!"},
  };
  for (const Case& c : cases) EXPECT_EQ(render(c.source), c.expected) << c.source;
}

TEST(Jinja, Statements) {
  const Case cases[] = {
      {"{% set x = 1 %}{% if x == 1 %}one{% elif x == 2 %}two{% else %}many{% endif %}",
       "one"},
      {"{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}",
       "b=2;a=1;C=3;"},
      {"{% for x in xs if x > 1 %}{{ loop.index }}/{{ loop.length }}:{{ x }}{{ ',' if not loop.last }}{% endfor %}",
       "1/2:3,2/2:2"},
      {"{% for x in [] %}never{% else %}empty{% endfor %}",
       "empty"},
      {"{% for x in xs %}{% if x == 1 %}{% continue %}{% endif %}{% if x == 2 %}{% break %}{% endif %}{{ x }}{% endfor %}",
       "3"},
      {"{% for x in xs %}{{ loop.index0 }}{{ loop.revindex }}{{ loop.first }}{{ loop.previtem }}{% endfor %}",
       "03True12False321False1"},
      {"{% set ns = namespace(total=0, seen=[]) %}{% for x in xs %}{% set ns.total = ns.total + x %}{% endfor %}{{ ns.total }}",
       "6"},
      {"{% set y = 1 %}{% for x in xs %}{% set y = x %}{% endfor %}{{ y }}",
       "1"},
      {"{% macro greet(name, greeting='Hello') %}{{ greeting }}, {{ name }}!{% endmacro %}{{ greet('Ann') }} {{ greet('Bob', greeting='Hi') }} {{ greet('Cy', 'Yo') }}",
       "Hello, Ann! Hi, Bob! Yo, Cy!"},
      {"{% macro f(n) %}{% if n > 0 %}{{ n }}{{ f(n - 1) }}{% endif %}{% endmacro %}{{ f(5) }}",
       "54321"},
      {"{% macro a() %}{{ b() }}{% endmacro %}{% macro b() %}late{% endmacro %}{{ a() }}",
       "late"},
      {"{% set a, b = [1, 2] %}{{ b }}{{ a }}",
       "21"},
      {"{% set block %}inside {{ 1 + 1 }}{% endset %}[{{ block }}]",
       "[inside 2]"},
      {"{% filter upper %}shout {{ 'this' }}{% endfilter %}",
       "SHOUT THIS"},
      {"{% for m2 in m %}{% for c in m2.content %}{{ c }}{% endfor %}{% endfor %}",
       "hiyobye"},
      {"{{ range(3) | list }}|{{ range(1, 7, 2) | list }}|{{ range(3, 0, -1) | list }}",
       "[0, 1, 2]|[1, 3, 5]|[3, 2, 1]"},
  };
  for (const Case& c : cases) EXPECT_EQ(render(c.source), c.expected) << c.source;
}

TEST(Jinja, Filters) {
  const Case cases[] = {
      {"{{ s | trim }}|{{ s | length }}|{{ s | upper }}|{{ s | lower }}|{{ 'hello world' | title }}|{{ 'hELLO' | capitalize }}",
       "Hello World|15|  HELLO WORLD  |  hello world  |Hello World|Hello"},
      {"{{ xs | join(', ') }}|{{ xs | sort | list }}|{{ xs | reverse | list }}|{{ xs | first }}|{{ xs | last }}|{{ xs | length }}|{{ xs | sum }}|{{ xs | max }}|{{ xs | min }}",
       "3, 1, 2|[1, 2, 3]|[2, 1, 3]|3|2|3|6|3|1"},
      {"{{ d | dictsort }}|{{ d | dictsort(true) }}|{{ d | dictsort(by='value', reverse=true) }}|{{ d | items | list }}",
       "[('a', 1), ('b', 2), ('C', 3)]|[('C', 3), ('a', 1), ('b', 2)]|[('C', 3), ('b', 2), ('a', 1)]|[('b', 2), ('a', 1), ('C', 3)]"},
      {"{{ undefined_name | default('dflt') }}|{{ '' | default('empty', true) }}|{{ none | default('kept') }}|{{ 0 | default(5, boolean=true) }}",
       "dflt|empty|None|5"},
      {"{{ m | selectattr('role', 'equalto', 'user') | map(attribute='content') | join('+') }}|{{ m | rejectattr('role', 'eq', 'user') | list | length }}",
       "hi+bye|1"},
      {"{{ xs | select('odd') | list }}|{{ xs | reject('even') | list }}|{{ ['a','b'] | map('upper') | list }}|{{ [1, 1, 2] | unique | list }}",
       "[3, 1]|[3, 1]|['A', 'B']|[1, 2]"},
      {"{{ d | tojson }}|{{ m[0] | tojson(indent=2) }}|{{ 'é\"\\n' | tojson }}|{{ 'é' | tojson(ensure_ascii=true) }}|{{ d | tojson(sort_keys=true) }}|{{ [1, 2.5, none, true] | tojson(separators=(',', ':')) }}",
       "{\"b\": 2, \"a\": 1, \"C\": 3}|{\n  \"role\": \"user\",\n  \"content\": \"hi\"\n}|\"é\\\"\\n\"|\"\\u00e9\"|{\"C\": 3, \"a\": 1, \"b\": 2}|[1,2.5,null,true]"},
      {"{{ '42' | int + 1 }}|{{ '3.7' | int }}|{{ 'x' | int(7) }}|{{ '2.5' | float }}|{{ 3 | float }}|{{ -3 | abs }}|{{ 2.567 | round(2) }}|{{ 3 | string ~ 'x' }}",
       "43|3|7|2.5|3.0|3|2.57|3x"},
      {"{{ 'a-b-c' | replace('-', '+') }}|{{ 'line1\\nline2' | indent(2) }}|{{ '<a&b>' | escape }}|{{ 'one two  three' | wordcount }}|{{ 'abc' | list }}",
       "a+b+c|line1\n  line2|&lt;a&amp;b&gt;|3|['a', 'b', 'c']"},
  };
  for (const Case& c : cases) EXPECT_EQ(render(c.source), c.expected) << c.source;
}

TEST(Jinja, Tests) {
  const Case cases[] = {
      {"{{ n is none }}|{{ 1 is number }}|{{ t is boolean }}|{{ 'x' is string }}|{{ d is mapping }}|{{ xs is iterable }}|{{ xs is sequence }}|{{ 'x' is not string }}",
       "True|True|True|True|True|True|True|False"},
      {"{{ 3 is odd }}|{{ 4 is even }}|{{ 9 is divisibleby 3 }}|{{ 9 is divisibleby(4) }}|{{ 1 is integer }}|{{ 1.5 is float }}|{{ t is true }}|{{ false is false }}",
       "True|True|True|False|True|True|True|True"},
      {"{{ 'abc' is lower }}|{{ 'ABC' is upper }}|{{ 2 is in xs }}|{{ undefined_name is undefined }}|{{ raise_exception is callable }}",
       "True|True|True|True|True"},
  };
  for (const Case& c : cases) EXPECT_EQ(render(c.source), c.expected) << c.source;
}

TEST(Jinja, Methods) {
  const Case cases[] = {
      {"{{ s.strip() }}|{{ s.lstrip() }}|{{ s.rstrip() }}|{{ 'xxhixx'.strip('x') }}|{{ '\\n\\nhi\\n'.lstrip('\\n') }}",
       "Hello World|Hello World  |  Hello World|hi|hi\n"},
      {"{{ 'a,b,,c'.split(',') }}|{{ '  a  b '.split() }}|{{ 'a b c'.split(' ', 1) }}|{{ 'abc'.split('b')[-1] }}",
       "['a', 'b', '', 'c']|['a', 'b']|['a', 'b c']|c"},
      {"{{ 'hello'.startswith('he') }}|{{ 'hello'.endswith(('x', 'lo')) }}|{{ 'Hi'.upper() }}|{{ 'Hi'.lower() }}|{{ 'a-b'.replace('-', '') }}|{{ 'hello world'.title() }}",
       "True|True|HI|hi|ab|Hello World"},
      {"{{ d.get('a') }}|{{ d.get('zz', 'none here') }}|{{ d.get('zz') }}|{{ d.keys() | list }}|{{ d.values() | list }}|{{ ', '.join(['x', 'y']) }}|{{ 'banana'.count('an') }}|{{ 'banana'.find('n') }}",
       "1|none here|None|['b', 'a', 'C']|[2, 1, 3]|x, y|2|2"},
  };
  for (const Case& c : cases) EXPECT_EQ(render(c.source), c.expected) << c.source;
}

TEST(Jinja, StrftimeNowUsesTheGivenClock) {
  RenderOptions options;
  options.now = 1721995200;  // 2024-07-26 12:00 UTC: the same day in every time zone but the far east / west
  const std::string out = render("{{ strftime_now('%d %b %Y') }}|{{ strftime_now('%B %Y') }}", context(), options);
  EXPECT_TRUE(out == "26 Jul 2024|July 2024" || out == "27 Jul 2024|July 2024" || out == "25 Jul 2024|July 2024") << out;
}

TEST(Jinja, RaiseExceptionIsAnErrorNamingTheLine) {
  EXPECT_EQ(render("line one\n{{ raise_exception('System role not supported') }}"),
            "ERROR line 2: the template raised an error: System role not supported");
}

TEST(Jinja, ErrorsNameTheLineAndTheProblem) {
  EXPECT_EQ(render("\n\n{{ xs | frobnicate }}"), "ERROR line 3: unknown filter 'frobnicate'");
  EXPECT_EQ(render("{{ x is frob }}"), "ERROR line 1: unknown test 'frob'");
  EXPECT_EQ(render("{% if true %}\nno end"), "ERROR line 1: {% if %} has no {% endif %}");
  EXPECT_EQ(render("{% for x in xs %}\n{% for y in xs %}{% endfor %}"), "ERROR line 1: {% for %} has no {% endfor %}");
  EXPECT_EQ(render("{% for x in xs %}{% endif %}"), "ERROR line 1: unknown tag 'endif'");
  EXPECT_EQ(render("{{ 'abc }}"), "ERROR line 1: string literal has no closing quote");
  EXPECT_EQ(render("x\n{{ 1 +"), "ERROR line 2: {{ has no closing }}");
  EXPECT_EQ(render("{{ (1 }}"), "ERROR line 1: unexpected '}', expected ')'");
  EXPECT_EQ(render("{{ 1 ) }}"), "ERROR line 1: unexpected ')'");
  EXPECT_EQ(render("{# never closed"), "ERROR line 1: comment {# has no closing #}");
  EXPECT_EQ(render("{% include 'x.jinja' %}"), "ERROR line 1: {% include %} is not supported in chat templates");
  EXPECT_EQ(render("{% frob %}"), "ERROR line 1: unknown tag 'frob'");
  EXPECT_EQ(render("{{ }}"), "ERROR line 1: expected an expression, found '}}'");
  EXPECT_EQ(render("{{ messages[0]['role'] }}"), "ERROR line 1: 'messages' is undefined");
  EXPECT_EQ(render("{{ d.missing.deeper }}"), "ERROR line 1: 'missing' is undefined");
  EXPECT_EQ(render("{{ 'a' + 1 }}"), "ERROR line 1: unsupported operand types for +: 'str' and 'int'");
  EXPECT_EQ(render("{{ 1 // 0 }}"), "ERROR line 1: division by zero");
  EXPECT_EQ(render("{{ 9223372036854775807 + 1 }}"), "ERROR line 1: integer overflow");
  EXPECT_EQ(render("{{ xs < 'a' }}"), "ERROR line 1: '<' is not supported between list and str");
  EXPECT_EQ(render("{% set d.x = 1 %}"), "ERROR line 1: cannot set an attribute on a dict (only on a namespace())");
  EXPECT_EQ(render("{% macro f(a) %}{% endmacro %}{{ f(1, 2) }}"), "ERROR line 1: macro 'f' takes at most 1 arguments, 2 given");
  EXPECT_EQ(render("{% macro f(a) %}{% endmacro %}{{ f(b=2) }}"), "ERROR line 1: macro 'f' has no parameter 'b'");
  EXPECT_EQ(render("{% break %}"), "ERROR {% break %} outside a loop");
  EXPECT_EQ(render("{{ none | tojson }}{{ undefined_name | tojson }}"),
            "ERROR line 1: tojson: a value of type undefined is not JSON serializable");
}

// jinja2: a loop body's `set` lasts until the end of its iteration; the next one starts
// from the value outside the loop again (state that carries over needs a namespace).
TEST(Jinja, EachLoopIterationStartsFromTheOuterVariables) {
  EXPECT_EQ(render("{% set y = 0 %}{% for x in xs %}[{{ y }}]{% set y = x %}{{ y }}{% endfor %}{{ y }}"), "[0]3[0]1[0]20");
}

TEST(Jinja, UndefinedPrintsNothingAndIteratesAsEmpty) {
  EXPECT_EQ(render("[{{ nothing }}]{% for x in nothing %}x{% endfor %}{{ nothing | length }}{{ nothing | trim }}"), "[]0");
}

TEST(Jinja, StringsAreCodePoints) {
  EXPECT_EQ(render("{{ 'añb' | length }}|{{ 'añb'[1] }}|{{ 'añb'[::-1] }}|{{ '｜DSML｜' | length }}"), "3|ñ|bña|6");
  EXPECT_EQ(render("{{ '\\u00e9\\x41\\n' | tojson }}"), "\"éA\\n\"");
  EXPECT_EQ(render("{{ '\u3000 x \u00a0'.strip() }}"), "x");  // Python strips Unicode spaces
}

TEST(Jinja, GenerationTagsRenderTheirBody) {
  // transformers' {% generation %} marks assistant text for training masks; it renders as is.
  EXPECT_EQ(render("a{%- generation -%}\n  b\n{%- endgeneration -%}c"), "abc");
}

TEST(Jinja, TemplateVariablesShadowTheContext) {
  EXPECT_EQ(render("{% set xs = xs[1:] %}{{ xs }}{% set t = false %}{{ t }}"), "[1, 2]False");
}

TEST(Jinja, ContextKeepsKeyOrder) {
  const auto ctx = nlohmann::ordered_json::parse(R"({"tool": {"z": 1, "a": {"y": [true, null], "b": 0.5}}})");
  EXPECT_EQ(render("{{ tool | tojson }}|{% for k in tool %}{{ k }}{% endfor %}", ctx),
            "{\"z\": 1, \"a\": {\"y\": [true, null], \"b\": 0.5}}|za");
}

}  // namespace
}  // namespace archscope::jinja
