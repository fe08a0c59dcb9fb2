// HyperWeights: DeepSeek V4's mHC site weights from each token's mixes
// (reference::hyper_weights), in the reference's order of operations:
//   pre  = sigmoid(mixes[0:n] scale[0] + base[0:n]) + eps
//   post = 2 sigmoid(mixes[n:2n] scale[1] + base[n:2n])
//   mix  = Sinkhorn of mixes[2n:] scale[2] + base[2n:] (entry j n + i: what output stream i
//          takes of stream j): softmax over i, + eps, divide by the sum over j (+ eps), then
//          iterations - 1 rounds of dividing by the sums over i, then over j (each + eps);
//          iterations 0 gives the identity (a what-if: no mixing).
// With n mixes (the output head) only pre is made.
// The work is a few hundred flops per token, so one invocation takes one token.
// Grid: x covers the tokens (the graph's max_tokens, or one row).
#version 450
#extension GL_GOOGLE_include_directive : require

layout(local_size_x = 64) in;
layout(constant_id = 0) const uint N = 4u;  // streams

#include "step.glsl"
layout(set = 0, binding = 1) readonly buffer Mixes { float mixes[]; };
layout(set = 0, binding = 2) readonly buffer Base { float base[]; };    // one per mix
layout(set = 0, binding = 3) readonly buffer Scale { float scale[]; };  // 3 (1 for the head)
layout(set = 0, binding = 4) writeonly buffer Out { float result[]; };

layout(push_constant) uniform Push {
  uint mix_count;  // (2 + n) n, or n
  uint iterations;
  float eps;
  uint per_token;
} p;

float sigmoid(float x) { return 1.0 / (1.0 + exp(-x)); }

void main() {
  const uint t = gl_GlobalInvocationID.x;
  if (t >= rows_in_step(p.per_token)) return;
  const uint row = t * p.mix_count;
  for (uint i = 0u; i < N; ++i) result[row + i] = sigmoid(mixes[row + i] * scale[0] + base[i]) + p.eps;
  if (p.mix_count == N) return;
  for (uint i = 0u; i < N; ++i) result[row + N + i] = 2.0 * sigmoid(mixes[row + N + i] * scale[1] + base[N + i]);
  const uint mix = row + 2u * N;
  if (p.iterations == 0u) {
    for (uint k = 0u; k < N * N; ++k) result[mix + k] = k / N == k % N ? 1.0 : 0.0;
    return;
  }
  float m[N * N];
  for (uint k = 0u; k < N * N; ++k) m[k] = mixes[mix + k] * scale[2] + base[2u * N + k];
  for (uint j = 0u; j < N; ++j) {  // softmax over the destinations i of source j (reference::softmax_rows)
    float top = m[j * N];
    for (uint i = 1u; i < N; ++i) top = max(top, m[j * N + i]);
    float sum = 0.0;
    for (uint i = 0u; i < N; ++i) {
      m[j * N + i] = exp(m[j * N + i] - top);
      sum += m[j * N + i];
    }
    const float inv = 1.0 / sum;
    for (uint i = 0u; i < N; ++i) m[j * N + i] = m[j * N + i] * inv + p.eps;
  }
  for (uint it = 0u; it < p.iterations; ++it) {
    if (it > 0u) {  // each source's row over destinations sums to 1
      for (uint j = 0u; j < N; ++j) {
        float sum = 0.0;
        for (uint i = 0u; i < N; ++i) sum += m[j * N + i];
        for (uint i = 0u; i < N; ++i) m[j * N + i] /= sum + p.eps;
      }
    }
    for (uint i = 0u; i < N; ++i) {  // each destination's column over sources sums to 1
      float sum = 0.0;
      for (uint j = 0u; j < N; ++j) sum += m[j * N + i];
      for (uint j = 0u; j < N; ++j) m[j * N + i] /= sum + p.eps;
    }
  }
  for (uint k = 0u; k < N * N; ++k) result[mix + k] = m[k];
}
