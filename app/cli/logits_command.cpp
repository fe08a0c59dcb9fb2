// archscope-cli logits: the next-token distribution (softmax of the raw logits) after a
// list of token ids, for comparing archscope with llama.cpp on the same file.
#include <iostream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "archscope/sampler.h"
#include "session_options.h"

namespace archscope::cli {

namespace {

struct LogitsOptions {
  RunModelOptions run;
  std::string tokens;
  int top = 10;
  bool json = false;
  bool raw = false;
};

std::optional<std::vector<int32_t>> parse_tokens(const std::string& text) {
  std::vector<int32_t> ids;
  std::stringstream in(text);
  std::string part;
  while (std::getline(in, part, ',')) {
    try {
      size_t used = 0;
      const long long v = std::stoll(part, &used);
      if (used != part.size() || v < 0 || v > INT32_MAX) return std::nullopt;
      ids.push_back(static_cast<int32_t>(v));
    } catch (const std::exception&) {
      return std::nullopt;
    }
  }
  if (ids.empty()) return std::nullopt;
  return ids;
}

int run_logits(const LogitsOptions& opt) {
  const std::optional<std::vector<int32_t>> tokens = parse_tokens(opt.tokens);
  if (!tokens) {
    std::cerr << "archscope-cli: --tokens must be a comma-separated list of token ids, like 1,2,3\n";
    return kExitBadInput;
  }
  std::unique_ptr<Session> session = opt.run.open();
  if (!session) return kExitBadInput;
  Result<std::vector<float>> logits = session->feed(*tokens);
  if (!logits) {
    std::cerr << "archscope-cli: " << logits.error().what() << "\n";
    return kExitBadInput;
  }
  const std::vector<TokenProb> top = top_probabilities(*logits, opt.top);
  if (opt.json) {
    nlohmann::json out = {{"top", nlohmann::json::array()}};
    for (const TokenProb& t : top) {
      nlohmann::json entry = {{"id", t.id}, {"p", t.prob}};
      if (opt.raw) entry["logit"] = t.logit;
      out["top"].push_back(entry);
    }
    std::cout << out.dump() << "\n";
  } else {
    for (const TokenProb& t : top) {
      std::cout << t.id << "\t" << t.prob;
      if (opt.raw) std::cout << "\t" << t.logit;
      std::cout << "\n";
    }
  }
  return 0;
}

}  // namespace

Command add_logits_command(CLI::App& app) {
  auto opt = std::make_shared<LogitsOptions>();
  CLI::App* sub = app.add_subcommand("logits", "Next-token probabilities after the given token ids");
  opt->run.add_to(sub);
  sub->add_option("--tokens", opt->tokens, "Comma-separated token ids")->required();
  sub->add_option("--top", opt->top, "How many of the most likely tokens")->capture_default_str()->check(CLI::Range(1, 1 << 20));
  sub->add_flag("--json", opt->json, "Print {\"top\":[{\"id\":..,\"p\":..},...]}");
  sub->add_flag("--raw", opt->raw, "Add the raw logits");
  return {sub, [opt] { return run_logits(*opt); }};
}

}  // namespace archscope::cli
