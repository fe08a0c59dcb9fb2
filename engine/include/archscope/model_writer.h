// Tiny demo models: GGUF files with random weights and exactly the metadata keys, tensor
// names and tokenizer keys llama.cpp reads, so the same file runs in archscope and in
// llama.cpp (the reference the engine is compared with).
//
//   write_tiny_model({.arch = "qwen3", .type = GgmlType::Q8_0}, "tiny-qwen3-q8_0.gguf");
//
// The weights are drawn from a fixed-seed generator (reproducible bytes for a seed) and
// scaled so the next-token distribution is neither uniform nor one-hot. The vocabulary is
// a small real byte-level BPE (make_small_bpe_vocab) with the family's special tokens and
// its real chat template.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "archscope/ggml_types.h"
#include "archscope/model_spec.h"

namespace archscope {

struct TinyModelOptions {
  std::string arch;              // llama.cpp architecture name: "llama", "qwen3", "gemma4", "laguna", "deepseek4"
  std::string preset = "tiny";   // "tiny" (3.4M / 4.1M parameters for llama / qwen3) or "small" (26M / 32M)
  // Weight type of the 2D matrices; norms stay F32 as in llama.cpp. f32, f16, bf16 and
  // q8_0 apply to every matrix; q4_0 and q4_K follow llama-quantize's Q4_0 and Q4_K_M
  // mixes (output head Q6_K; Q4_K_M also Q6_K for some layers' attn_v and ffn_down).
  GgmlType type = GgmlType::F16;
  uint64_t seed = 1;
};

// Writes the model to path. Throws archscope::Error for an unknown architecture, preset or
// type, or when the file cannot be written.
void write_tiny_model(const TinyModelOptions& options, const std::string& path);

// The spec of the model write_tiny_model writes (as load_model_spec reads it back, with
// every tensor's name, shape, type and size; no source path). Throws like write_tiny_model.
ModelSpec tiny_model_spec(const TinyModelOptions& options);

// What write_tiny_model accepts, for help texts.
std::vector<std::string> tiny_model_architectures();
std::vector<std::string> tiny_model_presets(const std::string& arch);
std::vector<GgmlType> tiny_model_types();

}  // namespace archscope
