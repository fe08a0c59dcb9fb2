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
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "archscope/ggml_types.h"
#include "archscope/model_spec.h"

namespace archscope {

// How the weights are stored: as llama-quantize stores them for one of its file types,
// named as it names them ("F16", "Q8_0", "Q4_K_M", "IQ4_XS", "MXFP4_MOE", ...; case does
// not matter, and "Q4_K" is its alias for Q4_K_M). Starting from the float32 weights:
// norms and routers stay F32, most matrices take the type's main ggml type, the head and
// some layers more bits, and rows that are not a whole number of blocks fall back to a
// type of 32-element blocks. pure: every quantizable matrix the main type (llama-quantize
// --pure), still with the fallbacks. F32, F16 and BF16 are the converter's output types.
struct WeightFormat {
  std::string file_type = "F16";
  bool pure = false;

  WeightFormat() = default;
  WeightFormat(std::string name, bool pure_ = false) : file_type(std::move(name)), pure(pure_) {}
  WeightFormat(const char* name, bool pure_ = false) : file_type(name), pure(pure_) {}
  // The file type llama-quantize names like the ggml type (q8_0: Q8_0; q4_K: Q4_K_M).
  WeightFormat(GgmlType type, bool pure_ = false);
};

// Every matrix of `type` (a pure file of the file type whose main type it is, e.g. IQ2_M
// for iq2_s, MXFP4_MOE for mxfp4).
WeightFormat pure_format(GgmlType type);

struct TinyModelOptions {
  std::string arch;              // llama.cpp architecture name: "llama", "qwen3", "gemma4", "laguna", "deepseek4"
  // "tiny" (3.4M / 4.1M parameters for llama / qwen3), "small" (26M / 32M), a family's own
  // ones, or a published model's dimensions from its bundled card: gemma4 "e2b", "e4b",
  // "26b-a4b", "31b"; laguna "xs2"; deepseek4 "flash"; qwen3 "8b" (random weights, written
  // as they are made, so a file may be larger than memory).
  std::string preset = "tiny";
  WeightFormat type;
  uint64_t seed = 1;
  // Published-size presets: a GGUF file whose tokenizer to use (its size must be the
  // model's); empty: the family's small vocabulary padded with unused tokens.
  std::string vocab_file;
  // Called after each tensor with the bytes of tensor data written so far and in all.
  std::function<void(uint64_t written, uint64_t total)> progress;
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
std::vector<std::string> tiny_model_file_types();

}  // namespace archscope
