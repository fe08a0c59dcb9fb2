// A backend runs step graphs: the CPU backend (reference ops) and the Vulkan backend
// implement this interface, and the session drives either the same way.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "runtime/graph.h"
#include "runtime/memory_fit.h"

namespace archscope {

// GPU (or CPU) time of one layer's ops in the last run; layer -1 is the embedding and head.
struct LayerTiming {
  int layer = -1;
  double milliseconds = 0.0;
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual std::string name() const = 0;  // "cpu (reference)", "vulkan: <device name>"

  // Throws archscope::Error naming the first op this backend cannot run (callable before
  // load, so a session can choose another backend without uploading anything).
  virtual void check(const Graph& graph) const { (void)graph; }
  // Once per model: upload the weights and allocate the caches (all slots empty).
  // progress(done, total) counts weight bytes as they reach the device; returning false
  // cancels (load throws archscope::Error "cancelled").
  using LoadProgress = std::function<bool(uint64_t done, uint64_t total)>;
  virtual void load(const ModelResources& resources, const LoadProgress& progress = {}) = 0;
  // Once per graph shape, before its first run (Vulkan records the command buffer here).
  virtual void prepare(const Graph& graph) = 0;
  // One step: tokens.size() <= graph.max_tokens tokens at positions first_position, +1, ...
  // Throws archscope::Error (e.g. device lost) with a message a person can act on.
  virtual void run(const Graph& graph, std::span<const int32_t> tokens, int32_t first_position) = 0;
  // The rows of a tensor computed by the last run (per-token tensors: one row per token).
  virtual std::vector<float> read(const Graph& graph, int tensor) = 0;

  // Empties every cache slot (a new conversation).
  virtual void clear_caches() = 0;
  // Forgets positions >= position in every cache (regenerate, edit-and-resend).
  virtual void truncate_caches(int32_t position) = 0;
  // Per-layer time of the last run, when the backend measures it (else empty).
  virtual std::vector<LayerTiming> timings() const { return {}; }
  // Bytes this backend holds for weights, caches and scratch.
  // host_tables: gathered-only tables kept in host memory instead of the device (not in weights).
  struct Memory { uint64_t weights = 0, caches = 0, scratch = 0, host_tables = 0; };
  virtual Memory memory() const = 0;
  // The memory this backend would hold a model in, before load (runtime/memory_fit.h).
  virtual MemoryCapacity capacity() const = 0;
};

std::unique_ptr<Backend> make_cpu_backend();

// Test hooks into a CPU backend (throw archscope::Error for another backend), for tests
// that prove which cache an op reads (tests/runtime/gemma4_kv_sharing_test.cpp):
// before_op(i) runs before op i of every run; the rows are one cache's raw key or value
// bytes (capacity x row bytes, slot p % capacity holds position p); positions per slot, -1 empty.
void set_cpu_before_op(Backend& cpu, std::function<void(size_t op)> before_op);
std::span<uint8_t> cpu_cache_rows(Backend& cpu, int cache, bool values);
std::span<const int32_t> cpu_cache_positions(Backend& cpu, int cache);
// The Vulkan backend on the device the selector names (empty: ARCHSCOPE_VULKAN_DEVICE, else
// the best device). Throws archscope::Error when there is none.
std::unique_ptr<Backend> make_vulkan_backend(const std::string& device_selector);

}  // namespace archscope
