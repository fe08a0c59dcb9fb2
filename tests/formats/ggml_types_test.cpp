// Block geometry of the ggml tensor types, checked against numbers from llama.cpp's ggml.
#include <gtest/gtest.h>

#include "archscope/ggml_types.h"

namespace archscope {
namespace {

TEST(GgmlTypes, QuantizedBlockSizesMatchGgml) {
  struct Known { GgmlType type; uint64_t elements; uint64_t bytes; };
  const Known known[] = {
      {GgmlType::F32, 1, 4},       {GgmlType::F16, 1, 2},       {GgmlType::BF16, 1, 2},
      {GgmlType::Q4_0, 32, 18},    {GgmlType::Q4_1, 32, 20},    {GgmlType::Q5_0, 32, 22},
      {GgmlType::Q5_1, 32, 24},    {GgmlType::Q8_0, 32, 34},    {GgmlType::Q8_1, 32, 36},
      {GgmlType::Q2_K, 256, 84},   {GgmlType::Q3_K, 256, 110},  {GgmlType::Q4_K, 256, 144},
      {GgmlType::Q5_K, 256, 176},  {GgmlType::Q6_K, 256, 210},  {GgmlType::Q8_K, 256, 292},
      {GgmlType::IQ2_XXS, 256, 66}, {GgmlType::IQ2_XS, 256, 74}, {GgmlType::IQ3_XXS, 256, 98},
      {GgmlType::IQ1_S, 256, 50},  {GgmlType::IQ4_NL, 32, 18},  {GgmlType::IQ3_S, 256, 110},
      {GgmlType::IQ2_S, 256, 82},  {GgmlType::IQ4_XS, 256, 136}, {GgmlType::I8, 1, 1},
      {GgmlType::I16, 1, 2},       {GgmlType::I32, 1, 4},       {GgmlType::I64, 1, 8},
      {GgmlType::F64, 1, 8},       {GgmlType::IQ1_M, 256, 56},  {GgmlType::TQ1_0, 256, 54},
      {GgmlType::TQ2_0, 256, 66},  {GgmlType::MXFP4, 32, 17},   {GgmlType::NVFP4, 64, 36},
      {GgmlType::Q1_0, 128, 18},   {GgmlType::Q2_0, 64, 18},
  };
  for (const Known& k : known) {
    const GgmlTypeInfo* info = ggml_type_info(k.type);
    ASSERT_NE(info, nullptr) << static_cast<uint32_t>(k.type);
    EXPECT_EQ(info->block_size, k.elements) << info->name;
    EXPECT_EQ(info->type_size, k.bytes) << info->name;
    EXPECT_EQ(ggml_bytes(k.type, k.elements * 3), k.bytes * 3) << info->name;
  }
}

TEST(GgmlTypes, RemovedAndOutOfRangeNumbersAreUnknown) {
  for (uint32_t removed : {4u, 5u, 31u, 32u, 33u, 36u, 37u, 38u, 43u, 1000u, 0xFFFFFFFFu}) {
    EXPECT_EQ(ggml_type_info(removed), nullptr) << removed;
  }
  uint32_t defined = 0;
  for (uint32_t t = 0; t < 64; ++t) defined += ggml_type_info(t) != nullptr;
  EXPECT_EQ(defined, 35u);
}

TEST(GgmlTypes, NamesAreGgmlsAndLookupIgnoresCase) {
  EXPECT_STREQ(ggml_type_info(GgmlType::Q4_K)->name, "q4_K");
  EXPECT_STREQ(ggml_type_info(GgmlType::BF16)->name, "bf16");
  EXPECT_EQ(ggml_type_from_name("Q4_K"), GgmlType::Q4_K);
  EXPECT_EQ(ggml_type_from_name("q8_0"), GgmlType::Q8_0);
  EXPECT_EQ(ggml_type_from_name("F16"), GgmlType::F16);
  EXPECT_EQ(ggml_type_from_name("iq4_xs"), GgmlType::IQ4_XS);
  EXPECT_EQ(ggml_type_from_name("nvfp4"), GgmlType::NVFP4);
  EXPECT_EQ(ggml_type_from_name("q4"), std::nullopt);
  EXPECT_EQ(ggml_type_from_name("q4_k_m"), std::nullopt);
  EXPECT_EQ(ggml_type_from_name(""), std::nullopt);
  for (uint32_t t = 0; t < 64; ++t) {
    if (const GgmlTypeInfo* info = ggml_type_info(t)) {
      EXPECT_EQ(ggml_type_from_name(info->name), static_cast<GgmlType>(t)) << info->name;
    }
  }
}

TEST(GgmlTypes, BytesRejectPartialBlocksAndOverflow) {
  EXPECT_EQ(ggml_bytes(GgmlType::Q4_K, 255), std::nullopt);
  EXPECT_EQ(ggml_bytes(GgmlType::Q8_0, 33), std::nullopt);
  EXPECT_EQ(ggml_bytes(GgmlType::Q8_0, 0), 0u);
  EXPECT_EQ(ggml_bytes(GgmlType::F32, uint64_t{1} << 62), std::nullopt);
  EXPECT_EQ(ggml_bytes(GgmlType::F32, uint64_t{1} << 61), uint64_t{1} << 63);
  EXPECT_EQ(ggml_bytes(static_cast<GgmlType>(4), 32), std::nullopt);
  EXPECT_EQ(ggml_bytes(GgmlType::Q6_K, 4096 * 256), 4096u * 210u);
}

}  // namespace
}  // namespace archscope
