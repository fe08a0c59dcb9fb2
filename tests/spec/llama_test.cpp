// Llama 3 and Qwen3: cards and GGUF metadata into ModelSpec, and bad metadata.
#include <gtest/gtest.h>

#include "archscope/gguf.h"
#include "archscope/model_loader.h"
#include "spec/spec_fixtures.h"

namespace archscope {
namespace {

using testing::total_params;

TEST(LlamaSpec, Llama31Card) {
  Result<ModelSpec> spec = load_model_spec(ARCHSCOPE_SOURCE_DIR "/models/cards/llama-3.1-8b.json");
  ASSERT_TRUE(spec.ok()) << spec.error().what();
  EXPECT_EQ(spec->architecture, "llama");
  EXPECT_EQ(spec->source, SourceKind::Card);
  ASSERT_EQ(spec->layer_count(), 32);
  for (const LayerSpec& l : spec->layers) {
    EXPECT_EQ(l.attention, AttentionKind::Global);
    EXPECT_EQ(l.q_heads, 32);
    EXPECT_EQ(l.kv_heads, 8);
    EXPECT_EQ(l.head_dim_k, 128);
    EXPECT_TRUE(l.owns_cache());
    EXPECT_EQ(l.rope.scaling, RopeScaling::Llama3);
    EXPECT_DOUBLE_EQ(l.rope.theta, 500000.0);
    EXPECT_EQ(l.ffn.dense_width, 14336);
  }
  // Meta publishes 8.03B parameters: 8,030,261,248 plus the 64-entry rope_freqs table.
  EXPECT_EQ(total_params(*spec), 8030261248u + 64u);
  EXPECT_EQ(spec->weight_type, "bf16");
}

TEST(LlamaSpec, Qwen3Card) {
  Result<ModelSpec> spec = load_model_spec(ARCHSCOPE_SOURCE_DIR "/models/cards/qwen3-8b.json");
  ASSERT_TRUE(spec.ok()) << spec.error().what();
  EXPECT_EQ(spec->architecture, "qwen3");
  ASSERT_EQ(spec->layer_count(), 36);
  EXPECT_TRUE(spec->layers[0].qk_norm);
  EXPECT_TRUE(spec->layers[0].rope.neox);
  EXPECT_EQ(spec->layers[0].head_dim_k, 128);
  // Qwen publishes 8.2B parameters (8,190,735,360 with the untied head).
  EXPECT_EQ(total_params(*spec), 8190735360u);
}

// The keys llama.cpp's converter writes for a llama model, shrunk.
GgufWriter tiny_llama_metadata(const std::string& arch = "llama") {
  GgufWriter w;
  w.set_string("general.architecture", arch);
  w.set_string("general.name", "tiny");
  w.set_u32(arch + ".block_count", 2);
  w.set_u32(arch + ".context_length", 256);
  w.set_u32(arch + ".embedding_length", 64);
  w.set_u32(arch + ".feed_forward_length", 128);
  w.set_u32(arch + ".attention.head_count", 4);
  w.set_u32(arch + ".attention.head_count_kv", 2);
  w.set_f32(arch + ".rope.freq_base", 10000.0f);
  w.set_f32(arch + ".attention.layer_norm_rms_epsilon", 1e-5f);
  w.set_string_array("tokenizer.ggml.tokens", {"a", "b", "c", "d"});
  return w;
}

TEST(LlamaSpec, FromGgufMetadata) {
  testing::TempDir dir;
  const std::string path = dir.file("tiny.gguf");
  tiny_llama_metadata().write(path);
  Result<ModelSpec> spec = load_model_spec(path);
  ASSERT_TRUE(spec.ok()) << spec.error().what();
  EXPECT_EQ(spec->name, "tiny");
  EXPECT_EQ(spec->source, SourceKind::Gguf);
  EXPECT_EQ(spec->hidden, 64);
  EXPECT_EQ(spec->vocab, 4);  // from the tokenizer when there is no vocab_size key
  ASSERT_EQ(spec->layer_count(), 2);
  EXPECT_EQ(spec->layers[1].q_heads, 4);
  EXPECT_EQ(spec->layers[1].kv_heads, 2);
  EXPECT_EQ(spec->layers[1].head_dim_k, 16);  // hidden / heads by default
  EXPECT_FALSE(spec->layers[1].rope.neox);
  EXPECT_TRUE(spec->tied_embeddings);  // no output.weight
}

TEST(LlamaSpec, Qwen3FromGgufHasQkNorm) {
  testing::TempDir dir;
  const std::string path = dir.file("tiny.gguf");
  GgufWriter w = tiny_llama_metadata("qwen3");
  w.set_u32("qwen3.attention.key_length", 32);
  w.set_u32("qwen3.attention.value_length", 32);
  w.write(path);
  Result<ModelSpec> spec = load_model_spec(path);
  ASSERT_TRUE(spec.ok()) << spec.error().what();
  EXPECT_TRUE(spec->layers[0].qk_norm);
  EXPECT_EQ(spec->layers[0].head_dim_k, 32);
}

void expect_error(const std::string& path, const std::string& needle) {
  Result<ModelSpec> spec = load_model_spec(path);
  ASSERT_FALSE(spec.ok());
  const std::string message = spec.error().what();
  EXPECT_NE(message.find("tiny.gguf"), std::string::npos) << message;
  EXPECT_NE(message.find(needle), std::string::npos) << message;
}

TEST(LlamaSpec, MissingKeyIsNamed) {
  testing::TempDir dir;
  GgufWriter w;
  w.set_string("general.architecture", "llama");
  w.set_u32("llama.context_length", 16);
  w.set_u32("llama.embedding_length", 64);
  w.set_u32("llama.attention.head_count", 4);
  w.write(dir.file("tiny.gguf"));
  expect_error(dir.file("tiny.gguf"), "llama.block_count");
}

TEST(LlamaSpec, UnknownArchitectureIsNamed) {
  testing::TempDir dir;
  tiny_llama_metadata("mamba9").write(dir.file("tiny.gguf"));
  expect_error(dir.file("tiny.gguf"), "unknown architecture \"mamba9\"");
}

TEST(LlamaSpec, WrongLengthHeadArray) {
  testing::TempDir dir;
  GgufWriter w = tiny_llama_metadata();
  w.set_i32_array("llama.attention.head_count", {4, 4, 4});
  w.write(dir.file("tiny.gguf"));
  expect_error(dir.file("tiny.gguf"), "has 3 entries but the model has 2 layers");
}

TEST(LlamaSpec, HeadsThatDoNotGroup) {
  testing::TempDir dir;
  GgufWriter w = tiny_llama_metadata();
  w.set_u32("llama.attention.head_count_kv", 3);
  w.write(dir.file("tiny.gguf"));
  expect_error(dir.file("tiny.gguf"), "do not divide");
}

TEST(LlamaSpec, WrongTypedKey) {
  testing::TempDir dir;
  GgufWriter w = tiny_llama_metadata();
  w.set_string("llama.embedding_length", "wide");
  w.write(dir.file("tiny.gguf"));
  expect_error(dir.file("tiny.gguf"), "llama.embedding_length");
}

TEST(LlamaSpec, AbsurdBlockCount) {
  testing::TempDir dir;
  GgufWriter w = tiny_llama_metadata();
  w.set_u64("llama.block_count", uint64_t{1} << 40);
  w.write(dir.file("tiny.gguf"));
  expect_error(dir.file("tiny.gguf"), "llama.block_count");
}

TEST(ConfigSpec, BadCards) {
  testing::TempDir dir;
  testing::write_text(dir.file("broken.json"), "{\"model_type\": \"llama\", ");
  Result<ModelSpec> spec = load_model_spec(dir.file("broken.json"));
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(std::string(spec.error().what()).find("broken.json: not valid JSON"), std::string::npos);

  testing::write_text(dir.file("unknown.json"), R"({"model_type": "gpt_unknown"})");
  spec = load_model_spec(dir.file("unknown.json"));
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(std::string(spec.error().what()).find("unknown model_type \"gpt_unknown\""), std::string::npos);

  testing::write_text(dir.file("missing.json"), R"({"model_type": "llama", "hidden_size": 64})");
  spec = load_model_spec(dir.file("missing.json"));
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(std::string(spec.error().what()).find("missing.json: missing key"), std::string::npos);

  testing::write_text(dir.file("typed.json"), R"({"model_type": "llama", "hidden_size": "big"})");
  spec = load_model_spec(dir.file("typed.json"));
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(std::string(spec.error().what()).find("hidden_size"), std::string::npos);

  spec = load_model_spec(dir.file("absent.json"));
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(std::string(spec.error().what()).find("no such file"), std::string::npos);

  spec = load_model_spec(dir.path());  // a folder without config.json
  ASSERT_FALSE(spec.ok());
  EXPECT_NE(std::string(spec.error().what()).find("no config.json"), std::string::npos);
}

}  // namespace
}  // namespace archscope
