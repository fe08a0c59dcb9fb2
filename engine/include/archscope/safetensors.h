// Safetensors reader, memory-mapped: one file, or a Hugging Face model folder (a single
// model.safetensors or shards listed by model.safetensors.index.json) merged into one
// tensor table. Trusts no size from the file: every problem is an archscope::Error naming
// the file and what is wrong.
//
// File layout: u64 little-endian header length N | N bytes of JSON | data. The JSON maps each
// tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to the
// data, end exclusive); the optional "__metadata__" entry is a string -> string map.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "archscope/ggml_types.h"

namespace archscope {

class MappedFile;

// The dtypes the safetensors format defines.
enum class SafetensorsDtype : uint32_t {
  BOOL, U8, I8, U16, I16, U32, I32, U64, I64,
  F16, BF16, F32, F64, C64,
  F8_E4M3, F8_E5M2, F8_E8M0,
  F6_E2M3, F6_E3M2, F4,  // sub-byte: packed, the tensor's bit count must be a whole number of bytes
};

const char* to_string(SafetensorsDtype dtype);                                 // "BF16"
std::optional<SafetensorsDtype> safetensors_dtype_from_name(const std::string& name);  // exact, "F8_E4M3"
uint32_t safetensors_dtype_bits(SafetensorsDtype dtype);                       // bits per element: 16 for BF16, 4 for F4
// The ggml type with the same element encoding (F32, F16, BF16, F64, I8..I64), or nullopt.
std::optional<GgmlType> to_ggml_type(SafetensorsDtype dtype);

struct SafetensorsTensor {
  std::string name;
  SafetensorsDtype dtype = SafetensorsDtype::F32;
  std::vector<uint64_t> shape;    // row-major as stored: shape.back() is the contiguous dimension
  uint64_t offset = 0;            // absolute byte offset in its file
  uint64_t bytes = 0;
  const uint8_t* data = nullptr;  // into the mapping
  std::string file;               // path of the file holding it
  size_t file_index = 0;          // index into SafetensorsModel::files() (0 in a SafetensorsFile)

  uint64_t elements() const;      // product of shape; 1 for a scalar (empty shape)
};

class SafetensorsFile {
 public:
  // Throws archscope::Error on any problem.
  static SafetensorsFile open(const std::string& path);

  const std::string& path() const { return path_; }
  uint64_t file_size() const;
  uint64_t header_size() const { return header_size_; }  // the JSON's length N
  uint64_t data_offset() const { return 8 + header_size_; }

  const std::map<std::string, std::string>& metadata() const { return metadata_; }  // "__metadata__"
  const std::vector<SafetensorsTensor>& tensors() const { return tensors_; }  // sorted by name
  const SafetensorsTensor* find_tensor(const std::string& name) const;      // nullptr when absent

 private:
  friend class SafetensorsModel;
  std::string path_;
  uint64_t header_size_ = 0;
  std::shared_ptr<MappedFile> file_;
  std::map<std::string, std::string> metadata_;
  std::vector<SafetensorsTensor> tensors_;
  std::map<std::string, size_t> tensor_index_;
};

class SafetensorsModel {
 public:
  // `path` is a model folder holding model.safetensors.index.json (sharded; preferred when
  // both exist) or model.safetensors, or a single .safetensors file. With an index, the
  // tensor table is exactly the index's weight_map; each listed tensor must exist in its shard.
  // Throws archscope::Error on any problem.
  static SafetensorsModel open(const std::string& path);

  const std::string& path() const { return path_; }
  const std::string& index_path() const { return index_path_; }  // empty without an index
  const std::vector<SafetensorsFile>& files() const { return files_; }
  const std::vector<SafetensorsTensor>& tensors() const { return tensors_; }  // sorted by name
  const SafetensorsTensor* find_tensor(const std::string& name) const;      // nullptr when absent
  uint64_t total_bytes() const;  // sum of all tensors' bytes

 private:
  std::string path_;
  std::string index_path_;
  std::vector<SafetensorsFile> files_;
  std::vector<SafetensorsTensor> tensors_;
  std::map<std::string, size_t> tensor_index_;
};

}  // namespace archscope
