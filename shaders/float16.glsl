// f32 to f16 and bf16 bits, rounding to nearest even: bit for bit the conversions of the
// reference (engine/src/reference/float16.cpp, as ggml's), rather than packHalf2x16, whose
// rounding each driver chooses.

uint shift_right_round_even(uint value, uint shift) {
  const uint kept = value >> shift;
  const uint rest = value & ((1u << shift) - 1u);
  const uint half_ = 1u << (shift - 1u);
  return kept + ((rest > half_ || (rest == half_ && (kept & 1u) != 0u)) ? 1u : 0u);
}

uint f32_to_f16(float f) {
  const uint u = floatBitsToUint(f);
  const uint sign = (u >> 16) & 0x8000u;
  const uint magnitude = u & 0x7fffffffu;
  if (magnitude > 0x7f800000u) return sign | 0x7e00u;   // NaN
  if (magnitude >= 0x477ff000u) return sign | 0x7c00u;  // rounds to infinity
  const uint exponent = magnitude >> 23, mantissa = magnitude & 0x7fffffu;
  if (exponent >= 113u) return sign | shift_right_round_even(((exponent - 112u) << 23) | mantissa, 13u);
  if (exponent < 102u) return sign;  // below half the smallest subnormal
  return sign | shift_right_round_even(mantissa | 0x800000u, 126u - exponent);
}

uint f32_to_bf16(float f) {
  const uint u = floatBitsToUint(f);
  if ((u & 0x7fffffffu) > 0x7f800000u) return ((u >> 16) | 0x40u) & 0xffffu;  // quiet NaN
  return shift_right_round_even(u, 16u) & 0xffffu;
}
