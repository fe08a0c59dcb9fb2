// Weight lookups and matrix products on stored (possibly quantized) weights. Each weight
// row is dequantized once into an f32 buffer and then dotted with every token, with the
// sums kept in double, so rounding in the sum is far below f32 precision.
#include <string>
#include <vector>

#include "archscope/error.h"
#include "reference/ops.h"

namespace archscope::reference {
namespace {

void check_view(const char* op, const WeightView& w) {
  if (!is_supported_weight_type(w.type)) {
    const GgmlTypeInfo* info = ggml_type_info(w.type);
    throw Error(std::string(op) + ": weights of type " + (info ? info->name : "unknown") + " are not supported");
  }
  const uint64_t block = ggml_type_info(w.type)->block_size;
  if (w.cols < 0 || w.rows < 0 || static_cast<uint64_t>(w.cols) % block != 0) {
    throw Error(std::string(op) + ": a weight row of " + std::to_string(w.cols) + " " + ggml_type_info(w.type)->name +
                " elements is not a whole number of blocks");
  }
  const auto bytes = ggml_bytes(w.type, static_cast<uint64_t>(w.cols));
  if (!bytes || w.row_bytes < *bytes) {
    throw Error(std::string(op) + ": row stride of " + std::to_string(w.row_bytes) + " bytes is shorter than a row");
  }
}

const uint8_t* row_data(const WeightView& w, int64_t r) { return w.data + static_cast<uint64_t>(r) * w.row_bytes; }

// Dot product of n floats, summed in double. Four running sums let the additions overlap.
float dot(const float* a, const float* b, int64_t n) {
  double s0 = 0, s1 = 0, s2 = 0, s3 = 0;
  int64_t i = 0;
  for (; i + 4 <= n; i += 4) {
    s0 += double(a[i]) * b[i];
    s1 += double(a[i + 1]) * b[i + 1];
    s2 += double(a[i + 2]) * b[i + 2];
    s3 += double(a[i + 3]) * b[i + 3];
  }
  for (; i < n; ++i) s0 += double(a[i]) * b[i];
  return static_cast<float>((s0 + s1) + (s2 + s3));
}

}  // namespace

void get_rows(const WeightView& table, std::span<const int32_t> ids, float* out) {
  check_view("get_rows", table);
  for (size_t t = 0; t < ids.size(); ++t) {
    const int32_t id = ids[t];
    if (id < 0 || id >= table.rows) {
      throw Error("get_rows: id " + std::to_string(id) + " is outside the table's " + std::to_string(table.rows) +
                  " rows");
    }
    dequantize_row(table.type, row_data(table, id), out + t * table.cols, table.cols);
  }
}

// W: rows x cols (stored), x: tokens x cols, out: tokens x rows.
void matmul(const WeightView& w, const float* x, float* out, int64_t tokens) {
  check_view("matmul", w);
  std::vector<float> row(static_cast<size_t>(w.cols));
  for (int64_t r = 0; r < w.rows; ++r) {
    dequantize_row(w.type, row_data(w, r), row.data(), w.cols);
    for (int64_t t = 0; t < tokens; ++t) out[t * w.rows + r] = dot(row.data(), x + t * w.cols, w.cols);
  }
}

}  // namespace archscope::reference
