// What-if toggles edit the spec, and the cache plan follows from the edited spec.
#include <gtest/gtest.h>

#include "archscope/cache_plan.h"
#include "archscope/toggles.h"
#include "spec/spec_fixtures.h"

namespace archscope {
namespace {

using testing::load_card;

TEST(Toggles, WindowAndAllGlobalChangeTheSlidingLayersOnly) {
  const ModelSpec e2b = load_card("gemma-4-e2b.json");
  std::vector<std::string> names;
  for (const ToggleInfo& t : available_toggles(e2b)) names.push_back(t.name);
  EXPECT_NE(std::find(names.begin(), names.end(), "window"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "all_global"), names.end());

  ModelSpec small_window = e2b;
  apply_toggles(small_window, {{"window", "128"}});
  ModelSpec global = e2b;
  apply_toggles(global, {{"all_global", "on"}});
  for (int il = 0; il < e2b.layer_count(); ++il) {
    const LayerSpec& l = e2b.layers[il];
    EXPECT_EQ(small_window.layers[il].window, l.attention == AttentionKind::Sliding ? 128 : l.window);
    EXPECT_EQ(global.layers[il].attention, AttentionKind::Global);
    EXPECT_EQ(global.layers[il].window, 0);
  }
  const uint64_t ctx = 32768;
  EXPECT_LT(plan_cache(small_window, ctx).bytes, plan_cache(e2b, ctx).bytes);
  EXPECT_GT(plan_cache(global, ctx).bytes, plan_cache(e2b, ctx).bytes);
  EXPECT_EQ(plan_cache(global, ctx).bytes, plan_cache(e2b, ctx).bytes_no_windows);
}

TEST(Toggles, BadTogglesAreClearErrors) {
  ModelSpec spec = load_card("gemma-4-e2b.json");
  auto error_of = [&](const std::vector<Toggle>& toggles) {
    try {
      apply_toggles(spec, toggles);
    } catch (const Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_EQ(error_of({{"warp", "9"}}), "unknown toggle \"warp\"");
  EXPECT_EQ(error_of({{"window", "-3"}}), "toggle window: \"-3\" is not a positive whole number");
  EXPECT_EQ(error_of({{"all_global", "yes"}}), "toggle all_global takes on, off, not \"yes\"");
  EXPECT_FALSE(parse_toggle("window"));
  EXPECT_FALSE(parse_toggle("=3"));
  ASSERT_TRUE(parse_toggle("window=3"));
  EXPECT_EQ(parse_toggle("window=3")->value, "3");
  EXPECT_EQ(describe_toggles({{"window", "3"}, {"all_global", "on"}}), "window=3, all_global=on");

  EXPECT_EQ(error_of({{"ple", "none"}}), "toggle ple takes on, off, not \"none\"");
  EXPECT_EQ(error_of({{"ple_table", "gpu"}}), "toggle ple_table takes auto, device, host, not \"gpu\"");

  const ModelSpec llama = load_card("llama-3.1-8b.json");
  EXPECT_TRUE(available_toggles(llama).empty());
  ModelSpec copy = llama;
  EXPECT_THROW(apply_toggles(copy, {{"ple", "off"}}), Error);
}

// ple=off drops the per-layer inputs and, the spec's tensor list following it, their
// tensors; ple_table only says where the table runs from (the cache does not change).
TEST(Toggles, PerLayerEmbeddingToggles) {
  const ModelSpec e2b = load_card("gemma-4-e2b.json");
  ModelSpec off = e2b;
  apply_toggles(off, {{"ple", "off"}});
  EXPECT_EQ(off.ple_width, 0);
  for (const LayerSpec& l : off.layers) EXPECT_EQ(l.ple_width, 0);
  EXPECT_EQ(plan_cache(off, 4096).bytes, plan_cache(e2b, 4096).bytes);
  EXPECT_THROW(apply_toggles(off, {{"ple_table", "host"}}), Error);  // nothing left to place

  ModelSpec host = e2b;
  EXPECT_EQ(host.ple_table, TablePlacement::Auto);
  apply_toggles(host, {{"ple_table", "host"}});
  EXPECT_EQ(host.ple_table, TablePlacement::Host);
  for (const ToggleInfo& t : available_toggles(host)) {
    if (t.name == "ple_table") {
      EXPECT_EQ(t.current, "host");
    }
  }
}

}  // namespace
}  // namespace archscope
