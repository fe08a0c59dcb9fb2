// Shared by the Vulkan op tests: small models built by code (random weights of any type,
// caches), and a check that runs one step graph on the CPU backend (the reference ops)
// and on the Vulkan backend and compares tensors after every step.
//
// Inputs come in the way a model's do: a GetRows from an f32 table turns the step's token
// ids into random activation rows.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "archscope/vulkan_device.h"
#include "reference/ops.h"
#include "runtime/backend.h"
#include "runtime/graph.h"
#include "runtime/vulkan_backend.h"

namespace archscope::testing {

inline std::vector<float> random_values(size_t n, uint32_t seed, float scale = 1.0f) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-scale, scale);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

inline const char* type_name(GgmlType type) { return ggml_type_info(type)->name; }

// Weights and caches of a test model; the weight bytes live as long as it does.
struct TestModel {
  ModelResources resources;
  std::deque<std::vector<uint8_t>> storage;

  // rows x cols (x experts) random values in [-scale, scale], stored as `type`.
  int add_weight(const std::string& name, GgmlType type, int64_t cols, int64_t rows, uint32_t seed, float scale = 1.0f,
                 int64_t experts = 1) {
    WeightDesc w;
    w.name = name;
    w.type = type;
    w.cols = cols;
    w.rows = rows;
    w.experts = experts;
    w.row_bytes = ggml_bytes(type, static_cast<uint64_t>(cols)).value();
    const std::vector<float> values = random_values(static_cast<size_t>(cols * rows * experts), seed, scale);
    std::vector<uint8_t>& bytes = storage.emplace_back(w.row_bytes * rows * experts);
    for (int64_t r = 0; r < rows * experts; ++r) {
      reference::quantize_row(type, values.data() + r * cols, bytes.data() + r * w.row_bytes, cols);
    }
    w.data = bytes.data();
    resources.weights.push_back(w);
    return static_cast<int>(resources.weights.size()) - 1;
  }

  int add_cache(GgmlType type, int64_t capacity, int kv_heads, int head_dim_k, int head_dim_v,
                bool k_equals_v = false) {
    CacheDesc c;
    c.layer = static_cast<int>(resources.caches.size());
    c.type = type;
    c.capacity = capacity;
    c.kv_heads = kv_heads;
    c.head_dim_k = head_dim_k;
    c.head_dim_v = head_dim_v;
    c.k_equals_v = k_equals_v;
    resources.caches.push_back(c);
    return static_cast<int>(resources.caches.size()) - 1;
  }
};

// Graph-building shorthands.
inline int add_op(Graph& g, Op op) {
  g.ops.push_back(op);
  return op.out;
}
inline Op make_op(OpKind kind, int out, int a = -1, int b = -1, int weight = -1) {
  Op op;
  op.kind = kind;
  op.out = out;
  op.a = a;
  op.b = b;
  op.weight = weight;
  return op;
}
// A per-token input of `cols` random values per token id, from an f32 table of `vocab` rows.
inline int add_input(Graph& g, TestModel& m, const std::string& name, int64_t cols, uint32_t seed, int64_t vocab = 64,
                     float scale = 1.0f, bool per_token = true) {
  const int table = m.add_weight(name + ".table", GgmlType::F32, cols, vocab, seed, scale);
  const int t = g.add_tensor(name, cols, per_token);
  add_op(g, make_op(OpKind::GetRows, t, -1, -1, table));
  return t;
}

struct Step {
  std::vector<int32_t> tokens;
  int32_t position = 0;
};

// Steps of one token each: positions first .. first + count - 1, token ids cycling.
inline std::vector<Step> decode_steps(int32_t first, int count, int vocab = 64) {
  std::vector<Step> steps;
  for (int i = 0; i < count; ++i) steps.push_back({{(first + i * 7) % vocab}, first + i});
  return steps;
}
// One step of `count` tokens at position `first`.
inline Step prefill_step(int32_t first, int count, int vocab = 64) {
  Step s{{}, first};
  for (int i = 0; i < count; ++i) s.tokens.push_back((first * 5 + i * 11) % vocab);
  return s;
}

// Largest error of got against want, each relative to |want| + rms(want), so that values
// near zero in a tensor of large ones are not held to a relative bound.
inline double scaled_error(const std::vector<float>& got, const std::vector<float>& want) {
  if (got.size() != want.size()) return INFINITY;
  double square = 0;
  for (float w : want) square += double(w) * w;
  const double rms = want.empty() ? 0 : std::sqrt(square / want.size());
  double worst = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    const double err = std::abs(double(got[i]) - want[i]) / (std::abs(double(want[i])) + rms + 1e-30);
    if (!std::isfinite(got[i])) return INFINITY;
    worst = std::max(worst, err);
  }
  return worst;
}

class VulkanOpTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (VulkanDevice::list().empty()) GTEST_SKIP() << "no Vulkan device on this machine";
  }

  // Runs `steps` on both backends and expects every tensor in `checked` to agree within
  // `tolerance` (scaled_error) after every step. Returns the largest error seen.
  double expect_agree(TestModel& m, const Graph& g, const std::vector<Step>& steps, const std::vector<int>& checked,
                      double tolerance, const VulkanBackendOptions& options = {}) {
    validate_graph(g, m.resources);
    std::unique_ptr<Backend> cpu = make_cpu_backend();
    std::unique_ptr<Backend> gpu = make_vulkan_backend("", options);
    cpu->load(m.resources);
    gpu->load(m.resources);
    cpu->prepare(g);
    gpu->prepare(g);
    double worst = 0;
    for (size_t s = 0; s < steps.size(); ++s) {
      cpu->run(g, steps[s].tokens, steps[s].position);
      gpu->run(g, steps[s].tokens, steps[s].position);
      for (int id : checked) {
        const std::vector<float> want = cpu->read(g, id), got = gpu->read(g, id);
        const double err = scaled_error(got, want);
        worst = std::max(worst, err);
        EXPECT_LE(err, tolerance) << "tensor " << g.tensors[id].name << " after step " << s << " ("
                                  << steps[s].tokens.size() << " tokens at position " << steps[s].position << ")";
        if (err > tolerance) return worst;  // one report per case is enough
      }
    }
    if (std::getenv("ARCHSCOPE_SHOW_ERRORS")) std::printf("    largest scaled error %.3g\n", worst);
    return worst;
  }
};

}  // namespace archscope::testing
