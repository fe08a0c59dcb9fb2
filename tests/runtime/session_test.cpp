// Running whole models: the CPU reference path against llama.cpp, Vulkan against the CPU,
// batched prefill against token-by-token decode, and the session's errors.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "runtime/session_fixtures.h"
#include "archscope/gguf.h"
#include "archscope/model_loader.h"
#include "archscope/model_writer.h"
#include "archscope/sampler.h"
#include "archscope/session.h"
#include "formats/format_fixtures.h"

namespace archscope {
namespace {

const std::vector<int32_t> kPrompt = {17, 250, 3, 99, 400, 12, 77, 8, 301, 45, 123, 6};

std::string tiny_model(const testing::TempDir& dir, const std::string& arch, GgmlType type) {
  const std::string path = dir.file(arch + "-" + ggml_type_info(type)->name + ".gguf");
  write_tiny_model({arch, "tiny", type, 1}, path);
  return path;
}

// llama.cpp (node-llama-cpp 3.21.1, CPU, F32 KV cache, flash attention off) on the files
// write_tiny_model({arch, "tiny", f32, seed 1}) writes, fed kPrompt: the top five
// next-token probabilities after positions 0, 5 and 11. Produced with
// tests/writer/llama_cpp_check.mjs --tokens 17,250,3,99,400,12,77,8,301,45,123,6 --top 5.
const std::map<std::string, std::vector<ExpectedTop>> kLlamaCpp = {
    {"llama",
     {{0, {{129, 0.2417274}, {341, 0.1496871}, {183, 0.0810206}, {123, 0.0665636}, {271, 0.0368723}}},
      {5, {{111, 0.1131883}, {174, 0.0547082}, {249, 0.0542514}, {23, 0.0498553}, {382, 0.0452345}}},
      {11, {{407, 0.2306931}, {341, 0.0875745}, {116, 0.0683820}, {123, 0.0536384}, {136, 0.0318340}}}}},
    {"qwen3",
     {{0, {{313, 0.2832080}, {255, 0.1447792}, {399, 0.0882521}, {411, 0.0567935}, {71, 0.0368981}}},
      {5, {{334, 0.1700216}, {466, 0.1476715}, {403, 0.0957687}, {398, 0.0772519}, {399, 0.0291207}}},
      {11, {{146, 0.4811582}, {280, 0.0367619}, {17, 0.0287701}, {466, 0.0207432}, {406, 0.0204281}}}}},
};

void expect_matches_llama_cpp(const std::string& arch, const std::string& device) {
  testing::TempDir dir;
  std::unique_ptr<Session> session = open(tiny_model(dir, arch, GgmlType::F32), device);
  ASSERT_TRUE(session);
  expect_top_probabilities(*session, kPrompt, kLlamaCpp.at(arch), 2e-6);
}

TEST(Session, CpuMatchesLlamaCppLlama) { expect_matches_llama_cpp("llama", "cpu"); }
TEST(Session, CpuMatchesLlamaCppQwen3) { expect_matches_llama_cpp("qwen3", "cpu"); }
TEST(Session, VulkanMatchesLlamaCppLlama) { expect_matches_llama_cpp("llama", "vulkan"); }
TEST(Session, VulkanMatchesLlamaCppQwen3) { expect_matches_llama_cpp("qwen3", "vulkan"); }

// Batched prefill and token-by-token decode compute the same thing.
TEST(Session, PrefillBatchesAgreeWithDecode) {
  testing::TempDir dir;
  const std::string path = tiny_model(dir, "qwen3", GgmlType::F32);
  expect_batches_agree(path, kPrompt, {1, 5, 256});
}

// Vulkan against the CPU reference for every weight type: the same greedy 64 tokens and
// logits within a per-type tolerance at every step (f16 cache, the default).
struct TypeCase {
  const char* arch;
  GgmlType type;
  float tolerance;  // largest logit difference allowed
};

class VulkanAgrees : public ::testing::TestWithParam<TypeCase> {};

TEST_P(VulkanAgrees, GreedySixtyFourTokens) {
  testing::TempDir dir;
  const std::string path = tiny_model(dir, GetParam().arch, GetParam().type);
  std::unique_ptr<Session> cpu = open(path, "cpu", GgmlType::F16, 8);
  std::unique_ptr<Session> gpu = open(path, "vulkan", GgmlType::F16, 8);
  ASSERT_TRUE(cpu && gpu);
  std::vector<int32_t> next = kPrompt;
  float worst = 0.0f;
  for (int step = 0; step < 64; ++step) {
    Result<std::vector<float>> a = cpu->feed(next), b = gpu->feed(next);
    ASSERT_TRUE(a && b);
    for (size_t i = 0; i < a->size(); ++i) worst = std::max(worst, std::fabs((*a)[i] - (*b)[i]));
    const int32_t ta = static_cast<int32_t>(std::max_element(a->begin(), a->end()) - a->begin());
    const int32_t tb = static_cast<int32_t>(std::max_element(b->begin(), b->end()) - b->begin());
    ASSERT_EQ(ta, tb) << "step " << step;
    next = {ta};
  }
  EXPECT_LE(worst, GetParam().tolerance);
  std::printf("largest logit difference over 64 steps: %g\n", worst);
}

INSTANTIATE_TEST_SUITE_P(Types, VulkanAgrees,
                         ::testing::Values(TypeCase{"llama", GgmlType::F32, 1e-3f}, TypeCase{"llama", GgmlType::F16, 1e-3f},
                                           TypeCase{"llama", GgmlType::Q8_0, 1e-3f}, TypeCase{"llama", GgmlType::Q4_K, 5e-3f},
                                           TypeCase{"qwen3", GgmlType::BF16, 1e-3f}, TypeCase{"qwen3", GgmlType::Q4_0, 1e-3f}),
                         [](const auto& info) {
                           return std::string(info.param.arch) + "_" + ggml_type_info(info.param.type)->name;
                         });

TEST(Session, RewindReproduces) {
  testing::TempDir dir;
  std::unique_ptr<Session> session = open(tiny_model(dir, "llama", GgmlType::Q8_0), "cpu", GgmlType::Q8_0);
  ASSERT_TRUE(session);
  Result<std::vector<float>> first = session->feed(kPrompt);
  ASSERT_TRUE(first);
  session->rewind(4);
  EXPECT_EQ(session->position(), 4);
  Result<std::vector<float>> again = session->feed(std::span(kPrompt).subspan(4));
  ASSERT_TRUE(again);
  EXPECT_EQ(*first, *again);
}

TEST(Session, ClearErrors) {
  testing::TempDir dir;
  const std::string path = tiny_model(dir, "llama", GgmlType::F16);
  SessionOptions options;
  options.device = "cpu";
  options.context = 8;
  Result<std::unique_ptr<Session>> session = Session::open(path, options);
  ASSERT_TRUE(session) << session.error().what();
  Result<std::vector<float>> r = (*session)->feed(kPrompt);  // 12 tokens, context 8
  ASSERT_FALSE(r);
  EXPECT_NE(std::string(r.error().what()).find("do not fit the context of 8"), std::string::npos) << r.error().what();
  const int32_t bad = 100000;
  r = (*session)->feed(std::span(&bad, 1));
  ASSERT_FALSE(r);
  EXPECT_NE(std::string(r.error().what()).find("outside the vocabulary"), std::string::npos);

  // Cancelling a long prefill between batches.
  options.context = 64;
  options.batch = 4;
  session = Session::open(path, options);
  ASSERT_TRUE(session);
  r = (*session)->feed(kPrompt, [](int done, int) { return done < 4; });
  ASSERT_FALSE(r);
  EXPECT_NE(std::string(r.error().what()).find("cancelled"), std::string::npos);
  EXPECT_EQ((*session)->position(), 4);  // the first batch stays in the cache

  Result<std::unique_ptr<Session>> card = Session::open(ARCHSCOPE_SOURCE_DIR "/models/cards/qwen3-8b.json", options);
  ASSERT_FALSE(card);
  EXPECT_NE(std::string(card.error().what()).find("only GGUF files can be run"), std::string::npos);
  options.device = "no-such-gpu";
  Result<std::unique_ptr<Session>> nodev = Session::open(path, options);
  ASSERT_FALSE(nodev);
}

TEST(Session, MissingTensorIsNamed) {
  testing::TempDir dir;
  const std::string path = tiny_model(dir, "llama", GgmlType::F32);
  GgufFile file = GgufFile::open(path);
  GgufWriter copy;
  for (const auto& [key, value] : file.metadata()) {
    if (key != "general.alignment") copy.set(key, value);
  }
  for (const GgufTensor& t : file.tensors()) {
    if (t.name == "blk.2.attn_k.weight") continue;
    copy.add_tensor(t.name, t.shape, t.type, std::vector<uint8_t>(t.data, t.data + t.bytes));
  }
  copy.write(dir.file("broken.gguf"));
  SessionOptions options;
  options.device = "cpu";
  Result<std::unique_ptr<Session>> session = Session::open(dir.file("broken.gguf"), options);
  ASSERT_FALSE(session);
  EXPECT_NE(std::string(session.error().what()).find("broken.gguf: missing tensor blk.2.attn_k.weight"), std::string::npos)
      << session.error().what();
}

// A vocabulary-only file (llama.cpp's ggml-vocab-*: the model's metadata, no tensors)
// inspects like a card but cannot run, and says so.
TEST(Session, VocabularyOnlyFileSaysItHasNoWeights) {
  testing::TempDir dir;
  GgufFile file = GgufFile::open(tiny_model(dir, "llama", GgmlType::F32));
  GgufWriter copy;
  for (const auto& [key, value] : file.metadata()) {
    if (key != "general.alignment") copy.set(key, value);
  }
  copy.write(dir.file("ggml-vocab-llama.gguf"));
  EXPECT_TRUE(load_model_spec(dir.file("ggml-vocab-llama.gguf")).ok());
  SessionOptions options;
  options.device = "cpu";
  Result<std::unique_ptr<Session>> session = Session::open(dir.file("ggml-vocab-llama.gguf"), options);
  ASSERT_FALSE(session);
  EXPECT_NE(std::string(session.error().what()).find("ggml-vocab-llama.gguf: holds no weights"), std::string::npos)
      << session.error().what();
}

}  // namespace
}  // namespace archscope

namespace archscope {
namespace {

// Each feed leaves a report: cache bytes filled per layer (position x slot bytes until
// the cache is full), the positions attended, the query heads, and the step's time.
TEST(Session, StepReportFollowsTheCache) {
  testing::TempDir dir;
  std::unique_ptr<Session> session = open(tiny_model(dir, "qwen3", GgmlType::F16), "cpu", GgmlType::F16);
  ASSERT_TRUE(session);
  ASSERT_TRUE(session->feed(std::span(kPrompt).subspan(0, 5)));
  const StepReport& r = session->last_report();
  EXPECT_EQ(r.position, 5);
  EXPECT_EQ(r.tokens, 5);
  EXPECT_GT(r.milliseconds, 0.0);
  ASSERT_EQ(r.layers.size(), session->spec().layers.size());
  const CachePlan five = plan_cache(session->spec(), 5, GgmlType::F16);
  EXPECT_EQ(r.cache_bytes, five.bytes);
  for (const LayerStep& l : r.layers) {
    EXPECT_EQ(l.cache_bytes, five.layers[l.layer].bytes) << "layer " << l.layer;
    EXPECT_EQ(l.attended, 5u);
    EXPECT_EQ(l.query_heads, session->spec().layers[l.layer].q_heads);
  }
  ASSERT_TRUE(session->feed(std::span(kPrompt).subspan(5, 1)));
  EXPECT_EQ(session->last_report().position, 6);
  EXPECT_EQ(session->last_report().tokens, 1);
  EXPECT_EQ(session->last_report().cache_bytes, plan_cache(session->spec(), 6, GgmlType::F16).bytes);
}

TEST(Session, TogglesThatDoNotApplyAreRefused) {
  testing::TempDir dir;
  SessionOptions options;
  options.device = "cpu";
  options.toggles = {{"window", "4"}};  // tiny llama has no sliding layers
  Result<std::unique_ptr<Session>> session = Session::open(tiny_model(dir, "llama", GgmlType::F16), options);
  ASSERT_FALSE(session);
  EXPECT_NE(std::string(session.error().what()).find("toggle window does not apply"), std::string::npos)
      << session.error().what();
}

}  // namespace
}  // namespace archscope
