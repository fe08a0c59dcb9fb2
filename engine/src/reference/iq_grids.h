// The fixed grids of ggml's i-quants of 1 to 3 bits (ggml-common.h). A block stores, per
// group of 8 elements (4 for iq3), the index of one grid point: the point's magnitudes,
// one byte per element (element j in byte j, little-endian), with the signs and scales
// stored beside it. Every grid's length is a power of two that the index fields fill
// exactly, so any index a block can hold names a point (static_asserts in iq_quants.cpp).
//
// iq_grids.cpp holds the only copy: the reference path reads these arrays, and the Vulkan
// backend uploads them (iq_gpu_grid_words) for the shaders, whose iq_grids.glsl (the
// layout) the build writes from iq_gpu_grids() (shaders/iq_grids_glsl.cpp).
#pragma once

#include <array>
#include <bit>
#include <cstdint>
#include <span>
#include <vector>

namespace archscope::reference {

extern const std::array<uint64_t, 256> kIq2xxsGrid;  // levels 8, 25, 43
extern const std::array<uint64_t, 512> kIq2xsGrid;   // levels 8, 25, 43
extern const std::array<uint64_t, 1024> kIq2sGrid;   // levels 8, 25, 43
extern const std::array<uint32_t, 256> kIq3xxsGrid;  // levels 4, 12, 20, 28, 36, 44, 52, 62
extern const std::array<uint32_t, 512> kIq3sGrid;    // levels 1, 3, 5, ..., 15
extern const std::array<uint64_t, 2048> kIq1sGrid;   // int8 levels -1, 0, 1 (iq1_s and iq1_m)

// iq1_s / iq1_m add +-1/8 to every level of a group (ggml's IQ1S_DELTA, IQ1M_DELTA).
inline constexpr float kIq1Delta = 0.125f;

// Byte j of a grid point.
inline int grid_byte(uint64_t point, int j) { return static_cast<int>((point >> (8 * j)) & 0xFF); }

// iq2_xxs, iq2_xs and iq3_xxs store 7 sign bits per 8 elements: the eighth makes the number
// of negative elements even (the quantizer flips the least important one to ensure it).
// This is ggml's ksigns_iq2xs table, computed.
inline uint8_t signs_from_7_bits(uint32_t bits7) {
  const uint32_t s = bits7 & 127u;
  return static_cast<uint8_t>(s | ((std::popcount(s) & 1u) << 7));
}

// ---- The grids as the shaders read them: one storage buffer of 32-bit words, bound at
// kIqGridsBinding of set 0 in every pipeline (vulkan/pipeline.cpp, command_list.cpp) and
// read by shaders/quant_iq.glsl. (Not constant arrays in the shaders: lavapipe copies a
// dynamically indexed constant array into every invocation's memory, and takes minutes
// to compile the matmul shaders with them.) Layouts, element j of a point in byte j:
//   iq2 grids: two words per point, elements 0-3 then 4-7
//   iq3 grids: one word per point
//   iq1 grid:  two points per word, 16 bits each (the low half the even point), 2 bits
//              per element in two's complement (-1 = 3), element j in bits 2j..2j+1
inline constexpr uint32_t kIqGridsBinding = 15;

struct IqGpuGrid {
  const char* name;  // the GLSL constant holding its word offset: "IQ2XXS_GRID"
  uint32_t offset;   // first word in the buffer
  uint32_t words;
};
std::span<const IqGpuGrid> iq_gpu_grids();
std::vector<uint32_t> iq_gpu_grid_words();  // all grids at their offsets

}  // namespace archscope::reference
