// Shared by the Vulkan tests: a fixture that opens the default device, or skips the test
// when the machine has no Vulkan device at all (LavapipeOrGpuIsPresent keeps CI honest).
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>

#include "archscope/vulkan_device.h"

namespace archscope::testing {

// Sets (or unsets, with nullptr) an environment variable for one scope.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    if (value) {
      ::setenv(name, value, 1);
    } else {
      ::unsetenv(name);
    }
  }
  ~ScopedEnv() {
    if (old_) {
      ::setenv(name_, old_->c_str(), 1);
    } else {
      ::unsetenv(name_);
    }
  }

 private:
  const char* name_;
  std::optional<std::string> old_;
};

class VulkanTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (VulkanDevice::list().empty()) GTEST_SKIP() << "no Vulkan device on this machine";
    gpu_.emplace(VulkanDevice::open());  // honours ARCHSCOPE_VULKAN_DEVICE, to test a chosen GPU
  }

  VulkanDevice& gpu() { return *gpu_; }
  const VulkanDeviceInfo& info() { return gpu_->info(); }

 private:
  std::optional<VulkanDevice> gpu_;
};

}  // namespace archscope::testing
