// Compute pipelines from the embedded SPIR-V: N storage buffers in set 0 plus one
// push-constant block, the only interface the engine's shaders use, and the i-quant grid
// buffer at binding reference::kIqGridsBinding, which CommandList binds for every dispatch
// (shaders that read no i-quants ignore it).
#include <vector>

#include "archscope/error.h"
#include "archscope/shaders.h"
#include "reference/iq_grids.h"
#include "vulkan/handles.h"

namespace archscope {

using vulkan::check;

ComputePipeline::ComputePipeline(const VulkanDevice& device, std::string_view shader, uint32_t buffer_count,
                                 uint32_t push_constant_bytes, std::span<const uint32_t> specialization)
    : impl_(std::make_unique<Impl>()) {
  Impl& p = *impl_;
  p.context = vulkan::context_of(device);
  p.shader = shader;
  p.buffer_count = buffer_count;
  p.push_constant_bytes = push_constant_bytes;
  const VkDevice vk = p.context->device;
  const std::string what = "shader '" + p.shader + "'";

  std::span<const uint32_t> spirv = find_shader(shader);
  if (spirv.empty()) {
    std::string known;
    for (std::string_view name : shader_names()) known += (known.empty() ? "" : ", ") + std::string(name);
    throw Error("no embedded " + what + "; the embedded shaders are: " + known +
                " (each is a file shaders/<name>.comp, built into the program)");
  }
  if (push_constant_bytes % 4 != 0 || push_constant_bytes > p.context->limits.maxPushConstantsSize) {
    throw Error(what + ": " + std::to_string(push_constant_bytes) +
                " bytes of push constants; they must be a multiple of 4 and at most " +
                std::to_string(p.context->limits.maxPushConstantsSize) + " on '" + p.context->info.name + "'");
  }

  if (buffer_count >= reference::kIqGridsBinding) {
    throw Error(what + ": " + std::to_string(buffer_count) + " buffers; at most " +
                std::to_string(reference::kIqGridsBinding) + " (the next binding holds the i-quant grids)");
  }
  std::vector<VkDescriptorSetLayoutBinding> bindings(buffer_count + 1);
  for (uint32_t i = 0; i <= buffer_count; ++i) {
    bindings[i].binding = i < buffer_count ? i : reference::kIqGridsBinding;
    bindings[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    bindings[i].descriptorCount = 1;
    bindings[i].stageFlags = VK_SHADER_STAGE_COMPUTE_BIT;
  }
  VkDescriptorSetLayoutCreateInfo set_layout{VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO};
  set_layout.bindingCount = buffer_count + 1;
  set_layout.pBindings = bindings.data();
  check(vkCreateDescriptorSetLayout(vk, &set_layout, nullptr, &p.set_layout), what + ": creating its descriptor set layout");

  VkPushConstantRange push{VK_SHADER_STAGE_COMPUTE_BIT, 0, push_constant_bytes};
  VkPipelineLayoutCreateInfo layout{VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO};
  layout.setLayoutCount = 1;
  layout.pSetLayouts = &p.set_layout;
  layout.pushConstantRangeCount = push_constant_bytes > 0 ? 1 : 0;
  layout.pPushConstantRanges = &push;
  check(vkCreatePipelineLayout(vk, &layout, nullptr, &p.layout), what + ": creating its pipeline layout");

  VkShaderModuleCreateInfo module_info{VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO};
  module_info.codeSize = spirv.size_bytes();
  module_info.pCode = spirv.data();
  VkShaderModule module = VK_NULL_HANDLE;
  check(vkCreateShaderModule(vk, &module_info, nullptr, &module), what + ": creating its shader module");

  // Specialization constant i is the i-th 32-bit value.
  std::vector<VkSpecializationMapEntry> entries(specialization.size());
  for (uint32_t i = 0; i < entries.size(); ++i) entries[i] = {i, i * 4, 4};
  VkSpecializationInfo constants{static_cast<uint32_t>(entries.size()), entries.data(), specialization.size_bytes(),
                                 specialization.data()};

  VkComputePipelineCreateInfo create{VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO};
  create.stage = {VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO};
  create.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
  create.stage.module = module;
  create.stage.pName = "main";
  create.stage.pSpecializationInfo = specialization.empty() ? nullptr : &constants;
  create.layout = p.layout;
  VkResult result = vkCreateComputePipelines(vk, VK_NULL_HANDLE, 1, &create, nullptr, &p.pipeline);
  vkDestroyShaderModule(vk, module, nullptr);  // the pipeline keeps what it needs
  check(result, what + ": compiling it for '" + p.context->info.name + "'");
}

ComputePipeline::Impl::~Impl() {
  if (!context) return;
  const VkDevice vk = context->device;
  if (pipeline) vkDestroyPipeline(vk, pipeline, nullptr);
  if (layout) vkDestroyPipelineLayout(vk, layout, nullptr);
  if (set_layout) vkDestroyDescriptorSetLayout(vk, set_layout, nullptr);
}

ComputePipeline::ComputePipeline(ComputePipeline&&) noexcept = default;
ComputePipeline& ComputePipeline::operator=(ComputePipeline&&) noexcept = default;
ComputePipeline::~ComputePipeline() = default;

const std::string& ComputePipeline::shader() const { return impl_->shader; }
uint32_t ComputePipeline::buffer_count() const { return impl_->buffer_count; }
uint32_t ComputePipeline::push_constant_bytes() const { return impl_->push_constant_bytes; }

}  // namespace archscope
