// Placing slices in blocks: first fit, each block a bump allocator.
#include "vulkan/buffer_arena.h"

#include <string>

#include "archscope/error.h"
#include "vulkan/handles.h"

namespace archscope::vulkan {

namespace {
uint64_t round_up(uint64_t value, uint64_t multiple) { return (value + multiple - 1) / multiple * multiple; }
}  // namespace

BufferArena::BufferArena(uint64_t block_limit, uint64_t alignment)
    : block_limit_(block_limit), alignment_(alignment == 0 ? 1 : alignment) {
  if (block_limit_ < alignment_) throw Error("BufferArena: blocks smaller than their alignment");
}

BufferArena::Slice BufferArena::reserve(uint64_t bytes) {
  if (!blocks_.empty()) throw Error("BufferArena: reserve() after allocate()");
  if (bytes == 0) throw Error("BufferArena: a slice of 0 bytes was requested");
  if (bytes > block_limit_) {
    throw Error("a tensor of " + format_bytes(bytes) + " does not fit one memory block of " +
                format_bytes(block_limit_) + "; it must be split before it is placed");
  }
  for (uint32_t b = 0; b < used_.size(); ++b) {
    const uint64_t offset = round_up(used_[b], alignment_);
    if (offset + bytes <= block_limit_) {
      used_[b] = offset + bytes;
      return {b, offset, bytes};
    }
  }
  used_.push_back(bytes);
  return {static_cast<uint32_t>(used_.size() - 1), 0, bytes};
}

void BufferArena::allocate(const VulkanDevice& device, HostAccess access) {
  if (!blocks_.empty()) throw Error("BufferArena: allocate() called twice");
  blocks_.reserve(used_.size());
  for (uint64_t size : used_) blocks_.emplace_back(device, round_up(size, 4), access);
}

uint64_t BufferArena::bytes() const {
  uint64_t total = 0;
  for (uint64_t size : used_) total += round_up(size, 4);
  return total;
}

}  // namespace archscope::vulkan
