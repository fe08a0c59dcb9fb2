// Runs archscope-cli as a user would and captures what it prints.
#pragma once

#include <sys/wait.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>

#include "formats/format_fixtures.h"

namespace archscope {

struct CliResult {
  int exit_code = -1;
  std::string out, err;
};

inline std::string shell_quote(const std::string& s) {
  std::string q = "'";
  for (char c : s) q += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return q + "'";
}

// stdin_text, when given, is piped to the command.
inline CliResult run_cli(const std::string& args, const std::string& stdin_text = "") {
  testing::TempDir dir;
  const std::string err_path = dir.file("stderr");
  std::string command = shell_quote(ARCHSCOPE_CLI) + " " + args + " 2>" + shell_quote(err_path);
  if (!stdin_text.empty()) {
    testing::write_text(dir.file("stdin"), stdin_text);
    command += " <" + shell_quote(dir.file("stdin"));
  } else {
    command += " </dev/null";
  }
  CliResult result;
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return result;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) result.out.append(buf, n);
  const int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  std::ifstream err(err_path);
  result.err.assign(std::istreambuf_iterator<char>(err), std::istreambuf_iterator<char>());
  return result;
}

}  // namespace archscope
