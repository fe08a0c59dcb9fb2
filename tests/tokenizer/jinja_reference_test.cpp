// archscope's Jinja interpreter against @huggingface/jinja (tests/tokenizer/jinja_reference.mjs):
// the published templates of the families archscope runs and the templates of its tiny
// models, each with several conversations (with and without a system message, odd
// whitespace and reasoning, tool calls and results, thinking on and off), must render
// byte for byte the same. Runs when ARCHSCOPE_NODE_LLAMA_CPP names a node_modules folder
// holding @huggingface/jinja (e.g. /opt/ref/node_modules), skips otherwise.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "archscope/gguf.h"
#include "archscope/model_writer.h"
#include "tokenizer/jinja/template.h"
#include "tokenizer_fixtures.h"
#include "writer/llama_cpp_run.h"

namespace archscope {
namespace {

using nlohmann::ordered_json;

constexpr int64_t kNow = 1772712000;  // 2026-03-05 12:00 UTC, for strftime_now

std::string read_file(const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

// The conversations every template renders.
std::vector<std::pair<std::string, ordered_json>> conversations() {
  const ordered_json with_system = ordered_json::parse(R"([
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "Hello! Who are you?"},
    {"role": "assistant", "content": "I am a small model that archscope runs."},
    {"role": "user", "content": "Tell me a story about a cat,\nin two sentences."}])");
  const ordered_json odd = ordered_json::parse(R"([
    {"role": "user", "content": "  Hi  "},
    {"role": "assistant", "content": "<think>\nplan\n</think>\n\nHello!  "},
    {"role": "assistant", "content": "<|channel>thought\nhmm<channel|>More: é ✓ 日本"},
    {"role": "user", "content": "Bye\nnow "}])");
  const ordered_json tools_chat = ordered_json::parse(R"([
    {"role": "system", "content": "S1"},
    {"role": "user", "content": "What is the weather?"},
    {"role": "assistant", "content": "", "tool_calls": [{"id": "c1", "type": "function",
      "function": {"name": "get_weather", "arguments": {"city": "Paris", "days": 3, "units": ["c", "f"]}}}]},
    {"role": "tool", "tool_call_id": "c1", "name": "get_weather", "content": "{\"temp\": 21}"},
    {"role": "assistant", "content": "It is 21 degrees.", "reasoning_content": "The tool said 21."},
    {"role": "user", "content": "Thanks"}])");
  const ordered_json tools = ordered_json::parse(R"([{"type": "function", "function": {"name": "get_weather",
    "description": "Get the weather", "parameters": {"type": "object", "properties": {
      "city": {"type": "string", "description": "The city"},
      "days": {"type": "integer", "description": "How many days", "nullable": true},
      "units": {"type": "array", "items": {"type": "string", "enum": ["c", "f"]}}}, "required": ["city"]}}}])");
  std::vector<std::pair<std::string, ordered_json>> out;
  auto add = [&](const std::string& name, const ordered_json& messages, bool generation, const ordered_json& extra) {
    ordered_json ctx = {{"messages", messages}, {"add_generation_prompt", generation}, {"bos_token", "<BOS>"}, {"eos_token", "<EOS>"}};
    for (const auto& [k, v] : extra.items()) ctx[k] = v;
    out.emplace_back(name, ctx);
  };
  add("system", with_system, true, {{"enable_thinking", false}});
  ordered_json without_system = with_system;
  without_system.erase(without_system.begin());
  add("no-system", without_system, true, ordered_json::object());
  add("odd", odd, false, ordered_json::object());
  add("odd-thinking", odd, true, {{"enable_thinking", true}});
  add("tools", tools_chat, true, {{"tools", tools}, {"enable_thinking", true}});
  return out;
}

TEST(JinjaReference, SameRenderingsAsHuggingFaceJinja) {
  if (testing::node_llama_cpp_modules().empty()) GTEST_SKIP() << "set ARCHSCOPE_NODE_LLAMA_CPP to a node_modules folder with @huggingface/jinja";
  testing::TokenizerTempDir dir;
  std::vector<std::pair<std::string, std::string>> templates;  // name, text
  for (const auto& entry : std::filesystem::directory_iterator(ARCHSCOPE_SOURCE_DIR "/tests/tokenizer/chat_templates")) {
    if (entry.path().extension() == ".jinja") templates.emplace_back(entry.path().filename().string(), read_file(entry.path().string()));
  }
  for (const char* arch : {"llama", "qwen3", "gemma4", "laguna", "deepseek4"}) {
    TinyModelOptions options;
    options.arch = arch;
    const std::string path = dir.file(std::string(arch) + ".gguf");
    write_tiny_model(options, path);
    templates.emplace_back(std::string("tiny ") + arch, GgufFile::open(path).find("tokenizer.chat_template")->s);
  }
  ASSERT_GE(templates.size(), 17u);

  ordered_json input = {{"now", kNow}, {"cases", ordered_json::array()}};
  std::vector<std::pair<std::string, std::pair<const std::string*, ordered_json>>> cases;
  const auto chats = conversations();
  for (const auto& [name, text] : templates) {
    for (const auto& [chat, ctx] : chats) {
      const std::string case_name = name + " / " + chat;
      input["cases"].push_back({{"name", case_name}, {"template", text}, {"context", ctx}});
      cases.push_back({case_name, {&text, ctx}});
    }
  }
  const std::string cases_path = dir.file("cases.json");
  std::ofstream(cases_path) << input.dump();
  const std::string output = testing::run_command("ARCHSCOPE_NODE_LLAMA_CPP='" + testing::node_llama_cpp_modules() +
                                                  "' node '" ARCHSCOPE_SOURCE_DIR "/tests/tokenizer/jinja_reference.mjs' '" +
                                                  cases_path + "'");
  ordered_json results;
  try {
    results = ordered_json::parse(output);
  } catch (const nlohmann::json::exception&) {
    FAIL() << "jinja_reference.mjs printed no JSON:\n" << output;
  }
  ASSERT_EQ(results.size(), cases.size());
  jinja::RenderOptions options;
  options.now = kNow;
  int compared = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const auto& [name, job] = cases[i];
    Result<jinja::Template> t = jinja::Template::parse(*job.first);
    ASSERT_TRUE(t) << name << ": " << t.error().what();
    Result<std::string> ours = t->render(job.second, options);
    const ordered_json& ref = results[i];
    if (ref.contains("error")) {
      // Both refuse (the template's raise_exception): the messages are worded differently.
      EXPECT_FALSE(ours) << name << ": @huggingface/jinja failed (" << ref["error"].get<std::string>() << "), archscope rendered";
      continue;
    }
    ASSERT_TRUE(ours) << name << ": " << ours.error().what();
    EXPECT_EQ(*ours, ref["output"].get<std::string>()) << name;
    ++compared;
  }
  EXPECT_GE(compared, 80);
}

}  // namespace
}  // namespace archscope
