// Gemma 4: the four published model cards, GGUF metadata as llama.cpp's converter writes it
// (conversion/gemma.py Gemma4Model), and bad input.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#include "archscope/cache_plan.h"
#include "archscope/gguf.h"
#include "archscope/model_loader.h"
#include "spec/spec_fixtures.h"
#include <nlohmann/json.hpp>

namespace archscope {
namespace {

using testing::elements;
using testing::find;
using testing::load_card;
using testing::TempDir;
using testing::total_params;

uint64_t params_of(const ModelSpec& spec, WeightComponent component) {
  uint64_t n = 0;
  for (const TensorSpec& t : spec.tensors) n += t.component == component ? elements(t) : 0;
  return n;
}
void expect_near_rel(double value, double published, double tolerance, const char* what) {
  EXPECT_LE(std::fabs(value - published) / published, tolerance) << what << ": " << value << " vs published " << published;
}

// (S x run, F) repeated: true where the layer is sliding.
bool sliding_in_pattern(int il, int period) { return (il + 1) % period != 0; }

// ---- cards ----

TEST(Gemma4Card, E2BLayersSharingAndPerLayerEmbeddings) {
  const ModelSpec spec = load_card("gemma-4-e2b.json");
  EXPECT_EQ(spec.architecture, "gemma4");
  EXPECT_EQ(spec.name, "google/gemma-4-E2B");
  ASSERT_EQ(spec.layer_count(), 35);
  EXPECT_EQ(spec.hidden, 1536);
  EXPECT_EQ(spec.vocab, 262144);
  EXPECT_EQ(spec.context_length, 131072);
  EXPECT_EQ(spec.ple_width, 256);
  EXPECT_DOUBLE_EQ(spec.final_logit_softcap, 30.0);
  EXPECT_DOUBLE_EQ(spec.embedding_scale, std::sqrt(1536.0));
  EXPECT_TRUE(spec.tied_embeddings);
  EXPECT_EQ(spec.weight_type, "bf16");

  for (const LayerSpec& l : spec.layers) {
    SCOPED_TRACE("layer " + std::to_string(l.index));
    const bool sliding = sliding_in_pattern(l.index, 5);  // (S,S,S,S,F) x 7
    EXPECT_EQ(l.attention, sliding ? AttentionKind::Sliding : AttentionKind::Global);
    EXPECT_EQ(l.window, sliding ? 512 : 0);
    EXPECT_EQ(l.q_heads, 8);
    EXPECT_EQ(l.kv_heads, 1);
    EXPECT_EQ(l.head_dim_k, sliding ? 256 : 512);
    EXPECT_EQ(l.head_dim_v, l.head_dim_k);
    EXPECT_FALSE(l.k_equals_v);
    EXPECT_TRUE(l.qk_norm);
    EXPECT_EQ(l.ple_width, 256);
    EXPECT_TRUE(l.rope.neox);
    EXPECT_DOUBLE_EQ(l.rope.theta, sliding ? 10000.0 : 1000000.0);
    EXPECT_EQ(l.rope.rotary_dims, sliding ? 256 : 128);  // proportional: 25% of the 512-dim head
    EXPECT_EQ(l.rope.freq_factors, !sliding);
    // Layers 15..34 are KV-shared: sliding ones read layer 13, global ones layer 14.
    if (l.index < 15) EXPECT_EQ(l.kv_source, l.index);
    else EXPECT_EQ(l.kv_source, sliding ? 13 : 14);
    EXPECT_EQ(l.ffn.kind, FfnKind::Dense);
    EXPECT_EQ(l.ffn.activation, Activation::GeluTanh);
    EXPECT_EQ(l.ffn.dense_width, l.index < 15 ? 6144 : 12288);  // use_double_wide_mlp
  }
  EXPECT_EQ(spec.layers[15].attention, AttentionKind::Sliding);
  EXPECT_EQ(spec.layers[15].kv_source, 13);
  EXPECT_EQ(spec.layers[19].attention, AttentionKind::Global);
  EXPECT_EQ(spec.layers[19].kv_source, 14);

  // Shared layers compute queries only: no attn_k / attn_v / attn_k_norm.
  EXPECT_NE(find(spec, "blk.14.attn_k.weight"), nullptr);
  EXPECT_NE(find(spec, "blk.14.attn_v.weight"), nullptr);
  EXPECT_EQ(find(spec, "blk.15.attn_k.weight"), nullptr);
  EXPECT_EQ(find(spec, "blk.15.attn_v.weight"), nullptr);
  EXPECT_EQ(find(spec, "blk.15.attn_k_norm.weight"), nullptr);
  ASSERT_NE(find(spec, "blk.15.attn_q.weight"), nullptr);
  EXPECT_EQ(find(spec, "blk.15.attn_q.weight")->shape, (std::vector<uint64_t>{1536, 8 * 256}));
  EXPECT_EQ(find(spec, "blk.19.attn_q.weight")->shape, (std::vector<uint64_t>{1536, 8 * 512}));
  EXPECT_EQ(find(spec, "blk.20.ffn_gate.weight")->shape, (std::vector<uint64_t>{1536, 12288}));
  ASSERT_NE(find(spec, "per_layer_token_embd.weight"), nullptr);
  EXPECT_EQ(find(spec, "per_layer_token_embd.weight")->shape, (std::vector<uint64_t>{35 * 256, 262144}));
  EXPECT_EQ(find(spec, "per_layer_model_proj.weight")->shape, (std::vector<uint64_t>{1536, 35 * 256}));
  EXPECT_EQ(find(spec, "per_layer_proj_norm.weight")->shape, (std::vector<uint64_t>{256}));
  EXPECT_EQ(find(spec, "blk.0.inp_gate.weight")->shape, (std::vector<uint64_t>{1536, 256}));
  EXPECT_EQ(find(spec, "blk.0.proj.weight")->shape, (std::vector<uint64_t>{256, 1536}));
  EXPECT_NE(find(spec, "blk.34.post_norm.weight"), nullptr);
  EXPECT_NE(find(spec, "blk.34.layer_output_scale.weight"), nullptr);
  EXPECT_EQ(find(spec, "rope_freqs.weight")->shape, (std::vector<uint64_t>{256}));
  EXPECT_EQ(find(spec, "output.weight"), nullptr);  // tied

  // Published (Gemma 4 model card): 2.3B effective, 5.1B with embeddings. The 5.1B also
  // counts the vision (~150M) and audio (~300M) encoders, which are not in the text model.
  // Exact sum of the text model's tensor elements, derived independently by hand:
  const uint64_t total = total_params(spec);
  const uint64_t ple_table = 262144ull * 35 * 256;  // 2,348,810,240
  EXPECT_EQ(params_of(spec, WeightComponent::PerLayerEmbedding) - ple_table,
            1536ull * 35 * 256 + 256 + 35 * (1536ull * 256 * 2 + 1536));  // projections and norms
  EXPECT_EQ(total, 4628569635ull);
  expect_near_rel(static_cast<double>(total) + 0.45e9, 5.1e9, 0.02, "E2B total + encoders");
  expect_near_rel(static_cast<double>(total - ple_table), 2.3e9, 0.02, "E2B effective (no PLE table)");
  EXPECT_EQ(find(spec, "token_embd.weight")->bytes, 1536ull * 262144 * 2);  // bf16
}

TEST(Gemma4Card, E4BSharesIntoLayers22And23) {
  const ModelSpec spec = load_card("gemma-4-e4b.json");
  ASSERT_EQ(spec.layer_count(), 42);
  EXPECT_EQ(spec.hidden, 2560);
  EXPECT_EQ(spec.ple_width, 256);
  for (const LayerSpec& l : spec.layers) {
    SCOPED_TRACE("layer " + std::to_string(l.index));
    const bool sliding = sliding_in_pattern(l.index, 6);  // (S x 5, F) x 7
    EXPECT_EQ(l.attention, sliding ? AttentionKind::Sliding : AttentionKind::Global);
    EXPECT_EQ(l.window, sliding ? 512 : 0);
    EXPECT_EQ(l.q_heads, 8);
    EXPECT_EQ(l.kv_heads, 2);
    EXPECT_EQ(l.head_dim_k, sliding ? 256 : 512);
    // 18 shared layers: 24..41 read the last non-shared layer of their type (22 / 23).
    if (l.index < 24) EXPECT_EQ(l.kv_source, l.index);
    else EXPECT_EQ(l.kv_source, sliding ? 22 : 23);
    EXPECT_EQ(l.ffn.dense_width, 10240);  // no double-wide MLP
  }
  // Published: 4.5B effective, 8B with embeddings (the 8B with the ~450M of encoders).
  // The text model without the PLE table is 4.64B, 3% above the published 4.5B; the text
  // model without any embedding table plus the encoders (3.97B + 0.45B) is 4.42B.
  const uint64_t total = total_params(spec);
  const uint64_t ple_table = 262144ull * 42 * 256;
  EXPECT_EQ(total, 7463013674ull);
  expect_near_rel(static_cast<double>(total) + 0.45e9, 8.0e9, 0.02, "E4B total + encoders");
  expect_near_rel(static_cast<double>(total - ple_table), 4.5e9, 0.04, "E4B effective (no PLE table)");
}

TEST(Gemma4Card, MoE26BA4BExpertsBesideDenseMlpAndKEqualsV) {
  const ModelSpec spec = load_card("gemma-4-26b-a4b.json");
  ASSERT_EQ(spec.layer_count(), 30);
  EXPECT_EQ(spec.hidden, 2816);
  EXPECT_EQ(spec.context_length, 262144);
  EXPECT_EQ(spec.ple_width, 0);
  for (const LayerSpec& l : spec.layers) {
    SCOPED_TRACE("layer " + std::to_string(l.index));
    const bool sliding = sliding_in_pattern(l.index, 6);  // (S x 5, F) x 5
    EXPECT_EQ(l.attention, sliding ? AttentionKind::Sliding : AttentionKind::Global);
    EXPECT_EQ(l.window, sliding ? 1024 : 0);
    EXPECT_EQ(l.q_heads, 16);
    EXPECT_EQ(l.kv_heads, sliding ? 8 : 2);
    EXPECT_EQ(l.head_dim_k, sliding ? 256 : 512);
    EXPECT_FALSE(l.k_equals_v);  // V = RMSNorm_noweight(W_k h) differs from K: both cached
    EXPECT_EQ(l.v_from_k_proj, !sliding);
    EXPECT_EQ(l.kv_source, l.index);
    EXPECT_EQ(l.ple_width, 0);
    EXPECT_EQ(l.ffn.kind, FfnKind::Moe);
    EXPECT_EQ(l.ffn.experts, 128);
    EXPECT_EQ(l.ffn.active_experts, 8);
    EXPECT_EQ(l.ffn.expert_width, 704);
    EXPECT_EQ(l.ffn.dense_width, 2112);
    EXPECT_EQ(l.ffn.shared_experts, 0);
  }
  EXPECT_NE(find(spec, "blk.0.attn_v.weight"), nullptr);
  EXPECT_EQ(find(spec, "blk.5.attn_v.weight"), nullptr);  // V from attn_k on global layers
  EXPECT_EQ(find(spec, "blk.5.attn_k.weight")->shape, (std::vector<uint64_t>{2816, 2 * 512}));
  EXPECT_EQ(find(spec, "blk.0.ffn_gate_up_exps.weight")->shape, (std::vector<uint64_t>{2816, 2 * 704, 128}));
  EXPECT_EQ(find(spec, "blk.0.ffn_down_exps.weight")->shape, (std::vector<uint64_t>{704, 2816, 128}));
  EXPECT_EQ(find(spec, "blk.0.ffn_gate_inp.weight")->shape, (std::vector<uint64_t>{2816, 128}));
  EXPECT_EQ(find(spec, "blk.0.ffn_gate_inp.scale")->shape, (std::vector<uint64_t>{2816}));
  EXPECT_EQ(find(spec, "blk.0.ffn_down_exps.scale")->shape, (std::vector<uint64_t>{128}));
  EXPECT_EQ(find(spec, "blk.0.ffn_gate.weight")->shape, (std::vector<uint64_t>{2816, 2112}));
  EXPECT_EQ(find(spec, "per_layer_token_embd.weight"), nullptr);

  // Published: 25.2B total, 3.8B active (text model; the ~550M vision encoder is extra).
  const uint64_t total = total_params(spec);
  const uint64_t experts = params_of(spec, WeightComponent::RoutedExperts) - 30 * 128;  // minus the .scale vectors
  EXPECT_EQ(experts, 30ull * 128 * 3 * 704 * 2816);
  EXPECT_EQ(total, 25233142046ull);
  expect_near_rel(static_cast<double>(total), 25.2e9, 0.005, "26B-A4B total");
  const double active = static_cast<double>(total) - static_cast<double>(experts) * (1.0 - 8.0 / 128.0);
  expect_near_rel(active, 3.8e9, 0.01, "26B-A4B active");
}

// The global layers of 26B-A4B and 31B have no v_proj (attention_k_eq_v), but K and V still
// differ: K = RoPE(k_norm(W_k h)), V = RMSNorm_noweight(W_k h) (llama.cpp gemma4.cpp, HF
// modular_gemma4.py), and llama.cpp caches both. So a global layer holds 2 x context x
// kv_heads x 512 elements, not 1 x as it did when archscope marked them K = V (cached once).
// At 128K in bf16 (2 bytes), one sequence:
//   26B-A4B: 25 sliding x 2 x 1024 x 8 x 256 x 2  =   200 MiB
//             5 global  x 2 x 131072 x 2 x 512 x 2 =  2560 MiB (was 1280)  -> 2760 MiB (was 1480)
//   31B:     50 sliding x 2 x 1024 x 16 x 256 x 2 =   800 MiB
//            10 global  x 2 x 131072 x 4 x 512 x 2 = 10240 MiB (was 5120)  -> 11040 MiB (was 5920)
TEST(Gemma4Card, KEqualsVGlobalLayersCacheKeysAndValues) {
  constexpr uint64_t MiB = 1ull << 20;
  constexpr uint64_t ctx = 131072;
  const ModelSpec moe = load_card("gemma-4-26b-a4b.json");
  const CachePlan moe_plan = plan_cache(moe, ctx, GgmlType::BF16);
  EXPECT_EQ(moe_plan.layers[5].kv_bytes, 2ull * ctx * 2 * 512 * 2);
  EXPECT_EQ(moe_plan.layers[5].bytes, 512 * MiB);
  EXPECT_EQ(moe_plan.bytes, 2760 * MiB);
  const ModelSpec dense = load_card("gemma-4-31b.json");
  const CachePlan dense_plan = plan_cache(dense, ctx, GgmlType::BF16);
  EXPECT_EQ(dense_plan.layers[5].kv_bytes, 2ull * ctx * 4 * 512 * 2);
  EXPECT_EQ(dense_plan.bytes, 11040 * MiB);
}

TEST(Gemma4Card, Dense31BGlobalLayersHaveFourSharedKEqualsVHeads) {
  const ModelSpec spec = load_card("gemma-4-31b.json");
  ASSERT_EQ(spec.layer_count(), 60);
  EXPECT_EQ(spec.hidden, 5376);
  EXPECT_EQ(spec.context_length, 262144);
  for (const LayerSpec& l : spec.layers) {
    SCOPED_TRACE("layer " + std::to_string(l.index));
    const bool sliding = sliding_in_pattern(l.index, 6);
    EXPECT_EQ(l.attention, sliding ? AttentionKind::Sliding : AttentionKind::Global);
    EXPECT_EQ(l.window, sliding ? 1024 : 0);
    EXPECT_EQ(l.q_heads, 32);
    EXPECT_EQ(l.kv_heads, sliding ? 16 : 4);
    EXPECT_EQ(l.head_dim_k, sliding ? 256 : 512);
    EXPECT_FALSE(l.k_equals_v);  // V = RMSNorm_noweight(W_k h) differs from K: both cached
    EXPECT_EQ(l.v_from_k_proj, !sliding);
    EXPECT_EQ(l.kv_source, l.index);
    EXPECT_EQ(l.ffn.kind, FfnKind::Dense);
    EXPECT_EQ(l.ffn.dense_width, 21504);
  }
  // Published: 30.7B (text model).
  const uint64_t total = total_params(spec);
  EXPECT_EQ(total, 30697345596ull);
  expect_near_rel(static_cast<double>(total), 30.7e9, 0.005, "31B total");
}

// ---- GGUF ----

GgufValue bool_value(bool b) {
  GgufValue v;
  v.type = GgufValueType::Bool;
  v.u = b ? 1 : 0;
  return v;
}
void set_bool_array(GgufWriter& w, const std::string& key, const std::vector<bool>& flags) {
  std::vector<GgufValue> items;
  for (bool b : flags) items.push_back(bool_value(b));
  w.set_array(key, GgufValueType::Bool, items);
}
std::vector<uint8_t> f32_bytes(const std::vector<float>& values) {
  std::vector<uint8_t> bytes(values.size() * sizeof(float));
  std::memcpy(bytes.data(), values.data(), bytes.size());
  return bytes;
}
std::vector<uint8_t> zeros_f32(uint64_t n) { return std::vector<uint8_t>(n * sizeof(float), 0); }
// The proportional-RoPE factors the converter writes: 1.0 for the rotating pairs, 1e30 after.
std::vector<float> rope_freqs(int head_dim, double partial) {
  const int rotating = static_cast<int>(head_dim * partial / 2);
  std::vector<float> f(head_dim / 2, 1e30f);
  for (int i = 0; i < rotating; ++i) f[i] = 1.0f;
  return f;
}

// Options for the E2B file: leave one key out, or write different rope_freqs.
struct E2BFile {
  std::string skip;             // metadata key not to write
  int rope_freqs_entries = 256; // head_dim_full / 2
};

// The E2B's metadata in the order and types Gemma4Model.set_gguf_parameters writes them
// (arrays of python ints are INT32, of bools BOOL). The tokenizer is cut to 4 tokens, so
// gemma4.vocab_size (which the converter does not write) stands in for the 262,144 tokens.
GgufWriter e2b_writer(const E2BFile& opt = {}) {
  GgufWriter w;
  auto keep = [&](const std::string& key) { return key != opt.skip; };
  auto u32 = [&](const std::string& key, uint32_t v) { if (keep(key)) w.set_u32(key, v); };
  auto f32 = [&](const std::string& key, float v) { if (keep(key)) w.set_f32(key, v); };
  w.set_string("general.architecture", "gemma4");
  w.set_string("general.name", "Gemma 4 E2B");
  u32("gemma4.block_count", 35);
  u32("gemma4.context_length", 131072);
  u32("gemma4.embedding_length", 1536);
  std::vector<int32_t> ffn(35, 6144);
  for (int il = 15; il < 35; ++il) ffn[il] = 12288;  // use_double_wide_mlp in the shared layers
  if (keep("gemma4.feed_forward_length")) w.set_i32_array("gemma4.feed_forward_length", ffn);
  u32("gemma4.attention.head_count", 8);
  u32("gemma4.attention.head_count_kv", 1);
  f32("gemma4.rope.freq_base", 1000000.0f);
  f32("gemma4.rope.freq_base_swa", 10000.0f);
  f32("gemma4.attention.layer_norm_rms_epsilon", 1e-6f);
  u32("gemma4.attention.key_length", 512);
  u32("gemma4.attention.value_length", 512);
  f32("gemma4.final_logit_softcapping", 30.0f);
  u32("gemma4.attention.sliding_window", 512);
  u32("gemma4.attention.shared_kv_layers", 20);
  u32("gemma4.embedding_length_per_layer_input", 256);
  std::vector<bool> swa;
  for (int il = 0; il < 35; ++il) swa.push_back(sliding_in_pattern(il, 5));
  if (keep("gemma4.attention.sliding_window_pattern")) set_bool_array(w, "gemma4.attention.sliding_window_pattern", swa);
  u32("gemma4.attention.key_length_swa", 256);
  u32("gemma4.attention.value_length_swa", 256);
  u32("gemma4.rope.dimension_count", 512);
  u32("gemma4.rope.dimension_count_swa", 256);
  u32("gemma4.vocab_size", 262144);
  w.set_string("tokenizer.ggml.model", "gemma4");
  w.set_string_array("tokenizer.ggml.tokens", {"<pad>", "<eos>", "<bos>", "<unk>"});
  std::vector<float> factors = rope_freqs(512, 0.25);
  factors.resize(opt.rope_freqs_entries, 1e30f);
  w.add_tensor("rope_freqs.weight", {factors.size()}, GgmlType::F32, f32_bytes(factors));
  return w;
}

Result<ModelSpec> load_written(const GgufWriter& w, const TempDir& dir, const std::string& name) {
  const std::string path = dir.file(name);
  w.write(path);
  return load_model_spec(path);
}

TEST(Gemma4Gguf, E2BMetadataGivesTheSameLayersAsTheCard) {
  TempDir dir;
  const auto gguf = load_written(e2b_writer(), dir, "e2b.gguf");
  ASSERT_TRUE(gguf.ok()) << gguf.error().what();
  const ModelSpec card = load_card("gemma-4-e2b.json");
  EXPECT_EQ(gguf->name, "Gemma 4 E2B");
  EXPECT_EQ(gguf->source, SourceKind::Gguf);
  EXPECT_EQ(gguf->hidden, 1536);
  EXPECT_EQ(gguf->vocab, 262144);
  EXPECT_EQ(gguf->context_length, 131072);
  EXPECT_EQ(gguf->ple_width, 256);
  EXPECT_DOUBLE_EQ(gguf->final_logit_softcap, 30.0);
  EXPECT_DOUBLE_EQ(gguf->embedding_scale, std::sqrt(1536.0));
  EXPECT_NEAR(gguf->rms_eps, 1e-6, 1e-12);
  ASSERT_EQ(gguf->layer_count(), card.layer_count());
  for (int il = 0; il < card.layer_count(); ++il) {
    SCOPED_TRACE("layer " + std::to_string(il));
    const LayerSpec& a = gguf->layers[il];
    const LayerSpec& b = card.layers[il];
    EXPECT_EQ(a.attention, b.attention);
    EXPECT_EQ(a.window, b.window);
    EXPECT_EQ(a.q_heads, b.q_heads);
    EXPECT_EQ(a.kv_heads, b.kv_heads);
    EXPECT_EQ(a.head_dim_k, b.head_dim_k);
    EXPECT_EQ(a.head_dim_v, b.head_dim_v);
    EXPECT_EQ(a.kv_source, b.kv_source);
    EXPECT_EQ(a.k_equals_v, b.k_equals_v);
    EXPECT_EQ(a.v_from_k_proj, b.v_from_k_proj);
    EXPECT_DOUBLE_EQ(a.rope.theta, b.rope.theta);
    EXPECT_EQ(a.rope.rotary_dims, b.rope.rotary_dims);
    EXPECT_EQ(a.rope.freq_factors, b.rope.freq_factors);
    EXPECT_EQ(a.rope.neox, b.rope.neox);
    EXPECT_EQ(a.rope.scaling, b.rope.scaling);
    EXPECT_EQ(a.ple_width, b.ple_width);
    EXPECT_EQ(a.qk_norm, b.qk_norm);
    EXPECT_EQ(a.ffn.kind, b.ffn.kind);
    EXPECT_EQ(a.ffn.dense_width, b.ffn.dense_width);
    EXPECT_EQ(a.ffn.activation, b.ffn.activation);
  }
  EXPECT_EQ(gguf->layers[15].kv_source, 13);
  EXPECT_EQ(gguf->layers[19].kv_source, 14);
  EXPECT_EQ(gguf->layers[19].rope.rotary_dims, 128);
}

// A tiny 26B-A4B-shaped file with tensors: per-type KV heads (head_count_kv array), no
// attn_v on the global layer (K = V), experts, an untied output and no softcap key.
GgufWriter tiny_moe_writer() {
  const uint32_t d = 64, n = 6, q = 4, hd_s = 16, hd_g = 32, experts = 4;
  GgufWriter w;
  w.set_string("general.architecture", "gemma4");
  w.set_u32("gemma4.block_count", n);
  w.set_u32("gemma4.context_length", 4096);
  w.set_u32("gemma4.embedding_length", d);
  w.set_u32("gemma4.feed_forward_length", 96);
  w.set_u32("gemma4.attention.head_count", q);
  w.set_i32_array("gemma4.attention.head_count_kv", {2, 2, 2, 2, 2, 1});
  w.set_f32("gemma4.rope.freq_base", 1000000.0f);
  w.set_f32("gemma4.rope.freq_base_swa", 10000.0f);
  w.set_f32("gemma4.attention.layer_norm_rms_epsilon", 1e-6f);
  w.set_u32("gemma4.expert_count", experts);
  w.set_u32("gemma4.expert_used_count", 2);
  w.set_u32("gemma4.attention.key_length", hd_g);
  w.set_u32("gemma4.attention.value_length", hd_g);
  w.set_u32("gemma4.attention.sliding_window", 128);
  w.set_u32("gemma4.attention.shared_kv_layers", 0);
  w.set_u32("gemma4.embedding_length_per_layer_input", 0);
  set_bool_array(w, "gemma4.attention.sliding_window_pattern", {true, true, true, true, true, false});
  w.set_u32("gemma4.attention.key_length_swa", hd_s);
  w.set_u32("gemma4.attention.value_length_swa", hd_s);
  w.set_u32("gemma4.expert_feed_forward_length", 24);
  w.set_u32("gemma4.rope.dimension_count", hd_g);
  w.set_u32("gemma4.rope.dimension_count_swa", hd_s);
  w.set_string_array("tokenizer.ggml.tokens", std::vector<std::string>(32, "t"));
  w.add_tensor("token_embd.weight", {d, 32}, GgmlType::F32, zeros_f32(d * 32));
  w.add_tensor("output.weight", {d, 32}, GgmlType::F32, zeros_f32(d * 32));
  w.add_tensor("rope_freqs.weight", {hd_g / 2}, GgmlType::F32, f32_bytes(rope_freqs(hd_g, 0.25)));
  for (uint32_t il = 0; il < n; ++il) {
    const std::string blk = "blk." + std::to_string(il) + ".";
    const bool sliding = il < 5;
    const uint64_t kv = (sliding ? 2 : 1) * uint64_t(sliding ? hd_s : hd_g);
    w.add_tensor(blk + "attn_k.weight", {d, kv}, GgmlType::F32, zeros_f32(d * kv));
    if (sliding) w.add_tensor(blk + "attn_v.weight", {d, kv}, GgmlType::F32, zeros_f32(d * kv));
  }
  return w;
}

TEST(Gemma4Gguf, PerTypeKvHeadsKEqualsVAndExperts) {
  TempDir dir;
  const auto spec = load_written(tiny_moe_writer(), dir, "tiny-moe.gguf");
  ASSERT_TRUE(spec.ok()) << spec.error().what();
  EXPECT_FALSE(spec->tied_embeddings);
  EXPECT_DOUBLE_EQ(spec->final_logit_softcap, 30.0);  // llama.cpp's default when the key is absent
  EXPECT_EQ(spec->ple_width, 0);
  ASSERT_EQ(spec->layer_count(), 6);
  for (const LayerSpec& l : spec->layers) {
    SCOPED_TRACE("layer " + std::to_string(l.index));
    const bool sliding = l.index < 5;
    EXPECT_EQ(l.attention, sliding ? AttentionKind::Sliding : AttentionKind::Global);
    EXPECT_EQ(l.window, sliding ? 128 : 0);
    EXPECT_EQ(l.kv_heads, sliding ? 2 : 1);
    EXPECT_EQ(l.head_dim_k, sliding ? 16 : 32);
    EXPECT_FALSE(l.k_equals_v);  // V = RMSNorm_noweight(W_k h) differs from K: both cached
    EXPECT_EQ(l.v_from_k_proj, !sliding);
    EXPECT_EQ(l.rope.rotary_dims, sliding ? 16 : 8);
    EXPECT_EQ(l.kv_source, l.index);
    EXPECT_EQ(l.ffn.kind, FfnKind::Moe);
    EXPECT_EQ(l.ffn.experts, 4);
    EXPECT_EQ(l.ffn.active_experts, 2);
    EXPECT_EQ(l.ffn.expert_width, 24);
    EXPECT_EQ(l.ffn.dense_width, 96);
  }
}

// ---- bad input ----

void expect_load_error(const Result<ModelSpec>& r, const std::vector<std::string>& parts) {
  ASSERT_FALSE(r.ok()) << "expected an error";
  const std::string message = r.error().what();
  for (const std::string& part : parts) {
    EXPECT_NE(message.find(part), std::string::npos) << "message '" << message << "' lacks '" << part << "'";
  }
}

TEST(Gemma4Gguf, MissingRequiredKeysAreNamedWithTheFile) {
  for (const std::string key : {"gemma4.attention.sliding_window_pattern", "gemma4.attention.key_length_swa",
                                "gemma4.attention.value_length_swa", "gemma4.attention.sliding_window",
                                "gemma4.embedding_length_per_layer_input", "gemma4.attention.layer_norm_rms_epsilon",
                                "gemma4.block_count", "gemma4.attention.head_count"}) {
    SCOPED_TRACE(key);
    TempDir dir;
    expect_load_error(load_written(e2b_writer({key}), dir, "e2b-missing.gguf"),
                      {"e2b-missing.gguf", "missing metadata key " + key});
  }
  TempDir dir;  // shared_kv_layers is optional (0): the same file then shares nothing
  const auto no_sharing = load_written(e2b_writer({"gemma4.attention.shared_kv_layers"}), dir, "e2b-unshared.gguf");
  ASSERT_TRUE(no_sharing.ok()) << no_sharing.error().what();
  for (const LayerSpec& l : no_sharing->layers) EXPECT_EQ(l.kv_source, l.index);
}

TEST(Gemma4Gguf, WrongPatternLengthOrTypeIsRefused) {
  TempDir dir;
  GgufWriter w = e2b_writer();
  set_bool_array(w, "gemma4.attention.sliding_window_pattern", std::vector<bool>(34, true));
  expect_load_error(load_written(w, dir, "short-pattern.gguf"),
                    {"short-pattern.gguf", "gemma4.attention.sliding_window_pattern", "34 entries", "35 layers"});

  GgufWriter period = e2b_writer();
  period.set_u32("gemma4.attention.sliding_window_pattern", 5);  // Gemma 3's period, not Gemma 4's bools
  expect_load_error(load_written(period, dir, "period.gguf"),
                    {"period.gguf", "gemma4.attention.sliding_window_pattern", "expected an array of bools"});

  GgufWriter ffn = e2b_writer();
  ffn.set_i32_array("gemma4.feed_forward_length", std::vector<int32_t>(7, 6144));
  expect_load_error(load_written(ffn, dir, "ffn.gguf"), {"ffn.gguf", "gemma4.feed_forward_length", "7 entries"});
}

TEST(Gemma4Gguf, ImpossibleSharingIsRefused) {
  TempDir dir;
  GgufWriter all = e2b_writer();
  all.set_u32("gemma4.attention.shared_kv_layers", 35);
  expect_load_error(load_written(all, dir, "all-shared.gguf"),
                    {"all-shared.gguf", "gemma4.attention.shared_kv_layers", "must be below"});

  // 19 shared layers: 16 layers own a cache and the last two are (14 global, 15 sliding), so
  // llama.cpp's reuse rule (sliding shared layers read layer n-2, global ones n-1) would
  // point shared layers at a cache of the other type; llama.cpp aborts on such a file.
  GgufWriter mixed = e2b_writer();
  mixed.set_u32("gemma4.attention.shared_kv_layers", 19);
  expect_load_error(load_written(mixed, dir, "mixed.gguf"),
                    {"mixed.gguf", "layer 16 (sliding)", "layer 14, which is global"});
}

TEST(Gemma4Gguf, BadHeadOrRopeShapesAreRefused) {
  TempDir dir;
  expect_load_error(load_written(e2b_writer({"", 128}), dir, "freqs.gguf"),
                    {"freqs.gguf", "rope_freqs.weight has 128 factors, expected 256"});
  GgufWriter kv = e2b_writer();
  kv.set_u32("gemma4.attention.value_length_swa", 128);
  expect_load_error(load_written(kv, dir, "kv.gguf"), {"kv.gguf", "key_length_swa == value_length_swa"});
}

// A copy of a card with one change, written next to the test's other files.
Result<ModelSpec> load_changed_card(const std::string& card, const TempDir& dir, const std::string& name,
                                    const std::function<void(nlohmann::json& text)>& change) {
  nlohmann::json json = testing::read_card(card);
  change(json["text_config"]);
  return load_model_spec(testing::write_json(dir, name, json));
}

TEST(Gemma4Config, BadConfigsAreRefusedWithTheFileName) {
  TempDir dir;
  expect_load_error(load_changed_card("gemma-4-e2b.json", dir, "types.json",
                                      [](nlohmann::json& t) { t["layer_types"].erase(0); }),
                    {"types.json", "\"layer_types\" has 34 entries", "35"});
  expect_load_error(load_changed_card("gemma-4-e2b.json", dir, "kind.json",
                                      [](nlohmann::json& t) { t["layer_types"][3] = "chunked_attention"; }),
                    {"kind.json", "chunked_attention"});
  expect_load_error(load_changed_card("gemma-4-e2b.json", dir, "shared.json",
                                      [](nlohmann::json& t) { t["num_kv_shared_layers"] = 35; }),
                    {"shared.json", "num_kv_shared_layers", "must be below"});
  expect_load_error(load_changed_card("gemma-4-26b-a4b.json", dir, "moe.json",
                                      [](nlohmann::json& t) { t.erase("num_experts"); }),
                    {"moe.json", "missing key \"num_experts\""});
  expect_load_error(load_changed_card("gemma-4-e2b.json", dir, "heads.json",
                                      [](nlohmann::json& t) { t.erase("num_attention_heads"); }),
                    {"heads.json", "missing key \"num_attention_heads\""});
  // Sharing the global layers with no earlier global layer to read.
  expect_load_error(load_changed_card("gemma-4-e2b.json", dir, "orphan.json",
                                      [](nlohmann::json& t) {
                                        t["num_hidden_layers"] = 4;
                                        t["layer_types"] = {"sliding_attention", "sliding_attention", "sliding_attention",
                                                            "full_attention"};
                                        t["num_kv_shared_layers"] = 1;
                                      }),
                    {"orphan.json", "layer 3 shares KV but no earlier non-shared global layer"});
}

TEST(Gemma4Config, DefaultsFollowTransformers) {
  TempDir dir;
  // No layer_types: 5 sliding then 1 full; no rope_parameters: 10k sliding, 1M proportional 25%.
  const auto spec = load_changed_card("gemma-4-e4b.json", dir, "defaults.json", [](nlohmann::json& t) {
    t.erase("layer_types");
    t.erase("rope_parameters");
    t["hidden_size_per_layer_input"] = nullptr;
  });
  ASSERT_TRUE(spec.ok()) << spec.error().what();
  EXPECT_EQ(spec->ple_width, 0);
  EXPECT_EQ(find(*spec, "per_layer_token_embd.weight"), nullptr);
  for (const LayerSpec& l : spec->layers) {
    SCOPED_TRACE("layer " + std::to_string(l.index));
    const bool sliding = sliding_in_pattern(l.index, 6);
    EXPECT_EQ(l.attention, sliding ? AttentionKind::Sliding : AttentionKind::Global);
    EXPECT_DOUBLE_EQ(l.rope.theta, sliding ? 10000.0 : 1000000.0);
    EXPECT_EQ(l.rope.rotary_dims, sliding ? 256 : 128);
  }
}

}  // namespace
}  // namespace archscope
