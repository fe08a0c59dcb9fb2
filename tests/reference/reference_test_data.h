// Deterministic inputs for the reference-op tests. Everything here uses only exact float
// operations (no libm), so the same numbers come out on every IEEE machine; the constants
// in quants_test.cpp and norm_rope_test.cpp were produced from these inputs by llama.cpp's
// ggml (see the procedure described there).
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

namespace archscope::reference::testing {

// A 64-bit LCG (Knuth's MMIX constants); uniform() returns k * 2^-23 - 1 for a 24-bit k,
// i.e. a float in [-1, 1) that is exactly representable.
struct Lcg {
  uint64_t state;
  explicit Lcg(uint64_t seed) : state(seed) {}
  uint32_t next24() {
    state = state * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<uint32_t>(state >> 40);
  }
  float uniform() { return static_cast<float>(next24()) * 0x1p-23f - 1.0f; }
};

// The row every quantization golden test uses: five 256-element super-blocks, each
// stressing a different path of the quantizers.
//   0: uniform in [-1, 1)
//   1: each 32-group scaled by 0.37 * (1..8)          (sub-block scales differ)
//   2: groups shifted to all-positive (+3) or mostly negative (-1.25)   (mins)
//   3: tiny values (1e-3), one all-zero group, one outlier of 25         (dominating scale)
//   4: all zeros                                                          (zero paths)
inline constexpr int kGoldenRowLength = 5 * 256;

inline std::vector<float> golden_row() {
  std::vector<float> x(kGoldenRowLength);
  Lcg rng(0x5eed1234abcdull);
  for (int i = 0; i < kGoldenRowLength; ++i) {
    const float u = rng.uniform();
    const int g = i / 32;  // 32-element group
    if (g < 8) {
      x[i] = u;
    } else if (g < 16) {
      x[i] = u * (0.37f * static_cast<float>(g - 7));
    } else if (g < 24) {
      x[i] = u * 0.5f + (g % 2 == 0 ? 3.0f : -1.25f);
    } else if (g < 32) {
      x[i] = g == 27 ? 0.0f : u * 1e-3f;
      if (i == 1000) x[i] = 25.0f;
    } else {
      x[i] = 0.0f;
    }
  }
  return x;
}

// A wider row for the hash-only golden checks: 32 super-blocks whose 32-groups each get
// an amplitude of 2^-6 .. 2^5 and, for a third of them, a shift of -2 .. 2 amplitudes;
// values are the sum of two uniforms (a triangular distribution), so the quantizers' scale
// searches meet many different shapes.
inline constexpr int kWideGoldenRowLength = 32 * 256;

inline std::vector<float> wide_golden_row() {
  std::vector<float> x(kWideGoldenRowLength);
  Lcg rng(0xa11ce5ull);
  float amplitude = 1.0f, shift = 0.0f;
  for (int i = 0; i < kWideGoldenRowLength; ++i) {
    if (i % 32 == 0) {
      amplitude = static_cast<float>(1u << (rng.next24() % 12)) * 0x1p-6f;
      const bool shifted = rng.next24() % 3 == 0;
      shift = shifted ? static_cast<float>(static_cast<int>(rng.next24() % 5) - 2) * amplitude : 0.0f;
    }
    x[i] = (rng.uniform() + rng.uniform()) * amplitude + shift;
  }
  return x;
}

// FNV-1a, 64 bits, over raw bytes.
inline uint64_t fnv1a(const void* data, size_t bytes) {
  const auto* p = static_cast<const uint8_t*>(data);
  uint64_t h = 0xcbf29ce484222325ull;
  for (size_t i = 0; i < bytes; ++i) {
    h ^= p[i];
    h *= 0x100000001b3ull;
  }
  return h;
}

inline uint64_t fnv1a(const std::vector<float>& v) { return fnv1a(v.data(), v.size() * sizeof(float)); }
inline uint64_t fnv1a(const std::vector<uint8_t>& v) { return fnv1a(v.data(), v.size()); }

}  // namespace archscope::reference::testing
