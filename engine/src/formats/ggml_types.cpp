// Block geometry of every ggml tensor type, from llama.cpp's ggml (ggml.c type_traits,
// ggml-common.h block structs). A block of `block_size` elements takes `type_size` bytes.
#include "archscope/ggml_types.h"

#include <array>
#include <cctype>

namespace archscope {
namespace {

constexpr uint32_t kQK_K = 256;  // super-block size of the k-quants and i-quants

// Indexed by type number; {nullptr, 0, 0} marks a number ggml does not (or no longer) define.
constexpr std::array<GgmlTypeInfo, 43> kTypes = {{
    /*  0 */ {"f32", 1, 4},
    /*  1 */ {"f16", 1, 2},
    /*  2 */ {"q4_0", 32, 18},       // fp16 d + 16 bytes of nibbles
    /*  3 */ {"q4_1", 32, 20},       // fp16 d, m + 16 bytes
    /*  4 */ {nullptr, 0, 0},        // q4_2, removed
    /*  5 */ {nullptr, 0, 0},        // q4_3, removed
    /*  6 */ {"q5_0", 32, 22},       // fp16 d + 4 bytes high bits + 16 bytes
    /*  7 */ {"q5_1", 32, 24},
    /*  8 */ {"q8_0", 32, 34},       // fp16 d + 32 int8
    /*  9 */ {"q8_1", 32, 36},
    /* 10 */ {"q2_K", kQK_K, 84},
    /* 11 */ {"q3_K", kQK_K, 110},
    /* 12 */ {"q4_K", kQK_K, 144},   // fp16 d, dmin + 12 scale bytes + 128 bytes
    /* 13 */ {"q5_K", kQK_K, 176},
    /* 14 */ {"q6_K", kQK_K, 210},
    /* 15 */ {"q8_K", kQK_K, 292},   // f32 d + 256 int8 + 16 int16 sums
    /* 16 */ {"iq2_xxs", kQK_K, 66},
    /* 17 */ {"iq2_xs", kQK_K, 74},
    /* 18 */ {"iq3_xxs", kQK_K, 98},
    /* 19 */ {"iq1_s", kQK_K, 50},
    /* 20 */ {"iq4_nl", 32, 18},
    /* 21 */ {"iq3_s", kQK_K, 110},
    /* 22 */ {"iq2_s", kQK_K, 82},
    /* 23 */ {"iq4_xs", kQK_K, 136},
    /* 24 */ {"i8", 1, 1},
    /* 25 */ {"i16", 1, 2},
    /* 26 */ {"i32", 1, 4},
    /* 27 */ {"i64", 1, 8},
    /* 28 */ {"f64", 1, 8},
    /* 29 */ {"iq1_m", kQK_K, 56},
    /* 30 */ {"bf16", 1, 2},
    /* 31 */ {nullptr, 0, 0},        // q4_0_4_4, removed from GGUF files
    /* 32 */ {nullptr, 0, 0},        // q4_0_4_8, removed
    /* 33 */ {nullptr, 0, 0},        // q4_0_8_8, removed
    /* 34 */ {"tq1_0", kQK_K, 54},
    /* 35 */ {"tq2_0", kQK_K, 66},
    /* 36 */ {nullptr, 0, 0},        // iq4_nl_4_4, removed
    /* 37 */ {nullptr, 0, 0},        // iq4_nl_4_8, removed
    /* 38 */ {nullptr, 0, 0},        // iq4_nl_8_8, removed
    /* 39 */ {"mxfp4", 32, 17},      // e8m0 scale + 16 bytes of fp4
    /* 40 */ {"nvfp4", 64, 36},      // 4 e4m3 sub-block scales + 32 bytes of fp4
    /* 41 */ {"q1_0", 128, 18},      // fp16 d + 16 bytes of bits
    /* 42 */ {"q2_0", 64, 18},       // fp16 d + 16 bytes of 2-bit values
}};

bool equal_ignoring_case(const char* a, const std::string& b) {
  size_t i = 0;
  for (; a[i] != '\0'; ++i) {
    if (i >= b.size()) return false;
    if (std::tolower(static_cast<unsigned char>(a[i])) != std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return i == b.size();
}

}  // namespace

const GgmlTypeInfo* ggml_type_info(uint32_t type) {
  if (type >= kTypes.size() || kTypes[type].name == nullptr) return nullptr;
  return &kTypes[type];
}

std::optional<GgmlType> ggml_type_from_name(const std::string& name) {
  for (uint32_t t = 0; t < kTypes.size(); ++t) {
    if (kTypes[t].name != nullptr && equal_ignoring_case(kTypes[t].name, name)) {
      return static_cast<GgmlType>(t);
    }
  }
  return std::nullopt;
}

std::optional<uint64_t> ggml_bytes(GgmlType type, uint64_t elements) {
  const GgmlTypeInfo* info = ggml_type_info(type);
  if (info == nullptr || elements % info->block_size != 0) return std::nullopt;
  uint64_t bytes = 0;
  if (__builtin_mul_overflow(elements / info->block_size, uint64_t{info->type_size}, &bytes)) {
    return std::nullopt;
  }
  return bytes;
}

}  // namespace archscope
