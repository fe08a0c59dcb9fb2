// Storage buffers: one VkBuffer with its own memory, written and read either through a
// persistent mapping or through a staging copy.
#include <algorithm>
#include <cstring>

#include "archscope/error.h"
#include "vulkan/handles.h"

namespace archscope {

using vulkan::check;
using vulkan::format_bytes;

namespace {

// Largest staging buffer write_bytes() and read_bytes() use; bigger copies go in pieces.
constexpr uint64_t kStagingBytes = uint64_t{64} << 20;

constexpr VkMemoryPropertyFlags kHostVisible =
    VK_MEMORY_PROPERTY_HOST_VISIBLE_BIT | VK_MEMORY_PROPERTY_HOST_COHERENT_BIT;

void check_range(const char* verb, uint64_t bytes, uint64_t offset, uint64_t size) {
  if (offset > size || bytes > size - offset) {
    throw Error(std::string(verb) + " " + std::to_string(bytes) + " bytes at offset " + std::to_string(offset) +
                " overruns a Vulkan buffer of " + std::to_string(size) + " bytes");
  }
}

}  // namespace

void Buffer::Impl::allocate(uint64_t bytes, HostAccess access) {
  const VulkanDeviceInfo& info = context->info;
  if (bytes == 0) throw Error("a Vulkan buffer of 0 bytes was requested; sizes must be positive");
  // One allocation per buffer, so a buffer may not exceed what one allocation may hold.
  if (bytes > info.max_memory_allocation_size) {
    throw Error("a Vulkan buffer of " + std::to_string(bytes) + " bytes (" + format_bytes(bytes) +
                ") exceeds maxMemoryAllocationSize (" + format_bytes(info.max_memory_allocation_size) +
                ") of '" + info.name + "'; split the data over several buffers");
  }

  size = bytes;
  VkBufferCreateInfo create{VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO};
  create.size = bytes;
  create.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT |
                 VK_BUFFER_USAGE_TRANSFER_DST_BIT;
  create.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  check(vkCreateBuffer(context->device, &create, nullptr, &buffer),
        "creating a Vulkan buffer of " + format_bytes(bytes));

  // Mapped: host memory, cached when possible because the host reads it back.
  // Otherwise: the first DEVICE_LOCAL type, which is VRAM on a discrete GPU and the one
  // (mappable) memory on lavapipe and most integrated GPUs.
  VkMemoryRequirements requirements;
  vkGetBufferMemoryRequirements(context->device, buffer, &requirements);
  int type = access == HostAccess::Mapped
                 ? context->find_memory_type(requirements.memoryTypeBits, kHostVisible, VK_MEMORY_PROPERTY_HOST_CACHED_BIT)
                 : context->find_memory_type(requirements.memoryTypeBits, VK_MEMORY_PROPERTY_DEVICE_LOCAL_BIT);
  if (type < 0) type = context->find_memory_type(requirements.memoryTypeBits, 0);
  if (type < 0) throw Error("'" + info.name + "' offers no memory type for a storage buffer");
  const VkMemoryType& memory_type = context->memory.memoryTypes[type];
  const uint64_t heap_size = context->memory.memoryHeaps[memory_type.heapIndex].size;
  if (requirements.size > heap_size) {
    throw Error("a Vulkan buffer of " + format_bytes(bytes) + " does not fit the " + format_bytes(heap_size) +
                " memory heap of '" + info.name + "'; use a smaller model or context");
  }

  VkMemoryAllocateInfo allocate{VK_STRUCTURE_TYPE_MEMORY_ALLOCATE_INFO};
  allocate.allocationSize = requirements.size;
  allocate.memoryTypeIndex = static_cast<uint32_t>(type);
  check(vkAllocateMemory(context->device, &allocate, nullptr, &memory),
        "allocating " + format_bytes(bytes) + " for a buffer on '" + info.name + "'");
  check(vkBindBufferMemory(context->device, buffer, memory, 0), "binding buffer memory");

  const bool mappable = (memory_type.propertyFlags & kHostVisible) == kHostVisible;
  if (mappable && access != HostAccess::Staged) {
    check(vkMapMemory(context->device, memory, 0, VK_WHOLE_SIZE, 0, &mapped), "mapping a Vulkan buffer");
  }
}

Buffer::Impl::~Impl() {
  // Freeing the memory also unmaps it.
  if (buffer) vkDestroyBuffer(context->device, buffer, nullptr);
  if (memory) vkFreeMemory(context->device, memory, nullptr);
}

Buffer::Buffer(const VulkanDevice& device, uint64_t bytes, HostAccess access)
    : impl_(std::make_unique<Impl>(vulkan::context_of(device))) {
  impl_->allocate(bytes, access);
}
Buffer::Buffer(Buffer&&) noexcept = default;
Buffer& Buffer::operator=(Buffer&&) noexcept = default;
Buffer::~Buffer() = default;

uint64_t Buffer::size() const { return impl_->size; }
bool Buffer::mapped() const { return impl_->mapped != nullptr; }

void Buffer::write_bytes(std::span<const std::byte> data, uint64_t offset) {
  check_range("writing", data.size(), offset, impl_->size);
  if (data.empty()) return;
  if (impl_->mapped) {
    // Coherent memory: the next vkQueueSubmit makes the write visible to the device.
    std::memcpy(static_cast<std::byte*>(impl_->mapped) + offset, data.data(), data.size());
    return;
  }
  // Through a staging buffer, in pieces, so that uploading an 800 MB embedding needs
  // neither 800 MB of host-visible memory nor a staging buffer over maxMemoryAllocationSize.
  const uint64_t piece = std::min<uint64_t>(kStagingBytes, data.size());
  Impl staging(impl_->context);
  staging.allocate(piece, HostAccess::Mapped);
  const VkBuffer destination = impl_->buffer;
  for (uint64_t done = 0; done < data.size(); done += piece) {
    const uint64_t bytes = std::min<uint64_t>(piece, data.size() - done);
    std::memcpy(staging.mapped, data.data() + done, bytes);
    impl_->context->run_once([&](VkCommandBuffer commands) {
      // Earlier dispatches must be done with the old contents before the copy overwrites them.
      vulkan::barrier(commands, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                      VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT,
                      VK_ACCESS_TRANSFER_WRITE_BIT);
      VkBufferCopy region{0, offset + done, bytes};
      vkCmdCopyBuffer(commands, staging.buffer, destination, 1, &region);
      vulkan::barrier(commands, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                      VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
    });
  }
}

void Buffer::read_bytes(std::span<std::byte> out, uint64_t offset) const {
  check_range("reading", out.size(), offset, impl_->size);
  if (out.empty()) return;
  if (impl_->mapped) {
    // CommandList::submit_and_wait() ended with a barrier that made shader writes visible
    // to the host.
    std::memcpy(out.data(), static_cast<const std::byte*>(impl_->mapped) + offset, out.size());
    return;
  }
  const uint64_t piece = std::min<uint64_t>(kStagingBytes, out.size());
  Impl staging(impl_->context);
  staging.allocate(piece, HostAccess::Mapped);
  const VkBuffer source = impl_->buffer;
  for (uint64_t done = 0; done < out.size(); done += piece) {
    const uint64_t bytes = std::min<uint64_t>(piece, out.size() - done);
    impl_->context->run_once([&](VkCommandBuffer commands) {
      vulkan::barrier(commands, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT,
                      VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT, VK_PIPELINE_STAGE_TRANSFER_BIT,
                      VK_ACCESS_TRANSFER_READ_BIT);
      VkBufferCopy region{offset + done, 0, bytes};
      vkCmdCopyBuffer(commands, source, staging.buffer, 1, &region);
      vulkan::barrier(commands, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                      VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
    });
    std::memcpy(out.data() + done, staging.mapped, bytes);
  }
}

}  // namespace archscope
