// llama.cpp itself runs the tiny models (tests/writer/llama_cpp_check.mjs through
// node-llama-cpp) and agrees with an independent position-0 forward pass. Needs node and
// node-llama-cpp: runs only when ARCHSCOPE_NODE_LLAMA_CPP names a node_modules folder
// holding node-llama-cpp (e.g. /opt/ref/node_modules); skipped otherwise.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <nlohmann/json.hpp>

#include "archscope/gguf.h"
#include "archscope/model_loader.h"
#include "archscope/model_writer.h"
#include "archscope/sampler.h"
#include "formats/format_fixtures.h"
#include "writer/llama_cpp_run.h"
#include "writer/tiny_forward.h"

namespace archscope {
namespace {

struct Case {
  std::string arch;
  GgmlType type;
  double tolerance;  // on probabilities, llama.cpp vs the f32 position-0 pass
};
void PrintTo(const Case& c, std::ostream* os) { *os << c.arch << " " << ggml_type_info(c.type)->name; }
std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  return info.param.arch + "_" + ggml_type_info(info.param.type)->name;
}

class LlamaCppRuns : public ::testing::TestWithParam<Case> {};

TEST_P(LlamaCppRuns, TopProbabilitiesAgree) {
  if (testing::node_llama_cpp_modules().empty()) GTEST_SKIP() << testing::kNeedsNodeLlamaCpp;
  testing::TempDir dir;
  const std::string path = dir.file("model.gguf");
  write_tiny_model({GetParam().arch, "tiny", GetParam().type, 11}, path);
  const GgufFile file = GgufFile::open(path);
  Result<ModelSpec> spec = load_model_spec(path);
  ASSERT_TRUE(spec.ok()) << spec.error().what();

  const std::vector<int32_t> tokens = {300, 17, 260, 99, 400};
  nlohmann::json result;
  const std::string error = testing::run_llama_cpp_check(path, tokens, result);
  ASSERT_TRUE(error.empty()) << error;
  ASSERT_EQ(result["positions"].size(), tokens.size());
  EXPECT_EQ(result["vocab"], spec->vocab);

  // Position 0 against the independent pass (same stored weights, f32 arithmetic): the
  // probability of each of llama.cpp's top 5 tokens.
  const std::vector<float> logits = testing::position0_logits(file, *spec, tokens[0]);
  const std::vector<TokenProb> ours = top_probabilities(logits, spec->vocab);
  std::vector<double> prob_of(spec->vocab, 0.0);
  for (const TokenProb& t : ours) prob_of[t.id] = t.prob;
  const nlohmann::json& theirs = result["positions"][0]["top"];
  ASSERT_EQ(theirs.size(), 5u);
  for (const nlohmann::json& t : theirs) {
    const int id = t["id"].get<int>();
    ASSERT_GE(id, 0);
    ASSERT_LT(id, spec->vocab);
    EXPECT_NEAR(t["prob"].get<double>(), prob_of[id], GetParam().tolerance) << "token " << id;
  }
  const double gap = theirs[0]["prob"].get<double>() - theirs[1]["prob"].get<double>();
  if (gap > 2 * GetParam().tolerance) {
    EXPECT_EQ(theirs[0]["id"].get<int>(), ours[0].id);  // a clear winner is the same token
  }
  // Every position: a proper, moderate distribution.
  for (const nlohmann::json& p : result["positions"]) {
    const double entropy = p["entropy"].get<double>();
    EXPECT_GT(entropy, 0.25);
    EXPECT_LT(entropy, std::log(double(spec->vocab)) - 1.0);
  }
}

// llama.cpp's CPU matmuls quantize the activations for F16 and quantized weights (to f16,
// q8_0 or q8_K), so only the f32 file matches the f32 pass to float precision. Measured:
// f32 2e-7, f16 8e-4, q8_0 1e-2, q4_K 1.3e-2.
INSTANTIATE_TEST_SUITE_P(Files, LlamaCppRuns,
                         ::testing::Values(Case{"llama", GgmlType::F32, 1e-5}, Case{"llama", GgmlType::F16, 3e-3},
                                           Case{"llama", GgmlType::Q8_0, 3e-2}, Case{"llama", GgmlType::Q4_K, 3e-2},
                                           Case{"qwen3", GgmlType::F32, 1e-5}, Case{"qwen3", GgmlType::F16, 3e-3},
                                           Case{"qwen3", GgmlType::Q8_0, 3e-2}, Case{"qwen3", GgmlType::Q4_K, 3e-2}),
                         case_name);

}  // namespace
}  // namespace archscope
