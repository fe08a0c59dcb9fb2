// The tiny Laguna model (make-model --arch laguna): the keys and tensors llama.cpp's laguna
// loader reads, a spec with XS.2's features at toy sizes, and tensors the engine accepts.
#include <gtest/gtest.h>

#include <cmath>

#include "archscope/gguf.h"
#include "archscope/model_loader.h"
#include "archscope/model_writer.h"
#include "formats/format_fixtures.h"
#include "runtime/model_weights.h"

namespace archscope {
namespace {

TEST(TinyLaguna, WritesLlamaCppsKeys) {
  testing::TempDir dir;
  const std::string path = dir.file("laguna.gguf");
  write_tiny_model({"laguna", "tiny", GgmlType::Q8_0, 1}, path);
  const GgufFile file = GgufFile::open(path);
  const GgufValue* heads = file.find("laguna.attention.head_count");
  ASSERT_NE(heads, nullptr);
  ASSERT_TRUE(heads->is_array());  // per layer: 4 on global layers 0 and 4, 8 on the sliding ones
  ASSERT_EQ(heads->items.size(), 5u);
  for (size_t il = 0; il < 5; ++il) EXPECT_EQ(heads->items[il].i, il % 4 == 0 ? 4 : 8) << "layer " << il;
  for (const char* key : {"laguna.leading_dense_block_count", "laguna.expert_count", "laguna.expert_used_count",
                          "laguna.expert_feed_forward_length", "laguna.expert_shared_feed_forward_length",
                          "laguna.attention.sliding_window", "laguna.rope.dimension_count",
                          "laguna.rope.dimension_count_swa", "laguna.expert_gating_func", "laguna.vocab_size",
                          "laguna.attention.head_count_kv", "laguna.attention.key_length"}) {
    const GgufValue* v = file.find(key);
    ASSERT_NE(v, nullptr) << key;
    EXPECT_EQ(v->type, GgufValueType::U32) << key;
  }
  EXPECT_EQ(file.find("laguna.expert_gating_func")->u, 2u);  // sigmoid
  EXPECT_EQ(file.find("laguna.expert_weights_norm")->type, GgufValueType::Bool);
  EXPECT_FLOAT_EQ(file.find("laguna.expert_weights_scale")->f, 2.5f);
  EXPECT_EQ(file.find("laguna.rope.scaling.type")->s, "yarn");
  EXPECT_EQ(file.find("tokenizer.ggml.pre")->s, "llama-bpe");  // a pre-tokenizer llama.cpp accepts for any arch
  EXPECT_EQ(file.find("laguna.vocab_size")->u, file.find("tokenizer.ggml.tokens")->items.size());
  // The per-head gate: one output per query head of the layer.
  EXPECT_EQ(file.find_tensor("blk.0.attn_gate.weight")->shape, (std::vector<uint64_t>{128, 4}));
  EXPECT_EQ(file.find_tensor("blk.1.attn_gate.weight")->shape, (std::vector<uint64_t>{128, 8}));
  EXPECT_EQ(file.find_tensor("blk.1.ffn_gate_exps.weight")->shape, (std::vector<uint64_t>{128, 64, 8}));
  EXPECT_EQ(file.find_tensor("blk.1.exp_probs_b.bias")->shape, (std::vector<uint64_t>{8}));
  EXPECT_EQ(file.find_tensor("blk.0.ffn_gate_exps.weight"), nullptr);  // the dense lead layer
  EXPECT_NE(file.find_tensor("blk.0.ffn_gate.weight"), nullptr);
}

TEST(TinyLaguna, LoadsAsItsPlanSays) {
  testing::TempDir dir;
  const std::string path = dir.file("laguna.gguf");
  write_tiny_model({"laguna", "tiny", GgmlType::F16, 3}, path);
  Result<ModelSpec> spec = load_model_spec(path);
  ASSERT_TRUE(spec.ok()) << spec.error().what();
  const ModelSpec planned = tiny_model_spec({"laguna", "tiny", GgmlType::F16, 3});
  ASSERT_EQ(spec->layer_count(), 5);
  EXPECT_EQ(spec->tensors.size(), planned.tensors.size());
  for (const LayerSpec& l : spec->layers) {
    SCOPED_TRACE("layer " + std::to_string(l.index));
    const LayerSpec& p = planned.layers[l.index];
    const bool global = l.index % 4 == 0;
    EXPECT_EQ(l.attention, global ? AttentionKind::Global : AttentionKind::Sliding);
    EXPECT_EQ(l.window, global ? 0 : 8);
    EXPECT_EQ(l.q_heads, global ? 4 : 8);
    EXPECT_EQ(l.kv_heads, 2);
    EXPECT_EQ(l.rope.rotary_dims, global ? 16 : 32);  // partial YaRN on global layers, full plain RoPE on sliding
    EXPECT_EQ(l.rope.scaling, global ? RopeScaling::Yarn : RopeScaling::None);
    EXPECT_DOUBLE_EQ(l.rope.theta, global ? 500000.0 : 10000.0);
    EXPECT_DOUBLE_EQ(l.rope.beta_fast, p.rope.beta_fast);
    if (global) {
      EXPECT_DOUBLE_EQ(l.rope.attn_factor, 1.0 + 0.1 * std::log(32.0));  // as llama.cpp runs it
    }
    EXPECT_TRUE(l.attn_gate_per_head);
    EXPECT_TRUE(l.qk_norm);
    EXPECT_EQ(l.ffn.kind, l.index == 0 ? FfnKind::Dense : FfnKind::Moe);
    EXPECT_EQ(l.ffn.experts, p.ffn.experts);
    EXPECT_EQ(l.ffn.active_experts, p.ffn.active_experts);
    EXPECT_EQ(l.ffn.shared_experts, p.ffn.shared_experts);
    EXPECT_EQ(l.ffn.shared_width, p.ffn.shared_width);
    EXPECT_EQ(l.ffn.normalize_weights, p.ffn.normalize_weights);
    EXPECT_DOUBLE_EQ(l.ffn.routed_scale, p.ffn.routed_scale);
    if (l.index > 0) {
      EXPECT_EQ(l.ffn.router_score, RouterScore::Sigmoid);
    }
    EXPECT_TRUE(l.ffn.expert_bias == (l.index > 0));
  }
  // Every tensor the program uses is there with its shape.
  const GgufFile file = GgufFile::open(path);
  EXPECT_NO_THROW(ModelWeights(file, *spec));
}

}  // namespace
}  // namespace archscope
