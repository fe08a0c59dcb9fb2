// The published-size presets (make-model --preset e2b, e4b, 26b-a4b, 31b, xs2, flash, 8b):
// their GGUF metadata reads back as the model's card, tensor for tensor, and their weight
// types follow llama-quantize's mix. The files themselves are gigabytes, so these tests
// write the metadata only; tools/large_models.sh writes and runs the real files.
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "archscope/gguf.h"
#include "archscope/model_loader.h"
#include "archscope/model_writer.h"
#include "formats/format_fixtures.h"
#include "spec/architecture.h"
#include "writer/tiny_model.h"

namespace archscope {
namespace {

struct Preset {
  const char* arch;
  const char* preset;
  const char* card;
};

class PublishedPreset : public ::testing::TestWithParam<Preset> {};

ModelSpec load(const std::string& path) {
  Result<ModelSpec> spec = load_model_spec(path);
  if (!spec) throw spec.error();
  return std::move(spec).value();
}

TEST_P(PublishedPreset, MetadataReadsBackAsTheCard) {
  const Preset p = GetParam();
  testing::TempDir dir;
  GgufWriter w;
  write_tiny_model_metadata({p.arch, p.preset, "Q4_K_M"}, w);
  w.write(dir.file("header.gguf"));
  const ModelSpec got = load(dir.file("header.gguf"));
  const ModelSpec card = load(ARCHSCOPE_SOURCE_DIR "/models/cards/" + std::string(p.card));

  EXPECT_EQ(got.hidden, card.hidden);
  EXPECT_EQ(got.vocab, card.vocab);
  EXPECT_EQ(got.context_length, card.context_length);
  EXPECT_EQ(got.ple_width, card.ple_width);
  EXPECT_EQ(got.hc_width, card.hc_width);
  EXPECT_FLOAT_EQ(float(got.final_logit_softcap), float(card.final_logit_softcap));
  EXPECT_FLOAT_EQ(float(got.rms_eps), float(card.rms_eps));
  ASSERT_EQ(got.layers.size(), card.layers.size());
  for (size_t i = 0; i < got.layers.size(); ++i) {
    const LayerSpec &g = got.layers[i], &c = card.layers[i];
    SCOPED_TRACE("layer " + std::to_string(i));
    EXPECT_EQ(g.attention, c.attention);
    EXPECT_EQ(g.window, c.window);
    EXPECT_EQ(g.q_heads, c.q_heads);
    EXPECT_EQ(g.kv_heads, c.kv_heads);
    EXPECT_EQ(g.head_dim_k, c.head_dim_k);
    EXPECT_EQ(g.head_dim_v, c.head_dim_v);
    EXPECT_EQ(g.kv_source, c.kv_source);
    EXPECT_EQ(g.compress_ratio, c.compress_ratio);
    // (Gemma 4's proportional RoPE: a GGUF rotates the whole head with rope_freqs factors
    // that stop the unrotated pairs, the card names the rotating dims.)
    if (!c.rope.freq_factors) {
      EXPECT_EQ(g.rope.rotary_dims, c.rope.rotary_dims);
    }
    EXPECT_FLOAT_EQ(float(g.rope.theta), float(c.rope.theta));
    EXPECT_EQ(g.ffn.kind, c.ffn.kind);
    EXPECT_EQ(g.ffn.dense_width, c.ffn.dense_width);
    EXPECT_EQ(g.ffn.experts, c.ffn.experts);
    EXPECT_EQ(g.ffn.active_experts, c.ffn.active_experts);
    EXPECT_EQ(g.ffn.expert_width, c.ffn.expert_width);
  }
  // The same tensors (output.weight too, where the head is untied), so the same parameter
  // count as the published model.
  const Architecture* arch = find_architecture_by_gguf(p.arch);
  std::map<std::string, std::vector<uint64_t>> expected;
  for (const TensorSpec& t : arch->tensors(card)) expected[t.name] = t.shape;
  const std::vector<TensorSpec> written = tiny_model_spec({p.arch, p.preset, "Q4_K_M"}).tensors;
  EXPECT_EQ(written.size(), expected.size());
  for (const TensorSpec& t : written) EXPECT_EQ(t.shape, expected[t.name]) << t.name;
}

INSTANTIATE_TEST_SUITE_P(Cards, PublishedPreset,
                         ::testing::Values(Preset{"gemma4", "e2b", "gemma-4-e2b.json"},
                                           Preset{"gemma4", "e4b", "gemma-4-e4b.json"},
                                           Preset{"gemma4", "26b-a4b", "gemma-4-26b-a4b.json"},
                                           Preset{"gemma4", "31b", "gemma-4-31b.json"},
                                           Preset{"laguna", "xs2", "laguna-xs.2.json"},
                                           Preset{"deepseek4", "flash", "deepseek-v4-flash.json"},
                                           Preset{"qwen3", "8b", "qwen3-8b.json"}),
                         [](const ::testing::TestParamInfo<Preset>& info) {
                           std::string name = std::string(info.param.arch) + "_" + info.param.preset;
                           for (char& c : name) c = c == '-' ? '_' : c;
                           return name;
                         });

// Gemma 4 E2B at Q4_K_M as llama-quantize makes it: the tied embedding and the
// per-layer-embedding table in the head's Q6_K, the projection kept as converted, Q4_K
// for most matrices, Q6_K for the more-bits layers' ffn_down.
TEST(PublishedPresets, Gemma4E2bQ4KmFollowsLlamaQuantize) {
  const ModelSpec spec = tiny_model_spec({"gemma4", "e2b", "Q4_K_M"});
  std::map<std::string, GgmlType> type;
  uint64_t bytes = 0;
  for (const TensorSpec& t : spec.tensors) {
    type[t.name] = static_cast<GgmlType>(t.ggml_type);
    bytes += t.bytes;
  }
  EXPECT_EQ(type["token_embd.weight"], GgmlType::Q6_K);
  EXPECT_EQ(type["per_layer_token_embd.weight"], GgmlType::Q6_K);
  EXPECT_EQ(type["per_layer_model_proj.weight"], GgmlType::F32);
  EXPECT_EQ(type["blk.10.attn_q.weight"], GgmlType::Q4_K);
  EXPECT_EQ(type["blk.0.ffn_down.weight"], GgmlType::Q6_K);
  EXPECT_EQ(type["blk.5.ffn_down.weight"], GgmlType::Q4_K);
  // 5.1B parameters in about 3.2 GB (the published Q4_K_M files are 3.1-3.5 GB).
  EXPECT_GT(bytes, 2'900'000'000u);
  EXPECT_LT(bytes, 3'600'000'000u);
}

// A padded vocabulary holds the family's tokens first and unused tokens to the card's size;
// a vocabulary file of another size is refused.
TEST(PublishedPresets, VocabularyHasTheModelsSize) {
  testing::TempDir dir;
  GgufWriter w;
  write_tiny_model_metadata({"laguna", "xs2", "Q8_0"}, w);
  w.write(dir.file("xs2.gguf"));
  const Tokenizer tok = Tokenizer::from_gguf(GgufFile::open(dir.file("xs2.gguf")));
  EXPECT_EQ(tok.vocab_size(), 100352u);
  EXPECT_EQ(tok.encode("hello world", false, false), Tokenizer::from_gguf(GgufFile::open([&] {
              write_tiny_model({"laguna", "tiny", "F16"}, dir.file("tiny.gguf"));
              return dir.file("tiny.gguf");
            }())).encode("hello world", false, false));
  TinyModelOptions wrong{"laguna", "xs2", "Q8_0"};
  wrong.vocab_file = dir.file("tiny.gguf");
  EXPECT_THROW(tiny_model_spec(wrong), Error);
}

}  // namespace
}  // namespace archscope
