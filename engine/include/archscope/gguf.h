// GGUF reader (versions 2 and 3), memory-mapped. Trusts no size or count from the file:
// every problem is an archscope::Error naming the file and what is wrong.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "archscope/ggml_types.h"

namespace archscope {

class MappedFile;

enum class GgufValueType : uint32_t {
  U8 = 0, I8 = 1, U16 = 2, I16 = 3, U32 = 4, I32 = 5, F32 = 6, Bool = 7,
  String = 8, Array = 9, U64 = 10, I64 = 11, F64 = 12,
};
const char* to_string(GgufValueType type);

// One metadata value. Scalars are widened into one of three slots; arrays hold their
// items (which may themselves be arrays).
struct GgufValue {
  GgufValueType type = GgufValueType::U8;
  GgufValueType element_type = GgufValueType::U8;  // for arrays
  uint64_t u = 0;        // unsigned integers and Bool
  int64_t i = 0;         // signed integers
  double f = 0.0;        // F32, F64
  std::string s;         // String
  std::vector<GgufValue> items;  // Array

  bool is_integer() const;
  bool is_float() const;
  bool is_array() const { return type == GgufValueType::Array; }
  // Checked conversions; throw archscope::Error("<key>: ...") when the value does not fit.
  int64_t as_int(const std::string& key) const;
  double as_double(const std::string& key) const;  // integers convert too
  bool as_bool(const std::string& key) const;
  const std::string& as_string(const std::string& key) const;
};

struct GgufTensor {
  std::string name;
  std::vector<uint64_t> shape;   // ggml order: shape[0] is the contiguous dimension
  GgmlType type = GgmlType::F32;
  uint64_t offset = 0;           // absolute byte offset in the file
  uint64_t bytes = 0;
  const uint8_t* data = nullptr; // into the mapping

  uint64_t elements() const;
};

class GgufFile {
 public:
  // Throws archscope::Error on any problem.
  static GgufFile open(const std::string& path);

  const std::string& path() const { return path_; }
  uint32_t version() const { return version_; }
  uint64_t alignment() const { return alignment_; }
  uint64_t data_offset() const { return data_offset_; }
  uint64_t file_size() const;

  const std::map<std::string, GgufValue>& metadata() const { return metadata_; }
  const GgufValue* find(const std::string& key) const;  // nullptr when absent
  const std::vector<GgufTensor>& tensors() const { return tensors_; }
  const GgufTensor* find_tensor(const std::string& name) const;

  std::string architecture() const;  // general.architecture, or throws
  // MappedFile::release_pages for the whole file (tensor data stays readable).
  void release_pages() const;

 private:
  std::string path_;
  uint32_t version_ = 0;
  uint64_t alignment_ = 32;
  uint64_t data_offset_ = 0;
  std::shared_ptr<MappedFile> file_;
  std::map<std::string, GgufValue> metadata_;
  std::vector<GgufTensor> tensors_;
  std::map<std::string, size_t> tensor_index_;
};

// Writes GGUF v3 files (tests, the model writer). Values keep insertion order.
class GgufWriter {
 public:
  void set(const std::string& key, const GgufValue& value);
  void set_u32(const std::string& key, uint32_t v);
  void set_i32(const std::string& key, int32_t v);
  void set_u64(const std::string& key, uint64_t v);
  void set_f32(const std::string& key, float v);
  void set_bool(const std::string& key, bool v);
  void set_string(const std::string& key, const std::string& v);
  void set_array(const std::string& key, GgufValueType element_type, std::vector<GgufValue> items);
  void set_i32_array(const std::string& key, const std::vector<int32_t>& v);
  void set_f32_array(const std::string& key, const std::vector<float>& v);
  void set_string_array(const std::string& key, const std::vector<std::string>& v);
  // data must hold exactly ggml_bytes(type, elements) bytes.
  void add_tensor(const std::string& name, std::vector<uint64_t> shape, GgmlType type,
                  std::vector<uint8_t> data);
  // A tensor whose bytes are made while the file is written, so a file need not fit in
  // memory: write() calls `source` once, in tensor order, and it passes all
  // ggml_bytes(type, elements) bytes to `sink`, in as many pieces as it likes.
  using ByteSink = std::function<void(const uint8_t* bytes, size_t count)>;
  using TensorSource = std::function<void(const ByteSink& sink)>;
  void add_streamed_tensor(const std::string& name, std::vector<uint64_t> shape, GgmlType type, TensorSource source);
  void set_alignment(uint32_t alignment);
  void write(const std::string& path) const;  // throws archscope::Error

 private:
  std::vector<std::pair<std::string, GgufValue>> metadata_;
  struct Tensor {
    std::string name;
    std::vector<uint64_t> shape;
    GgmlType type;
    uint64_t bytes;
    std::vector<uint8_t> data;  // or, when empty,
    TensorSource source;
  };
  uint64_t check_tensor(const std::string& name, const std::vector<uint64_t>& shape, GgmlType type) const;
  std::vector<Tensor> tensors_;
  uint32_t alignment_ = 32;
};

}  // namespace archscope
