// DeepSeek V4's ops on the Vulkan backend against the reference, in prefill (several tokens)
// and decode (one token) steps: clamped SwiGLU, inverse RoPE, hash routing from an i32 id
// table, the mHC ops (Repeat, HyperWeights with Sinkhorn rounds or the identity, the head's
// pre-only weights, HyperCollapse, HyperExpand), GroupedMatMul (pieces straddling groups),
// CompressKv (HCA blocks, CSA overlapping blocks completed mid-step, the state ring wrapping),
// IndexerTopK (ties, entries not yet visible, fewer entries than top-k) and attention over a
// raw window plus compressed entries (all of them, or the indexer's selection, caches split
// over bindings).
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>

#include "archscope/error.h"
#include "vulkan/op_test_support.h"

namespace archscope::testing {
namespace {

using ::testing::HasSubstr;

constexpr double kTolerance = 2e-5;

// An i32 weight (an id table): rows x cols of the given values.
int add_i32_weight(TestModel& m, const std::string& name, int64_t cols, const std::vector<int32_t>& values) {
  WeightDesc w;
  w.name = name;
  w.type = GgmlType::I32;
  w.cols = cols;
  w.rows = static_cast<int64_t>(values.size()) / cols;
  w.row_bytes = uint64_t(cols) * sizeof(int32_t);
  std::vector<uint8_t>& bytes = m.storage.emplace_back(values.size() * sizeof(int32_t));
  std::memcpy(bytes.data(), values.data(), bytes.size());
  w.data = bytes.data();
  m.resources.weights.push_back(w);
  return static_cast<int>(m.resources.weights.size()) - 1;
}

// DeepSeek V4's caches: compressed entries (K = V rows of `width`, `ratio` positions each)
// and a compressor's f32 state ring of kv (keys) and score (values) rows.
int add_compressed_cache(TestModel& m, GgmlType type, int64_t capacity, int width, int ratio) {
  const int id = m.add_cache(type, capacity, 1, width, width, true);
  m.resources.caches[id].kind = CacheKind::Compressed;
  m.resources.caches[id].ratio = ratio;
  return id;
}
int add_state_cache(TestModel& m, int64_t capacity, int row_width) {
  const int id = m.add_cache(GgmlType::F32, capacity, 1, row_width, row_width);
  m.resources.caches[id].kind = CacheKind::State;
  return id;
}

// The compressed layers' RoPE: the last dims of each row, interleaved pairs, YaRN.
reference::RopeParams compressed_rope(int head_dim, int rotary_dims) {
  reference::RopeParams r;
  r.rotary_dims = rotary_dims;
  r.rotary_offset = head_dim - rotary_dims;
  r.neox = false;
  r.theta = 160000.0f;
  r.freq_scale = 0.25f;
  r.ext_factor = 1.0f;
  r.original_context = 256;
  return r;
}

// Steps that start, continue and cross compressed blocks: a prefill of 6 (a block of 4 ends
// mid-step), decode steps, a prefill longer than the state ring, more decode; then
// `decode` more single tokens (the ring wrapping many times).
std::vector<Step> block_steps(int max_tokens, int decode) {
  std::vector<Step> steps = {prefill_step(0, std::min(6, max_tokens))};
  int32_t position = steps.back().position + static_cast<int32_t>(steps.back().tokens.size());
  for (const Step& s : decode_steps(position, 3)) steps.push_back(s);
  position += 3;
  steps.push_back(prefill_step(position, max_tokens));
  position += max_tokens;
  for (const Step& s : decode_steps(position, 6)) steps.push_back(s);
  position += 6;
  steps.push_back(prefill_step(position, std::min(5, max_tokens)));
  position += std::min(5, max_tokens);
  for (const Step& s : decode_steps(position, decode)) steps.push_back(s);
  return steps;
}

TEST_F(VulkanOpTest, ClampedSwiGluMatchesReference) {
  TestModel m;
  Graph g;
  g.max_tokens = 6;
  const int n = 300;
  const int gate = add_input(g, m, "gate", n, 1, 64, 4.0f), up = add_input(g, m, "up", n, 2, 64, 4.0f);
  Op glu = make_op(OpKind::Glu, g.add_tensor("clamped", n), gate, up);
  glu.activation = Activation::Silu;
  glu.limit = 2.0f;  // about half of the values in [-4, 4] are clamped
  const int clamped = add_op(g, glu);
  glu.limit = 0.0f;  // and unclamped, in place
  glu.out = glu.a = g.add_tensor("plain", n);
  add_op(g, make_op(OpKind::Scale, glu.out, gate));
  g.ops.back().scalar = 1.0f;
  const int plain = add_op(g, glu);
  g.logits = add_op(g, make_op(OpKind::LastRow, g.add_tensor("last", n, false), clamped));
  expect_agree(m, g, {prefill_step(0, 6), prefill_step(6, 1)}, {clamped, plain}, kTolerance);
}

TEST_F(VulkanOpTest, InverseRopeMatchesReferenceAndTurnsBack) {
  for (bool yarn : {true, false}) {
    SCOPED_TRACE(yarn ? "yarn" : "plain");
    TestModel m;
    Graph g;
    g.max_tokens = 7;
    const int heads = 3, head_dim = 40;
    const int x = add_input(g, m, "x", heads * head_dim, 1);
    auto copy = [&](const std::string& name, int from) {
      Op c = make_op(OpKind::Scale, g.add_tensor(name, heads * head_dim), from);
      c.scalar = 1.0f;
      return add_op(g, c);
    };
    auto rope = [&](int t, bool inverse) {
      Op r = make_op(OpKind::Rope, t, t);
      r.heads = heads;
      r.head_dim = head_dim;
      r.rope = compressed_rope(head_dim, 16);
      if (!yarn) r.rope.freq_scale = 1.0f, r.rope.ext_factor = 0.0f;
      r.rope.inverse = inverse;
      add_op(g, r);
    };
    const int turned = copy("turned", x);
    rope(turned, false);
    const int back = copy("back", turned);
    rope(back, true);
    g.logits = add_op(g, make_op(OpKind::LastRow, g.add_tensor("last", heads * head_dim, false), back));
    expect_agree(m, g, {prefill_step(0, 7), prefill_step(1000, 1), prefill_step(70000, 3)}, {turned, back}, kTolerance);
    if (yarn) continue;  // YaRN scales the magnitude too (both ways, as ggml_rope_back)

    // Without YaRN's magnitude scale, rotating back restores the input.
    std::unique_ptr<Backend> gpu = make_vulkan_backend("");
    gpu->load(m.resources);
    gpu->prepare(g);
    gpu->run(g, prefill_step(5000, 7).tokens, 5000);
    EXPECT_LE(scaled_error(gpu->read(g, back), gpu->read(g, x)), 1e-5);
  }
}

TEST_F(VulkanOpTest, HashRoutingFromIdTableMatchesReference) {
  for (reference::RouterScoreFn score : {reference::RouterScoreFn::SqrtSoftplus, reference::RouterScoreFn::Softmax}) {
    SCOPED_TRACE("score " + std::to_string(int(score)));
    TestModel m;
    Graph g;
    g.max_tokens = 7;
    const int experts = 37, top_k = 3, vocab = 64;
    std::vector<int32_t> ids(vocab * top_k);
    for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int32_t>((i * 7 + i / top_k) % experts);
    const int table = add_i32_weight(m, "ffn_gate_tid2eid", top_k, ids);
    const int chosen = add_op(g, make_op(OpKind::GetRows, g.add_tensor("chosen", top_k), -1, -1, table));
    const int logits = add_input(g, m, "logits", experts, 3, vocab, 3.0f);
    Op route = make_op(OpKind::Route, g.add_tensor("route", 2 * top_k), logits, chosen);
    route.route = {score, experts, top_k, true, 1.5f, nullptr};
    const int r = add_op(g, route);
    g.logits = add_op(g, make_op(OpKind::LastRow, g.add_tensor("last", 2 * top_k, false), r));
    expect_agree(m, g, {prefill_step(0, 7), prefill_step(7, 1), prefill_step(8, 3)}, {chosen, r}, kTolerance);

    // The chosen experts come out as given (the table's row of each token).
    std::unique_ptr<Backend> gpu = make_vulkan_backend("");
    gpu->load(m.resources);
    gpu->prepare(g);
    const std::vector<int32_t> tokens = {5, 63, 0};
    gpu->run(g, tokens, 0);
    const std::vector<float> out = gpu->read(g, r);
    for (size_t t = 0; t < tokens.size(); ++t) {
      for (int j = 0; j < top_k; ++j) EXPECT_EQ(out[t * 2 * top_k + j], float(ids[tokens[t] * top_k + j]));
    }
  }
}

TEST_F(VulkanOpTest, HashRoutingRefusesIdsOutsideTheExperts) {
  TestModel m;
  Graph g;
  const int experts = 8, top_k = 2;
  std::vector<int32_t> ids(64 * top_k, 1);
  ids[77] = experts;  // one bad id
  const int table = add_i32_weight(m, "ffn_gate_tid2eid", top_k, ids);
  const int chosen = add_op(g, make_op(OpKind::GetRows, g.add_tensor("chosen", top_k), -1, -1, table));
  const int logits = add_input(g, m, "logits", experts, 3);
  Op route = make_op(OpKind::Route, g.add_tensor("route", 2 * top_k), logits, chosen);
  route.route = {reference::RouterScoreFn::Sigmoid, experts, top_k, true, 1.0f, nullptr};
  const int r = add_op(g, route);
  g.logits = add_op(g, make_op(OpKind::LastRow, g.add_tensor("last", 2 * top_k, false), r));
  // An id table is only gathered.
  Graph h;
  const int x = add_input(h, m, "x", top_k, 4);
  const int y = add_op(h, make_op(OpKind::MatMul, h.add_tensor("y", 64), x, -1, table));
  h.logits = add_op(h, make_op(OpKind::LastRow, h.add_tensor("last", 64, false), y));
  std::unique_ptr<Backend> gpu = make_vulkan_backend("");
  gpu->load(m.resources);
  try {
    gpu->prepare(g);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("takes expert 8 from ffn_gate_tid2eid, outside its 8 experts"));
  }
  try {
    gpu->prepare(h);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_THAT(e.what(), HasSubstr("i32 table ffn_gate_tid2eid"));
  }
}

TEST_F(VulkanOpTest, HyperConnectionsMatchReference) {
  TestModel m;
  Graph g;
  g.max_tokens = 5;
  const int n = 4, d = 48, mixes_count = (2 + n) * n;
  const int embedding = add_input(g, m, "embedding", d, 1);
  const int repeated = add_op(g, make_op(OpKind::Repeat, g.add_tensor("repeated", n * d), embedding));
  const int streams = add_input(g, m, "streams", n * d, 2);
  const int mixes = add_input(g, m, "mixes", mixes_count, 3, 64, 2.0f);
  const int base = m.add_weight("hc_base", GgmlType::F32, mixes_count, 1, 4);
  const int scale = m.add_weight("hc_scale", GgmlType::F16, 3, 1, 5, 2.0f);  // f16: a converted vector
  auto hyper_weights = [&](const std::string& name, int in, int b, int s, int iterations, bool per_token = true) {
    Op w = make_op(OpKind::HyperWeights, g.add_tensor(name, g.tensors[in].cols, per_token), in, -1, b);
    w.weight2 = s;
    w.heads = n;
    w.iterations = iterations;
    w.eps = 1e-6f;
    return add_op(g, w);
  };
  const int sinkhorn = hyper_weights("sinkhorn", mixes, base, scale, 20);
  const int one_round = hyper_weights("one_round", mixes, base, scale, 1);
  const int identity = hyper_weights("identity", mixes, base, scale, 0);
  const int collapsed = add_op(g, make_op(OpKind::HyperCollapse, g.add_tensor("collapsed", d), streams, sinkhorn));
  const int f = add_input(g, m, "site_out", d, 6);
  Op expand = make_op(OpKind::HyperExpand, g.add_tensor("expanded", n * d), f, sinkhorn);
  expand.c = streams;
  const int expanded = add_op(g, expand);
  // The head: the last token's streams collapsed by pre-only weights (single rows).
  const int last = add_op(g, make_op(OpKind::LastRow, g.add_tensor("last_streams", n * d, false), streams));
  const int head_in = add_input(g, m, "head_mixes_rows", n, 7, 64, 2.0f);
  const int head_mixes = add_op(g, make_op(OpKind::LastRow, g.add_tensor("head_mixes", n, false), head_in));
  const int pre = hyper_weights("head_pre", head_mixes, m.add_weight("head_base", GgmlType::F32, n, 1, 8),
                                m.add_weight("head_scale", GgmlType::F32, 1, 1, 9), 20, false);
  const int head = add_op(g, make_op(OpKind::HyperCollapse, g.add_tensor("head", d, false), last, pre));
  g.logits = head;
  expect_agree(m, g, {prefill_step(0, 5), prefill_step(5, 1), prefill_step(6, 3)},
               {repeated, sinkhorn, one_round, identity, collapsed, expanded, pre, head}, kTolerance);

  // Sinkhorn's mix is doubly stochastic: each source's row and each destination's column
  // sums to 1; no rounds give the identity.
  std::unique_ptr<Backend> gpu = make_vulkan_backend("");
  gpu->load(m.resources);
  gpu->prepare(g);
  gpu->run(g, prefill_step(0, 5).tokens, 0);
  const std::vector<float> w = gpu->read(g, sinkhorn), id = gpu->read(g, identity);
  for (int t = 0; t < 5; ++t) {
    const float* mix = w.data() + t * mixes_count + 2 * n;
    for (int k = 0; k < n; ++k) {
      float row = 0, col = 0;
      for (int l = 0; l < n; ++l) {
        row += mix[k * n + l];
        col += mix[l * n + k];
      }
      EXPECT_NEAR(row, 1.0f, 1e-3f) << "token " << t << " source " << k;
      EXPECT_NEAR(col, 1.0f, 1e-5f) << "token " << t << " destination " << k;
    }
    for (int k = 0; k < n * n; ++k) EXPECT_EQ(id[t * mixes_count + 2 * n + k], k / n == k % n ? 1.0f : 0.0f);
  }
}

TEST_F(VulkanOpTest, GroupedMatMulMatchesReference) {
  struct Case {
    GgmlType type;
    int groups, rows, cols, max_tokens;
    uint64_t binding;  // 0: the device's; small: weight pieces that straddle groups
    VulkanBackendOptions::PrefillMatMul prefill = VulkanBackendOptions::PrefillMatMul::Auto;
  };
  using Choice = VulkanBackendOptions::PrefillMatMul;
  for (const Case& c : {Case{GgmlType::F16, 2, 24, 40, 5, 0}, Case{GgmlType::Q8_0, 4, 16, 64, 20, 0, Choice::Tiled},
                        Case{GgmlType::Q8_0, 4, 16, 64, 20, 0, Choice::Rows}, Case{GgmlType::F32, 2, 20, 40, 3, 4096},
                        Case{GgmlType::F32, 2, 20, 40, 9, 4096, Choice::Tiled}}) {
    SCOPED_TRACE(std::string(type_name(c.type)) + " groups " + std::to_string(c.groups) + " tokens " +
                 std::to_string(c.max_tokens) + " binding " + std::to_string(c.binding));
    TestModel m;
    Graph g;
    g.max_tokens = c.max_tokens;
    const int a = add_input(g, m, "a", c.groups * c.cols, 1);
    Op op = make_op(OpKind::GroupedMatMul, g.add_tensor("grouped", c.groups * c.rows), a, -1,
                    m.add_weight("attn_output_a", c.type, c.cols, c.groups * c.rows, 2, 0.2f));
    op.group = c.groups;
    const int out = add_op(g, op);
    g.logits = add_op(g, make_op(OpKind::LastRow, g.add_tensor("last", c.groups * c.rows, false), out));
    VulkanBackendOptions options;
    options.max_binding_bytes = c.binding;
    options.prefill_matmul = c.prefill;
    expect_agree(m, g, {prefill_step(0, c.max_tokens), prefill_step(c.max_tokens, 1)}, {out}, kTolerance, options);
  }
}

// One DeepSeek V4 attention: raw window (K = V, ring) plus compressed entries from a
// compressor, optionally with the lightning indexer picking them.
struct CompressedAttention {
  int heads = 4, width = 32, rotary = 8, ratio = 4, window = 4, max_tokens = 12;
  bool csa = true;  // overlapping blocks and the indexer; else HCA
  int index_heads = 4, index_width = 16, top_k = 3;
  GgmlType entry_type = GgmlType::F16;
  int64_t entry_capacity = 48;
  TestModel m;
  Graph g;
  int entries_out = -1, selected = -1, attention = -1;

  // kv / score rows (random inputs) pooled into `entries` through `state`.
  void compressor(const std::string& prefix, int w, int entries, int state, uint32_t seed) {
    const int row = (csa ? 2 : 1) * w;
    const int kv = add_input(g, m, prefix + "_kv", row, seed),
              score = add_input(g, m, prefix + "_score", row, seed + 1, 64, 2.0f);
    Op c =
        make_op(OpKind::CompressKv, -1, kv, score, m.add_weight(prefix + "_ape", GgmlType::F32, row, ratio, seed + 2));
    c.weight2 = m.add_weight(prefix + "_norm", GgmlType::F32, w, 1, seed + 3);
    c.cache = state;
    c.cache2 = entries;
    c.ratio = ratio;
    c.eps = 1e-6f;
    c.rope = compressed_rope(w, rotary);
    add_op(g, c);
  }

  void build() {
    g.max_tokens = max_tokens;
    const int raw = m.add_cache(GgmlType::F16, window, 1, width, width, true);
    const int entries = add_compressed_cache(m, entry_type, entry_capacity, width, ratio);
    const int state = add_state_cache(m, (csa ? 2 : 1) * ratio, (csa ? 2 : 1) * width);
    compressor("attn_compressor", width, entries, state, 10);
    if (csa) {
      const int keys = add_compressed_cache(m, GgmlType::F32, entry_capacity, index_width, ratio);
      const int key_state = add_state_cache(m, 2 * ratio, 2 * index_width);
      compressor("indexer_compressor", index_width, keys, key_state, 20);
      const int q = add_input(g, m, "indexer_q", index_heads * index_width, 30);
      const int w = add_input(g, m, "indexer_weights", index_heads, 31);
      Op top = make_op(OpKind::IndexerTopK, g.add_tensor("selected", top_k), q, w);
      top.cache = keys;
      top.heads = index_heads;
      top.head_dim = index_width;
      selected = add_op(g, top);
    }
    const int kv = add_input(g, m, "kv", width, 40);
    Op store = make_op(OpKind::StoreKv, -1, kv);
    store.cache = raw;
    add_op(g, store);
    const int q = add_input(g, m, "q", heads * width, 41, 64, 2.0f);
    Op a = make_op(OpKind::Attention, g.add_tensor("attention", heads * width), q, selected,
                   m.add_weight("attn_sinks", GgmlType::F32, heads, 1, 42));
    a.cache = raw;
    a.cache2 = entries;
    a.attention.q_heads = heads;
    a.attention.kv_heads = 1;
    a.attention.head_dim_k = a.attention.head_dim_v = width;
    a.attention.scale = 1.0f / std::sqrt(static_cast<float>(width));
    a.attention.window = window;
    attention = add_op(g, a);
    g.logits = add_op(g, make_op(OpKind::LastRow, g.add_tensor("last", heads * width, false), attention));
  }

  std::vector<int> checked() const {
    return selected >= 0 ? std::vector<int>{selected, attention} : std::vector<int>{attention};
  }
};

TEST_F(VulkanOpTest, CompressedAttentionHcaMatchesReference) {
  for (GgmlType type : {GgmlType::F32, GgmlType::F16, GgmlType::Q8_0}) {
    for (int ratio : {4, 8}) {
      SCOPED_TRACE(std::string(type_name(type)) + " ratio " + std::to_string(ratio));
      CompressedAttention c;
      c.csa = false;
      c.ratio = ratio;
      c.entry_type = type;
      c.build();
      const std::vector<Step> steps = block_steps(c.max_tokens, 10);
      // q8_0 entries round each value to 1/127 of the row's largest; both backends round alike.
      expect_agree(c.m, c.g, steps, c.checked(), type == GgmlType::Q8_0 ? 1e-4 : kTolerance);
    }
  }
}

TEST_F(VulkanOpTest, CompressedAttentionCsaWithIndexerMatchesReference) {
  for (GgmlType type : {GgmlType::F32, GgmlType::F16}) {
    for (int top_k : {3, 64}) {  // fewer entries than top-k: -1 fills the rest
      SCOPED_TRACE(std::string(type_name(type)) + " top-k " + std::to_string(top_k));
      CompressedAttention c;
      c.entry_type = type;
      c.top_k = top_k;
      c.build();
      const std::vector<Step> steps = block_steps(c.max_tokens, 9);
      expect_agree(c.m, c.g, steps, c.checked(), kTolerance);
    }
  }
}

// Compressed caches in several bindings: attention walks every part (over all entries for
// HCA, over each token's selection for CSA).
TEST_F(VulkanOpTest, CompressedAttentionOverSplitCachesMatchesReference) {
  for (bool csa : {false, true}) {
    SCOPED_TRACE(csa ? "csa" : "hca");
    CompressedAttention c;
    c.csa = csa;
    c.heads = 2;
    c.max_tokens = 2;
    c.entry_type = GgmlType::F32;  // 128 bytes a slot: 31 slots per binding of 4 KiB
    c.entry_capacity = 80;
    c.top_k = 6;
    c.build();
    std::vector<Step> steps;
    for (int32_t p = 0; p < 150; p += 2) steps.push_back(prefill_step(p, 2));
    VulkanBackendOptions options;
    options.max_binding_bytes = 4096;
    expect_agree(c.m, c.g, steps, c.checked(), kTolerance, options);
  }
}

// The compressed entries and state rings live in the device's caches: clear_caches and
// truncate_caches forget them as the CPU backend does (an HCA ring keeps the rows of the
// block being filled, so truncating inside that block or at a block boundary continues
// exactly, and further back the step is refused), and memory() counts them.
TEST_F(VulkanOpTest, CompressedCachesTruncateClearAndCount) {
  CompressedAttention c;
  c.csa = false;
  c.build();
  validate_graph(c.g, c.m.resources);
  std::unique_ptr<Backend> cpu = make_cpu_backend(), gpu = make_vulkan_backend("");
  for (Backend* b : {cpu.get(), gpu.get()}) {
    b->load(c.m.resources);
    b->prepare(c.g);
  }
  auto run = [&](const Step& step) {
    for (Backend* b : {cpu.get(), gpu.get()}) b->run(c.g, step.tokens, step.position);
    EXPECT_LE(scaled_error(gpu->read(c.g, c.attention), cpu->read(c.g, c.attention)), kTolerance)
        << step.tokens.size() << " tokens at position " << step.position;
  };
  run(prefill_step(0, 12));
  run(prefill_step(12, 10));  // up to position 21: entries at 3, 7, ..., 19; the ring holds 18..21
  for (Backend* b : {cpu.get(), gpu.get()}) b->truncate_caches(21);  // inside the block [20, 24)
  run(prefill_step(21, 5));
  for (Backend* b : {cpu.get(), gpu.get()}) b->truncate_caches(12);  // a block boundary: entries 15, 19 go
  run(prefill_step(12, 3));
  run(prefill_step(15, 1));
  // Inside a block whose first rows the ring has dropped: both backends refuse the step.
  for (Backend* b : {cpu.get(), gpu.get()}) {
    b->truncate_caches(10);
    try {
      b->run(c.g, prefill_step(10, 2).tokens, 10);
      ADD_FAILURE() << b->name() << ": no error";
    } catch (const Error& e) {
      EXPECT_THAT(e.what(), HasSubstr("lost position 8")) << b->name();
    }
  }
  for (Backend* b : {cpu.get(), gpu.get()}) b->clear_caches();
  run(prefill_step(0, 9));
  run(prefill_step(9, 1));

  uint64_t bytes = 0;
  for (const CacheDesc& d : c.m.resources.caches) {
    bytes += uint64_t(d.capacity) *
             (ggml_bytes(d.type, uint64_t(d.kv_heads) * d.head_dim_k).value() +
              (d.k_equals_v ? 0 : ggml_bytes(d.type, uint64_t(d.kv_heads) * d.head_dim_v).value()) + sizeof(int32_t));
  }
  EXPECT_EQ(cpu->memory().caches, bytes);
  EXPECT_GE(gpu->memory().caches, bytes);
}

// The indexer alone over keys stored directly: keys repeat (a few distinct rows), so equal
// scores tie and go to the lower id, also when the ties at the threshold span many more
// entries than a work group takes at once; keys of later tokens in the same step are not
// candidates; early rows have fewer candidates than top-k.
TEST_F(VulkanOpTest, IndexerTopKTiesAndVisibilityMatchReference) {
  struct Case {
    int distinct, top_k, max_tokens, steps;
  };
  for (const Case& c : {Case{4, 6, 9, 2}, Case{4, 100, 64, 10}, Case{16, 300, 64, 10}, Case{64, 1024, 64, 3}}) {
    SCOPED_TRACE(std::to_string(c.distinct) + " distinct keys, top-k " + std::to_string(c.top_k));
    TestModel m;
    Graph g;
    g.max_tokens = c.max_tokens;
    const int heads = 5, dim = 40, vocab = 64;
    const std::vector<float> distinct = random_values(size_t(c.distinct) * dim, 1);
    std::vector<float> rows(vocab * dim);
    for (int r = 0; r < vocab; ++r) std::copy_n(distinct.begin() + (r % c.distinct) * dim, dim, rows.begin() + r * dim);
    WeightDesc table;
    table.name = "keys.table";
    table.cols = dim;
    table.rows = vocab;
    table.row_bytes = dim * sizeof(float);
    std::vector<uint8_t>& bytes = m.storage.emplace_back(rows.size() * sizeof(float));
    std::memcpy(bytes.data(), rows.data(), bytes.size());
    table.data = bytes.data();
    m.resources.weights.push_back(table);
    const int keys = g.add_tensor("keys", dim);
    add_op(g, make_op(OpKind::GetRows, keys, -1, -1, static_cast<int>(m.resources.weights.size()) - 1));
    const int cache = add_compressed_cache(m, GgmlType::F16, 1024, dim, 1);
    Op store = make_op(OpKind::StoreKv, -1, keys);
    store.cache = cache;
    add_op(g, store);
    const int q = add_input(g, m, "q", heads * dim, 2);
    const int w = add_input(g, m, "w", heads, 3);
    Op top = make_op(OpKind::IndexerTopK, g.add_tensor("selected", c.top_k), q, w);
    top.cache = cache;
    top.heads = heads;
    top.head_dim = dim;
    const int selected = add_op(g, top);
    g.logits = add_op(g, make_op(OpKind::LastRow, g.add_tensor("last", c.top_k, false), selected));
    std::vector<Step> steps;
    int32_t position = 0;
    for (int i = 0; i < c.steps; ++i) {
      steps.push_back(prefill_step(position, c.max_tokens));
      steps.push_back(prefill_step(position + c.max_tokens, 1));
      position += c.max_tokens + 1;
    }
    expect_agree(m, g, steps, {selected}, 0.0);
  }
}

}  // namespace
}  // namespace archscope::testing
