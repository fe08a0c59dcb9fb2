// A whole file mapped read-only into memory (POSIX mmap). Parsers read from it and hand out
// pointers into it; they keep it alive with a shared_ptr for as long as those pointers live.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>

namespace archscope {

class MappedFile {
 public:
  // Maps the file at `path`. An empty file is fine (data() is nullptr, size() is 0).
  // Throws archscope::Error("<path>: cannot open (No such file or directory)") and the like.
  static std::shared_ptr<MappedFile> open(const std::string& path);

  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const std::string& path() const { return path_; }
  const uint8_t* data() const { return data_; }
  uint64_t size() const { return size_; }
  std::span<const uint8_t> bytes() const { return {data_, static_cast<size_t>(size_)}; }
  // Drops the pages this process holds of the file (they stay valid: reading one again
  // reads it from the file), e.g. once the weights are on a device.
  void release_pages() const;

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  uint64_t size_ = 0;
};

}  // namespace archscope
