// llama.cpp's own quantizer and dequantizers, loaded at run time from the libggml-base.so
// that node-llama-cpp ships, so tests can hold archscope's quantization code to ggml's on
// any input, not only on the recorded golden rows. Available when ARCHSCOPE_NODE_LLAMA_CPP
// names a node_modules folder with node-llama-cpp (e.g. /opt/ref/node_modules); the tests
// that use it skip otherwise. ggml-base is the portable part of ggml (no SIMD), so its
// results are the ones every ggml backend's quantizer reproduces.
#pragma once

#include <dlfcn.h>

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "archscope/ggml_types.h"

namespace archscope::reference::testing {

class GgmlOracle {
 public:
  // nullptr when the library is not there (the reason is in why_unavailable()).
  static const GgmlOracle* get() {
    static GgmlOracle oracle;
    return oracle.handle_ ? &oracle : nullptr;
  }
  static std::string why_unavailable() {
    const char* modules = std::getenv("ARCHSCOPE_NODE_LLAMA_CPP");
    if (!modules) return "set ARCHSCOPE_NODE_LLAMA_CPP to a node_modules folder with node-llama-cpp";
    return std::string("cannot load ") + library_path(modules) + ": " + (dlerror() ? dlerror() : "?");
  }

  // ggml_quantize_chunk over `rows` rows of `n_per_row` (imatrix: n_per_row importances, or
  // nullptr; ggml insists on one for iq2_xxs, iq2_xs and iq1_s).
  std::vector<uint8_t> quantize(GgmlType type, const float* src, int64_t rows, int64_t n_per_row,
                                const float* imatrix) const {
    std::vector<uint8_t> out(*ggml_bytes(type, uint64_t(rows * n_per_row)));
    quantize_chunk_(static_cast<int>(type), src, out.data(), 0, rows, n_per_row, imatrix);
    return out;
  }

  // ggml's dequantize_row_<type> (ggml_fp16_to_fp32_row / ggml_bf16_to_fp32_row for the
  // float types); empty when ggml exports none for the type.
  std::vector<float> dequantize(GgmlType type, const uint8_t* src, int64_t n) const {
    using ToFloat = void (*)(const void*, float*, int64_t);
    const std::string name = type == GgmlType::F16    ? "ggml_fp16_to_fp32_row"
                             : type == GgmlType::BF16 ? "ggml_bf16_to_fp32_row"
                                                      : std::string("dequantize_row_") + ggml_type_info(type)->name;
    auto to_float = reinterpret_cast<ToFloat>(dlsym(handle_, name.c_str()));
    if (!to_float) return {};
    std::vector<float> out(static_cast<size_t>(n));
    to_float(src, out.data(), n);
    return out;
  }

 private:
  using QuantizeChunk = size_t (*)(int, const float*, void*, int64_t, int64_t, int64_t, const float*);

  static std::string library_path(const char* modules) {
    return std::string(modules) + "/@node-llama-cpp/linux-x64/bins/linux-x64/libggml-base.so";
  }

  GgmlOracle() {
    const char* modules = std::getenv("ARCHSCOPE_NODE_LLAMA_CPP");
    if (!modules) return;
    handle_ = dlopen(library_path(modules).c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle_) return;
    quantize_chunk_ = reinterpret_cast<QuantizeChunk>(dlsym(handle_, "ggml_quantize_chunk"));
    if (!quantize_chunk_) handle_ = nullptr;
  }

  void* handle_ = nullptr;
  QuantizeChunk quantize_chunk_ = nullptr;
};

}  // namespace archscope::reference::testing
