// A program turns a ModelSpec into the step graph its forward pass runs: one file per
// architecture, read top to bottom like llama2.c's forward(). The graph is the same for
// every backend.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "archscope/model_spec.h"
#include "runtime/graph.h"
#include "runtime/model_weights.h"

namespace archscope {

// The caches a DeepSeek V4 layer keeps beside its raw window (ids; -1 when it has none).
struct CompressedCaches {
  int entries = -1, state = -1;           // CSA / HCA compressed entries and their compressor's ring
  int index_keys = -1, index_state = -1;  // CSA: the lightning indexer's keys and their compressor's ring
};

struct ProgramInputs {
  const ModelSpec& spec;
  const ModelWeights& weights;
  std::vector<int> cache_of_layer;  // cache id each layer reads (its producer's for shared layers)
  int max_tokens = 1;
  std::vector<CompressedCaches> compressed_of_layer = {};  // per layer (DeepSeek V4)
};

// Throws archscope::Error when the architecture has no program yet.
Graph build_step_graph(const ProgramInputs& in);

// RoPE parameters as llama.cpp passes them to ggml_rope_ext for a layer.
reference::RopeParams rope_params(const RopeSpec& rope);

// Programs, one per family (programs/<family>_program.cpp).
Graph build_llama_graph(const ProgramInputs& in);
Graph build_gemma4_graph(const ProgramInputs& in);
Graph build_laguna_graph(const ProgramInputs& in);
Graph build_deepseek4_graph(const ProgramInputs& in);

// Activations shared by a graph's layers, one per name and width: layers of different
// shapes (Laguna's 48- and 64-head layers) get tensors of their own, the rest reuse them.
class TensorPool {
 public:
  explicit TensorPool(Graph& graph) : graph_(graph) {}
  int get(const std::string& name, int64_t cols);

 private:
  Graph& graph_;
  std::map<std::pair<std::string, int64_t>, int> ids_;
};

// Appends an op of layer `layer` to the graph and returns it for its parameters.
Op& add_op(Graph& g, OpKind kind, int out, int a, int b = -1, int weight = -1, int layer = -1);
// The output head every program ends with: the last token's row of x, output_norm, the
// output matrix (token_embd when tied), and the final logit softcap when the spec has one.
void add_output_head(Graph& g, const ModelSpec& spec, const ModelWeights& w, int x);

// The routed experts of MoE layer l, as FfnSpec describes them (router score, selection
// bias, top-k, renormalisation, routed scale, activation), reading only the chosen
// experts' weights:
//   r = route(Wr h)                                           [T, 2k]: ids, then weights
//   out = sum_j r.weight_j Wdown_j (act(Wgate_j h) * Wup_j h)   [T, hidden]
// Weights: blk.N.ffn_gate_inp, exp_probs_b.bias (when expert_bias), ffn_gate_tid2eid (hash
// routing: the experts are the token's row of that table), ffn_{gate,up,down}_exps.
// Shared experts are the caller's (they are plain gated MLPs).
void add_routed_experts(Graph& g, TensorPool& pool, const ModelWeights& w, const LayerSpec& l, int64_t hidden, int h,
                        int out);

// MoE layers leave their routing (Op Route: top-k ids, then weights) in a tensor of this
// name, one per layer, for the StepReport.
std::string route_tensor_name(int layer);
// mHC layers leave each site's weights (Op HyperWeights: pre, post, mix) in a tensor of this
// name (site "attn" or "ffn"), for the StepReport.
std::string hyper_tensor_name(int layer, const std::string& site);

}  // namespace archscope
