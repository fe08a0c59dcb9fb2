// write_tiny_model: a family's plan (writer/<family>_writer.cpp) plus the spec registry's
// tensor list, filled with random weights and written as GGUF.
#include <algorithm>
#include <map>

#include "archscope/error.h"
#include "archscope/model_loader.h"
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

std::vector<std::string> preset_names(const TinyArchitectureWriter& writer) {
  std::vector<std::string> names = writer.presets;
  for (const PublishedPreset& p : writer.published) names.push_back(p.preset);
  return names;
}

// A vocabulary of exactly `size` tokens for a published-size preset: the one in
// `vocab_file` (a GGUF file's tokenizer, e.g. llama.cpp's ggml-vocab-gemma-4.gguf), or the
// family's small vocabulary padded with unused tokens, which text never produces.
Vocabulary published_vocab(Vocabulary small, int size, const std::string& vocab_file) {
  if (!vocab_file.empty()) {
    Vocabulary vocab = Tokenizer::from_gguf(GgufFile::open(vocab_file)).vocabulary();
    if (static_cast<int>(vocab.tokens.size()) != size) {
      throw Error("tiny model: " + vocab_file + " holds " + std::to_string(vocab.tokens.size()) +
                  " tokens, the model has " + std::to_string(size));
    }
    if (vocab.chat_template.empty()) vocab.chat_template = small.chat_template;
    return vocab;
  }
  if (static_cast<int>(small.tokens.size()) > size) throw Error("tiny model: a vocabulary of " + std::to_string(size) + " tokens is too small");
  if (small.token_types.empty()) small.token_types.assign(small.tokens.size(), TokenType::Normal);
  for (int id = static_cast<int>(small.tokens.size()); id < size; ++id) {
    small.tokens.push_back("<unused" + std::to_string(id) + ">");
    small.token_types.push_back(TokenType::Unused);
    if (!small.scores.empty()) small.scores.push_back(0.0f);
  }
  return small;
}

// The plan of a published-size preset: the card's spec (models/cards), the family's
// vocabulary grown to the card's size.
TinyModelPlan published_plan(const TinyArchitectureWriter& writer, const PublishedPreset& preset,
                             const TinyModelOptions& options) {
  const std::string card = std::string(ARCHSCOPE_CARDS_DIR) + "/" + preset.card;
  Result<ModelSpec> spec = load_model_spec(card);
  if (!spec) throw spec.error();
  TinyModelPlan plan{std::move(spec.value()), {}};
  plan.spec.name = "archscope " + preset.preset + " (random weights, " + plan.spec.name + " dimensions)";
  plan.vocab = published_vocab(writer.plan(writer.presets.front()).vocab, plan.spec.vocab, options.vocab_file);
  return plan;
}

// The full plan for options: the family's spec and vocabulary, the registry's tensors
// with the types and sizes they are stored with.
TinyModelPlan make_plan(const TinyModelOptions& options) {
  const TinyArchitectureWriter& writer = find_writer(options.arch);
  const std::vector<std::string> presets = preset_names(writer);
  if (std::find(presets.begin(), presets.end(), options.preset) == presets.end()) {
    throw Error("tiny model: " + options.arch + " has no preset \"" + options.preset + "\" (known: " +
                joined(presets) + ")");
  }
  tiny_file_type(options.type);  // (throws for an unknown one)
  const Architecture* arch = find_architecture_by_gguf(options.arch);
  if (!arch || !arch->tensors) throw Error("tiny model: no tensor list for architecture \"" + options.arch + "\"");

  const auto published = std::find_if(writer.published.begin(), writer.published.end(),
                                      [&](const PublishedPreset& p) { return p.preset == options.preset; });
  if (published == writer.published.end() && !options.vocab_file.empty()) {
    throw Error("tiny model: a vocabulary file only goes with the published-size presets");
  }
  TinyModelPlan plan = published != writer.published.end() ? published_plan(writer, *published, options)
                                                            : writer.plan(options.preset);
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

std::vector<std::string> tiny_model_presets(const std::string& arch) { return preset_names(find_writer(arch)); }

ModelSpec tiny_model_spec(const TinyModelOptions& options) { return make_plan(options).spec; }

ModelSpec write_tiny_model_metadata(const TinyModelOptions& options, GgufWriter& w) {
  TinyModelPlan plan = make_plan(options);
  const ModelSpec& spec = plan.spec;
  // The general.* keys llama.cpp's converter writes, then the family's own.
  w.set_string("general.architecture", spec.architecture);
  w.set_string("general.type", "model");
  w.set_string("general.name", spec.name);
  find_writer(options.arch).write_metadata(spec, w);
  w.set_u32("general.file_type", tiny_file_type(options.type).id);
  w.set_u32("general.quantization_version", 2);  // GGML_QNT_VERSION
  plan.vocab.write_to(w);
  return std::move(plan.spec);
}

void write_tiny_model(const TinyModelOptions& options, const std::string& path) {
  GgufWriter w;
  const ModelSpec spec = write_tiny_model_metadata(options, w);

  uint64_t total = 0, written = 0;
  for (const TensorSpec& t : spec.tensors) total += t.bytes;
  for (const TensorSpec& t : spec.tensors) {
    const GgmlType type = static_cast<GgmlType>(t.ggml_type);
    w.add_streamed_tensor(t.name, t.shape, type, [&, type](const GgufWriter::ByteSink& sink) {
      write_tensor_bytes(t, type, spec, options.seed, sink);
      written += t.bytes;
      if (options.progress) options.progress(written, total);
    });
  }
  w.write(path);
}

}  // namespace archscope
