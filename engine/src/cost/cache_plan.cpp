#include "archscope/cache_plan.h"

#include <algorithm>
#include <cctype>

#include "archscope/error.h"

namespace archscope {

std::optional<GgmlType> parse_cache_type(const std::string& name) {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower == "f32") return GgmlType::F32;
  if (lower == "f16") return GgmlType::F16;
  if (lower == "bf16") return GgmlType::BF16;
  if (lower == "q8_0") return GgmlType::Q8_0;
  return std::nullopt;
}

uint64_t cache_row_bytes(GgmlType type, uint64_t elements) {
  const GgmlTypeInfo* info = ggml_type_info(type);
  if (!info) throw Error("unknown cache type");
  const uint64_t blocks = (elements + info->block_size - 1) / info->block_size;
  return blocks * info->type_size;
}

namespace {

bool is_compressed(AttentionKind kind) { return kind == AttentionKind::Csa || kind == AttentionKind::Hca; }

// What a layer would hold owning its own cache, at `context` tokens.
LayerCache own_cache(const LayerSpec& l, uint64_t context, GgmlType type, uint64_t batch) {
  LayerCache c;
  c.layer = c.source = l.index;
  const uint64_t k_row = cache_row_bytes(type, uint64_t(l.kv_heads) * l.head_dim_k);
  const uint64_t v_row = l.k_equals_v ? 0 : cache_row_bytes(type, uint64_t(l.kv_heads) * l.head_dim_v);
  // Any layer with a window (sliding, CSA/HCA raw window, ZAYA1 hybrid-sliding CCA) keeps only it.
  c.positions = l.window > 0 ? std::min<uint64_t>(context, l.window + batch - 1) : context;
  c.kv_bytes = c.positions * (k_row + v_row);
  if (is_compressed(l.attention) && l.compress_ratio > 0) {
    c.compressed_entries = context / l.compress_ratio;
    uint64_t entry = k_row;
    if (l.attention == AttentionKind::Csa && l.indexer_dim > 0) entry += cache_row_bytes(type, l.indexer_dim);
    c.compressed_bytes = c.compressed_entries * entry;
  }
  c.state_bytes = l.state_elements * sizeof(float);
  c.bytes = c.kv_bytes + c.compressed_bytes + c.state_bytes;
  c.bytes_no_sharing = c.bytes;
  c.bytes_no_windows = context * (k_row + v_row);
  c.bytes_naive = context * (cache_row_bytes(type, uint64_t(l.kv_heads) * l.head_dim_k) +
                             cache_row_bytes(type, uint64_t(l.kv_heads) * l.head_dim_v));
  return c;
}

}  // namespace

CachePlan plan_cache(const ModelSpec& spec, uint64_t context, GgmlType type, uint64_t batch) {
  if (!parse_cache_type(ggml_type_info(type) ? ggml_type_info(type)->name : "")) {
    throw Error("cache element type must be f32, f16, bf16 or q8_0");
  }
  CachePlan plan;
  plan.type = type;
  plan.context = context;
  for (const LayerSpec& l : spec.layers) {
    LayerCache c = own_cache(l, context, type, std::max<uint64_t>(batch, 1));
    if (!l.owns_cache()) {
      // A reader holds nothing: it attends to its producer's entries.
      const LayerCache& producer = plan.layers.at(l.kv_source);
      c.source = l.kv_source;
      c.owner = false;
      c.positions = producer.positions;
      c.compressed_entries = producer.compressed_entries;
      c.kv_bytes = c.compressed_bytes = c.state_bytes = c.bytes = 0;
      c.bytes_no_windows = 0;
    }
    plan.bytes += c.bytes;
    plan.bytes_no_sharing += c.bytes_no_sharing;
    plan.bytes_no_windows += c.bytes_no_windows;
    plan.bytes_naive += c.bytes_naive;
    plan.layers.push_back(c);
  }
  return plan;
}

}  // namespace archscope
