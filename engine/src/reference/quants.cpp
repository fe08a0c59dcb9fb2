// Row conversion for every weight type: one table of each type's converters (the block
// types live in legacy_quants.cpp, k_quants.cpp, nonlinear_quants.cpp, ...). Their
// arithmetic follows ggml-quants.c's dequantize_row_* and quantizers (ggml_quantize_chunk
// without an importance matrix) operation for operation, so the bytes and floats agree
// with ggml bit for bit.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "archscope/error.h"
#include "reference/ops.h"
#include "reference/quant_blocks.h"

namespace archscope::reference {
namespace {

std::string type_name(GgmlType type) {
  const GgmlTypeInfo* info = ggml_type_info(type);
  return info ? info->name : "type " + std::to_string(static_cast<uint32_t>(type));
}

void check_row(const char* op, GgmlType type, int64_t n) {
  if (!is_supported_weight_type(type)) {
    throw Error(std::string(op) + ": " + type_name(type) +
                " is not a type archscope computes with (" + supported_weight_type_names() + ")");
  }
  const int64_t block = ggml_type_info(type)->block_size;
  if (n < 0 || n % block != 0) {
    throw Error(std::string(op) + ": a " + type_name(type) + " row of " + std::to_string(n) +
                " elements is not a whole number of " + std::to_string(block) + "-element blocks");
  }
}

// Float types, one element at a time.
void dequantize_row_f32(const uint8_t* src, float* dst, int64_t n) { std::memcpy(dst, src, static_cast<size_t>(n) * 4); }
void quantize_row_f32(const float* src, uint8_t* dst, int64_t n) { std::memcpy(dst, src, static_cast<size_t>(n) * 4); }

template <float (*to_f32)(uint16_t)>
void dequantize_row_16(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    uint16_t h;
    std::memcpy(&h, src + 2 * i, 2);
    dst[i] = to_f32(h);
  }
}

template <uint16_t (*from_f32)(float)>
void quantize_row_16(const float* src, uint8_t* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    const uint16_t h = from_f32(src[i]);
    std::memcpy(dst + 2 * i, &h, 2);
  }
}

// Index tables (DeepSeek V4 tid2eid) are gathered as floats; nothing quantizes to them.
void dequantize_row_i32(const uint8_t* src, float* dst, int64_t n) {
  for (int64_t i = 0; i < n; ++i) {
    int32_t v;
    std::memcpy(&v, src + 4 * i, 4);
    dst[i] = static_cast<float>(v);
  }
}

struct RowCodec {
  GgmlType type;
  void (*dequantize)(const uint8_t* src, float* dst, int64_t n);
  void (*quantize)(const float* src, uint8_t* dst, int64_t n);  // null: not a target
};

// Every type the engine computes with: one line per type.
constexpr RowCodec kCodecs[] = {
    {GgmlType::F32, dequantize_row_f32, quantize_row_f32},
    {GgmlType::F16, dequantize_row_16<fp16_to_f32>, quantize_row_16<f32_to_fp16>},
    {GgmlType::BF16, dequantize_row_16<bf16_to_f32>, quantize_row_16<f32_to_bf16>},
    {GgmlType::Q8_0, dequantize_row_q8_0, quantize_row_q8_0},
    {GgmlType::Q4_0, dequantize_row_q4_0, quantize_row_q4_0},
    {GgmlType::Q4_1, dequantize_row_q4_1, quantize_row_q4_1},
    {GgmlType::Q5_0, dequantize_row_q5_0, quantize_row_q5_0},
    {GgmlType::Q5_1, dequantize_row_q5_1, quantize_row_q5_1},
    {GgmlType::MXFP4, dequantize_row_mxfp4, quantize_row_mxfp4},
    {GgmlType::Q2_K, dequantize_row_q2_K, quantize_row_q2_K},
    {GgmlType::Q3_K, dequantize_row_q3_K, quantize_row_q3_K},
    {GgmlType::Q4_K, dequantize_row_q4_K, quantize_row_q4_K},
    {GgmlType::Q5_K, dequantize_row_q5_K, quantize_row_q5_K},
    {GgmlType::Q6_K, dequantize_row_q6_K, quantize_row_q6_K},
    {GgmlType::IQ4_NL, dequantize_row_iq4_nl, quantize_row_iq4_nl},
    {GgmlType::IQ4_XS, dequantize_row_iq4_xs, quantize_row_iq4_xs},
    {GgmlType::IQ2_XXS, dequantize_row_iq2_xxs, quantize_row_iq2_xxs},
    {GgmlType::IQ2_XS, dequantize_row_iq2_xs, quantize_row_iq2_xs},
    {GgmlType::IQ2_S, dequantize_row_iq2_s, quantize_row_iq2_s},
    {GgmlType::IQ3_XXS, dequantize_row_iq3_xxs, quantize_row_iq3_xxs},
    {GgmlType::IQ3_S, dequantize_row_iq3_s, quantize_row_iq3_s},
    {GgmlType::IQ1_S, dequantize_row_iq1_s, quantize_row_iq1_s},
    {GgmlType::IQ1_M, dequantize_row_iq1_m, quantize_row_iq1_m},
    {GgmlType::I32, dequantize_row_i32, nullptr},
};

const RowCodec* find_codec(GgmlType type) {
  for (const RowCodec& c : kCodecs) {
    if (c.type == type) return &c;
  }
  return nullptr;
}

}  // namespace

bool is_supported_weight_type(GgmlType type) { return find_codec(type) != nullptr; }

std::vector<GgmlType> supported_weight_types() {
  std::vector<GgmlType> types;
  for (const RowCodec& c : kCodecs) {
    if (c.type != GgmlType::I32) types.push_back(c.type);  // (index tables are not a weight type)
  }
  return types;
}

std::string supported_weight_type_names() {
  std::string names;
  for (GgmlType t : supported_weight_types()) names += (names.empty() ? "" : ", ") + std::string(ggml_type_info(t)->name);
  return names;
}

void dequantize_row(GgmlType type, const uint8_t* src, float* dst, int64_t n) {
  check_row("dequantize_row", type, n);
  find_codec(type)->dequantize(src, dst, n);
}

void quantize_row(GgmlType type, const float* src, uint8_t* dst, int64_t n) {
  check_row("quantize_row", type, n);
  const RowCodec* codec = find_codec(type);
  if (!codec->quantize) throw Error("quantize_row: nothing quantizes to " + type_name(type));
  codec->quantize(src, dst, n);
}

}  // namespace archscope::reference
