// DeepSeek V4's residual streams (mHC), n streams of d side by side in a row of n d:
//   mode 0 Repeat:    out[t][c] = a[t][c % a_cols]                      (the streams made)
//   mode 1 Collapse:  out[t][c] = sum_i pre_i a[t][i d + c]             (a site's input)
//   mode 2 Expand:    out[t][i d + c] = post_i a[t][c] + sum_j mix_ji x[t][j d + c]
// pre, post and mix are the HyperWeights row b (pre first; post at n, mix at 2n with entry
// j n + i); x is the streams tensor c. Sums run in stream order, as the reference's.
// Grid: rows x cols output elements (rows = the graph's max_tokens, or 1), over x and y.
#version 450
#extension GL_GOOGLE_include_directive : require

layout(local_size_x = 256) in;

#include "step.glsl"
layout(set = 0, binding = 1) readonly buffer A { float a[]; };
layout(set = 0, binding = 2) readonly buffer Weights { float weights[]; };
layout(set = 0, binding = 3) readonly buffer Streams { float streams[]; };
layout(set = 0, binding = 4) writeonly buffer Out { float result[]; };

layout(push_constant) uniform Push {
  uint mode;
  uint cols;          // output columns
  uint a_cols;
  uint d, n;          // stream width and count
  uint weight_cols;   // columns of a weights row
  uint per_token;     // the output (and a, and the streams) has one row per token
  uint weights_per_token;
} p;

void main() {
  const uint i = gl_GlobalInvocationID.y * (gl_NumWorkGroups.x * gl_WorkGroupSize.x) + gl_GlobalInvocationID.x;
  if (i >= rows_in_step(p.per_token) * p.cols) return;
  const uint t = i / p.cols, c = i % p.cols;
  const uint w = (p.weights_per_token != 0u ? t : 0u) * p.weight_cols;
  float y = 0.0;
  if (p.mode == 0u) {
    y = a[t * p.a_cols + c % p.a_cols];
  } else if (p.mode == 1u) {
    for (uint s = 0u; s < p.n; ++s) y += weights[w + s] * a[t * p.a_cols + s * p.d + c];
  } else {
    const uint stream = c / p.d, e = c % p.d;
    y = a[t * p.a_cols + e] * weights[w + p.n + stream];
    for (uint j = 0u; j < p.n; ++j) y += streams[t * p.cols + j * p.d + e] * weights[w + 2u * p.n + j * p.n + stream];
  }
  result[i] = y;
}
