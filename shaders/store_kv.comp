// StoreKv: writes each token's keys (and values) into its cache slot, converted to the
// cache type, and records the slot's position. Token t is at position first_position + t,
// slot position % capacity (a ring buffer when capacity is a sliding window). When a step
// has more tokens than slots, the last token for a slot wins, as writing in order would.
// Compressed entries (ratio > 1, DeepSeek V4): only tokens whose position p completes a
// block of `ratio` store (the entry pooled into their row by compress_kv.comp), in slot
// p / ratio (the host checks it is below capacity), recording p.
// Cache rows are padded to whole words, so every invocation writes whole words of its own:
//   f32: one element; f16 / bf16: two elements; q8_0: two blocks (64 elements, 17 words).
// A cache bigger than one binding is bound in parts of whole slots, one dispatch each.
// Grid: x covers a row's words groups, y the tokens, z keys (0) and values (1).
#version 450
#extension GL_GOOGLE_include_directive : require

layout(local_size_x = 64) in;
layout(constant_id = 0) const uint CACHE_TYPE = 1;  // ggml type: 0 f32, 1 f16, 8 q8_0, 30 bf16

#include "step.glsl"
#include "float16.glsl"
layout(set = 0, binding = 1) readonly buffer Keys { float keys[]; };
layout(set = 0, binding = 2) readonly buffer Values { float values[]; };
layout(set = 0, binding = 3) writeonly buffer KeyCache { uint key_cache[]; };
layout(set = 0, binding = 4) writeonly buffer ValueCache { uint value_cache[]; };
layout(set = 0, binding = 5) writeonly buffer Positions { int positions[]; };

layout(push_constant) uniform Push {
  uint key_cols, value_cols;      // elements per token
  uint key_stride, value_stride;  // bytes per cache slot (multiples of 4)
  uint capacity;
  uint first_slot, slots;         // the part of the cache bound here
  uint has_values;
  uint ratio;                     // positions per slot: 1, or a compressed cache's ratio
} p;

float source(bool value, uint i) { return value ? values[i] : keys[i]; }

void store(bool value, uint i, uint word) {
  if (value) {
    value_cache[i] = word;
  } else {
    key_cache[i] = word;
  }
}

// roundf: to nearest, halves away from zero (GLSL's round() may pick either way).
float round_away(float x) {
  const float whole = trunc(x);
  return abs(x - whole) >= 0.5 ? whole + sign(x) : whole;
}

// ggml's q8_0: d = amax / 127, q = round(x / d); 17 halfwords (d, then the q pairs).
void quantize_q8_0(bool value, uint src, out uint halves[17]) {
  float amax = 0.0;
  for (uint j = 0u; j < 32u; ++j) amax = max(amax, abs(source(value, src + j)));
  const float d = amax / 127.0;
  const float id = d != 0.0 ? 1.0 / d : 0.0;
  halves[0] = f32_to_f16(d);
  for (uint j = 0u; j < 16u; ++j) {
    const float x0 = source(value, src + 2u * j) * id, x1 = source(value, src + 2u * j + 1u) * id;
    const int q0 = int(clamp(round_away(x0), -128.0, 127.0));
    const int q1 = int(clamp(round_away(x1), -128.0, 127.0));
    halves[1u + j] = uint(q0 & 255) | (uint(q1 & 255) << 8);
  }
}

void main() {
  const uint t = gl_WorkGroupID.y;
  const uint n = uint(step.n_tokens);
  if (t >= n) return;
  const int position = step.first_position + int(t);
  uint slot = uint(position) % p.capacity;
  if (p.ratio > 1u) {
    if ((uint(position) + 1u) % p.ratio != 0u || uint(position) / p.ratio >= p.capacity) return;  // no entry here
    slot = uint(position) / p.ratio;
  } else if (t + p.capacity < n) {
    return;  // a later token takes the slot
  }
  if (slot < p.first_slot || slot - p.first_slot >= p.slots) return;  // in another part
  const bool value = gl_WorkGroupID.z == 1u;
  if (value && p.has_values == 0u) return;

  const uint item = gl_GlobalInvocationID.x;
  const uint cols = value ? p.value_cols : p.key_cols;
  const uint row = (slot - p.first_slot) * ((value ? p.value_stride : p.key_stride) / 4u);  // in words
  const uint src = t * cols;
  if (item == 0u && !value) positions[slot] = position;

  if (CACHE_TYPE == 0u) {
    if (item < cols) store(value, row + item, floatBitsToUint(source(value, src + item)));
  } else if (CACHE_TYPE == 1u || CACHE_TYPE == 30u) {
    const uint e = 2u * item;
    if (e >= cols) return;
    const float x0 = source(value, src + e), x1 = e + 1u < cols ? source(value, src + e + 1u) : 0.0;
    const uint lo = CACHE_TYPE == 1u ? f32_to_f16(x0) : f32_to_bf16(x0);
    const uint hi = CACHE_TYPE == 1u ? f32_to_f16(x1) : f32_to_bf16(x1);
    store(value, row + item, lo | (hi << 16));
  } else if (CACHE_TYPE == 8u) {
    const uint e = 64u * item;
    if (e >= cols) return;
    uint halves[34];
    uint first[17], second[17];
    quantize_q8_0(value, src + e, first);
    if (e + 32u < cols) {
      quantize_q8_0(value, src + e + 32u, second);
    } else {
      for (uint j = 0u; j < 17u; ++j) second[j] = 0u;  // the row's padding
    }
    for (uint j = 0u; j < 17u; ++j) {
      halves[j] = first[j];
      halves[17u + j] = second[j];
    }
    const uint words = e + 32u < cols ? 17u : 9u;
    for (uint k = 0u; k < words; ++k) store(value, row + 17u * item + k, halves[2u * k] | (halves[2u * k + 1u] << 16));
  }
}
