// Laguna XS.2: the model card, GGUF metadata as llama.cpp's converter writes it
// (conversion/laguna.py), config variants and bad inputs.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "archscope/gguf.h"
#include "archscope/cache_plan.h"
#include "archscope/model_loader.h"
#include "archscope/toggles.h"
#include "spec/spec_fixtures.h"

namespace archscope {
namespace {

namespace fs = std::filesystem;
using testing::elements;
using testing::find;
using testing::TempDir;
using testing::write_json;

const std::string kCardFile = "laguna-xs.2.json";
const std::string kCard = testing::card_path(kCardFile);

nlohmann::json read_card() { return testing::read_card(kCardFile); }

// The layer facts of XS.2, whichever source they were read from. From a card, YaRN
// follows the config (beta_fast 64, attention_factor 1: no magnitude scaling); from a GGUF
// file, what llama.cpp runs: llama_model_laguna reads neither key, so beta_fast is its
// default 32 and cos/sin are scaled by YaRN's default 1 + 0.1 ln(32).
struct Yarn {
  double beta_fast, magnitude;
};
const Yarn kConfigYarn{64.0, 1.0};
const Yarn kLlamaCppYarn{32.0, 1.0 + 0.1 * std::log(32.0)};
void expect_xs2_layers(const ModelSpec& spec, Yarn yarn = kConfigYarn) {
  ASSERT_EQ(spec.layer_count(), 40);
  int global = 0;
  for (const LayerSpec& l : spec.layers) {
    SCOPED_TRACE("layer " + std::to_string(l.index));
    const bool full = l.index % 4 == 0;
    global += full;
    EXPECT_EQ(l.attention, full ? AttentionKind::Global : AttentionKind::Sliding);
    EXPECT_EQ(l.window, full ? 0 : 512);
    EXPECT_EQ(l.q_heads, full ? 48 : 64);
    EXPECT_EQ(l.kv_heads, 8);
    EXPECT_EQ(l.head_dim_k, 128);
    EXPECT_EQ(l.head_dim_v, 128);
    EXPECT_EQ(l.kv_source, l.index);
    EXPECT_FALSE(l.k_equals_v);
    EXPECT_EQ(l.compress_ratio, 0);
    EXPECT_EQ(l.state_elements, 0u);
    EXPECT_TRUE(l.qk_norm);
    EXPECT_TRUE(l.attn_output_gate);
    EXPECT_TRUE(l.attn_gate_per_head);
    EXPECT_TRUE(l.rope.neox);
    if (full) {  // YaRN, theta 500k, factor 32 from 4096, half the head rotates
      EXPECT_EQ(l.rope.scaling, RopeScaling::Yarn);
      EXPECT_DOUBLE_EQ(l.rope.theta, 500000.0);
      EXPECT_DOUBLE_EQ(l.rope.factor, 32.0);
      EXPECT_EQ(l.rope.original_context, 4096);
      EXPECT_DOUBLE_EQ(l.rope.beta_fast, yarn.beta_fast);
      EXPECT_DOUBLE_EQ(l.rope.beta_slow, 1.0);
      EXPECT_EQ(l.rope.rotary_dims, 64);
      EXPECT_DOUBLE_EQ(l.rope.attn_factor, yarn.magnitude);
    } else {  // plain RoPE, theta 10k, whole head
      EXPECT_EQ(l.rope.scaling, RopeScaling::None);
      EXPECT_DOUBLE_EQ(l.rope.theta, 10000.0);
      EXPECT_EQ(l.rope.rotary_dims, 128);
      EXPECT_DOUBLE_EQ(l.rope.attn_factor, 0.0);
    }
    EXPECT_EQ(l.ffn.activation, Activation::Silu);
    if (l.index == 0) {
      EXPECT_EQ(l.ffn.kind, FfnKind::Dense);
      EXPECT_EQ(l.ffn.dense_width, 8192);
    } else {
      EXPECT_EQ(l.ffn.kind, FfnKind::Moe);
      EXPECT_EQ(l.ffn.experts, 256);
      EXPECT_EQ(l.ffn.active_experts, 8);
      EXPECT_EQ(l.ffn.expert_width, 512);
      EXPECT_EQ(l.ffn.shared_experts, 1);
      EXPECT_EQ(l.ffn.shared_width, 512);
      EXPECT_EQ(l.ffn.router_score, RouterScore::Sigmoid);
      EXPECT_TRUE(l.ffn.expert_bias);
      EXPECT_TRUE(l.ffn.normalize_weights);
      EXPECT_DOUBLE_EQ(l.ffn.routed_scale, 2.5);
      EXPECT_FALSE(l.ffn.skip_expert);
    }
  }
  EXPECT_EQ(global, 10);
}

TEST(LagunaCard, LayerFacts) {
  auto spec = load_model_spec(kCard);
  ASSERT_TRUE(spec.ok()) << spec.error().what();
  EXPECT_EQ(spec->architecture, "laguna");
  EXPECT_EQ(spec->name, "poolside/Laguna-XS.2");
  EXPECT_EQ(spec->source, SourceKind::Card);
  EXPECT_EQ(spec->hidden, 2048);
  EXPECT_EQ(spec->vocab, 100352);
  EXPECT_EQ(spec->context_length, 131072);
  EXPECT_DOUBLE_EQ(spec->rms_eps, 1e-6);
  EXPECT_FALSE(spec->tied_embeddings);
  EXPECT_DOUBLE_EQ(spec->embedding_scale, 1.0);
  EXPECT_EQ(spec->weight_type, "bf16");
  EXPECT_FALSE(spec->weights_present);
  expect_xs2_layers(*spec);
}

TEST(LagunaCard, TensorShapesFollowLlamaCpp) {
  auto spec = load_model_spec(kCard);
  ASSERT_TRUE(spec.ok()) << spec.error().what();
  const std::map<std::string, std::vector<uint64_t>> expected = {
      {"token_embd.weight", {2048, 100352}},
      {"output.weight", {2048, 100352}},
      {"output_norm.weight", {2048}},
      {"blk.0.attn_q.weight", {2048, 48 * 128}},
      {"blk.0.attn_k.weight", {2048, 8 * 128}},
      {"blk.0.attn_v.weight", {2048, 8 * 128}},
      {"blk.0.attn_output.weight", {48 * 128, 2048}},
      {"blk.0.attn_gate.weight", {2048, 48}},  // one softplus gate per head
      {"blk.0.attn_q_norm.weight", {128}},
      {"blk.0.ffn_gate.weight", {2048, 8192}},
      {"blk.0.ffn_down.weight", {8192, 2048}},
      {"blk.1.attn_q.weight", {2048, 64 * 128}},
      {"blk.1.attn_output.weight", {64 * 128, 2048}},
      {"blk.1.attn_gate.weight", {2048, 64}},
      {"blk.1.ffn_gate_inp.weight", {2048, 256}},
      {"blk.1.exp_probs_b.bias", {256}},
      {"blk.1.ffn_gate_exps.weight", {2048, 512, 256}},
      {"blk.1.ffn_up_exps.weight", {2048, 512, 256}},
      {"blk.1.ffn_down_exps.weight", {512, 2048, 256}},
      {"blk.1.ffn_gate_shexp.weight", {2048, 512}},
      {"blk.1.ffn_down_shexp.weight", {512, 2048}},
      {"blk.39.ffn_up_shexp.weight", {2048, 512}},
  };
  for (const auto& [name, shape] : expected) {
    const TensorSpec* t = find(*spec, name);
    ASSERT_NE(t, nullptr) << name;
    EXPECT_EQ(t->shape, shape) << name;
  }
  EXPECT_EQ(find(*spec, "blk.0.ffn_gate_exps.weight"), nullptr);
  EXPECT_EQ(find(*spec, "blk.1.ffn_gate.weight"), nullptr);
  EXPECT_EQ(find(*spec, "blk.40.attn_q.weight"), nullptr);
  // 2 globals + output; per layer 9 attention/norm tensors, dense 3 or MoE 8.
  EXPECT_EQ(spec->tensors.size(), 3u + 40 * 9 + 3 + 39 * 8);
  const TensorSpec* exps = find(*spec, "blk.1.ffn_gate_exps.weight");
  EXPECT_EQ(exps->bytes, 2048ull * 512 * 256 * 2);  // bf16
  EXPECT_EQ(exps->component, WeightComponent::RoutedExperts);
}

// Published: 33B total, 3B activated per token (poolside/Laguna-XS.2 model card).
// Total = every tensor's elements. Active = every non-expert tensor (embedding table and
// output head included, as the published figure does) + 8/256 of the routed experts; the
// shared expert is always active. Tolerance 2% of the published figure.
TEST(LagunaCard, ParameterCountsMatchThePublishedTotals) {
  auto spec = load_model_spec(kCard);
  ASSERT_TRUE(spec.ok()) << spec.error().what();
  uint64_t total = 0;
  double active = 0;
  for (const TensorSpec& t : spec->tensors) {
    total += elements(t);
    if (t.name.find("_exps.") != std::string::npos) {
      const FfnSpec& f = spec->layers[t.layer].ffn;
      active += double(elements(t)) * f.active_experts / f.experts;
    } else {
      active += double(elements(t));
    }
  }
  EXPECT_EQ(total, 33'442'617'088ull);  // summed by hand from the config
  EXPECT_NEAR(double(total), 33e9, 0.02 * 33e9);
  EXPECT_NEAR(active, 3e9, 0.02 * 3e9);
  EXPECT_NEAR(active, 3'017'135'872.0, 1.0);
}

TEST(LagunaConfig, PerElementGateAndLayerLists) {
  TempDir dir;
  nlohmann::json j = read_card();
  j["gating"] = "per-element";
  j.erase("mlp_layer_types");
  j["mlp_only_layers"] = {0, 1};
  auto spec = load_model_spec(write_json(dir, "per-element.json", j));
  ASSERT_TRUE(spec.ok()) << spec.error().what();
  EXPECT_FALSE(spec->layers[0].attn_gate_per_head);
  EXPECT_EQ(find(*spec, "blk.1.attn_gate.weight")->shape, (std::vector<uint64_t>{2048, 64 * 128}));
  EXPECT_EQ(spec->layers[1].ffn.kind, FfnKind::Dense);
  EXPECT_EQ(spec->layers[2].ffn.kind, FfnKind::Moe);

  j = read_card();
  j["gating_types"] = std::vector<std::string>(40, "per_head");
  j["gating_types"][3] = "per_element";
  spec = load_model_spec(write_json(dir, "gating-types.json", j));
  ASSERT_TRUE(spec.ok()) << spec.error().what();
  EXPECT_TRUE(spec->layers[2].attn_gate_per_head);
  EXPECT_FALSE(spec->layers[3].attn_gate_per_head);
}

TEST(LagunaConfig, DefaultsFollowTransformers) {
  // LagunaConfig: no rope_parameters -> full layers theta 500k over half the head,
  // sliding layers theta 10k over all of it; no layer_types -> all full attention.
  TempDir dir;
  nlohmann::json j = read_card();
  j.erase("rope_parameters");
  j.erase("mlp_layer_types");
  auto spec = load_model_spec(write_json(dir, "no-rope.json", j));
  ASSERT_TRUE(spec.ok()) << spec.error().what();
  EXPECT_EQ(spec->layers[0].rope.scaling, RopeScaling::None);
  EXPECT_DOUBLE_EQ(spec->layers[0].rope.theta, 500000.0);
  EXPECT_EQ(spec->layers[0].rope.rotary_dims, 64);
  EXPECT_DOUBLE_EQ(spec->layers[1].rope.theta, 10000.0);
  EXPECT_EQ(spec->layers[1].rope.rotary_dims, 128);
  EXPECT_EQ(spec->layers[0].ffn.kind, FfnKind::Dense);
  EXPECT_EQ(spec->layers[1].ffn.kind, FfnKind::Moe);

  j.erase("layer_types");
  spec = load_model_spec(write_json(dir, "no-types.json", j));
  ASSERT_TRUE(spec.ok()) << spec.error().what();
  for (const LayerSpec& l : spec->layers) EXPECT_EQ(l.attention, AttentionKind::Global);
}

void expect_error(const std::string& path, const std::vector<std::string>& parts) {
  auto spec = load_model_spec(path);
  ASSERT_FALSE(spec.ok()) << path << " loaded but should not";
  const std::string message = spec.error().what();
  EXPECT_NE(message.find(fs::path(path).filename().string()), std::string::npos) << message;
  for (const std::string& part : parts) EXPECT_NE(message.find(part), std::string::npos) << message << " lacks " << part;
}

TEST(LagunaConfig, BadConfigsNameTheProblem) {
  TempDir dir;
  nlohmann::json j = read_card();
  j["num_attention_heads_per_layer"].erase(0);
  expect_error(write_json(dir, "heads.json", j), {"num_attention_heads_per_layer", "39 entries", "40 layers"});

  j = read_card();
  j["layer_types"][5] = "chunked_attention";
  expect_error(write_json(dir, "types.json", j), {"layer_types", "chunked_attention"});

  j = read_card();
  j["mlp_layer_types"].erase(39);
  expect_error(write_json(dir, "mlp.json", j), {"mlp_layer_types", "39 entries"});

  j = read_card();
  j["gating"] = false;
  expect_error(write_json(dir, "gating.json", j), {"gating"});

  j = read_card();
  j.erase("hidden_size");
  expect_error(write_json(dir, "hidden.json", j), {"hidden_size"});

  j = read_card();
  j["num_experts_per_tok"] = 300;  // top-k larger than the expert count
  expect_error(write_json(dir, "topk.json", j), {"num_experts_per_tok", "300", "num_experts", "256"});

  j = read_card();
  j["num_attention_heads_per_layer"][1] = 60;  // not a multiple of the 8 KV heads
  expect_error(write_json(dir, "gqa.json", j), {"layer 1", "60 query heads"});
}

// ---- GGUF ----

// The metadata conversion/laguna.py (with the base TextModel) writes for XS.2.
GgufWriter xs2_writer() {
  GgufWriter w;
  w.set_string("general.architecture", "laguna");
  w.set_string("general.name", "Laguna XS.2");
  w.set_u32("laguna.block_count", 40);
  w.set_u32("laguna.context_length", 131072);
  w.set_u32("laguna.embedding_length", 2048);
  w.set_u32("laguna.feed_forward_length", 8192);
  std::vector<int32_t> heads;
  for (int il = 0; il < 40; ++il) heads.push_back(il % 4 == 0 ? 48 : 64);
  w.set_i32_array("laguna.attention.head_count", heads);
  w.set_u32("laguna.attention.head_count_kv", 8);
  w.set_string("laguna.rope.scaling.type", "yarn");
  w.set_f32("laguna.rope.scaling.factor", 32.0f);
  w.set_u32("laguna.rope.scaling.original_context_length", 4096);
  w.set_f32("laguna.rope.scaling.yarn_attn_factor", 1.0f);
  w.set_f32("laguna.rope.scaling.yarn_beta_fast", 64.0f);
  w.set_f32("laguna.rope.scaling.yarn_beta_slow", 1.0f);
  w.set_f32("laguna.rope.freq_base", 500000.0f);
  w.set_f32("laguna.rope.freq_base_swa", 10000.0f);
  w.set_f32("laguna.attention.layer_norm_rms_epsilon", 1e-6f);
  w.set_u32("laguna.expert_count", 256);
  w.set_u32("laguna.expert_used_count", 8);
  w.set_u32("laguna.expert_gating_func", 2);
  w.set_u32("laguna.attention.key_length", 128);
  w.set_u32("laguna.attention.value_length", 128);
  w.set_u32("general.file_type", 32);
  w.set_u32("laguna.vocab_size", 100352);
  w.set_u32("laguna.attention.sliding_window", 512);
  w.set_u32("laguna.expert_feed_forward_length", 512);
  w.set_u32("laguna.expert_shared_feed_forward_length", 512);
  w.set_bool("laguna.expert_weights_norm", true);
  w.set_f32("laguna.expert_weights_scale", 2.5f);
  w.set_u32("laguna.leading_dense_block_count", 1);
  w.set_u32("laguna.rope.dimension_count", 64);
  w.set_u32("laguna.rope.dimension_count_swa", 128);
  return w;
}

TEST(LagunaGguf, ConverterMetadataGivesTheCardsLayers) {
  TempDir dir;
  const std::string path = dir.file("laguna-xs2.gguf");
  xs2_writer().write(path);
  auto spec = load_model_spec(path);
  ASSERT_TRUE(spec.ok()) << spec.error().what();
  EXPECT_EQ(spec->architecture, "laguna");
  EXPECT_EQ(spec->name, "Laguna XS.2");
  EXPECT_EQ(spec->source, SourceKind::Gguf);
  EXPECT_EQ(spec->hidden, 2048);
  EXPECT_EQ(spec->vocab, 100352);
  EXPECT_EQ(spec->context_length, 131072);
  expect_xs2_layers(*spec, kLlamaCppYarn);  // the file says beta_fast 64 and attn factor 1
}

// A small two-layer file with real gate tensors: their width decides per head or per element.
void write_small(const std::string& path, uint64_t gate0, uint64_t gate1) {
  GgufWriter w;
  w.set_string("general.architecture", "laguna");
  w.set_u32("laguna.block_count", 2);
  w.set_u32("laguna.context_length", 256);
  w.set_u32("laguna.embedding_length", 32);
  w.set_u32("laguna.feed_forward_length", 64);
  w.set_i32_array("laguna.attention.head_count", {2, 4});
  w.set_u32("laguna.attention.head_count_kv", 2);
  w.set_u32("laguna.attention.key_length", 8);
  w.set_u32("laguna.attention.value_length", 8);
  w.set_f32("laguna.attention.layer_norm_rms_epsilon", 1e-6f);
  w.set_u32("laguna.vocab_size", 16);
  w.set_u32("laguna.expert_count", 4);
  w.set_u32("laguna.expert_used_count", 2);
  w.set_u32("laguna.expert_feed_forward_length", 16);
  w.set_u32("laguna.leading_dense_block_count", 1);
  w.set_u32("laguna.attention.sliding_window", 8);
  auto f32 = [](uint64_t n) { return std::vector<uint8_t>(n * 4, 0); };
  w.add_tensor("blk.0.attn_gate.weight", {32, gate0}, GgmlType::F32, f32(32 * gate0));
  w.add_tensor("blk.1.attn_gate.weight", {32, gate1}, GgmlType::F32, f32(32 * gate1));
  w.add_tensor("output.weight", {32, 16}, GgmlType::F32, f32(32 * 16));
  w.write(path);
}

TEST(LagunaGguf, GateTensorWidthDecidesTheGateLayout) {
  TempDir dir;
  write_small(dir.file("gates.gguf"), 2, 4 * 8);
  auto spec = load_model_spec(dir.file("gates.gguf"));
  ASSERT_TRUE(spec.ok()) << spec.error().what();
  EXPECT_TRUE(spec->layers[0].attn_gate_per_head);
  EXPECT_FALSE(spec->layers[1].attn_gate_per_head);
  EXPECT_FALSE(spec->tied_embeddings);
  EXPECT_TRUE(spec->weights_present);
  // Without the shared-expert keys llama.cpp builds one shared expert of the routed width.
  EXPECT_EQ(spec->layers[1].ffn.shared_experts, 1);
  EXPECT_EQ(spec->layers[1].ffn.shared_width, 16);
  // Without a gating function key the router is sigmoid; without a scale, 1.
  EXPECT_EQ(spec->layers[1].ffn.router_score, RouterScore::Sigmoid);
  EXPECT_DOUBLE_EQ(spec->layers[1].ffn.routed_scale, 1.0);
  EXPECT_FALSE(spec->layers[1].ffn.normalize_weights);
  // No freq_base_swa: sliding layers use the full layers' base (llama.cpp).
  EXPECT_EQ(spec->layers[1].attention, AttentionKind::Sliding);
  EXPECT_DOUBLE_EQ(spec->layers[1].rope.theta, spec->layers[0].rope.theta);

  write_small(dir.file("bad-gate.gguf"), 2, 5);
  expect_error(dir.file("bad-gate.gguf"), {"blk.1.attn_gate.weight", "5 outputs"});
}

TEST(LagunaGguf, WindowPatternAndNoWindow) {
  TempDir dir;
  GgufWriter w = xs2_writer();
  w.set_u32("laguna.attention.sliding_window_pattern", 2);
  w.write(dir.file("period2.gguf"));
  auto spec = load_model_spec(dir.file("period2.gguf"));
  ASSERT_TRUE(spec.ok()) << spec.error().what();
  EXPECT_EQ(spec->layers[2].attention, AttentionKind::Global);
  EXPECT_EQ(spec->layers[3].attention, AttentionKind::Sliding);

  // M.1 style: no sliding_window key, every layer global with the full layers' RoPE.
  GgufWriter m;
  m.set_string("general.architecture", "laguna");
  m.set_u32("laguna.block_count", 4);
  m.set_u32("laguna.context_length", 4096);
  m.set_u32("laguna.embedding_length", 64);
  m.set_u32("laguna.feed_forward_length", 128);
  m.set_u32("laguna.attention.head_count", 8);
  m.set_u32("laguna.attention.head_count_kv", 2);
  m.set_f32("laguna.attention.layer_norm_rms_epsilon", 1e-6f);
  m.set_u32("laguna.vocab_size", 32);
  m.set_u32("laguna.expert_count", 8);
  m.set_u32("laguna.expert_used_count", 2);
  m.set_u32("laguna.expert_feed_forward_length", 32);
  m.set_u32("laguna.leading_dense_block_count", 3);
  m.write(dir.file("m1.gguf"));
  spec = load_model_spec(dir.file("m1.gguf"));
  ASSERT_TRUE(spec.ok()) << spec.error().what();
  for (const LayerSpec& l : spec->layers) {
    EXPECT_EQ(l.attention, AttentionKind::Global);
    EXPECT_EQ(l.q_heads, 8);
    EXPECT_EQ(l.head_dim_k, 8);  // hidden / heads without key_length
  }
  EXPECT_EQ(spec->layers[2].ffn.kind, FfnKind::Dense);
  EXPECT_EQ(spec->layers[3].ffn.kind, FfnKind::Moe);
}

TEST(LagunaGguf, BadMetadataNamesTheKeyAndFile) {
  TempDir dir;
  {  // a key llama.cpp requires
    GgufWriter w;
    for (const char* key : {"general.architecture"}) w.set_string(key, "laguna");
    w.set_u32("laguna.block_count", 2);
    w.set_u32("laguna.context_length", 256);
    w.set_u32("laguna.embedding_length", 32);
    w.set_u32("laguna.attention.head_count", 4);
    w.set_f32("laguna.attention.layer_norm_rms_epsilon", 1e-6f);
    w.set_u32("laguna.vocab_size", 16);
    w.set_u32("laguna.expert_feed_forward_length", 16);
    w.write(dir.file("no-lead.gguf"));
    expect_error(dir.file("no-lead.gguf"), {"missing metadata key laguna.leading_dense_block_count"});
  }
  {  // per-layer head counts of the wrong length
    GgufWriter w = xs2_writer();
    w.set_i32_array("laguna.attention.head_count", std::vector<int32_t>(39, 64));
    w.write(dir.file("heads.gguf"));
    expect_error(dir.file("heads.gguf"), {"laguna.attention.head_count", "39 entries", "40 layers"});
  }
  {  // top-k larger than the expert count
    GgufWriter w = xs2_writer();
    w.set_u32("laguna.expert_used_count", 300);
    w.write(dir.file("topk.gguf"));
    expect_error(dir.file("topk.gguf"), {"laguna.expert_used_count (300) is larger than laguna.expert_count (256)"});
  }
  {  // an unknown gating function
    GgufWriter w = xs2_writer();
    w.set_u32("laguna.expert_gating_func", 9);
    w.write(dir.file("gating.gguf"));
    expect_error(dir.file("gating.gguf"), {"laguna.expert_gating_func", "9"});
  }
  {  // MoE layers without an expert count
    GgufWriter w = xs2_writer();
    w.set_u32("laguna.expert_count", 0);
    w.write(dir.file("experts.gguf"));
    expect_error(dir.file("experts.gguf"), {"laguna.expert_count"});
  }
  {  // more dense layers than layers
    GgufWriter w = xs2_writer();
    w.set_u32("laguna.leading_dense_block_count", 41);
    w.write(dir.file("lead.gguf"));
    expect_error(dir.file("lead.gguf"), {"laguna.leading_dense_block_count", "41"});
  }
}

// The head-budget toggles on the XS.2 card: global and sliding layers can keep fewer query
// heads (whole KV groups' worth, at most what the weights hold); window and all_global
// change the sliding layers' reach and the cache they need.
TEST(LagunaToggles, HeadBudgetsWindowAndAllGlobalOnTheCard) {
  const ModelSpec xs2 = load_model_spec(kCard).value();
  std::map<std::string, std::string> current;
  for (const ToggleInfo& t : available_toggles(xs2)) current[t.name] = t.current;
  EXPECT_EQ(current["global_heads"], "48");
  EXPECT_EQ(current["sliding_heads"], "64");
  EXPECT_EQ(current["window"], "512");
  EXPECT_EQ(current["all_global"], "off");

  ModelSpec equal = xs2;
  apply_toggles(equal, {{"sliding_heads", "48"}, {"global_heads", "32"}});
  for (const LayerSpec& l : equal.layers) {
    EXPECT_EQ(l.q_heads, xs2.layers[l.index].q_heads);  // the weights keep their shapes
    EXPECT_EQ(l.kept_q_heads, l.attention == AttentionKind::Global ? 32 : 48) << "layer " << l.index;
  }
  std::map<std::string, std::string> after;
  for (const ToggleInfo& t : available_toggles(equal)) after[t.name] = t.current;
  EXPECT_EQ(after["sliding_heads"], "48");
  ModelSpec same = xs2;
  apply_toggles(same, {{"global_heads", "48"}});
  for (const LayerSpec& l : same.layers) EXPECT_EQ(l.kept_q_heads, 0);

  auto error_of = [&](const std::vector<Toggle>& toggles) {
    ModelSpec spec = xs2;
    try {
      apply_toggles(spec, toggles);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_EQ(error_of({{"global_heads", "64"}}),
            "toggle global_heads=64: layer 0 has weights for 48 query heads over 8 KV heads; it can keep a multiple "
            "of 8 up to 48");
  EXPECT_NE(error_of({{"sliding_heads", "12"}}).find("a multiple of 8 up to 64"), std::string::npos);
  EXPECT_NE(error_of({{"sliding_heads", "0"}}).find("not a positive whole number"), std::string::npos);

  const uint64_t ctx = 131072;
  ModelSpec narrow = xs2, global = xs2;
  apply_toggles(narrow, {{"window", "128"}});
  apply_toggles(global, {{"all_global", "on"}});
  EXPECT_EQ(plan_cache(xs2, ctx).bytes - plan_cache(narrow, ctx).bytes, 30ull * (512 - 128) * 2 * 8 * 128 * 2);
  EXPECT_EQ(plan_cache(global, ctx).bytes, 40ull * ctx * 2 * 8 * 128 * 2);

  // Other architectures have no program honouring dropped heads: no head toggles there.
  for (const ToggleInfo& t : available_toggles(testing::load_card("gemma-4-e2b.json"))) {
    EXPECT_NE(t.name, "global_heads");
    EXPECT_NE(t.name, "sliding_heads");
  }
}

}  // namespace
}  // namespace archscope
