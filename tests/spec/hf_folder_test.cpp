// A Hugging Face folder: config.json plus safetensors weights, read as one ModelSpec.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "archscope/model_loader.h"
#include "formats/format_fixtures.h"

namespace archscope {
namespace {

using nlohmann::json;

const char* kTinyLlamaConfig = R"({
  "model_type": "llama", "hidden_size": 8, "intermediate_size": 16, "num_hidden_layers": 1,
  "num_attention_heads": 2, "num_key_value_heads": 1, "vocab_size": 4, "max_position_embeddings": 32,
  "torch_dtype": "bfloat16"
})";

TEST(HfFolder, WeightsComeFromSafetensors) {
  testing::TempDir dir;
  testing::write_text(dir.file("config.json"), kTinyLlamaConfig);
  // Two tensors only: the spec reports the real table, not the architecture's expectation.
  const json header = {
      {"model.embed_tokens.weight", {{"dtype", "BF16"}, {"shape", {4, 8}}, {"data_offsets", {0, 64}}}},
      {"model.layers.0.self_attn.q_proj.weight", {{"dtype", "F32"}, {"shape", {8, 8}}, {"data_offsets", {64, 320}}}},
  };
  testing::write_bytes(dir.file("model.safetensors"), testing::safetensors_bytes(header, std::vector<uint8_t>(320)));

  Result<ModelSpec> spec = load_model_spec(dir.path());
  ASSERT_TRUE(spec.ok()) << spec.error().what();
  EXPECT_EQ(spec->source, SourceKind::HfFolder);
  EXPECT_TRUE(spec->weights_present);
  ASSERT_EQ(spec->tensors.size(), 2u);
  const TensorSpec& q = spec->tensors[1];
  EXPECT_EQ(q.name, "model.layers.0.self_attn.q_proj.weight");
  EXPECT_EQ(q.layer, 0);
  EXPECT_EQ(q.component, WeightComponent::Attention);
  EXPECT_EQ(q.bytes, 256u);
  EXPECT_EQ(spec->tensors[0].component, WeightComponent::TokenEmbedding);
  EXPECT_EQ(spec->tensors[0].shape, (std::vector<uint64_t>{8, 4}));  // ggml order
  EXPECT_EQ(spec->weight_type, "F32");
}

TEST(HfFolder, WithoutWeightsUsesTheArchitecturesTensors) {
  testing::TempDir dir;
  testing::write_text(dir.file("config.json"), kTinyLlamaConfig);
  Result<ModelSpec> spec = load_model_spec(dir.path());
  ASSERT_TRUE(spec.ok()) << spec.error().what();
  EXPECT_FALSE(spec->weights_present);
  EXPECT_EQ(spec->weight_type, "bf16");
  // token_embd, 9 block tensors, output_norm, output
  EXPECT_EQ(spec->tensors.size(), 12u);
}

TEST(HfFolder, BrokenShardIsNamed) {
  testing::TempDir dir;
  testing::write_text(dir.file("config.json"), kTinyLlamaConfig);
  testing::write_text(dir.file("model.safetensors.index.json"),
                      R"({"weight_map": {"model.embed_tokens.weight": "model-00001-of-00002.safetensors"}})");
  Result<ModelSpec> spec = load_model_spec(dir.path());
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(std::string(spec.error().what()).find("model-00001-of-00002.safetensors"), std::string::npos)
      << spec.error().what();
}

}  // namespace
}  // namespace archscope
