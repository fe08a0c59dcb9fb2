// Random weights for tiny models, and how each tensor is stored.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>

#include "archscope/error.h"
#include "reference/ops.h"
#include "writer/quantize_mix.h"
#include "writer/tiny_model.h"

namespace archscope {

namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The tensor feeding the logits: output.weight, or token_embd.weight when they are tied.
bool is_output_head(const TensorSpec& t, const ModelSpec& spec) {
  return t.name == "output.weight" || (spec.tied_embeddings && t.name == "token_embd.weight");
}

// FNV-1a of the name mixed with the seed, then splitmix64: one generator seed per tensor.
uint64_t tensor_seed(uint64_t seed, const std::string& name) {
  uint64_t h = 1469598103934665603ull;
  for (unsigned char c : name) h = (h ^ c) * 1099511628211ull;
  uint64_t z = h ^ (seed * 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Approximately standard normal, from four uniforms (Irwin-Hall, rescaled to variance 1,
// bounded by +-3.46). Only additions and one multiplication of exactly representable
// values, so the same bits come out with every compiler and math library.
class PortableNormal {
 public:
  explicit PortableNormal(uint64_t seed) : rng_(seed) {}
  double operator()() {
    double sum = 0.0;
    for (int i = 0; i < 4; ++i) sum += static_cast<double>(rng_() >> 11) * 0x1.0p-53;
    return (sum - 2.0) * 1.7320508075688772;  // sqrt(3): the sum's variance is 4/12
  }

 private:
  std::mt19937_64 rng_;
};

// DeepSeek V4's hash-routing table: expert ids per token, written by the converter as I32.
bool is_expert_table(const TensorSpec& t) { return ends_with(t.name, ".ffn_gate_tid2eid.weight"); }

// DeepSeek V4 mHC mixing weights: blk.N.hc_{attn,ffn}_{fn,base,scale}, output_hc_{fn,base,scale}.
bool is_hyper_connection(const TensorSpec& t) {
  return t.name.rfind("output_hc_", 0) == 0 || t.name.find(".hc_") != std::string::npos;
}

// Tensors DeepSeek V4's checkpoint keeps in float32, which its converter writes as F32 (the
// mHC weights, the compressors' positional biases); matrices of other families go by type.
bool keeps_f32(const TensorSpec& t) {
  return is_hyper_connection(t) || ends_with(t.name, "_compressor_ape.weight");
}

// Scale of a matrix's entries relative to 1/sqrt(fan_in). Every projection keeps unit-scale
// activations; the head is hotter so the next-token distribution is peaked but not one-hot.
double gain_of(const TensorSpec& t, const ModelSpec& spec) {
  if (is_output_head(t, spec)) return 2.5;
  return 1.0;
}

}  // namespace

WeightFormat::WeightFormat(GgmlType type, bool pure_)
    : file_type(ggml_type_info(type) ? ggml_type_info(type)->name : "type " + std::to_string(uint32_t(type))),
      pure(pure_) {}

WeightFormat pure_format(GgmlType type) {
  for (const FileType& f : file_types()) {
    if (f.default_type == type) return WeightFormat(f.name, true);
  }
  throw Error(std::string("tiny model: no file type stores its matrices as ") + ggml_type_info(type)->name);
}

std::vector<std::string> tiny_model_file_types() {
  std::vector<std::string> names;
  for (const FileType& f : file_types()) names.push_back(f.name);
  return names;
}

const FileType& tiny_file_type(const WeightFormat& format) {
  const FileType* f = find_file_type(format.file_type);
  if (!f) {
    std::string known;
    for (const std::string& name : tiny_model_file_types()) known += (known.empty() ? "" : ", ") + name;
    throw Error("tiny model: unknown weight type \"" + format.file_type + "\" (known: " + known + ")");
  }
  return *f;
}

// What llama.cpp's converter writes with --outtype `type` (f32, f16, bf16): 1D tensors and
// the tensors the checkpoint keeps in float32 as F32, integer tables as I32, the rest `type`.
GgmlType converter_type(const TensorSpec& t, GgmlType type) {
  if (is_expert_table(t)) return GgmlType::I32;
  if (t.shape.size() < 2 || keeps_f32(t)) return GgmlType::F32;
  return type;
}

std::vector<GgmlType> tiny_tensor_types(const ModelSpec& spec, const WeightFormat& format) {
  const FileType& file_type = tiny_file_type(format);
  const bool quantized = ggml_type_info(file_type.default_type)->block_size > 1;
  std::vector<GgmlType> types;
  for (const TensorSpec& t : spec.tensors) types.push_back(converter_type(t, quantized ? GgmlType::F32 : file_type.default_type));
  if (!quantized) return types;
  return quantized_tensor_types(spec, spec.tensors, types, file_type, format.pure);
}

std::vector<float> tiny_tensor_values(const TensorSpec& t, const ModelSpec& spec, uint64_t seed) {
  uint64_t n = 1;
  for (uint64_t d : t.shape) n *= d;
  std::vector<float> v(n);
  PortableNormal normal(tensor_seed(seed, t.name));
  if (t.name == "rope_freqs.weight") {
    // Proportional RoPE (Gemma 4 converter): factor 1 for the pairs of the global layers'
    // rotary dims, 1e30 (no rotation) for the rest of the head.
    int rotating_pairs = 0;
    for (const LayerSpec& l : spec.layers) {
      if (l.rope.freq_factors) rotating_pairs = l.rope.rotary_dims / 2;
    }
    for (uint64_t i = 0; i < n; ++i) v[i] = i < static_cast<uint64_t>(rotating_pairs) ? 1.0f : 1e30f;
    return v;
  }
  if (t.name.size() > 19 && t.name.compare(t.name.size() - 19, 19, ".ffn_gate_inp.scale") == 0) {
    // Gemma 4's router input scale: the router sees RMSNorm(x) / sqrt(hidden) times this, so
    // about 2 sqrt(hidden) gives logits of spread ~2 and clear expert choices.
    for (float& x : v) x = static_cast<float>(2.0 * std::sqrt(double(spec.hidden)) * (1.0 + 0.1 * normal()));
    return v;
  }
  if (is_expert_table(t)) {
    // DeepSeek V4 hash routing: for each token (a row of active_experts ids), distinct expert
    // ids drawn by a partial Fisher-Yates shuffle; raw generator output only, so the same ids
    // come out with every standard library. Integers below 2^24 are exact as floats.
    const int experts = spec.layers.at(t.layer).ffn.experts;
    const uint64_t per_token = t.shape.at(0);
    if (experts <= 0 || per_token > static_cast<uint64_t>(experts)) {
      throw Error("tiny model: " + t.name + " needs " + std::to_string(per_token) + " distinct experts of " +
                  std::to_string(experts));
    }
    std::mt19937_64 rng(tensor_seed(seed, t.name));
    std::vector<int> ids(experts);
    for (uint64_t row = 0; row < n / per_token; ++row) {
      for (int e = 0; e < experts; ++e) ids[e] = e;
      for (uint64_t i = 0; i < per_token; ++i) {
        const uint64_t j = i + rng() % (experts - i);
        std::swap(ids[i], ids[j]);
        v[row * per_token + i] = static_cast<float>(ids[i]);
      }
    }
    return v;
  }
  if (is_hyper_connection(t) && ends_with(t.name, "_base.weight")) {
    // mHC biases. Per site: pre (4), post (4), then comb (4x4, entry src*4 + dst): pre and
    // post around sigmoid(0) with some spread, comb diagonal-heavy (+2), so the Sinkhorn
    // output keeps most of each stream in place and mixes the rest. output_hc_base: the
    // head's 4 stream weights, like pre.
    const uint64_t hc = static_cast<uint64_t>(spec.hc_width > 0 ? spec.hc_width : 4);
    for (uint64_t i = 0; i < n; ++i) {
      if (i < 2 * hc) {
        v[i] = static_cast<float>(0.5 * normal());
      } else {
        const uint64_t k = i - 2 * hc, src = k / hc, dst = k % hc;
        v[i] = static_cast<float>((src == dst ? 2.0 : 0.0) + 0.1 * normal());
      }
    }
    return v;
  }
  if (is_hyper_connection(t) && ends_with(t.name, "_scale.weight")) {
    // Scales of the token-dependent mixing logits (pre, post, comb; one for the head), which
    // are about unit-scale: 0.13..0.47, so each token's mixing differs visibly from the base.
    for (float& x : v) x = static_cast<float>(0.3 + 0.05 * normal());
    return v;
  }
  if (ends_with(t.name, ".attn_sinks.weight")) {  // per-head sink logits beside scores of about unit spread
    for (float& x : v) x = static_cast<float>(0.5 * normal());
    return v;
  }
  if (ends_with(t.name, "_compressor_ape.weight")) {  // positional biases on the pooling gates' logits
    for (float& x : v) x = static_cast<float>(0.2 * normal());
    return v;
  }
  if (spec.architecture == "deepseek4" && ends_with(t.name, ".exp_probs_b.bias")) {
    // Expert selection biases, small beside the sqrtsoftplus scores' spread (Laguna's keep
    // the 1D rule below: near 1, i.e. a spread of 0.1).
    for (float& x : v) x = static_cast<float>(0.1 * normal());
    return v;
  }
  if (t.shape.size() < 2) {  // norm weights: near 1
    for (float& x : v) x = static_cast<float>(1.0 + 0.1 * normal());
    return v;
  }
  const double std = gain_of(t, spec) / std::sqrt(static_cast<double>(t.shape[0]));
  for (float& x : v) x = static_cast<float>(std * normal());
  return v;
}

std::vector<uint8_t> encode_tensor(const std::vector<float>& values, const std::vector<uint64_t>& shape, GgmlType type) {
  if (type == GgmlType::I32) {  // integer tables (expert ids): the values are whole numbers
    std::vector<uint8_t> out(values.size() * sizeof(int32_t));
    for (size_t i = 0; i < values.size(); ++i) {
      const int32_t x = static_cast<int32_t>(values[i]);
      if (static_cast<float>(x) != values[i]) throw Error("tiny model: " + std::to_string(values[i]) + " is not an i32 value");
      std::memcpy(out.data() + i * sizeof(int32_t), &x, sizeof(int32_t));
    }
    return out;
  }
  const uint64_t cols = shape.empty() ? 1 : shape[0];
  const auto row_bytes = ggml_bytes(type, cols);
  const auto total = ggml_bytes(type, values.size());
  if (!row_bytes || !total || cols == 0 || values.size() % cols != 0) {
    throw Error(std::string("tiny model: cannot store rows of ") + std::to_string(cols) + " values as " +
                ggml_type_info(type)->name);
  }
  std::vector<uint8_t> out(*total);
  const uint64_t rows = values.size() / cols;
  for (uint64_t r = 0; r < rows; ++r) {
    reference::quantize_row(type, values.data() + r * cols, out.data() + r * *row_bytes, static_cast<int64_t>(cols));
  }
  return out;
}

}  // namespace archscope

namespace archscope {
namespace {

uint64_t splitmix64(uint64_t z) {
  z += 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Elements per pooled unit: a block of a quantized type; for the float types the largest
// power of two up to 32 that divides the row.
uint64_t pool_unit(GgmlType type, uint64_t cols) {
  const uint64_t block = ggml_type_info(type)->block_size;
  if (block > 1) return block;
  uint64_t unit = 32;
  while (cols % unit != 0) unit /= 2;
  return unit;
}

}  // namespace

void write_tensor_bytes(const TensorSpec& t, GgmlType type, const ModelSpec& spec, uint64_t seed,
                        const GgufWriter::ByteSink& sink) {
  uint64_t n = 1;
  for (uint64_t d : t.shape) n *= d;
  if (n <= kPooledElements || t.shape.size() < 2) {
    const std::vector<uint8_t> bytes = encode_tensor(tiny_tensor_values(t, spec, seed), t.shape, type);
    sink(bytes.data(), bytes.size());
    return;
  }
  // A pool of units drawn as tiny_tensor_values draws a plain matrix, each encoded alone.
  constexpr uint64_t kPoolUnits = 4096;
  const uint64_t unit = pool_unit(type, t.shape[0]);
  const uint64_t unit_bytes = *ggml_bytes(type, unit);
  const double std = gain_of(t, spec) / std::sqrt(static_cast<double>(t.shape[0]));
  PortableNormal normal(tensor_seed(seed, t.name));
  std::vector<float> values(unit);
  std::vector<uint8_t> pool(kPoolUnits * unit_bytes);
  for (uint64_t u = 0; u < kPoolUnits; ++u) {
    for (float& x : values) x = static_cast<float>(std * normal());
    reference::quantize_row(type, values.data(), pool.data() + u * unit_bytes, static_cast<int64_t>(unit));
  }
  // The tensor: unit i is pool unit hash(i), in pieces of about 8 MiB.
  const uint64_t units = n / unit, per_piece = std::max<uint64_t>(1, (uint64_t{8} << 20) / unit_bytes);
  const uint64_t mix = tensor_seed(seed ^ 0x5bd1e995ull, t.name);
  std::vector<uint8_t> piece;
  for (uint64_t first = 0; first < units; first += per_piece) {
    const uint64_t count = std::min(per_piece, units - first);
    piece.resize(count * unit_bytes);
    for (uint64_t i = 0; i < count; ++i) {
      const uint64_t from = splitmix64(mix + first + i) % kPoolUnits;
      std::memcpy(piece.data() + i * unit_bytes, pool.data() + from * unit_bytes, unit_bytes);
    }
    sink(piece.data(), piece.size());
  }
}

}  // namespace archscope
