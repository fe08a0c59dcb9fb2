// IndexerTopK, DeepSeek V4's lightning indexer (reference::indexer_top_k): per token, the
// top_k compressed entries by score = sum_h w[h] relu(q_h . k_j), best first, ties to the
// lower id; only entries with 0 <= position <= the token's position are candidates, and
// -1 fills the row when there are fewer. Two passes (PASS):
//   0  scores: an invocation per (token, entry) of one cache part writes the entry's
//      score as an order key (below) into scratch [tokens, filled entries]; 0: no candidate.
//      Grid: x = entries of the part / 256, y = tokens.
//   1  selection: a work group per token. A radix select (four 8-bit digits, a shared
//      histogram each) finds the top_k-th largest key T; the keys above T and the first
//      ties at T (in id order: the lower ids win) are gathered, then sorted (bitonic, key
//      descending, id ascending) in shared memory. A few passes over the scores instead
//      of one per pick, so 512 of 250,000 entries (a 1M context) stay cheap.
//      Grid: y = tokens.
// Order keys: a float's bits mapped so that unsigned order is float order (+0 for -0, so
// that equal scores tie); every key of a real score is at least 1.
#version 450
#extension GL_GOOGLE_include_directive : require
#extension GL_KHR_shader_subgroup_arithmetic : require

layout(local_size_x = 256) in;
const uint GROUP = 256u;
const uint MAX_K = 1024u;  // step_ops.cpp checks top_k <= this
layout(constant_id = 0) const uint QUANT_TYPE = 1;  // the key cache's type
layout(constant_id = 1) const uint PASS = 0;
const uint NONE = 0xFFFFFFFFu;

#include "step.glsl"
layout(set = 0, binding = 1) readonly buffer Q { float q[]; };              // tokens x heads x dim
layout(set = 0, binding = 2) readonly buffer W { float w[]; };              // tokens x heads
layout(set = 0, binding = 3) readonly buffer Keys { uint keys[]; };         // the part's slots
layout(set = 0, binding = 4) readonly buffer Positions { int positions[]; };
layout(set = 0, binding = 5) buffer Scratch { uint order[]; };              // tokens x filled
layout(set = 0, binding = 6) writeonly buffer Out { float result[]; };      // tokens x top_k

layout(push_constant) uniform Push {
  uint heads, dim;
  uint ratio, capacity;       // the key cache's positions per entry and slots
  uint first_slot, part_slots;
  uint key_stride;            // bytes per slot
  uint top_k;
} p;

#define QUANT_WORDS keys
#include "quant.glsl"

uint order_key(float s) {
  const uint bits = floatBitsToUint(s == 0.0 ? 0.0 : s);
  return (bits & 0x80000000u) != 0u ? ~bits : bits | 0x80000000u;
}

shared uint histogram[256];
shared uint picked_keys[MAX_K], picked_ids[MAX_K];
shared uint subgroup_counts[GROUP];  // per subgroup (at most GROUP of them)
shared uint shared_count, shared_digit, shared_left;

// a sorts before b: a higher key, or the same and a lower id.
bool before(uint a_key, uint a_id, uint b_key, uint b_id) { return a_key > b_key || (a_key == b_key && a_id < b_id); }

void main() {
  const uint t = gl_WorkGroupID.y;
  if (t >= uint(step.n_tokens)) return;
  const uint filled = uint(min((step.first_position + step.n_tokens) / int(p.ratio), int(p.capacity)));
  const int query_pos = step.first_position + int(t);

  if (PASS == 0u) {
    const uint slot = p.first_slot + gl_GlobalInvocationID.x;
    if (slot >= min(p.first_slot + p.part_slots, filled)) return;
    const int key_pos = positions[slot];
    uint key = 0u;
    if (key_pos >= 0 && key_pos <= query_pos) {
      const uint row = (slot - p.first_slot) * p.key_stride;
      float s = 0.0;
      for (uint h = 0u; h < p.heads; ++h) {
        float dot = 0.0;
        for (uint e = 0u; e < p.dim; e += 32u) {
          const uint n = min(32u, p.dim - e);
          float k[32];
          load32(row, e, n, k);
          const uint qi = (t * p.heads + h) * p.dim + e;
          for (uint i = 0u; i < n; ++i) dot += q[qi + i] * k[i];
        }
        s += w[t * p.heads + h] * max(dot, 0.0);
      }
      key = isnan(s) ? 0u : max(order_key(s), 1u);
    }
    order[t * filled + slot] = key;
    return;
  }

  const uint lid = gl_LocalInvocationID.x, row = t * filled;
  // Candidates: all of them are picked when there are at most top_k.
  if (lid == 0u) shared_count = 0u;
  barrier();
  uint mine = 0u;
  for (uint e = lid; e < filled; e += GROUP) mine += order[row + e] != 0u ? 1u : 0u;
  atomicAdd(shared_count, mine);
  barrier();
  const uint candidates = shared_count;
  const uint k = min(p.top_k, candidates);
  barrier();  // shared_count is reset below

  // The threshold T: with more candidates than top_k, the top_k-th largest key, digit by
  // digit from the top; `left` of the keys equal to T are picked. Else 0 (all candidates).
  uint threshold = 0u, left = 0u;
  if (candidates > p.top_k) {
    uint mask = 0u;
    left = p.top_k;  // still to pick among the keys matching threshold under mask
    for (int shift = 24; shift >= 0; shift -= 8) {
      histogram[lid] = 0u;
      barrier();
      for (uint e = lid; e < filled; e += GROUP) {
        const uint key = order[row + e];
        if ((key & mask) == threshold) atomicAdd(histogram[(key >> uint(shift)) & 255u], 1u);
      }
      barrier();
      if (lid == 0u) {
        uint above = 0u, digit = 0u;
        for (int d = 255; d >= 0; --d) {
          if (above + histogram[d] >= left) {
            digit = uint(d);
            break;
          }
          above += histogram[d];
        }
        shared_digit = digit;
        shared_left = left - above;
      }
      barrier();
      threshold |= shared_digit << uint(shift);
      mask |= 255u << uint(shift);
      left = shared_left;
      barrier();  // histogram is cleared next round
    }
  }

  // Gather the keys above T (in any order)...
  if (lid == 0u) shared_count = 0u;
  barrier();
  for (uint e = lid; e < filled; e += GROUP) {
    const uint key = order[row + e];
    if (key > threshold) {
      const uint at = atomicAdd(shared_count, 1u);
      picked_keys[at] = key;
      picked_ids[at] = e;
    }
  }
  barrier();
  // ...then the first `left` ties at T, in id order.
  const uint ties_at = shared_count;  // = k - left
  uint taken = 0u;
  for (uint base = 0u; taken < left && base < filled; base += GROUP) {
    const uint e = base + lid;
    const uint tie = e < filled && order[row + e] == threshold ? 1u : 0u;
    const uint rank_in_subgroup = subgroupExclusiveAdd(tie);
    const uint in_subgroup = subgroupAdd(tie);
    if (subgroupElect()) subgroup_counts[gl_SubgroupID] = in_subgroup;
    barrier();
    uint rank = taken + rank_in_subgroup, chunk = 0u;
    for (uint s = 0u; s < gl_NumSubgroups; ++s) {
      if (s < gl_SubgroupID) rank += subgroup_counts[s];
      chunk += subgroup_counts[s];
    }
    if (tie != 0u && rank < left) {
      picked_keys[ties_at + rank] = threshold;
      picked_ids[ties_at + rank] = e;
    }
    taken += chunk;
    barrier();  // subgroup_counts is rewritten next chunk
  }

  // Sort the k picks (padding to a power of two sorts last).
  uint size = 1u;
  while (size < k) size <<= 1;
  for (uint i = k + lid; i < size; i += GROUP) {
    picked_keys[i] = 0u;
    picked_ids[i] = NONE;
  }
  barrier();
  for (uint span = 2u; span <= size; span <<= 1) {
    for (uint stride = span >> 1; stride > 0u; stride >>= 1) {
      for (uint i = lid; i < size; i += GROUP) {
        const uint j = i ^ stride;
        if (j <= i) continue;
        // Ascending runs (best first) where bit `span` of i is 0, descending where it is 1.
        const bool first_best = (i & span) == 0u;
        const uint ki = picked_keys[i], ii = picked_ids[i], kj = picked_keys[j], ij = picked_ids[j];
        if (before(kj, ij, ki, ii) == first_best) {
          picked_keys[i] = kj;
          picked_ids[i] = ij;
          picked_keys[j] = ki;
          picked_ids[j] = ii;
        }
      }
      barrier();
    }
  }
  for (uint j = lid; j < p.top_k; j += GROUP) result[t * p.top_k + j] = j < k ? float(picked_ids[j]) : -1.0;
}
