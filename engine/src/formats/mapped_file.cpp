// Read-only mmap of a whole file.
#include "archscope/mapped_file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "archscope/error.h"

namespace archscope {
namespace {

[[noreturn]] void fail(const std::string& path, const char* what, int err) {
  throw Error(path + ": " + what + " (" + std::strerror(err) + ")");
}

// Closes the descriptor on every path out of the constructor; the mapping outlives it.
struct Descriptor {
  int fd;
  ~Descriptor() {
    if (fd >= 0) ::close(fd);
  }
};

}  // namespace

std::shared_ptr<MappedFile> MappedFile::open(const std::string& path) {
  return std::make_shared<MappedFile>(path);
}

MappedFile::MappedFile(const std::string& path) : path_(path) {
  Descriptor file{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  if (file.fd < 0) fail(path, "cannot open", errno);

  struct stat info {};
  if (::fstat(file.fd, &info) != 0) fail(path, "cannot stat", errno);
  if (S_ISDIR(info.st_mode)) fail(path, "cannot open", EISDIR);
  if (!S_ISREG(info.st_mode)) throw Error(path + ": cannot open (not a regular file)");
  if (info.st_size < 0) throw Error(path + ": cannot open (negative file size)");

  size_ = static_cast<uint64_t>(info.st_size);
  if (size_ == 0) return;  // mmap rejects length 0; an empty file maps to nothing
  void* mapped = ::mmap(nullptr, static_cast<size_t>(size_), PROT_READ, MAP_PRIVATE, file.fd, 0);
  if (mapped == MAP_FAILED) fail(path, "cannot map", errno);
  data_ = static_cast<const uint8_t*>(mapped);
}

void MappedFile::release_pages() const {
  // A read-only private file mapping is never written, so MADV_DONTNEED only unmaps pages.
  if (data_ != nullptr) ::madvise(const_cast<uint8_t*>(data_), static_cast<size_t>(size_), MADV_DONTNEED);
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(const_cast<uint8_t*>(data_), static_cast<size_t>(size_));
}

}  // namespace archscope
