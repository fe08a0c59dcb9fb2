// GGUF files written by GgufWriter (or by hand) read back exactly.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <numeric>

#include "archscope/gguf.h"
#include "formats/format_fixtures.h"

namespace archscope {
namespace {

using testing::expect_error;
using testing::Raw;
using testing::TempDir;

GgufValue value(GgufValueType type) {
  GgufValue v;
  v.type = type;
  return v;
}
GgufValue u(GgufValueType type, uint64_t x) { GgufValue v = value(type); v.u = x; return v; }
GgufValue i(GgufValueType type, int64_t x) { GgufValue v = value(type); v.i = x; return v; }
GgufValue f(GgufValueType type, double x) { GgufValue v = value(type); v.f = x; return v; }
GgufValue s(const std::string& x) { GgufValue v = value(GgufValueType::String); v.s = x; return v; }
GgufValue array(GgufValueType element_type, std::vector<GgufValue> items) {
  GgufValue v = value(GgufValueType::Array);
  v.element_type = element_type;
  v.items = std::move(items);
  return v;
}

std::vector<uint8_t> pattern(size_t n, uint8_t seed) {
  std::vector<uint8_t> data(n);
  for (size_t k = 0; k < n; ++k) data[k] = static_cast<uint8_t>(seed + k * 7);
  return data;
}

// Deep equality of two metadata values.
void expect_same(const GgufValue& a, const GgufValue& b, const std::string& where) {
  ASSERT_EQ(a.type, b.type) << where;
  switch (a.type) {
    case GgufValueType::U8: case GgufValueType::U16: case GgufValueType::U32: case GgufValueType::U64:
    case GgufValueType::Bool:
      EXPECT_EQ(a.u, b.u) << where;
      break;
    case GgufValueType::I8: case GgufValueType::I16: case GgufValueType::I32: case GgufValueType::I64:
      EXPECT_EQ(a.i, b.i) << where;
      break;
    case GgufValueType::F32: case GgufValueType::F64:
      EXPECT_EQ(a.f, b.f) << where;
      break;
    case GgufValueType::String:
      EXPECT_EQ(a.s, b.s) << where;
      break;
    case GgufValueType::Array:
      EXPECT_EQ(a.element_type, b.element_type) << where;
      ASSERT_EQ(a.items.size(), b.items.size()) << where;
      for (size_t n = 0; n < a.items.size(); ++n) expect_same(a.items[n], b.items[n], where + "[" + std::to_string(n) + "]");
      break;
  }
}

TEST(GgufRoundTrip, EveryValueType) {
  const std::vector<std::pair<std::string, GgufValue>> values = {
      {"t.u8", u(GgufValueType::U8, 255)},
      {"t.i8", i(GgufValueType::I8, -128)},
      {"t.u16", u(GgufValueType::U16, 65535)},
      {"t.i16", i(GgufValueType::I16, -32768)},
      {"t.u32", u(GgufValueType::U32, 0xFFFFFFFFu)},
      {"t.i32", i(GgufValueType::I32, std::numeric_limits<int32_t>::min())},
      {"t.f32", f(GgufValueType::F32, 1.5)},
      {"t.bool", u(GgufValueType::Bool, 1)},
      {"t.string", s(std::string("h\xC3\xA9llo\0world", 12))},
      {"t.u64", u(GgufValueType::U64, std::numeric_limits<uint64_t>::max())},
      {"t.i64", i(GgufValueType::I64, std::numeric_limits<int64_t>::min())},
      {"t.f64", f(GgufValueType::F64, 3.141592653589793)},
      {"t.empty_string", s("")},
      {"t.bad_utf8", s("\xFF\xFE")},
      {"a.u8", array(GgufValueType::U8, {u(GgufValueType::U8, 0), u(GgufValueType::U8, 200)})},
      {"a.i8", array(GgufValueType::I8, {i(GgufValueType::I8, -1), i(GgufValueType::I8, 127)})},
      {"a.u16", array(GgufValueType::U16, {u(GgufValueType::U16, 1)})},
      {"a.i16", array(GgufValueType::I16, {i(GgufValueType::I16, -2)})},
      {"a.u32", array(GgufValueType::U32, {u(GgufValueType::U32, 7), u(GgufValueType::U32, 8)})},
      {"a.i32", array(GgufValueType::I32, {i(GgufValueType::I32, -7)})},
      {"a.f32", array(GgufValueType::F32, {f(GgufValueType::F32, -0.25), f(GgufValueType::F32, static_cast<double>(1e30f))})},
      {"a.bool", array(GgufValueType::Bool, {u(GgufValueType::Bool, 0), u(GgufValueType::Bool, 1)})},
      {"a.u64", array(GgufValueType::U64, {u(GgufValueType::U64, uint64_t{1} << 40)})},
      {"a.i64", array(GgufValueType::I64, {i(GgufValueType::I64, -(int64_t{1} << 40))})},
      {"a.f64", array(GgufValueType::F64, {f(GgufValueType::F64, 1e-300)})},
      {"a.empty", array(GgufValueType::F32, {})},
  };
  TempDir dir;
  GgufWriter writer;
  for (const auto& [key, v] : values) writer.set(key, v);
  writer.write(dir.file("values.gguf"));

  const GgufFile gguf = GgufFile::open(dir.file("values.gguf"));
  EXPECT_EQ(gguf.version(), 3u);
  EXPECT_EQ(gguf.metadata().size(), values.size());
  EXPECT_TRUE(gguf.tensors().empty());
  for (const auto& [key, v] : values) {
    const GgufValue* read = gguf.find(key);
    ASSERT_NE(read, nullptr) << key;
    expect_same(*read, v, key);
  }
  EXPECT_EQ(gguf.find("missing"), nullptr);
}

TEST(GgufRoundTrip, TypedSettersStringArraysAndNestedArrays) {
  TempDir dir;
  GgufWriter writer;
  writer.set_string("general.architecture", "gemma4");
  writer.set_u32("gemma4.block_count", 26);
  writer.set_i32("gemma4.offset", -3);
  writer.set_u64("gemma4.context_length", uint64_t{1} << 40);
  writer.set_f32("gemma4.rope.freq_base", 10000.0f);
  writer.set_bool("gemma4.use_parallel", true);
  writer.set_i32_array("gemma4.sliding_window_pattern", {1, 1, 1, 1, 1, 0});
  writer.set_f32_array("tokenizer.ggml.scores", {0.0f, -1.5f, 2.25f});
  writer.set_string_array("tokenizer.ggml.tokens", {"<pad>", "", "\xE2\x96\x81the", std::string(300, 'x')});
  // [[1, 2], [], [3]] and [[["a"], ["b", "c"]]]
  writer.set_array("nested.i32", GgufValueType::Array,
                   {array(GgufValueType::I32, {i(GgufValueType::I32, 1), i(GgufValueType::I32, 2)}),
                    array(GgufValueType::I32, {}), array(GgufValueType::I32, {i(GgufValueType::I32, 3)})});
  writer.set_array("nested.strings", GgufValueType::Array,
                   {array(GgufValueType::Array,
                          {array(GgufValueType::String, {s("a")}), array(GgufValueType::String, {s("b"), s("c")})})});
  writer.set_u32("gemma4.block_count", 27);  // replaces, keeps its place
  writer.write(dir.file("model.gguf"));

  const GgufFile gguf = GgufFile::open(dir.file("model.gguf"));
  EXPECT_EQ(gguf.architecture(), "gemma4");
  EXPECT_EQ(gguf.metadata().size(), 11u);
  EXPECT_EQ(gguf.find("gemma4.block_count")->as_int("gemma4.block_count"), 27);
  EXPECT_EQ(gguf.find("gemma4.offset")->as_int("gemma4.offset"), -3);
  EXPECT_EQ(gguf.find("gemma4.context_length")->as_int("k"), int64_t{1} << 40);
  EXPECT_EQ(gguf.find("gemma4.rope.freq_base")->as_double("k"), 10000.0);
  EXPECT_TRUE(gguf.find("gemma4.use_parallel")->as_bool("k"));

  const GgufValue& pattern = *gguf.find("gemma4.sliding_window_pattern");
  ASSERT_TRUE(pattern.is_array());
  EXPECT_EQ(pattern.element_type, GgufValueType::I32);
  ASSERT_EQ(pattern.items.size(), 6u);
  EXPECT_EQ(pattern.items[5].as_int("p"), 0);

  const GgufValue& scores = *gguf.find("tokenizer.ggml.scores");
  ASSERT_EQ(scores.items.size(), 3u);
  EXPECT_EQ(scores.items[2].as_double("s"), 2.25);

  const GgufValue& tokens = *gguf.find("tokenizer.ggml.tokens");
  ASSERT_EQ(tokens.items.size(), 4u);
  EXPECT_EQ(tokens.items[0].as_string("t"), "<pad>");
  EXPECT_EQ(tokens.items[1].as_string("t"), "");
  EXPECT_EQ(tokens.items[2].as_string("t"), "\xE2\x96\x81the");
  EXPECT_EQ(tokens.items[3].as_string("t"), std::string(300, 'x'));

  const GgufValue& nested = *gguf.find("nested.i32");
  EXPECT_EQ(nested.element_type, GgufValueType::Array);
  ASSERT_EQ(nested.items.size(), 3u);
  EXPECT_EQ(nested.items[0].element_type, GgufValueType::I32);
  EXPECT_EQ(nested.items[0].items.size(), 2u);
  EXPECT_EQ(nested.items[0].items[1].as_int("n"), 2);
  EXPECT_TRUE(nested.items[1].items.empty());
  EXPECT_EQ(nested.items[2].items[0].as_int("n"), 3);

  const GgufValue& deep = *gguf.find("nested.strings");
  ASSERT_EQ(deep.items.size(), 1u);
  ASSERT_EQ(deep.items[0].items.size(), 2u);
  EXPECT_EQ(deep.items[0].items[1].element_type, GgufValueType::String);
  EXPECT_EQ(deep.items[0].items[1].items[1].as_string("n"), "c");
}

TEST(GgufRoundTrip, MetadataKeepsInsertionOrderInTheFile) {
  TempDir dir;
  GgufWriter writer;
  writer.set_u32("zeta", 1);
  writer.set_u32("alpha", 2);
  writer.set_u32("mid", 3);
  writer.set_u32("zeta", 4);
  writer.write(dir.file("order.gguf"));
  const std::vector<uint8_t> bytes = testing::read_bytes(dir.file("order.gguf"));
  const std::string text(bytes.begin(), bytes.end());
  EXPECT_LT(text.find("zeta"), text.find("alpha"));
  EXPECT_LT(text.find("alpha"), text.find("mid"));
  EXPECT_EQ(GgufFile::open(dir.file("order.gguf")).find("zeta")->u, 4u);
}

TEST(GgufRoundTrip, TensorsOfSeveralTypesWithAlignment64) {
  struct Spec { std::string name; std::vector<uint64_t> shape; GgmlType type; uint64_t bytes; };
  const std::vector<Spec> specs = {
      {"token_embd.weight", {8, 3}, GgmlType::F32, 96},
      {"blk.0.attn_norm.weight", {5}, GgmlType::F16, 10},
      {"blk.0.ffn_up.weight", {4, 2}, GgmlType::BF16, 16},
      {"blk.0.attn_q.weight", {64, 2}, GgmlType::Q8_0, 2 * 2 * 34},
      {"blk.0.attn_k.weight", {32}, GgmlType::Q4_0, 18},
      {"blk.0.attn_v.weight", {256, 3}, GgmlType::Q4_K, 3 * 144},
      {"blk.0.ffn_gate.weight", {256}, GgmlType::Q5_K, 176},
      {"blk.0.ffn_down.weight", {512, 1, 2}, GgmlType::Q6_K, 4 * 210},
      {"positions", {3, 1, 1, 2}, GgmlType::I32, 24},
  };
  TempDir dir;
  GgufWriter writer;
  writer.set_alignment(64);
  writer.set_string("general.architecture", "llama");
  for (size_t n = 0; n < specs.size(); ++n) {
    writer.add_tensor(specs[n].name, specs[n].shape, specs[n].type, pattern(specs[n].bytes, static_cast<uint8_t>(n)));
  }
  writer.write(dir.file("t.gguf"));

  const GgufFile gguf = GgufFile::open(dir.file("t.gguf"));
  EXPECT_EQ(gguf.alignment(), 64u);
  EXPECT_EQ(gguf.data_offset() % 64, 0u);
  ASSERT_EQ(gguf.tensors().size(), specs.size());
  for (size_t n = 0; n < specs.size(); ++n) {
    const GgufTensor& t = gguf.tensors()[n];  // file order
    EXPECT_EQ(t.name, specs[n].name);
    EXPECT_EQ(t.shape, specs[n].shape);
    EXPECT_EQ(t.type, specs[n].type);
    EXPECT_EQ(t.bytes, specs[n].bytes) << t.name;
    EXPECT_EQ(t.offset % 64, 0u) << t.name;
    EXPECT_GE(t.offset, gguf.data_offset());
    EXPECT_LE(t.offset + t.bytes, gguf.file_size());
    EXPECT_EQ(std::vector<uint8_t>(t.data, t.data + t.bytes), pattern(specs[n].bytes, static_cast<uint8_t>(n))) << t.name;
    EXPECT_EQ(gguf.find_tensor(t.name), &t);
  }
  EXPECT_EQ(gguf.find_tensor("blk.0.ffn_down.weight")->elements(), 1024u);
  EXPECT_EQ(gguf.find_tensor("nope"), nullptr);
}

TEST(GgufRoundTrip, DefaultAlignmentIs32) {
  TempDir dir;
  GgufWriter writer;
  writer.add_tensor("a", {3}, GgmlType::F32, pattern(12, 1));
  writer.add_tensor("b", {32}, GgmlType::Q8_0, pattern(34, 2));
  writer.write(dir.file("t.gguf"));
  const GgufFile gguf = GgufFile::open(dir.file("t.gguf"));
  EXPECT_EQ(gguf.alignment(), 32u);
  EXPECT_EQ(gguf.find("general.alignment"), nullptr);
  EXPECT_EQ(gguf.data_offset() % 32, 0u);
  EXPECT_EQ(gguf.find_tensor("b")->offset, gguf.data_offset() + 32);
}

TEST(GgufRoundTrip, HandWrittenVersion2File) {
  Raw raw;
  raw.gguf_header(2, 2, 2)
      .kv_string("general.architecture", "llama")
      .kv_u32("llama.block_count", 2)
      .tensor_info("output.weight", {4, 2}, 0, 0)
      .tensor_info("output_norm.weight", {4}, 1, 32)
      .pad(32);
  const size_t data_start = raw.b.size();
  for (int n = 0; n < 8; ++n) raw.put<float>(static_cast<float>(n) + 0.5f);
  raw.put<uint16_t>(0x3C00).put<uint16_t>(0x4000).put<uint16_t>(0).put<uint16_t>(0xBC00);
  TempDir dir;
  testing::write_bytes(dir.file("v2.gguf"), raw.b);

  const GgufFile gguf = GgufFile::open(dir.file("v2.gguf"));
  EXPECT_EQ(gguf.version(), 2u);
  EXPECT_EQ(gguf.path(), dir.file("v2.gguf"));
  EXPECT_EQ(gguf.data_offset(), data_start);
  EXPECT_EQ(gguf.file_size(), raw.b.size());
  EXPECT_EQ(gguf.architecture(), "llama");
  EXPECT_EQ(gguf.find("llama.block_count")->as_int("llama.block_count"), 2);
  const GgufTensor* out = gguf.find_tensor("output.weight");
  ASSERT_NE(out, nullptr);
  EXPECT_EQ(out->offset, data_start);
  EXPECT_EQ(out->bytes, 32u);
  float third = 0;
  std::memcpy(&third, out->data + 8, 4);
  EXPECT_EQ(third, 2.5f);
  const GgufTensor* norm = gguf.find_tensor("output_norm.weight");
  ASSERT_NE(norm, nullptr);
  EXPECT_EQ(norm->type, GgmlType::F16);
  EXPECT_EQ(norm->offset, data_start + 32);
  EXPECT_EQ(norm->bytes, 8u);
  EXPECT_EQ(norm->data[1], 0x3C);
}

TEST(GgufRoundTrip, TensorsMayBeStoredOutOfOrder) {
  Raw raw;
  raw.gguf_header(3, 2, 0).tensor_info("late", {8}, 0, 32).tensor_info("early", {8}, 0, 0).pad(32).zeros(64);
  TempDir dir;
  testing::write_bytes(dir.file("o.gguf"), raw.b);
  const GgufFile gguf = GgufFile::open(dir.file("o.gguf"));
  EXPECT_EQ(gguf.tensors()[0].name, "late");
  EXPECT_EQ(gguf.find_tensor("late")->offset, gguf.data_offset() + 32);
}

// Files written by llama.cpp's gguf-py (its vocabulary test models), when a checkout is at
// hand: $ARCHSCOPE_LLAMA_CPP_DIR or /opt/ref/llama.cpp.
TEST(GgufRoundTrip, ReadsFilesWrittenByGgufPy) {
  const char* env = std::getenv("ARCHSCOPE_LLAMA_CPP_DIR");
  const std::string models = std::string(env != nullptr ? env : "/opt/ref/llama.cpp") + "/models/";
  struct Known { const char* file; uint32_t version; const char* arch; size_t vocab; };
  const Known known[] = {{"ggml-vocab-aquila.gguf", 2, "llama", 100008}, {"ggml-vocab-llama-spm.gguf", 3, "llama", 32000}};
  if (!std::filesystem::exists(models + known[0].file)) GTEST_SKIP() << "no llama.cpp models in " << models;
  for (const Known& k : known) {
    const GgufFile gguf = GgufFile::open(models + k.file);
    EXPECT_EQ(gguf.version(), k.version) << k.file;
    EXPECT_EQ(gguf.architecture(), k.arch) << k.file;
    ASSERT_NE(gguf.find("tokenizer.ggml.tokens"), nullptr) << k.file;
    EXPECT_EQ(gguf.find("tokenizer.ggml.tokens")->items.size(), k.vocab) << k.file;
  }
}

TEST(GgufValues, CheckedConversionsNameTheKey) {
  expect_error([] { s("x").as_int("gemma4.block_count"); }, {"gemma4.block_count: expected an integer, found string"});
  expect_error([] { f(GgufValueType::F32, 1.0).as_int("k.a"); }, {"k.a: expected an integer, found f32"});
  expect_error([] { u(GgufValueType::Bool, 1).as_int("k.b"); }, {"k.b: expected an integer, found bool"});
  expect_error([] { u(GgufValueType::U64, ~uint64_t{0}).as_int("k.c"); }, {"k.c:", "18446744073709551615"});
  expect_error([] { s("1").as_double("k.d"); }, {"k.d: expected a number, found string"});
  expect_error([] { u(GgufValueType::U8, 1).as_bool("k.e"); }, {"k.e: expected a bool, found u8"});
  expect_error([] { array(GgufValueType::String, {}).as_string("k.f"); }, {"k.f: expected a string, found array of string"});
  expect_error([] { i(GgufValueType::I32, 1).as_string("k.g"); }, {"k.g: expected a string, found i32"});

  EXPECT_EQ(u(GgufValueType::U16, 7).as_double("k"), 7.0);
  EXPECT_EQ(i(GgufValueType::I8, -7).as_double("k"), -7.0);
  EXPECT_EQ(u(GgufValueType::U64, uint64_t{1} << 62).as_int("k"), int64_t{1} << 62);
  EXPECT_FALSE(u(GgufValueType::Bool, 0).as_bool("k"));
  EXPECT_TRUE(u(GgufValueType::U32, 1).is_integer());
  EXPECT_FALSE(u(GgufValueType::Bool, 1).is_integer());
  EXPECT_TRUE(f(GgufValueType::F64, 1).is_float());
  EXPECT_STREQ(to_string(GgufValueType::F64), "f64");
}

TEST(GgufFileTest, MissingArchitectureNamesTheFile) {
  TempDir dir;
  GgufWriter writer;
  writer.write(dir.file("bare.gguf"));
  expect_error([&] { GgufFile::open(dir.file("bare.gguf")).architecture(); },
               {dir.file("bare.gguf"), "general.architecture"});
  GgufWriter typed;
  typed.set_u32("general.architecture", 5);
  typed.write(dir.file("typed.gguf"));
  expect_error([&] { GgufFile::open(dir.file("typed.gguf")).architecture(); },
               {dir.file("typed.gguf"), "general.architecture: expected a string, found u32"});
}

TEST(GgufWriterTest, RejectsInconsistentInput) {
  GgufWriter writer;
  expect_error([&] { writer.add_tensor("w", {32}, GgmlType::Q8_0, std::vector<uint8_t>(33)); }, {"w", "33 bytes"});
  expect_error([&] { writer.add_tensor("w", {100}, GgmlType::Q4_K, std::vector<uint8_t>(144)); }, {"w", "block size 256"});
  expect_error([&] { writer.add_tensor("w", {}, GgmlType::F32, {}); }, {"w", "0 dimensions"});
  expect_error([&] { writer.add_tensor("w", {1, 1, 1, 1, 1}, GgmlType::F32, std::vector<uint8_t>(4)); }, {"5 dimensions"});
  expect_error([&] { writer.add_tensor("w", {4}, static_cast<GgmlType>(31), std::vector<uint8_t>(4)); }, {"unknown type 31"});
  writer.add_tensor("w", {1}, GgmlType::F32, std::vector<uint8_t>(4));
  expect_error([&] { writer.add_tensor("w", {1}, GgmlType::F32, std::vector<uint8_t>(4)); }, {"duplicate tensor name w"});
  expect_error([&] { writer.set_alignment(48); }, {"alignment 48"});
  expect_error([&] { writer.set_alignment(0); }, {"alignment 0"});
  expect_error([&] { writer.set_array("a", GgufValueType::U32, {s("x")}); }, {"'a'", "array of u32 holding a string"});
  expect_error([&] { writer.set_u32("", 1); }, {"empty metadata key"});

  TempDir dir;
  const std::string path = dir.file("no/such/folder/x.gguf");
  expect_error([&] { writer.write(path); }, {path + ": cannot create"});
}

}  // namespace
}  // namespace archscope
