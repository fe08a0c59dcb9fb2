// Laguna through the real binary: inspect on the XS.2 card (10 global layers of 48 query
// heads, 30 sliding layers of 64, and their cache bytes), and make-model + bench on the
// tiny model, whose decode reads only the chosen experts' weights.
#include <gtest/gtest.h>

#include <sstream>

#include <nlohmann/json.hpp>

#include "archscope/model_writer.h"
#include "cli/cli_fixtures.h"

namespace archscope {
namespace {

const std::string kCard = ARCHSCOPE_SOURCE_DIR "/models/cards/laguna-xs.2.json";
// One position of one layer's cache: K and V, 8 heads x 128 dims, f16.
constexpr uint64_t kSlot = 2ull * 8 * 128 * 2;

TEST(LagunaCli, InspectShowsTheAttentionBudgetsAndCacheBytes) {
  const CliResult json_run = run_cli("inspect --json " + shell_quote(kCard));
  ASSERT_EQ(json_run.exit_code, 0) << json_run.err;
  const nlohmann::json j = nlohmann::json::parse(json_run.out);
  ASSERT_EQ(j["layers"].size(), 40u);
  int global = 0, sliding = 0;
  for (const nlohmann::json& l : j["layers"]) {
    SCOPED_TRACE("layer " + l["index"].dump());
    if (l["kind"] == "global") {
      ++global;
      EXPECT_EQ(l["q_heads"], 48);
      EXPECT_EQ(l["kv_bytes"].get<uint64_t>(), 131072 * kSlot);  // the whole trained context: 512 MiB
    } else {
      ++sliding;
      EXPECT_EQ(l["kind"], "sliding");
      EXPECT_EQ(l["q_heads"], 64);
      EXPECT_EQ(l["window"], 512);
      EXPECT_EQ(l["kv_bytes"].get<uint64_t>(), 512 * kSlot);  // the window: 2 MiB
    }
    EXPECT_EQ(l["kv_heads"], 8);
  }
  EXPECT_EQ(global, 10);
  EXPECT_EQ(sliding, 30);
  EXPECT_EQ(j["kv_bytes"].get<uint64_t>(), (10ull * 131072 + 30ull * 512) * kSlot);  // 5,431,623,680
  EXPECT_EQ(j["kv_bytes_no_windows"].get<uint64_t>(), 40ull * 131072 * kSlot);

  // The text table: one row per layer with its kind, window and q/kv heads.
  const CliResult text = run_cli("inspect " + shell_quote(kCard));
  ASSERT_EQ(text.exit_code, 0) << text.err;
  std::istringstream lines(text.out);
  int global_rows = 0, sliding_rows = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.find(" global ") != std::string::npos && line.find("48/8") != std::string::npos &&
        line.find("512.0 MiB") != std::string::npos)
      ++global_rows;
    if (line.find(" sliding ") != std::string::npos && line.find(" 512 ") != std::string::npos &&
        line.find("64/8") != std::string::npos && line.find("2.0 MiB") != std::string::npos)
      ++sliding_rows;
  }
  EXPECT_EQ(global_rows, 10) << text.out;
  EXPECT_EQ(sliding_rows, 30) << text.out;
  EXPECT_NE(text.out.find("5,431,623,680 bytes"), std::string::npos) << text.out;
}

TEST(LagunaCli, BenchDecodeReadsTheChosenExpertsOnly) {
  testing::TempDir dir;
  const std::string model = dir.file("laguna.gguf");
  const CliResult made = run_cli("make-model --arch laguna --type f32 -o " + shell_quote(model));
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const CliResult r = run_cli("bench -m " + shell_quote(model) + " --device cpu -p 16 -n 4 --repeat 1 --json");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_GT(j["decode_tokens_per_s"].get<double>(), 0.0);

  // The tiny model: 4 MoE layers of 8 experts, top 2; an expert's gate, up and down are
  // 3 x 128 x 64 f32. A decode step reads every weight but the token table (one row of
  // it) and 6 of the 8 experts of each MoE layer.
  const ModelSpec spec = tiny_model_spec({"laguna", "tiny", GgmlType::F32, 1});
  uint64_t total = 0, table = 0;
  for (const TensorSpec& t : spec.tensors) {
    total += t.bytes;
    if (t.name == "token_embd.weight") table = t.bytes;
  }
  const uint64_t expert = 3ull * 128 * 64 * 4;
  EXPECT_EQ(j["memory"]["weights"].get<uint64_t>(), total);
  EXPECT_EQ(j["decode_weight_bytes_per_token"].get<uint64_t>(), total - table + 128 * 4 - 4 * 6 * expert);
  EXPECT_EQ(j["decode_bytes_per_token"].get<uint64_t>(),
            j["decode_weight_bytes_per_token"].get<uint64_t>() + j["decode_cache_bytes_per_token"].get<uint64_t>());
}

}  // namespace
}  // namespace archscope
