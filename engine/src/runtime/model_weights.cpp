#include "runtime/model_weights.h"

#include <filesystem>

#include "archscope/error.h"
#include "reference/ops.h"
#include "spec/architecture.h"

namespace archscope {

namespace {

std::string shape_text(const std::vector<uint64_t>& shape) {
  std::string s = "[";
  for (size_t i = 0; i < shape.size(); ++i) s += (i ? ", " : "") + std::to_string(shape[i]);
  return s + "]";
}

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// DeepSeek V4's hash-routing table: I32 expert ids, one row per token, that index the
// expert weights directly, so each one must name an expert of its layer.
void check_expert_ids(const std::string& path, const std::string& name, const GgufTensor& t, int experts) {
  if (t.type != GgmlType::I32) throw Error(path + ": tensor " + name + " must hold i32 expert ids");
  const auto* ids = reinterpret_cast<const int32_t*>(t.data);
  for (uint64_t i = 0; i < t.bytes / sizeof(int32_t); ++i) {
    if (ids[i] < 0 || ids[i] >= experts) {
      throw Error(path + ": tensor " + name + " holds expert id " + std::to_string(ids[i]) + " (token " +
                  std::to_string(i / t.shape[0]) + "), outside the " + std::to_string(experts) + " experts");
    }
  }
}

std::string without_suffix(const std::string& name) {
  const std::string suffix = ".weight";
  return name.size() > suffix.size() && ends_with(name, suffix) ? name.substr(0, name.size() - suffix.size()) : name;
}

}  // namespace

ModelWeights::ModelWeights(const GgufFile& file, const ModelSpec& spec) {
  path_ = std::filesystem::path(file.path()).filename().string();
  const Architecture* arch = find_architecture_by_gguf(spec.architecture);
  if (!arch || !arch->tensors) throw Error(path_ + ": archscope cannot run architecture \"" + spec.architecture + "\" yet");

  for (const TensorSpec& expected : arch->tensors(spec)) {
    const GgufTensor* t = file.find_tensor(expected.name);
    if (!t) throw Error(path_ + ": missing tensor " + expected.name);
    if (t->shape != expected.shape) {
      throw Error(path_ + ": tensor " + expected.name + " has shape " + shape_text(t->shape) + ", expected " +
                  shape_text(expected.shape));
    }
    // Vectors (norms, scales, factors) are read as f32 by every backend; matrices are
    // dequantized in the matmul.
    if (ends_with(expected.name, ".ffn_gate_tid2eid.weight")) {
      check_expert_ids(path_, expected.name, *t, spec.layers.at(expected.layer).ffn.experts);
    } else if (t->type == GgmlType::I32 || !reference::is_supported_weight_type(t->type)) {
      const GgmlTypeInfo* info = ggml_type_info(t->type);
      throw Error(path_ + ": tensor " + expected.name + " has type " + (info ? info->name : "?") +
                  ", which archscope cannot run (supported: " + reference::supported_weight_type_names() + ")");
    }
    WeightDesc w;
    w.name = without_suffix(expected.name);
    w.type = t->type;
    w.cols = static_cast<int64_t>(t->shape[0]);
    w.rows = t->shape.size() > 1 ? static_cast<int64_t>(t->shape[1]) : 1;
    w.experts = t->shape.size() > 2 ? static_cast<int64_t>(t->shape[2]) : 1;
    w.row_bytes = ggml_bytes(t->type, t->shape[0]).value_or(0);
    w.data = t->data;
    if (w.name == "per_layer_token_embd") w.placement = spec.ple_table;
    index_[w.name] = static_cast<int>(weights_.size());
    weights_.push_back(std::move(w));
  }
}

int ModelWeights::find(const std::string& name) const {
  auto it = index_.find(name);
  return it == index_.end() ? -1 : it->second;
}

int ModelWeights::get(const std::string& name) const {
  const int id = find(name);
  if (id < 0) throw Error(path_ + ": missing tensor " + name + ".weight");
  return id;
}

}  // namespace archscope
