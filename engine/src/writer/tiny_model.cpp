// write_tiny_model: a family's plan (writer/<family>_writer.cpp) plus the spec registry's
// tensor list, filled with random weights and written as GGUF.
#include <algorithm>
#include <map>

#include "archscope/error.h"
#include "archscope/model_writer.h"
#include "spec/architecture.h"
#include "writer/quantize_mix.h"
#include "writer/tiny_model.h"

namespace archscope {

const std::vector<const TinyArchitectureWriter*>& tiny_architecture_writers() {
  static const std::vector<const TinyArchitectureWriter*> registry = {
      &kLlamaTinyWriter, &kQwen3TinyWriter, &kLagunaTinyWriter, &kGemma4TinyWriter, &kDeepseek4TinyWriter};
  return registry;
}

namespace {

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

const TinyArchitectureWriter& find_writer(const std::string& arch) {
  for (const TinyArchitectureWriter* w : tiny_architecture_writers()) {
    if (w->gguf_name == arch) return *w;
  }
  throw Error("tiny model: unknown architecture \"" + arch + "\" (known: " + joined(tiny_model_architectures()) + ")");
}

// The full plan for options: the family's spec and vocabulary, the registry's tensors
// with the types and sizes they are stored with.
TinyModelPlan make_plan(const TinyModelOptions& options) {
  const TinyArchitectureWriter& writer = find_writer(options.arch);
  if (std::find(writer.presets.begin(), writer.presets.end(), options.preset) == writer.presets.end()) {
    throw Error("tiny model: " + options.arch + " has no preset \"" + options.preset + "\" (known: " +
                joined(writer.presets) + ")");
  }
  tiny_file_type(options.type);  // (throws for an unknown one)
  const Architecture* arch = find_architecture_by_gguf(options.arch);
  if (!arch || !arch->tensors) throw Error("tiny model: no tensor list for architecture \"" + options.arch + "\"");

  TinyModelPlan plan = writer.plan(options.preset);
  ModelSpec& spec = plan.spec;
  spec.architecture = options.arch;
  spec.source = SourceKind::Gguf;
  spec.vocab = static_cast<int>(plan.vocab.tokens.size());
  spec.tensors = arch->tensors(spec);
  std::map<std::string, uint64_t> bytes_by_type;
  const std::vector<GgmlType> types = tiny_tensor_types(spec, options.type);
  for (size_t i = 0; i < spec.tensors.size(); ++i) {
    TensorSpec& t = spec.tensors[i];
    const GgmlType type = types[i];
    uint64_t n = 1;
    for (uint64_t d : t.shape) n *= d;
    t.ggml_type = static_cast<uint32_t>(type);
    t.bytes = ggml_bytes(type, n).value_or(0);
    bytes_by_type[ggml_type_info(type)->name] += t.bytes;
  }
  spec.weights_present = true;
  auto top = std::max_element(bytes_by_type.begin(), bytes_by_type.end(),
                              [](const auto& a, const auto& b) { return a.second < b.second; });
  spec.weight_type = top == bytes_by_type.end() ? std::string() : top->first;
  return plan;
}

}  // namespace

std::vector<std::string> tiny_model_architectures() {
  std::vector<std::string> names;
  for (const TinyArchitectureWriter* w : tiny_architecture_writers()) names.push_back(w->gguf_name);
  return names;
}

std::vector<std::string> tiny_model_presets(const std::string& arch) { return find_writer(arch).presets; }

ModelSpec tiny_model_spec(const TinyModelOptions& options) { return make_plan(options).spec; }

void write_tiny_model(const TinyModelOptions& options, const std::string& path) {
  const TinyModelPlan plan = make_plan(options);
  const ModelSpec& spec = plan.spec;

  GgufWriter w;
  // The general.* keys llama.cpp's converter writes, then the family's own.
  w.set_string("general.architecture", spec.architecture);
  w.set_string("general.type", "model");
  w.set_string("general.name", spec.name);
  find_writer(options.arch).write_metadata(spec, w);
  w.set_u32("general.file_type", tiny_file_type(options.type).id);
  w.set_u32("general.quantization_version", 2);  // GGML_QNT_VERSION
  plan.vocab.write_to(w);

  for (const TensorSpec& t : spec.tensors) {
    const GgmlType type = static_cast<GgmlType>(t.ggml_type);
    w.add_tensor(t.name, t.shape, type, encode_tensor(tiny_tensor_values(t, spec, options.seed), t.shape, type));
  }
  w.write(path);
}

}  // namespace archscope
