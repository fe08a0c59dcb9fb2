// DeepSeek V4: the published Flash and Pro cards, a small GGUF written with the keys
// llama.cpp's converter (conversion/deepseek.py, DeepseekV4Model) writes, and bad inputs.
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "archscope/gguf.h"
#include "archscope/model_loader.h"
#include "archscope/model_spec.h"
#include "spec/spec_fixtures.h"

namespace archscope {
namespace {

namespace fs = std::filesystem;
using testing::elements;
using testing::find;
using testing::load_card;
using testing::total_params;

// Active per token: everything but the unchosen routed experts and the input embedding
// table (a row lookup). The output head counts.
uint64_t active_params(const ModelSpec& spec) {
  uint64_t n = 0;
  for (const TensorSpec& t : spec.tensors) {
    if (t.name == "token_embd.weight") continue;
    if (t.name.find("_exps.") != std::string::npos) {
      const LayerSpec& l = spec.layers.at(t.layer);
      n += elements(t) / l.ffn.experts * l.ffn.active_experts;
    } else {
      n += elements(t);
    }
  }
  return n;
}

std::vector<uint64_t> shape_of(const ModelSpec& spec, const std::string& name) {
  const TensorSpec* t = find(spec, name);
  return t ? t->shape : std::vector<uint64_t>{};
}

int count_kind(const ModelSpec& spec, AttentionKind kind) {
  int n = 0;
  for (const LayerSpec& l : spec.layers) n += l.attention == kind;
  return n;
}

// What every DeepSeek V4 layer shares, whatever its attention kind.
void expect_common_layer(const LayerSpec& l, int q_heads, int experts, int expert_width, double routed_scale) {
  SCOPED_TRACE("layer " + std::to_string(l.index));
  EXPECT_EQ(l.window, 128);
  EXPECT_EQ(l.q_heads, q_heads);
  EXPECT_EQ(l.kv_heads, 1);
  EXPECT_EQ(l.head_dim_k, 512);
  EXPECT_EQ(l.head_dim_v, 512);
  EXPECT_TRUE(l.k_equals_v);
  EXPECT_EQ(l.kv_source, l.index);
  EXPECT_EQ(l.hc_width, 4);
  EXPECT_EQ(l.rope.rotary_dims, 64);
  EXPECT_EQ(l.rope.rotary_offset, 448);  // the last 64 of 512 dims rotate
  EXPECT_FALSE(l.rope.neox);             // interleaved pairs
  EXPECT_EQ(l.ffn.kind, FfnKind::Moe);
  EXPECT_EQ(l.ffn.experts, experts);
  EXPECT_EQ(l.ffn.active_experts, 6);
  EXPECT_EQ(l.ffn.expert_width, expert_width);
  EXPECT_EQ(l.ffn.shared_experts, 1);
  EXPECT_EQ(l.ffn.shared_width, expert_width);
  EXPECT_EQ(l.ffn.hash_routed, l.index < 3);  // num_hash_layers 3
  EXPECT_EQ(l.ffn.expert_bias, l.index >= 3);  // gate.bias only on router-selected layers
  EXPECT_EQ(l.ffn.router_score, RouterScore::SqrtSoftplus);
  EXPECT_TRUE(l.ffn.normalize_weights);
  EXPECT_DOUBLE_EQ(l.ffn.routed_scale, routed_scale);
  switch (l.attention) {
    case AttentionKind::Sliding:
      EXPECT_EQ(l.compress_ratio, 0);
      EXPECT_EQ(l.state_elements, 0u);
      EXPECT_EQ(l.indexer_heads, 0);
      // Ratio-0 layers: rope_theta 10000, no YaRN.
      EXPECT_DOUBLE_EQ(l.rope.theta, 10000.0);
      EXPECT_EQ(l.rope.scaling, RopeScaling::None);
      break;
    case AttentionKind::Csa:
      EXPECT_EQ(l.compress_ratio, 4);
      EXPECT_EQ(l.indexer_heads, 64);
      EXPECT_EQ(l.indexer_dim, 128);
      // kv + score: 2*4 positions x 2*512, plus the indexer's 2*4 x 2*128 (llama-kv-cache-dsv4.cpp).
      EXPECT_EQ(l.state_elements, 2u * 8 * 1024 + 2u * 8 * 256);
      break;
    case AttentionKind::Hca:
      EXPECT_EQ(l.compress_ratio, 128);
      EXPECT_EQ(l.indexer_heads, 0);
      EXPECT_EQ(l.state_elements, 2u * 128 * 512);  // kv + score: 128 positions x 512
      break;
    default:
      ADD_FAILURE() << "unexpected attention kind " << to_string(l.attention);
  }
  if (l.attention != AttentionKind::Sliding) {
    // Compressed layers: compress_rope_theta 160000 with the config's YaRN.
    EXPECT_DOUBLE_EQ(l.rope.theta, 160000.0);
    EXPECT_EQ(l.rope.scaling, RopeScaling::Yarn);
    EXPECT_DOUBLE_EQ(l.rope.factor, 16.0);
    EXPECT_EQ(l.rope.original_context, 65536);
    EXPECT_DOUBLE_EQ(l.rope.beta_fast, 32.0);
    EXPECT_DOUBLE_EQ(l.rope.beta_slow, 1.0);
    EXPECT_DOUBLE_EQ(l.rope.attn_factor, 1.0);
  }
}

TEST(Deepseek4Spec, FlashCard) {
  const ModelSpec spec = load_card("deepseek-v4-flash.json");
  ASSERT_EQ(spec.layer_count(), 43);  // num_hidden_layers; the MTP block (44th ratio) is not a layer
  EXPECT_EQ(spec.architecture, "deepseek4");
  EXPECT_EQ(spec.name, "deepseek-ai/DeepSeek-V4-Flash");
  EXPECT_EQ(spec.hidden, 4096);
  EXPECT_EQ(spec.vocab, 129280);
  EXPECT_EQ(spec.context_length, 1048576);
  EXPECT_FALSE(spec.tied_embeddings);
  EXPECT_EQ(spec.hc_width, 4);
  EXPECT_EQ(spec.hc_sinkhorn_iters, 20);
  EXPECT_EQ(spec.q_lora_rank, 1024);
  EXPECT_EQ(spec.o_groups, 8);
  EXPECT_EQ(spec.o_lora_rank, 1024);

  // compress_ratios [0, 0, (4, 128) x 20, 4, 0]: the trailing 0 belongs to the MTP block.
  for (int il = 0; il < 43; ++il) {
    const AttentionKind want = il < 2 ? AttentionKind::Sliding : il % 2 == 0 ? AttentionKind::Csa : AttentionKind::Hca;
    EXPECT_EQ(spec.layers[il].attention, want) << "layer " << il;
    EXPECT_EQ(spec.layers[il].indexer_top_k, want == AttentionKind::Csa ? 512 : 0) << "layer " << il;
    expect_common_layer(spec.layers[il], 64, 256, 2048, 1.5);
  }
  EXPECT_EQ(spec.layers[42].attention, AttentionKind::Csa);
  EXPECT_EQ(count_kind(spec, AttentionKind::Sliding), 2);
  EXPECT_EQ(count_kind(spec, AttentionKind::Csa), 21);
  EXPECT_EQ(count_kind(spec, AttentionKind::Hca), 20);

  // Shapes against the published checkpoint (safetensors [out, in] reversed to ggml order).
  EXPECT_EQ(shape_of(spec, "blk.0.attn_q_a.weight"), (std::vector<uint64_t>{4096, 1024}));
  EXPECT_EQ(shape_of(spec, "blk.0.attn_q_b.weight"), (std::vector<uint64_t>{1024, 32768}));
  EXPECT_EQ(shape_of(spec, "blk.0.attn_kv.weight"), (std::vector<uint64_t>{4096, 512}));
  EXPECT_EQ(shape_of(spec, "blk.0.attn_output_a.weight"), (std::vector<uint64_t>{4096, 8192}));
  EXPECT_EQ(shape_of(spec, "blk.0.attn_output_b.weight"), (std::vector<uint64_t>{8192, 4096}));
  EXPECT_EQ(shape_of(spec, "blk.0.hc_attn_fn.weight"), (std::vector<uint64_t>{16384, 24}));
  EXPECT_EQ(shape_of(spec, "blk.0.ffn_gate_tid2eid.weight"), (std::vector<uint64_t>{6, 129280}));
  EXPECT_EQ(find(spec, "blk.0.exp_probs_b.bias"), nullptr);  // hash layers have no routing bias
  EXPECT_EQ(shape_of(spec, "blk.3.exp_probs_b.bias"), (std::vector<uint64_t>{256}));
  EXPECT_EQ(shape_of(spec, "blk.5.ffn_gate_exps.weight"), (std::vector<uint64_t>{4096, 2048, 256}));
  EXPECT_EQ(shape_of(spec, "blk.5.ffn_down_exps.weight"), (std::vector<uint64_t>{2048, 4096, 256}));
  EXPECT_EQ(shape_of(spec, "blk.2.attn_compressor_ape.weight"), (std::vector<uint64_t>{1024, 4}));
  EXPECT_EQ(shape_of(spec, "blk.3.attn_compressor_ape.weight"), (std::vector<uint64_t>{512, 128}));
  EXPECT_EQ(shape_of(spec, "blk.2.indexer.attn_q_b.weight"), (std::vector<uint64_t>{1024, 8192}));
  EXPECT_EQ(find(spec, "blk.3.indexer.proj.weight"), nullptr);  // no indexer on HCA layers
  EXPECT_EQ(find(spec, "blk.0.attn_compressor_kv.weight"), nullptr);  // none on ratio-0 layers
  EXPECT_EQ(find(spec, "blk.43.attn_norm.weight"), nullptr);      // MTP block not counted
  EXPECT_EQ(shape_of(spec, "output_hc_fn.weight"), (std::vector<uint64_t>{16384, 4}));

  // Published: 284B total, 13B activated (DeepSeek-V4-Flash model card), MTP block excluded.
  // Sum of tensor elements: 284,334,567,511 (incl. the 3 hash tables of 6 x 129,280 ids).
  // Tolerance: the published figures are rounded to the billion, so +-0.5B.
  EXPECT_EQ(total_params(spec), 284334567511u);
  EXPECT_NEAR(double(total_params(spec)), 284e9, 0.5e9);
  EXPECT_NEAR(double(active_params(spec)), 13e9, 0.5e9);  // 13.27B
  // Every card tensor is costed at the card's torch_dtype (bfloat16).
  EXPECT_EQ(spec.weight_type, "bf16");
}

TEST(Deepseek4Spec, ProCard) {
  const ModelSpec spec = load_card("deepseek-v4-pro.json");
  ASSERT_EQ(spec.layer_count(), 61);
  EXPECT_EQ(spec.name, "deepseek-ai/DeepSeek-V4-Pro");
  EXPECT_EQ(spec.hidden, 7168);
  EXPECT_EQ(spec.vocab, 129280);
  EXPECT_EQ(spec.context_length, 1048576);
  EXPECT_EQ(spec.hc_width, 4);
  EXPECT_EQ(spec.hc_sinkhorn_iters, 20);
  EXPECT_EQ(spec.q_lora_rank, 1536);
  EXPECT_EQ(spec.o_groups, 16);
  EXPECT_EQ(spec.o_lora_rank, 1024);

  // compress_ratios [128, 128, (4, 128) x 29, 4, 0]: no sliding-only layer in the trunk.
  for (int il = 0; il < 61; ++il) {
    const AttentionKind want = il < 2 || il % 2 == 1 ? AttentionKind::Hca : AttentionKind::Csa;
    EXPECT_EQ(spec.layers[il].attention, want) << "layer " << il;
    EXPECT_EQ(spec.layers[il].indexer_top_k, want == AttentionKind::Csa ? 1024 : 0) << "layer " << il;
    expect_common_layer(spec.layers[il], 128, 384, 3072, 2.5);
  }
  EXPECT_EQ(count_kind(spec, AttentionKind::Sliding), 0);
  EXPECT_EQ(count_kind(spec, AttentionKind::Csa), 30);
  EXPECT_EQ(count_kind(spec, AttentionKind::Hca), 31);

  // Shapes against the published checkpoint's tensor table.
  EXPECT_EQ(shape_of(spec, "blk.0.attn_output_a.weight"), (std::vector<uint64_t>{4096, 16384}));
  EXPECT_EQ(shape_of(spec, "blk.0.attn_output_b.weight"), (std::vector<uint64_t>{16384, 7168}));
  EXPECT_EQ(shape_of(spec, "blk.0.attn_q_b.weight"), (std::vector<uint64_t>{1536, 65536}));
  EXPECT_EQ(shape_of(spec, "blk.0.hc_ffn_fn.weight"), (std::vector<uint64_t>{28672, 24}));
  EXPECT_EQ(shape_of(spec, "blk.0.attn_compressor_kv.weight"), (std::vector<uint64_t>{7168, 512}));
  EXPECT_EQ(shape_of(spec, "blk.2.attn_compressor_kv.weight"), (std::vector<uint64_t>{7168, 1024}));
  EXPECT_EQ(shape_of(spec, "blk.2.indexer_compressor_ape.weight"), (std::vector<uint64_t>{256, 4}));
  EXPECT_EQ(shape_of(spec, "blk.2.indexer.proj.weight"), (std::vector<uint64_t>{7168, 64}));
  EXPECT_EQ(shape_of(spec, "blk.60.ffn_up_exps.weight"), (std::vector<uint64_t>{7168, 3072, 384}));
  EXPECT_EQ(shape_of(spec, "output_hc_fn.weight"), (std::vector<uint64_t>{28672, 4}));

  // Published: 1.6T total, 49B activated (DeepSeek-V4-Pro model card), MTP block excluded.
  // Sum of tensor elements: 1,572,999,528,803 (1.573T; with the MTP block it would be 1.599T).
  // Tolerance: "1.6T" is rounded to the 100B, so +-50B; "49B" to the billion, so +-0.5B.
  EXPECT_EQ(total_params(spec), 1572999528803u);
  EXPECT_NEAR(double(total_params(spec)), 1.6e12, 50e9);
  EXPECT_NEAR(double(active_params(spec)), 49e9, 0.5e9);  // 48.86B
}

// A small DeepSeek V4 GGUF holding the metadata keys conversion/deepseek.py writes (with the
// types gguf-py gives them), no tensors unless asked. Keys in `omit` are left out.
struct TinyDeepseek4 {
  std::set<std::string> omit;
  std::map<std::string, GgufValue> overrides;  // replaces a key's value
  std::vector<int32_t> ratios = {0, 4, 128, 4, 0};  // 4 main layers + the MTP entry
  uint32_t block_count = 4;
  bool with_mtp_tensor = false;

  static std::string path(const std::string& name) {
    return (fs::path(::testing::TempDir()) / (name + ".gguf")).string();
  }

  std::string write(const std::string& name) const {
    GgufWriter w;
    auto u32 = [&](const std::string& key, uint32_t v) { if (!omit.count(key)) w.set_u32(key, v); };
    auto f32 = [&](const std::string& key, float v) { if (!omit.count(key)) w.set_f32(key, v); };
    w.set_string("general.architecture", "deepseek4");
    w.set_string("general.name", "DeepSeek V4 tiny");
    u32("deepseek4.block_count", block_count);
    u32("deepseek4.context_length", 4096);
    u32("deepseek4.embedding_length", 64);
    u32("deepseek4.attention.head_count", 4);
    u32("deepseek4.attention.head_count_kv", 1);
    if (!omit.count("deepseek4.rope.scaling.type")) w.set_string("deepseek4.rope.scaling.type", "yarn");
    f32("deepseek4.rope.scaling.factor", 16.0f);
    u32("deepseek4.rope.scaling.original_context_length", 256);
    f32("deepseek4.rope.scaling.yarn_beta_fast", 32.0f);
    f32("deepseek4.rope.scaling.yarn_beta_slow", 1.0f);
    f32("deepseek4.rope.freq_base", 10000.0f);
    f32("deepseek4.attention.layer_norm_rms_epsilon", 1e-6f);
    u32("deepseek4.expert_count", 8);
    u32("deepseek4.expert_used_count", 2);
    u32("deepseek4.expert_gating_func", 4);  // sqrtsoftplus
    u32("deepseek4.attention.key_length", 128);
    u32("deepseek4.attention.value_length", 128);
    u32("general.file_type", 1);
    // DeepseekV4Model.set_gguf_parameters
    u32("deepseek4.rope.dimension_count", 64);
    u32("deepseek4.attention.q_lora_rank", 32);
    u32("deepseek4.attention.sliding_window", 8);
    u32("deepseek4.expert_feed_forward_length", 32);
    u32("deepseek4.expert_shared_count", 1);
    f32("deepseek4.expert_weights_scale", 1.5f);
    if (!omit.count("deepseek4.expert_weights_norm")) w.set_bool("deepseek4.expert_weights_norm", true);
    if (!omit.count("deepseek4.swiglu_clamp_exp")) w.set_f32_array("deepseek4.swiglu_clamp_exp", std::vector<float>(block_count, 10.0f));
    if (!omit.count("deepseek4.swiglu_clamp_shexp")) w.set_f32_array("deepseek4.swiglu_clamp_shexp", std::vector<float>(block_count, 10.0f));
    u32("deepseek4.attention.indexer.head_count", 2);
    u32("deepseek4.attention.indexer.key_length", 64);
    u32("deepseek4.attention.indexer.top_k", 16);
    u32("deepseek4.attention.output_group_count", 2);
    u32("deepseek4.attention.output_lora_rank", 16);
    if (!omit.count("deepseek4.attention.compress_ratios")) w.set_i32_array("deepseek4.attention.compress_ratios", ratios);
    f32("deepseek4.attention.compress_rope_freq_base", 160000.0f);
    u32("deepseek4.hyper_connection.count", 4);
    u32("deepseek4.hyper_connection.sinkhorn_iterations", 20);
    f32("deepseek4.hyper_connection.epsilon", 1e-6f);
    u32("deepseek4.hash_layer_count", 1);
    u32("deepseek4.embedding_length_out", 64 * 4);
    std::vector<std::string> tokens;
    for (int i = 0; i < 32; ++i) tokens.push_back(std::string(1, 't').append(std::to_string(i)));
    w.set_string_array("tokenizer.ggml.tokens", tokens);
    for (const auto& [key, value] : overrides) w.set(key, value);
    if (with_mtp_tensor) {
      // The MTP block's eh_proj {2*hidden, hidden}, which tells llama.cpp the last block is MTP.
      w.add_tensor("blk." + std::to_string(block_count - 1) + ".nextn.eh_proj.weight", {128, 64}, GgmlType::F32,
                   std::vector<uint8_t>(128 * 64 * 4, 0));
    }
    const std::string file = path(name);
    w.write(file);
    return file;
  }
};

GgufValue u32_value(uint32_t v) {
  GgufValue value;
  value.type = GgufValueType::U32;
  value.u = v;
  return value;
}

TEST(Deepseek4Spec, ReadsConverterMetadata) {
  const std::string file = TinyDeepseek4{}.write("deepseek4_tiny");
  Result<ModelSpec> loaded = load_model_spec(file);
  ASSERT_TRUE(loaded.ok()) << loaded.error().what();
  const ModelSpec& spec = loaded.value();
  EXPECT_EQ(spec.architecture, "deepseek4");
  EXPECT_EQ(spec.source, SourceKind::Gguf);
  EXPECT_EQ(spec.name, "DeepSeek V4 tiny");
  EXPECT_EQ(spec.hidden, 64);
  EXPECT_EQ(spec.vocab, 32);
  EXPECT_EQ(spec.context_length, 4096);
  EXPECT_EQ(spec.hc_width, 4);
  EXPECT_EQ(spec.hc_sinkhorn_iters, 20);
  EXPECT_EQ(spec.q_lora_rank, 32);
  EXPECT_EQ(spec.o_groups, 2);
  EXPECT_EQ(spec.o_lora_rank, 16);
  ASSERT_EQ(spec.layer_count(), 4);

  const AttentionKind kinds[] = {AttentionKind::Sliding, AttentionKind::Csa, AttentionKind::Hca, AttentionKind::Csa};
  for (const LayerSpec& l : spec.layers) {
    SCOPED_TRACE("layer " + std::to_string(l.index));
    EXPECT_EQ(l.attention, kinds[l.index]);
    EXPECT_EQ(l.compress_ratio, std::vector<int>({0, 4, 128, 4})[l.index]);
    EXPECT_EQ(l.window, 8);
    EXPECT_EQ(l.q_heads, 4);
    EXPECT_EQ(l.kv_heads, 1);
    EXPECT_EQ(l.head_dim_k, 128);
    EXPECT_EQ(l.head_dim_v, 128);
    EXPECT_TRUE(l.k_equals_v);
    EXPECT_EQ(l.kv_source, l.index);
    EXPECT_EQ(l.hc_width, 4);
    EXPECT_EQ(l.rope.rotary_dims, 64);
    EXPECT_EQ(l.rope.rotary_offset, 64);
    EXPECT_FALSE(l.rope.neox);
    EXPECT_EQ(l.ffn.kind, FfnKind::Moe);
    EXPECT_EQ(l.ffn.experts, 8);
    EXPECT_EQ(l.ffn.active_experts, 2);
    EXPECT_EQ(l.ffn.expert_width, 32);
    EXPECT_EQ(l.ffn.shared_experts, 1);
    EXPECT_EQ(l.ffn.hash_routed, l.index == 0);
    EXPECT_EQ(l.ffn.expert_bias, l.index != 0);
    EXPECT_EQ(l.ffn.router_score, RouterScore::SqrtSoftplus);
    EXPECT_TRUE(l.ffn.normalize_weights);
    EXPECT_DOUBLE_EQ(l.ffn.routed_scale, 1.5);
    if (l.attention == AttentionKind::Sliding) {
      EXPECT_DOUBLE_EQ(l.rope.theta, 10000.0);
      EXPECT_EQ(l.rope.scaling, RopeScaling::None);
      EXPECT_EQ(l.state_elements, 0u);
    } else {
      EXPECT_DOUBLE_EQ(l.rope.theta, 160000.0);
      EXPECT_EQ(l.rope.scaling, RopeScaling::Yarn);
      EXPECT_DOUBLE_EQ(l.rope.factor, 16.0);
      EXPECT_EQ(l.rope.original_context, 256);
      EXPECT_DOUBLE_EQ(l.rope.attn_factor, 1.0);
    }
    if (l.attention == AttentionKind::Csa) {
      EXPECT_EQ(l.indexer_heads, 2);
      EXPECT_EQ(l.indexer_dim, 64);
      EXPECT_EQ(l.indexer_top_k, 16);
      EXPECT_EQ(l.state_elements, 2u * 8 * 256 + 2u * 8 * 128);
    } else {
      EXPECT_EQ(l.indexer_heads, 0);
    }
    if (l.attention == AttentionKind::Hca) {
      EXPECT_EQ(l.state_elements, 2u * 128 * 128);
    }
  }
}

// An MTP-only style file: block_count counts the nextn block, whose eh_proj tensor is present,
// so the trunk has block_count - nextn_predict_layers layers.
TEST(Deepseek4Spec, MtpBlockIsNotATrunkLayer) {
  TinyDeepseek4 tiny;
  tiny.block_count = 5;
  tiny.overrides["deepseek4.nextn_predict_layers"] = u32_value(1);
  tiny.with_mtp_tensor = true;
  Result<ModelSpec> with_tensor = load_model_spec(tiny.write("deepseek4_mtp"));
  ASSERT_TRUE(with_tensor.ok()) << with_tensor.error().what();
  EXPECT_EQ(with_tensor->layer_count(), 4);

  // Without the eh_proj tensor llama.cpp ignores nextn_predict_layers: 5 trunk layers.
  tiny.with_mtp_tensor = false;
  Result<ModelSpec> without = load_model_spec(tiny.write("deepseek4_mtp_absent"));
  ASSERT_TRUE(without.ok()) << without.error().what();
  EXPECT_EQ(without->layer_count(), 5);
  EXPECT_EQ(without->layers[4].attention, AttentionKind::Sliding);
}

// Loads a file that must fail; the message must name the file and contain `needle`.
void expect_error(const std::string& file, const std::string& needle) {
  Result<ModelSpec> spec = load_model_spec(file);
  ASSERT_FALSE(spec.ok()) << "loaded " << file;
  const std::string message = spec.error().what();
  EXPECT_NE(message.find(fs::path(file).filename().string()), std::string::npos) << message;
  EXPECT_NE(message.find(needle), std::string::npos) << message;
}

TEST(Deepseek4Spec, MissingRequiredKeys) {
  for (const std::string key : {"deepseek4.attention.q_lora_rank", "deepseek4.attention.compress_ratios",
                                "deepseek4.hyper_connection.count", "deepseek4.attention.output_group_count",
                                "deepseek4.attention.indexer.key_length", "deepseek4.hash_layer_count",
                                "deepseek4.expert_gating_func", "deepseek4.swiglu_clamp_exp",
                                "deepseek4.attention.compress_rope_freq_base", "deepseek4.expert_weights_norm",
                                "deepseek4.attention.layer_norm_rms_epsilon"}) {
    SCOPED_TRACE(key);
    TinyDeepseek4 tiny;
    tiny.omit.insert(key);
    expect_error(tiny.write("deepseek4_missing"), "missing metadata key " + key);
  }
}

TEST(Deepseek4Spec, BadMetadata) {
  {
    TinyDeepseek4 tiny;
    tiny.ratios = {0, 4, 128};  // shorter than block_count 4
    expect_error(tiny.write("deepseek4_short_ratios"), "deepseek4.attention.compress_ratios has 3 entries");
  }
  {
    TinyDeepseek4 tiny;
    tiny.ratios = {0, 4, 64, 4, 0};
    expect_error(tiny.write("deepseek4_bad_ratio"), "deepseek4.attention.compress_ratios[2] is 64");
  }
  {
    TinyDeepseek4 tiny;
    tiny.overrides["deepseek4.hyper_connection.count"] = u32_value(2);
    expect_error(tiny.write("deepseek4_hc2"), "hyper-connection count must be 4");
  }
  {
    TinyDeepseek4 tiny;
    tiny.overrides["deepseek4.expert_gating_func"] = u32_value(2);  // sigmoid
    expect_error(tiny.write("deepseek4_sigmoid"), "sqrtsoftplus");
  }
  {
    TinyDeepseek4 tiny;
    tiny.overrides["deepseek4.attention.indexer.key_length"] = u32_value(32);  // < 64 RoPE dims
    expect_error(tiny.write("deepseek4_short_indexer"), "indexer key length 32");
  }
  {
    TinyDeepseek4 tiny;
    tiny.overrides["deepseek4.attention.output_group_count"] = u32_value(3);  // 4 heads
    expect_error(tiny.write("deepseek4_groups"), "do not split into 3 output groups");
  }
  {
    TinyDeepseek4 tiny;
    tiny.overrides["deepseek4.attention.head_count_kv"] = u32_value(2);
    expect_error(tiny.write("deepseek4_kv2"), "one shared K = V head");
  }
  {
    TinyDeepseek4 tiny;
    GgufValue clamp;
    clamp.type = GgufValueType::Array;
    clamp.element_type = GgufValueType::F32;
    clamp.items.resize(3);
    for (GgufValue& item : clamp.items) {
      item.type = GgufValueType::F32;
      item.f = 10.0;
    }
    tiny.overrides["deepseek4.swiglu_clamp_exp"] = clamp;
    expect_error(tiny.write("deepseek4_clamp"), "deepseek4.swiglu_clamp_exp has 3 entries");
  }
}

// Cards: a config.json with a problem, written next to the test's temp files.
std::string write_card(const std::string& name, const std::string& json) {
  const std::string file = (fs::path(::testing::TempDir()) / (name + ".json")).string();
  FILE* f = std::fopen(file.c_str(), "wb");
  if (!f) return file;
  std::fwrite(json.data(), 1, json.size(), f);
  std::fclose(f);
  return file;
}

std::string small_config(const std::string& ratios, const std::string& extra = "",
                         const std::string& scoring = "sqrtsoftplus") {
  return R"({"model_type": "deepseek_v4", "hidden_size": 64, "vocab_size": 32, "num_hidden_layers": 4,
    "num_attention_heads": 4, "num_key_value_heads": 1, "head_dim": 128, "q_lora_rank": 32, "o_groups": 2,
    "o_lora_rank": 16, "sliding_window": 8, "index_n_heads": 2, "index_head_dim": 64, "index_topk": 16,
    "hc_mult": 4, "hc_sinkhorn_iters": 20, "n_routed_experts": 8, "num_experts_per_tok": 2,
    "moe_intermediate_size": 32, "n_shared_experts": 1, "num_hash_layers": 1, "qk_rope_head_dim": 64,
    "rope_theta": 10000, "compress_rope_theta": 160000, "scoring_func": ")" + scoring + "\"" +
         (ratios.empty() ? std::string() : ", \"compress_ratios\": " + ratios) + extra + "}";
}

TEST(Deepseek4Spec, ConfigVariants) {
  // A small config without rope_scaling: compressed layers get plain RoPE at compress_rope_theta.
  Result<ModelSpec> plain = load_model_spec(write_card("deepseek4_small", small_config("[0, 4, 128, 4, 0]")));
  ASSERT_TRUE(plain.ok()) << plain.error().what();
  ASSERT_EQ(plain->layer_count(), 4);
  EXPECT_EQ(plain->layers[2].attention, AttentionKind::Hca);
  EXPECT_DOUBLE_EQ(plain->layers[2].rope.theta, 160000.0);
  EXPECT_EQ(plain->layers[2].rope.scaling, RopeScaling::None);
  // Every card tensor's layer matches the spec (shapes come from the tensor list).
  EXPECT_EQ(shape_of(*plain, "blk.1.indexer_compressor_kv.weight"), (std::vector<uint64_t>{64, 128}));

  // transformers' newer names: layer_types, mlp_layer_types, rope_parameters {main, compress}.
  const std::string modern = small_config("", R"(, "layer_types": ["sliding_attention", "compressed_sparse_attention",
      "heavily_compressed_attention", "compressed_sparse_attention"], "mlp_layer_types": ["hash_moe", "hash_moe", "moe", "moe"],
      "rope_parameters": {"main": {"rope_type": "default", "rope_theta": 10000.0, "partial_rotary_factor": 0.5},
                          "compress": {"rope_type": "yarn", "rope_theta": 160000.0, "factor": 16, "original_max_position_embeddings": 65536,
                                       "beta_fast": 32, "beta_slow": 1, "partial_rotary_factor": 0.5}})");
  Result<ModelSpec> spec = load_model_spec(write_card("deepseek4_modern", modern));
  ASSERT_TRUE(spec.ok()) << spec.error().what();
  EXPECT_EQ(spec->layers[1].attention, AttentionKind::Csa);
  EXPECT_EQ(spec->layers[2].compress_ratio, 128);
  EXPECT_TRUE(spec->layers[1].ffn.hash_routed);
  EXPECT_FALSE(spec->layers[2].ffn.hash_routed);
  EXPECT_EQ(spec->layers[3].rope.scaling, RopeScaling::Yarn);
  EXPECT_DOUBLE_EQ(spec->layers[3].rope.theta, 160000.0);
  EXPECT_EQ(spec->layers[0].rope.scaling, RopeScaling::None);
}

TEST(Deepseek4Spec, BadConfigs) {
  expect_error(write_card("deepseek4_no_ratios", small_config("")), "missing key \"compress_ratios\"");
  expect_error(write_card("deepseek4_short_list", small_config("[0, 4, 128]")), "compress_ratios has 3 entries");
  expect_error(write_card("deepseek4_ratio_8", small_config("[0, 8, 128, 4, 0]")), "compress_ratios[1] is 8");
  expect_error(write_card("deepseek4_sigmoid_cfg", small_config("[0, 4, 128, 4, 0]", "", "sigmoid")),
               "sqrtsoftplus");
}

}  // namespace
}  // namespace archscope
