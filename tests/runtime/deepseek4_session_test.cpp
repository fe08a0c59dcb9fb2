// DeepSeek V4 on the engine, with the tiny model (write_tiny_model deepseek4 tiny: 4 layers
// with compress ratios [0, 4, 128, 4], a window of 8, 4 mHC streams, hash routing on layer
// 0): the CPU reference against llama.cpp over 300 tokens (CSA selection, an HCA block
// completed at 128 and 256), batches against decode, cache bytes against the CachePlan,
// the mHC report, hash routing, rewinds over the compressor state, toggles, bad files.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <functional>
#include <numeric>

#include "archscope/gguf.h"
#include "archscope/model_writer.h"
#include "archscope/sampler.h"
#include "archscope/session.h"
#include "formats/format_fixtures.h"
#include "runtime/session_fixtures.h"

namespace archscope {
namespace {

// Token i of the prompt is (37 i + 11) % 509: every id differs from its neighbours.
std::vector<int32_t> prompt(int n) {
  std::vector<int32_t> tokens(n);
  for (int i = 0; i < n; ++i) tokens[i] = (i * 37 + 11) % 509;
  return tokens;
}

std::string tiny_deepseek4(const testing::TempDir& dir, GgmlType type) {
  const std::string path = dir.file(std::string("deepseek4-tiny-") + ggml_type_info(type)->name + ".gguf");
  write_tiny_model({"deepseek4", "tiny", type, 1}, path);
  return path;
}

// llama.cpp (node-llama-cpp 3.21.1, CPU, F32 KV cache, flash attention off) on the file
// write_tiny_model({"deepseek4", "tiny", f32, seed 1}) writes, fed prompt(300): the top
// five next-token probabilities after position 0, 44 (CSA layers choose 4 of 11 entries),
// 127 and 128 (the first HCA entry), 255, 256 (the second) and 299. Produced with
//   archscope-cli make-model --arch deepseek4 --preset tiny --type f32 --seed 1 -o d.gguf
//   ARCHSCOPE_NODE_LLAMA_CPP=/opt/ref/node_modules node tests/writer/llama_cpp_check.mjs d.gguf
//     --tokens <prompt(300), comma-separated> --top 5   (one command line)
const std::vector<ExpectedTop> kLlamaCpp = {
    {0, {{429, 0.4161476}, {383, 0.0341319}, {505, 0.0302149}, {241, 0.0256437}, {339, 0.0211254}}},
    {44, {{166, 0.1032066}, {102, 0.0709037}, {276, 0.0691517}, {137, 0.0662990}, {449, 0.0540252}}},
    {127, {{56, 0.7257115}, {356, 0.0331047}, {414, 0.0252509}, {151, 0.0196030}, {134, 0.0117093}}},
    {128, {{370, 0.1081825}, {176, 0.1058771}, {205, 0.0935186}, {216, 0.0775427}, {159, 0.0669572}}},
    {255, {{159, 0.7309472}, {78, 0.0206324}, {260, 0.0190959}, {22, 0.0179754}, {266, 0.0175404}}},
    {256, {{143, 0.2336082}, {426, 0.1764476}, {32, 0.0521896}, {132, 0.0343614}, {430, 0.0273971}}},
    {299, {{296, 0.7251440}, {9, 0.0177985}, {400, 0.0177953}, {184, 0.0160945}, {135, 0.0159540}}},
};

// Both sides compute in f32 with the same op order where it matters: measured 1.1e-6.
constexpr double kLlamaCppTolerance = 2e-5;

void expect_matches_llama_cpp(const std::string& device, int batch) {
  testing::TempDir dir;
  std::unique_ptr<Session> session = open(tiny_deepseek4(dir, GgmlType::F32), device, GgmlType::F32, batch);
  ASSERT_TRUE(session);
  const double worst = expect_top_probabilities(*session, prompt(300), kLlamaCpp, kLlamaCppTolerance);
  std::printf("largest probability difference from llama.cpp (batch %d): %g\n", batch, worst);
}

TEST(Deepseek4Session, CpuMatchesLlamaCpp) { expect_matches_llama_cpp("cpu", 256); }
TEST(Deepseek4Session, CpuMatchesLlamaCppDecodingOneTokenPerStep) { expect_matches_llama_cpp("cpu", 1); }
TEST(Deepseek4Session, VulkanMatchesLlamaCpp) { expect_matches_llama_cpp("vulkan", 256); }
TEST(Deepseek4Session, VulkanMatchesLlamaCppDecodingOneTokenPerStep) { expect_matches_llama_cpp("vulkan", 1); }

// Vulkan against the CPU reference: the same greedy 64 tokens after a 100-token prompt fed
// in batches of 8, so the reply completes the first HCA block (position 127) and the CSA
// layers pick among more entries than they keep; the same experts and mHC mixes too.
// The f16 cache rounds an entry the other way now and then; measured on lavapipe: logits
// within 1.3e-3 (f32 weights), 4.0e-3 (f16), 1.1e-3 (q8_0), mixing matrices within 5.3e-5.
struct TypeCase {
  GgmlType type;
  float tolerance;  // largest logit difference allowed
};
class Deepseek4VulkanAgrees : public ::testing::TestWithParam<TypeCase> {};

TEST_P(Deepseek4VulkanAgrees, GreedySixtyFourTokens) {
  testing::TempDir dir;
  const std::string path = tiny_deepseek4(dir, GetParam().type);
  std::unique_ptr<Session> cpu = open(path, "cpu", GgmlType::F16, 8);
  std::unique_ptr<Session> gpu = open(path, "vulkan", GgmlType::F16, 8);
  ASSERT_TRUE(cpu && gpu);
  std::vector<int32_t> next = prompt(100);
  float worst_logit = 0.0f, worst_mix = 0.0f;
  for (int step = 0; step < 64; ++step) {
    Result<std::vector<float>> a = cpu->feed(next), b = gpu->feed(next);
    ASSERT_TRUE(a && b);
    for (size_t i = 0; i < a->size(); ++i) worst_logit = std::max(worst_logit, std::fabs((*a)[i] - (*b)[i]));
    const int32_t ta = static_cast<int32_t>(std::max_element(a->begin(), a->end()) - a->begin());
    const int32_t tb = static_cast<int32_t>(std::max_element(b->begin(), b->end()) - b->begin());
    ASSERT_EQ(ta, tb) << "step " << step;
    const StepReport &ra = cpu->last_report(), &rb = gpu->last_report();
    ASSERT_EQ(ra.layers.size(), rb.layers.size());
    for (size_t l = 0; l < ra.layers.size(); ++l) {
      ASSERT_EQ(ra.layers[l].experts, rb.layers[l].experts) << "step " << step << " layer " << l;
      ASSERT_EQ(ra.layers[l].hyper.size(), rb.layers[l].hyper.size());
      for (size_t site = 0; site < ra.layers[l].hyper.size(); ++site) {
        const std::vector<float>&x = ra.layers[l].hyper[site].residual, &y = rb.layers[l].hyper[site].residual;
        for (size_t i = 0; i < x.size(); ++i) worst_mix = std::max(worst_mix, std::fabs(x[i] - y[i]));
      }
    }
    EXPECT_EQ(ra.cache_bytes, rb.cache_bytes);
    next = {ta};
  }
  EXPECT_EQ(cpu->position(), 100 + 63);
  EXPECT_LE(worst_logit, GetParam().tolerance);
  EXPECT_LE(worst_mix, 1e-3f);
  std::printf("largest logit difference over 64 steps: %g, largest mHC mix difference: %g\n", worst_logit, worst_mix);
}

INSTANTIATE_TEST_SUITE_P(Types, Deepseek4VulkanAgrees,
                         ::testing::Values(TypeCase{GgmlType::F32, 1e-2f}, TypeCase{GgmlType::F16, 1e-2f},
                                           TypeCase{GgmlType::Q8_0, 2e-2f}),
                         [](const auto& info) { return std::string(ggml_type_info(info.param.type)->name); });

// Batched prefill and token-by-token decode compute the same thing, with batches that end
// inside compression blocks (7) and one that completes HCA blocks mid-batch (256).
TEST(Deepseek4Session, PrefillBatchesAgreeWithDecode) {
  testing::TempDir dir;
  const std::string path = tiny_deepseek4(dir, GgmlType::F32);
  const std::vector<int32_t> tokens = prompt(140);
  expect_batches_agree(path, tokens, {1, 7, 256});
}

// Cache bytes in use after N tokens are the CachePlan's prediction for N tokens: the raw
// window stops at window + batch - 1, compressed entries grow one per ratio tokens, the
// compressor states are fixed from the start.
TEST(Deepseek4Session, CacheBytesFollowThePlan) {
  testing::TempDir dir;
  const int batch = 4;
  std::unique_ptr<Session> session = open(tiny_deepseek4(dir, GgmlType::F16), "cpu", GgmlType::F16, batch);
  ASSERT_TRUE(session);
  const ModelSpec& spec = session->spec();
  const std::vector<int32_t> tokens = prompt(300);
  int fed = 0;
  for (int n : {3, 8, 21, 130, 260, 300}) {
    ASSERT_TRUE(session->feed(std::span(tokens).subspan(fed, n - fed)));
    fed = n;
    const CachePlan plan = plan_cache(spec, n, GgmlType::F16, batch);
    const StepReport& r = session->last_report();
    EXPECT_EQ(r.cache_bytes, plan.bytes) << n << " tokens";
    for (const LayerStep& l : r.layers) {
      EXPECT_EQ(l.cache_bytes, plan.layers[l.layer].bytes) << "layer " << l.layer << " after " << n << " tokens";
    }
  }
  // At 300 tokens: CSA layers hold 75 entries, the HCA layer 2, every layer 8 + 3 raw.
  const CachePlan plan = plan_cache(spec, 300, GgmlType::F16, batch);
  EXPECT_EQ(plan.layers[1].compressed_entries, 75u);
  EXPECT_EQ(plan.layers[2].compressed_entries, 2u);
  EXPECT_EQ(plan.layers[0].compressed_entries, 0u);
  EXPECT_EQ(plan.layers[0].positions, 11u);
}

// The StepReport carries both mHC sites of every layer for the newest token: Sinkhorn makes
// each 4 x 4 mixing matrix doubly stochastic (rows and columns sum to 1), pre weights are
// sigmoids plus epsilon, post weights twice a sigmoid.
TEST(Deepseek4Session, ReportsHyperConnectionMixes) {
  testing::TempDir dir;
  std::unique_ptr<Session> session = open(tiny_deepseek4(dir, GgmlType::F16), "cpu", GgmlType::F16, 256);
  ASSERT_TRUE(session);
  ASSERT_TRUE(session->feed(prompt(20)));
  const StepReport& r = session->last_report();
  ASSERT_EQ(r.layers.size(), 4u);
  std::vector<float> first;
  for (const LayerStep& l : r.layers) {
    ASSERT_EQ(l.hyper.size(), 2u) << "layer " << l.layer;
    for (const HyperConnectionMix& m : l.hyper) {
      ASSERT_EQ(m.streams, 4);
      ASSERT_EQ(m.residual.size(), 16u);
      ASSERT_EQ(m.pre.size(), 4u);
      ASSERT_EQ(m.post.size(), 4u);
      for (int i = 0; i < 4; ++i) {
        float row = 0.0f, col = 0.0f;
        for (int j = 0; j < 4; ++j) {
          EXPECT_GE(m.residual[i * 4 + j], 0.0f);
          row += m.residual[i * 4 + j];
          col += m.residual[j * 4 + i];
        }
        EXPECT_NEAR(row, 1.0f, 1e-3f) << "layer " << l.layer << " row " << i;
        EXPECT_NEAR(col, 1.0f, 1e-3f) << "layer " << l.layer << " column " << i;
        EXPECT_GT(m.pre[i], 0.0f);
        EXPECT_LT(m.pre[i], 1.01f);
        EXPECT_GT(m.post[i], 0.0f);
        EXPECT_LT(m.post[i], 2.0f);
      }
      if (first.empty()) first = m.residual;
    }
  }
  // The mixes are the token's: another token mixes differently.
  ASSERT_TRUE(session->feed(std::vector<int32_t>{7}));
  EXPECT_NE(session->last_report().layers[0].hyper[0].residual, first);
}

// Hash-routed layer 0 runs the experts its tid2eid row names for the token; the router only
// weighs them. Layers 1-3 choose by score.
TEST(Deepseek4Session, HashLayerRoutesByTokenId) {
  testing::TempDir dir;
  const std::string path = tiny_deepseek4(dir, GgmlType::F16);
  const GgufFile file = GgufFile::open(path);
  const GgufTensor* table = file.find_tensor("blk.0.ffn_gate_tid2eid.weight");
  ASSERT_NE(table, nullptr);
  ASSERT_EQ(table->shape, (std::vector<uint64_t>{2, 512}));
  const auto* ids = reinterpret_cast<const int32_t*>(table->data);
  std::unique_ptr<Session> session = open(path, "cpu", GgmlType::F16, 256);
  ASSERT_TRUE(session);
  for (int32_t token : {5, 300, 511}) {
    ASSERT_TRUE(session->feed(std::vector<int32_t>{token}));
    std::vector<int> got = session->last_report().layers[0].experts;
    std::vector<int> want = {ids[token * 2], ids[token * 2 + 1]};
    std::sort(got.begin(), got.end());
    std::sort(want.begin(), want.end());
    EXPECT_EQ(got, want) << "token " << token;
    const std::vector<float>& w = session->last_report().layers[0].expert_weights;
    ASSERT_EQ(w.size(), 2u);
    EXPECT_NEAR(w[0] + w[1], 1.5f, 1e-4f);  // normalised, then the routed scale 1.5
  }
}

// Rewinding into a compression block: the compressor state no longer holds the rows that
// block needs, so the session feeds the kept tokens again; the logits after feeding the
// rest again are exactly the first run's.
TEST(Deepseek4Session, RewindOverCompressorStateReproduces) {
  testing::TempDir dir;
  std::unique_ptr<Session> session = open(tiny_deepseek4(dir, GgmlType::F16), "cpu", GgmlType::F16, 16);
  ASSERT_TRUE(session);
  const std::vector<int32_t> tokens = prompt(150);
  Result<std::vector<float>> first = session->feed(tokens);
  ASSERT_TRUE(first);
  for (int position : {149, 130, 45, 3}) {
    session->rewind(position);
    EXPECT_EQ(session->position(), position);
    Result<std::vector<float>> again = session->feed(std::span(tokens).subspan(position));
    ASSERT_TRUE(again);
    EXPECT_EQ(*first, *again) << "rewound to " << position;
  }
}

// Toggles on a DeepSeek V4 model change what they claim: the residual mix (identity keeps
// each stream to itself), the Sinkhorn rounds (one round leaves columns unbalanced), the
// CSA entries kept (fewer: other logits, same cache bytes), the window.
TEST(Deepseek4Session, TogglesChangeWhatTheyClaim) {
  testing::TempDir dir;
  const std::string path = tiny_deepseek4(dir, GgmlType::F16);
  std::unique_ptr<Session> base = open(path, "cpu", GgmlType::F16, 1);
  ASSERT_TRUE(base);
  std::vector<std::string> names;
  for (const ToggleInfo& t : available_toggles(base->spec())) names.push_back(t.name);
  for (const char* name : {"window", "hc_mix", "hc_sinkhorn", "csa_top_k"}) {
    EXPECT_NE(std::find(names.begin(), names.end(), name), names.end()) << name;
  }
  std::unique_ptr<Session> identity = open(path, "cpu", GgmlType::F16, 1, {{"hc_mix", "identity"}});
  std::unique_ptr<Session> one_round = open(path, "cpu", GgmlType::F16, 1, {{"hc_sinkhorn", "1"}});
  std::unique_ptr<Session> top1 = open(path, "cpu", GgmlType::F16, 1, {{"csa_top_k", "1"}});
  std::unique_ptr<Session> narrow = open(path, "cpu", GgmlType::F16, 1, {{"window", "4"}});
  ASSERT_TRUE(identity && one_round && top1 && narrow);
  const std::vector<int32_t> tokens = prompt(60);
  Result<std::vector<float>> a = base->feed(tokens), b = identity->feed(tokens), c = one_round->feed(tokens),
                             d = top1->feed(tokens), e = narrow->feed(tokens);
  ASSERT_TRUE(a && b && c && d && e);
  EXPECT_NE(*a, *b);
  EXPECT_NE(*a, *c);
  EXPECT_NE(*a, *d);
  EXPECT_NE(*a, *e);

  const HyperConnectionMix& mix = identity->last_report().layers[1].hyper[0];
  for (int i = 0; i < 4; ++i) {
    for (int j = 0; j < 4; ++j) EXPECT_EQ(mix.residual[i * 4 + j], i == j ? 1.0f : 0.0f);
  }
  float worst_column = 0.0f;
  for (const LayerStep& l : one_round->last_report().layers) {
    for (const HyperConnectionMix& m : l.hyper) {
      for (int i = 0; i < 4; ++i) {
        float col = 0.0f;
        for (int j = 0; j < 4; ++j) col += m.residual[j * 4 + i];
        worst_column = std::max(worst_column, std::fabs(col - 1.0f));
      }
    }
  }
  EXPECT_GT(worst_column, 1e-3f) << "one Sinkhorn round balanced every column";

  EXPECT_EQ(top1->last_report().cache_bytes, base->last_report().cache_bytes);
  EXPECT_LT(top1->last_report().layers[1].attended, base->last_report().layers[1].attended);
  // Decoding one token per step, the raw rings hold exactly the window: 8 or 4 positions of
  // one 128-dim f16 head.
  EXPECT_EQ(base->last_report().layers[0].cache_bytes, 8u * 128 * 2);
  EXPECT_EQ(narrow->last_report().layers[0].cache_bytes, 4u * 128 * 2);
  for (int layer : {1, 2, 3}) {  // compressed layers keep their entries; their raw rings narrow too
    EXPECT_EQ(base->last_report().layers[layer].cache_bytes - narrow->last_report().layers[layer].cache_bytes, 4u * 128 * 2);
  }
}

// Bad DeepSeek V4 files: a copy of the tiny model with one change fails to open with an
// error naming the file and the problem, never a crash.
TEST(Deepseek4Session, BadFilesAreClearErrors) {
  testing::TempDir dir;
  const std::string source = tiny_deepseek4(dir, GgmlType::F16);
  auto open_error = [&](const std::string& name, const std::string& drop_tensor,
                        const std::function<void(GgufWriter&)>& change,
                        const std::function<void(const GgufTensor&, std::vector<uint8_t>&)>& edit = nullptr) {
    return open_copy_error(dir, source, name, drop_tensor, change, edit);
  };
  expect_contains_all(open_error("no-indexer.gguf", "blk.1.indexer.attn_q_b.weight", nullptr),
             {"no-indexer.gguf: missing tensor blk.1.indexer.attn_q_b.weight"});
  expect_contains_all(open_error("no-hc.gguf", "blk.2.hc_attn_fn.weight", nullptr), {"no-hc.gguf: missing tensor blk.2.hc_attn_fn"});
  expect_contains_all(open_error("ratios.gguf", "",
                        [](GgufWriter& w) {
                          std::vector<GgufValue> items(3);
                          for (GgufValue& v : items) {
                            v.type = GgufValueType::U32;
                            v.u = 4;
                          }
                          w.set_array("deepseek4.attention.compress_ratios", GgufValueType::U32, items);
                        }),
             {"ratios.gguf", "deepseek4.attention.compress_ratios has 3 entries"});
  expect_contains_all(open_error("hc.gguf", "", [](GgufWriter& w) { w.set_u32("deepseek4.hyper_connection.count", 3); }),
             {"hc.gguf", "hyper-connection count must be 4"});
  expect_contains_all(open_error("hash.gguf", "", [](GgufWriter& w) { w.set_u32("deepseek4.hash_layer_count", 9); }),
             {"hash.gguf", "hash-routed layer count 9 is out of range for 4 layers"});
  // A token-to-expert table naming expert 8 of 8: it would index past the expert weights.
  expect_contains_all(open_error("tid2eid.gguf", "", nullptr,
                        [](const GgufTensor& t, std::vector<uint8_t>& bytes) {
                          if (t.name != "blk.0.ffn_gate_tid2eid.weight") return;
                          const int32_t bad = 8;
                          std::memcpy(bytes.data() + 4 * 101, &bad, 4);
                        }),
             {"tid2eid.gguf: tensor blk.0.ffn_gate_tid2eid.weight holds expert id 8 (token 50), outside the 8 experts"});
}

}  // namespace
}  // namespace archscope
