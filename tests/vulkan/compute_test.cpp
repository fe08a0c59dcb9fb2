// Buffers, pipelines and dispatches, checked against the CPU with add.comp.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <optional>
#include <random>
#include <vector>

#include "archscope/error.h"
#include "archscope/vulkan_device.h"
#include "vulkan/vulkan_test_support.h"

namespace archscope {
namespace {

using ::testing::HasSubstr;
using testing::VulkanTest;

constexpr uint32_t kLocalSize = 256;  // add.comp's local_size_x

std::vector<float> random_floats(size_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(-100.0f, 100.0f);
  std::vector<float> v(n);
  for (float& x : v) x = dist(rng);
  return v;
}

std::vector<float> cpu_add(const std::vector<float>& a, const std::vector<float>& b) {
  std::vector<float> out(a.size());
  for (size_t i = 0; i < a.size(); ++i) out[i] = a[i] + b[i];
  return out;
}

// Bitwise, so that -0.0f vs 0.0f or a flushed denormal would count as a difference.
bool same_bits(const std::vector<float>& x, const std::vector<float>& y) {
  return x.size() == y.size() && std::memcmp(x.data(), y.data(), x.size() * sizeof(float)) == 0;
}

Buffer upload(VulkanDevice& gpu, const std::vector<float>& values, HostAccess access = HostAccess::Auto) {
  Buffer buffer(gpu, values.size() * sizeof(float), access);
  buffer.write<float>(values);
  return buffer;
}

std::vector<float> download(const Buffer& buffer) {
  std::vector<float> values(buffer.size() / sizeof(float));
  buffer.read<float>(values);
  return values;
}

std::string error_of(auto&& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(GroupsFor, SpreadsOverYBeyond65535Groups) {
  EXPECT_EQ(groups_for(1'000'003, 256).x, 3907u);
  EXPECT_EQ(groups_for(1'000'003, 256).y, 1u);
  GroupCount big = groups_for(65535ull * 256 + 1, 256);
  EXPECT_EQ(big.x, 65535u);
  EXPECT_EQ(big.y, 2u);
  EXPECT_EQ(groups_for(0, 256).x, 0u);
}

TEST_F(VulkanTest, AddMatchesCpuBitwise) {
  const size_t n = 1'000'003;  // odd, and several thousand work groups
  std::vector<float> a = random_floats(n, 1), b = random_floats(n, 2);
  Buffer a_gpu = upload(gpu(), a), b_gpu = upload(gpu(), b);
  Buffer out(gpu(), n * sizeof(float));

  ComputePipeline add(gpu(), "add", 3, sizeof(uint32_t));
  CommandList list(gpu());
  list.dispatch(add, {a_gpu, b_gpu, out}, static_cast<uint32_t>(n), groups_for(n, kLocalSize));
  list.submit_and_wait();

  EXPECT_TRUE(same_bits(download(out), cpu_add(a, b)));
}

TEST_F(VulkanTest, RecordedListReplaysInPlaceAdd) {
  const size_t n = 4099;
  std::vector<float> x = random_floats(n, 3), residual = random_floats(n, 4);
  Buffer x_gpu = upload(gpu(), x), residual_gpu = upload(gpu(), residual);

  ComputePipeline add(gpu(), "add", 3, sizeof(uint32_t));
  CommandList list(gpu());
  list.dispatch(add, {x_gpu, residual_gpu, x_gpu}, static_cast<uint32_t>(n), groups_for(n, kLocalSize));
  for (int step = 0; step < 3; ++step) {
    list.submit_and_wait();  // recorded once, run three times: x += residual each time
    x = cpu_add(x, residual);
  }
  EXPECT_TRUE(same_bits(download(x_gpu), x));

  EXPECT_THAT(error_of([&] { list.dispatch(add, {x_gpu, residual_gpu, x_gpu}, uint32_t{1}, GroupCount{}); }),
              HasSubstr("reset()"));
  list.reset();
  list.dispatch(add, {residual_gpu, residual_gpu, x_gpu}, static_cast<uint32_t>(n), groups_for(n, kLocalSize));
  list.submit_and_wait();
  EXPECT_TRUE(same_bits(download(x_gpu), cpu_add(residual, residual)));
}

TEST_F(VulkanTest, ConsecutiveDispatchesSeeEachOthersWrites) {
  const size_t n = 3000;
  std::vector<float> a = random_floats(n, 5), b = random_floats(n, 6);
  Buffer a_gpu = upload(gpu(), a), b_gpu = upload(gpu(), b), tmp(gpu(), n * 4), out(gpu(), n * 4);
  ComputePipeline add(gpu(), "add", 3, 4);
  CommandList list(gpu());
  list.dispatch(add, {a_gpu, b_gpu, tmp}, static_cast<uint32_t>(n), groups_for(n, kLocalSize));
  list.dispatch(add, {tmp, b_gpu, out}, static_cast<uint32_t>(n), groups_for(n, kLocalSize));
  list.submit_and_wait();
  EXPECT_TRUE(same_bits(download(out), cpu_add(cpu_add(a, b), b)));
}

// The discrete-GPU path (device memory the host cannot map), forced on any device.
TEST_F(VulkanTest, StagedBuffersGiveTheSameResult) {
  const size_t n = 100'001;
  std::vector<float> a = random_floats(n, 7), b = random_floats(n, 8);
  Buffer a_gpu = upload(gpu(), a, HostAccess::Staged), b_gpu = upload(gpu(), b, HostAccess::Staged);
  Buffer out(gpu(), n * sizeof(float), HostAccess::Staged);
  EXPECT_FALSE(out.mapped());

  ComputePipeline add(gpu(), "add", 3, 4);
  CommandList list(gpu());
  list.dispatch(add, {a_gpu, b_gpu, out}, static_cast<uint32_t>(n), groups_for(n, kLocalSize));
  list.submit_and_wait();
  std::vector<float> expected = cpu_add(a, b);
  EXPECT_TRUE(same_bits(download(out), expected));

  std::vector<float> tail(10);  // reads at an offset
  out.read<float>(tail, (n - 10) * sizeof(float));
  EXPECT_EQ(0, std::memcmp(tail.data(), expected.data() + n - 10, 10 * sizeof(float)));

  Buffer mapped(gpu(), 64, HostAccess::Mapped);
  EXPECT_TRUE(mapped.mapped());
}

TEST_F(VulkanTest, BindingRangesAddPartOfABuffer) {
  const size_t n = 2048, half = n / 2;  // half * 4 bytes is a multiple of any offset alignment up to 4 KiB
  std::vector<float> a = random_floats(n, 9), b = random_floats(n, 10);
  Buffer a_gpu = upload(gpu(), a), b_gpu = upload(gpu(), b);
  Buffer out = upload(gpu(), std::vector<float>(n, 0.0f));
  ComputePipeline add(gpu(), "add", 3, 4);
  CommandList list(gpu());
  const uint64_t offset = half * sizeof(float);
  list.dispatch(add, {BufferRange(a_gpu, offset), BufferRange(b_gpu, offset), BufferRange(out, offset, offset)},
                static_cast<uint32_t>(half), groups_for(half, kLocalSize));
  list.submit_and_wait();

  std::vector<float> expected = cpu_add(a, b);
  std::fill(expected.begin(), expected.begin() + half, 0.0f);
  EXPECT_TRUE(same_bits(download(out), expected));
}

// add.comp indexes y * (groups.x * 256) + x; check it with a small explicit 2x3 grid.
TEST_F(VulkanTest, TwoDimensionalGroupsCoverEveryIndex) {
  const size_t n = 2 * 3 * kLocalSize - 5;
  std::vector<float> a = random_floats(n, 11), b = random_floats(n, 12);
  Buffer a_gpu = upload(gpu(), a), b_gpu = upload(gpu(), b), out(gpu(), n * 4);
  ComputePipeline add(gpu(), "add", 3, 4);
  CommandList list(gpu());
  list.dispatch(add, {a_gpu, b_gpu, out}, static_cast<uint32_t>(n), GroupCount{2, 3, 1});
  list.submit_and_wait();
  EXPECT_TRUE(same_bits(download(out), cpu_add(a, b)));
}

TEST_F(VulkanTest, UnknownShaderGivesClearError) {
  std::string message = error_of([&] { ComputePipeline(gpu(), "no_such_shader", 3, 4); });
  EXPECT_THAT(message, HasSubstr("'no_such_shader'"));
  EXPECT_THAT(message, HasSubstr("add"));  // lists what exists
}

TEST_F(VulkanTest, OversizeBufferIsRefused) {
  std::string message = error_of([&] { Buffer(gpu(), info().max_memory_allocation_size + 1); });
  EXPECT_THAT(message, HasSubstr("maxMemoryAllocationSize"));
  EXPECT_THAT(message, HasSubstr(info().name));
  EXPECT_THAT(error_of([&] { Buffer(gpu(), 0); }), HasSubstr("0 bytes"));
}

TEST_F(VulkanTest, OversizeBindingIsRefused) {
  const uint64_t range = info().max_storage_buffer_range;
  if (range >= info().max_memory_allocation_size || range > (uint64_t{512} << 20)) {
    GTEST_SKIP() << "this device binds whole buffers of up to " << range << " bytes";
  }
  Buffer big(gpu(), range + 256), small(gpu(), 256);
  ComputePipeline add(gpu(), "add", 3, 4);
  CommandList list(gpu());
  EXPECT_THAT(error_of([&] { list.dispatch(add, {big, small, small}, uint32_t{1}, GroupCount{}); }),
              HasSubstr("maxStorageBufferRange"));
  // The same buffer bound in parts is fine.
  list.dispatch(add, {BufferRange(big, 0, range), small, small}, uint32_t{1}, GroupCount{});
  list.dispatch(add, {BufferRange(big, range), small, small}, uint32_t{1}, GroupCount{});
}

TEST_F(VulkanTest, MisusedDispatchGivesClearErrors) {
  Buffer a(gpu(), 1024), b(gpu(), 1024);
  ComputePipeline add(gpu(), "add", 3, 4);
  CommandList list(gpu());
  EXPECT_THAT(error_of([&] { list.dispatch(add, {a, b}, uint32_t{1}, GroupCount{}); }),
              HasSubstr("takes 3 buffers, got 2"));
  EXPECT_THAT(error_of([&] { list.dispatch(add, {a, b, b}, uint64_t{1}, GroupCount{}); }),
              HasSubstr("takes 4 bytes of push constants, got 8"));
  EXPECT_THAT(error_of([&] { list.dispatch(add, {BufferRange(a, 2048), b, b}, uint32_t{1}, GroupCount{}); }),
              HasSubstr("past the end"));
  if (info().storage_buffer_offset_alignment > 4) {
    EXPECT_THAT(error_of([&] { list.dispatch(add, {BufferRange(a, 4), b, b}, uint32_t{1}, GroupCount{}); }),
                HasSubstr("minStorageBufferOffsetAlignment"));
  }
  if (info().max_workgroup_count[0] < UINT32_MAX) {
    const GroupCount too_wide{info().max_workgroup_count[0] + 1u, 1, 1};
    EXPECT_THAT(error_of([&] { list.dispatch(add, {a, b, b}, uint32_t{1}, too_wide); }), HasSubstr("work groups"));
  }
  std::vector<float> too_many(257);
  EXPECT_THAT(error_of([&] { a.write<float>(too_many); }), HasSubstr("overruns"));
  EXPECT_THAT(error_of([&] { a.read<float>(too_many); }), HasSubstr("overruns"));
  EXPECT_THAT(error_of([&] { ComputePipeline(gpu(), "add", 3, 6); }), HasSubstr("multiple of 4"));
}

TEST_F(VulkanTest, ResourcesOutliveTheirDevice) {
  std::optional<VulkanDevice> device(VulkanDevice::open());
  Buffer buffer(*device, 16);
  ComputePipeline add(*device, "add", 3, 4);
  CommandList list(*device);
  device.reset();  // the Context lives on until the last of them is gone
  list.dispatch(add, {buffer, buffer, buffer}, uint32_t{4}, GroupCount{});
  list.submit_and_wait();
}

}  // namespace
}  // namespace archscope
