// GetRows: out[t] = dequantized row tokens[t] of a table (the token embedding), or of an
// i32 table (DeepSeek V4's token -> expert ids) converted to floats.
// A table bigger than one binding is bound in pieces of whole rows, one dispatch each;
// a dispatch writes the tokens whose row lies in its piece.
// Grid: x covers the row's 32-element units, y the tokens (up to the graph's max_tokens).
#version 450
#extension GL_GOOGLE_include_directive : require

layout(local_size_x = 64) in;
layout(constant_id = 0) const uint QUANT_TYPE = 0;

#include "step.glsl"
layout(set = 0, binding = 1) readonly buffer Table { uint table[]; };
layout(set = 0, binding = 2) writeonly buffer Out { float result[]; };

layout(push_constant) uniform Push {
  uint cols;        // elements per row
  uint row_bytes;   // bytes per stored row
  uint first_row;   // table row of the piece's first row
  uint rows;        // rows in this piece
} p;

#define QUANT_WORDS table
#include "quant.glsl"

void main() {
  const uint t = gl_WorkGroupID.y;
  const uint unit = gl_GlobalInvocationID.x;
  if (t >= uint(step.n_tokens) || 32u * unit >= p.cols) return;
  const uint id = uint(step.tokens[t]);  // the host checked 0 <= id < table rows
  if (id < p.first_row || id - p.first_row >= p.rows) return;  // in another piece

  const uint e = 32u * unit, n = min(32u, p.cols - e);
  float v[32];
  if (QUANT_TYPE == TYPE_I32) {
    const uint w = (id - p.first_row) * p.row_bytes / 4u + e;
    for (uint i = 0u; i < n; ++i) v[i] = float(int(table[w + i]));
  } else {
    load32((id - p.first_row) * p.row_bytes, e, n, v);
  }
  for (uint i = 0u; i < n; ++i) result[t * p.cols + e + i] = v[i];
}
