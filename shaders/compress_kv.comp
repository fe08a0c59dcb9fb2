// CompressKv, the pooling half (reference::compress_block): each token of the step whose
// position completes a block of `ratio` (HCA) becomes one compressed entry: per channel c,
// a softmax over the block's rows of score + ape (ape row = row % ratio) weighs the rows'
// kv; then RMSNorm (norm weight) over the entry and RoPE at the block's first position on
// its last dims. CSA (overlap) pools 2 ratio rows: the previous block's rows read channels
// [0, width), the block's own rows [width, 2 width). A row comes from this step's kv and
// score tensors, or, before the step, from the compressor's state ring (F32 rows of the
// last `capacity` positions); a row before position 0 is missing (kv 0, weight 0). (The
// host refuses a step whose rows the ring lost, as the CPU backend does; such a row would
// count as missing here.)
// The entries land in row t of `entries` (scratch); store_kv.comp then writes them into the
// compressed cache and the step's rows into the ring (after this has read it).
// Grid: y = tokens (the graph's max_tokens); one work group per token.
#version 450
#extension GL_GOOGLE_include_directive : require

layout(local_size_x = 256) in;
const uint GROUP = 256u;
const uint MAX_WIDTH = 1024u;  // the backend's largest cache row
const float MISSING = -3.0e38;

#include "step.glsl"
#include "reduce.glsl"
#include "rope.glsl"
layout(set = 0, binding = 1) readonly buffer Kv { float kv[]; };
layout(set = 0, binding = 2) readonly buffer Score { float score[]; };
layout(set = 0, binding = 3) readonly buffer Ape { float ape[]; };    // ratio x row_width
layout(set = 0, binding = 4) readonly buffer Norm { float norm[]; };  // width
layout(set = 0, binding = 5) readonly buffer RingKv { float ring_kv[]; };
layout(set = 0, binding = 6) readonly buffer RingScore { float ring_score[]; };
layout(set = 0, binding = 7) readonly buffer RingPositions { int ring_positions[]; };
layout(set = 0, binding = 8) writeonly buffer Entries { float entries[]; };

layout(push_constant) uniform Push {
  uint width, row_width, ratio, overlap;
  float eps;
  uint capacity;  // ring slots
  uint rotary_dims, rotary_offset, neox;
  Rope rope;
} p;

shared float entry[MAX_WIDTH];

// Where channel c of pooled row r sits in a kv / score row.
uint column(uint r, uint c) { return (p.overlap != 0u && r >= p.ratio ? p.width : 0u) + c; }

// score + ape of channel c of pooled row r (position q), or MISSING.
float logit(int q, uint r, uint c) {
  const uint col = column(r, c);
  const int first = step.first_position;
  float s = MISSING;
  if (q >= first) {
    s = score[uint(q - first) * p.row_width + col];
  } else if (q >= 0) {
    const uint slot = uint(q) % p.capacity;
    if (ring_positions[slot] == q) s = ring_score[slot * p.row_width + col];
  }
  return s == MISSING ? s : s + ape[(r % p.ratio) * p.row_width + col];
}

void main() {
  const uint t = gl_WorkGroupID.y;
  if (t >= uint(step.n_tokens)) return;
  const int first = step.first_position, pos = first + int(t);
  if ((pos + 1) % int(p.ratio) != 0) return;  // the whole group leaves together
  const int start = pos + 1 - int(p.ratio);
  const int source = p.overlap != 0u ? start - int(p.ratio) : start;
  const uint rows = p.overlap != 0u ? 2u * p.ratio : p.ratio;
  const uint lid = gl_LocalInvocationID.x;

  float squares = 0.0;
  for (uint c = lid; c < p.width; c += GROUP) {
    float top = MISSING;
    for (uint r = 0u; r < rows; ++r) top = max(top, logit(source + int(r), r, c));
    float sum = 0.0, acc = 0.0;
    for (uint r = 0u; r < rows; ++r) {  // the logits again: cheaper than a register array per row
      const int q = source + int(r);
      const float l = logit(q, r, c);
      if (l == MISSING) continue;
      const uint col = column(r, c);
      const float x = q >= first ? kv[uint(q - first) * p.row_width + col]
                                 : ring_kv[(uint(q) % p.capacity) * p.row_width + col];
      const float w = exp(l - top);
      sum += w;
      acc += w * x;
    }
    const float value = sum > 0.0 ? acc / sum : 0.0;
    entry[c] = value;
    squares += value * value;
  }
  const float scale = 1.0 / sqrt(workgroup_sum(squares) / float(p.width) + p.eps);
  for (uint c = lid; c < p.width; c += GROUP) entry[c] = entry[c] * scale * norm[c];
  barrier();
  const uint half_ = p.rotary_dims / 2u;
  for (uint i = lid; i < half_; i += GROUP) {
    const vec2 cs = rope_cos_sin(p.rope, start, i, 1.0, false);
    const uint ia = p.rotary_offset + (p.neox != 0u ? i : 2u * i);
    const uint ib = p.rotary_offset + (p.neox != 0u ? i + half_ : 2u * i + 1u);
    const float x0 = entry[ia], x1 = entry[ib];
    entry[ia] = x0 * cs.x - x1 * cs.y;
    entry[ib] = x0 * cs.y + x1 * cs.x;
  }
  barrier();
  for (uint c = lid; c < p.width; c += GROUP) entries[t * p.width + c] = entry[c];
}
