// Runs llama.cpp itself on a GGUF file, through tests/writer/llama_cpp_check.mjs and
// node-llama-cpp, for the tests that compare with it. They run only when
// ARCHSCOPE_NODE_LLAMA_CPP names a node_modules folder holding node-llama-cpp (e.g.
// /opt/ref/node_modules) and skip otherwise.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace archscope::testing {

inline constexpr const char* kNeedsNodeLlamaCpp = "set ARCHSCOPE_NODE_LLAMA_CPP to a node_modules folder with node-llama-cpp";

inline std::string node_llama_cpp_modules() {
  const char* modules = std::getenv("ARCHSCOPE_NODE_LLAMA_CPP");
  return modules ? modules : "";
}

// stdout of `command`, preceded by its exit status when that is not 0.
inline std::string run_command(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) return "popen failed: " + command;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0) out.append(buffer, n);
  const int status = ::pclose(pipe);
  if (status != 0) out = "exit status " + std::to_string(status) + "\n" + out;
  return out;
}

// llama.cpp's top five next tokens after each of `tokens` (the script's JSON, F32 KV cache)
// into `result`. Returns what went wrong, or an empty string.
inline std::string run_llama_cpp_check(const std::string& path, const std::vector<int32_t>& tokens, nlohmann::json& result) {
  std::string ids;
  for (int32_t t : tokens) {
    if (!ids.empty()) ids += ',';
    ids += std::to_string(t);
  }
  const std::string output = run_command("ARCHSCOPE_NODE_LLAMA_CPP='" + node_llama_cpp_modules() + "' node '" ARCHSCOPE_SOURCE_DIR
                                         "/tests/writer/llama_cpp_check.mjs' '" + path + "' --tokens " + ids + " --top 5");
  try {
    result = nlohmann::json::parse(output);
  } catch (const nlohmann::json::exception&) {
    return "llama_cpp_check.mjs printed no JSON:\n" + output;
  }
  return "";
}

}  // namespace archscope::testing
