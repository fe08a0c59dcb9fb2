// Element-wise ops on f32 rows, out[i] = f(a[i], b[i]):
//   0 add       a + b            3 softcap   cap * tanh(a / cap)
//   1 mul       a * b            4 swiglu    silu(a) * b
//   2 scale     a * scalar       5 geglu     gelu_tanh(a) * b
//   6 softplus  log(1 + exp(a))  7 keep heads  a, or 0 in a dropped head (see below)
//   8 clamped swiglu  silu(min(a, limit)) * clamp(b, -limit, limit), limit = scalar (DeepSeek V4)
// b is another tensor of a's shape, or (MulWeight) one row broadcast over the rows, or one
// scalar, or (per-head gates) one value per `group` columns of a. Keep heads: of every
// `period` heads of `group` columns, the first `kept` stay. In place (out = a) is fine.
// Grid: rows x cols elements (rows = the graph's max_tokens, or 1), spread over x and y.
#version 450
#extension GL_GOOGLE_include_directive : require

layout(local_size_x = 256) in;

#include "step.glsl"
layout(set = 0, binding = 1) readonly buffer A { float a[]; };
layout(set = 0, binding = 2) readonly buffer B { float b[]; };
layout(set = 0, binding = 3) writeonly buffer Out { float result[]; };

layout(push_constant) uniform Push {
  uint op;
  uint cols;
  uint per_token;
  uint b_shape;  // 0: like a, 1: one row, 2: one scalar, 3: one value per group of columns
  float scalar;
  uint group;    // columns per group (b_shape 3, keep heads)
  uint period;   // keep heads: heads per KV group
  uint kept;     // keep heads: heads kept of each period
} p;

// tanh of a clamped argument: some drivers compute tanh as a ratio of exponentials, which
// overflows to NaN for large arguments; tanh(15) is 1 in f32 already.
float tanh_safe(float x) { return tanh(clamp(x, -15.0, 15.0)); }
// As ggml: x itself above 20, where exp would lose it.
float softplus(float x) { return x > 20.0 ? x : log(1.0 + exp(x)); }
float silu(float x) { return x / (1.0 + exp(-x)); }
float gelu_tanh(float x) {
  const float SQRT_2_OVER_PI = 0.79788456080286535588;
  return 0.5 * x * (1.0 + tanh_safe(SQRT_2_OVER_PI * x * (1.0 + 0.044715 * x * x)));
}

void main() {
  const uint i = gl_GlobalInvocationID.y * (gl_NumWorkGroups.x * gl_WorkGroupSize.x) + gl_GlobalInvocationID.x;
  if (i >= rows_in_step(p.per_token) * p.cols) return;
  const float x = a[i];
  float y = 0.0;
  if (p.op == 2u) {
    y = x * p.scalar;
  } else if (p.op == 3u) {
    y = p.scalar * tanh_safe(x / p.scalar);
  } else if (p.op == 6u) {
    y = softplus(x);
  } else if (p.op == 7u) {
    y = (i / p.group) % p.period < p.kept ? x : 0.0;
  } else {
    const uint col = i % p.cols;
    const uint bi = p.b_shape == 0u ? i
                    : p.b_shape == 1u ? col
                    : p.b_shape == 2u ? 0u
                                      : (i / p.cols) * (p.cols / p.group) + col / p.group;
    const float other = b[bi];
    if (p.op == 0u) y = x + other;
    else if (p.op == 1u) y = x * other;
    else if (p.op == 4u) y = silu(x) * other;
    else if (p.op == 8u) y = silu(min(x, p.scalar)) * clamp(other, -p.scalar, p.scalar);
    else y = gelu_tanh(x) * other;
  }
  result[i] = y;
}
