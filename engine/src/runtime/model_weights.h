// The weights a runnable model needs, checked against what its architecture expects: every
// tensor present, shaped as the ModelSpec says, of a type the engine can compute with.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "archscope/gguf.h"
#include "archscope/model_spec.h"
#include "runtime/graph.h"

namespace archscope {

class ModelWeights {
 public:
  // Throws archscope::Error naming the file and the tensor ("model.gguf: missing tensor
  // blk.3.attn_q.weight", "... has shape [64, 32], expected [64, 64]").
  ModelWeights(const GgufFile& file, const ModelSpec& spec);

  const std::vector<WeightDesc>& all() const { return weights_; }
  // Id of a weight by llama.cpp name without ".weight" ("blk.3.attn_q"); -1 when absent.
  int find(const std::string& name) const;
  int find(int layer, const std::string& name) const { return find("blk." + std::to_string(layer) + "." + name); }
  // Like find, but the tensor must exist.
  int get(const std::string& name) const;
  int get(int layer, const std::string& name) const { return get("blk." + std::to_string(layer) + "." + name); }

 private:
  std::string path_;
  std::vector<WeightDesc> weights_;
  std::map<std::string, int> index_;
};

}  // namespace archscope
