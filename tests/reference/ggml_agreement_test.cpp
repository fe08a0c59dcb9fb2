// Every weight type against llama.cpp's ggml itself (GgmlOracle: its libggml-base.so), on
// many rows of many shapes (and at float's edges: tiny and huge amplitudes, NaN, inf):
// archscope's quantizer writes ggml's bytes, and its dequantization of those bytes gives
// ggml's floats, bit for bit. Runs when ARCHSCOPE_NODE_LLAMA_CPP is set; without it the
// golden hashes in quants_test.cpp (made by this test's PrintGoldens) hold the same facts
// on fixed rows.
#include <gtest/gtest.h>

#include <cctype>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <vector>

#include "reference/ggml_oracle.h"
#include "reference/ops.h"
#include "reference_test_data.h"

namespace archscope::reference {
namespace {

using testing::fnv1a;
using testing::GgmlOracle;
using testing::Lcg;

// ggml insists on an importance matrix for these; archscope's quantizers use all ones.
bool needs_importance(GgmlType t) {
  return t == GgmlType::IQ2_XXS || t == GgmlType::IQ2_XS || t == GgmlType::IQ1_S;
}

std::vector<uint8_t> ggml_quantize(const GgmlOracle& ggml, GgmlType type, const std::vector<float>& x) {
  const std::vector<float> ones(x.size(), 1.0f);
  return ggml.quantize(type, x.data(), 1, int64_t(x.size()), needs_importance(type) ? ones.data() : nullptr);
}

std::vector<uint8_t> our_quantize(GgmlType type, const std::vector<float>& x) {
  std::vector<uint8_t> q(*ggml_bytes(type, x.size()));
  quantize_row(type, x.data(), q.data(), int64_t(x.size()));
  return q;
}

std::vector<float> our_dequantize(GgmlType type, const std::vector<uint8_t>& q, size_t n) {
  std::vector<float> y(n);
  dequantize_row(type, q.data(), y.data(), int64_t(n));
  return y;
}

// Rows that reach the quantizers' corners: amplitudes from e^-20 to e^10, shifted groups,
// zero groups, single outliers, all-equal runs.
std::vector<float> random_row(Lcg& rng, size_t n, int shape) {
  std::vector<float> x(n);
  const float amplitude = std::exp(float(int(rng.next24() % 31) - 20));
  for (size_t i = 0; i < n; ++i) {
    float v = (rng.uniform() + rng.uniform() + rng.uniform()) * amplitude;
    if (shape == 1 && (i / 32) % 3 == 0) v += 2.0f * amplitude;             // shifted groups
    if (shape == 2 && (i / 32) % 4 == 1) v = 0.0f;                          // zero groups
    if (shape == 3 && i % 97 == 5) v = 40.0f * amplitude;                   // outliers
    if (shape == 4 && (i / 16) % 2 == 0) v = amplitude * 0.5f;              // equal runs
    x[i] = v;
  }
  return x;
}

// Rows at the edges of float: amplitudes near the subnormals (block scales that underflow
// fp16, inverse scales that overflow) and near the top of the range, NaN and infinities
// among finite values, half-NaN blocks. ggml's casts of NaN or out-of-range floats to
// integers are undefined in C; archscope reproduces what its x86 builds compute.
std::vector<float> extreme_row(Lcg& rng, size_t n, int shape) {
  constexpr float kNan = std::numeric_limits<float>::quiet_NaN(), kInf = std::numeric_limits<float>::infinity();
  const float amplitude = shape == 0   ? std::ldexp(1.0f, int(rng.next24() % 60) - 129)  // 2^-129 .. 2^-70
                          : shape == 1 ? std::ldexp(1.0f, 100 + int(rng.next24() % 28))  // 2^100 .. 2^127
                                       : std::exp(float(int(rng.next24() % 31) - 20));
  std::vector<float> x(n);
  for (float& v : x) v = (rng.uniform() + rng.uniform() + rng.uniform()) * amplitude;
  if (shape == 2) x[rng.next24() % n] = kNan;
  if (shape == 3) x[rng.next24() % n] = kInf;
  if (shape == 4) {
    x[rng.next24() % n] = -kInf;
    x[rng.next24() % n] = kNan;
  }
  if (shape == 5) {
    for (size_t i = 0; i < n; ++i) {
      if (i % 32 < 16) x[i] = kNan;
    }
  }
  return x;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

class GgmlAgreement : public ::testing::TestWithParam<GgmlType> {
 protected:
  void SetUp() override {
    ggml_ = GgmlOracle::get();
    if (!ggml_) GTEST_SKIP() << GgmlOracle::why_unavailable();
  }
  const GgmlOracle* ggml_ = nullptr;
};

TEST_P(GgmlAgreement, QuantizedBytesAndDequantizedFloatsMatchGgml) {
  const GgmlType type = GetParam();
  const size_t block = ggml_type_info(type)->block_size;
  Lcg rng(0x9e3779b9ull + static_cast<uint32_t>(type));
  int byte_mismatches = 0, float_mismatches = 0;
  for (int row = 0; row < 400; ++row) {
    const size_t n = block == 1 ? 1 + rng.next24() % 700 : block * (1 + rng.next24() % 8);
    const std::vector<float> x = random_row(rng, n, row % 5);
    const std::vector<uint8_t> theirs = ggml_quantize(*ggml_, type, x);
    if (our_quantize(type, x) != theirs && ++byte_mismatches <= 3) {
      ADD_FAILURE() << "row " << row << " (" << n << " values): quantized bytes differ from ggml's";
    }
    const std::vector<float> expected = ggml_->dequantize(type, theirs.data(), int64_t(n));
    ASSERT_FALSE(expected.empty()) << "ggml exports no dequantizer for " << ggml_type_info(type)->name;
    if (!same_bits(our_dequantize(type, theirs, n), expected) && ++float_mismatches <= 3) {
      ADD_FAILURE() << "row " << row << " (" << n << " values): dequantized floats differ from ggml's";
    }
  }
  EXPECT_EQ(byte_mismatches, 0);
  EXPECT_EQ(float_mismatches, 0);
}

// The types whose quantizers are checked on extreme_row()s too (add a type once it agrees).
// ggml may abort on NaN in some quantizers' searches, which would end the test program.
bool checked_on_extreme_rows(GgmlType t) {
  for (GgmlType checked : {GgmlType::F16, GgmlType::BF16, GgmlType::Q8_0, GgmlType::Q4_0, GgmlType::Q4_1,
                           GgmlType::Q5_0, GgmlType::Q5_1, GgmlType::MXFP4, GgmlType::Q2_K, GgmlType::Q3_K,
                           GgmlType::Q4_K, GgmlType::Q5_K, GgmlType::Q6_K, GgmlType::IQ4_NL, GgmlType::IQ4_XS}) {
    if (t == checked) return true;
  }
  return false;
}

TEST_P(GgmlAgreement, ExtremeAndNonFiniteRowsQuantizeLikeGgml) {
  const GgmlType type = GetParam();
  if (!checked_on_extreme_rows(type)) GTEST_SKIP() << "not checked on extreme rows";
  const size_t block = ggml_type_info(type)->block_size;
  Lcg rng(0x5bd1e995ull + static_cast<uint32_t>(type));
  int byte_mismatches = 0, float_mismatches = 0;
  for (int row = 0; row < 400; ++row) {
    const size_t n = block == 1 ? 1 + rng.next24() % 700 : block * (1 + rng.next24() % 4);
    const std::vector<float> x = extreme_row(rng, n, row % 6);
    const std::vector<uint8_t> theirs = ggml_quantize(*ggml_, type, x);
    if (our_quantize(type, x) != theirs && ++byte_mismatches <= 3) {
      ADD_FAILURE() << "row " << row << " (shape " << row % 6 << "): quantized bytes differ from ggml's";
    }
    if (!same_bits(our_dequantize(type, theirs, n), ggml_->dequantize(type, theirs.data(), int64_t(n))) &&
        ++float_mismatches <= 3) {
      ADD_FAILURE() << "row " << row << " (shape " << row % 6 << "): dequantized floats differ from ggml's";
    }
  }
  EXPECT_EQ(byte_mismatches, 0);
  EXPECT_EQ(float_mismatches, 0);
}

// Blocks of random bytes (a file's weights need not come from ggml's quantizer): the
// dequantized floats still agree, including NaN and infinite scales.
TEST_P(GgmlAgreement, RandomBlocksDequantizeLikeGgml) {
  const GgmlType type = GetParam();
  const GgmlTypeInfo& info = *ggml_type_info(type);
  if (info.block_size == 1) GTEST_SKIP() << "float type";
  Lcg rng(77 + static_cast<uint32_t>(type));
  std::vector<uint8_t> bytes(size_t(info.type_size) * 64);
  for (int trial = 0; trial < 50; ++trial) {
    for (uint8_t& b : bytes) b = static_cast<uint8_t>(rng.next24());
    const int64_t n = int64_t(info.block_size) * 64;
    const std::vector<float> expected = ggml_->dequantize(type, bytes.data(), n);
    ASSERT_FALSE(expected.empty());
    ASSERT_TRUE(same_bits(our_dequantize(type, bytes, size_t(n)), expected)) << "trial " << trial;
  }
}

// Prints the golden constants quants_test.cpp records (run with --gtest_also_run_disabled_tests).
TEST_P(GgmlAgreement, DISABLED_PrintGoldens) {
  const GgmlType type = GetParam();
  std::string enumerator = ggml_type_info(type)->name;  // q4_K -> Q4_K
  for (char& c : enumerator) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  const std::vector<float> rows[] = {testing::golden_row(), testing::wide_golden_row()};
  for (const std::vector<float>& x : rows) {
    const std::vector<uint8_t> q = ggml_quantize(*ggml_, type, x);
    const std::vector<float> y = ggml_->dequantize(type, q.data(), int64_t(x.size()));
    std::printf("{GgmlType::%s, 0x%016" PRIx64 "ull, 0x%016" PRIx64 "ull", enumerator.c_str(), fnv1a(q),
                fnv1a(y.data(), y.size() * sizeof(float)));
    if (&x == &rows[0]) {  // kGgmlGolden also records the first 12 bytes of block 1
      const size_t block1 = ggml_type_info(type)->block_size == 1 ? 0 : ggml_type_info(type)->type_size;
      std::printf(",\n {");
      for (size_t i = 0; i < 12; ++i) std::printf("0x%02x%s", q[block1 + i], i < 11 ? ", " : "}");
    }
    std::printf("}\n");
  }
}

std::vector<GgmlType> quantized_types() {
  std::vector<GgmlType> types;
  for (GgmlType t : supported_weight_types()) {
    if (t != GgmlType::F32) types.push_back(t);
  }
  return types;
}

INSTANTIATE_TEST_SUITE_P(EveryType, GgmlAgreement, ::testing::ValuesIn(quantized_types()),
                         [](const ::testing::TestParamInfo<GgmlType>& info) {
                           return std::string(ggml_type_info(info.param)->name);
                         });

}  // namespace
}  // namespace archscope::reference
