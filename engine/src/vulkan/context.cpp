// The opened device's shared plumbing: lifetime, memory types, one-off submissions and
// barriers.
#include "archscope/error.h"
#include "vulkan/handles.h"

namespace archscope::vulkan {

const std::shared_ptr<Context>& context_of(const VulkanDevice& device) {
  if (!device.context()) throw Error("VulkanDevice used after it was moved from");
  return device.context();
}

Context::~Context() {
  if (device) {
    vkDeviceWaitIdle(device);  // nothing may still run when the device goes away
    if (command_pool) vkDestroyCommandPool(device, command_pool, nullptr);
    vkDestroyDevice(device, nullptr);
  }
  if (instance) vkDestroyInstance(instance, nullptr);
}

int Context::find_memory_type(uint32_t type_bits, VkMemoryPropertyFlags required,
                              VkMemoryPropertyFlags preferred) const {
  int fallback = -1;
  for (uint32_t i = 0; i < memory.memoryTypeCount; ++i) {
    VkMemoryPropertyFlags flags = memory.memoryTypes[i].propertyFlags;
    if (!(type_bits & (1u << i)) || (flags & required) != required) continue;
    if ((flags & preferred) == preferred) return static_cast<int>(i);
    if (fallback < 0) fallback = static_cast<int>(i);
  }
  return fallback;
}

void Context::submit_and_wait(VkCommandBuffer commands, VkFence fence) const {
  check(vkResetFences(device, 1, &fence), "resetting a fence");
  VkSubmitInfo submit{VK_STRUCTURE_TYPE_SUBMIT_INFO};
  submit.commandBufferCount = 1;
  submit.pCommandBuffers = &commands;
  check(vkQueueSubmit(queue, 1, &submit, fence), "submitting work to '" + info.name + "'");
  check(vkWaitForFences(device, 1, &fence, VK_TRUE, UINT64_MAX), "waiting for '" + info.name + "'");
}

void Context::run_once(const std::function<void(VkCommandBuffer)>& record) const {
  // Frees the command buffer and fence on every path out, including a thrown Error.
  struct OneOff {
    const Context& context;
    VkCommandBuffer commands = VK_NULL_HANDLE;
    VkFence fence = VK_NULL_HANDLE;
    ~OneOff() {
      if (fence) vkDestroyFence(context.device, fence, nullptr);
      if (commands) vkFreeCommandBuffers(context.device, context.command_pool, 1, &commands);
    }
  } one_off{*this};

  VkCommandBufferAllocateInfo allocate{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  allocate.commandPool = command_pool;
  allocate.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  allocate.commandBufferCount = 1;
  check(vkAllocateCommandBuffers(device, &allocate, &one_off.commands), "allocating a command buffer");
  VkFenceCreateInfo fence{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  check(vkCreateFence(device, &fence, nullptr, &one_off.fence), "creating a fence");

  VkCommandBufferBeginInfo begin{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  begin.flags = VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT;
  check(vkBeginCommandBuffer(one_off.commands, &begin), "recording a command buffer");
  record(one_off.commands);
  check(vkEndCommandBuffer(one_off.commands), "recording a command buffer");
  submit_and_wait(one_off.commands, one_off.fence);
}

void barrier(VkCommandBuffer commands, VkPipelineStageFlags src_stage, VkAccessFlags src_access,
             VkPipelineStageFlags dst_stage, VkAccessFlags dst_access) {
  VkMemoryBarrier memory{VK_STRUCTURE_TYPE_MEMORY_BARRIER};
  memory.srcAccessMask = src_access;
  memory.dstAccessMask = dst_access;
  vkCmdPipelineBarrier(commands, src_stage, dst_stage, 0, 1, &memory, 0, nullptr, 0, nullptr);
}

}  // namespace archscope::vulkan
