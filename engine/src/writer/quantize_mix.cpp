// llama-quantize's choice of tensor types, ported from llama.cpp src/llama-quant.cpp:
// tensor_allows_quantization, tensor_get_category, llama_tensor_get_type_impl and
// tensor_type_fallback, with the state they keep while walking the tensors. Rules for
// architectures archscope does not run (Falcon, BailingMoE3) and for the Llama 70B size
// class are left out; everything else follows the original line for line, quirks included.
#include "writer/quantize_mix.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <numeric>

#include "archscope/error.h"

namespace archscope {
namespace {

using G = GgmlType;

// LLAMA_FTYPE_* numbers (llama.h).
enum FtypeId : uint32_t {
  ALL_F32 = 0, F16 = 1, Q4_0 = 2, Q4_1 = 3, Q8_0 = 7, Q5_0 = 8, Q5_1 = 9, Q2_K = 10, Q3_K_S = 11, Q3_K_M = 12,
  Q3_K_L = 13, Q4_K_S = 14, Q4_K_M = 15, Q5_K_S = 16, Q5_K_M = 17, Q6_K = 18, IQ2_XXS = 19, IQ2_XS = 20,
  Q2_K_S = 21, IQ3_XS = 22, IQ3_XXS = 23, IQ1_S = 24, IQ4_NL = 25, IQ3_S = 26, IQ3_M = 27, IQ2_S = 28, IQ2_M = 29,
  IQ4_XS = 30, IQ1_M = 31, BF16 = 32, MXFP4_MOE = 38,
};

bool equal_ignoring_case(const std::string& a, const std::string& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
         });
}

bool contains(const std::string& s, const char* part) { return s.find(part) != std::string::npos; }

enum class Category {
  TokenEmbd, Output, AttentionQkv, AttentionKvB, AttentionV, AttentionK, AttentionQ, AttentionOutput,
  FfnUp, FfnGate, FfnDown, Other,
};

// tensor_get_category: broad roles by name, in this order (attn_qkv before attn_q, ...).
Category category_of(const std::string& name) {
  if (name == "output.weight") return Category::Output;
  if (name == "token_embd.weight" || name == "per_layer_token_embd.weight") return Category::TokenEmbd;
  if (contains(name, "attn_qkv.weight")) return Category::AttentionQkv;
  if (contains(name, "attn_kv_b.weight")) return Category::AttentionKvB;
  if (contains(name, "attn_v.weight")) return Category::AttentionV;
  if (contains(name, "attn_k.weight")) return Category::AttentionK;
  if (contains(name, "attn_q.weight")) return Category::AttentionQ;
  if (contains(name, "attn_output.weight")) return Category::AttentionOutput;
  if (contains(name, "ffn_up")) return Category::FfnUp;
  if (contains(name, "ffn_gate")) return Category::FfnGate;
  if (contains(name, "ffn_down")) return Category::FfnDown;
  return Category::Other;
}

bool is_attn_v_like(Category c) {
  return c == Category::AttentionV || c == Category::AttentionQkv || c == Category::AttentionKvB;
}

// ggml_n_dims: dimensions up to the last one that is not 1.
int n_dims(const std::vector<uint64_t>& shape) {
  int n = 1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] != 1) n = static_cast<int>(i) + 1;
  }
  return n;
}

// tensor_allows_quantization: matrices named *weight, but not norms, routers, the
// DeepSeek V4 token -> expert table, Gemma 4's per-layer projection and a few small tables.
bool allows_quantization(const TensorSpec& t) {
  if (n_dims(t.shape) < 2) return false;
  const std::string& name = t.name;
  if (name.size() < 6 || name.compare(name.size() - 6, 6, "weight") != 0) return false;
  for (const char* kept : {"_norm.weight", "ffn_gate_inp.weight", "ffn_gate_tid2eid.weight", "altup", "laurel",
                           "per_layer_model_proj", "ssm_conv1d", "shortconv.conv.weight", "indexer.k_proj.weight",
                           "indexer.q_proj.weight", "attn_rel_b.weight", ".position_embd", ".rel_pos",
                           ".patch_embd", ".patch_merger"}) {
    if (contains(name, kept)) return false;
  }
  return name != "position_embd.weight" && name != "token_types.weight";
}

// The block a tensor belongs to, from "blk.N." (-1 outside the blocks), as llama.cpp parses it.
int layer_of(const std::string& name) {
  int layer = -1;
  std::sscanf(name.c_str(), "blk.%d.", &layer);
  return layer;
}

// What llama_tensor_get_type_impl reads of the model and keeps while walking the tensors.
struct QuantizeState {
  uint32_t ftype = 0;
  int n_gqa = 0, n_expert = 0, n_layer = 0;
  bool tied_embeddings = true;  // until an output.weight is seen
  int n_attention_wv = 0, i_attention_wv = 0, i_ffn_down = 0, i_ffn_gate = 0, i_ffn_up = 0;
};

bool use_more_bits(int i_layer, int n_layers) {
  return i_layer < n_layers / 8 || i_layer >= 7 * n_layers / 8 || (i_layer - n_layers / 8) % 3 == 2;
}

bool ftype_in(uint32_t f, std::initializer_list<uint32_t> set) {
  return std::find(set.begin(), set.end(), f) != set.end();
}

// (layer, layer count) for the ffn counters: MoE models name the layer, dense ones count.
std::pair<int, int> layer_info(const QuantizeState& qs, int counter, const std::string& name) {
  if (qs.n_expert > 1) {
    const int layer = layer_of(name);
    if (layer < 0 || layer >= qs.n_layer) throw Error("quantize: cannot determine the layer of tensor " + name);
    return {layer, qs.n_layer};
  }
  return {counter, qs.n_layer};
}

// llama_tensor_get_type_impl.
G choose_type(QuantizeState& qs, G new_type, const TensorSpec& t, Category category) {
  const uint32_t ftype = qs.ftype;
  const std::string& name = t.name;
  const uint64_t nx = t.shape.at(0);
  const uint64_t ne2 = t.shape.size() > 2 ? t.shape[2] : 1;
  const bool iq_low = ftype_in(ftype, {IQ2_XXS, IQ2_XS, IQ1_S, IQ2_S, IQ2_M, IQ1_M});

  if (category == Category::Output || (qs.tied_embeddings && category == Category::TokenEmbd)) {
    const uint64_t qk_k = ggml_type_info(new_type)->block_size;
    if (ftype == MXFP4_MOE) {
      new_type = G::Q8_0;
    } else if (nx % qk_k != 0) {
      new_type = G::Q8_0;
    } else if (ftype_in(ftype, {IQ2_XXS, IQ2_XS, IQ3_XXS, IQ1_S, IQ2_S, IQ2_M, IQ1_M})) {
      new_type = G::Q5_K;
    } else if (new_type != G::Q8_0) {
      new_type = G::Q6_K;
    }
  } else if (ftype == MXFP4_MOE) {
    new_type = ne2 > 1 ? G::MXFP4 : G::Q8_0;  // expert tensors MXFP4, the rest Q8_0
  } else if (category == Category::TokenEmbd) {
    if (ftype_in(ftype, {IQ2_XXS, IQ2_XS, IQ1_S, IQ1_M})) {
      new_type = G::Q2_K;
    } else if (ftype_in(ftype, {IQ2_S, IQ2_M, IQ3_XXS})) {
      new_type = G::IQ3_S;
    }
  } else if (iq_low) {
    if (is_attn_v_like(category)) {
      if (qs.n_gqa >= 4 || qs.n_expert >= 4) new_type = G::Q4_K;
      else new_type = ftype_in(ftype, {IQ2_S, IQ2_M}) ? G::IQ3_S : G::Q2_K;
      ++qs.i_attention_wv;
    } else if (qs.n_expert == 8 && category == Category::AttentionK) {
      new_type = G::Q4_K;
    } else if (category == Category::FfnDown) {
      if (qs.i_ffn_down < qs.n_layer / 8) new_type = ftype_in(ftype, {IQ2_S, IQ2_M}) ? G::IQ3_S : G::Q2_K;
      ++qs.i_ffn_down;
    } else if (category == Category::AttentionOutput) {
      if (qs.n_expert == 8) {
        new_type = G::Q5_K;
      } else if (ftype_in(ftype, {IQ1_S, IQ1_M})) {
        new_type = G::IQ2_XXS;
      } else if (ftype_in(ftype, {IQ2_S, IQ2_M})) {
        new_type = G::IQ3_S;
      }
    }
  } else if (is_attn_v_like(category)) {
    const bool has_imatrix = false;  // the writer has no importance matrix
    if (ftype == Q2_K) {
      new_type = qs.n_gqa >= 4 ? G::Q4_K : G::Q3_K;
    } else if (ftype == Q2_K_S && qs.n_gqa >= 4) {
      new_type = G::Q4_K;
    } else if (ftype == IQ3_XXS) {
      new_type = qs.n_gqa >= 4 ? G::Q4_K : !has_imatrix ? G::IQ3_S : G::IQ3_XXS;
    } else if (ftype_in(ftype, {IQ3_XS, IQ3_S}) && qs.n_gqa >= 4) {
      new_type = G::Q4_K;
    } else if (ftype == IQ3_M) {
      new_type = G::Q4_K;
    } else if (ftype == Q3_K_M) {
      new_type = qs.i_attention_wv < 2 ? G::Q5_K : G::Q4_K;
    } else if (ftype == Q3_K_L) {
      new_type = G::Q5_K;
    } else if (ftype_in(ftype, {IQ4_NL, IQ4_XS}) && qs.n_gqa >= 4) {
      new_type = G::Q5_K;
    } else if (ftype_in(ftype, {Q4_K_M, Q5_K_M}) && use_more_bits(qs.i_attention_wv, qs.n_attention_wv)) {
      new_type = G::Q6_K;
    } else if (ftype == Q4_K_S && qs.i_attention_wv < 4) {
      new_type = G::Q5_K;
    }
    if (qs.n_expert == 8) new_type = G::Q8_0;  // "for the 8-expert model, bumping this to Q8_0 trades just ~128MB"
    ++qs.i_attention_wv;
  } else if (category == Category::AttentionK) {
    if (qs.n_expert == 8) {
      new_type = G::Q8_0;
    } else if (ftype == IQ3_XS) {
      new_type = G::IQ3_XXS;
    } else if (ftype == IQ3_XXS) {
      new_type = G::IQ2_S;
    }
  } else if (category == Category::AttentionQ) {
    if (ftype == IQ3_XS) {
      new_type = G::IQ3_XXS;
    } else if (ftype == IQ3_XXS) {
      new_type = G::IQ2_S;
    }
  } else if (category == Category::FfnDown) {
    const auto [i_layer, n_layer] = layer_info(qs, qs.i_ffn_down, name);
    if (ftype == Q2_K) {
      new_type = G::Q3_K;
    } else if (ftype == Q2_K_S) {
      if (i_layer < n_layer / 8) new_type = G::Q4_K;
    } else if (ftype == IQ3_XXS) {  // (without an importance matrix)
      new_type = i_layer < n_layer / 8 ? G::Q4_K : G::Q3_K;
    } else if (ftype == Q3_K_M) {
      new_type = i_layer < n_layer / 16 ? G::Q5_K : G::Q4_K;
    } else if (ftype == IQ3_M && (i_layer < n_layer / 8 || (qs.n_expert == 8 && use_more_bits(i_layer, n_layer)))) {
      new_type = G::Q4_K;
    } else if (ftype == Q3_K_L) {
      new_type = G::Q5_K;
    } else if (ftype == Q4_K_M) {
      if (use_more_bits(i_layer, n_layer)) new_type = G::Q6_K;
    } else if (i_layer < n_layer / 8 && ftype_in(ftype, {IQ4_NL, IQ4_XS})) {  // (without an importance matrix)
      new_type = G::Q5_K;
    } else if (ftype == Q5_K_M && use_more_bits(i_layer, n_layer)) {
      new_type = G::Q6_K;
    } else if (ftype == Q4_K_S && i_layer < n_layer / 8) {
      new_type = G::Q5_K;
    }
    ++qs.i_ffn_down;
  } else if (category == Category::AttentionOutput) {
    if (qs.n_expert == 8) {
      if (ftype_in(ftype, {Q2_K, IQ3_XS, IQ3_XXS, Q3_K_S, Q3_K_M, IQ4_NL, Q4_K_S, Q4_K_M, IQ3_S, IQ3_M, IQ4_XS})) {
        new_type = G::Q5_K;
      }
    } else if (ftype == Q2_K) {
      new_type = G::Q3_K;
    } else if (ftype == IQ3_XXS) {
      new_type = G::IQ3_S;
    } else if (ftype == Q3_K_M) {
      new_type = G::Q4_K;
    } else if (ftype == Q3_K_L) {
      new_type = G::Q5_K;
    } else if (ftype == IQ3_M) {
      new_type = G::Q4_K;
    }
  } else if (category == Category::AttentionQkv) {
    if (ftype_in(ftype, {Q3_K_M, Q3_K_L, IQ3_M})) {
      new_type = G::Q4_K;
    } else if (ftype == Q4_K_M) {
      new_type = G::Q5_K;
    } else if (ftype == Q5_K_M) {
      new_type = G::Q6_K;
    }
  } else if (category == Category::FfnGate || category == Category::FfnUp) {
    int& counter = category == Category::FfnGate ? qs.i_ffn_gate : qs.i_ffn_up;
    const auto [i_layer, n_layer] = layer_info(qs, counter, name);
    if (ftype == IQ3_XS && i_layer >= n_layer / 8 && i_layer < 7 * n_layer / 8) new_type = G::IQ3_XXS;
    ++counter;
  }
  return new_type;
}

// tensor_type_fallback: a type whose blocks do not divide the row falls back to one of 32.
G fallback(const TensorSpec& t, G target) {
  const uint64_t cols = t.shape.at(0);
  if (cols % ggml_type_info(target)->block_size == 0) return target;
  G type = target;
  switch (target) {
    case G::IQ1_S: case G::IQ1_M: case G::IQ2_XXS: case G::IQ2_XS: case G::IQ2_S: case G::IQ3_XXS: case G::IQ3_S:
    case G::IQ4_XS: type = G::IQ4_NL; break;
    case G::Q2_K: case G::Q3_K: type = G::Q4_0; break;
    case G::Q4_K: type = G::Q5_0; break;
    case G::Q5_K: type = G::Q5_1; break;
    case G::Q6_K: type = G::Q8_0; break;
    default: break;  // already a 32-block type: F16 below
  }
  return cols % ggml_type_info(type)->block_size == 0 ? type : G::F16;
}

bool is_quantized(G type) { return ggml_type_info(type)->block_size > 1; }

}  // namespace

const std::vector<FileType>& file_types() {
  static const std::vector<FileType> types = {
      {"Q4_0", Q4_0, G::Q4_0},          {"Q4_1", Q4_1, G::Q4_1},         {"MXFP4_MOE", MXFP4_MOE, G::MXFP4},
      {"Q5_0", Q5_0, G::Q5_0},          {"Q5_1", Q5_1, G::Q5_1},         {"IQ2_XXS", IQ2_XXS, G::IQ2_XXS},
      {"IQ2_XS", IQ2_XS, G::IQ2_XS},    {"IQ2_S", IQ2_S, G::IQ2_XS},     {"IQ2_M", IQ2_M, G::IQ2_S},
      {"IQ1_S", IQ1_S, G::IQ1_S},       {"IQ1_M", IQ1_M, G::IQ1_M},      {"Q2_K", Q2_K, G::Q2_K},
      {"Q2_K_S", Q2_K_S, G::Q2_K},      {"IQ3_XXS", IQ3_XXS, G::IQ3_XXS}, {"IQ3_S", IQ3_S, G::IQ3_S},
      {"IQ3_M", IQ3_M, G::IQ3_S},       {"Q3_K", Q3_K_M, G::Q3_K},       {"IQ3_XS", IQ3_XS, G::IQ3_S},
      {"Q3_K_S", Q3_K_S, G::Q3_K},      {"Q3_K_M", Q3_K_M, G::Q3_K},     {"Q3_K_L", Q3_K_L, G::Q3_K},
      {"IQ4_NL", IQ4_NL, G::IQ4_NL},    {"IQ4_XS", IQ4_XS, G::IQ4_XS},   {"Q4_K", Q4_K_M, G::Q4_K},
      {"Q4_K_S", Q4_K_S, G::Q4_K},      {"Q4_K_M", Q4_K_M, G::Q4_K},     {"Q5_K", Q5_K_M, G::Q5_K},
      {"Q5_K_S", Q5_K_S, G::Q5_K},      {"Q5_K_M", Q5_K_M, G::Q5_K},     {"Q6_K", Q6_K, G::Q6_K},
      {"Q8_0", Q8_0, G::Q8_0},          {"F16", F16, G::F16},            {"BF16", BF16, G::BF16},
      {"F32", ALL_F32, G::F32},
  };
  return types;
}

const FileType* find_file_type(const std::string& name) {
  for (const FileType& f : file_types()) {
    if (equal_ignoring_case(f.name, name)) return &f;
  }
  return nullptr;
}

std::vector<GgmlType> quantized_tensor_types(const ModelSpec& spec, const std::vector<TensorSpec>& tensors,
                                             const std::vector<GgmlType>& source_types, const FileType& file_type,
                                             bool pure) {
  if (source_types.size() != tensors.size()) throw Error("quantize: one source type per tensor is needed");
  QuantizeState qs;
  qs.ftype = file_type.id;
  qs.n_layer = spec.layer_count();
  if (!spec.layers.empty() && spec.layers[0].kv_heads > 0) qs.n_gqa = spec.layers[0].q_heads / spec.layers[0].kv_heads;
  for (const LayerSpec& l : spec.layers) qs.n_expert = std::max(qs.n_expert, l.ffn.experts);
  if (qs.n_expert <= 1) qs.n_expert = 0;

  // llama.cpp's order: by layer (tensors outside the blocks first), then by name.
  std::vector<size_t> order(tensors.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const int la = layer_of(tensors[a].name), lb = layer_of(tensors[b].name);
    return la != lb ? la < lb : tensors[a].name < tensors[b].name;
  });
  for (const TensorSpec& t : tensors) {
    const Category c = category_of(t.name);
    if (is_attn_v_like(c)) ++qs.n_attention_wv;
    if (c == Category::Output) qs.tied_embeddings = false;
  }

  std::vector<GgmlType> types(source_types);
  for (size_t i : order) {
    const TensorSpec& t = tensors[i];
    if (!allows_quantization(t)) continue;
    G type = file_type.default_type;
    if (is_quantized(type)) {
      if (!pure) type = choose_type(qs, type, t, category_of(t.name));
      type = fallback(t, type);
    }
    types[i] = type;
  }
  return types;
}

}  // namespace archscope
