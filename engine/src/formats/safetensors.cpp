// Safetensors files and Hugging Face model folders (single file or sharded with an index).
// The layout is described in safetensors.h. Checks follow the reference implementation
// (huggingface/safetensors): header at most 100 MB, offsets inside the data, no overlaps,
// and each tensor's byte range exactly the size its shape and dtype imply.
#include "archscope/safetensors.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <filesystem>
#include <set>
#include <vector>

#include <nlohmann/json.hpp>

#include "archscope/error.h"
#include "archscope/mapped_file.h"
#include "formats/printable.h"

namespace archscope {
namespace {

using nlohmann::json;

constexpr uint64_t kMaxHeaderSize = 100'000'000;   // as huggingface/safetensors
constexpr uint64_t kMaxIndexSize = 256ull << 20;   // model.safetensors.index.json
constexpr int kMaxJsonDepth = 16;

struct DtypeInfo {
  SafetensorsDtype dtype;
  const char* name;
  uint32_t bits;
};

constexpr std::array<DtypeInfo, 20> kDtypes = {{
    {SafetensorsDtype::BOOL, "BOOL", 8},       {SafetensorsDtype::U8, "U8", 8},
    {SafetensorsDtype::I8, "I8", 8},           {SafetensorsDtype::U16, "U16", 16},
    {SafetensorsDtype::I16, "I16", 16},        {SafetensorsDtype::U32, "U32", 32},
    {SafetensorsDtype::I32, "I32", 32},        {SafetensorsDtype::U64, "U64", 64},
    {SafetensorsDtype::I64, "I64", 64},        {SafetensorsDtype::F16, "F16", 16},
    {SafetensorsDtype::BF16, "BF16", 16},      {SafetensorsDtype::F32, "F32", 32},
    {SafetensorsDtype::F64, "F64", 64},        {SafetensorsDtype::C64, "C64", 64},
    {SafetensorsDtype::F8_E4M3, "F8_E4M3", 8}, {SafetensorsDtype::F8_E5M2, "F8_E5M2", 8},
    {SafetensorsDtype::F8_E8M0, "F8_E8M0", 8}, {SafetensorsDtype::F6_E2M3, "F6_E2M3", 6},
    {SafetensorsDtype::F6_E3M2, "F6_E3M2", 6}, {SafetensorsDtype::F4, "F4", 4},
}};

const DtypeInfo& dtype_info(SafetensorsDtype dtype) {
  for (const DtypeInfo& d : kDtypes) {
    if (d.dtype == dtype) return d;
  }
  return kDtypes[0];  // unreachable for valid enum values
}

std::string shape_string(const std::vector<uint64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) {
    if (i > 0) s += ", ";
    s += std::to_string(shape[i]);
  }
  return s + "]";
}

// Parses JSON text, rejecting duplicate keys in any object and nesting deeper than
// kMaxJsonDepth; throws Error("<path>: <what> is not valid JSON (...)").
json parse_json(const std::string& path, const char* what, const char* begin, const char* end) {
  std::vector<std::set<std::string>> open_objects;
  auto check = [&](int depth, json::parse_event_t event, json& parsed) {
    if (depth > kMaxJsonDepth) throw Error(path + ": " + what + " nests deeper than " + std::to_string(kMaxJsonDepth));
    switch (event) {
      case json::parse_event_t::object_start: open_objects.emplace_back(); break;
      case json::parse_event_t::object_end: if (!open_objects.empty()) open_objects.pop_back(); break;
      case json::parse_event_t::key: {
        const std::string& key = parsed.get_ref<const std::string&>();
        if (!open_objects.empty() && !open_objects.back().insert(key).second) {
          throw Error(path + ": " + what + " has the key \"" + printable(key) + "\" twice");
        }
        break;
      }
      default: break;
    }
    return true;
  };
  try {
    return json::parse(begin, end, check);
  } catch (const json::exception& e) {
    std::string message = e.what();
    std::replace(message.begin(), message.end(), '\n', ' ');
    throw Error(path + ": " + what + " is not valid JSON (" + message + ")");
  }
}

bool is_count(const json& v) { return v.is_number_unsigned(); }

[[noreturn]] void fail(const std::string& file, const std::string& problem) { throw Error(file + ": " + problem); }

}  // namespace

// ---- dtypes ---------------------------------------------------------------------------------

const char* to_string(SafetensorsDtype dtype) { return dtype_info(dtype).name; }

uint32_t safetensors_dtype_bits(SafetensorsDtype dtype) { return dtype_info(dtype).bits; }

std::optional<SafetensorsDtype> safetensors_dtype_from_name(const std::string& name) {
  for (const DtypeInfo& d : kDtypes) {
    if (name == d.name) return d.dtype;
  }
  return std::nullopt;
}

std::optional<GgmlType> to_ggml_type(SafetensorsDtype dtype) {
  switch (dtype) {
    case SafetensorsDtype::F32: return GgmlType::F32;
    case SafetensorsDtype::F16: return GgmlType::F16;
    case SafetensorsDtype::BF16: return GgmlType::BF16;
    case SafetensorsDtype::F64: return GgmlType::F64;
    case SafetensorsDtype::I8: return GgmlType::I8;
    case SafetensorsDtype::I16: return GgmlType::I16;
    case SafetensorsDtype::I32: return GgmlType::I32;
    case SafetensorsDtype::I64: return GgmlType::I64;
    default: return std::nullopt;
  }
}

uint64_t SafetensorsTensor::elements() const {
  uint64_t n = 1;
  for (uint64_t d : shape) n *= d;  // checked when the file was read
  return n;
}

// ---- one file -------------------------------------------------------------------------------

uint64_t SafetensorsFile::file_size() const { return file_ ? file_->size() : 0; }

const SafetensorsTensor* SafetensorsFile::find_tensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

SafetensorsFile SafetensorsFile::open(const std::string& path) {
  SafetensorsFile st;
  st.path_ = path;
  st.file_ = MappedFile::open(path);
  const uint64_t file_size = st.file_->size();
  const uint8_t* bytes = st.file_->data();

  if (file_size < 8) fail(path, "file is too small to be a safetensors file (" + std::to_string(file_size) + " bytes)");
  uint64_t n = 0;
  std::memcpy(&n, bytes, 8);  // little-endian host
  if (n > file_size - 8) {
    fail(path, "header length " + std::to_string(n) + " extends past end of file (file " + std::to_string(file_size) + ")");
  }
  if (n > kMaxHeaderSize) {
    fail(path, "header length " + std::to_string(n) + " is over the " + std::to_string(kMaxHeaderSize) + " byte limit");
  }
  st.header_size_ = n;
  const char* text = reinterpret_cast<const char*>(bytes + 8);
  const json header = parse_json(path, "header", text, text + n);
  if (!header.is_object()) fail(path, "header is not a JSON object");

  const uint64_t data_start = 8 + n;
  const uint64_t data_size = file_size - data_start;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (entry.is_object()) {
        for (const auto& [key, value] : entry.items()) {
          if (value.is_string()) st.metadata_.emplace(key, value.get<std::string>());
        }
      }
      continue;
    }
    const std::string where = "tensor " + printable(name);
    if (!entry.is_object()) fail(path, where + ": entry is not a JSON object");

    const auto dtype = entry.find("dtype");
    if (dtype == entry.end() || !dtype->is_string()) fail(path, where + ": missing \"dtype\" string");
    SafetensorsTensor t;
    t.name = name;
    t.file = path;
    const std::optional<SafetensorsDtype> known = safetensors_dtype_from_name(dtype->get<std::string>());
    if (!known) fail(path, where + " has unknown dtype '" + dtype->get<std::string>() + "'");
    t.dtype = *known;

    const auto shape = entry.find("shape");
    if (shape == entry.end() || !shape->is_array()) fail(path, where + ": missing \"shape\" array");
    uint64_t elements = 1;
    bool overflow = false;
    for (const json& d : *shape) {
      if (!is_count(d)) fail(path, where + ": shape holds something other than non-negative integers");
      t.shape.push_back(d.get<uint64_t>());
      overflow = overflow || __builtin_mul_overflow(elements, t.shape.back(), &elements);
    }
    uint64_t bits = 0;
    if (overflow || __builtin_mul_overflow(elements, uint64_t{safetensors_dtype_bits(t.dtype)}, &bits)) {
      fail(path, where + " is too large (shape " + shape_string(t.shape) + ")");
    }
    if (bits % 8 != 0) {
      fail(path, where + ": shape " + shape_string(t.shape) + " of " + to_string(t.dtype) + " is not a whole number of bytes");
    }

    const auto offsets = entry.find("data_offsets");
    if (offsets == entry.end() || !offsets->is_array() || offsets->size() != 2 || !is_count((*offsets)[0]) ||
        !is_count((*offsets)[1])) {
      fail(path, where + ": \"data_offsets\" must be two non-negative integers");
    }
    const uint64_t begin = (*offsets)[0].get<uint64_t>();
    const uint64_t end = (*offsets)[1].get<uint64_t>();
    if (end < begin) {
      fail(path, where + ": data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) + "] are reversed");
    }
    if (end > data_size) {
      fail(path, where + " extends past end of file (offset " + std::to_string(data_start) + " + " + std::to_string(begin) +
           ", size " + std::to_string(end - begin) + ", file " + std::to_string(file_size) + ")");
    }
    t.bytes = bits / 8;
    if (t.bytes != end - begin) {
      fail(path, where + ": shape " + shape_string(t.shape) + " of " + to_string(t.dtype) + " needs " +
           std::to_string(t.bytes) + " bytes, but data_offsets [" + std::to_string(begin) + ", " +
           std::to_string(end) + "] hold " + std::to_string(end - begin));
    }
    t.offset = data_start + begin;
    t.data = bytes + t.offset;
    st.tensor_index_.emplace(t.name, st.tensors_.size());
    st.tensors_.push_back(std::move(t));
  }

  // No two tensors may share bytes.
  std::vector<const SafetensorsTensor*> by_offset;
  for (const SafetensorsTensor& t : st.tensors_) {
    if (t.bytes > 0) by_offset.push_back(&t);
  }
  std::sort(by_offset.begin(), by_offset.end(),
            [](const SafetensorsTensor* a, const SafetensorsTensor* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < by_offset.size(); ++i) {
    const SafetensorsTensor& a = *by_offset[i - 1];
    const SafetensorsTensor& b = *by_offset[i];
    if (b.offset < a.offset + a.bytes) {
      const std::string an = printable(a.name), bn = printable(b.name);
      fail(path, "tensors " + an + " and " + bn + " overlap (" + an + " at offset " + std::to_string(a.offset) +
           ", size " + std::to_string(a.bytes) + "; " + bn + " at offset " + std::to_string(b.offset) + ")");
    }
  }
  return st;
}

// ---- a model: one file or shards ------------------------------------------------------------

const SafetensorsTensor* SafetensorsModel::find_tensor(const std::string& name) const {
  auto it = tensor_index_.find(name);
  return it == tensor_index_.end() ? nullptr : &tensors_[it->second];
}

uint64_t SafetensorsModel::total_bytes() const {
  uint64_t total = 0;
  for (const SafetensorsTensor& t : tensors_) total += t.bytes;
  return total;
}

SafetensorsModel SafetensorsModel::open(const std::string& path) {
  namespace fs = std::filesystem;
  SafetensorsModel model;
  model.path_ = path;

  std::error_code ec;
  std::string single;
  if (fs::is_directory(path, ec)) {
    const fs::path index = fs::path(path) / "model.safetensors.index.json";
    const fs::path file = fs::path(path) / "model.safetensors";
    if (fs::exists(index, ec)) {
      model.index_path_ = index.string();
    } else if (fs::exists(file, ec)) {
      single = file.string();
    } else {
      throw Error(path + ": no model.safetensors or model.safetensors.index.json in this folder");
    }
  } else if (path.size() >= 11 && path.compare(path.size() - 11, 11, ".index.json") == 0) {
    model.index_path_ = path;
  } else {
    single = path;
  }

  if (!single.empty()) {
    model.files_.push_back(SafetensorsFile::open(single));
    model.tensors_ = model.files_.front().tensors_;
    model.tensor_index_ = model.files_.front().tensor_index_;
    return model;
  }

  // Sharded: {"metadata": {...}, "weight_map": {"tensor name": "model-00001-of-00002.safetensors", ...}}
  const std::string& index_path = model.index_path_;
  const std::shared_ptr<MappedFile> index_file = MappedFile::open(index_path);
  if (index_file->size() > kMaxIndexSize) fail(index_path, "index file is over " + std::to_string(kMaxIndexSize >> 20) + " MiB");
  const char* text = reinterpret_cast<const char*>(index_file->data());
  const json index = parse_json(index_path, "index", text, text + index_file->size());
  if (!index.is_object()) fail(index_path, "index is not a JSON object");
  const auto weight_map = index.find("weight_map");
  if (weight_map == index.end() || !weight_map->is_object()) fail(index_path, "missing \"weight_map\" object");
  if (weight_map->empty()) fail(index_path, "\"weight_map\" lists no tensors");

  // Open each shard once, in name order.
  const fs::path folder = fs::path(index_path).parent_path();
  std::map<std::string, size_t> shard_index;
  for (const auto& [tensor, shard] : weight_map->items()) {
    if (!shard.is_string()) fail(index_path, "weight_map entry for tensor " + printable(tensor) + " is not a file name");
    const std::string name = shard.get<std::string>();
    const fs::path relative(name);
    const bool escapes = name.empty() || relative.is_absolute() ||
                         std::any_of(relative.begin(), relative.end(), [](const fs::path& p) { return p == ".."; });
    if (escapes) fail(index_path, "tensor " + printable(tensor) + " maps to shard '" + printable(name) + "', which is not a file in the model folder");
    if (shard_index.count(name) != 0) continue;
    const std::string shard_path = (folder / relative).string();
    try {
      model.files_.push_back(SafetensorsFile::open(shard_path));
    } catch (const Error& e) {
      fail(index_path, "cannot read shard " + printable(name) + " (listed for tensor " + printable(tensor) + "): " + e.what());
    }
    shard_index.emplace(name, model.files_.size() - 1);
  }

  // The merged table is exactly the weight map.
  model.tensors_.reserve(weight_map->size());
  for (const auto& [tensor, shard] : weight_map->items()) {
    const size_t file_index = shard_index.at(shard.get<std::string>());
    const SafetensorsTensor* t = model.files_[file_index].find_tensor(tensor);
    if (t == nullptr) {
      fail(index_path, "tensor " + printable(tensor) + " is listed in weight_map for shard " + printable(shard.get<std::string>()) +
           ", but that shard has no such tensor");
    }
    SafetensorsTensor merged = *t;
    merged.file_index = file_index;
    model.tensor_index_.emplace(tensor, model.tensors_.size());
    model.tensors_.push_back(std::move(merged));
  }
  return model;
}

}  // namespace archscope
