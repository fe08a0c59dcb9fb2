// archscope-cli devices: the Vulkan devices archscope can run on, best first pick marked.
#include <iostream>

#include "archscope/error.h"
#include "archscope/vulkan_device.h"
#include "commands.h"

namespace archscope::cli {

Command add_devices_command(CLI::App& app) {
  CLI::App* sub = app.add_subcommand("devices", "List the Vulkan devices and the one archscope would choose");
  return {sub, [] {
            const std::vector<VulkanDeviceInfo> devices = VulkanDevice::list();
            if (devices.empty()) {
              std::cout << "No Vulkan device found (install a Vulkan driver, e.g. mesa-vulkan-drivers); "
                           "models will run on the CPU reference path.\n";
              return 0;
            }
            for (const VulkanDeviceInfo& d : devices) std::cout << d.summary() << "\n";
            Result<VulkanDevice> chosen = capture([] { return VulkanDevice::open(); });
            if (chosen) {
              std::cout << "default: " << chosen->info().index << " (" << chosen->info().name
                        << "); override with --device or ARCHSCOPE_VULKAN_DEVICE\n";
            } else {
              std::cout << "default: none (" << chosen.error().what() << ")\n";
            }
            return 0;
          }};
}

}  // namespace archscope::cli
