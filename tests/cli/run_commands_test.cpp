// make-model, logits, run, chat and bench through the real binary.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli/cli_fixtures.h"

namespace archscope {
namespace {

class RunCommands : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = dir_.file("tiny.gguf");
    const CliResult made = run_cli("make-model --arch llama --type q8_0 --seed 7 -o " + shell_quote(model_));
    ASSERT_EQ(made.exit_code, 0) << made.err;
  }
  std::string m() const { return " -m " + shell_quote(model_) + " --device cpu "; }

  testing::TempDir dir_;
  std::string model_;
};

TEST_F(RunCommands, LogitsJsonIsAProbabilityList) {
  const CliResult r = run_cli("logits" + m() + "--tokens 1,2,3 --top 4 --json --raw");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j["top"].size(), 4u);
  double previous = 1.0;
  for (const auto& t : j["top"]) {
    EXPECT_TRUE(t.contains("id") && t.contains("p") && t.contains("logit"));
    EXPECT_LE(t["p"].get<double>(), previous);
    previous = t["p"].get<double>();
  }
}

TEST_F(RunCommands, RunIsReproducibleForASeed) {
  const std::string args = "run" + m() + "-p 'Once upon a time' -n 12 --temp 0.9 --seed 5";
  const CliResult a = run_cli(args), b = run_cli(args);
  ASSERT_EQ(a.exit_code, 0) << a.err;
  EXPECT_EQ(a.out, b.out);
  EXPECT_EQ(a.out.rfind("Once upon a time", 0), 0u) << a.out;
  EXPECT_GT(a.out.size(), std::string("Once upon a time\n").size());
  const CliResult c = run_cli("run" + m() + "-p 'Once upon a time' -n 12 --temp 0.9 --seed 6");
  EXPECT_NE(a.out, c.out);
}

TEST_F(RunCommands, ChatReadsTurnsFromStdin) {
  const CliResult r = run_cli("chat" + m() + "-n 6 --temp 0", "Hello\nHow are you?\n");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 2) << r.out;  // one reply line per turn
}

TEST_F(RunCommands, BenchReportsSpeedAndBytes) {
  const CliResult r = run_cli("bench" + m() + "-p 16 -n 4 --repeat 1 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_GT(j["prefill_tokens_per_s"].get<double>(), 0.0);
  EXPECT_GT(j["decode_tokens_per_s"].get<double>(), 0.0);
  EXPECT_GT(j["decode_bytes_per_token"].get<uint64_t>(), j["memory"]["weights"].get<uint64_t>() / 2);
  EXPECT_GT(j["kv_bytes"].get<uint64_t>(), 0u);
}

TEST_F(RunCommands, BadInputExitsWithTwo) {
  EXPECT_EQ(run_cli("logits" + m() + "--tokens 1,x").exit_code, 2);
  EXPECT_EQ(run_cli("logits" + m() + "--tokens 999999").exit_code, 2);
  const CliResult long_prompt = run_cli("run" + m() + "--context 4 -p 'a long prompt that does not fit in four tokens'");
  EXPECT_EQ(long_prompt.exit_code, 2);
  EXPECT_NE(long_prompt.err.find("context"), std::string::npos) << long_prompt.err;
  EXPECT_EQ(run_cli("make-model --arch mamba -o " + shell_quote(dir_.file("x.gguf"))).exit_code, 2);
  const CliResult card = run_cli("run -m " + shell_quote(ARCHSCOPE_SOURCE_DIR "/models/cards/qwen3-8b.json") + " -p hi");
  EXPECT_EQ(card.exit_code, 2);
  EXPECT_NE(card.err.find("only GGUF files can be run"), std::string::npos) << card.err;
}

}  // namespace
}  // namespace archscope
