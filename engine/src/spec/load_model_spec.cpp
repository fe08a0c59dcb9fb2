// Turns a path (GGUF file, Hugging Face folder, model card) into a validated ModelSpec.
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <cctype>
#include <cstring>

#include "archscope/gguf.h"
#include "archscope/model_loader.h"
#include "archscope/safetensors.h"
#include "spec/architecture.h"
#include "spec/side_files.h"

namespace archscope {

namespace fs = std::filesystem;

namespace {

std::string file_name(const std::string& path) { return fs::path(path).filename().string(); }

// The block index in "blk.3.attn_q.weight" or "model.layers.3.mlp.up_proj.weight"; -1 if none.
int layer_of(const std::string& tensor_name) {
  for (const char* marker : {"blk.", "layers.", "h."}) {
    for (size_t at = tensor_name.find(marker); at != std::string::npos; at = tensor_name.find(marker, at + 1)) {
      if (at != 0 && tensor_name[at - 1] != '.') continue;
      size_t i = at + std::strlen(marker), digits = 0;
      int value = 0;
      while (i < tensor_name.size() && std::isdigit(static_cast<unsigned char>(tensor_name[i])) && digits < 6) {
        value = value * 10 + (tensor_name[i++] - '0');
        ++digits;
      }
      if (digits > 0 && i < tensor_name.size() && tensor_name[i] == '.') return value;
    }
  }
  return -1;
}

// The type holding most of the weight bytes names the model's weight type.
std::string dominant_type(const std::map<std::string, uint64_t>& bytes_by_type) {
  auto top = std::max_element(bytes_by_type.begin(), bytes_by_type.end(),
                              [](const auto& a, const auto& b) { return a.second < b.second; });
  return top == bytes_by_type.end() ? std::string() : top->first;
}

std::string ggml_name(uint32_t type) {
  const GgmlTypeInfo* info = ggml_type_info(type);
  return info ? info->name : "?";
}

nlohmann::json read_json(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(file_name(path) + ": cannot open");
  in.seekg(0, std::ios::end);
  if (in.tellg() > std::streamoff(64 << 20)) throw Error(file_name(path) + ": too large for a config (over 64 MiB)");
  in.seekg(0);
  try {
    return nlohmann::json::parse(in);
  } catch (const nlohmann::json::exception& e) {
    throw Error(file_name(path) + ": not valid JSON (" + e.what() + ")");
  }
}

// A card or config.json's checkpoint dtype decides the card's weight bytes.
GgmlType config_weight_type(const ConfigReader& config) {
  std::string dtype = config.text_or("torch_dtype", config.text_or("dtype", "bfloat16"));
  if (dtype == "float32") return GgmlType::F32;
  if (dtype == "float16") return GgmlType::F16;
  return GgmlType::BF16;
}

ModelSpec spec_from_gguf(const std::string& path) {
  GgufFile file = GgufFile::open(path);
  if (const std::optional<std::string> side_file = describe_side_file(file)) throw Error(file_name(path) + ": " + *side_file);
  const std::string arch_name = file.architecture();
  const Architecture* arch = find_architecture_by_gguf(arch_name);
  if (!arch) throw Error(file_name(path) + ": unknown architecture \"" + arch_name + "\"");

  ModelSpec spec;
  spec.architecture = arch->gguf_name;
  spec.source = SourceKind::Gguf;
  spec.source_path = path;
  arch->from_gguf(GgufMetadataReader(file, arch_name), spec);
  for (const GgufTensor& t : file.tensors()) {
    spec.tensors.push_back({t.name, t.shape, static_cast<uint32_t>(t.type), t.bytes, layer_of(t.name), classify_tensor(t.name)});
  }
  spec.weights_present = true;
  std::map<std::string, uint64_t> bytes_by_type;
  for (const TensorSpec& t : spec.tensors) bytes_by_type[ggml_name(t.ggml_type)] += t.bytes;
  spec.weight_type = dominant_type(bytes_by_type);
  return spec;
}

// A config.json (folder or card): the architecture's tensor list at the checkpoint dtype,
// replaced by the real safetensors table when the folder has one.
ModelSpec spec_from_config(const std::string& config_path, const std::string& folder, SourceKind source) {
  const nlohmann::json json = read_json(config_path);
  ConfigReader config(json, config_path);
  std::string model_type = config.text_or("model_type", "");
  if (model_type.empty() && json.is_object()) model_type = json.value("model_type", "");
  const Architecture* arch = find_architecture_by_model_type(model_type);
  if (!arch && json.contains("model_type") && json["model_type"].is_string()) {
    arch = find_architecture_by_model_type(json["model_type"].get<std::string>());
  }
  if (!arch || !arch->from_config) {
    throw Error(file_name(config_path) + ": unknown model_type \"" + model_type + "\"");
  }

  ModelSpec spec;
  spec.architecture = arch->gguf_name;
  spec.source = source;
  spec.source_path = folder.empty() ? config_path : folder;
  arch->from_config(config, spec);
  if (spec.name.empty()) {
    std::string name = json.is_object() ? json.value("_name_or_path", std::string()) : std::string();
    spec.name = !name.empty() ? name : fs::path(folder.empty() ? config_path : folder).stem().string();
  }

  const bool has_safetensors = !folder.empty() && (fs::exists(fs::path(folder) / "model.safetensors") ||
                                                   fs::exists(fs::path(folder) / "model.safetensors.index.json"));
  std::map<std::string, uint64_t> bytes_by_type;
  if (has_safetensors) {
    SafetensorsModel weights = SafetensorsModel::open(folder);
    for (const SafetensorsTensor& t : weights.tensors()) {
      std::vector<uint64_t> shape(t.shape.rbegin(), t.shape.rend());  // to ggml order
      // Types ggml lacks (F8, F4) keep their own name; ggml_type then only says "not a float".
      const GgmlType type = to_ggml_type(t.dtype).value_or(GgmlType::I8);
      spec.tensors.push_back({t.name, shape, static_cast<uint32_t>(type), t.bytes, layer_of(t.name), classify_tensor(t.name)});
      bytes_by_type[to_string(t.dtype)] += t.bytes;
    }
    spec.weights_present = true;
  } else {
    const GgmlType type = config_weight_type(config);
    spec.tensors = arch->tensors(spec);
    for (TensorSpec& t : spec.tensors) {
      uint64_t elements = 1;
      for (uint64_t dim : t.shape) elements *= dim;
      t.ggml_type = static_cast<uint32_t>(type);
      t.bytes = ggml_bytes(type, elements).value_or(0);
      bytes_by_type[ggml_name(t.ggml_type)] += t.bytes;
    }
  }
  spec.weight_type = dominant_type(bytes_by_type);
  return spec;
}

bool starts_with_gguf_magic(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  char magic[4] = {};
  return in.read(magic, 4) && std::string(magic, 4) == "GGUF";
}

}  // namespace

void validate_model_spec(const ModelSpec& spec) {
  const std::string where = file_name(spec.source_path) + ": ";
  auto fail = [&](const std::string& problem) { throw Error(where + problem); };
  if (spec.layers.empty()) fail("the model has no layers");
  if (spec.hidden <= 0) fail("hidden size must be positive");
  if (spec.vocab <= 0) fail("vocabulary size must be positive");
  for (const LayerSpec& l : spec.layers) {
    const std::string at = "layer " + std::to_string(l.index) + ": ";
    if (l.q_heads <= 0) fail(at + "needs at least one query head");
    if (l.kv_heads <= 0) fail(at + "needs at least one KV head");
    if (l.q_heads % l.kv_heads != 0) {
      fail(at + std::to_string(l.q_heads) + " query heads do not divide into " + std::to_string(l.kv_heads) + " KV heads");
    }
    if (l.head_dim_k <= 0 || l.head_dim_v <= 0) fail(at + "head dims must be positive");
    if (l.rope.rotary_dims < 0 || l.rope.rotary_dims > l.head_dim_k) {
      fail(at + "rotates " + std::to_string(l.rope.rotary_dims) + " dims of a " + std::to_string(l.head_dim_k) + "-dim head");
    }
    if (l.attention == AttentionKind::Sliding && l.window <= 0) fail(at + "is sliding but has no window");
    if ((l.attention == AttentionKind::Csa || l.attention == AttentionKind::Hca) && l.compress_ratio <= 0) {
      fail(at + "is compressed attention without a compression ratio");
    }
    if (l.kv_source < 0 || l.kv_source > l.index) {
      fail(at + "reads the cache of layer " + std::to_string(l.kv_source) + ", which does not come before it");
    }
    const LayerSpec& source = spec.layers[l.kv_source];
    if (!source.owns_cache()) fail(at + "reads layer " + std::to_string(l.kv_source) + ", which owns no cache");
    if (source.head_dim_k != l.head_dim_k || source.head_dim_v != l.head_dim_v || source.kv_heads != l.kv_heads) {
      fail(at + "reads layer " + std::to_string(l.kv_source) + "'s cache, whose KV heads or head dims differ");
    }
    if (l.ffn.kind == FfnKind::Moe && (l.ffn.experts <= 0 || l.ffn.active_experts <= 0 || l.ffn.active_experts > l.ffn.experts)) {
      fail(at + "selects " + std::to_string(l.ffn.active_experts) + " of " + std::to_string(l.ffn.experts) + " experts");
    }
  }
}

Result<ModelSpec> load_model_spec(const std::string& path) {
  return capture([&] {
    std::error_code ec;
    const fs::file_status status = fs::status(path, ec);
    if (ec || !fs::exists(status)) throw Error(path + ": no such file or folder");
    ModelSpec spec;
    if (fs::is_directory(status)) {
      const std::string config = (fs::path(path) / "config.json").string();
      if (!fs::exists(config)) throw Error(path + ": folder has no config.json");
      spec = spec_from_config(config, path, SourceKind::HfFolder);
    } else if (starts_with_gguf_magic(path)) {
      spec = spec_from_gguf(path);
    } else if (fs::path(path).extension() == ".json") {
      spec = spec_from_config(path, "", SourceKind::Card);
    } else {
      throw Error(file_name(path) + ": not a GGUF file, model folder or .json card");
    }
    validate_model_spec(spec);
    return spec;
  });
}

}  // namespace archscope
