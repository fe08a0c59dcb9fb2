// A forward pass that is exact at position 0 and needs no attention code: with one token in
// the cache every query head's softmax is 1 on that token, so attention returns the token's
// own value vector (of the head's KV group) and q, k, RoPE and QK-norm drop out. Enough to
// check a tiny model's weights end to end (layout, scales, entropy) against llama.cpp.
#pragma once

#include <cmath>
#include <stdexcept>
#include <string>
#include <vector>

#include "archscope/gguf.h"
#include "archscope/model_spec.h"
#include "reference/ops.h"

namespace archscope::testing {

inline reference::WeightView weight_view(const GgufFile& file, const std::string& name) {
  const GgufTensor* t = file.find_tensor(name);
  if (!t || t->shape.size() != 2) throw std::runtime_error("no matrix " + name);
  const uint64_t row_bytes = t->bytes / t->shape[1];
  return {t->type, t->data, static_cast<int64_t>(t->shape[0]), static_cast<int64_t>(t->shape[1]), row_bytes};
}

inline const float* norm_weight(const GgufFile& file, const std::string& name) {
  const GgufTensor* t = file.find_tensor(name);
  if (!t || t->type != GgmlType::F32) throw std::runtime_error("no F32 norm " + name);
  return reinterpret_cast<const float*>(t->data);
}

// Logits after feeding `token` at position 0 (Llama / Qwen3 decoder).
inline std::vector<float> position0_logits(const GgufFile& file, const ModelSpec& spec, int32_t token) {
  using namespace reference;
  const int64_t d = spec.hidden;
  const float eps = static_cast<float>(spec.rms_eps);
  std::vector<float> x(d), h(d), tmp(d);
  const int32_t ids[] = {token};
  get_rows(weight_view(file, "token_embd.weight"), ids, x.data());
  for (const LayerSpec& l : spec.layers) {
    const std::string blk = "blk." + std::to_string(l.index) + ".";
    rms_norm(x.data(), norm_weight(file, blk + "attn_norm.weight"), h.data(), 1, d, eps);
    std::vector<float> v(static_cast<size_t>(l.kv_heads) * l.head_dim_v);
    matmul(weight_view(file, blk + "attn_v.weight"), h.data(), v.data(), 1);
    std::vector<float> heads(static_cast<size_t>(l.q_heads) * l.head_dim_v);
    const int group = l.q_heads / l.kv_heads;
    for (int qh = 0; qh < l.q_heads; ++qh) {
      for (int i = 0; i < l.head_dim_v; ++i) heads[qh * l.head_dim_v + i] = v[(qh / group) * l.head_dim_v + i];
    }
    matmul(weight_view(file, blk + "attn_output.weight"), heads.data(), tmp.data(), 1);
    add(x.data(), tmp.data(), x.data(), d);

    rms_norm(x.data(), norm_weight(file, blk + "ffn_norm.weight"), h.data(), 1, d, eps);
    const int64_t f = l.ffn.dense_width;
    std::vector<float> gate(f), up(f), act(f);
    matmul(weight_view(file, blk + "ffn_gate.weight"), h.data(), gate.data(), 1);
    matmul(weight_view(file, blk + "ffn_up.weight"), h.data(), up.data(), 1);
    swiglu(gate.data(), up.data(), act.data(), f);
    matmul(weight_view(file, blk + "ffn_down.weight"), act.data(), tmp.data(), 1);
    add(x.data(), tmp.data(), x.data(), d);
  }
  rms_norm(x.data(), norm_weight(file, "output_norm.weight"), h.data(), 1, d, eps);
  const char* head = file.find_tensor("output.weight") ? "output.weight" : "token_embd.weight";
  std::vector<float> logits(spec.vocab);
  matmul(weight_view(file, head), h.data(), logits.data(), 1);
  return logits;
}

// Entropy in nats of softmax(logits).
inline double entropy_of(const std::vector<float>& logits) {
  double max = logits[0];
  for (float l : logits) max = std::max<double>(max, l);
  double z = 0.0;
  for (float l : logits) z += std::exp(l - max);
  double h = 0.0;
  for (float l : logits) {
    const double p = std::exp(l - max) / z;
    if (p > 0) h -= p * std::log(p);
  }
  return h;
}

}  // namespace archscope::testing
