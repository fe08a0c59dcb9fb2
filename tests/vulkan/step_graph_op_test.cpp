// Whole step graphs on the Vulkan backend: a small two-layer transformer recorded once and
// replayed for every decode step, prefill and decode sharing caches, cache truncation, the
// staged (discrete-GPU) memory path, a real-size embedding split over bindings, memory and
// timing reports, and the errors a caller can cause.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cmath>

#include "archscope/error.h"
#include "vulkan/buffer_arena.h"
#include "vulkan/op_test_support.h"

namespace archscope::testing {
namespace {

using ::testing::HasSubstr;

std::string error_of(auto&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// Two layers, every weight type, GQA, a full cache and a windowed ring cache with sinks,
// per-head q norm, rope, SwiGLU MLP, tied-style f16 head with softcap.
constexpr int kVocab = 50, kDim = 256, kHeads = 4, kKvHeads = 2, kHeadDim = 64, kFfn = 512;

struct TinyTransformer {
  TestModel m;
  int embedding = -1, output_norm = -1, output = -1;
  struct Layer {
    int attn_norm, q_norm, wq, wk, wv, wo, ffn_norm, gate, up, down, sinks, cache;
  };
  std::vector<Layer> layers;

  TinyTransformer() {
    embedding = m.add_weight("token_embd", GgmlType::F16, kDim, kVocab, 1);
    uint32_t seed = 10;
    for (int l = 0; l < 2; ++l) {
      const std::string p = "blk." + std::to_string(l) + ".";
      const float s = 1.0f / 16;  // keeps activations O(1) through the layers
      Layer y;
      y.attn_norm = m.add_weight(p + "attn_norm", GgmlType::F32, kDim, 1, seed++);
      y.q_norm = m.add_weight(p + "attn_q_norm", GgmlType::F32, kHeadDim, 1, seed++);
      y.wq = m.add_weight(p + "attn_q", GgmlType::Q4_K, kDim, kHeads * kHeadDim, seed++, s);
      y.wk = m.add_weight(p + "attn_k", GgmlType::Q5_K, kDim, kKvHeads * kHeadDim, seed++, s);
      y.wv = m.add_weight(p + "attn_v", GgmlType::Q6_K, kDim, kKvHeads * kHeadDim, seed++, s);
      y.wo = m.add_weight(p + "attn_output", GgmlType::Q8_0, kHeads * kHeadDim, kDim, seed++, s);
      y.ffn_norm = m.add_weight(p + "ffn_norm", GgmlType::F32, kDim, 1, seed++);
      y.gate = m.add_weight(p + "ffn_gate", GgmlType::Q4_0, kDim, kFfn, seed++, s);
      y.up = m.add_weight(p + "ffn_up", GgmlType::BF16, kDim, kFfn, seed++, s);
      y.down = m.add_weight(p + "ffn_down", GgmlType::F16, kFfn, kDim, seed++, s);
      y.sinks = l == 1 ? m.add_weight(p + "attn_sinks", GgmlType::F32, kHeads, 1, seed++) : -1;
      // Layer 0 keeps everything (f16), layer 1 a sliding window of 8 in a ring (q8_0).
      y.cache = l == 0 ? m.add_cache(GgmlType::F16, 64, kKvHeads, kHeadDim, kHeadDim)
                       : m.add_cache(GgmlType::Q8_0, 8, kKvHeads, kHeadDim, kHeadDim);
      layers.push_back(y);
    }
    output_norm = m.add_weight("output_norm", GgmlType::F32, kDim, 1, seed++);
    output = m.add_weight("output", GgmlType::F16, kDim, kVocab, seed++);
  }

  // The step graph for up to max_tokens tokens; `watch` gets a few intermediate tensors.
  Graph build(int max_tokens, std::vector<int>* watch = nullptr) const {
    Graph g;
    g.max_tokens = max_tokens;
    auto op = [&](OpKind kind, const std::string& name, int64_t cols, int a, int b = -1, int w = -1, int layer = -1,
                  bool per_token = true) {
      Op o = make_op(kind, g.add_tensor(name, cols, per_token), a, b, w);
      o.layer = layer;
      g.ops.push_back(o);
      return o.out;
    };
    auto norm = [&](const std::string& name, int x, int w, int layer, int group = 0) {
      const int out = op(OpKind::RmsNorm, name, g.tensors[x].cols, x, -1, w, layer, g.tensors[x].per_token);
      g.ops.back().eps = 1e-6f;
      g.ops.back().group = group;
      return out;
    };
    int x = op(OpKind::GetRows, "embd", kDim, -1, -1, embedding);
    for (int l = 0; l < 2; ++l) {
      const Layer& y = layers[l];
      const std::string p = "blk." + std::to_string(l) + ".";
      const int h = norm(p + "attn_norm", x, y.attn_norm, l);
      int q = op(OpKind::MatMul, p + "q", kHeads * kHeadDim, h, -1, y.wq, l);
      q = norm(p + "q_norm", q, y.q_norm, l, kHeadDim);
      const int k = op(OpKind::MatMul, p + "k", kKvHeads * kHeadDim, h, -1, y.wk, l);
      const int v = op(OpKind::MatMul, p + "v", kKvHeads * kHeadDim, h, -1, y.wv, l);
      for (int t : {q, k}) {
        Op rope = make_op(OpKind::Rope, t, t);
        rope.layer = l;
        rope.heads = t == q ? kHeads : kKvHeads;
        rope.head_dim = kHeadDim;
        rope.rope.rotary_dims = kHeadDim;
        g.ops.push_back(rope);
      }
      Op store = make_op(OpKind::StoreKv, -1, k, v);
      store.cache = y.cache;
      store.layer = l;
      g.ops.push_back(store);
      const int attn = op(OpKind::Attention, p + "attn", kHeads * kHeadDim, q, -1, y.sinks, l);
      g.ops.back().cache = y.cache;
      g.ops.back().attention = {kHeads, kKvHeads, kHeadDim, kHeadDim, 0.125f, 0.0f, l == 1 ? 8 : 0, nullptr};
      const int o = op(OpKind::MatMul, p + "attn_out", kDim, attn, -1, y.wo, l);
      x = op(OpKind::Add, p + "resid1", kDim, x, o, -1, l);
      const int f = norm(p + "ffn_norm", x, y.ffn_norm, l);
      const int gate = op(OpKind::MatMul, p + "gate", kFfn, f, -1, y.gate, l);
      const int up = op(OpKind::MatMul, p + "up", kFfn, f, -1, y.up, l);
      const int act = op(OpKind::Glu, p + "glu", kFfn, gate, up, -1, l);
      const int down = op(OpKind::MatMul, p + "down", kDim, act, -1, y.down, l);
      x = op(OpKind::Add, p + "resid2", kDim, x, down, -1, l);
      if (watch) watch->insert(watch->end(), {attn, x});
    }
    const int last = op(OpKind::LastRow, "last", kDim, x, -1, -1, -1, false);
    const int normed = norm("output_norm", last, output_norm, -1);
    const int logits = op(OpKind::MatMul, "logits", kVocab, normed, -1, output, -1, false);
    Op cap = make_op(OpKind::Softcap, logits, logits);
    cap.scalar = 30.0f;
    g.ops.push_back(cap);
    g.logits = logits;
    if (watch) watch->push_back(logits);
    return g;
  }
};

constexpr double kTolerance = 1e-4;  // through two layers of quantized weights

// The decode graph is recorded once and replayed for positions 0 .. 29; every step's
// logits and hidden states match the reference (the ring cache of layer 1 wraps 3 times).
TEST_F(VulkanOpTest, ReplayedDecodeStepsMatchReference) {
  TinyTransformer model;
  std::vector<int> watch;
  const Graph decode = model.build(1, &watch);
  expect_agree(model.m, decode, decode_steps(0, 30, kVocab), watch, kTolerance);
}

void compare(Backend& cpu, Backend& gpu, const Graph& g, const std::vector<int>& tensors, const std::string& what) {
  for (int id : tensors) {
    EXPECT_LE(scaled_error(gpu.read(g, id), cpu.read(g, id)), kTolerance) << g.tensors[id].name << " " << what;
  }
}

// As a session runs: a prefill graph fills the caches, the decode graph continues from
// there; then the conversation is cut back (truncate) and regenerated, and cleared.
TEST_F(VulkanOpTest, PrefillDecodeTruncateAndClearMatchReference) {
  TinyTransformer model;
  std::vector<int> watch_prefill, watch_decode;
  const Graph prefill = model.build(8, &watch_prefill), decode = model.build(1, &watch_decode);
  for (bool staged : {false, true}) {
    SCOPED_TRACE(staged ? "staged memory" : "mapped memory");
    VulkanBackendOptions options;
    options.staged = staged;
    std::unique_ptr<Backend> cpu = make_cpu_backend(), gpu = make_vulkan_backend("", options);
    for (Backend* b : {cpu.get(), gpu.get()}) {
      b->load(model.m.resources);
      b->prepare(prefill);
      b->prepare(decode);
    }
    auto both = [&](const Graph& g, const Step& s, const std::vector<int>& watch, const std::string& what) {
      cpu->run(g, s.tokens, s.position);
      gpu->run(g, s.tokens, s.position);
      compare(*cpu, *gpu, g, watch, what);
    };
    both(prefill, prefill_step(0, 8, kVocab), watch_prefill, "prefill 0..7");
    both(prefill, prefill_step(8, 5, kVocab), watch_prefill, "prefill 8..12");
    for (const Step& s : decode_steps(13, 6, kVocab)) both(decode, s, watch_decode, "decode");
    for (Backend* b : {cpu.get(), gpu.get()}) b->truncate_caches(10);  // regenerate from position 10
    for (const Step& s : decode_steps(10, 4, kVocab))
      both(decode, {{(s.tokens[0] + 3) % kVocab}, s.position}, watch_decode, "after truncate");
    for (Backend* b : {cpu.get(), gpu.get()}) b->clear_caches();
    both(prefill, prefill_step(0, 3, kVocab), watch_prefill, "after clear");
  }
}

// A graph changed after prepare() at the same address is recognised and recorded anew;
// run() prepares a graph it has not seen.
TEST_F(VulkanOpTest, ChangedGraphIsRecordedAnew) {
  TinyTransformer model;
  Graph g = model.build(1);
  std::unique_ptr<Backend> cpu = make_cpu_backend(), gpu = make_vulkan_backend("");
  cpu->load(model.m.resources);
  gpu->load(model.m.resources);
  cpu->prepare(g);
  gpu->run(g, std::vector<int32_t>{3}, 0);  // not prepared: prepared on first run
  cpu->run(g, std::vector<int32_t>{3}, 0);
  compare(*cpu, *gpu, g, {g.logits}, "first run");
  g = model.build(4);  // same address, different graph
  cpu->prepare(g);
  gpu->run(g, std::vector<int32_t>{4, 5, 6}, 1);
  cpu->run(g, std::vector<int32_t>{4, 5, 6}, 1);
  compare(*cpu, *gpu, g, {g.logits}, "rebuilt graph");
}

TEST_F(VulkanOpTest, ReportsMemoryAndLayerTimings) {
  TinyTransformer model;
  const Graph decode = model.build(1);
  std::unique_ptr<Backend> gpu = make_vulkan_backend("");
  EXPECT_THAT(gpu->name(), HasSubstr("vulkan: "));
  gpu->load(model.m.resources);
  gpu->prepare(decode);
  gpu->run(decode, std::vector<int32_t>{1}, 0);
  const Backend::Memory memory = gpu->memory();
  uint64_t weight_bytes = 0;
  for (const WeightDesc& w : model.m.resources.weights) weight_bytes += w.bytes();
  EXPECT_GE(memory.weights, weight_bytes);
  EXPECT_LT(memory.weights, weight_bytes + 64 * 1024);  // alignment padding only
  EXPECT_GE(memory.caches, uint64_t(64 * kKvHeads * kHeadDim * 2 * 2 + 8 * 2 * 68 * 2));
  EXPECT_GT(memory.scratch, 0u);

  const std::vector<LayerTiming> timings = gpu->timings();
  if (!VulkanDevice::open().info().timestamps) {
    EXPECT_TRUE(timings.empty());
    return;
  }
  ASSERT_EQ(timings.size(), 3u);  // the embedding and head (-1), layers 0 and 1
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(timings[i].layer, i - 1);
    EXPECT_GE(timings[i].milliseconds, 0.0);
    EXPECT_LT(timings[i].milliseconds, 10'000.0);
  }
}

TEST_F(VulkanOpTest, MisuseGivesClearErrors) {
  TinyTransformer model;
  const Graph decode = model.build(1), prefill = model.build(4);
  std::unique_ptr<Backend> gpu = make_vulkan_backend("");
  EXPECT_THAT(error_of([&] { gpu->prepare(decode); }), HasSubstr("before load"));
  gpu->load(model.m.resources);
  gpu->prepare(decode);
  EXPECT_THAT(error_of([&] { gpu->read(decode, decode.logits); }), HasSubstr("has not run"));
  EXPECT_THAT(error_of([&] { gpu->run(decode, std::vector<int32_t>{kVocab}, 0); }), HasSubstr("vocabulary"));
  EXPECT_THAT(error_of([&] { gpu->run(decode, std::vector<int32_t>{-1}, 0); }), HasSubstr("vocabulary"));
  EXPECT_THAT(error_of([&] { gpu->run(decode, std::vector<int32_t>{1, 2}, 0); }), HasSubstr("at most 1"));
  EXPECT_THAT(error_of([&] { gpu->run(prefill, std::vector<int32_t>{}, 0); }), HasSubstr("0 tokens"));
  EXPECT_THAT(error_of([&] { gpu->run(decode, std::vector<int32_t>{1}, -5); }), HasSubstr("position"));
  EXPECT_THAT(error_of([&] { make_vulkan_backend("no such device 123"); }), HasSubstr("not found"));

  TestModel unsupported;
  unsupported.add_weight("w", GgmlType::F32, 32, 2, 1);
  unsupported.resources.weights[0].type = GgmlType::Q8_1;
  EXPECT_THAT(error_of([&] { gpu->load(unsupported.resources); }), HasSubstr("q8_1"));
  TestModel odd_cache;
  odd_cache.add_cache(GgmlType::Q8_0, 16, 1, 48, 48);
  EXPECT_THAT(error_of([&] { gpu->load(odd_cache.resources); }), HasSubstr("multiples of 32"));
}

// Slices go first-fit into blocks of at most the limit, each at an aligned offset; the
// blocks are as big as what they hold.
TEST_F(VulkanOpTest, BufferArenaPlacesSlicesInBlocks) {
  vulkan::BufferArena arena(1000, 64);
  const auto a = arena.reserve(600), b = arena.reserve(300), c = arena.reserve(500), d = arena.reserve(100);
  EXPECT_EQ(a.block, 0u);
  EXPECT_EQ(a.offset, 0u);
  EXPECT_EQ(b.block, 0u);
  EXPECT_EQ(b.offset, 640u);  // 600 rounded up to 64
  EXPECT_EQ(c.block, 1u);     // 1280 + 500 > 1000: a new block
  EXPECT_EQ(d.block, 1u);
  EXPECT_EQ(d.offset, 512u);
  EXPECT_EQ(arena.block_count(), 2u);
  EXPECT_EQ(arena.bytes(), 940u + 612u);
  EXPECT_THAT(error_of([&] { arena.reserve(1001); }), HasSubstr("split"));
  VulkanDevice gpu = VulkanDevice::open();
  arena.allocate(gpu, HostAccess::Auto);
  EXPECT_EQ(arena.block(c).size(), 612u);
  EXPECT_EQ(arena.range(d).offset, 512u);
  EXPECT_THAT(error_of([&] { arena.reserve(8); }), HasSubstr("after allocate"));
}

// A Gemma-size embedding table, 262144 x 1536 f16 = 805 MB, is more than lavapipe's
// 128 MiB binding: it is stored in pieces, and rows from every piece are looked up and
// multiplied (as a tied output head) correctly.
TEST_F(VulkanOpTest, RealSizeEmbeddingIsSplitOverBindings) {
  constexpr int64_t kRows = 262144, kCols = 1536;
  TestModel m;
  WeightDesc table;
  table.name = "token_embd";
  table.type = GgmlType::F16;
  table.cols = kCols;
  table.rows = kRows;
  table.row_bytes = kCols * 2;
  std::vector<uint8_t>& bytes = m.storage.emplace_back(table.bytes());
  uint16_t* halves = reinterpret_cast<uint16_t*>(bytes.data());
  uint32_t state = 12345;
  for (uint64_t i = 0; i < uint64_t(kRows) * kCols; ++i) {
    state = state * 1664525u + 1013904223u;
    halves[i] = static_cast<uint16_t>(((state >> 16) & 0x8000) | ((state >> 8) % 0x3C00));  // |x| < 1
  }
  table.data = bytes.data();
  m.resources.weights.push_back(table);

  Graph g;
  g.max_tokens = 4;
  const int rows = add_op(g, make_op(OpKind::GetRows, g.add_tensor("rows", kCols), -1, -1, 0));
  const int last = add_op(g, make_op(OpKind::LastRow, g.add_tensor("last", kCols, false), rows));
  const int logits = add_op(g, make_op(OpKind::MatMul, g.add_tensor("logits", kRows, false), last, -1, 0));
  g.logits = logits;
  expect_agree(m, g, {{{0, 43690, 131072, 262143}, 0}}, {rows, logits}, 2e-5);
}

}  // namespace
}  // namespace archscope::testing
