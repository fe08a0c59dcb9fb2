// GGUF v3 writer: the header in insertion order, then the tensor data, each tensor padded
// to the alignment. The layout is described in gguf_reader.cpp.
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <set>

#include "archscope/error.h"
#include "archscope/gguf.h"

namespace archscope {
namespace {

constexpr int kMaxArrayDepth = 8;  // as the reader accepts

uint64_t align_up(uint64_t offset, uint64_t alignment) { return (offset + alignment - 1) / alignment * alignment; }

bool is_power_of_two(uint64_t v) { return v != 0 && (v & (v - 1)) == 0; }

// Appends little-endian encodings to a byte buffer.
class Bytes {
 public:
  template <class T>
  void put(T v) {
    const size_t at = out.size();
    out.resize(at + sizeof(T));
    std::memcpy(out.data() + at, &v, sizeof(T));
  }
  void put_string(const std::string& s) {
    put<uint64_t>(s.size());
    out.insert(out.end(), s.begin(), s.end());
  }
  void put_value(const GgufValue& v) {
    switch (v.type) {
      case GgufValueType::U8: put(static_cast<uint8_t>(v.u)); break;
      case GgufValueType::U16: put(static_cast<uint16_t>(v.u)); break;
      case GgufValueType::U32: put(static_cast<uint32_t>(v.u)); break;
      case GgufValueType::U64: put(static_cast<uint64_t>(v.u)); break;
      case GgufValueType::I8: put(static_cast<int8_t>(v.i)); break;
      case GgufValueType::I16: put(static_cast<int16_t>(v.i)); break;
      case GgufValueType::I32: put(static_cast<int32_t>(v.i)); break;
      case GgufValueType::I64: put(static_cast<int64_t>(v.i)); break;
      case GgufValueType::F32: put(static_cast<float>(v.f)); break;
      case GgufValueType::F64: put(static_cast<double>(v.f)); break;
      case GgufValueType::Bool: put(static_cast<uint8_t>(v.u != 0 ? 1 : 0)); break;
      case GgufValueType::String: put_string(v.s); break;
      case GgufValueType::Array:
        put(static_cast<uint32_t>(v.element_type));
        put<uint64_t>(v.items.size());
        for (const GgufValue& item : v.items) put_value(item);
        break;
    }
  }
  std::vector<uint8_t> out;
};

// Arrays must hold items of their element type, nested at most kMaxArrayDepth deep.
void check_value(const std::string& key, const GgufValue& v, int depth) {
  if (static_cast<uint32_t>(v.type) > static_cast<uint32_t>(GgufValueType::F64)) {
    throw Error("GgufWriter: key '" + key + "' has an unknown value type " + std::to_string(static_cast<uint32_t>(v.type)));
  }
  if (v.type != GgufValueType::Array) return;
  if (depth >= kMaxArrayDepth) throw Error("GgufWriter: key '" + key + "' nests arrays too deep");
  for (const GgufValue& item : v.items) {
    if (item.type != v.element_type) {
      throw Error("GgufWriter: key '" + key + "' is an array of " + to_string(v.element_type) + " holding a " +
                  to_string(item.type));
    }
    check_value(key, item, depth + 1);
  }
}

GgufValue scalar(GgufValueType type) {
  GgufValue v;
  v.type = type;
  return v;
}

struct FileCloser {
  void operator()(std::FILE* f) const {
    if (f != nullptr) std::fclose(f);
  }
};

}  // namespace

void GgufWriter::set(const std::string& key, const GgufValue& value) {
  if (key.empty()) throw Error("GgufWriter: empty metadata key");
  check_value(key, value, 0);
  for (auto& [k, v] : metadata_) {
    if (k == key) {
      v = value;
      return;
    }
  }
  metadata_.emplace_back(key, value);
}

void GgufWriter::set_u32(const std::string& key, uint32_t v) {
  GgufValue value = scalar(GgufValueType::U32);
  value.u = v;
  set(key, value);
}

void GgufWriter::set_i32(const std::string& key, int32_t v) {
  GgufValue value = scalar(GgufValueType::I32);
  value.i = v;
  set(key, value);
}

void GgufWriter::set_u64(const std::string& key, uint64_t v) {
  GgufValue value = scalar(GgufValueType::U64);
  value.u = v;
  set(key, value);
}

void GgufWriter::set_f32(const std::string& key, float v) {
  GgufValue value = scalar(GgufValueType::F32);
  value.f = v;
  set(key, value);
}

void GgufWriter::set_bool(const std::string& key, bool v) {
  GgufValue value = scalar(GgufValueType::Bool);
  value.u = v ? 1 : 0;
  set(key, value);
}

void GgufWriter::set_string(const std::string& key, const std::string& v) {
  GgufValue value = scalar(GgufValueType::String);
  value.s = v;
  set(key, value);
}

void GgufWriter::set_array(const std::string& key, GgufValueType element_type, std::vector<GgufValue> items) {
  GgufValue value = scalar(GgufValueType::Array);
  value.element_type = element_type;
  value.items = std::move(items);
  set(key, value);
}

void GgufWriter::set_i32_array(const std::string& key, const std::vector<int32_t>& v) {
  std::vector<GgufValue> items(v.size(), scalar(GgufValueType::I32));
  for (size_t n = 0; n < v.size(); ++n) items[n].i = v[n];
  set_array(key, GgufValueType::I32, std::move(items));
}

void GgufWriter::set_f32_array(const std::string& key, const std::vector<float>& v) {
  std::vector<GgufValue> items(v.size(), scalar(GgufValueType::F32));
  for (size_t n = 0; n < v.size(); ++n) items[n].f = v[n];
  set_array(key, GgufValueType::F32, std::move(items));
}

void GgufWriter::set_string_array(const std::string& key, const std::vector<std::string>& v) {
  std::vector<GgufValue> items(v.size(), scalar(GgufValueType::String));
  for (size_t n = 0; n < v.size(); ++n) items[n].s = v[n];
  set_array(key, GgufValueType::String, std::move(items));
}

uint64_t GgufWriter::check_tensor(const std::string& name, const std::vector<uint64_t>& shape, GgmlType type) const {
  const GgmlTypeInfo* info = ggml_type_info(type);
  if (info == nullptr) {
    throw Error("GgufWriter: tensor " + name + " has unknown type " + std::to_string(static_cast<uint32_t>(type)));
  }
  if (shape.empty() || shape.size() > 4) {
    throw Error("GgufWriter: tensor " + name + " has " + std::to_string(shape.size()) + " dimensions (1 to 4)");
  }
  uint64_t elements = 1;
  for (uint64_t d : shape) {
    if (d == 0 || __builtin_mul_overflow(elements, d, &elements)) {
      throw Error("GgufWriter: tensor " + name + " has a zero or oversized dimension");
    }
  }
  if (shape[0] % info->block_size != 0) {
    throw Error("GgufWriter: tensor " + name + " rows of " + std::to_string(shape[0]) +
                " elements are not a multiple of the " + info->name + " block size " + std::to_string(info->block_size));
  }
  const std::optional<uint64_t> bytes = ggml_bytes(type, elements);
  if (!bytes) throw Error("GgufWriter: tensor " + name + " is too large");
  for (const Tensor& t : tensors_) {
    if (t.name == name) throw Error("GgufWriter: duplicate tensor name " + name);
  }
  return *bytes;
}

void GgufWriter::add_tensor(const std::string& name, std::vector<uint64_t> shape, GgmlType type,
                            std::vector<uint8_t> data) {
  const uint64_t bytes = check_tensor(name, shape, type);
  if (bytes != data.size()) {
    throw Error("GgufWriter: tensor " + name + " has " + std::to_string(data.size()) + " bytes of data, its shape needs " +
                std::to_string(bytes));
  }
  tensors_.push_back(Tensor{name, std::move(shape), type, bytes, std::move(data), nullptr});
}

void GgufWriter::add_streamed_tensor(const std::string& name, std::vector<uint64_t> shape, GgmlType type,
                                     TensorSource source) {
  const uint64_t bytes = check_tensor(name, shape, type);
  if (!source) throw Error("GgufWriter: tensor " + name + " has no source of bytes");
  tensors_.push_back(Tensor{name, std::move(shape), type, bytes, {}, std::move(source)});
}

void GgufWriter::set_alignment(uint32_t alignment) {
  if (!is_power_of_two(alignment)) {
    throw Error("GgufWriter: alignment " + std::to_string(alignment) + " is not a power of two");
  }
  alignment_ = alignment;
  set_u32("general.alignment", alignment);
}

void GgufWriter::write(const std::string& path) const {
  // Header.
  Bytes header;
  header.out = {'G', 'G', 'U', 'F'};
  header.put<uint32_t>(3);
  header.put<uint64_t>(tensors_.size());
  header.put<uint64_t>(metadata_.size());
  for (const auto& [key, value] : metadata_) {
    header.put_string(key);
    header.put(static_cast<uint32_t>(value.type));
    header.put_value(value);
  }
  uint64_t offset = 0;  // relative to the data section
  for (const Tensor& t : tensors_) {
    header.put_string(t.name);
    header.put<uint32_t>(static_cast<uint32_t>(t.shape.size()));
    for (uint64_t d : t.shape) header.put<uint64_t>(d);
    header.put(static_cast<uint32_t>(t.type));
    header.put<uint64_t>(offset);
    offset += align_up(t.bytes, alignment_);
  }
  header.out.resize(align_up(header.out.size(), alignment_), 0);

  // Header, then each tensor followed by its padding.
  std::unique_ptr<std::FILE, FileCloser> file(std::fopen(path.c_str(), "wb"));
  if (!file) throw Error(path + ": cannot create (" + std::strerror(errno) + ")");
  const std::vector<uint8_t> zeros(alignment_, 0);
  bool ok = std::fwrite(header.out.data(), 1, header.out.size(), file.get()) == header.out.size();
  for (const Tensor& t : tensors_) {
    if (!ok) break;
    uint64_t written = 0;
    const ByteSink sink = [&](const uint8_t* bytes, size_t count) {
      if (written + count > t.bytes) throw Error(path + ": tensor " + t.name + " got more bytes than its shape holds");
      ok = ok && std::fwrite(bytes, 1, count, file.get()) == count;
      written += count;
    };
    if (t.source) {
      t.source(sink);
    } else {
      sink(t.data.data(), t.data.size());
    }
    if (written != t.bytes) throw Error(path + ": tensor " + t.name + " got " + std::to_string(written) + " of its " +
                                        std::to_string(t.bytes) + " bytes");
    const size_t padding = align_up(t.bytes, alignment_) - t.bytes;
    ok = ok && std::fwrite(zeros.data(), 1, padding, file.get()) == padding;
  }
  const int write_errno = errno;
  if (std::fclose(file.release()) != 0 || !ok) {
    throw Error(path + ": cannot write (" + std::strerror(ok ? errno : write_errno) + ")");
  }
}

}  // namespace archscope
