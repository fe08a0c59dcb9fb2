// The Vulkan compute runtime: find and open a device, make storage buffers, build compute
// pipelines from the embedded shaders (shaders/*.comp), record dispatches and run them.
//
//   VulkanDevice gpu = VulkanDevice::open();                 // best device, or --device / env
//   Buffer a(gpu, n * 4), b(gpu, n * 4), out(gpu, n * 4);
//   a.write<float>(xs);  b.write<float>(ys);
//   ComputePipeline add(gpu, "add", /*buffers=*/3, /*push_constant_bytes=*/4);
//   CommandList list(gpu);
//   list.dispatch(add, {a, b, out}, uint32_t(n), groups_for(n, 256));
//   list.submit_and_wait();                                  // may be called again to replay
//   out.read<float>(result);
//
// No Vulkan type appears here, so the GUI and CLI need no Vulkan headers. Engine code that
// records its own commands reaches the raw handles through "vulkan/handles.h".
// Every failure throws archscope::Error with a message a person can act on; wrap a call in
// archscope::capture() to get a Result instead. Use one device from one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

namespace archscope {

namespace vulkan {
struct Context;  // instance, device, queue, command pool: vulkan/handles.h
}

enum class VulkanDeviceType { Other, IntegratedGpu, DiscreteGpu, VirtualGpu, Cpu };
const char* to_string(VulkanDeviceType type);  // "discrete GPU", "CPU", ...

// What list() reports about one physical device, and what an opened device runs on.
struct VulkanDeviceInfo {
  uint32_t index = 0;  // position in the driver's list; what selector "1" means
  std::string name;    // "NVIDIA GeForce RTX 4090", "llvmpipe (LLVM 15.0.6, 256 bits)"
  VulkanDeviceType type = VulkanDeviceType::Other;
  std::string driver;  // driver name and version, "llvmpipe Mesa 22.3.6 (LLVM 15.0.6)"
  uint32_t api_version = 0;  // packed VK_MAKE_API_VERSION; see api_version_string()

  uint32_t subgroup_size = 0;               // threads that run in lockstep (8 on lavapipe, 32/64 on GPUs)
  uint64_t max_storage_buffer_range = 0;    // largest range one shader binding may see
  uint64_t max_memory_allocation_size = 0;  // largest single Buffer
  uint64_t device_local_bytes = 0;          // size of the largest device-local memory heap
  uint64_t device_local_budget_bytes = 0;   // what this process may still use of it (VK_EXT_memory_budget; 0: unknown)
  uint64_t storage_buffer_offset_alignment = 0;  // a binding's offset must be a multiple of this
  uint32_t max_push_constant_bytes = 0;
  uint32_t max_workgroup_count[3] = {0, 0, 0};

  // Optional Vulkan 1.1/1.2 features; open() enables each one the device has, and shader
  // variants choose by them (f16 KV cache, 8-bit quantized weights).
  bool shader_float16 = false;        // float16_t arithmetic
  bool shader_int8 = false;           // int8_t arithmetic
  bool storage_buffer_16bit = false;  // 16-bit loads/stores from storage buffers
  bool storage_buffer_8bit = false;   // 8-bit loads/stores from storage buffers
  // Subgroup sums and maxima in compute shaders (GL_KHR_shader_subgroup_arithmetic); the
  // step-graph shaders reduce with them.
  bool subgroup_arithmetic = false;
  // Subgroup shuffles in compute shaders (GL_KHR_shader_subgroup_shuffle); matmul_rows.comp
  // needs them.
  bool subgroup_shuffle = false;
  // GPU timestamps on the compute queue; timestamp_period_ns is one tick in nanoseconds.
  bool timestamps = false;
  double timestamp_period_ns = 0.0;

  // Empty when the device can be opened; otherwise why not ("supports only Vulkan 1.1").
  std::string unusable_reason;

  bool usable() const { return unusable_reason.empty(); }
  std::string api_version_string() const;  // "1.3.230"
  // One line for `archscope-cli devices`:
  // "0: llvmpipe (LLVM 15.0.6, 256 bits) [CPU] llvmpipe Mesa 22.3.6, Vulkan 1.3.230, ..."
  std::string summary() const;
};

// An opened device: logical device, one compute queue, a command pool.
// Buffers, pipelines and command lists keep what they need of it alive, so it may be
// destroyed before them.
class VulkanDevice {
 public:
  // Every physical device the Vulkan loader reports, without opening any; empty when no
  // Vulkan driver is installed.
  static std::vector<VulkanDeviceInfo> list();

  // Opens one device. selector is an index from list() ("1") or a case-insensitive part of
  // the name ("llvmpipe", "4090"); when empty, $ARCHSCOPE_VULKAN_DEVICE is used if set,
  // otherwise the first usable device of the best type: discrete GPU, integrated GPU,
  // virtual GPU, CPU (lavapipe). Throws Error("no Vulkan device found ...") when none.
  static VulkanDevice open(std::string_view selector = {});

  const VulkanDeviceInfo& info() const;
  const std::shared_ptr<vulkan::Context>& context() const { return context_; }

  VulkanDevice(VulkanDevice&&) noexcept = default;
  VulkanDevice& operator=(VulkanDevice&&) noexcept = default;
  VulkanDevice(const VulkanDevice&) = delete;
  VulkanDevice& operator=(const VulkanDevice&) = delete;
  ~VulkanDevice();

 private:
  explicit VulkanDevice(std::shared_ptr<vulkan::Context> context);
  std::shared_ptr<vulkan::Context> context_;
};

// How the host reaches a buffer's contents through write() and read().
enum class HostAccess {
  Auto,    // device memory; mapped where the device allows it (lavapipe, integrated GPUs),
           // copied through a staging buffer where not (discrete GPUs)
  Staged,  // device memory, always through a staging buffer (tests use it to cover that path)
  Mapped,  // host-visible memory, for results the host reads after every step
};

// A storage buffer. Refuses sizes over the device's maxMemoryAllocationSize; a shader sees
// at most maxStorageBufferRange of it per binding (see BufferRange).
class Buffer {
 public:
  Buffer(const VulkanDevice& device, uint64_t bytes, HostAccess access = HostAccess::Auto);
  Buffer(Buffer&&) noexcept;
  Buffer& operator=(Buffer&&) noexcept;
  ~Buffer();

  uint64_t size() const;  // bytes
  bool mapped() const;    // false: write() and read() go through a staging copy

  // Copy bytes in or out at a byte offset; throw when the range overruns the buffer.
  // They wait for the copy, so call them between submissions, not during one.
  void write_bytes(std::span<const std::byte> data, uint64_t offset = 0);
  void read_bytes(std::span<std::byte> out, uint64_t offset = 0) const;

  template <class T>
  void write(std::span<const T> data, uint64_t offset = 0) {
    static_assert(std::is_trivially_copyable_v<T>);
    write_bytes(std::as_bytes(data), offset);
  }
  template <class T>
  void read(std::span<T> out, uint64_t offset = 0) const {
    static_assert(std::is_trivially_copyable_v<T>);
    read_bytes(std::as_writable_bytes(out), offset);
  }

  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

// The part of a buffer one shader binding sees. Its size must not exceed the device's
// maxStorageBufferRange and its offset must be a multiple of
// storage_buffer_offset_alignment; big tensors are bound in parts.
struct BufferRange {
  static constexpr uint64_t kToEnd = ~uint64_t{0};

  BufferRange(const Buffer& buffer) : buffer(&buffer) {}  // the whole buffer
  BufferRange(const Buffer& buffer, uint64_t offset, uint64_t size = kToEnd)
      : buffer(&buffer), offset(offset), size(size) {}

  const Buffer* buffer;
  uint64_t offset = 0;
  uint64_t size = kToEnd;
};

// A compute pipeline for one embedded shader (shaders/<name>.comp) whose bindings
// 0..buffer_count-1 in set 0 are storage buffers and whose push-constant block is
// push_constant_bytes long; binding 15 holds the i-quant grids, which every dispatch binds
// by itself (shaders/quant_iq.glsl). `specialization` gives the values of the shader's
// specialization constants 0, 1, ... (32-bit each: `layout(constant_id = 0) const uint
// TYPE = 0;`), so one shader source makes a pipeline per weight type without branches.
class ComputePipeline {
 public:
  ComputePipeline(const VulkanDevice& device, std::string_view shader, uint32_t buffer_count,
                  uint32_t push_constant_bytes, std::span<const uint32_t> specialization = {});
  ComputePipeline(ComputePipeline&&) noexcept;
  ComputePipeline& operator=(ComputePipeline&&) noexcept;
  ~ComputePipeline();

  const std::string& shader() const;
  uint32_t buffer_count() const;
  uint32_t push_constant_bytes() const;

  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

// Work-group counts of one dispatch.
struct GroupCount {
  uint32_t x = 1, y = 1, z = 1;
};

// Groups of local_size invocations that cover `items`. x stays within 65535 (the limit
// every device supports) and the rest spreads over y, so shaders compute the index as
//   gl_GlobalInvocationID.y * (gl_NumWorkGroups.x * local_size) + gl_GlobalInvocationID.x
// and skip indices >= items.
GroupCount groups_for(uint64_t items, uint32_t local_size);

// A recorded sequence of dispatches, run as one submission. Record once, then
// submit_and_wait() as often as needed: decode replays the same list every token.
// Each dispatch sees the writes of the ones before it. The buffers and pipelines it uses
// must live as long as the list is submitted.
class CommandList {
 public:
  explicit CommandList(const VulkanDevice& device);
  CommandList(CommandList&&) noexcept;
  CommandList& operator=(CommandList&&) noexcept;
  ~CommandList();

  void dispatch(const ComputePipeline& pipeline, std::span<const BufferRange> buffers,
                std::span<const std::byte> push_constants, GroupCount groups);

  // Convenience: the push constants are one plain struct or scalar.
  template <class Push>
  void dispatch(const ComputePipeline& pipeline, std::initializer_list<BufferRange> buffers,
                const Push& push_constants, GroupCount groups) {
    static_assert(std::is_trivially_copyable_v<Push>);
    dispatch(pipeline, std::span<const BufferRange>(buffers.begin(), buffers.size()),
             std::as_bytes(std::span<const Push, 1>(&push_constants, 1)), groups);
  }

  // Records a copy of `bytes` bytes from one range to another; dispatches recorded later
  // see the copied data. (The backend copies each step's inputs from a host-visible buffer
  // into device memory this way, so that no shader reads host memory.)
  void copy(const BufferRange& from, const BufferRange& to, uint64_t bytes);

  // GPU timestamps. enable_timestamps(n) makes room for n of them; call it right after
  // construction or reset(), before recording anything (it records the query reset that
  // every replay starts with). Throws when the device has no timestamps (info().timestamps).
  void enable_timestamps(uint32_t capacity);
  // Records a timestamp taken when everything recorded before it has finished; returns
  // its index.
  uint32_t write_timestamp();
  // After submit_and_wait(): each timestamp of the last run in milliseconds, relative to
  // the first one.
  std::vector<double> timestamps_ms() const;

  // Ends recording on the first call, submits, and waits until the device is done.
  void submit_and_wait();
  // Drops everything recorded and starts an empty list.
  void reset();

  struct Impl;
  const Impl& impl() const { return *impl_; }

 private:
  std::unique_ptr<Impl> impl_;
};

}  // namespace archscope
