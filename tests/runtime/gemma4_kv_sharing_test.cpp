// KV sharing, proved by behaviour: in the tiny Gemma 4 (layers 5-9 read the caches of
// layers 3 and 4), perturbing a cache just before a shared layer's attention runs changes
// that layer's attention output exactly when the cache is its producer's. Perturbing it
// at that moment leaves the layer's queries untouched, so only the cache it reads counts.
#include <gtest/gtest.h>

#include <cstring>

#include "archscope/cache_plan.h"
#include "archscope/gguf.h"
#include "archscope/model_loader.h"
#include "archscope/model_writer.h"
#include "formats/format_fixtures.h"
#include "runtime/backend.h"
#include "runtime/model_weights.h"
#include "runtime/programs/program.h"

namespace archscope {
namespace {

const std::vector<int32_t> kPrompt = {17, 250, 3, 99, 400, 12, 77, 8, 301, 45};

struct Harness {
  ModelSpec spec;
  GgufFile file;
  std::unique_ptr<ModelWeights> weights;
  ModelResources resources;
  std::vector<int> cache_of_layer;
  Graph prefill, decode;
  std::vector<int> probe;           // per layer: a copy of its attention output
  std::vector<size_t> attention_op; // per layer: index of its Attention op in `decode`
  std::unique_ptr<Backend> cpu;

  explicit Harness(const std::string& path) {
    Result<ModelSpec> loaded = load_model_spec(path);
    if (!loaded) throw loaded.error();
    spec = loaded.value();
    file = GgufFile::open(path);
    weights = std::make_unique<ModelWeights>(file, spec);
    resources.weights = weights->all();
    // One f32 cache per owning layer, as the session makes them.
    const CachePlan plan = plan_cache(spec, 64, GgmlType::F32, kPrompt.size());
    cache_of_layer.assign(spec.layers.size(), -1);
    for (const LayerSpec& l : spec.layers) {
      if (!l.owns_cache()) {
        cache_of_layer[l.index] = cache_of_layer[l.kv_source];
        continue;
      }
      cache_of_layer[l.index] = static_cast<int>(resources.caches.size());
      resources.caches.push_back({l.index, GgmlType::F32, static_cast<int64_t>(plan.layers[l.index].positions),
                                  l.kv_heads, l.head_dim_k, l.head_dim_v, false});
    }
    prefill = build_step_graph({spec, *weights, cache_of_layer, static_cast<int>(kPrompt.size())});
    decode = build_step_graph({spec, *weights, cache_of_layer, 1});
    // After each layer's Attention op, copy its output into a tensor of its own that no
    // later op overwrites (SliceCols over the whole row is a copy).
    probe.assign(spec.layers.size(), -1);
    attention_op.assign(spec.layers.size(), 0);
    for (size_t i = 0; i < decode.ops.size(); ++i) {
      const Op op = decode.ops[i];
      if (op.kind != OpKind::Attention) continue;
      Op copy;
      copy.kind = OpKind::SliceCols;
      copy.layer = op.layer;
      copy.a = op.out;
      copy.out = probe[op.layer] = decode.add_tensor("probe." + std::to_string(op.layer), decode.tensors[op.out].cols);
      attention_op[op.layer] = i;
      decode.ops.insert(decode.ops.begin() + static_cast<std::ptrdiff_t>(i) + 1, copy);
    }
    validate_graph(prefill, resources);
    validate_graph(decode, resources);
    cpu = make_cpu_backend();
    cpu->load(resources);
    cpu->prepare(prefill);
    cpu->prepare(decode);
  }

  // Prefills the prompt, then decodes one token; just before op `at` of the decode step
  // every key and value of cache `perturbed` is negated (-1: nothing). Returns each layer's
  // attention output of the decode step.
  std::vector<std::vector<float>> run(int perturbed, size_t at) {
    cpu->clear_caches();
    set_cpu_before_op(*cpu, nullptr);
    cpu->run(prefill, kPrompt, 0);
    set_cpu_before_op(*cpu, [&](size_t op) {
      if (perturbed < 0 || op != at) return;
      for (bool values : {false, true}) {
        std::span<uint8_t> rows = cpu_cache_rows(*cpu, perturbed, values);
        for (size_t b = 0; b + 4 <= rows.size(); b += 4) {
          float f;
          std::memcpy(&f, rows.data() + b, 4);
          f = -f + 0.25f;
          std::memcpy(rows.data() + b, &f, 4);
        }
      }
    });
    const int32_t next = 33;
    cpu->run(decode, std::span(&next, 1), static_cast<int32_t>(kPrompt.size()));
    set_cpu_before_op(*cpu, nullptr);
    std::vector<std::vector<float>> out;
    for (int t : probe) out.push_back(cpu->read(decode, t));
    return out;
  }
};

TEST(Gemma4KvSharing, SharedLayersReadExactlyTheirProducersCache) {
  testing::TempDir dir;
  const std::string path = dir.file("gemma4.gguf");
  write_tiny_model({"gemma4", "tiny", GgmlType::F32, 1}, path);
  Harness h(path);
  const ModelSpec& spec = h.spec;
  // llama.cpp's layer_reuse_cb: shared sliding layers read layer 3, the shared global one layer 4.
  for (int il = 5; il < 10; ++il) {
    EXPECT_FALSE(spec.layers[il].owns_cache());
    EXPECT_EQ(spec.layers[il].kv_source, spec.layers[il].attention == AttentionKind::Sliding ? 3 : 4) << "layer " << il;
  }
  const std::vector<std::vector<float>> baseline = h.run(-1, 0);
  ASSERT_EQ(baseline, h.run(-1, 0)) << "the run is not reproducible";

  int checked = 0;
  for (const LayerSpec& consumer : spec.layers) {
    if (consumer.owns_cache()) continue;
    for (size_t cache = 0; cache < h.resources.caches.size(); ++cache) {
      const int owner = h.resources.caches[cache].layer;
      const std::vector<std::vector<float>> got = h.run(static_cast<int>(cache), h.attention_op[consumer.index]);
      const bool changed = got[consumer.index] != baseline[consumer.index];
      EXPECT_EQ(changed, owner == consumer.kv_source)
          << "layer " << consumer.index << " (reads layer " << consumer.kv_source << ") with the cache of layer "
          << owner << " perturbed";
      // Layers before the consumer ran before the perturbation: untouched.
      for (int before = 0; before < consumer.index; ++before) EXPECT_EQ(got[before], baseline[before]);
      ++checked;
    }
  }
  EXPECT_EQ(checked, 5 * 5);  // 5 shared layers x 5 owned caches
}

}  // namespace
}  // namespace archscope
