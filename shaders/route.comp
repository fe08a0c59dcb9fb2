// MoE routing (reference::route, llama.cpp build_moe_ffn): per token, expert scores from
// the router logits (softmax, sigmoid or sqrt(softplus)), the top_k experts by score plus
// the selection bias (ties: lower id), their unbiased scores as weights, renormalised to
// sum 1 (the sum clamped to >= 6.1e-5) and scaled. out row: top_k ids (as floats, best
// first), then top_k weights. With `chosen` (DeepSeek V4's hash routing) the experts are
// given (ids as floats, from the token's row of an id table) and only weighed here; the
// backend checks the table's ids, and an id outside [0, experts) is clamped into it so that
// nothing is read out of bounds.
// One work group per token; its invocations take the experts in turn. top_k rounds, each
// an arg-max over the experts not yet chosen: every invocation finds its best, then a
// shared-memory tree finds the group's (a decode step routes in a few microseconds even
// over hundreds of experts).
// Grid: x = tokens (the graph's max_tokens); rows past the step's count leave.
#version 450
#extension GL_GOOGLE_include_directive : require

layout(local_size_x = 64) in;
const uint GROUP = 64u;
const uint MAX_K = 64u;  // step_ops.cpp checks top_k <= this
const uint NONE = 0xFFFFFFFFu;

#include "step.glsl"
#include "reduce.glsl"
layout(set = 0, binding = 1) readonly buffer Logits { float logits[]; };
layout(set = 0, binding = 2) readonly buffer Bias { float bias[]; };
layout(set = 0, binding = 3) writeonly buffer Out { float result[]; };
layout(set = 0, binding = 4) readonly buffer Chosen { float given[]; };  // tokens x top_k, if has_chosen

layout(push_constant) uniform Push {
  uint experts;
  uint top_k;
  uint score;      // 0 softmax, 1 sigmoid, 2 sqrt(softplus)
  uint has_bias;
  uint normalize;
  float scale;
  uint per_token;
  uint has_chosen;
} p;

shared float cand_sel[GROUP], cand_score[GROUP];
shared uint cand_id[GROUP];
shared uint chosen[MAX_K];
shared float chosen_score[MAX_K];

float softplus(float x) { return x > 20.0 ? x : log(1.0 + exp(x)); }
// An expert's score from its logit (softmax: with the row's maximum m and sum of exp).
float expert_score(float x, float m, float sum) {
  return p.score == 0u ? exp(x - m) / sum : p.score == 1u ? 1.0 / (1.0 + exp(-x)) : sqrt(softplus(x));
}

// a beats b: a higher selection value, or the same and a lower id; NONE never wins.
bool beats(float a_sel, uint a_id, float b_sel, uint b_id) {
  return a_id != NONE && (b_id == NONE || a_sel > b_sel || (a_sel == b_sel && a_id < b_id));
}

void main() {
  const uint t = gl_WorkGroupID.x;
  if (t >= rows_in_step(p.per_token)) return;  // the whole group leaves together
  const uint base = t * p.experts, id = gl_LocalInvocationID.x;

  float m = uintBitsToFloat(0xFF800000u), sum = 0.0;  // softmax: max and sum of exp
  if (p.score == 0u) {
    for (uint e = id; e < p.experts; e += GROUP) m = max(m, logits[base + e]);
    m = workgroup_max(m);
    for (uint e = id; e < p.experts; e += GROUP) sum += exp(logits[base + e] - m);
    sum = workgroup_sum(sum);
  }

  if (p.has_chosen != 0u) {
    if (id < p.top_k) {
      const float e = clamp(given[t * p.top_k + id], 0.0, float(p.experts - 1u));
      chosen[id] = uint(e);
      const float x = logits[base + chosen[id]];
      chosen_score[id] = expert_score(x, m, sum);
    }
    barrier();
  }
  for (uint j = 0u; j < (p.has_chosen != 0u ? 0u : p.top_k); ++j) {
    float best_sel = 0.0, best_score = 0.0;
    uint best = NONE;
    for (uint e = id; e < p.experts; e += GROUP) {  // ascending ids: strict > keeps the lower id
      bool taken = false;
      for (uint i = 0u; i < j; ++i) taken = taken || chosen[i] == e;
      if (taken) continue;
      const float x = logits[base + e];
      const float s = expert_score(x, m, sum);
      const float sel = p.has_bias != 0u ? s + bias[e] : s;
      if (best == NONE || sel > best_sel) {
        best = e;
        best_sel = sel;
        best_score = s;
      }
    }
    cand_sel[id] = best_sel;
    cand_score[id] = best_score;
    cand_id[id] = best;
    barrier();
    for (uint stride = GROUP / 2u; stride > 0u; stride >>= 1u) {
      if (id < stride && beats(cand_sel[id + stride], cand_id[id + stride], cand_sel[id], cand_id[id])) {
        cand_sel[id] = cand_sel[id + stride];
        cand_score[id] = cand_score[id + stride];
        cand_id[id] = cand_id[id + stride];
      }
      barrier();
    }
    if (id == 0u) {
      chosen[j] = cand_id[0];
      chosen_score[j] = cand_score[0];
    }
    barrier();
  }

  if (id != 0u) return;
  float total = 0.0;
  for (uint j = 0u; j < p.top_k; ++j) total += chosen_score[j];
  const float divisor = p.normalize != 0u ? max(total, 6.103515625e-5) : 1.0;
  const uint row = t * 2u * p.top_k;
  for (uint j = 0u; j < p.top_k; ++j) {
    result[row + j] = float(chosen[j]);
    result[row + p.top_k + j] = chosen_score[j] / divisor * p.scale;
  }
}
