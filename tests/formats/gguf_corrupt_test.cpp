// Bad GGUF files: each must throw one archscope::Error that names the file, never crash,
// hang or run out of memory.
#include <gtest/gtest.h>

#include <random>

#include "archscope/gguf.h"
#include "formats/format_fixtures.h"

namespace archscope {
namespace {

using testing::expect_error;
using testing::Raw;
using testing::TempDir;

constexpr uint32_t kF32 = 0, kF16 = 1, kQ4_K = 12;

class GgufCorrupt : public ::testing::Test {
 protected:
  // Writes `bytes` and expects opening them to fail with a message holding the file's path
  // and every one of `parts`.
  void expect_rejected(const std::vector<uint8_t>& bytes, const std::vector<std::string>& parts) {
    const std::string path = dir_.file("bad.gguf");
    testing::write_bytes(path, bytes);
    std::vector<std::string> all = parts;
    all.insert(all.begin(), path + ": ");
    expect_error([&] { GgufFile::open(path); }, all);
  }

  // A valid file with one f32 [8] tensor, to patch.
  static Raw one_tensor(uint32_t version = 3) {
    Raw raw;
    raw.gguf_header(version, 1, 1).kv_string("general.architecture", "llama").tensor_info("w", {8}, kF32, 0).pad(32);
    return raw.zeros(32);
  }

  TempDir dir_;
};

TEST_F(GgufCorrupt, EmptyFile) { expect_rejected({}, {"empty"}); }

TEST_F(GgufCorrupt, WrongMagic) {
  Raw raw = one_tensor();
  std::memcpy(raw.b.data(), "GGML", 4);
  expect_rejected(raw.b, {"not a GGUF file", "'GGML'"});
  expect_rejected({'G', 'G', 'U'}, {"not a GGUF file"});
  expect_rejected({0x00, 0xFF, 0x01, 0x02, 0x03}, {"not a GGUF file", "'\?\?\?\?'"});
}

TEST_F(GgufCorrupt, Version1IsRejected) { expect_rejected(one_tensor(1).b, {"version 1", "not supported"}); }

TEST_F(GgufCorrupt, BigEndianFileIsRejected) {
  expect_rejected(one_tensor(0x03000000).b, {"0x03000000", "big-endian"});
  expect_rejected(one_tensor(0x02000000).b, {"big-endian"});
}

TEST_F(GgufCorrupt, UnknownVersions) {
  expect_rejected(one_tensor(0).b, {"version 0"});
  expect_rejected(one_tensor(4).b, {"version 4"});
}

TEST_F(GgufCorrupt, HugeStringLength) {
  Raw key;
  key.gguf_header(3, 0, 1).u64(uint64_t{1} << 60).bytes("general.name", 12);
  expect_rejected(key.b, {"key", "1152921504606846976"});
  Raw value;
  value.gguf_header(3, 0, 1).str("general.name").u32(8).u64(uint64_t{1} << 60).bytes("abc", 3);
  expect_rejected(value.b, {"truncated", "general.name", "1152921504606846976"});
}

TEST_F(GgufCorrupt, HugeArrayCount) {
  Raw raw;
  raw.gguf_header(3, 0, 1).str("tokenizer.ggml.tokens").u32(9).u32(8).u64(uint64_t{1} << 60).str("a");
  expect_rejected(raw.b, {"tokenizer.ggml.tokens", "1152921504606846976", "cannot fit"});
  Raw nested;
  nested.gguf_header(3, 0, 1).str("n").u32(9).u32(9).u64(1).u32(0).u64(~uint64_t{0});
  expect_rejected(nested.b, {"'n'", "18446744073709551615"});
}

TEST_F(GgufCorrupt, HugeCounts) {
  Raw tensors;
  tensors.gguf_header(3, uint64_t{1} << 60, 0).zeros(64);
  expect_rejected(tensors.b, {"1152921504606846976 tensors"});
  Raw kv;
  kv.gguf_header(3, 0, ~uint64_t{0}).zeros(64);
  expect_rejected(kv.b, {"18446744073709551615 metadata entries"});
}

TEST_F(GgufCorrupt, TooManyDimensions) {
  Raw raw;
  raw.gguf_header(3, 1, 0).tensor_info("blk.0.w", {1, 1, 1, 1, 2}, kF32, 0).pad(32).zeros(32);
  expect_rejected(raw.b, {"tensor blk.0.w has 5 dimensions"});
  Raw none;
  none.gguf_header(3, 1, 0).tensor_info("s", {}, kF32, 0).pad(32).zeros(32);
  expect_rejected(none.b, {"tensor s has 0 dimensions"});
}

TEST_F(GgufCorrupt, ZeroAndAbsurdDimensions) {
  Raw zero;
  zero.gguf_header(3, 1, 0).tensor_info("w", {8, 0}, kF32, 0).pad(32).zeros(32);
  expect_rejected(zero.b, {"tensor w has a zero dimension", "[8, 0]"});
  Raw overflow;
  overflow.gguf_header(3, 1, 0).tensor_info("w", {uint64_t{1} << 32, uint64_t{1} << 32, 2}, kF32, 0).pad(32).zeros(32);
  expect_rejected(overflow.b, {"tensor w has too many elements"});
  Raw huge;
  huge.gguf_header(3, 1, 0).tensor_info("w", {uint64_t{1} << 63}, kF32, 0).pad(32).zeros(32);
  expect_rejected(huge.b, {"tensor w has too many elements"});
  Raw bytes;  // 2^62 f32 elements fit in int64 but not their 2^64 bytes
  bytes.gguf_header(3, 1, 0).tensor_info("w", {uint64_t{1} << 62}, kF32, 0).pad(32).zeros(32);
  expect_rejected(bytes.b, {"tensor w is too large"});
}

TEST_F(GgufCorrupt, RowNotAMultipleOfTheBlockSize) {
  Raw raw;
  raw.gguf_header(3, 1, 0).tensor_info("blk.1.ffn_down.weight", {100, 256}, kQ4_K, 0).pad(32).zeros(144 * 100);
  expect_rejected(raw.b, {"tensor blk.1.ffn_down.weight", "100 elements", "q4_K block size 256"});
}

TEST_F(GgufCorrupt, UnknownTensorType) {
  for (uint32_t type : {4u, 31u, 38u, 43u, 0xFFFFFFFFu}) {
    Raw raw;
    raw.gguf_header(3, 1, 0).tensor_info("blk.2.attn_k.weight", {32}, type, 0).pad(32).zeros(256);
    expect_rejected(raw.b, {"tensor blk.2.attn_k.weight has unknown tensor type " + std::to_string(type)});
  }
}

TEST_F(GgufCorrupt, TensorPastEndOfFile) {
  Raw raw;
  raw.gguf_header(3, 1, 0).tensor_info("blk.3.attn_q.weight", {1024}, kF32, 0).pad(32);
  const uint64_t data_offset = raw.b.size();
  raw.zeros(4000);
  expect_rejected(raw.b, {"tensor blk.3.attn_q.weight extends past end of file (offset " + std::to_string(data_offset) +
                              ", size 4096, file " + std::to_string(raw.b.size()) + ")"});
  Raw far;  // an offset so large that offset + size wraps around
  far.gguf_header(3, 1, 0).tensor_info("w", {8}, kF32, ~uint64_t{31}).pad(32).zeros(32);
  expect_rejected(far.b, {"tensor w extends past end of file"});
  Raw control;  // names from the file are shown escaped, keeping the message on one line
  control.gguf_header(3, 1, 0).tensor_info("bad\nname", {8}, kF32, 0).pad(32);
  expect_rejected(control.b, {"tensor bad\\x0aname extends past end of file"});
  Raw no_data;  // the data section itself is missing
  no_data.gguf_header(3, 1, 0).tensor_info("w", {8}, kF32, 0);
  expect_rejected(no_data.b, {"tensor w extends past end of file"});
}

TEST_F(GgufCorrupt, OverlappingTensors) {
  Raw same;
  same.gguf_header(3, 2, 0).tensor_info("a", {8}, kF32, 0).tensor_info("b", {8}, kF32, 0).pad(32).zeros(64);
  expect_rejected(same.b, {"tensors a and b overlap"});
  Raw partial;  // b (at 32) starts inside a (0..64), listed first
  partial.gguf_header(3, 2, 0).tensor_info("b", {8}, kF32, 32).tensor_info("a", {16}, kF32, 0).pad(32).zeros(96);
  expect_rejected(partial.b, {"tensors a and b overlap", "size 64"});
}

TEST_F(GgufCorrupt, MisalignedTensorOffset) {
  Raw raw;
  raw.gguf_header(3, 1, 0).tensor_info("w", {8}, kF32, 4).pad(32).zeros(64);
  expect_rejected(raw.b, {"tensor w data offset 4 is not a multiple of the alignment 32"});
  Raw custom;
  custom.gguf_header(3, 1, 1).kv_u32("general.alignment", 64).tensor_info("w", {8}, kF32, 32).pad(64).zeros(128);
  expect_rejected(custom.b, {"offset 32", "alignment 64"});
}

TEST_F(GgufCorrupt, BadAlignmentValue) {
  for (uint32_t alignment : {0u, 3u, 48u, 0x80000001u}) {
    Raw raw;
    raw.gguf_header(3, 0, 1).kv_u32("general.alignment", alignment);
    expect_rejected(raw.b, {"general.alignment is " + std::to_string(alignment) + ", not a power of two"});
  }
  Raw wrong_type;
  wrong_type.gguf_header(3, 0, 1).str("general.alignment").u32(10).u64(32);
  expect_rejected(wrong_type.b, {"general.alignment: expected u32, found u64"});
  Raw string_type;
  string_type.gguf_header(3, 0, 1).kv_string("general.alignment", "32");
  expect_rejected(string_type.b, {"general.alignment: expected u32, found string"});
}

TEST_F(GgufCorrupt, DuplicateMetadataKey) {
  Raw raw;
  raw.gguf_header(3, 0, 2).kv_u32("llama.block_count", 2).kv_u32("llama.block_count", 3);
  expect_rejected(raw.b, {"duplicate metadata key 'llama.block_count'"});
}

TEST_F(GgufCorrupt, DuplicateTensorName) {
  Raw raw;
  raw.gguf_header(3, 2, 0).tensor_info("w", {8}, kF32, 0).tensor_info("w", {8}, kF32, 32).pad(32).zeros(64);
  expect_rejected(raw.b, {"duplicate tensor name 'w'"});
}

TEST_F(GgufCorrupt, BadMetadataEncodings) {
  Raw type;
  type.gguf_header(3, 0, 1).str("k").u32(13).u32(0);
  expect_rejected(type.b, {"'k' has unknown value type 13"});
  Raw element;
  element.gguf_header(3, 0, 1).str("k").u32(9).u32(77).u64(0);
  expect_rejected(element.b, {"'k' has unknown array element type 77"});
  Raw empty_key;
  empty_key.gguf_header(3, 0, 1).str("").u32(4).u32(0);
  expect_rejected(empty_key.b, {"empty key"});
  Raw boolean;
  boolean.gguf_header(3, 0, 1).str("flag").u32(7).u8(2);
  expect_rejected(boolean.b, {"'flag'", "bool value is 2"});
}

TEST_F(GgufCorrupt, NestedArrayDepthLimit) {
  auto nested = [](int depth) {
    Raw raw;
    raw.gguf_header(3, 0, 1).str("deep").u32(9);
    for (int d = 1; d < depth; ++d) raw.u32(9).u64(1);  // an array holding one array ...
    return raw.u32(5).u64(1).u32(42);                     // ... down to one i32
  };
  TempDir dir;
  testing::write_bytes(dir.file("ok.gguf"), nested(8).b);
  const GgufFile ok = GgufFile::open(dir.file("ok.gguf"));
  const GgufValue* item = ok.find("deep");
  for (int d = 1; d < 8; ++d) item = &item->items.at(0);
  EXPECT_EQ(item->items.at(0).as_int("deep"), 42);
  expect_rejected(nested(9).b, {"'deep'", "nested more than 8 deep"});
  expect_rejected(nested(100000).b, {"'deep'", "nested more than 8 deep"});
}

TEST_F(GgufCorrupt, MessagesNameTheFileNotJustTheProblem) {
  const std::string path = dir_.file("named-model.gguf");
  testing::write_bytes(path, {'G', 'G', 'U', 'F', 1, 0, 0, 0});
  try {
    GgufFile::open(path);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).rfind(path + ": ", 0), 0u) << e.what();
  }
}

// A small valid file exercising every section: strings, arrays, nested arrays, tensors.
std::vector<uint8_t> small_valid_file(const TempDir& dir) {
  GgufWriter writer;
  writer.set_string("general.architecture", "llama");
  writer.set_u32("llama.block_count", 2);
  writer.set_f32("llama.rope.freq_base", 10000.0f);
  writer.set_bool("llama.flag", true);
  writer.set_string_array("tokenizer.ggml.tokens", {"<s>", "</s>", "hello"});
  writer.set_i32_array("llama.pattern", {1, 0, 1});
  GgufValue inner;
  inner.type = GgufValueType::Array;
  inner.element_type = GgufValueType::U8;
  inner.items.resize(2);
  writer.set_array("llama.nested", GgufValueType::Array, {inner, inner});
  writer.add_tensor("a", {32}, GgmlType::Q8_0, std::vector<uint8_t>(34, 1));
  writer.add_tensor("b", {2, 2}, GgmlType::F16, std::vector<uint8_t>(8, 2));
  writer.add_tensor("c", {8}, GgmlType::F32, std::vector<uint8_t>(32, 3));
  writer.write(dir.file("valid.gguf"));
  return testing::read_bytes(dir.file("valid.gguf"));
}

TEST_F(GgufCorrupt, EveryTruncationIsAnError) {
  const std::vector<uint8_t> bytes = small_valid_file(dir_);
  const GgufFile full = GgufFile::open(dir_.file("valid.gguf"));
  uint64_t needed = 0;  // bytes after the last tensor's data are padding
  for (const GgufTensor& t : full.tensors()) needed = std::max(needed, t.offset + t.bytes);
  ASSERT_EQ(needed, bytes.size());  // the last tensor ends on the alignment here

  const std::string path = dir_.file("cut.gguf");
  for (size_t length = 0; length < needed; ++length) {
    testing::write_bytes(path, std::vector<uint8_t>(bytes.begin(), bytes.begin() + static_cast<long>(length)));
    try {
      GgufFile::open(path);
      ADD_FAILURE() << "a file cut to " << length << " of " << bytes.size() << " bytes opened";
    } catch (const Error& e) {
      EXPECT_EQ(std::string(e.what()).rfind(path + ": ", 0), 0u) << e.what();
    }
  }
}

TEST_F(GgufCorrupt, RandomCorruptionNeverCrashes) {
  const std::vector<uint8_t> bytes = small_valid_file(dir_);
  const std::string path = dir_.file("fuzz.gguf");
  std::mt19937_64 rng(20240611);
  const uint64_t interesting[] = {0, 1, 4, 5, 8, 9, 13, 31, 32, 0x7F, 0xFF, 0xFFFF, 0xFFFFFFFF, uint64_t{1} << 32,
                                  uint64_t{1} << 60, uint64_t{1} << 63, ~uint64_t{0}, bytes.size()};
  int opened = 0, rejected = 0;
  for (int round = 0; round < 3000; ++round) {
    std::vector<uint8_t> b = bytes;
    if (round % 2 == 0) {  // flip a few random bits
      const int flips = 1 + static_cast<int>(rng() % 4);
      for (int n = 0; n < flips; ++n) b[rng() % b.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
    } else {  // plant a boundary value where a count, length or type might be
      const uint64_t v = interesting[rng() % std::size(interesting)];
      const size_t at = rng() % (b.size() - 8);
      std::memcpy(b.data() + at, &v, (rng() % 2) ? 8 : 4);
    }
    if (rng() % 8 == 0) b.resize(rng() % b.size());
    testing::write_bytes(path, b);
    try {
      const GgufFile gguf = GgufFile::open(path);
      uint64_t sum = 0;  // touch each tensor's first and last byte: they must be mapped
      for (const GgufTensor& t : gguf.tensors()) {
        ASSERT_LE(t.offset + t.bytes, gguf.file_size());
        ASSERT_GT(t.bytes, 0u);
        sum += t.data[0] + t.data[t.bytes - 1];
      }
      EXPECT_GE(sum, 0u);
      ++opened;
    } catch (const Error& e) {
      ASSERT_EQ(std::string(e.what()).rfind(path + ": ", 0), 0u) << e.what();
      ++rejected;
    }
  }
  EXPECT_GT(opened, 0);
  EXPECT_GT(rejected, 0);
}

}  // namespace
}  // namespace archscope
