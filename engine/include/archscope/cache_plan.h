// CachePlan: how many bytes each layer's KV cache holds at a context length. The same
// plan allocates the runtime's buffers and draws the GUI's cache view, so the picture
// cannot drift from the truth. It is window-, sharing- and compression-aware, and also
// gives the figures a naive calculator would print, so each feature's saving shows.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "archscope/ggml_types.h"
#include "archscope/model_spec.h"

namespace archscope {

// Cache element types archscope supports: f32, f16 (default), bf16, q8_0.
std::optional<GgmlType> parse_cache_type(const std::string& name);
// Bytes of one row of `elements` values (q8_0 rows round up to whole 32-element blocks).
uint64_t cache_row_bytes(GgmlType type, uint64_t elements);

struct LayerCache {
  int layer = 0;
  int source = 0;                  // layer whose cache this one reads (itself when it owns one)
  bool owner = true;
  uint64_t positions = 0;          // raw K/V positions held: min(context, window), or context
  uint64_t compressed_entries = 0; // CSA/HCA entries held
  uint64_t kv_bytes = 0;           // raw keys and values (keys once when K = V)
  uint64_t compressed_bytes = 0;   // compressed entries plus CSA indexer keys
  uint64_t state_bytes = 0;        // fixed per-sequence state (f32)
  uint64_t bytes = 0;              // all this layer holds; 0 for a reader of another's cache
  uint64_t bytes_no_sharing = 0;   // what it would hold owning its own cache
  uint64_t bytes_no_windows = 0;   // owners only, but every owner keeps full-context raw K and V
  uint64_t bytes_naive = 0;        // 2 x context x kv_heads x head_dim: no windows, sharing, compression
};

struct CachePlan {
  GgmlType type = GgmlType::F16;
  uint64_t context = 0;
  std::vector<LayerCache> layers;
  uint64_t bytes = 0;
  uint64_t bytes_no_sharing = 0;
  uint64_t bytes_no_windows = 0;
  uint64_t bytes_naive = 0;
};

// type must be one parse_cache_type accepts. `batch` is the most tokens the runtime feeds
// in one step: a windowed layer then keeps window + batch - 1 positions, so the first
// token of a batch still sees its whole window after the batch's own keys are stored.
// The analytic figures use batch 1 (exactly the window).
CachePlan plan_cache(const ModelSpec& spec, uint64_t context, GgmlType type = GgmlType::F16, uint64_t batch = 1);

}  // namespace archscope
