// archscope-cli inspect, run as a user would: every card, JSON keys, and bad input.
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "archscope/gguf.h"
#include "cli/cli_fixtures.h"
#include "formats/format_fixtures.h"

namespace archscope {
namespace {

namespace fs = std::filesystem;

std::vector<std::string> card_paths() {
  std::vector<std::string> cards;
  for (const auto& entry : fs::directory_iterator(ARCHSCOPE_SOURCE_DIR "/models/cards")) {
    if (entry.path().extension() == ".json") cards.push_back(entry.path().string());
  }
  std::sort(cards.begin(), cards.end());
  return cards;
}

TEST(InspectCli, EveryCardInspects) {
  const std::vector<std::string> cards = card_paths();
  ASSERT_GE(cards.size(), 10u);
  for (const std::string& card : cards) {
    const CliResult text = run_cli("inspect " + shell_quote(card));
    EXPECT_EQ(text.exit_code, 0) << card << ": " << text.err;
    EXPECT_NE(text.out.find("KV cache"), std::string::npos) << card;

    const CliResult json_run = run_cli("inspect --json --context 4096 " + shell_quote(card));
    ASSERT_EQ(json_run.exit_code, 0) << card << ": " << json_run.err;
    const nlohmann::json j = nlohmann::json::parse(json_run.out);
    for (const char* key : {"name", "architecture", "kv_bytes", "kv_bytes_no_sharing", "kv_bytes_naive",
                            "weight_bytes", "params", "layers", "context", "cache_type"}) {
      EXPECT_TRUE(j.contains(key)) << card << " lacks " << key;
    }
    EXPECT_EQ(j["context"], 4096);
    EXPECT_EQ(j["layers"].size(), j["layer_count"].get<size_t>()) << card;
    EXPECT_LE(j["kv_bytes"].get<uint64_t>(), j["kv_bytes_no_sharing"].get<uint64_t>()) << card;
    // Naive counts raw K and V only (no fixed state, no compressed entries), so compare it
    // with the figure that keeps the same shape: every owner at full context.
    EXPECT_LE(j["kv_bytes_no_windows"].get<uint64_t>(), j["kv_bytes_naive"].get<uint64_t>()) << card;
    uint64_t layer_sum = 0;
    for (const auto& layer : j["layers"]) layer_sum += layer["kv_bytes"].get<uint64_t>();
    EXPECT_EQ(layer_sum, j["kv_bytes"].get<uint64_t>()) << card;
  }
}

TEST(InspectCli, CacheTypeScalesBytes) {
  const std::string card = shell_quote(ARCHSCOPE_SOURCE_DIR "/models/cards/llama-3.1-8b.json");
  const auto f16 = nlohmann::json::parse(run_cli("inspect --json --context 1024 " + card).out);
  const auto f32 = nlohmann::json::parse(run_cli("inspect --json --context 1024 --cache-type f32 " + card).out);
  EXPECT_EQ(f16["cache_type"], "f16");
  EXPECT_EQ(f32["kv_bytes"].get<uint64_t>(), 2 * f16["kv_bytes"].get<uint64_t>());
  // 32 layers x 1024 positions x (K + V) x 8 heads x 128 dims x 2 bytes
  EXPECT_EQ(f16["kv_bytes"].get<uint64_t>(), 32ull * 1024 * 2 * 8 * 128 * 2);
}

TEST(InspectCli, InspectsAGgufFile) {
  testing::TempDir dir;
  GgufWriter w;
  w.set_string("general.architecture", "llama");
  w.set_string("general.name", "cli-tiny");
  w.set_u32("llama.block_count", 1);
  w.set_u32("llama.context_length", 64);
  w.set_u32("llama.embedding_length", 32);
  w.set_u32("llama.feed_forward_length", 64);
  w.set_u32("llama.attention.head_count", 2);
  w.set_u32("llama.vocab_size", 16);
  w.add_tensor("token_embd.weight", {32, 16}, GgmlType::F32, std::vector<uint8_t>(32 * 16 * 4));
  w.write(dir.file("tiny.gguf"));
  const CliResult r = run_cli("inspect --json " + shell_quote(dir.file("tiny.gguf")));
  ASSERT_EQ(r.exit_code, 0) << r.err;
  const auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["name"], "cli-tiny");
  EXPECT_EQ(j["source"], "gguf");
  EXPECT_EQ(j["weight_bytes"], 32 * 16 * 4);
  EXPECT_EQ(j["context"], 64);
  EXPECT_EQ(j["chat_template"]["outcome"], "no_template");
}

// The last line of a GGUF file's inspect says whether its chat template agrees with the
// built-in format; --json has the same under chat_template.
TEST(InspectCli, SaysWhetherTheChatTemplateAgrees) {
  testing::TempDir dir;
  const std::string path = dir.file("demo.gguf");
  fs::copy_file(ARCHSCOPE_SOURCE_DIR "/models/demo/archscope-demo-qwen3.gguf", path);
  const CliResult text = run_cli("inspect " + shell_quote(path));
  ASSERT_EQ(text.exit_code, 0) << text.err;
  EXPECT_NE(text.out.find("\nChat template    chat template renders the same prompt as archscope's built-in chatml format\n"),
            std::string::npos)
      << text.out;
  const auto j = nlohmann::json::parse(run_cli("inspect --json " + shell_quote(path)).out);
  EXPECT_EQ(j["chat_template"]["format"], "chatml");
  EXPECT_EQ(j["chat_template"]["outcome"], "agrees");
  EXPECT_TRUE(j["chat_template"]["first_difference"].is_null());
}

// Bad input: one clear line naming the file on stderr, exit code 2, never a crash.
void expect_clean_failure(const CliResult& r, const std::string& needle) {
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find(needle), std::string::npos) << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1) << r.err;
  EXPECT_TRUE(r.out.empty()) << r.out;
}

TEST(InspectCli, BadInputExitsWithTwo) {
  testing::TempDir dir;
  testing::write_bytes(dir.file("truncated.gguf"), {'G', 'G', 'U', 'F', 3, 0});
  expect_clean_failure(run_cli("inspect " + shell_quote(dir.file("truncated.gguf"))), "truncated.gguf");
  testing::write_text(dir.file("notes.txt"), "hello");
  expect_clean_failure(run_cli("inspect " + shell_quote(dir.file("notes.txt"))), "notes.txt");
  expect_clean_failure(run_cli("inspect " + shell_quote(dir.file("missing.gguf"))), "missing.gguf");
  expect_clean_failure(run_cli("inspect --cache-type q4_K " + shell_quote(ARCHSCOPE_SOURCE_DIR "/models/cards/qwen3-8b.json")),
                       "--cache-type");
  EXPECT_EQ(run_cli("inspect").exit_code, 2);
  EXPECT_EQ(run_cli("frobnicate").exit_code, 2);
}

}  // namespace
}  // namespace archscope
