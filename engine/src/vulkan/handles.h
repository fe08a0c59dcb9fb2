// The raw Vulkan handles behind the classes of archscope/vulkan_device.h, for engine code
// that records its own commands, plus the helpers the runtime shares.
#pragma once

#include <vulkan/vulkan.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "archscope/vulkan_device.h"

// Vulkan structs are written `VkFenceCreateInfo info{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};`,
// the rest zeroed, then set field by field; -Wextra would flag every one of them.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"

namespace archscope::vulkan {

// Throws archscope::Error("<what>: <what the result means>") unless result is VK_SUCCESS.
void check(VkResult result, const std::string& what);
const char* describe(VkResult result);  // "out of GPU memory (VK_ERROR_OUT_OF_DEVICE_MEMORY)"
std::string format_bytes(uint64_t bytes);  // "128 MiB", "1.5 GiB", "100 bytes"

// One opened device. Shared (shared_ptr) by the VulkanDevice and everything made from it,
// so the VkDevice is destroyed after the last buffer or pipeline.
struct Context {
  VkInstance instance = VK_NULL_HANDLE;
  VkPhysicalDevice physical_device = VK_NULL_HANDLE;
  VkDevice device = VK_NULL_HANDLE;
  uint32_t queue_family = 0;
  VkQueue queue = VK_NULL_HANDLE;
  VkCommandPool command_pool = VK_NULL_HANDLE;  // command buffers may be reset one by one
  VkPhysicalDeviceLimits limits{};
  VkPhysicalDeviceMemoryProperties memory{};
  VulkanDeviceInfo info;

  Context() = default;
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
  ~Context();

  // Index of the first memory type allowed by type_bits that has all `required` flags,
  // preferring one that also has `preferred`; Vulkan orders types so the first match is
  // the plainest (on a discrete GPU, DEVICE_LOCAL alone is VRAM, not the small BAR window).
  // Returns -1 when none fits.
  int find_memory_type(uint32_t type_bits, VkMemoryPropertyFlags required,
                       VkMemoryPropertyFlags preferred = 0) const;

  // Records commands with `record` into a one-off command buffer, submits it and waits.
  // For staging copies; dispatches go through CommandList.
  void run_once(const std::function<void(VkCommandBuffer)>& record) const;

  // Submits a recorded command buffer, and waits for it with fence (reset first).
  void submit_and_wait(VkCommandBuffer commands, VkFence fence) const;
};

// device.context(), or an Error when device was moved from.
const std::shared_ptr<Context>& context_of(const VulkanDevice& device);

// A global memory barrier: writes in src (stage, access) become visible to dst.
void barrier(VkCommandBuffer commands, VkPipelineStageFlags src_stage, VkAccessFlags src_access,
             VkPipelineStageFlags dst_stage, VkAccessFlags dst_access);

}  // namespace archscope::vulkan

namespace archscope {

struct Buffer::Impl {
  std::shared_ptr<vulkan::Context> context;
  VkBuffer buffer = VK_NULL_HANDLE;
  VkDeviceMemory memory = VK_NULL_HANDLE;
  uint64_t size = 0;
  void* mapped = nullptr;  // null: reach the contents through a staging buffer

  // Construction only takes the context, so that ~Impl frees whatever a failing
  // allocate() had made by the time it threw.
  explicit Impl(std::shared_ptr<vulkan::Context> context) : context(std::move(context)) {}
  void allocate(uint64_t bytes, HostAccess access);
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl();
};

struct ComputePipeline::Impl {
  std::shared_ptr<vulkan::Context> context;
  std::string shader;
  uint32_t buffer_count = 0;
  uint32_t push_constant_bytes = 0;
  VkDescriptorSetLayout set_layout = VK_NULL_HANDLE;
  VkPipelineLayout layout = VK_NULL_HANDLE;
  VkPipeline pipeline = VK_NULL_HANDLE;

  Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl();
};

struct CommandList::Impl {
  std::shared_ptr<vulkan::Context> context;
  VkCommandBuffer commands = VK_NULL_HANDLE;
  VkFence fence = VK_NULL_HANDLE;
  // Descriptor sets come from a growing list of pools; reset() rewinds to the first.
  std::vector<VkDescriptorPool> pools;
  size_t current_pool = 0;
  bool recording = false;
  // Timestamps (enable_timestamps): the pool, its size, and how many are recorded.
  VkQueryPool queries = VK_NULL_HANDLE;
  uint32_t query_capacity = 0;
  uint32_t query_count = 0;
  bool dispatched = false;  // a dispatch was recorded since reset()
  std::unique_ptr<Buffer> iq_grids;  // bound at reference::kIqGridsBinding of every dispatch

  Impl() = default;
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;
  ~Impl();
};

}  // namespace archscope
