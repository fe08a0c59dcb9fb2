// GGUF reader, versions 2 and 3 (little-endian). Layout, as in llama.cpp's ggml/src/gguf.cpp:
//
//   "GGUF" | u32 version | u64 n_tensors | u64 n_kv
//   n_kv x       { string key | u32 value type | value }
//   n_tensors x  { string name | u32 n_dims | u64 ne[n_dims] | u32 ggml type | u64 offset }
//   padding to general.alignment (default 32), then the data section; tensor offsets are
//   relative to its start.
//
// A string is u64 length + bytes; an array is u32 element type + u64 count + items (items of
// a nested array are arrays again, each with its own type and count).
//
// Nothing from the file is trusted: each count and length is checked against the bytes that
// remain before anything is allocated, and every problem throws one archscope::Error line
// that names the file.
#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>
#include <sstream>

#include "archscope/error.h"
#include "archscope/gguf.h"
#include "archscope/mapped_file.h"
#include "formats/printable.h"

namespace archscope {
namespace {

static_assert(std::endian::native == std::endian::little, "the GGUF reader assumes a little-endian host");

constexpr uint32_t kMaxDims = 4;                       // ggml's GGML_MAX_DIMS
constexpr uint64_t kDefaultAlignment = 32;             // GGUF_DEFAULT_ALIGNMENT
constexpr int kMaxArrayDepth = 8;                      // arrays of arrays, at most this deep
constexpr uint64_t kMaxKeyLength = 65535;              // the GGUF spec's limit for keys
constexpr uint64_t kMaxTensorNameLength = 1024;        // ggml itself allows 63
constexpr uint64_t kMaxMetadataMemory = 512ull << 20;  // in-memory size of all metadata values
constexpr uint64_t kValueTypeCount = 13;

std::string shape_string(const std::vector<uint64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

std::string hex32(uint32_t v) {
  std::ostringstream out;
  out << "0x" << std::hex;
  out.width(8);
  out.fill('0');
  out << v;
  return out.str();
}

// Bytes the smallest possible encoding of one value of `type` takes (arrays and strings:
// just their header). Used to reject counts that cannot fit in what is left of the file.
uint64_t min_encoded_size(GgufValueType type) {
  switch (type) {
    case GgufValueType::U8: case GgufValueType::I8: case GgufValueType::Bool: return 1;
    case GgufValueType::U16: case GgufValueType::I16: return 2;
    case GgufValueType::U32: case GgufValueType::I32: case GgufValueType::F32: return 4;
    case GgufValueType::U64: case GgufValueType::I64: case GgufValueType::F64: return 8;
    case GgufValueType::String: return 8;
    case GgufValueType::Array: return 12;
  }
  return 1;
}

// A bounds-checked little-endian reader over the mapped file.
class Cursor {
 public:
  Cursor(const std::string& path, const uint8_t* data, uint64_t size) : path_(path), data_(data), size_(size) {}

  uint64_t pos() const { return pos_; }
  uint64_t remaining() const { return size_ - pos_; }
  // What is being read, for truncation messages ("key 'general.name'", "tensor 3 (blk.0.attn_q.weight)").
  void set_context(std::string context) { context_ = std::move(context); }
  const std::string& context() const { return context_; }

  [[noreturn]] void fail(const std::string& problem) const { throw Error(path_ + ": " + problem); }

  void need(uint64_t n, const char* what) const {
    if (n > remaining()) {
      fail("file is truncated: " + std::string(what) + (context_.empty() ? "" : " of " + context_) + " needs " +
           std::to_string(n) + " bytes at offset " + std::to_string(pos_) + ", but the file ends at " +
           std::to_string(size_));
    }
  }

  template <class T>
  T read(const char* what) {
    need(sizeof(T), what);
    T v;
    std::memcpy(&v, data_ + pos_, sizeof(T));
    pos_ += sizeof(T);
    return v;
  }

  std::string read_string(const char* what, uint64_t max_length) {
    const uint64_t length = read<uint64_t>(what);
    if (length > max_length) {
      fail(std::string(what) + (context_.empty() ? "" : " of " + context_) + " is " + std::to_string(length) +
           " bytes long (limit " + std::to_string(max_length) + ")");
    }
    need(length, what);
    std::string s(reinterpret_cast<const char*>(data_ + pos_), static_cast<size_t>(length));
    pos_ += length;
    return s;
  }

 private:
  const std::string& path_;
  const uint8_t* data_;
  uint64_t size_;
  uint64_t pos_ = 0;
  std::string context_;
};

// Reads metadata values, keeping a budget on the memory they take.
class MetadataParser {
 public:
  explicit MetadataParser(Cursor& in) : in_(in) {}

  GgufValue value(GgufValueType type, int depth, const std::string& key) {
    GgufValue v;
    v.type = type;
    switch (type) {
      case GgufValueType::U8: v.u = in_.read<uint8_t>("value"); break;
      case GgufValueType::U16: v.u = in_.read<uint16_t>("value"); break;
      case GgufValueType::U32: v.u = in_.read<uint32_t>("value"); break;
      case GgufValueType::U64: v.u = in_.read<uint64_t>("value"); break;
      case GgufValueType::I8: v.i = in_.read<int8_t>("value"); break;
      case GgufValueType::I16: v.i = in_.read<int16_t>("value"); break;
      case GgufValueType::I32: v.i = in_.read<int32_t>("value"); break;
      case GgufValueType::I64: v.i = in_.read<int64_t>("value"); break;
      case GgufValueType::F32: v.f = in_.read<float>("value"); break;
      case GgufValueType::F64: v.f = in_.read<double>("value"); break;
      case GgufValueType::Bool: {
        const uint8_t b = in_.read<uint8_t>("value");
        if (b > 1) in_.fail("metadata key '" + key + "': bool value is " + std::to_string(b) + ", not 0 or 1");
        v.u = b;
        break;
      }
      case GgufValueType::String:
        v.s = in_.read_string("string", std::numeric_limits<uint64_t>::max());
        charge(v.s.size());
        break;
      case GgufValueType::Array: array(v, depth + 1, key); break;
    }
    return v;
  }

  GgufValueType type(const std::string& key, const char* what) {
    const uint32_t t = in_.read<uint32_t>(what);
    if (t >= kValueTypeCount) {
      in_.fail("metadata key '" + key + "' has unknown " + what + " " + std::to_string(t));
    }
    return static_cast<GgufValueType>(t);
  }

 private:
  void array(GgufValue& v, int depth, const std::string& key) {
    if (depth > kMaxArrayDepth) {
      in_.fail("metadata key '" + key + "': arrays nested more than " + std::to_string(kMaxArrayDepth) + " deep");
    }
    v.element_type = type(key, "array element type");
    const uint64_t count = in_.read<uint64_t>("array length");
    const uint64_t fit = in_.remaining() / min_encoded_size(v.element_type);
    if (count > fit) {
      in_.fail("metadata key '" + key + "': array of " + std::to_string(count) + " " + to_string(v.element_type) +
               " items cannot fit in the " + std::to_string(in_.remaining()) + " bytes left in the file");
    }
    charge(count * sizeof(GgufValue));  // count <= file size, so no overflow
    v.items.reserve(static_cast<size_t>(count));
    for (uint64_t n = 0; n < count; ++n) v.items.push_back(value(v.element_type, depth, key));
  }

  void charge(uint64_t bytes) {
    used_ += bytes;
    if (used_ > kMaxMetadataMemory) {
      in_.fail("metadata would take more than " + std::to_string(kMaxMetadataMemory >> 20) +
               " MiB of memory (at key '" + in_.context() + "')");
    }
  }

  Cursor& in_;
  uint64_t used_ = 0;
};

uint64_t align_up(uint64_t offset, uint64_t alignment) {
  return (offset + alignment - 1) / alignment * alignment;  // offset <= file size: no overflow
}

}  // namespace

// ---- GgufValue ----------------------------------------------------------------------------

const char* to_string(GgufValueType type) {
  switch (type) {
    case GgufValueType::U8: return "u8";
    case GgufValueType::I8: return "i8";
    case GgufValueType::U16: return "u16";
    case GgufValueType::I16: return "i16";
    case GgufValueType::U32: return "u32";
    case GgufValueType::I32: return "i32";
    case GgufValueType::F32: return "f32";
    case GgufValueType::Bool: return "bool";
    case GgufValueType::String: return "string";
    case GgufValueType::Array: return "array";
    case GgufValueType::U64: return "u64";
    case GgufValueType::I64: return "i64";
    case GgufValueType::F64: return "f64";
  }
  return "unknown";
}

bool GgufValue::is_integer() const {
  switch (type) {
    case GgufValueType::U8: case GgufValueType::U16: case GgufValueType::U32: case GgufValueType::U64:
    case GgufValueType::I8: case GgufValueType::I16: case GgufValueType::I32: case GgufValueType::I64:
      return true;
    default:
      return false;
  }
}

bool GgufValue::is_float() const { return type == GgufValueType::F32 || type == GgufValueType::F64; }

static bool is_unsigned(GgufValueType t) {
  return t == GgufValueType::U8 || t == GgufValueType::U16 || t == GgufValueType::U32 || t == GgufValueType::U64;
}

static std::string found(const GgufValue& v) {
  if (v.type == GgufValueType::Array) return std::string("array of ") + to_string(v.element_type);
  return to_string(v.type);
}

int64_t GgufValue::as_int(const std::string& key) const {
  if (!is_integer()) throw Error(key + ": expected an integer, found " + found(*this));
  if (is_unsigned(type)) {
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      throw Error(key + ": value " + std::to_string(u) + " does not fit in a signed 64-bit integer");
    }
    return static_cast<int64_t>(u);
  }
  return i;
}

double GgufValue::as_double(const std::string& key) const {
  if (is_float()) return f;
  if (is_integer()) return is_unsigned(type) ? static_cast<double>(u) : static_cast<double>(i);
  throw Error(key + ": expected a number, found " + found(*this));
}

bool GgufValue::as_bool(const std::string& key) const {
  if (type != GgufValueType::Bool) throw Error(key + ": expected a bool, found " + found(*this));
  return u != 0;
}

const std::string& GgufValue::as_string(const std::string& key) const {
  if (type != GgufValueType::String) throw Error(key + ": expected a string, found " + found(*this));
  return s;
}

uint64_t GgufTensor::elements() const {
  uint64_t n = 1;
  for (uint64_t d : shape) n *= d;  // checked when the file was read
  return n;
}

// ---- GgufFile -----------------------------------------------------------------------------

uint64_t GgufFile::file_size() const { return file_ ? file_->size() : 0; }

const GgufValue* GgufFile::find(const std::string& key) const {
  auto it = metadata_.find(key);
  return it == metadata_.end() ? nullptr : &it->second;
}

const GgufTensor* GgufFile::find_tensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

void GgufFile::release_pages() const {
  if (file_) file_->release_pages();
}

std::string GgufFile::architecture() const {
  const GgufValue* v = find("general.architecture");
  if (v == nullptr) throw Error(path_ + ": missing metadata key general.architecture");
  try {
    return v->as_string("general.architecture");
  } catch (const Error& e) {
    throw Error(path_ + ": " + e.what());
  }
}

GgufFile GgufFile::open(const std::string& path) {
  GgufFile gguf;
  gguf.path_ = path;
  gguf.file_ = MappedFile::open(path);
  const uint64_t file_size = gguf.file_->size();
  Cursor in(path, gguf.file_->data(), file_size);

  // Header.
  if (file_size == 0) in.fail("file is empty, not a GGUF file");
  if (file_size < 4 || std::memcmp(gguf.file_->data(), "GGUF", 4) != 0) {
    std::string magic;
    for (uint64_t n = 0; n < std::min<uint64_t>(file_size, 4); ++n) {
      const char c = static_cast<char>(gguf.file_->data()[n]);
      magic += (c >= 0x20 && c < 0x7f) ? c : '?';
    }
    in.fail("not a GGUF file (starts with '" + magic + "', expected 'GGUF')");
  }
  in.read<uint32_t>("magic");
  const uint32_t version = in.read<uint32_t>("version");
  if (version == 0) in.fail("bad GGUF version 0");
  if ((version & 0xFFFFu) == 0) {
    in.fail("GGUF version " + hex32(version) +
            " looks byte-swapped: this is a big-endian GGUF file, which archscope does not read");
  }
  if (version == 1) in.fail("GGUF version 1 is not supported (only versions 2 and 3); reconvert the model with a current llama.cpp");
  if (version > 3) in.fail("GGUF version " + std::to_string(version) + " is newer than this reader (versions 2 and 3)");
  gguf.version_ = version;

  const uint64_t n_tensors = in.read<uint64_t>("tensor count");
  const uint64_t n_kv = in.read<uint64_t>("metadata count");
  // Smallest possible entries: a key is 8 + 1 bytes, its type 4, a value 1; a tensor entry
  // is name length 8, n_dims 4, one dimension 8, type 4, offset 8.
  if (n_kv > in.remaining() / 14) {
    in.fail("header claims " + std::to_string(n_kv) + " metadata entries, which cannot fit in the " +
            std::to_string(in.remaining()) + " bytes left in the file");
  }
  if (n_tensors > in.remaining() / 32) {
    in.fail("header claims " + std::to_string(n_tensors) + " tensors, which cannot fit in the " +
            std::to_string(in.remaining()) + " bytes left in the file");
  }

  // Metadata.
  MetadataParser parser(in);
  for (uint64_t n = 0; n < n_kv; ++n) {
    in.set_context("metadata entry " + std::to_string(n));
    std::string key = in.read_string("key", kMaxKeyLength);
    const std::string shown = printable(key);
    if (key.empty()) in.fail("metadata entry " + std::to_string(n) + " has an empty key");
    if (gguf.metadata_.count(key) != 0) in.fail("duplicate metadata key '" + shown + "'");
    in.set_context("key '" + shown + "'");
    const GgufValueType type = parser.type(shown, "value type");
    GgufValue value = parser.value(type, 0, shown);
    gguf.metadata_.emplace(std::move(key), std::move(value));
  }

  if (const GgufValue* a = gguf.find("general.alignment")) {
    if (a->type != GgufValueType::U32) {
      in.fail("general.alignment: expected u32, found " + found(*a));
    }
    if (a->u == 0 || (a->u & (a->u - 1)) != 0) {
      in.fail("general.alignment is " + std::to_string(a->u) + ", not a power of two");
    }
    gguf.alignment_ = a->u;
  } else {
    gguf.alignment_ = kDefaultAlignment;
  }

  // Tensor table.
  gguf.tensors_.reserve(static_cast<size_t>(n_tensors));
  for (uint64_t n = 0; n < n_tensors; ++n) {
    in.set_context("tensor " + std::to_string(n));
    GgufTensor t;
    t.name = in.read_string("name", kMaxTensorNameLength);
    const std::string shown = printable(t.name);
    if (gguf.tensor_index_.count(t.name) != 0) in.fail("duplicate tensor name '" + shown + "'");
    in.set_context("tensor " + shown);

    const uint32_t n_dims = in.read<uint32_t>("dimension count");
    if (n_dims == 0 || n_dims > kMaxDims) {
      in.fail("tensor " + shown + " has " + std::to_string(n_dims) + " dimensions (expected 1 to " +
              std::to_string(kMaxDims) + ")");
    }
    uint64_t elements = 1;
    bool overflow = false;
    for (uint32_t d = 0; d < n_dims; ++d) {
      const uint64_t ne = in.read<uint64_t>("dimension");
      t.shape.push_back(ne);
      overflow = overflow || __builtin_mul_overflow(elements, ne, &elements);
    }
    for (uint64_t ne : t.shape) {
      if (ne == 0) in.fail("tensor " + shown + " has a zero dimension (shape " + shape_string(t.shape) + ")");
    }
    if (overflow || elements > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
      in.fail("tensor " + shown + " has too many elements (shape " + shape_string(t.shape) + ")");
    }

    const uint32_t type = in.read<uint32_t>("type");
    const GgmlTypeInfo* info = ggml_type_info(type);
    if (info == nullptr) in.fail("tensor " + shown + " has unknown tensor type " + std::to_string(type));
    t.type = static_cast<GgmlType>(type);
    if (t.shape[0] % info->block_size != 0) {
      in.fail("tensor " + shown + " has rows of " + std::to_string(t.shape[0]) + " elements, not a multiple of the " +
              info->name + " block size " + std::to_string(info->block_size));
    }
    const std::optional<uint64_t> bytes = ggml_bytes(t.type, elements);
    if (!bytes) in.fail("tensor " + shown + " is too large (shape " + shape_string(t.shape) + ", " + info->name + ")");
    t.bytes = *bytes;

    t.offset = in.read<uint64_t>("data offset");  // relative for now
    if (t.offset % gguf.alignment_ != 0) {
      in.fail("tensor " + shown + " data offset " + std::to_string(t.offset) + " is not a multiple of the alignment " +
              std::to_string(gguf.alignment_));
    }
    gguf.tensor_index_.emplace(t.name, gguf.tensors_.size());
    gguf.tensors_.push_back(std::move(t));
  }
  in.set_context("");

  // Data section: starts at the end of the header, rounded up to the alignment.
  gguf.data_offset_ = align_up(in.pos(), gguf.alignment_);
  for (GgufTensor& t : gguf.tensors_) {
    uint64_t start = 0, end = 0;
    const bool start_overflows = __builtin_add_overflow(gguf.data_offset_, t.offset, &start);
    if (start_overflows || __builtin_add_overflow(start, t.bytes, &end) || end > file_size) {
      const std::string where = start_overflows ? std::to_string(gguf.data_offset_) + " + " + std::to_string(t.offset)
                                                : std::to_string(start);
      in.fail("tensor " + printable(t.name) + " extends past end of file (offset " + where + ", size " +
              std::to_string(t.bytes) + ", file " + std::to_string(file_size) + ")");
    }
    t.offset = start;
    t.data = gguf.file_->data() + start;
  }

  // No two tensors may share bytes.
  std::vector<const GgufTensor*> by_offset;
  by_offset.reserve(gguf.tensors_.size());
  for (const GgufTensor& t : gguf.tensors_) by_offset.push_back(&t);
  std::sort(by_offset.begin(), by_offset.end(),
            [](const GgufTensor* a, const GgufTensor* b) { return a->offset < b->offset; });
  for (size_t n = 1; n < by_offset.size(); ++n) {
    const GgufTensor& a = *by_offset[n - 1];
    const GgufTensor& b = *by_offset[n];
    if (b.offset < a.offset + a.bytes) {
      const std::string an = printable(a.name), bn = printable(b.name);
      in.fail("tensors " + an + " and " + bn + " overlap (" + an + " at offset " + std::to_string(a.offset) +
              ", size " + std::to_string(a.bytes) + "; " + bn + " at offset " + std::to_string(b.offset) + ")");
    }
  }
  return gguf;
}

}  // namespace archscope
