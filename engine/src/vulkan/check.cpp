// VkResult to messages a person can act on.
#include <cinttypes>
#include <cstdio>

#include "archscope/error.h"
#include "vulkan/handles.h"

namespace archscope::vulkan {

const char* describe(VkResult result) {
  switch (result) {
    case VK_SUCCESS: return "success";
    case VK_TIMEOUT: return "timed out (VK_TIMEOUT)";
    case VK_ERROR_OUT_OF_HOST_MEMORY:
      return "out of system memory (VK_ERROR_OUT_OF_HOST_MEMORY); close other programs or "
             "use a smaller model or context";
    case VK_ERROR_OUT_OF_DEVICE_MEMORY:
      return "out of GPU memory (VK_ERROR_OUT_OF_DEVICE_MEMORY); use a smaller or more quantized "
             "model, a shorter context, or close other programs that use the GPU";
    case VK_ERROR_DEVICE_LOST:
      return "the GPU stopped responding (VK_ERROR_DEVICE_LOST): the driver reset it after a "
             "crash or an overlong shader; restart archscope, and report a bug if it repeats";
    case VK_ERROR_INITIALIZATION_FAILED: return "the driver failed to initialize (VK_ERROR_INITIALIZATION_FAILED)";
    case VK_ERROR_INCOMPATIBLE_DRIVER:
      return "no compatible Vulkan driver (VK_ERROR_INCOMPATIBLE_DRIVER); install a Vulkan 1.2 "
             "driver for your GPU, or mesa-vulkan-drivers for the CPU driver lavapipe";
    case VK_ERROR_MEMORY_MAP_FAILED: return "mapping memory failed (VK_ERROR_MEMORY_MAP_FAILED)";
    case VK_ERROR_LAYER_NOT_PRESENT: return "a requested layer is missing (VK_ERROR_LAYER_NOT_PRESENT)";
    case VK_ERROR_EXTENSION_NOT_PRESENT: return "a required extension is missing (VK_ERROR_EXTENSION_NOT_PRESENT)";
    case VK_ERROR_FEATURE_NOT_PRESENT: return "a required feature is missing (VK_ERROR_FEATURE_NOT_PRESENT)";
    case VK_ERROR_TOO_MANY_OBJECTS: return "the driver's object limit is reached (VK_ERROR_TOO_MANY_OBJECTS)";
    case VK_ERROR_OUT_OF_POOL_MEMORY: return "descriptor pool exhausted (VK_ERROR_OUT_OF_POOL_MEMORY)";
    case VK_ERROR_FRAGMENTED_POOL: return "descriptor pool fragmented (VK_ERROR_FRAGMENTED_POOL)";
    case VK_ERROR_INVALID_SHADER_NV: return "the driver rejected the shader (VK_ERROR_INVALID_SHADER_NV)";
    case VK_ERROR_UNKNOWN: return "unknown driver error (VK_ERROR_UNKNOWN)";
    default: return nullptr;
  }
}

void check(VkResult result, const std::string& what) {
  if (result == VK_SUCCESS) return;
  const char* meaning = describe(result);
  throw Error(what + ": " + (meaning ? std::string(meaning) : "Vulkan error " + std::to_string(result)));
}

std::string format_bytes(uint64_t bytes) {
  static const char* const units[] = {"KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024) return std::to_string(bytes) + " bytes";
  double value = static_cast<double>(bytes) / 1024;
  int unit = 0;
  while (value >= 1024 && unit < 3) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  if (value == static_cast<double>(static_cast<uint64_t>(value))) {
    std::snprintf(text, sizeof text, "%" PRIu64 " %s", static_cast<uint64_t>(value), units[unit]);
  } else {
    std::snprintf(text, sizeof text, "%.1f %s", value, units[unit]);
  }
  return text;
}

}  // namespace archscope::vulkan
