// Finding physical devices, choosing one, and opening it (logical device, compute queue,
// command pool).
#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "archscope/error.h"
#include "vulkan/handles.h"

namespace archscope {

using vulkan::check;

namespace {

// The engine's baseline; shaders are compiled for it (--target-env vulkan1.2).
constexpr uint32_t kRequiredApiVersion = VK_API_VERSION_1_2;
constexpr const char* kDeviceVariable = "ARCHSCOPE_VULKAN_DEVICE";

const char* const kNoDriverHelp =
    "install a Vulkan 1.2 driver for your GPU, or mesa-vulkan-drivers for the CPU driver "
    "lavapipe; `vulkaninfo --summary` shows what Vulkan sees";

// Owns a VkInstance until release() hands it to a Context.
struct Instance {
  VkInstance handle = VK_NULL_HANDLE;
  Instance() = default;
  Instance(Instance&& other) noexcept : handle(other.release()) {}
  Instance& operator=(Instance&&) = delete;
  ~Instance() {
    if (handle) vkDestroyInstance(handle, nullptr);
  }
  VkInstance release() { return std::exchange(handle, VK_NULL_HANDLE); }
};

// A Vulkan 1.2 instance, or VK_NULL_HANDLE when there is no driver at all. Validation
// layers need no code: run with VK_INSTANCE_LAYERS=VK_LAYER_KHRONOS_validation.
Instance create_instance() {
  VkApplicationInfo app{VK_STRUCTURE_TYPE_APPLICATION_INFO};
  app.pApplicationName = "archscope";
  app.pEngineName = "archscope";
  app.apiVersion = kRequiredApiVersion;
  VkInstanceCreateInfo create{VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO};
  create.pApplicationInfo = &app;
  Instance instance;
  VkResult result = vkCreateInstance(&create, nullptr, &instance.handle);
  if (result == VK_ERROR_INCOMPATIBLE_DRIVER) return {};  // loader present, no usable driver
  check(result, "creating the Vulkan instance");
  return instance;
}

std::vector<VkPhysicalDevice> physical_devices(VkInstance instance) {
  uint32_t count = 0;
  check(vkEnumeratePhysicalDevices(instance, &count, nullptr), "listing Vulkan devices");
  std::vector<VkPhysicalDevice> devices(count);
  VkResult result = vkEnumeratePhysicalDevices(instance, &count, devices.data());
  if (result != VK_INCOMPLETE) check(result, "listing Vulkan devices");
  devices.resize(count);
  return devices;
}

// First queue family that can run compute shaders; on most GPUs the universal queue,
// which is all a single compute stream needs. -1 when there is none.
int compute_queue_family(VkPhysicalDevice device) {
  uint32_t count = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(device, &count, nullptr);
  std::vector<VkQueueFamilyProperties> families(count);
  vkGetPhysicalDeviceQueueFamilyProperties(device, &count, families.data());
  for (uint32_t i = 0; i < count; ++i) {
    if (families[i].queueFlags & VK_QUEUE_COMPUTE_BIT) return static_cast<int>(i);
  }
  return -1;
}

VulkanDeviceType device_type(VkPhysicalDeviceType type) {
  switch (type) {
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return VulkanDeviceType::IntegratedGpu;
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return VulkanDeviceType::DiscreteGpu;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return VulkanDeviceType::VirtualGpu;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return VulkanDeviceType::Cpu;
    default: return VulkanDeviceType::Other;
  }
}

// Lower is preferred when no selector is given.
int preference(VulkanDeviceType type) {
  switch (type) {
    case VulkanDeviceType::DiscreteGpu: return 0;
    case VulkanDeviceType::IntegratedGpu: return 1;
    case VulkanDeviceType::VirtualGpu: return 2;
    case VulkanDeviceType::Cpu: return 3;
    default: return 4;
  }
}

// Everything archscope wants to know about a device, read without opening it.
VulkanDeviceInfo describe_device(VkPhysicalDevice device, uint32_t index) {
  VkPhysicalDeviceProperties properties;
  vkGetPhysicalDeviceProperties(device, &properties);
  VulkanDeviceInfo info;
  info.index = index;
  info.name = properties.deviceName;
  info.type = device_type(properties.deviceType);
  info.api_version = properties.apiVersion;
  const VkPhysicalDeviceLimits& limits = properties.limits;
  info.max_storage_buffer_range = limits.maxStorageBufferRange;
  info.storage_buffer_offset_alignment = limits.minStorageBufferOffsetAlignment;
  info.max_push_constant_bytes = limits.maxPushConstantsSize;
  std::copy_n(limits.maxComputeWorkGroupCount, 3, info.max_workgroup_count);

  VkPhysicalDeviceMemoryProperties memory;
  vkGetPhysicalDeviceMemoryProperties(device, &memory);
  for (uint32_t i = 0; i < memory.memoryHeapCount; ++i) {
    if (memory.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) {
      info.device_local_bytes = std::max<uint64_t>(info.device_local_bytes, memory.memoryHeaps[i].size);
    }
  }

  if (properties.apiVersion < kRequiredApiVersion) {
    // The 1.1/1.2 property and feature structs below may not be queried on such a device.
    info.driver = "driver version " + std::to_string(properties.driverVersion);
    info.unusable_reason = "supports only Vulkan " + info.api_version_string() +
                           "; archscope needs 1.2 (a newer driver may add it)";
    return info;
  }

  // The memory budget, where the driver reports one: heap budget minus what is in use.
  uint32_t extension_count = 0;
  vkEnumerateDeviceExtensionProperties(device, nullptr, &extension_count, nullptr);
  std::vector<VkExtensionProperties> extensions(extension_count);
  vkEnumerateDeviceExtensionProperties(device, nullptr, &extension_count, extensions.data());
  for (const VkExtensionProperties& e : extensions) {
    if (std::string_view(e.extensionName) != VK_EXT_MEMORY_BUDGET_EXTENSION_NAME) continue;
    VkPhysicalDeviceMemoryBudgetPropertiesEXT budget{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT};
    VkPhysicalDeviceMemoryProperties2 memory2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2, &budget};
    vkGetPhysicalDeviceMemoryProperties2(device, &memory2);
    for (uint32_t i = 0; i < memory2.memoryProperties.memoryHeapCount; ++i) {
      if (!(memory2.memoryProperties.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT)) continue;
      const uint64_t left = budget.heapBudget[i] > budget.heapUsage[i] ? budget.heapBudget[i] - budget.heapUsage[i] : 0;
      info.device_local_budget_bytes = std::max(info.device_local_budget_bytes, left);
    }
  }

  VkPhysicalDeviceMaintenance3Properties maintenance3{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MAINTENANCE_3_PROPERTIES};
  VkPhysicalDeviceDriverProperties driver{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_DRIVER_PROPERTIES, &maintenance3};
  VkPhysicalDeviceSubgroupProperties subgroup{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_PROPERTIES, &driver};
  VkPhysicalDeviceProperties2 properties2{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2, &subgroup};
  vkGetPhysicalDeviceProperties2(device, &properties2);
  info.subgroup_size = subgroup.subgroupSize;
  info.subgroup_arithmetic = (subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) &&
                             (subgroup.supportedOperations & VK_SUBGROUP_FEATURE_ARITHMETIC_BIT);
  info.subgroup_shuffle = (subgroup.supportedStages & VK_SHADER_STAGE_COMPUTE_BIT) &&
                          (subgroup.supportedOperations & VK_SUBGROUP_FEATURE_SHUFFLE_BIT);
  info.max_memory_allocation_size = maintenance3.maxMemoryAllocationSize;
  info.driver = std::string(driver.driverName) + " " + driver.driverInfo;

  VkPhysicalDeviceVulkan12Features features12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
  VkPhysicalDeviceVulkan11Features features11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES, &features12};
  VkPhysicalDeviceFeatures2 features{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, &features11};
  vkGetPhysicalDeviceFeatures2(device, &features);
  info.shader_float16 = features12.shaderFloat16;
  info.shader_int8 = features12.shaderInt8;
  info.storage_buffer_16bit = features11.storageBuffer16BitAccess;
  info.storage_buffer_8bit = features12.storageBuffer8BitAccess;

  const int family = compute_queue_family(device);
  if (family < 0) {
    info.unusable_reason = "has no compute queue";
    return info;
  }
  uint32_t family_count = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(device, &family_count, nullptr);
  std::vector<VkQueueFamilyProperties> families(family_count);
  vkGetPhysicalDeviceQueueFamilyProperties(device, &family_count, families.data());
  info.timestamps = limits.timestampPeriod > 0 && families[family].timestampValidBits > 0;
  info.timestamp_period_ns = limits.timestampPeriod;
  return info;
}

std::vector<VulkanDeviceInfo> describe_devices(const std::vector<VkPhysicalDevice>& physical) {
  std::vector<VulkanDeviceInfo> devices;
  for (uint32_t i = 0; i < physical.size(); ++i) devices.push_back(describe_device(physical[i], i));
  return devices;
}

std::string lowercase(std::string_view text) {
  std::string lower(text);
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return lower;
}

std::string device_list_text(const std::vector<VulkanDeviceInfo>& devices) {
  std::string text;
  for (const VulkanDeviceInfo& d : devices) {
    text += "\n  " + std::to_string(d.index) + ": " + d.name + " (" + to_string(d.type) + ")";
    if (!d.usable()) text += ": not usable, " + d.unusable_reason;
  }
  return text;
}

// The device `selector` names (see VulkanDevice::open); `source` says where the selector
// came from, for the message.
const VulkanDeviceInfo& select_device(const std::vector<VulkanDeviceInfo>& devices,
                                      std::string_view selector, const std::string& source) {
  std::vector<const VulkanDeviceInfo*> ranked;
  for (const VulkanDeviceInfo& d : devices) ranked.push_back(&d);
  std::stable_sort(ranked.begin(), ranked.end(), [](auto* a, auto* b) {
    return preference(a->type) < preference(b->type);
  });

  const VulkanDeviceInfo* chosen = nullptr;
  if (selector.empty()) {
    for (auto* d : ranked) {
      if (d->usable()) {
        chosen = d;
        break;
      }
    }
    if (!chosen) throw Error("no usable Vulkan device found:" + device_list_text(devices));
    return *chosen;
  }

  const bool is_index = std::all_of(selector.begin(), selector.end(),
                                    [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
  if (is_index) {
    unsigned long index = std::strtoul(std::string(selector).c_str(), nullptr, 10);
    if (selector.size() < 10 && index < devices.size()) chosen = &devices[index];
  } else {
    const std::string wanted = lowercase(selector);
    for (auto* d : ranked) {  // a usable match beats an unusable one
      if (lowercase(d->name).find(wanted) != std::string::npos && (!chosen || (!chosen->usable() && d->usable()))) {
        chosen = d;
      }
    }
  }
  if (!chosen) {
    throw Error("Vulkan device '" + std::string(selector) + "' (" + source +
                ") not found; give an index or part of a name from:" + device_list_text(devices));
  }
  if (!chosen->usable()) {
    throw Error("Vulkan device '" + chosen->name + "' (" + source + ") cannot be used: it " +
                chosen->unusable_reason);
  }
  return *chosen;
}

}  // namespace

const char* to_string(VulkanDeviceType type) {
  switch (type) {
    case VulkanDeviceType::IntegratedGpu: return "integrated GPU";
    case VulkanDeviceType::DiscreteGpu: return "discrete GPU";
    case VulkanDeviceType::VirtualGpu: return "virtual GPU";
    case VulkanDeviceType::Cpu: return "CPU";
    default: return "other";
  }
}

std::string VulkanDeviceInfo::api_version_string() const {
  return std::to_string(VK_API_VERSION_MAJOR(api_version)) + "." +
         std::to_string(VK_API_VERSION_MINOR(api_version)) + "." +
         std::to_string(VK_API_VERSION_PATCH(api_version));
}

std::string VulkanDeviceInfo::summary() const {
  using vulkan::format_bytes;
  std::string text = std::to_string(index) + ": " + name + " [" + to_string(type) + "] " + driver +
                     ", Vulkan " + api_version_string();
  if (!usable()) return text + "; not usable: " + unusable_reason;
  text += ", subgroup " + std::to_string(subgroup_size) + ", device-local " + format_bytes(device_local_bytes) +
          ", max buffer " + format_bytes(max_memory_allocation_size) + ", max binding " +
          format_bytes(max_storage_buffer_range);
  std::string features;
  if (shader_float16) features += " f16";
  if (shader_int8) features += " int8";
  if (storage_buffer_16bit) features += " 16-bit-storage";
  if (storage_buffer_8bit) features += " 8-bit-storage";
  if (subgroup_arithmetic) features += " subgroup-arithmetic";
  if (timestamps) features += " timestamps";
  return text + ", features:" + (features.empty() ? " none" : features);
}

std::vector<VulkanDeviceInfo> VulkanDevice::list() {
  Instance instance = create_instance();
  if (!instance.handle) return {};  // no driver: nothing to list
  return describe_devices(physical_devices(instance.handle));
}

VulkanDevice VulkanDevice::open(std::string_view selector) {
  std::string source = "given as device selector";
  if (selector.empty()) {
    const char* variable = std::getenv(kDeviceVariable);
    if (variable && *variable) {
      selector = variable;
      source = std::string("from ") + kDeviceVariable;
    }
  }

  Instance instance = create_instance();
  std::vector<VkPhysicalDevice> physical;
  if (instance.handle) physical = physical_devices(instance.handle);
  if (physical.empty()) throw Error(std::string("no Vulkan device found; ") + kNoDriverHelp);
  const std::vector<VulkanDeviceInfo> devices = describe_devices(physical);
  const VulkanDeviceInfo& chosen = select_device(devices, selector, source);

  auto context = std::make_shared<vulkan::Context>();
  context->instance = instance.release();  // from here on ~Context cleans up
  context->physical_device = physical[chosen.index];
  context->info = chosen;
  context->queue_family = static_cast<uint32_t>(compute_queue_family(context->physical_device));
  VkPhysicalDeviceProperties properties;
  vkGetPhysicalDeviceProperties(context->physical_device, &properties);
  context->limits = properties.limits;
  vkGetPhysicalDeviceMemoryProperties(context->physical_device, &context->memory);

  // Enable the optional features the device has, and nothing else.
  VkPhysicalDeviceVulkan12Features features12{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES};
  features12.shaderFloat16 = chosen.shader_float16;
  features12.shaderInt8 = chosen.shader_int8;
  features12.storageBuffer8BitAccess = chosen.storage_buffer_8bit;
  VkPhysicalDeviceVulkan11Features features11{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES, &features12};
  features11.storageBuffer16BitAccess = chosen.storage_buffer_16bit;
  VkPhysicalDeviceFeatures2 features{VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2, &features11};

  const float priority = 1.0f;
  VkDeviceQueueCreateInfo queue{VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO};
  queue.queueFamilyIndex = context->queue_family;
  queue.queueCount = 1;
  queue.pQueuePriorities = &priority;
  VkDeviceCreateInfo create{VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO, &features};
  create.queueCreateInfoCount = 1;
  create.pQueueCreateInfos = &queue;
  check(vkCreateDevice(context->physical_device, &create, nullptr, &context->device),
        "opening Vulkan device '" + chosen.name + "'");
  vkGetDeviceQueue(context->device, context->queue_family, 0, &context->queue);

  VkCommandPoolCreateInfo pool{VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO};
  pool.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
  pool.queueFamilyIndex = context->queue_family;
  check(vkCreateCommandPool(context->device, &pool, nullptr, &context->command_pool),
        "creating a command pool on '" + chosen.name + "'");
  return VulkanDevice(std::move(context));
}

VulkanDevice::VulkanDevice(std::shared_ptr<vulkan::Context> context) : context_(std::move(context)) {}
VulkanDevice::~VulkanDevice() = default;

const VulkanDeviceInfo& VulkanDevice::info() const { return vulkan::context_of(*this)->info; }

}  // namespace archscope
