// Safetensors files and model folders (single file, sharded with an index), good and bad.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "archscope/safetensors.h"
#include "formats/format_fixtures.h"

namespace archscope {
namespace {

using nlohmann::json;
using testing::expect_error;
using testing::Raw;
using testing::safetensors_bytes;
using testing::safetensors_text;
using testing::TempDir;

json entry(const std::string& dtype, const std::vector<uint64_t>& shape, uint64_t begin, uint64_t end) {
  return json{{"dtype", dtype}, {"shape", shape}, {"data_offsets", {begin, end}}};
}

std::vector<uint8_t> pattern(size_t n, uint8_t seed = 0) {
  std::vector<uint8_t> data(n);
  for (size_t k = 0; k < n; ++k) data[k] = static_cast<uint8_t>(seed + k);
  return data;
}

class Safetensors : public ::testing::Test {
 protected:
  // Writes a file and expects SafetensorsFile::open to fail naming it and each of `parts`.
  void expect_rejected(const std::vector<uint8_t>& bytes, const std::vector<std::string>& parts) {
    const std::string path = dir_.file("bad.safetensors");
    testing::write_bytes(path, bytes);
    std::vector<std::string> all = parts;
    all.insert(all.begin(), path + ": ");
    expect_error([&] { SafetensorsFile::open(path); }, all);
  }

  TempDir dir_;
};

TEST_F(Safetensors, ValidSingleFile) {
  const json header = {
      {"__metadata__", {{"format", "pt"}, {"ignored", 3}}},
      {"embed", entry("F32", {2, 3}, 0, 24)},
      {"norm", entry("F16", {4}, 24, 32)},
      {"proj", entry("BF16", {2, 2}, 32, 40)},
      {"ids", entry("I64", {3}, 40, 64)},
      {"mask", entry("U8", {5}, 64, 69)},
      {"scale", entry("F8_E4M3", {3}, 69, 72)},
      {"count", entry("I32", {}, 72, 76)},
      {"empty", entry("F32", {0, 4}, 76, 76)},
      {"packed", entry("F4", {2, 3}, 76, 79)},
  };
  const std::vector<uint8_t> data = pattern(79, 5);
  const std::vector<uint8_t> bytes = safetensors_bytes(header, data);
  const std::string path = dir_.file("model.safetensors");
  testing::write_bytes(path, bytes);

  const SafetensorsFile st = SafetensorsFile::open(path);
  EXPECT_EQ(st.path(), path);
  EXPECT_EQ(st.file_size(), bytes.size());
  EXPECT_EQ(st.data_offset(), 8 + st.header_size());
  EXPECT_EQ(st.data_offset() + data.size(), bytes.size());
  EXPECT_EQ(st.metadata(), (std::map<std::string, std::string>{{"format", "pt"}}));
  ASSERT_EQ(st.tensors().size(), 9u);
  EXPECT_EQ(st.tensors().front().name, "count");  // sorted by name
  EXPECT_EQ(st.find_tensor("__metadata__"), nullptr);

  struct Want { std::string name; SafetensorsDtype dtype; std::vector<uint64_t> shape; uint64_t begin, bytes; };
  const Want want[] = {
      {"embed", SafetensorsDtype::F32, {2, 3}, 0, 24},   {"norm", SafetensorsDtype::F16, {4}, 24, 8},
      {"proj", SafetensorsDtype::BF16, {2, 2}, 32, 8},   {"ids", SafetensorsDtype::I64, {3}, 40, 24},
      {"mask", SafetensorsDtype::U8, {5}, 64, 5},        {"scale", SafetensorsDtype::F8_E4M3, {3}, 69, 3},
      {"count", SafetensorsDtype::I32, {}, 72, 4},       {"empty", SafetensorsDtype::F32, {0, 4}, 76, 0},
      {"packed", SafetensorsDtype::F4, {2, 3}, 76, 3},
  };
  for (const Want& w : want) {
    const SafetensorsTensor* t = st.find_tensor(w.name);
    ASSERT_NE(t, nullptr) << w.name;
    EXPECT_EQ(t->dtype, w.dtype) << w.name;
    EXPECT_EQ(t->shape, w.shape) << w.name;
    EXPECT_EQ(t->bytes, w.bytes) << w.name;
    EXPECT_EQ(t->offset, st.data_offset() + w.begin) << w.name;
    EXPECT_EQ(t->file, path);
    EXPECT_EQ(t->file_index, 0u);
    EXPECT_EQ(std::vector<uint8_t>(t->data, t->data + t->bytes),
              std::vector<uint8_t>(data.begin() + static_cast<long>(w.begin),
                                   data.begin() + static_cast<long>(w.begin + w.bytes)))
        << w.name;
  }
  EXPECT_EQ(st.find_tensor("count")->elements(), 1u);
  EXPECT_EQ(st.find_tensor("empty")->elements(), 0u);
  EXPECT_EQ(st.find_tensor("embed")->elements(), 6u);
}

TEST(SafetensorsDtypes, NamesBitsAndGgmlTypes) {
  EXPECT_EQ(safetensors_dtype_from_name("BF16"), SafetensorsDtype::BF16);
  EXPECT_EQ(safetensors_dtype_from_name("F8_E5M2"), SafetensorsDtype::F8_E5M2);
  EXPECT_EQ(safetensors_dtype_from_name("bf16"), std::nullopt);  // the format's names are upper case
  EXPECT_EQ(safetensors_dtype_from_name("Q4_K"), std::nullopt);
  EXPECT_STREQ(to_string(SafetensorsDtype::F8_E4M3), "F8_E4M3");
  EXPECT_EQ(safetensors_dtype_bits(SafetensorsDtype::F32), 32u);
  EXPECT_EQ(safetensors_dtype_bits(SafetensorsDtype::BF16), 16u);
  EXPECT_EQ(safetensors_dtype_bits(SafetensorsDtype::I64), 64u);
  EXPECT_EQ(safetensors_dtype_bits(SafetensorsDtype::BOOL), 8u);
  EXPECT_EQ(safetensors_dtype_bits(SafetensorsDtype::F6_E2M3), 6u);
  EXPECT_EQ(safetensors_dtype_bits(SafetensorsDtype::F4), 4u);
  EXPECT_EQ(to_ggml_type(SafetensorsDtype::BF16), GgmlType::BF16);
  EXPECT_EQ(to_ggml_type(SafetensorsDtype::F16), GgmlType::F16);
  EXPECT_EQ(to_ggml_type(SafetensorsDtype::I32), GgmlType::I32);
  EXPECT_EQ(to_ggml_type(SafetensorsDtype::U8), std::nullopt);
  EXPECT_EQ(to_ggml_type(SafetensorsDtype::F8_E4M3), std::nullopt);
  for (const char* name : {"BOOL", "U8", "I8", "U16", "I16", "U32", "I32", "U64", "I64", "F16", "BF16", "F32", "F64",
                           "C64", "F8_E4M3", "F8_E5M2", "F8_E8M0", "F6_E2M3", "F6_E3M2", "F4"}) {
    const auto dtype = safetensors_dtype_from_name(name);
    ASSERT_TRUE(dtype.has_value()) << name;
    EXPECT_STREQ(to_string(*dtype), name);
  }
}

TEST_F(Safetensors, ModelFolderWithOneFile) {
  testing::write_bytes(dir_.file("model.safetensors"),
                       safetensors_bytes({{"w", entry("F32", {2}, 0, 8)}}, pattern(8)));
  for (const std::string& path : {dir_.path(), dir_.file("model.safetensors")}) {
    const SafetensorsModel model = SafetensorsModel::open(path);
    EXPECT_EQ(model.path(), path);
    EXPECT_TRUE(model.index_path().empty());
    ASSERT_EQ(model.files().size(), 1u);
    ASSERT_EQ(model.tensors().size(), 1u);
    const SafetensorsTensor* w = model.find_tensor("w");
    ASSERT_NE(w, nullptr);
    EXPECT_EQ(w->bytes, 8u);
    EXPECT_EQ(w->data[7], 7);
    EXPECT_EQ(model.total_bytes(), 8u);
  }
}

// Two shards and their index, as transformers writes them.
void write_sharded(const TempDir& dir, const json& weight_map) {
  testing::write_bytes(dir.file("model-00001-of-00002.safetensors"),
                       safetensors_bytes({{"model.embed.weight", entry("BF16", {2, 4}, 0, 16)},
                                          {"model.layers.0.norm.weight", entry("F32", {4}, 16, 32)}},
                                         pattern(32, 1)));
  testing::write_bytes(dir.file("model-00002-of-00002.safetensors"),
                       safetensors_bytes({{"model.layers.1.mlp.up.weight", entry("F16", {3, 2}, 0, 12)},
                                          {"lm_head.weight", entry("F32", {1}, 12, 16)}},
                                         pattern(16, 100)));
  testing::write_text(dir.file("model.safetensors.index.json"),
                      json{{"metadata", {{"total_size", 48}}}, {"weight_map", weight_map}}.dump(2));
}

const json kWeightMap = {
    {"model.embed.weight", "model-00001-of-00002.safetensors"},
    {"model.layers.0.norm.weight", "model-00001-of-00002.safetensors"},
    {"model.layers.1.mlp.up.weight", "model-00002-of-00002.safetensors"},
    {"lm_head.weight", "model-00002-of-00002.safetensors"},
};

TEST_F(Safetensors, ShardedModelMergesOneTable) {
  write_sharded(dir_, kWeightMap);
  for (const std::string& path : {dir_.path(), dir_.file("model.safetensors.index.json")}) {
    const SafetensorsModel model = SafetensorsModel::open(path);
    EXPECT_EQ(model.index_path(), dir_.file("model.safetensors.index.json"));
    ASSERT_EQ(model.files().size(), 2u);
    ASSERT_EQ(model.tensors().size(), 4u);
    EXPECT_EQ(model.total_bytes(), 48u);

    const SafetensorsTensor* embed = model.find_tensor("model.embed.weight");
    ASSERT_NE(embed, nullptr);
    EXPECT_EQ(embed->dtype, SafetensorsDtype::BF16);
    EXPECT_EQ(embed->shape, (std::vector<uint64_t>{2, 4}));
    EXPECT_EQ(model.files()[embed->file_index].path(), embed->file);
    EXPECT_NE(embed->file.find("model-00001-of-00002.safetensors"), std::string::npos);
    EXPECT_EQ(embed->data[0], 1);

    const SafetensorsTensor* head = model.find_tensor("lm_head.weight");
    ASSERT_NE(head, nullptr);
    EXPECT_NE(head->file.find("model-00002-of-00002.safetensors"), std::string::npos);
    EXPECT_NE(head->file_index, embed->file_index);
    EXPECT_EQ(head->data[0], 112);
    EXPECT_EQ(head->offset, model.files()[head->file_index].data_offset() + 12);
  }
}

TEST_F(Safetensors, HeaderLengthPastEndOfFile) {
  Raw raw;
  raw.u64(1000).bytes("{}", 2);
  expect_rejected(raw.b, {"header length 1000 extends past end of file (file 10)"});
  Raw huge;
  huge.u64(~uint64_t{0}).bytes("{}      ", 8);
  expect_rejected(huge.b, {"header length 18446744073709551615 extends past end of file"});
  expect_rejected({1, 2, 3}, {"too small"});
  expect_rejected({}, {"too small"});
}

TEST_F(Safetensors, HeaderNotJson) {
  expect_rejected(safetensors_text("{\"w\": {\"dtype\": ", {}), {"header is not valid JSON"});
  expect_rejected(safetensors_text("PK\x03\x04 not json", {}), {"header is not valid JSON"});
  expect_rejected(safetensors_text("[1, 2]", {}), {"header is not a JSON object"});
  expect_rejected(safetensors_text("{\"w\": [1]}", {}), {"tensor w: entry is not a JSON object"});
  expect_rejected(safetensors_text(R"({"a": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]},)"
                                   R"( "a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}})",
                                   pattern(8)),
                  {"header has the key \"a\" twice"});
  expect_rejected(safetensors_text(std::string(100, '[') + std::string(100, ']'), {}), {"nests deeper"});
}

TEST_F(Safetensors, DataOffsetsPastDataOrReversed) {
  expect_rejected(safetensors_bytes({{"w", entry("F32", {4}, 0, 16)}}, pattern(8)),
                  {"tensor w extends past end of file", "size 16"});
  expect_rejected(safetensors_bytes({{"w", entry("F32", {4}, 16, 0)}}, pattern(16)),
                  {"tensor w: data_offsets [16, 0] are reversed"});
  expect_rejected(safetensors_bytes({{"w", json{{"dtype", "F32"}, {"shape", {1}}, {"data_offsets", {0, 4, 8}}}}},
                                    pattern(8)),
                  {"tensor w: \"data_offsets\" must be two non-negative integers"});
  expect_rejected(safetensors_bytes({{"w", json{{"dtype", "F32"}, {"shape", {1}}, {"data_offsets", {-4, 0}}}}},
                                    pattern(8)),
                  {"\"data_offsets\" must be two non-negative integers"});
  expect_rejected(safetensors_bytes({{"w", json{{"dtype", "F32"}, {"shape", {1}}}}}, pattern(8)),
                  {"\"data_offsets\""});
}

TEST_F(Safetensors, ShapeAndDtypeSizeMismatch) {
  expect_rejected(safetensors_bytes({{"w", entry("F32", {4}, 0, 8)}}, pattern(16)),
                  {"tensor w: shape [4] of F32 needs 16 bytes, but data_offsets [0, 8] hold 8"});
  expect_rejected(safetensors_bytes({{"w", entry("BF16", {2, 2}, 0, 16)}}, pattern(16)), {"needs 8 bytes"});
  expect_rejected(safetensors_bytes({{"w", entry("F4", {3}, 0, 2)}}, pattern(2)), {"not a whole number of bytes"});
  expect_rejected(safetensors_bytes({{"w", entry("F32", {uint64_t{1} << 40, uint64_t{1} << 40}, 0, 8)}}, pattern(8)),
                  {"tensor w is too large"});
  expect_rejected(safetensors_bytes({{"w", json{{"dtype", "F32"}, {"shape", {-1}}, {"data_offsets", {0, 4}}}}},
                                    pattern(4)),
                  {"tensor w: shape holds something other than non-negative integers"});
  expect_rejected(safetensors_bytes({{"w", json{{"dtype", "F32"}, {"shape", {1.5}}, {"data_offsets", {0, 4}}}}},
                                    pattern(4)),
                  {"non-negative integers"});
}

TEST_F(Safetensors, UnknownDtype) {
  expect_rejected(safetensors_bytes({{"w", entry("Q7", {4}, 0, 4)}}, pattern(4)), {"tensor w has unknown dtype 'Q7'"});
  expect_rejected(safetensors_bytes({{"w\r\n", entry("Q7", {4}, 0, 4)}}, pattern(4)), {"tensor w\\x0d\\x0a has"});
  expect_rejected(safetensors_bytes({{"w", json{{"dtype", 32}, {"shape", {1}}, {"data_offsets", {0, 4}}}}}, pattern(4)),
                  {"tensor w: missing \"dtype\" string"});
}

TEST_F(Safetensors, OverlappingTensors) {
  expect_rejected(safetensors_bytes({{"a", entry("F32", {4}, 0, 16)}, {"b", entry("F32", {4}, 8, 24)}}, pattern(24)),
                  {"tensors a and b overlap"});
}

TEST_F(Safetensors, FolderWithoutModelFiles) {
  expect_error([&] { SafetensorsModel::open(dir_.path()); },
               {dir_.path() + ": no model.safetensors or model.safetensors.index.json"});
  expect_error([&] { SafetensorsModel::open(dir_.file("missing.safetensors")); },
               {dir_.file("missing.safetensors") + ": cannot open (No such file or directory)"});
}

TEST_F(Safetensors, IndexReferringToMissingShard) {
  json weight_map = kWeightMap;
  weight_map["lm_head.weight"] = "model-00003-of-00002.safetensors";
  write_sharded(dir_, weight_map);
  const std::string index = dir_.file("model.safetensors.index.json");
  expect_error([&] { SafetensorsModel::open(dir_.path()); },
               {index + ": cannot read shard model-00003-of-00002.safetensors (listed for tensor lm_head.weight)",
                "cannot open (No such file or directory)"});
}

TEST_F(Safetensors, TensorListedInIndexButAbsentFromShard) {
  json weight_map = kWeightMap;
  weight_map["model.layers.9.attn.weight"] = "model-00002-of-00002.safetensors";
  write_sharded(dir_, weight_map);
  expect_error([&] { SafetensorsModel::open(dir_.path()); },
               {dir_.file("model.safetensors.index.json") + ": tensor model.layers.9.attn.weight is listed in "
                "weight_map for shard model-00002-of-00002.safetensors, but that shard has no such tensor"});
}

TEST_F(Safetensors, BadIndexFiles) {
  const std::string index = dir_.file("model.safetensors.index.json");
  write_sharded(dir_, {{"w", "../outside.safetensors"}});
  expect_error([&] { SafetensorsModel::open(dir_.path()); }, {index + ": ", "not a file in the model folder"});
  write_sharded(dir_, {{"w", "/etc/passwd"}});
  expect_error([&] { SafetensorsModel::open(dir_.path()); }, {index + ": ", "not a file in the model folder"});
  write_sharded(dir_, {{"w", 3}});
  expect_error([&] { SafetensorsModel::open(dir_.path()); }, {index + ": weight_map entry for tensor w is not a file name"});
  write_sharded(dir_, json::object());
  expect_error([&] { SafetensorsModel::open(dir_.path()); }, {index + ": \"weight_map\" lists no tensors"});
  testing::write_text(index, "{\"metadata\": {}}");
  expect_error([&] { SafetensorsModel::open(dir_.path()); }, {index + ": missing \"weight_map\" object"});
  testing::write_text(index, "{\"weight_map\": ");
  expect_error([&] { SafetensorsModel::open(dir_.path()); }, {index + ": index is not valid JSON"});
}

TEST_F(Safetensors, CorruptShardNamesIndexAndShard) {
  write_sharded(dir_, kWeightMap);
  testing::write_bytes(dir_.file("model-00002-of-00002.safetensors"), {9, 0, 0, 0, 0, 0, 0, 0, '{'});
  expect_error([&] { SafetensorsModel::open(dir_.path()); },
               {dir_.file("model.safetensors.index.json") + ": cannot read shard model-00002-of-00002.safetensors",
                dir_.file("model-00002-of-00002.safetensors") + ": header length 9 extends past end of file"});
}

TEST_F(Safetensors, EveryTruncationIsAnError) {
  const std::vector<uint8_t> bytes =
      safetensors_bytes({{"a", entry("F32", {2}, 0, 8)}, {"b", entry("F16", {4}, 8, 16)}}, pattern(16));
  const std::string path = dir_.file("cut.safetensors");
  for (size_t length = 0; length < bytes.size(); ++length) {
    testing::write_bytes(path, std::vector<uint8_t>(bytes.begin(), bytes.begin() + static_cast<long>(length)));
    expect_error([&] { SafetensorsFile::open(path); }, {path + ": "});
  }
}

}  // namespace
}  // namespace archscope
