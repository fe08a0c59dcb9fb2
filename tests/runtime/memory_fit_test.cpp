// Fitting a model into memory before anything is uploaded: table placement when memory is
// short, and refusals that name both figures and what would fit.
#include <gtest/gtest.h>

#include "archscope/model_writer.h"
#include "runtime/memory_fit.h"
#include "runtime/model_weights.h"
#include "runtime/programs/program.h"
#include "archscope/model_loader.h"
#include "formats/format_fixtures.h"

namespace archscope {
namespace {

struct Fixture {
  testing::TempDir dir;
  GgufFile file;
  ModelSpec spec;
  std::unique_ptr<ModelWeights> weights;
  ModelResources resources;
  Graph decode, prefill;

  explicit Fixture(const std::string& arch, const std::string& preset = "tiny") {
    const std::string path = dir.file("m.gguf");
    write_tiny_model({arch, preset, "F16"}, path);
    Result<ModelSpec> s = load_model_spec(path);
    spec = *s;
    file = GgufFile::open(path);
    weights = std::make_unique<ModelWeights>(file, spec);
    resources.weights = weights->all();
    // A cache per layer, as the CachePlan sizes them for 512 tokens.
    const CachePlan plan = plan_cache(spec, 512, GgmlType::F16);
    for (const LayerSpec& l : spec.layers) {
      if (!l.owns_cache()) continue;
      CacheDesc c;
      c.layer = l.index;
      c.capacity = int64_t(plan.layers[l.index].positions);
      c.kv_heads = l.kv_heads;
      c.head_dim_k = l.head_dim_k;
      c.head_dim_v = l.head_dim_v;
      resources.caches.push_back(c);
    }
  }
  std::vector<const Graph*> graphs() const { return {}; }
  uint64_t total(const MemoryCapacity& c) const { return memory_need(resources, graphs(), c).total(); }
};

MemoryChoices choices(const Fixture& f) { return {"m.gguf", &f.spec, 512, 1, GgmlType::F16}; }

TEST(MemoryFit, AutoTablesStayOnTheDeviceWhenEverythingFits) {
  Fixture f("gemma4");
  const MemoryCapacity big{"a big GPU", uint64_t{1} << 40, true};
  EXPECT_EQ(fit_memory(f.resources, f.graphs(), big, choices(f)), "");
  for (const WeightDesc& w : f.resources.weights) EXPECT_NE(w.placement, TablePlacement::Auto) << w.name;
  EXPECT_EQ(memory_need(f.resources, f.graphs(), big).host_tables, 0u);
}

TEST(MemoryFit, PerLayerTableMovesToHostMemoryToFit) {
  Fixture f("gemma4");
  const MemoryCapacity probe{"probe", 1, true};
  const uint64_t all = f.total(probe);
  uint64_t table = 0;
  for (const WeightDesc& w : f.resources.weights) table += w.placement == TablePlacement::Auto ? w.bytes() : 0;
  ASSERT_GT(table, 0u);
  const MemoryCapacity tight{"a small GPU", all - table / 2, true};
  const std::string notice = fit_memory(f.resources, f.graphs(), tight, choices(f));
  EXPECT_NE(notice.find("per-layer embedding table"), std::string::npos) << notice;
  EXPECT_NE(notice.find("host memory to fit a small GPU"), std::string::npos) << notice;
  EXPECT_EQ(memory_need(f.resources, f.graphs(), tight).host_tables, table);
}

TEST(MemoryFit, TooBigIsRefusedWithBothFiguresAndWhatWouldFit) {
  Fixture f("llama");
  const MemoryCapacity probe{"probe", 1, true};
  const MemoryNeed need = memory_need(f.resources, f.graphs(), probe);
  // Room for the weights and scratch but not the cache: a shorter context or q8_0 fits.
  const uint64_t room = need.weights + need.scratch + need.caches * 3 / 4;
  try {
    fit_memory(f.resources, f.graphs(), {"a small GPU", room, true}, choices(f));
    ADD_FAILURE() << "not refused";
  } catch (const Error& e) {
    const std::string m = e.what();
    EXPECT_EQ(m.rfind("m.gguf does not fit a small GPU: it needs ", 0), 0u) << m;
    EXPECT_NE(m.find("for 512 tokens"), std::string::npos) << m;
    EXPECT_NE(m.find("is free"), std::string::npos) << m;
    EXPECT_NE(m.find("a context of 256 tokens (--context)"), std::string::npos) << m;
    EXPECT_NE(m.find("a q8_0 KV cache (--cache-type q8_0)"), std::string::npos) << m;
  }
  // Not even the weights: nothing but a smaller quantization (or the CPU path) helps.
  try {
    fit_memory(f.resources, f.graphs(), {"a tiny GPU", need.weights / 2, true}, choices(f));
    ADD_FAILURE() << "not refused";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--device cpu"), std::string::npos) << e.what();
  }
}

// The CPU path reads the weights from the file: they do not count against memory, but a
// file larger than the free memory is named as slow.
TEST(MemoryFit, CpuPathCountsCachesNotWeights) {
  Fixture f("llama", "small");
  const MemoryNeed need = memory_need(f.resources, f.graphs(), {"host memory", 1, false});
  EXPECT_EQ(need.weights, 0u);
  const std::string notice = fit_memory(f.resources, f.graphs(), {"host memory", need.total() + 1, false}, choices(f));
  EXPECT_NE(notice.find("read from the file as each step needs them"), std::string::npos) << notice;
}

TEST(MemoryFit, HostMemoryIsKnown) { EXPECT_GT(host_memory_available(), uint64_t{64} << 20); }

}  // namespace
}  // namespace archscope
