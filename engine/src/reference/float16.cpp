// IEEE binary16 ("f16") and bfloat16 conversions, written out bit by bit so that every
// rounding case is visible. They agree bit for bit with ggml's reference conversions
// (ggml-impl.h: ggml_compute_fp32_to_fp16, ggml_compute_fp32_to_bf16).
#include <bit>
#include <cmath>

#include "reference/ops.h"

namespace archscope::reference {
namespace {

uint32_t bits_of(float f) { return std::bit_cast<uint32_t>(f); }
float float_of(uint32_t u) { return std::bit_cast<float>(u); }

// Shifts `value` right by `shift` bits (1..31), rounding to nearest with ties to even.
uint32_t shift_right_round_even(uint32_t value, int shift) {
  const uint32_t kept = value >> shift;
  const uint32_t rest = value & ((1u << shift) - 1);
  const uint32_t half = 1u << (shift - 1);
  return kept + ((rest > half || (rest == half && (kept & 1))) ? 1 : 0);
}

}  // namespace

// f16 layout: sign (1) | exponent (5, bias 15) | mantissa (10).
float fp16_to_f32(uint16_t h) {
  const uint32_t sign = uint32_t(h & 0x8000) << 16;
  const uint32_t exponent = (h >> 10) & 0x1F;
  const uint32_t mantissa = h & 0x3FF;
  if (exponent == 0x1F) {  // inf, or NaN (made quiet, payload kept)
    return float_of(sign | 0x7F800000u | (mantissa ? 0x00400000u | (mantissa << 13) : 0));
  }
  if (exponent == 0) {  // zero or subnormal: mantissa * 2^-24, exact in f32
    const float magnitude = std::ldexp(static_cast<float>(mantissa), -24);
    return sign ? -magnitude : magnitude;
  }
  // Normal: rebias the exponent from 15 to 127 and widen the mantissa.
  return float_of(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

uint16_t f32_to_fp16(float f) {
  const uint32_t u = bits_of(f);
  const uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000);
  const uint32_t magnitude = u & 0x7FFFFFFF;
  if (magnitude > 0x7F800000u) return sign | 0x7E00;  // NaN, as ggml writes it
  // 65520 (0x477FF000) is halfway between the largest f16 (65504) and 2^16; ties go to
  // the even neighbour, which is infinity. Everything from there on, inf included, is inf.
  if (magnitude >= 0x477FF000u) return sign | 0x7C00;
  const int exponent = static_cast<int>(magnitude >> 23);  // biased by 127
  const uint32_t mantissa = magnitude & 0x7FFFFF;
  if (exponent >= 113) {  // at least 2^-14: a normal f16 (rounding may carry into the exponent)
    const uint32_t normal = uint32_t(exponent - 112) << 23 | mantissa;  // rebiased to 15
    return sign | static_cast<uint16_t>(shift_right_round_even(normal, 13));
  }
  // Below 2^-14: an f16 subnormal, in units of 2^-24. The value is
  // (2^23 + mantissa) * 2^(exponent - 150), so the unit count is that shifted right by
  // 126 - exponent. Below 2^-25 (exponent < 102) it rounds to zero; rounding up from the
  // largest subnormal yields 0x0400, the smallest normal, which is the right encoding.
  if (exponent < 102) return sign;
  const uint32_t significand = mantissa | 0x800000;
  return sign | static_cast<uint16_t>(shift_right_round_even(significand, 126 - exponent));
}

// bfloat16 is the top half of an f32.
float bf16_to_f32(uint16_t h) { return float_of(uint32_t(h) << 16); }

uint16_t f32_to_bf16(float f) {
  const uint32_t u = bits_of(f);
  if ((u & 0x7FFFFFFF) > 0x7F800000u) return static_cast<uint16_t>((u >> 16) | 0x40);  // quiet NaN
  // Round to nearest even; a carry out of the mantissa bumps the exponent (to inf at the top).
  return static_cast<uint16_t>(shift_right_round_even(u, 16));
}

}  // namespace archscope::reference
