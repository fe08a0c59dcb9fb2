// The tiny DeepSeek V4 model (make-model --arch deepseek4): the keys llama.cpp's converter
// writes and its deepseek4 loader reads, a spec with V4's features (window-only, CSA and HCA
// layers, mHC, hash-routed first layer) at toy sizes, tensors with the types and values
// llama.cpp needs, and (with ARCHSCOPE_NODE_LLAMA_CPP) llama.cpp running it past an HCA block.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <set>

#include <nlohmann/json.hpp>

#include "archscope/chat_template.h"
#include "archscope/gguf.h"
#include "archscope/model_loader.h"
#include "archscope/model_writer.h"
#include "archscope/tokenizer.h"
#include "formats/format_fixtures.h"
#include "writer/llama_cpp_run.h"

namespace archscope {
namespace {

std::vector<float> f32_values(const GgufTensor& t) {
  std::vector<float> v(t.elements());
  std::memcpy(v.data(), t.data, v.size() * sizeof(float));
  return v;
}

TEST(TinyDeepseek4, WritesTheConvertersKeys) {
  testing::TempDir dir;
  const std::string path = dir.file("deepseek4.gguf");
  write_tiny_model({"deepseek4", "tiny", GgmlType::Q8_0, 1}, path);
  const GgufFile file = GgufFile::open(path);
  using T = GgufValueType;
  const std::string a = "deepseek4.";
  // TextModel.set_gguf_parameters and DeepseekV4Model.set_gguf_parameters on a published-style
  // config (no intermediate_size, YaRN rope_scaling), then the tokenizer: exactly these keys.
  const std::map<std::string, GgufValueType> expected = {
      {"general.architecture", T::String}, {"general.type", T::String}, {"general.name", T::String},
      {"general.file_type", T::U32}, {"general.quantization_version", T::U32},
      {a + "block_count", T::U32}, {a + "context_length", T::U32}, {a + "embedding_length", T::U32},
      {a + "attention.head_count", T::U32}, {a + "attention.head_count_kv", T::U32},
      {a + "rope.scaling.type", T::String}, {a + "rope.scaling.factor", T::F32},
      {a + "rope.scaling.original_context_length", T::U32}, {a + "rope.scaling.yarn_beta_fast", T::F32},
      {a + "rope.scaling.yarn_beta_slow", T::F32}, {a + "rope.freq_base", T::F32},
      {a + "attention.layer_norm_rms_epsilon", T::F32}, {a + "expert_count", T::U32},
      {a + "expert_used_count", T::U32}, {a + "expert_gating_func", T::U32},
      {a + "attention.key_length", T::U32}, {a + "attention.value_length", T::U32},
      {a + "rope.dimension_count", T::U32}, {a + "attention.q_lora_rank", T::U32},
      {a + "attention.sliding_window", T::U32}, {a + "expert_feed_forward_length", T::U32},
      {a + "expert_shared_count", T::U32}, {a + "expert_weights_scale", T::F32},
      {a + "expert_weights_norm", T::Bool}, {a + "swiglu_clamp_exp", T::Array},
      {a + "swiglu_clamp_shexp", T::Array}, {a + "attention.indexer.head_count", T::U32},
      {a + "attention.indexer.key_length", T::U32}, {a + "attention.indexer.top_k", T::U32},
      {a + "attention.output_group_count", T::U32}, {a + "attention.output_lora_rank", T::U32},
      {a + "attention.compress_ratios", T::Array}, {a + "attention.compress_rope_freq_base", T::F32},
      {a + "hyper_connection.count", T::U32}, {a + "hyper_connection.sinkhorn_iterations", T::U32},
      {a + "hyper_connection.epsilon", T::F32}, {a + "hash_layer_count", T::U32},
      {a + "embedding_length_out", T::U32},
      {"tokenizer.ggml.model", T::String}, {"tokenizer.ggml.pre", T::String}, {"tokenizer.ggml.tokens", T::Array},
      {"tokenizer.ggml.token_type", T::Array}, {"tokenizer.ggml.merges", T::Array},
      {"tokenizer.ggml.bos_token_id", T::U32}, {"tokenizer.ggml.eos_token_id", T::U32},
      {"tokenizer.ggml.add_bos_token", T::Bool}, {"tokenizer.ggml.add_eos_token", T::Bool},
      {"tokenizer.chat_template", T::String},
  };
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

  EXPECT_EQ(file.find("general.file_type")->u, 7u);  // LLAMA_FTYPE_MOSTLY_Q8_0
  EXPECT_EQ(file.find(a + "expert_gating_func")->u, 4u);  // sqrtsoftplus, as llama.cpp requires
  EXPECT_EQ(file.find(a + "hyper_connection.count")->u, 4u);  // llama.cpp asserts 4 streams
  EXPECT_EQ(file.find(a + "hyper_connection.sinkhorn_iterations")->u, 20u);
  EXPECT_EQ(file.find(a + "embedding_length_out")->u, 4u * file.find(a + "embedding_length")->u);
  EXPECT_EQ(file.find(a + "attention.indexer.key_length")->u % 64, 0u);  // llama.cpp's Hadamard blocks
  EXPECT_EQ(file.find(a + "rope.scaling.type")->s, "yarn");
  EXPECT_FLOAT_EQ(file.find(a + "rope.scaling.yarn_beta_fast")->f, 32.0f);
  EXPECT_FLOAT_EQ(file.find(a + "rope.scaling.yarn_beta_slow")->f, 1.0f);
  EXPECT_EQ(file.find(a + "expert_weights_norm")->u, 1u);
  const GgufValue* ratios = file.find(a + "attention.compress_ratios");
  ASSERT_EQ(ratios->items.size(), 4u);  // one per layer: no MTP block
  const int64_t want_ratios[] = {0, 4, 128, 4};
  for (size_t il = 0; il < 4; ++il) {
    EXPECT_EQ(ratios->items[il].type, T::I32);
    EXPECT_EQ(ratios->items[il].i, want_ratios[il]) << "layer " << il;
  }
  for (const char* key : {"swiglu_clamp_exp", "swiglu_clamp_shexp"}) {
    const GgufValue* clamp = file.find(a + key);
    ASSERT_EQ(clamp->items.size(), 4u) << key;
    for (const GgufValue& v : clamp->items) {
      EXPECT_EQ(v.type, T::F32) << key;
      EXPECT_FLOAT_EQ(static_cast<float>(v.f), 2.0f) << key;
    }
  }
  EXPECT_EQ(file.find("tokenizer.ggml.pre")->s, "deepseek-v3");
  const std::string& tmpl = file.find("tokenizer.chat_template")->s;
  EXPECT_NE(tmpl.find("drop_thinking"), std::string::npos);  // DeepSeek V4's own template
  EXPECT_EQ(detect_chat_format(file), ChatFormat::DeepSeek4);
}

TEST(TinyDeepseek4, LoadsAsItsPlanSays) {
  testing::TempDir dir;
  const std::string path = dir.file("deepseek4.gguf");
  const TinyModelOptions options{"deepseek4", "tiny", GgmlType::F16, 3};
  write_tiny_model(options, path);
  Result<ModelSpec> spec = load_model_spec(path);
  ASSERT_TRUE(spec.ok()) << spec.error().what();
  const ModelSpec planned = tiny_model_spec(options);
  EXPECT_EQ(spec->architecture, "deepseek4");
  EXPECT_EQ(spec->hidden, 64);
  EXPECT_EQ(spec->vocab, 512);
  EXPECT_EQ(spec->context_length, 1024);
  EXPECT_EQ(spec->hc_width, 4);
  EXPECT_EQ(spec->hc_sinkhorn_iters, 20);
  EXPECT_EQ(spec->q_lora_rank, 32);
  EXPECT_EQ(spec->o_groups, 2);
  EXPECT_EQ(spec->o_lora_rank, 16);
  EXPECT_FALSE(spec->tied_embeddings);
  EXPECT_EQ(spec->hc_width, planned.hc_width);
  EXPECT_EQ(spec->q_lora_rank, planned.q_lora_rank);
  ASSERT_EQ(spec->layer_count(), 4);
  ASSERT_EQ(planned.layer_count(), 4);

  const AttentionKind kinds[] = {AttentionKind::Sliding, AttentionKind::Csa, AttentionKind::Hca, AttentionKind::Csa};
  for (const LayerSpec& l : spec->layers) {
    SCOPED_TRACE("layer " + std::to_string(l.index));
    const LayerSpec& p = planned.layers[l.index];
    EXPECT_EQ(l.attention, kinds[l.index]);
    EXPECT_EQ(l.compress_ratio, std::vector<int>({0, 4, 128, 4})[l.index]);
    EXPECT_EQ(l.window, 8);
    EXPECT_EQ(l.q_heads, 4);
    EXPECT_EQ(l.kv_heads, 1);
    EXPECT_EQ(l.head_dim_k, 128);
    EXPECT_TRUE(l.k_equals_v);
    EXPECT_EQ(l.hc_width, 4);
    EXPECT_EQ(l.rope.rotary_dims, 16);
    EXPECT_EQ(l.rope.rotary_offset, 112);
    EXPECT_EQ(l.rope.scaling, l.compress_ratio == 0 ? RopeScaling::None : RopeScaling::Yarn);
    EXPECT_DOUBLE_EQ(l.rope.theta, l.compress_ratio == 0 ? 10000.0 : 160000.0);
    EXPECT_EQ(l.indexer_top_k, l.compress_ratio == 4 ? 4 : 0);
    EXPECT_EQ(l.ffn.hash_routed, l.index == 0);
    EXPECT_EQ(l.ffn.expert_bias, l.index != 0);
    EXPECT_EQ(l.ffn.router_score, RouterScore::SqrtSoftplus);
    // The plan is what the loader makes of the file.
    EXPECT_EQ(l.attention, p.attention);
    EXPECT_EQ(l.window, p.window);
    EXPECT_EQ(l.compress_ratio, p.compress_ratio);
    EXPECT_EQ(l.q_heads, p.q_heads);
    EXPECT_EQ(l.kv_heads, p.kv_heads);
    EXPECT_EQ(l.head_dim_k, p.head_dim_k);
    EXPECT_EQ(l.head_dim_v, p.head_dim_v);
    EXPECT_EQ(l.k_equals_v, p.k_equals_v);
    EXPECT_EQ(l.qk_norm, p.qk_norm);
    EXPECT_EQ(l.kv_source, p.kv_source);
    EXPECT_EQ(l.rope.rotary_dims, p.rope.rotary_dims);
    EXPECT_EQ(l.rope.rotary_offset, p.rope.rotary_offset);
    EXPECT_EQ(l.rope.neox, p.rope.neox);
    EXPECT_EQ(l.rope.scaling, p.rope.scaling);
    EXPECT_DOUBLE_EQ(l.rope.theta, p.rope.theta);
    EXPECT_DOUBLE_EQ(l.rope.factor, p.rope.factor);
    EXPECT_DOUBLE_EQ(l.rope.beta_fast, p.rope.beta_fast);
    EXPECT_DOUBLE_EQ(l.rope.beta_slow, p.rope.beta_slow);
    EXPECT_DOUBLE_EQ(l.rope.attn_factor, p.rope.attn_factor);
    if (l.rope.scaling == RopeScaling::Yarn) {
      EXPECT_EQ(l.rope.original_context, 256);
      EXPECT_EQ(l.rope.original_context, p.rope.original_context);
    }
    EXPECT_EQ(l.indexer_heads, p.indexer_heads);
    EXPECT_EQ(l.indexer_dim, p.indexer_dim);
    EXPECT_EQ(l.indexer_top_k, p.indexer_top_k);
    EXPECT_EQ(l.state_elements, p.state_elements);
    EXPECT_EQ(l.hc_width, p.hc_width);
    EXPECT_EQ(l.ffn.kind, p.ffn.kind);
    EXPECT_EQ(l.ffn.experts, p.ffn.experts);
    EXPECT_EQ(l.ffn.active_experts, p.ffn.active_experts);
    EXPECT_EQ(l.ffn.expert_width, p.ffn.expert_width);
    EXPECT_EQ(l.ffn.shared_experts, p.ffn.shared_experts);
    EXPECT_EQ(l.ffn.shared_width, p.ffn.shared_width);
    EXPECT_EQ(l.ffn.hash_routed, p.ffn.hash_routed);
    EXPECT_EQ(l.ffn.router_score, p.ffn.router_score);
    EXPECT_EQ(l.ffn.expert_bias, p.ffn.expert_bias);
    EXPECT_EQ(l.ffn.normalize_weights, p.ffn.normalize_weights);
    EXPECT_DOUBLE_EQ(l.ffn.routed_scale, p.ffn.routed_scale);
  }
  // The tensors: the loader's list, as planned.
  ASSERT_EQ(spec->tensors.size(), planned.tensors.size());
  std::map<std::string, const TensorSpec*> by_name;
  for (const TensorSpec& t : planned.tensors) by_name[t.name] = &t;
  for (const TensorSpec& t : spec->tensors) {
    const auto it = by_name.find(t.name);
    ASSERT_NE(it, by_name.end()) << t.name << " was not planned";
    EXPECT_EQ(t.shape, it->second->shape) << t.name;
    EXPECT_EQ(t.ggml_type, it->second->ggml_type) << t.name;
    EXPECT_EQ(t.bytes, it->second->bytes) << t.name;
  }
}

TEST(TinyDeepseek4, TensorTypes) {
  testing::TempDir dir;
  const std::string path = dir.file("deepseek4.gguf");
  write_tiny_model({"deepseek4", "tiny", GgmlType::Q8_0, 1}, path);
  const GgufFile file = GgufFile::open(path);
  // Compressor and indexer tensors only where llama.cpp creates them.
  EXPECT_EQ(file.find_tensor("blk.0.attn_compressor_kv.weight"), nullptr);
  EXPECT_EQ(file.find_tensor("blk.1.attn_compressor_kv.weight")->shape, (std::vector<uint64_t>{64, 256}));  // CSA: 2 x head
  EXPECT_EQ(file.find_tensor("blk.2.attn_compressor_kv.weight")->shape, (std::vector<uint64_t>{64, 128}));  // HCA: 1 x head
  EXPECT_EQ(file.find_tensor("blk.2.attn_compressor_ape.weight")->shape, (std::vector<uint64_t>{128, 128}));
  EXPECT_NE(file.find_tensor("blk.1.indexer.attn_q_b.weight"), nullptr);
  EXPECT_EQ(file.find_tensor("blk.2.indexer.attn_q_b.weight"), nullptr);
  EXPECT_EQ(file.find_tensor("blk.1.indexer.attn_q_b.weight")->shape, (std::vector<uint64_t>{32, 16 * 64}));
  EXPECT_EQ(file.find_tensor("blk.0.attn_output_a.weight")->shape, (std::vector<uint64_t>{256, 32}));
  // Hash routing on layer 0 only; a selection bias on the others.
  EXPECT_EQ(file.find_tensor("blk.1.ffn_gate_tid2eid.weight"), nullptr);
  EXPECT_EQ(file.find_tensor("blk.0.exp_probs_b.bias"), nullptr);
  EXPECT_NE(file.find_tensor("blk.1.exp_probs_b.bias"), nullptr);

  // llama-quantize's Q8_0 from the converter's F32 output quantizes every matrix it may
  // (the mHC weights and compressor biases too) but keeps the routers and the id table.
  for (const GgufTensor& t : file.tensors()) {
    if (t.name == "blk.0.ffn_gate_tid2eid.weight") {
      EXPECT_EQ(t.type, GgmlType::I32);
    } else if (t.shape.size() == 1 || t.name.find(".ffn_gate_inp.") != std::string::npos) {
      EXPECT_EQ(t.type, GgmlType::F32) << t.name;
    } else {
      EXPECT_EQ(t.type, t.shape[0] % 32 == 0 ? GgmlType::Q8_0 : GgmlType::F16) << t.name;
    }
  }
  // The converter (F16 output) keeps what V4 stores in float32 as F32.
  write_tiny_model({"deepseek4", "tiny", GgmlType::F16, 1}, dir.file("f16.gguf"));
  const GgufFile f16 = GgufFile::open(dir.file("f16.gguf"));
  for (const GgufTensor& t : f16.tensors()) {
    const bool f32_kept = t.name.rfind("output_hc_", 0) == 0 || t.name.find(".hc_") != std::string::npos ||
                          t.name.find("_compressor_ape.") != std::string::npos;
    if (t.name == "blk.0.ffn_gate_tid2eid.weight") {
      EXPECT_EQ(t.type, GgmlType::I32);
    } else if (t.shape.size() == 1 || f32_kept) {
      EXPECT_EQ(t.type, GgmlType::F32) << t.name;  // norms, biases, and what V4 keeps in float32
    } else {
      EXPECT_EQ(t.type, GgmlType::F16) << t.name;
    }
  }

  // tid2eid: {experts per token, vocab} of valid ids, distinct for each token, every expert used.
  const GgufTensor* table = file.find_tensor("blk.0.ffn_gate_tid2eid.weight");
  ASSERT_NE(table, nullptr);
  ASSERT_EQ(table->shape, (std::vector<uint64_t>{2, 512}));
  ASSERT_EQ(table->bytes, 2u * 512u * 4u);
  std::vector<int32_t> ids(2 * 512);
  std::memcpy(ids.data(), table->data, table->bytes);
  std::map<int32_t, int> uses;
  for (size_t token = 0; token < 512; ++token) {
    const int32_t a = ids[2 * token], b = ids[2 * token + 1];
    EXPECT_GE(a, 0);
    EXPECT_LT(a, 8);
    EXPECT_GE(b, 0);
    EXPECT_LT(b, 8);
    EXPECT_NE(a, b) << "token " << token;
    ++uses[a];
    ++uses[b];
  }
  EXPECT_EQ(uses.size(), 8u);
  for (const auto& [expert, n] : uses) EXPECT_GT(n, 64) << "expert " << expert;  // 128 on average
}

TEST(TinyDeepseek4, HyperConnectionValues) {
  testing::TempDir dir;
  const std::string path = dir.file("deepseek4.gguf");
  write_tiny_model({"deepseek4", "tiny", GgmlType::F16, 1}, path);
  const GgufFile file = GgufFile::open(path);
  for (int il = 0; il < 4; ++il) {
    for (const char* site : {"attn", "ffn"}) {
      const std::string prefix = "blk." + std::to_string(il) + ".hc_" + site;
      SCOPED_TRACE(prefix);
      const std::vector<float> base = f32_values(*file.find_tensor(prefix + "_base.weight"));
      ASSERT_EQ(base.size(), 24u);
      for (int i = 0; i < 8; ++i) EXPECT_LT(std::fabs(base[i]), 1.75f);  // pre, post: around sigmoid(0)
      for (int src = 0; src < 4; ++src) {
        for (int dst = 0; dst < 4; ++dst) {
          const float x = base[8 + src * 4 + dst];
          if (src == dst) EXPECT_NEAR(x, 2.0f, 0.35f);  // comb: streams mostly stay
          else EXPECT_NEAR(x, 0.0f, 0.35f);
        }
      }
      const std::vector<float> scale = f32_values(*file.find_tensor(prefix + "_scale.weight"));
      ASSERT_EQ(scale.size(), 3u);
      for (float s : scale) {
        EXPECT_GT(s, 0.1f);
        EXPECT_LT(s, 0.5f);
      }
    }
  }
  const std::vector<float> head_scale = f32_values(*file.find_tensor("output_hc_scale.weight"));
  ASSERT_EQ(head_scale.size(), 1u);
  EXPECT_GT(head_scale[0], 0.1f);
  EXPECT_LT(head_scale[0], 0.5f);
  EXPECT_EQ(file.find_tensor("output_hc_base.weight")->elements(), 4u);
  // Sinks and biases: small, not norm-like.
  for (const char* name : {"blk.0.attn_sinks.weight", "blk.1.exp_probs_b.bias"}) {
    double sum = 0.0;
    for (float x : f32_values(*file.find_tensor(name))) sum += x;
    EXPECT_LT(std::fabs(sum / double(file.find_tensor(name)->elements())), 0.75) << name;
  }
}

TEST(TinyDeepseek4, VocabularyAndChat) {
  testing::TempDir dir;
  const std::string path = dir.file("deepseek4.gguf");
  write_tiny_model({"deepseek4", "tiny", GgmlType::F16, 1}, path);
  const GgufFile file = GgufFile::open(path);
  const Tokenizer tok = Tokenizer::from_gguf(file);
  EXPECT_EQ(tok.raw_token(tok.bos()), "<｜begin▁of▁sentence｜>");
  EXPECT_EQ(tok.raw_token(tok.eos()), "<｜end▁of▁sentence｜>");
  EXPECT_TRUE(tok.add_bos());
  const std::string text = "Hello world, the cat sat on the mat.\n";
  const std::vector<int32_t> ids = tok.encode(text, false, false);
  EXPECT_LT(ids.size(), text.size()) << "the merges never apply";
  EXPECT_EQ(tok.decode(ids), text);
  const std::string chat = format_chat(ChatFormat::DeepSeek4, {{"user", "Hi"}}, true);
  const std::vector<int32_t> chat_ids = tok.encode(chat, false, true);
  ASSERT_FALSE(chat_ids.empty());
  EXPECT_EQ(chat_ids[0], tok.find_token("<｜User｜>"));  // the role markers are single tokens
}

// llama.cpp loads and runs the file past one HCA block (128 tokens) and past more CSA
// entries than the indexer keeps. Needs node and node-llama-cpp: runs only when
// ARCHSCOPE_NODE_LLAMA_CPP names a node_modules folder holding node-llama-cpp (e.g.
// /opt/ref/node_modules); skipped otherwise. archscope's own deepseek4 forward pass is
// compared elsewhere.
TEST(TinyDeepseek4, LlamaCppRunsIt) {
  if (testing::node_llama_cpp_modules().empty()) GTEST_SKIP() << testing::kNeedsNodeLlamaCpp;
  testing::TempDir dir;
  const std::string path = dir.file("deepseek4.gguf");
  write_tiny_model({"deepseek4", "tiny", GgmlType::F32, 1}, path);
  const int n_tokens = 300;
  std::vector<int32_t> tokens;
  for (int i = 0; i < n_tokens; ++i) tokens.push_back(1 + (i * 37) % 500);
  nlohmann::json result;
  const std::string error = testing::run_llama_cpp_check(path, tokens, result);
  ASSERT_TRUE(error.empty()) << error;
  EXPECT_EQ(result["architecture"], "deepseek4");
  EXPECT_EQ(result["vocab"], 512);
  ASSERT_EQ(result["positions"].size(), static_cast<size_t>(n_tokens));
  std::set<int> argmaxes;
  const double uniform = std::log(512.0);
  for (const nlohmann::json& p : result["positions"]) {
    SCOPED_TRACE("position " + std::to_string(p["position"].get<int>()));
    const double entropy = p["entropy"].get<double>();
    EXPECT_TRUE(std::isfinite(entropy));
    EXPECT_GT(entropy, 0.25);
    EXPECT_LT(entropy, uniform - 1.0);
    const nlohmann::json& top = p["top"];
    ASSERT_EQ(top.size(), 5u);
    EXPECT_GT(top[0]["prob"].get<double>(), top[4]["prob"].get<double>());  // not flat
    argmaxes.insert(top[0]["id"].get<int>());
  }
  EXPECT_GT(argmaxes.size(), 50u) << "the prediction hardly depends on the input";
}

}  // namespace
}  // namespace archscope
