// Helpers for the file-format tests: a temporary folder, whole-file I/O, and a builder for
// raw little-endian bytes (to write GGUF files by hand, corrupt ones included).
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <stdlib.h>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "archscope/error.h"

namespace archscope::testing {

// A fresh folder under the system temp dir, removed with everything in it at scope exit.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "archscope-formats-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

inline void write_bytes(const std::string& path, const std::vector<uint8_t>& bytes) {
  // Remove, then create: truncating a file in place makes ext4 flush it, slowing the
  // thousands of rewrites in the corruption loops a hundredfold.
  std::error_code ec;
  std::filesystem::remove(path, ec);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
  if (!out) throw std::runtime_error("cannot write " + path);
}

inline void write_text(const std::string& path, const std::string& text) {
  write_bytes(path, std::vector<uint8_t>(text.begin(), text.end()));
}

inline std::vector<uint8_t> read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// Little-endian byte builder.
struct Raw {
  std::vector<uint8_t> b;

  Raw& bytes(const void* p, size_t n) {
    const auto* c = static_cast<const uint8_t*>(p);
    b.insert(b.end(), c, c + n);
    return *this;
  }
  template <class T>
  Raw& put(T v) { return bytes(&v, sizeof v); }
  Raw& u8(uint8_t v) { return put(v); }
  Raw& u32(uint32_t v) { return put(v); }
  Raw& u64(uint64_t v) { return put(v); }
  Raw& str(const std::string& s) { return u64(s.size()).bytes(s.data(), s.size()); }
  Raw& zeros(size_t n) { b.resize(b.size() + n, 0); return *this; }
  Raw& pad(size_t alignment) { b.resize((b.size() + alignment - 1) / alignment * alignment, 0); return *this; }

  // GGUF pieces.
  Raw& gguf_header(uint32_t version, uint64_t n_tensors, uint64_t n_kv) {
    return bytes("GGUF", 4).u32(version).u64(n_tensors).u64(n_kv);
  }
  Raw& kv_u32(const std::string& key, uint32_t v) { return str(key).u32(4).u32(v); }
  Raw& kv_string(const std::string& key, const std::string& v) { return str(key).u32(8).str(v); }
  Raw& tensor_info(const std::string& name, const std::vector<uint64_t>& ne, uint32_t type, uint64_t offset) {
    str(name).u32(static_cast<uint32_t>(ne.size()));
    for (uint64_t d : ne) u64(d);
    return u32(type).u64(offset);
  }
};

// Expects `fn` to throw archscope::Error whose message contains every one of `parts`.
template <class Fn>
void expect_error(Fn&& fn, const std::vector<std::string>& parts) {
  try {
    fn();
    ADD_FAILURE() << "expected an archscope::Error containing '" << (parts.empty() ? "" : parts[0]) << "'";
  } catch (const Error& e) {
    const std::string message = e.what();
    EXPECT_EQ(message.find('\n'), std::string::npos) << "message is not one line: " << message;
    for (const std::string& part : parts) {
      EXPECT_NE(message.find(part), std::string::npos) << "message '" << message << "' lacks '" << part << "'";
    }
  }
}

// A safetensors file: u64 header length | header text padded with spaces to 8 bytes | data.
inline std::vector<uint8_t> safetensors_text(std::string header, const std::vector<uint8_t>& data) {
  while (header.size() % 8 != 0) header += ' ';
  Raw raw;
  raw.u64(header.size()).bytes(header.data(), header.size());
  raw.b.insert(raw.b.end(), data.begin(), data.end());
  return raw.b;
}

inline std::vector<uint8_t> safetensors_bytes(const nlohmann::json& header, const std::vector<uint8_t>& data) {
  return safetensors_text(header.dump(), data);
}

}  // namespace archscope::testing
