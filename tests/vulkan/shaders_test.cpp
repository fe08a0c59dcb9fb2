// The build embeds every shaders/*.comp as SPIR-V; no device needed.
#include <gtest/gtest.h>

#include <algorithm>

#include "archscope/shaders.h"

namespace archscope {
namespace {

TEST(EmbeddedShaders, AddIsSpirvForVulkan12) {
  std::span<const uint32_t> add = find_shader("add");
  ASSERT_GT(add.size(), 5u);
  EXPECT_EQ(add[0], 0x07230203u);  // SPIR-V magic number, in host byte order
  EXPECT_EQ(add[1], 0x00010500u);  // SPIR-V 1.5, what --target-env vulkan1.2 produces
}

TEST(EmbeddedShaders, UnknownNameGivesEmptySpan) {
  EXPECT_TRUE(find_shader("no_such_shader").empty());
  EXPECT_TRUE(find_shader("").empty());
  EXPECT_TRUE(find_shader("add.comp").empty());  // names are file stems
}

TEST(EmbeddedShaders, NamesAreSortedAndIncludeAdd) {
  std::vector<std::string_view> names = shader_names();
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  EXPECT_NE(std::find(names.begin(), names.end(), "add"), names.end());
  for (std::string_view name : names) EXPECT_FALSE(find_shader(name).empty()) << name;
}

}  // namespace
}  // namespace archscope
