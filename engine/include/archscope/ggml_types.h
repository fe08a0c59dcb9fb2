// The tensor element types llama.cpp's ggml defines, with their block geometry.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace archscope {

// Values are ggml's `enum ggml_type` numbers as stored in GGUF files. Numbers ggml removed
// (4, 5, 31-33, 36-38) are not types: a file using one is rejected.
enum class GgmlType : uint32_t {
  F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q5_0 = 6, Q5_1 = 7, Q8_0 = 8, Q8_1 = 9,
  Q2_K = 10, Q3_K = 11, Q4_K = 12, Q5_K = 13, Q6_K = 14, Q8_K = 15,
  IQ2_XXS = 16, IQ2_XS = 17, IQ3_XXS = 18, IQ1_S = 19, IQ4_NL = 20, IQ3_S = 21, IQ2_S = 22,
  IQ4_XS = 23, I8 = 24, I16 = 25, I32 = 26, I64 = 27, F64 = 28, IQ1_M = 29, BF16 = 30,
  TQ1_0 = 34, TQ2_0 = 35, MXFP4 = 39, NVFP4 = 40, Q1_0 = 41, Q2_0 = 42,
};

struct GgmlTypeInfo {
  const char* name;      // "q4_K", as ggml names it
  uint32_t block_size;   // elements per block
  uint32_t type_size;    // bytes per block
};

// nullptr for a number ggml does not define (or a removed type).
const GgmlTypeInfo* ggml_type_info(uint32_t type);
inline const GgmlTypeInfo* ggml_type_info(GgmlType type) { return ggml_type_info(static_cast<uint32_t>(type)); }

// Looks a type up by its ggml name, case-insensitive ("f16", "q8_0", "Q4_K").
std::optional<GgmlType> ggml_type_from_name(const std::string& name);

// Bytes of `elements` elements of `type`; nullopt when elements is not a whole number of
// blocks or the size overflows 64 bits.
std::optional<uint64_t> ggml_bytes(GgmlType type, uint64_t elements);

}  // namespace archscope
