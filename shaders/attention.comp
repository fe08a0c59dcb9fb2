// Attention of each query (token t, head h) over the KV cache: scores = scale * q.k,
// optional softcap, causal and sliding-window masks from the per-slot positions, softmax
// with optional sink logit, weighted sum of the values. GQA: head h reads KV head
// h / (q_heads / kv_heads); a work group takes HEADS query heads of one KV head together,
// so each key and value it reads serves all of them.
//
// The filled slots, min(first_position + n_tokens, capacity) of them, are cut into splits
// of `chunk` slots; a work group handles one (split, HEADS heads, token) with an online
// softmax per head (running maximum m, sum l, unnormalized output acc), 64 slots a tile:
// invocation i scores slot i of the tile, then every invocation adds the tile's weighted
// values into its own output dims. With one split it writes the output; otherwise it
// writes (m, l, acc) and attention_combine.comp merges the splits (flash decoding: a single
// decode token still fills the GPU).
// A cache bigger than one binding is bound in parts of whole slots, one dispatch each;
// each part is cut into its own splits (first_split numbers them across parts).
// Grid: x = splits of this part, y = query heads / HEADS, z = tokens.
#version 450
#extension GL_GOOGLE_include_directive : require

layout(local_size_x = 64) in;
layout(constant_id = 0) const uint QUANT_TYPE = 1;  // the cache type: f32, f16, bf16 or q8_0
layout(constant_id = 1) const uint DIMS = 16;       // output dims per invocation: head_dim_v / 64, rounded up
layout(constant_id = 2) const uint HEADS = 1;       // query heads per work group (dividing q_heads / kv_heads)
layout(constant_id = 3) const uint Q_SIZE = 1024;   // HEADS x head_dim_k
const float MASKED = -3.0e38;           // score of an invisible key (finite: no inf arithmetic)

#include "step.glsl"
#include "reduce.glsl"
layout(set = 0, binding = 1) readonly buffer Q { float q[]; };
layout(set = 0, binding = 2) readonly buffer Keys { uint keys[]; };
layout(set = 0, binding = 3) readonly buffer Values { uint values[]; };
layout(set = 0, binding = 4) readonly buffer Positions { int positions[]; };
layout(set = 0, binding = 5) readonly buffer Sinks { float sinks[]; };
layout(set = 0, binding = 6) writeonly buffer Partials { float partials[]; };
layout(set = 0, binding = 7) writeonly buffer Out { float result[]; };

layout(push_constant) uniform Push {
  uint q_heads, kv_heads, head_dim_k, head_dim_v;
  float scale, softcap;        // softcap 0: none
  uint window;                 // 0: no window
  uint has_sinks;
  uint capacity, chunk;        // slots in the cache, per split
  uint first_split;            // global index of this part's first split
  uint first_slot, part_slots;  // the slots this part binds
  uint key_stride, value_stride;  // bytes per slot
  uint value_head;             // elements between KV heads in a value row
  uint splits;                 // in all parts; 1: write the output directly
} p;

#define QUANT_WORDS keys
#include "quant.glsl"

// Element d of the value row at byte `row`.
float value_at(uint row, uint d) {
  if (QUANT_TYPE == TYPE_F32) return uintBitsToFloat(values[(row >> 2) + d]);
  if (QUANT_TYPE == TYPE_Q8_0) {
    const uint block = row + 34u * (d >> 5), b = block + 2u + (d & 31u);
    const float scale = unpackHalf2x16(values[block >> 2] >> ((block & 2u) * 8u)).x;
    return float(bitfieldExtract(int(values[b >> 2]), int((b & 3u) * 8u), 8)) * scale;
  }
  const uint b = row + 2u * d;
  const uint h = (values[b >> 2] >> ((b & 2u) * 8u)) & 0xffffu;
  return QUANT_TYPE == TYPE_F16 ? unpackHalf2x16(h).x : uintBitsToFloat(h << 16);
}

shared float q_shared[Q_SIZE];           // the HEADS query vectors
shared float weight_shared[HEADS * 64u];  // per head: exp(score - m) of the tile's slots, 0 when masked

void main() {
  const uint t = gl_WorkGroupID.z, first_head = gl_WorkGroupID.y * HEADS;
  const uint split = p.first_split + gl_WorkGroupID.x;
  if (t >= uint(step.n_tokens)) return;
  const uint lid = gl_LocalInvocationID.x;
  const uint kv_head = first_head / (p.q_heads / p.kv_heads);
  const int query_pos = step.first_position + int(t);
  const uint filled = uint(min(step.first_position + step.n_tokens, int(p.capacity)));
  const uint begin = p.first_slot + gl_WorkGroupID.x * p.chunk;
  const uint end = min(min(begin + p.chunk, p.first_slot + p.part_slots), filled);

  const uint q_base = (t * p.q_heads + first_head) * p.head_dim_k;  // the HEADS heads are adjacent
  for (uint i = lid; i < HEADS * p.head_dim_k; i += 64u) q_shared[i] = q[q_base + i];
  barrier();

  float m[HEADS], l[HEADS], acc[HEADS * DIMS];
  for (uint h = 0u; h < HEADS; ++h) {
    m[h] = MASKED;
    l[h] = 0.0;
  }
  for (uint j = 0u; j < HEADS * DIMS; ++j) acc[j] = 0.0;

  for (uint base = begin; base < end; base += 64u) {
    // Invocation lid scores slot base + lid for each head; a slot is visible to all of
    // them or to none (they share the query position).
    const uint slot = base + lid;
    float score[HEADS];
    for (uint h = 0u; h < HEADS; ++h) score[h] = MASKED;
    if (slot < end) {
      const int key_pos = positions[slot];
      if (key_pos >= 0 && key_pos <= query_pos && (p.window == 0u || uint(query_pos - key_pos) < p.window)) {
        const uint row = (slot - p.first_slot) * p.key_stride;
        float dot[HEADS];
        for (uint h = 0u; h < HEADS; ++h) dot[h] = 0.0;
        for (uint e = 0u; e < p.head_dim_k; e += 32u) {
          const uint n = min(32u, p.head_dim_k - e);
          float k[32];
          load32(row, kv_head * p.head_dim_k + e, n, k);
          for (uint h = 0u; h < HEADS; ++h) {
            for (uint i = 0u; i < n; ++i) dot[h] += q_shared[h * p.head_dim_k + e + i] * k[i];
          }
        }
        for (uint h = 0u; h < HEADS; ++h) {
          score[h] = dot[h] * p.scale;
          if (p.softcap != 0.0) score[h] = p.softcap * tanh(clamp(score[h] / p.softcap, -15.0, 15.0));  // (tanh overflow)
        }
      }
    }
    float tile_max[HEADS];
    for (uint h = 0u; h < HEADS; ++h) tile_max[h] = workgroup_max(score[h]);
    if (tile_max[0] == MASKED) continue;  // nothing visible in this tile

    for (uint h = 0u; h < HEADS; ++h) {
      const float m_new = max(m[h], tile_max[h]);
      const float alpha = exp(m[h] - m_new);  // rescales what was summed under the old maximum
      const float w = score[h] == MASKED ? 0.0 : exp(score[h] - m_new);
      weight_shared[h * 64u + lid] = w;
      l[h] = l[h] * alpha + w;
      for (uint j = 0u; j < DIMS; ++j) acc[h * DIMS + j] *= alpha;
      m[h] = m_new;
    }
    barrier();
    for (uint i = 0u; i < 64u; ++i) {
      float w[HEADS];
      bool any = false;
      for (uint h = 0u; h < HEADS; ++h) {
        w[h] = weight_shared[h * 64u + i];
        any = any || w[h] != 0.0;
      }
      if (!any) continue;
      const uint row = (base + i - p.first_slot) * p.value_stride;
      for (uint j = 0u; j < DIMS; ++j) {
        const uint d = lid + 64u * j;
        if (d >= p.head_dim_v) break;
        const float v = value_at(row, kv_head * p.value_head + d);
        for (uint h = 0u; h < HEADS; ++h) acc[h * DIMS + j] += w[h] * v;
      }
    }
    barrier();  // weight_shared is rewritten next tile
  }

  for (uint h = 0u; h < HEADS; ++h) {
    const uint head = first_head + h;
    const float total = workgroup_sum(l[h]);
    if (p.splits == 1u) {
      // Final softmax: the sink logit joins the maximum and the denominator; nothing
      // visible gives zeros (a sink alone carries no value).
      float factor = 0.0;
      if (m[h] != MASKED) {
        const float top = p.has_sinks != 0u ? max(m[h], sinks[head]) : m[h];
        const float denominator = total * exp(m[h] - top) + (p.has_sinks != 0u ? exp(sinks[head] - top) : 0.0);
        factor = exp(m[h] - top) / denominator;
      }
      const uint out_base = (t * p.q_heads + head) * p.head_dim_v;
      for (uint j = 0u; j < DIMS; ++j) {
        const uint d = lid + 64u * j;
        if (d < p.head_dim_v) result[out_base + d] = acc[h * DIMS + j] * factor;
      }
    } else {
      const uint record = ((t * p.q_heads + head) * p.splits + split) * (p.head_dim_v + 2u);
      if (lid == 0u) {
        partials[record] = m[h];
        partials[record + 1u] = total;
      }
      for (uint j = 0u; j < DIMS; ++j) {
        const uint d = lid + 64u * j;
        if (d < p.head_dim_v) partials[record + 2u + d] = acc[h * DIMS + j];
      }
    }
  }
}
