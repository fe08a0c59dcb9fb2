// A program turns a ModelSpec into the step graph its forward pass runs: one file per
// architecture, read top to bottom like llama2.c's forward(). The graph is the same for
// every backend.
#pragma once

#include <vector>

#include "archscope/model_spec.h"
#include "runtime/graph.h"
#include "runtime/model_weights.h"

namespace archscope {

struct ProgramInputs {
  const ModelSpec& spec;
  const ModelWeights& weights;
  std::vector<int> cache_of_layer;  // cache id each layer reads (its producer's for shared layers)
  int max_tokens = 1;
};

// Throws archscope::Error when the architecture has no program yet.
Graph build_step_graph(const ProgramInputs& in);

// RoPE parameters as llama.cpp passes them to ggml_rope_ext for a layer.
reference::RopeParams rope_params(const RopeSpec& rope);

// Programs, one per family (programs/<family>_program.cpp).
Graph build_llama_graph(const ProgramInputs& in);
Graph build_gemma4_graph(const ProgramInputs& in);

}  // namespace archscope
