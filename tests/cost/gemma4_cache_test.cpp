// Gemma 4 E2B and E4B KV-cache bytes at 131,072 tokens in bf16, against figures worked
// out by hand from the published configs (not from archscope's code):
//   E2B: 35 layers, (S,S,S,S,F) x 7, 1 KV head, head dim 256 sliding / 512 global,
//        window 512, last 20 layers shared -> owners are layers 0-14: 12 sliding, 3 global.
//   E4B: 42 layers, (S x 5, F) x 7, 2 KV heads, same head dims and window,
//        last 18 layers shared -> owners are layers 0-23: 20 sliding, 4 global.
// bf16 = 2 bytes; K and V are both cached.
#include <gtest/gtest.h>

#include "archscope/cache_plan.h"
#include "archscope/model_loader.h"

namespace archscope {
namespace {

constexpr uint64_t kContext = 131072;

CachePlan plan_for(const char* card) {
  Result<ModelSpec> spec = load_model_spec(std::string(ARCHSCOPE_SOURCE_DIR "/models/cards/") + card);
  EXPECT_TRUE(spec.ok()) << spec.error().what();
  return plan_cache(*spec, kContext, GgmlType::BF16);
}

TEST(Gemma4Cache, E2BAt128KInBf16) {
  const CachePlan plan = plan_for("gemma-4-e2b.json");
  // One position, K + V: sliding 2 x 1 x 256 x 2 = 1,024 B; global 2 x 1 x 512 x 2 = 2,048 B.
  const uint64_t sliding = 512 * 1024;         // 524,288 B per sliding owner (the window)
  const uint64_t global = kContext * 2048;     // 268,435,456 B per global owner
  const uint64_t sliding_full = kContext * 1024;  // 134,217,728 B: a sliding layer without its window

  EXPECT_EQ(plan.bytes, 12 * sliding + 3 * global);                    // 811,597,824 (774 MiB)
  EXPECT_EQ(plan.bytes, 811597824u);
  EXPECT_EQ(plan.bytes_no_sharing, 28 * sliding + 7 * global);         // 1,893,728,256
  EXPECT_EQ(plan.bytes_no_sharing, 1893728256u);
  EXPECT_EQ(plan.bytes_no_windows, 12 * sliding_full + 3 * global);    // 2,415,919,104
  EXPECT_EQ(plan.bytes_no_windows, 2415919104u);
  EXPECT_EQ(plan.bytes_naive, 28 * sliding_full + 7 * global);         // 5,637,144,576
  EXPECT_EQ(plan.bytes_naive, 5637144576u);

  // The sharing saving comes almost entirely from the 4 shared global layers.
  EXPECT_EQ(plan.bytes_no_sharing - plan.bytes, 16 * sliding + 4 * global);
  EXPECT_EQ(plan.layers[15].source, 13);
  EXPECT_EQ(plan.layers[19].source, 14);
  EXPECT_EQ(plan.layers[19].bytes, 0u);
}

TEST(Gemma4Cache, E4BAt128KInBf16) {
  const CachePlan plan = plan_for("gemma-4-e4b.json");
  // One position, K + V: sliding 2 x 2 x 256 x 2 = 2,048 B; global 2 x 2 x 512 x 2 = 4,096 B.
  const uint64_t sliding = 512 * 2048;            // 1,048,576 B
  const uint64_t global = kContext * 4096;        // 536,870,912 B
  const uint64_t sliding_full = kContext * 2048;  // 268,435,456 B

  EXPECT_EQ(plan.bytes, 20 * sliding + 4 * global);                    // 2,168,455,168
  EXPECT_EQ(plan.bytes, 2168455168u);
  EXPECT_EQ(plan.bytes_no_sharing, 35 * sliding + 7 * global);         // 3,794,796,544
  EXPECT_EQ(plan.bytes_no_sharing, 3794796544u);
  EXPECT_EQ(plan.bytes_no_windows, 20 * sliding_full + 4 * global);    // 7,516,192,768
  EXPECT_EQ(plan.bytes_no_windows, 7516192768u);
  EXPECT_EQ(plan.bytes_naive, 35 * sliding_full + 7 * global);         // 13,153,337,344
  EXPECT_EQ(plan.bytes_naive, 13153337344u);
  EXPECT_EQ(plan.layers[24].source, 22);
  EXPECT_EQ(plan.layers[29].source, 23);
}

}  // namespace
}  // namespace archscope
