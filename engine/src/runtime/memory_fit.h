// Will the model fit? Before anything is uploaded, the session adds up what it needs on
// the backend (weights by component, the caches the CachePlan sized, the step graphs'
// scratch) and compares that with what the backend has. Gathered-only tables left to the
// session (TablePlacement::Auto) move to host memory when that makes the model fit; a
// model that still does not fit is refused with both figures and what would fit, instead
// of running the device (or the machine) out of memory.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "archscope/ggml_types.h"
#include "archscope/model_spec.h"
#include "runtime/graph.h"

namespace archscope {

// What a backend holds the model in, before load: the memory it can use, and whether it
// copies the weights there (Vulkan) or reads them from the file's mapping (the CPU path).
struct MemoryCapacity {
  std::string where;       // "llvmpipe (host memory)", "NVIDIA GeForce RTX 4090"
  uint64_t available = 0;  // bytes this session may use; 0: unknown (no check)
  bool copies_weights = true;
};

// Bytes of memory the system could give this process now (/proc/meminfo MemAvailable); 0
// when it cannot be read.
uint64_t host_memory_available();

// What the model needs on the backend with the placements in `resources`.
struct MemoryNeed {
  uint64_t weights = 0;      // copied to the backend
  uint64_t host_tables = 0;  // gathered tables kept in host memory
  uint64_t caches = 0, scratch = 0;
  uint64_t total() const { return weights + caches + scratch; }
};
MemoryNeed memory_need(const ModelResources& resources, const std::vector<const Graph*>& graphs,
                       const MemoryCapacity& capacity);

// The session's choices a refusal may suggest changing.
struct MemoryChoices {
  std::string file;       // for the message: "gemma-4-31B-Q4_K_M.gguf"
  const ModelSpec* spec = nullptr;
  int context = 0, batch = 1;
  GgmlType cache_type = GgmlType::F16;
};

// Places resources' Auto tables (host memory when the model would not fit otherwise) and
// returns a notice saying what was placed where ("" when nothing was); throws
// archscope::Error with one line naming both figures and what would fit when the model
// does not fit.
std::string fit_memory(ModelResources& resources, const std::vector<const Graph*>& graphs,
                       const MemoryCapacity& capacity, const MemoryChoices& choices);

}  // namespace archscope
