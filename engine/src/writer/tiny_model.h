// The tiny-model writer's parts. One TinyArchitectureWriter per family (its presets, its
// <arch>.* metadata keys, its vocabulary and chat template), in a file of its own; the
// shared core (tiny_model.cpp) takes the tensor list from the spec registry
// (spec/architecture.h), so names and shapes are the ones the loader expects.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "archscope/gguf.h"
#include "archscope/model_spec.h"
#include "archscope/model_writer.h"
#include "archscope/tokenizer.h"

namespace archscope {

// What a family decides for one preset.
struct TinyModelPlan {
  ModelSpec spec;    // hyperparameters and layers; vocab, tensors and architecture are filled by the core
  Vocabulary vocab;  // tokenizer.* keys and the chat template
};

// A preset with a published model's dimensions: its bundled card (models/cards).
struct PublishedPreset {
  std::string preset;  // "e2b"
  std::string card;    // "gemma-4-e2b.json"
};

struct TinyArchitectureWriter {
  std::string gguf_name;             // "llama"
  std::vector<std::string> presets;  // "tiny", "small"
  std::vector<PublishedPreset> published;
  // The plan for one of `presets`.
  TinyModelPlan (*plan)(const std::string& preset) = nullptr;
  // The <arch>.* keys llama.cpp's converter writes for this family (spec.vocab is set).
  void (*write_metadata)(const ModelSpec& spec, GgufWriter& writer) = nullptr;
};

const std::vector<const TinyArchitectureWriter*>& tiny_architecture_writers();

// The metadata and vocabulary write_tiny_model writes (no tensors), and the spec of the
// model; tests check a published-size preset's keys against its card this way.
ModelSpec write_tiny_model_metadata(const TinyModelOptions& options, GgufWriter& writer);
extern const TinyArchitectureWriter kLlamaTinyWriter;
extern const TinyArchitectureWriter kQwen3TinyWriter;
extern const TinyArchitectureWriter kGemma4TinyWriter;
extern const TinyArchitectureWriter kLagunaTinyWriter;
extern const TinyArchitectureWriter kDeepseek4TinyWriter;

// Shared by the family writers (llama_writer.cpp).
extern const char* const kLlama3ChatTemplate;
// A small byte-level BPE vocabulary of `size` tokens with a chat template.
Vocabulary small_vocab(SmallVocabStyle style, size_t size, const char* chat_template);
// TextModel.set_gguf_parameters: the keys every llama.cpp-converted decoder has (from layer 0).
void write_common_keys(const ModelSpec& spec, GgufWriter& w);

// The file type a format names (throws for an unknown name), and the type each of
// spec.tensors is stored as in it: the converter's output for F32 / F16 / BF16 (1D tensors
// F32; DeepSeek V4: the hash-routing table ffn_gate_tid2eid I32, the tensors its checkpoint
// keeps in float32, mHC hc_* / output_hc_* and *_compressor_ape, F32), llama-quantize's
// choice from the F32 output for the quantized types (writer/quantize_mix.h).
struct FileType;
const FileType& tiny_file_type(const WeightFormat& format);
std::vector<GgmlType> tiny_tensor_types(const ModelSpec& spec, const WeightFormat& format);

// Random values for one tensor, reproducible for (seed, tensor name) and independent of
// the other tensors: matrices ~ N(0, gain^2 / fan_in) with fan_in = shape[0], 1D norm
// weights 1 + N(0, 0.1^2). The gain depends on the tensor's role, and some roles have values
// of their own (see weights.cpp): I32 tensors get whole numbers (valid expert ids).
std::vector<float> tiny_tensor_values(const TensorSpec& tensor, const ModelSpec& spec, uint64_t seed);

// values encoded row by row as `type` (reference::quantize_row).
std::vector<uint8_t> encode_tensor(const std::vector<float>& values, const std::vector<uint64_t>& shape, GgmlType type);

// Writes a tensor's bytes as `type` in pieces (tiny_tensor_values, encoded). A matrix of
// more than kPooledElements elements (only the published-size presets have them) is made
// of blocks drawn from a pool of 4096 blocks quantized from its distribution, so a 5-billion
// parameter file takes minutes rather than hours and never needs the tensor in memory.
inline constexpr uint64_t kPooledElements = uint64_t{1} << 20;
void write_tensor_bytes(const TensorSpec& tensor, GgmlType type, const ModelSpec& spec, uint64_t seed,
                        const GgufWriter::ByteSink& sink);

}  // namespace archscope
