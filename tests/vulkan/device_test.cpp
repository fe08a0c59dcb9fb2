// Listing and choosing Vulkan devices.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "archscope/error.h"
#include "archscope/vulkan_device.h"
#include "vulkan/vulkan_test_support.h"

namespace archscope {
namespace {

using ::testing::HasSubstr;
using testing::ScopedEnv;

constexpr const char* kDeviceVariable = "ARCHSCOPE_VULKAN_DEVICE";

std::string error_of(auto&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

// CI installs lavapipe, so there a missing device is a broken setup, not a reason to skip.
TEST(VulkanDevices, LavapipeOrGpuIsPresent) {
  std::vector<VulkanDeviceInfo> devices = VulkanDevice::list();
  if (devices.empty() && !std::getenv("CI")) GTEST_SKIP() << "no Vulkan device on this machine";
  ASSERT_FALSE(devices.empty()) << "CI is set but Vulkan reports no device; install mesa-vulkan-drivers "
                                   "(lavapipe) and check `vulkaninfo --summary`";
  EXPECT_TRUE(std::any_of(devices.begin(), devices.end(), [](auto& d) { return d.usable(); }))
      << "no device supports Vulkan 1.2 with a compute queue";
}

TEST(VulkanDevices, ListReportsWhatTheEngineNeeds) {
  std::vector<VulkanDeviceInfo> devices = VulkanDevice::list();
  if (devices.empty()) GTEST_SKIP() << "no Vulkan device on this machine";
  for (uint32_t i = 0; i < devices.size(); ++i) {
    const VulkanDeviceInfo& d = devices[i];
    SCOPED_TRACE(d.summary());
    EXPECT_EQ(d.index, i);
    EXPECT_FALSE(d.name.empty());
    EXPECT_THAT(d.summary(), HasSubstr(d.name));
    if (!d.usable()) continue;
    EXPECT_GE(d.api_version, (1u << 22) | (2u << 12)) << "usable means Vulkan 1.2";
    EXPECT_FALSE(d.driver.empty());
    EXPECT_GE(d.subgroup_size, 1u);
    EXPECT_GE(d.max_storage_buffer_range, 1u << 27);  // 128 MiB, Vulkan's minimum
    EXPECT_GE(d.max_memory_allocation_size, 1u << 30);  // 1 GiB, Vulkan's minimum
    EXPECT_GT(d.device_local_bytes, 0u);
    EXPECT_GE(d.max_push_constant_bytes, 128u);
    EXPECT_GE(d.max_workgroup_count[0], 65535u);
  }
}

TEST(VulkanDevices, DefaultIsTheBestUsableType) {
  std::vector<VulkanDeviceInfo> devices = VulkanDevice::list();
  if (devices.empty()) GTEST_SKIP() << "no Vulkan device on this machine";
  ScopedEnv no_override(kDeviceVariable, nullptr);
  const VulkanDeviceInfo chosen = VulkanDevice::open().info();
  auto rank = [](VulkanDeviceType t) {
    switch (t) {
      case VulkanDeviceType::DiscreteGpu: return 0;
      case VulkanDeviceType::IntegratedGpu: return 1;
      case VulkanDeviceType::VirtualGpu: return 2;
      case VulkanDeviceType::Cpu: return 3;
      default: return 4;
    }
  };
  for (const VulkanDeviceInfo& d : devices) {
    if (d.usable()) {
      EXPECT_LE(rank(chosen.type), rank(d.type)) << chosen.name << " chosen over " << d.name;
    }
  }
}

TEST(VulkanDevices, SelectorTakesIndexOrCaseInsensitiveName) {
  std::vector<VulkanDeviceInfo> devices = VulkanDevice::list();
  auto usable = std::find_if(devices.begin(), devices.end(), [](auto& d) { return d.usable(); });
  if (usable == devices.end()) GTEST_SKIP() << "no usable Vulkan device on this machine";

  EXPECT_EQ(VulkanDevice::open(std::to_string(usable->index)).info().index, usable->index);

  std::string shouted = usable->name;
  for (char& c : shouted) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  EXPECT_EQ(VulkanDevice::open(shouted).info().name, usable->name);
}

TEST(VulkanDevices, UnknownSelectorGivesClearError) {
  std::vector<VulkanDeviceInfo> devices = VulkanDevice::list();
  if (devices.empty()) GTEST_SKIP() << "no Vulkan device on this machine";
  std::string message = error_of([] { VulkanDevice::open("no-such-gpu-9000"); });
  EXPECT_THAT(message, HasSubstr("'no-such-gpu-9000'"));
  EXPECT_THAT(message, HasSubstr("not found"));
  EXPECT_THAT(message, HasSubstr(devices[0].name));  // says what there is to choose from

  EXPECT_THAT(error_of([] { VulkanDevice::open("99"); }), HasSubstr("'99' (given as device selector) not found"));
}

TEST(VulkanDevices, EnvironmentVariableChoosesUnlessSelectorGiven) {
  std::vector<VulkanDeviceInfo> devices = VulkanDevice::list();
  auto usable = std::find_if(devices.begin(), devices.end(), [](auto& d) { return d.usable(); });
  if (usable == devices.end()) GTEST_SKIP() << "no usable Vulkan device on this machine";

  ScopedEnv bad(kDeviceVariable, "no-such-gpu-9000");
  EXPECT_THAT(error_of([] { VulkanDevice::open(); }), HasSubstr("from ARCHSCOPE_VULKAN_DEVICE"));
  EXPECT_EQ(VulkanDevice::open(std::to_string(usable->index)).info().name, usable->name);

  ScopedEnv good(kDeviceVariable, std::to_string(usable->index).c_str());
  EXPECT_EQ(VulkanDevice::open().info().name, usable->name);
}

TEST(VulkanDevices, OpenedDeviceKeepsItsListing) {
  std::vector<VulkanDeviceInfo> devices = VulkanDevice::list();
  if (devices.empty()) GTEST_SKIP() << "no Vulkan device on this machine";
  VulkanDevice gpu = VulkanDevice::open();
  const VulkanDeviceInfo& info = gpu.info();
  ASSERT_LT(info.index, devices.size());
  EXPECT_EQ(info.summary(), devices[info.index].summary());
}

}  // namespace
}  // namespace archscope
