// The Vulkan backend: runs step graphs on a Vulkan 1.2 device (a GPU, or Mesa's lavapipe
// on the CPU).
//
//   load()     uploads every weight once into a few big device-local blocks (staged on
//              discrete GPUs), and allocates the KV caches (f16 by default, all slots empty;
//              DeepSeek V4's compressed entries and f32 compressor state rings among them);
//   prepare()  places the graph's activations and records the whole step, every op of
//              every layer, into one command buffer;
//   run()      writes the step's tokens and first position into a small host-visible step
//              buffer that the shaders read, replays that command buffer and waits: no
//              host round trip per layer and no re-recording per token.
//
// Op by op it computes what the reference ops compute (engine/src/reference/ops.h), as
// tests/vulkan/*_op_test.cpp check. The dispatches themselves are in
// engine/src/vulkan/step_ops.h, the shaders in shaders/.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "runtime/backend.h"

namespace archscope {

// Knobs for tests (0 or false: what the device allows).
struct VulkanBackendOptions {
  // Largest range one binding gets: weights, caches and activations are split into pieces
  // of at most this. Default: the device's maxStorageBufferRange (at most 2 GiB). Tests
  // make it small to run the split paths with small tensors.
  uint64_t max_binding_bytes = 0;
  // Largest memory block: default the device's maxMemoryAllocationSize, at most 1 GiB.
  uint64_t max_block_bytes = 0;
  // Reach device memory through staging copies even where it could be mapped (the
  // discrete-GPU path, testable on lavapipe).
  bool staged = false;
  // Device memory the model may fill, for deciding where TablePlacement::Auto tables go.
  // Default: the device's largest device-local heap.
  uint64_t device_memory_bytes = 0;
  // The shader of matmuls over more than 8 tokens (prefill): Auto picks matmul_rows on CPU
  // devices (lavapipe), where it is measured faster, and matmul_tiled on GPUs.
  enum class PrefillMatMul { Auto, Tiled, Rows };
  PrefillMatMul prefill_matmul = PrefillMatMul::Auto;
};

// Opens the device `device_selector` names (see VulkanDevice::open; empty: the best one,
// or $ARCHSCOPE_VULKAN_DEVICE). Throws archscope::Error when there is no usable device.
std::unique_ptr<Backend> make_vulkan_backend(const std::string& device_selector);
std::unique_ptr<Backend> make_vulkan_backend(const std::string& device_selector, const VulkanBackendOptions& options);

}  // namespace archscope
