// Recording dispatches into one command buffer and running it, as often as needed.
#include <algorithm>
#include <array>
#include <vector>

#include "archscope/error.h"
#include "reference/iq_grids.h"
#include "vulkan/handles.h"

namespace archscope {

using vulkan::check;
using vulkan::format_bytes;

namespace {

// Sets per descriptor pool; a new pool is added when one runs out.
constexpr uint32_t kSetsPerPool = 256;
constexpr uint32_t kBuffersPerPool = kSetsPerPool * 9;

uint64_t ceil_div(uint64_t a, uint64_t b) { return (a + b - 1) / b; }

// A descriptor set for `layout`, from the current pool or, when that is full, the next.
VkDescriptorSet allocate_set(CommandList::Impl& list, VkDescriptorSetLayout layout) {
  const VkDevice vk = list.context->device;
  for (;;) {
    const bool fresh = list.current_pool == list.pools.size();
    if (fresh) {
      VkDescriptorPoolSize size{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, kBuffersPerPool};
      VkDescriptorPoolCreateInfo create{VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO};
      create.maxSets = kSetsPerPool;
      create.poolSizeCount = 1;
      create.pPoolSizes = &size;
      VkDescriptorPool pool = VK_NULL_HANDLE;
      check(vkCreateDescriptorPool(vk, &create, nullptr, &pool), "creating a descriptor pool");
      list.pools.push_back(pool);
    }
    VkDescriptorSetAllocateInfo allocate{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO};
    allocate.descriptorPool = list.pools[list.current_pool];
    allocate.descriptorSetCount = 1;
    allocate.pSetLayouts = &layout;
    VkDescriptorSet set = VK_NULL_HANDLE;
    VkResult result = vkAllocateDescriptorSets(vk, &allocate, &set);
    if (result == VK_SUCCESS) return set;
    if (fresh || (result != VK_ERROR_OUT_OF_POOL_MEMORY && result != VK_ERROR_FRAGMENTED_POOL)) {
      check(result, "allocating a descriptor set");
    }
    ++list.current_pool;  // this pool is full: go on with the next, made above if needed
  }
}

}  // namespace

GroupCount groups_for(uint64_t items, uint32_t local_size) {
  constexpr uint64_t kMaxX = 65535;  // the smallest maxComputeWorkGroupCount Vulkan allows
  if (local_size == 0) throw Error("groups_for: local_size must be positive");
  const uint64_t groups = ceil_div(items, local_size);
  if (groups <= kMaxX) return {static_cast<uint32_t>(groups), 1, 1};
  const uint64_t rows = ceil_div(groups, kMaxX);
  if (rows > kMaxX) throw Error("a dispatch over " + std::to_string(items) + " items needs too many work groups");
  return {static_cast<uint32_t>(kMaxX), static_cast<uint32_t>(rows), 1};
}

CommandList::CommandList(const VulkanDevice& device) : impl_(std::make_unique<Impl>()) {
  Impl& list = *impl_;
  list.context = vulkan::context_of(device);
  VkCommandBufferAllocateInfo allocate{VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO};
  allocate.commandPool = list.context->command_pool;
  allocate.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  allocate.commandBufferCount = 1;
  check(vkAllocateCommandBuffers(list.context->device, &allocate, &list.commands), "allocating a command buffer");
  VkFenceCreateInfo fence{VK_STRUCTURE_TYPE_FENCE_CREATE_INFO};
  check(vkCreateFence(list.context->device, &fence, nullptr, &list.fence), "creating a fence");
  // The i-quant grids every dispatch binds (ComputePipeline): 21 KiB, written once.
  const std::vector<uint32_t> grids = reference::iq_gpu_grid_words();
  list.iq_grids = std::make_unique<Buffer>(device, grids.size() * sizeof(uint32_t));
  list.iq_grids->write(std::span<const uint32_t>(grids));
  reset();
}

CommandList::Impl::~Impl() {
  if (!context) return;
  const VkDevice vk = context->device;
  if (queries) vkDestroyQueryPool(vk, queries, nullptr);
  for (VkDescriptorPool pool : pools) vkDestroyDescriptorPool(vk, pool, nullptr);
  if (fence) vkDestroyFence(vk, fence, nullptr);
  if (commands) vkFreeCommandBuffers(vk, context->command_pool, 1, &commands);
}

CommandList::CommandList(CommandList&&) noexcept = default;
CommandList& CommandList::operator=(CommandList&&) noexcept = default;
CommandList::~CommandList() = default;

void CommandList::reset() {
  Impl& list = *impl_;
  check(vkResetCommandBuffer(list.commands, 0), "resetting a command buffer");
  for (VkDescriptorPool pool : list.pools) {
    check(vkResetDescriptorPool(list.context->device, pool, 0), "resetting a descriptor pool");
  }
  list.current_pool = 0;
  list.query_count = 0;
  list.dispatched = false;
  // Not ONE_TIME_SUBMIT: the same recording is submitted once per decoded token.
  VkCommandBufferBeginInfo begin{VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO};
  check(vkBeginCommandBuffer(list.commands, &begin), "recording a command buffer");
  list.recording = true;
}

void CommandList::dispatch(const ComputePipeline& pipeline, std::span<const BufferRange> buffers,
                           std::span<const std::byte> push_constants, GroupCount groups) {
  Impl& list = *impl_;
  const ComputePipeline::Impl& p = pipeline.impl();
  const vulkan::Context& context = *list.context;
  const VulkanDeviceInfo& info = context.info;
  const std::string what = "dispatching shader '" + p.shader + "'";

  if (!list.recording) throw Error(what + ": the list was already submitted; reset() it to record anew");
  if (p.context != list.context) throw Error(what + ": the pipeline belongs to another Vulkan device");
  if (buffers.size() != p.buffer_count) {
    throw Error(what + ": it takes " + std::to_string(p.buffer_count) + " buffers, got " + std::to_string(buffers.size()));
  }
  if (push_constants.size() != p.push_constant_bytes) {
    throw Error(what + ": it takes " + std::to_string(p.push_constant_bytes) + " bytes of push constants, got " +
                std::to_string(push_constants.size()));
  }
  const uint32_t counts[3] = {groups.x, groups.y, groups.z};
  for (int i = 0; i < 3; ++i) {
    if (counts[i] > info.max_workgroup_count[i]) {
      throw Error(what + ": " + std::to_string(counts[i]) + " work groups in dimension " + "xyz"[i] +
                  " exceed the limit of " + std::to_string(info.max_workgroup_count[i]) + " on '" + info.name + "'");
    }
  }

  std::vector<VkDescriptorBufferInfo> ranges(buffers.size() + 1);
  for (size_t i = 0; i < buffers.size(); ++i) {
    const BufferRange& range = buffers[i];
    const Buffer::Impl& buffer = range.buffer->impl();
    const std::string binding = what + ", binding " + std::to_string(i);
    if (buffer.context != list.context) throw Error(binding + ": the buffer belongs to another Vulkan device");
    if (range.offset >= buffer.size) {
      throw Error(binding + ": offset " + std::to_string(range.offset) + " is past the end of a buffer of " +
                  std::to_string(buffer.size) + " bytes");
    }
    const uint64_t size = range.size == BufferRange::kToEnd ? buffer.size - range.offset : range.size;
    if (size == 0 || size > buffer.size - range.offset) {
      throw Error(binding + ": range of " + std::to_string(size) + " bytes at offset " + std::to_string(range.offset) +
                  " does not fit a buffer of " + std::to_string(buffer.size) + " bytes");
    }
    if (size > info.max_storage_buffer_range) {
      throw Error(binding + ": range of " + format_bytes(size) + " exceeds maxStorageBufferRange (" +
                  format_bytes(info.max_storage_buffer_range) + ") of '" + info.name +
                  "'; bind the data in parts of at most that size");
    }
    if (range.offset % info.storage_buffer_offset_alignment != 0) {
      throw Error(binding + ": offset " + std::to_string(range.offset) + " is not a multiple of " +
                  std::to_string(info.storage_buffer_offset_alignment) + " (minStorageBufferOffsetAlignment of '" +
                  info.name + "')");
    }
    ranges[i] = {buffer.buffer, range.offset, size};
  }

  // Each dispatch gets its own descriptor set, so the recording can be replayed as is.
  VkDescriptorSet set = allocate_set(list, p.set_layout);
  ranges.back() = {list.iq_grids->impl().buffer, 0, VK_WHOLE_SIZE};
  std::vector<VkWriteDescriptorSet> writes(ranges.size());
  for (size_t i = 0; i < ranges.size(); ++i) {
    writes[i] = {VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET};
    writes[i].dstSet = set;
    writes[i].dstBinding = i < buffers.size() ? static_cast<uint32_t>(i) : reference::kIqGridsBinding;
    writes[i].descriptorCount = 1;
    writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    writes[i].pBufferInfo = &ranges[i];
  }
  vkUpdateDescriptorSets(context.device, static_cast<uint32_t>(writes.size()), writes.data(), 0, nullptr);

  vkCmdBindPipeline(list.commands, VK_PIPELINE_BIND_POINT_COMPUTE, p.pipeline);
  vkCmdBindDescriptorSets(list.commands, VK_PIPELINE_BIND_POINT_COMPUTE, p.layout, 0, 1, &set, 0, nullptr);
  if (!push_constants.empty()) {
    vkCmdPushConstants(list.commands, p.layout, VK_SHADER_STAGE_COMPUTE_BIT, 0,
                       static_cast<uint32_t>(push_constants.size()), push_constants.data());
  }
  vkCmdDispatch(list.commands, groups.x, groups.y, groups.z);
  list.dispatched = true;
  // The next dispatch sees this one's writes. Simple and always correct; independent
  // dispatches could later share one barrier.
  vulkan::barrier(list.commands, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT,
                  VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
}

void CommandList::copy(const BufferRange& from, const BufferRange& to, uint64_t bytes) {
  Impl& list = *impl_;
  if (!list.recording) throw Error("copy(): the list was already submitted; reset() it to record anew");
  for (const BufferRange* range : {&from, &to}) {
    const Buffer::Impl& buffer = range->buffer->impl();
    if (buffer.context != list.context) throw Error("copy(): a buffer belongs to another Vulkan device");
    if (range->offset > buffer.size || bytes > buffer.size - range->offset ||
        (range->size != BufferRange::kToEnd && bytes > range->size)) {
      throw Error("copy(): " + std::to_string(bytes) + " bytes at offset " + std::to_string(range->offset) +
                  " overrun a range of a buffer of " + std::to_string(buffer.size) + " bytes");
    }
  }
  if (bytes == 0) return;
  // Earlier dispatches finish with the destination before the copy overwrites it, and
  // later ones see the copy.
  vulkan::barrier(list.commands, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT,
                  VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT);
  VkBufferCopy region{from.offset, to.offset, bytes};
  vkCmdCopyBuffer(list.commands, from.buffer->impl().buffer, to.buffer->impl().buffer, 1, &region);
  vulkan::barrier(list.commands, VK_PIPELINE_STAGE_TRANSFER_BIT, VK_ACCESS_TRANSFER_WRITE_BIT,
                  VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT);
}

void CommandList::enable_timestamps(uint32_t capacity) {
  Impl& list = *impl_;
  const VulkanDeviceInfo& info = list.context->info;
  if (!info.timestamps) throw Error("'" + info.name + "' does not support timestamps on its compute queue");
  if (!list.recording || list.dispatched || list.query_count > 0) {
    throw Error("enable_timestamps() must come right after constructing or resetting a command list");
  }
  if (capacity == 0) throw Error("enable_timestamps(0): ask for at least one timestamp");
  if (capacity > list.query_capacity) {
    if (list.queries) vkDestroyQueryPool(list.context->device, list.queries, nullptr);
    list.queries = VK_NULL_HANDLE;
    list.query_capacity = 0;
    VkQueryPoolCreateInfo create{VK_STRUCTURE_TYPE_QUERY_POOL_CREATE_INFO};
    create.queryType = VK_QUERY_TYPE_TIMESTAMP;
    create.queryCount = capacity;
    check(vkCreateQueryPool(list.context->device, &create, nullptr, &list.queries), "creating a timestamp query pool");
    list.query_capacity = capacity;
  }
  // Recorded, so every replay starts from fresh queries.
  vkCmdResetQueryPool(list.commands, list.queries, 0, list.query_capacity);
}

uint32_t CommandList::write_timestamp() {
  Impl& list = *impl_;
  if (!list.recording) throw Error("write_timestamp(): the list was already submitted; reset() it to record anew");
  if (!list.queries) throw Error("write_timestamp() needs enable_timestamps() first");
  if (list.query_count == list.query_capacity) {
    throw Error("write_timestamp(): all " + std::to_string(list.query_capacity) + " timestamps are used");
  }
  vkCmdWriteTimestamp(list.commands, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, list.queries, list.query_count);
  return list.query_count++;
}

std::vector<double> CommandList::timestamps_ms() const {
  const Impl& list = *impl_;
  std::vector<double> out;
  if (list.query_count == 0 || list.recording) return out;
  std::vector<uint64_t> ticks(list.query_count);
  check(vkGetQueryPoolResults(list.context->device, list.queries, 0, list.query_count, ticks.size() * sizeof(uint64_t),
                              ticks.data(), sizeof(uint64_t), VK_QUERY_RESULT_64_BIT | VK_QUERY_RESULT_WAIT_BIT),
        "reading GPU timestamps");
  const double ms_per_tick = list.context->info.timestamp_period_ns * 1e-6;
  for (uint64_t t : ticks) out.push_back(static_cast<double>(t - ticks[0]) * ms_per_tick);
  return out;
}

void CommandList::submit_and_wait() {
  Impl& list = *impl_;
  if (list.recording) {
    // Shader writes become visible to the host, which reads mapped buffers after the wait.
    vulkan::barrier(list.commands, VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT, VK_ACCESS_SHADER_WRITE_BIT,
                    VK_PIPELINE_STAGE_HOST_BIT, VK_ACCESS_HOST_READ_BIT);
    check(vkEndCommandBuffer(list.commands), "recording a command buffer");
    list.recording = false;
  }
  list.context->submit_and_wait(list.commands, list.fence);
}

}  // namespace archscope
