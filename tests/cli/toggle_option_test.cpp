// --toggle NAME=VALUE (repeatable) on logits, run and bench, with a tiny Gemma 4.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "cli/cli_fixtures.h"

namespace archscope {
namespace {

class ToggleOption : public ::testing::Test {
 protected:
  void SetUp() override {
    model_ = dir_.file("gemma4.gguf");
    const CliResult made = run_cli("make-model --arch gemma4 --preset tiny --type f16 -o " + shell_quote(model_));
    ASSERT_EQ(made.exit_code, 0) << made.err;
  }
  std::string m(const std::string& device = "cpu") const {
    return " -m " + shell_quote(model_) + " --device " + device + " ";
  }

  testing::TempDir dir_;
  std::string model_;
};

TEST_F(ToggleOption, LogitsFollowTheToggles) {
  const std::string tokens = "--tokens 1,40,41,42,43,44,45,46,47,48 --top 3 --json";
  const CliResult base = run_cli("logits" + m() + tokens);
  const CliResult off = run_cli("logits" + m() + tokens + " --toggle ple=off");
  const CliResult both = run_cli("logits" + m() + tokens + " --toggle ple=off --toggle window=2");
  ASSERT_EQ(base.exit_code, 0) << base.err;
  ASSERT_EQ(off.exit_code, 0) << off.err;
  ASSERT_EQ(both.exit_code, 0) << both.err;
  EXPECT_NE(base.out, off.out);
  EXPECT_NE(off.out, both.out);  // the second --toggle counts too
}

TEST_F(ToggleOption, RunAcceptsToggles) {
  const CliResult r = run_cli("run" + m() + "-p 'Once upon a time' -n 8 --temp 0 --toggle all_global=on");
  EXPECT_EQ(r.exit_code, 0) << r.err;
}

TEST_F(ToggleOption, BenchReportsTheDeviceBytesTheHostTableSaves) {
  const CliResult host = run_cli("bench" + m("vulkan") + "-p 8 -n 2 --repeat 1 --json --toggle ple_table=host");
  const CliResult device = run_cli("bench" + m("vulkan") + "-p 8 -n 2 --repeat 1 --json --toggle ple_table=device");
  ASSERT_EQ(host.exit_code, 0) << host.err;
  ASSERT_EQ(device.exit_code, 0) << device.err;
  const nlohmann::json h = nlohmann::json::parse(host.out), d = nlohmann::json::parse(device.out);
  EXPECT_EQ(h["ple_table_host_bytes"].get<uint64_t>(), 512u * 10 * 16 * 2);  // the f16 table
  EXPECT_EQ(d["ple_table_host_bytes"].get<uint64_t>(), 0u);
  EXPECT_LE(h["memory"]["weights"].get<uint64_t>() + h["ple_table_host_bytes"].get<uint64_t>(),
            d["memory"]["weights"].get<uint64_t>());
  const CliResult text = run_cli("bench" + m("vulkan") + "-p 8 -n 2 --repeat 1 --toggle ple_table=host");
  EXPECT_NE(text.out.find("per-layer embedding table: in host memory, saves 160.0 KiB of device memory"),
            std::string::npos)
      << text.out;
}

TEST_F(ToggleOption, BadTogglesExitWithTwo) {
  const CliResult form = run_cli("logits" + m() + "--tokens 1 --toggle ple");
  EXPECT_EQ(form.exit_code, 2);
  EXPECT_NE(form.err.find("a toggle is NAME=VALUE"), std::string::npos) << form.err;
  const CliResult unknown = run_cli("logits" + m() + "--tokens 1 --toggle warp=9");
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("unknown toggle \"warp\""), std::string::npos) << unknown.err;
  const CliResult value = run_cli("bench" + m() + "-p 4 -n 1 --toggle ple_table=gpu");
  EXPECT_EQ(value.exit_code, 2);
  EXPECT_NE(value.err.find("toggle ple_table takes auto, device, host"), std::string::npos) << value.err;
}

}  // namespace
}  // namespace archscope
