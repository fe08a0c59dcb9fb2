// Many tensors in a few big buffers. Drivers limit how many allocations a program may
// hold (maxMemoryAllocationCount, often 4096) and each costs time, so the backend places
// its weights, caches and activations in blocks instead of one VkDeviceMemory each:
//
//   BufferArena arena(block_limit, alignment);
//   Slice a = arena.reserve(bytes_a), b = arena.reserve(bytes_b);   // plan first
//   arena.allocate(gpu, HostAccess::Auto);                          // then one Buffer per block
//   list.dispatch(shader, {arena.range(a), arena.range(b)}, ...);
//
// Every slice starts at a multiple of `alignment` (at least the device's
// minStorageBufferOffsetAlignment), so it can be bound on its own; a slice that a shader
// binds must also stay within maxStorageBufferRange, which the caller ensures by
// splitting big tensors first.
#pragma once

#include <cstdint>
#include <vector>

#include "archscope/vulkan_device.h"

namespace archscope::vulkan {

class BufferArena {
 public:
  struct Slice {
    uint32_t block = 0;
    uint64_t offset = 0;  // bytes into the block
    uint64_t size = 0;    // bytes
  };

  // Blocks hold at most block_limit bytes (at most the device's maxMemoryAllocationSize).
  BufferArena(uint64_t block_limit, uint64_t alignment);

  // Places `bytes` (> 0, at most block_limit) in the first block with room, or a new one.
  // Only before allocate().
  Slice reserve(uint64_t bytes);
  // Makes one Buffer per block, each as big as what was placed in it.
  void allocate(const VulkanDevice& device, HostAccess access);

  BufferRange range(const Slice& slice) const { return BufferRange(blocks_.at(slice.block), slice.offset, slice.size); }
  Buffer& block(const Slice& slice) { return blocks_.at(slice.block); }
  const Buffer& block(const Slice& slice) const { return blocks_.at(slice.block); }
  size_t block_count() const { return used_.size(); }
  uint64_t bytes() const;  // sum of the block sizes

 private:
  uint64_t block_limit_, alignment_;
  std::vector<uint64_t> used_;  // bytes placed in each block so far
  std::vector<Buffer> blocks_;
};

}  // namespace archscope::vulkan
