// MoE routing (reference::route, llama.cpp build_moe_ffn): per token, expert scores from
// the router logits (softmax, sigmoid or sqrt(softplus)), the top_k experts by score plus
// the selection bias (ties: lower id), their unbiased scores as weights, renormalised to
// sum 1 (the sum clamped to >= 6.1e-5) and scaled. out row: top_k ids (as floats, best
// first), then top_k weights.
// A few hundred experts and top-k of a few: one invocation per token is plenty (k passes
// over the experts); the step's other ops dominate.
// Grid: x = tokens (the graph's max_tokens); rows past the step's count leave.
#version 450
#extension GL_GOOGLE_include_directive : require

layout(local_size_x = 1) in;
const uint MAX_K = 64u;  // step_ops.cpp checks top_k <= this

#include "step.glsl"
layout(set = 0, binding = 1) readonly buffer Logits { float logits[]; };
layout(set = 0, binding = 2) readonly buffer Bias { float bias[]; };
layout(set = 0, binding = 3) writeonly buffer Out { float result[]; };

layout(push_constant) uniform Push {
  uint experts;
  uint top_k;
  uint score;      // 0 softmax, 1 sigmoid, 2 sqrt(softplus)
  uint has_bias;
  uint normalize;
  float scale;
  uint per_token;
} p;

float softplus(float x) { return x > 20.0 ? x : log(1.0 + exp(x)); }

void main() {
  const uint t = gl_WorkGroupID.x;
  if (t >= rows_in_step(p.per_token)) return;
  const uint base = t * p.experts;
  float m = uintBitsToFloat(0xFF800000u), sum = 0.0;  // softmax: max and sum of exp
  if (p.score == 0u) {
    for (uint e = 0u; e < p.experts; ++e) m = max(m, logits[base + e]);
    for (uint e = 0u; e < p.experts; ++e) sum += exp(logits[base + e] - m);
  }
  uint chosen[MAX_K];
  float weight[MAX_K];
  float total = 0.0;
  for (uint j = 0u; j < p.top_k; ++j) {
    uint best = 0xFFFFFFFFu;
    float best_sel = 0.0, best_score = 0.0;
    for (uint e = 0u; e < p.experts; ++e) {
      bool taken = false;
      for (uint i = 0u; i < j; ++i) taken = taken || chosen[i] == e;
      if (taken) continue;
      const float x = logits[base + e];
      const float s = p.score == 0u ? exp(x - m) / sum : p.score == 1u ? 1.0 / (1.0 + exp(-x)) : sqrt(softplus(x));
      const float sel = p.has_bias != 0u ? s + bias[e] : s;
      if (best == 0xFFFFFFFFu || sel > best_sel) {  // strictly greater: ties keep the lower id
        best = e;
        best_sel = sel;
        best_score = s;
      }
    }
    chosen[j] = best;
    weight[j] = best_score;
    total += best_score;
  }
  const float divisor = p.normalize != 0u ? max(total, 6.103515625e-5) : 1.0;
  const uint row = t * 2u * p.top_k;
  for (uint j = 0u; j < p.top_k; ++j) {
    result[row + j] = float(chosen[j]);
    result[row + p.top_k + j] = weight[j] / divisor * p.scale;
  }
}
