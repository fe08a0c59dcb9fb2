// make-model's weight types against llama.cpp's quantizer itself. The writer's F32 file,
// quantized by llama-quantize's engine (llama_model_quantize, through
// tests/writer/llama_quantize.py), and the writer's own file of that type are the same
// file: every tensor's type and bytes, and general.file_type. Pure files of the i-quants,
// which llama-quantize will not make without an importance matrix, are held tensor by
// tensor to ggml's quantizer (reference/ggml_oracle.h). Both run when
// ARCHSCOPE_NODE_LLAMA_CPP names a node_modules folder with node-llama-cpp.
#include <gtest/gtest.h>

#include <cstring>
#include <string>
#include <vector>

#include "archscope/gguf.h"
#include "archscope/model_writer.h"
#include "formats/format_fixtures.h"
#include "reference/ggml_oracle.h"
#include "reference/ops.h"
#include "writer/llama_cpp_run.h"
#include "writer/quantize_mix.h"

namespace archscope {
namespace {

struct Case {
  const char* arch;
  const char* preset;
  const char* file_type;
  bool pure = false;
};
std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  std::string name = std::string(info.param.arch) + "_" + info.param.preset + "_" + info.param.file_type +
                     (info.param.pure ? "_pure" : "");
  for (char& c : name) c = c == '-' ? '_' : c;
  return name;
}

// Names of the tensors whose type or bytes differ (at most a few), or "" when the files
// hold the same tensors.
std::string differences(const GgufFile& ours, const GgufFile& theirs) {
  std::string out;
  int shown = 0;
  if (ours.tensors().size() != theirs.tensors().size()) out += "different tensor counts; ";
  for (const GgufTensor& t : theirs.tensors()) {
    const GgufTensor* o = ours.find_tensor(t.name);
    std::string what;
    if (!o) {
      what = "missing";
    } else if (o->type != t.type) {
      what = std::string("ours ") + ggml_type_info(o->type)->name + ", llama.cpp's " + ggml_type_info(t.type)->name;
    } else if (o->bytes != t.bytes || std::memcmp(o->data, t.data, t.bytes) != 0) {
      what = std::string("bytes differ (") + ggml_type_info(t.type)->name + ")";
    }
    if (!what.empty() && shown++ < 6) out += t.name + ": " + what + "; ";
  }
  return out;
}

class LlamaQuantize : public ::testing::TestWithParam<Case> {};

TEST_P(LlamaQuantize, WritesTheFileLlamaQuantizeWrites) {
  if (testing::node_llama_cpp_modules().empty()) GTEST_SKIP() << testing::kNeedsNodeLlamaCpp;
  const Case c = GetParam();
  testing::TempDir dir;
  const std::string f32 = dir.file("f32.gguf"), theirs = dir.file("theirs.gguf"), ours = dir.file("ours.gguf");
  write_tiny_model({c.arch, c.preset, "F32", 1}, f32);
  const FileType* type = find_file_type(c.file_type);
  ASSERT_NE(type, nullptr);
  const std::string output = testing::run_command(
      "ARCHSCOPE_NODE_LLAMA_CPP='" + testing::node_llama_cpp_modules() + "' python3 '" ARCHSCOPE_SOURCE_DIR
      "/tests/writer/llama_quantize.py' '" + f32 + "' '" + theirs + "' " + std::to_string(type->id) +
      (c.pure ? " --pure" : "") + " 2>&1");
  ASSERT_NE(output.find("ok"), std::string::npos) << output;
  write_tiny_model({c.arch, c.preset, WeightFormat(c.file_type, c.pure), 1}, ours);

  const GgufFile a = GgufFile::open(ours), b = GgufFile::open(theirs);
  EXPECT_EQ(differences(a, b), "");
  ASSERT_NE(a.find("general.file_type"), nullptr);
  ASSERT_NE(b.find("general.file_type"), nullptr);
  EXPECT_EQ(a.find("general.file_type")->u, b.find("general.file_type")->u);
}

// The usual downloads' mixes on every family, with Gemma 4's fallbacks (rows of 96 and 192
// are not whole 256-blocks), MoE expert tensors, DeepSeek V4's many small matrices.
INSTANTIATE_TEST_SUITE_P(
    Mixes, LlamaQuantize,
    ::testing::Values(Case{"llama", "tiny", "Q4_K_M"}, Case{"llama", "tiny", "Q5_K_M"}, Case{"llama", "tiny", "Q4_K_S"},
                      Case{"llama", "tiny", "Q3_K_M"}, Case{"llama", "tiny", "Q3_K_L"}, Case{"llama", "tiny", "Q2_K"},
                      Case{"llama", "tiny", "Q6_K"}, Case{"llama", "tiny", "Q8_0"}, Case{"llama", "tiny", "Q4_0"},
                      Case{"llama", "tiny", "Q4_1"}, Case{"llama", "tiny", "Q5_0"}, Case{"llama", "tiny", "Q5_1"},
                      Case{"llama", "tiny", "IQ4_NL"}, Case{"llama", "tiny", "IQ4_XS"},
                      Case{"qwen3", "tiny", "Q4_K_M"}, Case{"qwen3", "tiny", "IQ4_XS"},
                      Case{"gemma4", "tiny", "Q4_K_M"}, Case{"gemma4", "tiny", "Q5_K_M"},
                      Case{"gemma4", "tiny", "IQ4_XS"}, Case{"gemma4", "tiny-moe", "Q4_K_M"},
                      Case{"gemma4", "tiny-moe", "MXFP4_MOE"}, Case{"laguna", "tiny", "Q4_K_M"},
                      Case{"laguna", "tiny", "Q3_K_M"}, Case{"laguna", "tiny", "MXFP4_MOE"},
                      Case{"deepseek4", "tiny", "Q4_K_M"}, Case{"deepseek4", "tiny", "MXFP4_MOE"},
                      Case{"deepseek4", "tiny", "Q2_K"}, Case{"llama", "tiny", "Q3_K_M", true},
                      Case{"llama", "tiny", "MXFP4_MOE", true}),
    case_name);

// Pure i-quant files: each tensor as ggml_quantize_chunk quantizes the F32 file's values
// (with uniform importance where ggml insists on one, as archscope's quantizers do).
class PureIQuants : public ::testing::TestWithParam<GgmlType> {};

TEST_P(PureIQuants, EveryTensorIsGgmlsQuantization) {
  const reference::testing::GgmlOracle* ggml = reference::testing::GgmlOracle::get();
  if (!ggml) GTEST_SKIP() << reference::testing::GgmlOracle::why_unavailable();
  const GgmlType type = GetParam();
  testing::TempDir dir;
  write_tiny_model({"llama", "tiny", "F32", 1}, dir.file("f32.gguf"));
  write_tiny_model({"llama", "tiny", pure_format(type), 1}, dir.file("pure.gguf"));
  const GgufFile f32 = GgufFile::open(dir.file("f32.gguf")), pure = GgufFile::open(dir.file("pure.gguf"));
  const bool ones = type == GgmlType::IQ2_XXS || type == GgmlType::IQ2_XS || type == GgmlType::IQ1_S;
  int quantized = 0;
  for (const GgufTensor& t : pure.tensors()) {
    if (t.type == GgmlType::F32) continue;
    const GgufTensor* source = f32.find_tensor(t.name);
    ASSERT_NE(source, nullptr);
    const int64_t cols = int64_t(t.shape[0]), rows = int64_t(source->bytes / 4) / cols;
    const std::vector<float> importance(size_t(cols), 1.0f);
    const std::vector<uint8_t> expected = ggml->quantize(t.type, reinterpret_cast<const float*>(source->data), rows,
                                                         cols, ones && t.type == type ? importance.data() : nullptr);
    ASSERT_EQ(expected.size(), t.bytes) << t.name;
    EXPECT_EQ(std::memcmp(expected.data(), t.data, t.bytes), 0) << t.name << " (" << ggml_type_info(t.type)->name << ")";
    quantized += t.type == type;
  }
  EXPECT_GT(quantized, 10) << "most matrices are " << ggml_type_info(type)->name;
}

INSTANTIATE_TEST_SUITE_P(IQuants, PureIQuants,
                         ::testing::Values(GgmlType::IQ1_S, GgmlType::IQ1_M, GgmlType::IQ2_XXS, GgmlType::IQ2_XS,
                                           GgmlType::IQ2_S, GgmlType::IQ3_XXS, GgmlType::IQ3_S),
                         [](const ::testing::TestParamInfo<GgmlType>& info) {
                           return std::string(ggml_type_info(info.param)->name);
                         });

}  // namespace
}  // namespace archscope
