// The tiny model writer: files load with the expected spec, hold every tensor the
// architecture expects with the right shape and type, carry llama.cpp's metadata keys and
// a working vocabulary, reproduce for a seed, and produce a moderate next-token entropy.
#include <gtest/gtest.h>

#include <cmath>
#include <set>
#include <string>
#include <vector>

#include "archscope/error.h"
#include "archscope/gguf.h"
#include "archscope/model_loader.h"
#include "archscope/model_writer.h"
#include "archscope/tokenizer.h"
#include "formats/format_fixtures.h"
#include "reference/ops.h"
#include "spec/architecture.h"
#include "writer/quantize_mix.h"
#include "writer/tiny_forward.h"

namespace archscope {
namespace {

using testing::TempDir;

struct Case {
  std::string arch;
  GgmlType type;
};
void PrintTo(const Case& c, std::ostream* os) { *os << c.arch << " " << ggml_type_info(c.type)->name; }
std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  return info.param.arch + "_" + ggml_type_info(info.param.type)->name;
}

class TinyModelFile : public ::testing::TestWithParam<Case> {
 protected:
  TinyModelOptions options() const { return {GetParam().arch, "tiny", GetParam().type, 7}; }
  std::string write(const TempDir& dir) const {
    const std::string path = dir.file("tiny.gguf");
    write_tiny_model(options(), path);
    return path;
  }
};

TEST_P(TinyModelFile, LoadsWithTheExpectedSpec) {
  TempDir dir;
  const std::string path = write(dir);
  Result<ModelSpec> loaded = load_model_spec(path);
  ASSERT_TRUE(loaded.ok()) << loaded.error().what();
  const ModelSpec expected = tiny_model_spec(options());
  const ModelSpec& got = *loaded;

  EXPECT_EQ(got.architecture, GetParam().arch);
  EXPECT_EQ(got.name, expected.name);
  EXPECT_EQ(got.source, SourceKind::Gguf);
  EXPECT_EQ(got.hidden, 256);
  EXPECT_EQ(got.hidden, expected.hidden);
  EXPECT_EQ(got.vocab, expected.vocab);
  EXPECT_EQ(got.context_length, 512);
  EXPECT_EQ(got.rms_eps, expected.rms_eps);
  EXPECT_EQ(got.tied_embeddings, expected.tied_embeddings);
  EXPECT_EQ(got.tied_embeddings, GetParam().arch == "qwen3");
  EXPECT_TRUE(got.weights_present);
  EXPECT_EQ(got.weight_type, expected.weight_type);
  ASSERT_EQ(got.layer_count(), 4);
  ASSERT_EQ(got.layer_count(), expected.layer_count());
  for (int il = 0; il < got.layer_count(); ++il) {
    const LayerSpec& g = got.layers[il];
    const LayerSpec& e = expected.layers[il];
    SCOPED_TRACE("layer " + std::to_string(il));
    EXPECT_EQ(g.attention, AttentionKind::Global);
    EXPECT_TRUE(g.owns_cache());
    EXPECT_EQ(g.q_heads, 8);
    EXPECT_EQ(g.kv_heads, 4);
    EXPECT_EQ(g.head_dim_k, GetParam().arch == "qwen3" ? 64 : 32);
    EXPECT_EQ(g.head_dim_k, e.head_dim_k);
    EXPECT_EQ(g.head_dim_v, e.head_dim_v);
    EXPECT_EQ(g.rope.theta, e.rope.theta);
    EXPECT_EQ(g.rope.rotary_dims, e.rope.rotary_dims);
    EXPECT_EQ(g.rope.neox, e.rope.neox);
    EXPECT_EQ(g.rope.scaling, RopeScaling::None);
    EXPECT_EQ(g.rope.freq_factors, false);
    EXPECT_EQ(g.rope.original_context, e.rope.original_context);
    EXPECT_EQ(g.qk_norm, e.qk_norm);
    EXPECT_EQ(g.qk_norm, GetParam().arch == "qwen3");
    EXPECT_EQ(g.ffn.kind, FfnKind::Dense);
    EXPECT_EQ(g.ffn.dense_width, 768);
    EXPECT_EQ(g.ffn.activation, Activation::Silu);
  }
  ASSERT_EQ(got.tensors.size(), expected.tensors.size());
  for (size_t i = 0; i < got.tensors.size(); ++i) {
    const TensorSpec& g = got.tensors[i];
    const TensorSpec& e = expected.tensors[i];
    EXPECT_EQ(g.name, e.name);
    EXPECT_EQ(g.shape, e.shape) << g.name;
    EXPECT_EQ(g.ggml_type, e.ggml_type) << g.name;
    EXPECT_EQ(g.bytes, e.bytes) << g.name;
    EXPECT_EQ(g.layer, e.layer) << g.name;
    EXPECT_EQ(g.component, e.component) << g.name;
  }
}

TEST_P(TinyModelFile, HasEveryTensorTheArchitectureExpects) {
  TempDir dir;
  const GgufFile file = GgufFile::open(write(dir));
  Result<ModelSpec> spec = load_model_spec(file.path());
  ASSERT_TRUE(spec.ok()) << spec.error().what();
  const std::vector<TensorSpec> expected = find_architecture_by_gguf(GetParam().arch)->tensors(*spec);
  EXPECT_EQ(file.tensors().size(), expected.size());
  const GgmlType requested = GetParam().type;
  for (const TensorSpec& e : expected) {
    const GgufTensor* t = file.find_tensor(e.name);
    ASSERT_NE(t, nullptr) << e.name << " is missing";
    EXPECT_EQ(t->shape, e.shape) << e.name;
    if (e.shape.size() == 1) {
      EXPECT_EQ(t->type, GgmlType::F32) << e.name << ": norms stay F32";
    } else if (requested == GgmlType::Q4_K) {
      // llama-quantize's Q4_K_M: the head Q6_K; attn_v and ffn_down Q6_K in layers 2 and 3
      // of 4 (use_more_bits); everything else Q4_K.
      const bool head = e.name == "output.weight" || (spec->tied_embeddings && e.name == "token_embd.weight");
      const bool more_bits = (e.layer == 2 || e.layer == 3) &&
                             (e.name.find(".attn_v.") != std::string::npos || e.name.find(".ffn_down.") != std::string::npos);
      EXPECT_EQ(t->type, head || more_bits ? GgmlType::Q6_K : GgmlType::Q4_K) << e.name;
    } else if (requested == GgmlType::Q4_0) {
      const bool head = e.name == "output.weight" || (spec->tied_embeddings && e.name == "token_embd.weight");
      EXPECT_EQ(t->type, head ? GgmlType::Q6_K : GgmlType::Q4_0) << e.name;
    } else {
      EXPECT_EQ(t->type, requested) << e.name;
    }
  }
  // Llama keeps a separate head; Qwen3 (like Qwen3-0.6B) ties it to the embedding.
  EXPECT_EQ(file.find_tensor("output.weight") != nullptr, GetParam().arch == "llama");
  EXPECT_EQ(file.find_tensor("blk.0.attn_q_norm.weight") != nullptr, GetParam().arch == "qwen3");
}

TEST_P(TinyModelFile, ReproducibleForASeed) {
  TempDir dir;
  const std::string a = dir.file("a.gguf"), b = dir.file("b.gguf"), c = dir.file("c.gguf");
  TinyModelOptions o = options();
  write_tiny_model(o, a);
  write_tiny_model(o, b);
  o.seed = 8;
  write_tiny_model(o, c);
  const std::vector<uint8_t> bytes_a = testing::read_bytes(a);
  EXPECT_EQ(bytes_a, testing::read_bytes(b));
  const std::vector<uint8_t> bytes_c = testing::read_bytes(c);
  ASSERT_EQ(bytes_a.size(), bytes_c.size());  // same layout, different weights
  EXPECT_NE(bytes_a, bytes_c);
  const GgufFile fa = GgufFile::open(a), fc = GgufFile::open(c);
  for (const GgufTensor& t : fa.tensors()) {
    const GgufTensor* u = fc.find_tensor(t.name);
    ASSERT_NE(u, nullptr);
    EXPECT_NE(std::vector<uint8_t>(t.data, t.data + t.bytes), std::vector<uint8_t>(u->data, u->data + u->bytes))
        << t.name << " did not change with the seed";
  }
}

TEST_P(TinyModelFile, NextTokenDistributionIsModerate) {
  // Position 0 through every layer (writer/tiny_forward.h): neither uniform nor one-hot.
  // The head's gain puts the mean entropy near 3.5 nats of ln(512) = 6.2; single tokens vary.
  TempDir dir;
  const GgufFile file = GgufFile::open(write(dir));
  Result<ModelSpec> spec = load_model_spec(file.path());
  ASSERT_TRUE(spec.ok()) << spec.error().what();
  const double uniform = std::log(static_cast<double>(spec->vocab));
  std::set<int32_t> argmaxes;
  double sum = 0.0;
  int n = 0;
  for (int32_t token = 0; token < spec->vocab; token += 23, ++n) {
    const std::vector<float> logits = testing::position0_logits(file, *spec, token);
    const double h = testing::entropy_of(logits);
    sum += h;
    EXPECT_GT(h, 0.25) << "token " << token << ": nearly one-hot";
    EXPECT_LT(h, uniform - 1.0) << "token " << token << ": nearly uniform (ln V = " << uniform << ")";
    argmaxes.insert(static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin()));
  }
  EXPECT_GT(sum / n, 2.0);
  EXPECT_LT(sum / n, uniform - 1.5);
  EXPECT_GE(argmaxes.size(), static_cast<size_t>(n / 2)) << "the prediction hardly depends on the input token";
}

INSTANTIATE_TEST_SUITE_P(Types, TinyModelFile,
                         ::testing::Values(Case{"llama", GgmlType::F32}, Case{"llama", GgmlType::F16},
                                           Case{"llama", GgmlType::BF16}, Case{"llama", GgmlType::Q8_0},
                                           Case{"llama", GgmlType::Q4_0}, Case{"llama", GgmlType::Q4_K},
                                           Case{"qwen3", GgmlType::F32}, Case{"qwen3", GgmlType::F16},
                                           Case{"qwen3", GgmlType::Q8_0}, Case{"qwen3", GgmlType::Q4_K}),
                         case_name);

// The metadata keys llama.cpp's converter writes, with its value types, and nothing else.
void expect_keys(const GgufFile& file, const std::map<std::string, GgufValueType>& expected) {
  std::set<std::string> present;
  for (const auto& [key, value] : file.metadata()) {
    present.insert(key);
    const auto it = expected.find(key);
    if (it == expected.end()) {
      ADD_FAILURE() << "unexpected key " << key;
      continue;
    }
    EXPECT_EQ(value.type, it->second) << key;
  }
  for (const auto& [key, type] : expected) EXPECT_TRUE(present.count(key)) << "missing key " << key;
}

std::map<std::string, GgufValueType> common_keys(const std::string& a) {
  using T = GgufValueType;
  return {
      {"general.architecture", T::String}, {"general.type", T::String}, {"general.name", T::String},
      {"general.file_type", T::U32}, {"general.quantization_version", T::U32},
      {a + ".block_count", T::U32}, {a + ".context_length", T::U32}, {a + ".embedding_length", T::U32},
      {a + ".feed_forward_length", T::U32}, {a + ".attention.head_count", T::U32},
      {a + ".attention.head_count_kv", T::U32}, {a + ".rope.freq_base", T::F32},
      {a + ".attention.layer_norm_rms_epsilon", T::F32},
      {"tokenizer.ggml.model", T::String}, {"tokenizer.ggml.pre", T::String}, {"tokenizer.ggml.tokens", T::Array},
      {"tokenizer.ggml.token_type", T::Array}, {"tokenizer.ggml.merges", T::Array},
      {"tokenizer.ggml.bos_token_id", T::U32}, {"tokenizer.ggml.eos_token_id", T::U32},
      {"tokenizer.ggml.add_bos_token", T::Bool}, {"tokenizer.ggml.add_eos_token", T::Bool},
      {"tokenizer.chat_template", T::String},
  };
}

TEST(TinyModel, LlamaMetadataKeys) {
  TempDir dir;
  const std::string path = dir.file("llama.gguf");
  write_tiny_model({"llama", "tiny", GgmlType::Q8_0, 1}, path);
  const GgufFile file = GgufFile::open(path);
  auto keys = common_keys("llama");
  keys["llama.vocab_size"] = GgufValueType::U32;
  keys["llama.rope.dimension_count"] = GgufValueType::U32;
  keys["tokenizer.ggml.eot_token_id"] = GgufValueType::U32;
  expect_keys(file, keys);
  EXPECT_EQ(file.find("general.file_type")->u, 7u);  // LLAMA_FTYPE_MOSTLY_Q8_0
  EXPECT_EQ(file.find("tokenizer.ggml.model")->s, "gpt2");
  EXPECT_EQ(file.find("tokenizer.ggml.pre")->s, "llama-bpe");
  EXPECT_EQ(file.find("llama.rope.freq_base")->f, 500000.0);
  EXPECT_EQ(file.find("llama.vocab_size")->u, file.find("tokenizer.ggml.tokens")->items.size());
  const std::string& tmpl = file.find("tokenizer.chat_template")->s;
  EXPECT_NE(tmpl.find("<|start_header_id|>"), std::string::npos);  // how llama.cpp detects Llama 3
  EXPECT_NE(tmpl.find("<|eot_id|>"), std::string::npos);
}

TEST(TinyModel, Qwen3MetadataKeys) {
  TempDir dir;
  const std::string path = dir.file("qwen3.gguf");
  write_tiny_model({"qwen3", "tiny", GgmlType::Q4_K, 1}, path);
  const GgufFile file = GgufFile::open(path);
  auto keys = common_keys("qwen3");
  keys["qwen3.attention.key_length"] = GgufValueType::U32;
  keys["qwen3.attention.value_length"] = GgufValueType::U32;
  keys["tokenizer.ggml.padding_token_id"] = GgufValueType::U32;
  expect_keys(file, keys);
  EXPECT_EQ(file.find("general.file_type")->u, 15u);  // LLAMA_FTYPE_MOSTLY_Q4_K_M
  EXPECT_EQ(file.find("tokenizer.ggml.pre")->s, "qwen2");
  EXPECT_EQ(file.find("qwen3.attention.key_length")->u, 64u);
  EXPECT_EQ(file.find("qwen3.rope.freq_base")->f, 1000000.0);
  EXPECT_NE(file.find("tokenizer.chat_template")->s.find("<|im_start|>"), std::string::npos);  // ChatML
}

TEST(TinyModel, VocabularyWorks) {
  TempDir dir;
  for (const std::string arch : {"llama", "qwen3"}) {
    SCOPED_TRACE(arch);
    const std::string path = dir.file(arch + ".gguf");
    write_tiny_model({arch, "tiny", GgmlType::F16, 1}, path);
    const GgufFile file = GgufFile::open(path);
    const Tokenizer tok = Tokenizer::from_gguf(file);
    const std::string text = "Hello world, the cat sat on the mat.\n";
    const std::vector<int32_t> ids = tok.encode(text, false, false);
    EXPECT_LT(ids.size(), text.size()) << "the merges never apply";
    EXPECT_EQ(tok.decode(ids), text);
    if (arch == "llama") {
      EXPECT_EQ(tok.raw_token(tok.bos()), "<|begin_of_text|>");
      EXPECT_TRUE(tok.is_end_of_generation(tok.find_token("<|eot_id|>")));
    } else {
      EXPECT_EQ(tok.raw_token(tok.eos()), "<|im_end|>");
      EXPECT_FALSE(tok.add_bos());
    }
  }
}

TEST(TinyModel, WeightScales) {
  TempDir dir;
  const std::string path = dir.file("f32.gguf");
  write_tiny_model({"llama", "tiny", GgmlType::F32, 3}, path);
  const GgufFile file = GgufFile::open(path);
  for (const GgufTensor& t : file.tensors()) {
    const float* v = reinterpret_cast<const float*>(t.data);
    double sum = 0.0, sq = 0.0;
    const uint64_t n = t.elements();
    for (uint64_t i = 0; i < n; ++i) {
      sum += v[i];
      sq += double(v[i]) * v[i];
    }
    const double mean = sum / n, sd = std::sqrt(sq / n - mean * mean);
    if (t.shape.size() == 1) {
      EXPECT_NEAR(mean, 1.0, 0.05) << t.name;
      EXPECT_NEAR(sd, 0.1, 0.03) << t.name;
    } else {
      const double gain = t.name == "output.weight" ? 2.5 : 1.0;  // the head runs hotter (writer/weights.cpp)
      EXPECT_NEAR(mean, 0.0, 0.1 * gain / std::sqrt(double(t.shape[0]))) << t.name;
      EXPECT_NEAR(sd * std::sqrt(double(t.shape[0])), gain, 0.05 * gain) << t.name;
    }
  }
}

TEST(TinyModel, QuantizedFilesHoldTheSameWeights) {
  // Every type encodes the same random values: dequantized q8_0 is close to f32.
  TempDir dir;
  write_tiny_model({"qwen3", "tiny", GgmlType::F32, 5}, dir.file("f32.gguf"));
  write_tiny_model({"qwen3", "tiny", GgmlType::Q8_0, 5}, dir.file("q8.gguf"));
  const GgufFile f32 = GgufFile::open(dir.file("f32.gguf")), q8 = GgufFile::open(dir.file("q8.gguf"));
  const GgufTensor* a = f32.find_tensor("blk.1.ffn_up.weight");
  const GgufTensor* b = q8.find_tensor("blk.1.ffn_up.weight");
  ASSERT_TRUE(a && b);
  ASSERT_EQ(b->type, GgmlType::Q8_0);
  std::vector<float> deq(a->elements());
  reference::dequantize_row(GgmlType::Q8_0, b->data, deq.data(), static_cast<int64_t>(deq.size()));
  const float* ref = reinterpret_cast<const float*>(a->data);
  double max_err = 0.0;
  for (size_t i = 0; i < deq.size(); ++i) max_err = std::max(max_err, double(std::fabs(deq[i] - ref[i])));
  EXPECT_LT(max_err, 0.01);  // entries ~ 0.06 +- 0.2; q8_0 steps are max/127
}

TEST(TinyModel, SmallPresetIsBigger) {
  const ModelSpec tiny = tiny_model_spec({"llama", "tiny", GgmlType::F16, 1});
  const ModelSpec small = tiny_model_spec({"llama", "small", GgmlType::F16, 1});
  EXPECT_EQ(small.hidden, 512);
  EXPECT_EQ(small.layer_count(), 8);
  EXPECT_GT(small.tensors.size(), tiny.tensors.size());
}

TEST(TinyModel, BadOptionsAreErrors) {
  TempDir dir;
  const std::string path = dir.file("bad.gguf");
  auto message = [&](const TinyModelOptions& o) {
    try {
      write_tiny_model(o, path);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  EXPECT_NE(message({"gpt-j", "tiny", GgmlType::F16, 1}).find("unknown architecture \"gpt-j\""), std::string::npos);
  EXPECT_NE(message({"gpt-j", "tiny", GgmlType::F16, 1}).find("llama, qwen3"), std::string::npos);
  EXPECT_NE(message({"llama", "huge", GgmlType::F16, 1}).find("no preset \"huge\""), std::string::npos);
  EXPECT_NE(message({"llama", "tiny", "Q9_K", 1}).find("unknown weight type \"Q9_K\" (known: Q4_0, Q4_1"),
            std::string::npos);
  EXPECT_NE(message({"llama", "tiny", static_cast<GgmlType>(4), 1}).find("unknown weight type \"type 4\""),
            std::string::npos);
  EXPECT_NE(message({"llama", "tiny", GgmlType::Q8_1, 1}).find("unknown weight type \"q8_1\""), std::string::npos);
  EXPECT_NE(message({"", "tiny", GgmlType::F16, 1}).find("unknown architecture"), std::string::npos);
  EXPECT_FALSE(std::filesystem::exists(path));
  EXPECT_THROW(write_tiny_model({"llama", "tiny", GgmlType::F16, 1}, dir.file("no/such/folder/x.gguf")), Error);
  EXPECT_THROW(tiny_model_spec({"qwen3", "nano", GgmlType::F16, 1}), Error);
  EXPECT_THROW(tiny_model_presets("mamba"), Error);
}

TEST(TinyModel, Lists) {
  EXPECT_EQ(tiny_model_architectures(), (std::vector<std::string>{"llama", "qwen3", "laguna", "gemma4", "deepseek4"}));
  EXPECT_EQ(tiny_model_presets("gemma4"),
            (std::vector<std::string>{"tiny", "tiny-moe", "demo", "e2b", "e4b", "26b-a4b", "31b"}));
  EXPECT_EQ(tiny_model_presets("qwen3"), (std::vector<std::string>{"tiny", "small", "8b"}));
  for (const std::string& name : tiny_model_file_types()) {
    EXPECT_TRUE(reference::is_supported_weight_type(find_file_type(name)->default_type)) << name;
  }
}

}  // namespace
}  // namespace archscope
