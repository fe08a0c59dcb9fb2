// MappedFile: read-only mapping of whole files, with errors that name the path.
#include <gtest/gtest.h>

#include "archscope/mapped_file.h"
#include "formats/format_fixtures.h"

namespace archscope {
namespace {

using testing::expect_error;
using testing::TempDir;

TEST(MappedFile, MapsTheWholeFile) {
  TempDir dir;
  const std::vector<uint8_t> bytes = {1, 2, 3, 250, 0, 7};
  testing::write_bytes(dir.file("a.bin"), bytes);
  auto file = MappedFile::open(dir.file("a.bin"));
  EXPECT_EQ(file->path(), dir.file("a.bin"));
  ASSERT_EQ(file->size(), bytes.size());
  EXPECT_EQ(std::vector<uint8_t>(file->bytes().begin(), file->bytes().end()), bytes);
}

TEST(MappedFile, EmptyFileIsAllowed) {
  TempDir dir;
  testing::write_bytes(dir.file("empty"), {});
  auto file = MappedFile::open(dir.file("empty"));
  EXPECT_EQ(file->size(), 0u);
  EXPECT_TRUE(file->bytes().empty());
}

TEST(MappedFile, MissingFileNamesPathAndReason) {
  TempDir dir;
  const std::string path = dir.file("nope.gguf");
  try {
    MappedFile::open(path);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()), path + ": cannot open (No such file or directory)");
  }
}

TEST(MappedFile, DirectoryIsAnError) {
  TempDir dir;
  expect_error([&] { MappedFile::open(dir.path()); }, {dir.path() + ": cannot open"});
}

}  // namespace
}  // namespace archscope
