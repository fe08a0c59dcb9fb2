// One Architecture per model family: how to read its ModelSpec from GGUF metadata and
// from a Hugging Face config.json, and which weight tensors it has. A new family is one
// new file in this folder plus a line in architecture.cpp's registry.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "archscope/gguf.h"
#include "archscope/model_spec.h"
#include "spec/metadata_reader.h"

namespace archscope {

struct Architecture {
  std::string gguf_name;                  // general.architecture in GGUF ("gemma4")
  std::vector<std::string> hf_model_types; // config.json "model_type" values ("gemma4", "gemma4_text")
  // Fill spec (name, hidden, layers, ...) from GGUF metadata; nullptr if GGUF is unsupported.
  void (*from_gguf)(const GgufMetadataReader& meta, ModelSpec& spec) = nullptr;
  // Fill spec from config.json (already unwrapped to the text config where nested).
  void (*from_config)(const ConfigReader& config, ModelSpec& spec) = nullptr;
  // The weight tensors a model of this spec has, llama.cpp names and shapes (type left 0).
  std::vector<TensorSpec> (*tensors)(const ModelSpec& spec) = nullptr;
};

// The hyperparameters llama.cpp reads for every architecture (llama_model_base::load_hparams),
// with its defaults. Families read their own extra keys on top.
struct CommonHparams {
  int n_layers = 0;
  int hidden = 0;
  int context_length = 0;
  int vocab = 0;                    // <arch>.vocab_size, else the tokenizer's token count
  double rms_eps = 1e-6;            // <arch>.attention.layer_norm_rms_epsilon
  std::vector<int64_t> q_heads;     // head_count, per layer
  std::vector<int64_t> kv_heads;    // head_count_kv, per layer (defaults to q_heads)
  std::vector<int64_t> ffn_width;   // feed_forward_length, per layer (0 when absent)
  int head_dim_k = 0, head_dim_v = 0;          // key_length / value_length (default hidden / heads)
  int head_dim_k_swa = 0, head_dim_v_swa = 0;  // key_length_swa / value_length_swa
  int rope_dims = 0, rope_dims_swa = 0;        // rope.dimension_count(_swa)
  double rope_theta = 10000.0;                 // rope.freq_base
  double rope_theta_swa = 0.0;                 // rope.freq_base_swa (0 when absent)
  RopeScaling rope_scaling = RopeScaling::None;
  double rope_factor = 1.0;
  int rope_original_context = 0;
  double yarn_beta_fast = 32.0, yarn_beta_slow = 1.0;
  int window = 0;                              // attention.sliding_window
  int experts = 0, active_experts = 0, expert_width = 0, shared_experts = 0, shared_width = 0;
  std::string name;                            // general.name
};
CommonHparams read_common_hparams(const GgufMetadataReader& meta);
// Copies the common facts into spec (name, hidden, vocab, context, eps) and makes one
// LayerSpec per layer with heads, head dims and RoPE filled from the "full" values.
void apply_common_hparams(const CommonHparams& hp, ModelSpec& spec);

// Builds an architecture's tensor list in llama.cpp naming: layer(3, "attn_q", {in, out})
// adds "blk.3.attn_q.weight" with ggml-order shape {in, out}.
class TensorList {
 public:
  void global(const std::string& name, std::vector<uint64_t> shape) {
    tensors_.push_back({name + ".weight", std::move(shape), 0, 0, -1, classify_tensor(name + ".weight")});
  }
  void layer(int il, const std::string& name, std::vector<uint64_t> shape, const char* suffix = ".weight") {
    std::string full = "blk." + std::to_string(il) + "." + name + suffix;
    tensors_.push_back({full, std::move(shape), 0, 0, il, classify_tensor(full)});
  }
  std::vector<TensorSpec> take() { return std::move(tensors_); }

 private:
  std::vector<TensorSpec> tensors_;
};

const std::vector<const Architecture*>& all_architectures();
const Architecture* find_architecture_by_gguf(const std::string& name);
const Architecture* find_architecture_by_model_type(const std::string& model_type);

// Each family's file defines one of these.
extern const Architecture kLlamaArchitecture;
extern const Architecture kQwen3Architecture;
extern const Architecture kGemma4Architecture;
extern const Architecture kLagunaArchitecture;
extern const Architecture kDeepseek4Architecture;
extern const Architecture kZayaArchitecture;

}  // namespace archscope
