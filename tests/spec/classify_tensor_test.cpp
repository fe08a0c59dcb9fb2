// Weight components from tensor names, llama.cpp and Hugging Face spellings.
#include <gtest/gtest.h>

#include "archscope/model_spec.h"

namespace archscope {
namespace {

TEST(ClassifyTensor, LlamaCppNames) {
  EXPECT_EQ(classify_tensor("token_embd.weight"), WeightComponent::TokenEmbedding);
  EXPECT_EQ(classify_tensor("per_layer_token_embd.weight"), WeightComponent::PerLayerEmbedding);
  EXPECT_EQ(classify_tensor("blk.3.proj.weight"), WeightComponent::PerLayerEmbedding);
  EXPECT_EQ(classify_tensor("blk.3.inp_gate.weight"), WeightComponent::PerLayerEmbedding);
  EXPECT_EQ(classify_tensor("blk.3.post_norm.weight"), WeightComponent::PerLayerEmbedding);
  EXPECT_EQ(classify_tensor("blk.3.indexer.proj.weight"), WeightComponent::Attention);
  EXPECT_EQ(classify_tensor("blk.3.attn_post_norm.weight"), WeightComponent::Norms);
  EXPECT_EQ(classify_tensor("blk.3.attn_q.weight"), WeightComponent::Attention);
  EXPECT_EQ(classify_tensor("blk.3.ffn_up.weight"), WeightComponent::Ffn);
  EXPECT_EQ(classify_tensor("blk.3.ffn_up_exps.weight"), WeightComponent::RoutedExperts);
  EXPECT_EQ(classify_tensor("blk.3.ffn_up_shexp.weight"), WeightComponent::SharedExperts);
  EXPECT_EQ(classify_tensor("blk.3.ffn_gate_inp.weight"), WeightComponent::Router);
  EXPECT_EQ(classify_tensor("blk.3.ffn_gate_tid2eid.weight"), WeightComponent::Router);
  EXPECT_EQ(classify_tensor("output.weight"), WeightComponent::Output);
  EXPECT_EQ(classify_tensor("output_norm.weight"), WeightComponent::Norms);
}

TEST(ClassifyTensor, HuggingFaceNames) {
  EXPECT_EQ(classify_tensor("model.embed_tokens.weight"), WeightComponent::TokenEmbedding);
  EXPECT_EQ(classify_tensor("model.layers.0.self_attn.q_proj.weight"), WeightComponent::Attention);
  EXPECT_EQ(classify_tensor("model.layers.0.mlp.experts.7.up_proj.weight"), WeightComponent::RoutedExperts);
  EXPECT_EQ(classify_tensor("model.layers.0.mlp.gate.weight"), WeightComponent::Router);
  EXPECT_EQ(classify_tensor("model.layers.0.input_layernorm.weight"), WeightComponent::Norms);
  EXPECT_EQ(classify_tensor("lm_head.weight"), WeightComponent::Output);
}

}  // namespace
}  // namespace archscope
