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
// Prefill takes TOKENS consecutive query tokens per work group as well, so each key and
// value read serves TOKENS x HEADS queries (each with its own masks and online softmax);
// queries and weights sit in shared memory as vec4s, so one load brings four of them.
// DeepSeek V4 (attention_with_compressed): compressed entries join the raw window in one
// softmax. They are a second cache, attended in dispatches of their own with window 0 whose
// splits continue the raw cache's, and attention_combine.comp merges all of them. Slot s of
// a compressed cache holds positions [s ratio, (s + 1) ratio) (filled: (first_position +
// n_tokens) / ratio slots). With a selection (IndexerTopK ids, selected_k per token, -1:
// none) the split covers the token's list of ids instead of the slots (TOKENS is 1 then).
// Grid: x = splits of this part, y = query heads / HEADS, z = tokens / TOKENS.
#version 450
#extension GL_GOOGLE_include_directive : require

layout(local_size_x = 64) in;
layout(constant_id = 0) const uint QUANT_TYPE = 1;  // the cache type: f32, f16, bf16 or q8_0
layout(constant_id = 1) const uint DIMS = 16;       // output dims per invocation: head_dim_v / 64, rounded up
layout(constant_id = 2) const uint HEADS = 1;       // query heads per work group (dividing q_heads / kv_heads)
layout(constant_id = 3) const uint Q_SIZE = 1024;   // TOKENS x HEADS x head_dim_k rounded up to 4
layout(constant_id = 4) const uint TOKENS = 1;      // query tokens per work group
const uint QUERIES = TOKENS * HEADS;    // query (token, head) pairs per work group
const uint Q4 = (QUERIES + 3u) / 4u;    // vec4s holding one value per query
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
layout(set = 0, binding = 8) readonly buffer Selected { float selected[]; };  // tokens x selected_k

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
  uint ratio;                  // positions per slot (compressed entries), else 1
  uint selected_k;             // ids per token in Selected; 0: attend all slots
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

shared vec4 q_shared[Q_SIZE / 4u];         // per query: head_dim_k rounded up to 4, zero padded
shared vec4 weight_shared[64u * Q4];       // per slot of the tile: exp(score - m) per query, 0 when masked
shared vec4 max_partials[64u * Q4];        // per subgroup: the tile maxima per query
shared uint tile_slots[64];                // the slot each tile entry reads (a selection's ids)

// Maxima over the work group of each query's score (one pair of barriers for all).
void tile_maxima(float score[QUERIES], out float result[QUERIES]) {
  barrier();  // the previous tile may still be reading max_partials
  for (uint c = 0u; c < Q4; ++c) {
    vec4 v = vec4(MASKED);
    for (uint k = 0u; k < 4u; ++k) {
      if (4u * c + k < QUERIES) v[k] = subgroupMax(score[4u * c + k]);
    }
    if (subgroupElect()) max_partials[gl_SubgroupID * Q4 + c] = v;
  }
  barrier();
  for (uint c = 0u; c < Q4; ++c) {
    vec4 v = max_partials[c];
    for (uint s = 1u; s < gl_NumSubgroups; ++s) v = max(v, max_partials[s * Q4 + c]);
    for (uint k = 0u; k < 4u; ++k) {
      if (4u * c + k < QUERIES) result[4u * c + k] = v[k];
    }
  }
}

void main() {
  const uint t0 = gl_WorkGroupID.z * TOKENS, first_head = gl_WorkGroupID.y * HEADS;
  const uint split = p.first_split + gl_WorkGroupID.x;
  if (t0 >= uint(step.n_tokens)) return;
  const uint lid = gl_LocalInvocationID.x;
  const uint kv_head = first_head / (p.q_heads / p.kv_heads);
  const uint filled = uint(min((step.first_position + step.n_tokens) / int(p.ratio), int(p.capacity)));
  const bool gather = p.selected_k > 0u;
  // The tile walks slots [begin, end), or with a selection entries [begin, end) of its list.
  const uint begin = (gather ? 0u : p.first_slot) + gl_WorkGroupID.x * p.chunk;
  const uint end = gather ? min(begin + p.chunk, p.selected_k)
                          : min(min(begin + p.chunk, p.first_slot + p.part_slots), filled);
  const uint q_stride = (p.head_dim_k + 3u) / 4u;  // vec4s per query in q_shared
  // Tokens of the tile past the step's last are never visible, nor written.
  const uint tokens = min(TOKENS, uint(step.n_tokens) - t0);

  // Query i = tt x HEADS + h is token t0 + tt, head first_head + h.
  for (uint i = lid; i < QUERIES * q_stride * 4u; i += 64u) {
    const uint query = i / (q_stride * 4u), e = i % (q_stride * 4u), tt = query / HEADS;
    const uint source = ((t0 + tt) * p.q_heads + first_head + query % HEADS) * p.head_dim_k + e;
    q_shared[i >> 2][i & 3u] = tt < tokens && e < p.head_dim_k ? q[source] : 0.0;
  }
  barrier();

  float m[QUERIES], l[QUERIES], acc[QUERIES * DIMS];
  for (uint i = 0u; i < QUERIES; ++i) {
    m[i] = MASKED;
    l[i] = 0.0;
  }
  for (uint j = 0u; j < QUERIES * DIMS; ++j) acc[j] = 0.0;

  for (uint base = begin; base < end; base += 64u) {
    // Invocation lid scores slot base + lid for each query; a slot is visible to all heads
    // of a token or to none (they share the query position).
    uint slot = base + lid;
    bool present = slot < end;
    if (gather && present) {  // the id, if it is one of this part's filled slots
      const float id = selected[t0 * p.selected_k + slot];
      slot = id >= 0.0 ? uint(id) : 0xFFFFFFFFu;
      present = slot >= p.first_slot && slot - p.first_slot < p.part_slots && slot < filled;
    }
    tile_slots[lid] = present ? slot : p.first_slot;
    float score[QUERIES];
    for (uint i = 0u; i < QUERIES; ++i) score[i] = MASKED;
    if (present) {
      const int key_pos = positions[slot];
      bool visible[TOKENS], seen = false;
      for (uint tt = 0u; tt < TOKENS; ++tt) {
        const int query_pos = step.first_position + int(t0 + tt);
        visible[tt] = tt < tokens && key_pos >= 0 && key_pos <= query_pos &&
                      (p.window == 0u || uint(query_pos - key_pos) < p.window);
        seen = seen || visible[tt];
      }
      if (seen) {
        const uint row = (slot - p.first_slot) * p.key_stride;
        float dot[QUERIES];
        for (uint i = 0u; i < QUERIES; ++i) dot[i] = 0.0;
        for (uint e = 0u; e < p.head_dim_k; e += 32u) {
          const uint n = min(32u, p.head_dim_k - e);
          float k[32];
          load32(row, kv_head * p.head_dim_k + e, n, k);
          for (uint i = 0u; i < QUERIES; ++i) {
            for (uint c = 0u; 4u * c < n; ++c) {
              const vec4 qv = q_shared[i * q_stride + e / 4u + c];  // zero past head_dim_k, as k
              dot[i] += qv.x * k[4u * c];
              dot[i] += qv.y * k[4u * c + 1u];
              dot[i] += qv.z * k[4u * c + 2u];
              dot[i] += qv.w * k[4u * c + 3u];
            }
          }
        }
        for (uint i = 0u; i < QUERIES; ++i) {
          if (!visible[i / HEADS]) continue;
          score[i] = dot[i] * p.scale;
          if (p.softcap != 0.0) score[i] = p.softcap * tanh(clamp(score[i] / p.softcap, -15.0, 15.0));  // (tanh overflow)
        }
      }
    }
    float tile_max[QUERIES];
    tile_maxima(score, tile_max);  // (its barriers also publish tile_slots)
    bool any_visible = false;
    for (uint i = 0u; i < QUERIES; ++i) any_visible = any_visible || tile_max[i] != MASKED;
    if (!any_visible) continue;  // nothing visible in this tile

    for (uint c = 0u; c < Q4; ++c) {
      vec4 w4 = vec4(0.0);
      for (uint k = 0u; k < 4u; ++k) {
        const uint i = 4u * c + k;
        if (i >= QUERIES) break;
        const float m_new = max(m[i], tile_max[i]);
        const float alpha = exp(m[i] - m_new);  // rescales what was summed under the old maximum
        const float w = score[i] == MASKED ? 0.0 : exp(score[i] - m_new);
        w4[k] = w;
        l[i] = l[i] * alpha + w;
        for (uint j = 0u; j < DIMS; ++j) acc[i * DIMS + j] *= alpha;
        m[i] = m_new;
      }
      weight_shared[lid * Q4 + c] = w4;
    }
    barrier();
    for (uint s = 0u; s < 64u; ++s) {
      vec4 w4[Q4];
      bool used = false;
      for (uint c = 0u; c < Q4; ++c) {
        w4[c] = weight_shared[s * Q4 + c];
        used = used || any(notEqual(w4[c], vec4(0.0)));
      }
      if (!used) continue;
      const uint row = (tile_slots[s] - p.first_slot) * p.value_stride;
      for (uint j = 0u; j < DIMS; ++j) {
        const uint d = lid + 64u * j;
        if (d >= p.head_dim_v) break;
        const float v = value_at(row, kv_head * p.value_head + d);
        for (uint i = 0u; i < QUERIES; ++i) acc[i * DIMS + j] += w4[i / 4u][i % 4u] * v;
      }
    }
    barrier();  // weight_shared is rewritten next tile
  }

  for (uint i = 0u; i < QUERIES; ++i) {
    const uint t = t0 + i / HEADS, head = first_head + i % HEADS;
    const float total = workgroup_sum(l[i]);
    if (t >= t0 + tokens) continue;
    if (p.splits == 1u) {
      // Final softmax: the sink logit joins the maximum and the denominator; nothing
      // visible gives zeros (a sink alone carries no value).
      float factor = 0.0;
      if (m[i] != MASKED) {
        const float top = p.has_sinks != 0u ? max(m[i], sinks[head]) : m[i];
        const float denominator = total * exp(m[i] - top) + (p.has_sinks != 0u ? exp(sinks[head] - top) : 0.0);
        factor = exp(m[i] - top) / denominator;
      }
      const uint out_base = (t * p.q_heads + head) * p.head_dim_v;
      for (uint j = 0u; j < DIMS; ++j) {
        const uint d = lid + 64u * j;
        if (d < p.head_dim_v) result[out_base + d] = acc[i * DIMS + j] * factor;
      }
    } else {
      const uint record = ((t * p.q_heads + head) * p.splits + split) * (p.head_dim_v + 2u);
      if (lid == 0u) {
        partials[record] = m[i];
        partials[record + 1u] = total;
      }
      for (uint j = 0u; j < DIMS; ++j) {
        const uint d = lid + 64u * j;
        if (d < p.head_dim_v) partials[record + 2u + d] = acc[i * DIMS + j];
      }
    }
  }
}
