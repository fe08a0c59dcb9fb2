#include "spec/side_files.h"

#include <filesystem>
#include <system_error>

namespace archscope {
namespace {

namespace fs = std::filesystem;

std::string text_of(const GgufFile& file, const std::string& key) {
  const GgufValue* v = file.find(key);
  return v && v->type == GgufValueType::String ? v->s : "";
}

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

// Side files are named by what they are (llama.cpp's converters and the usual uploads).
bool looks_like_side_file(const std::string& name) {
  for (const char* prefix : {"mmproj", "mtp-", "mtp_", "ggml-vocab-", "imatrix", "lora"}) {
    if (starts_with(name, prefix)) return true;
  }
  return false;
}

// " (e.g. gemma-4-E2B-it-Q4_K_M.gguf beside it)" when the folder holds another .gguf.
std::string model_beside(const GgufFile& file) {
  const fs::path self = fs::path(file.path());
  std::error_code ec;
  fs::directory_iterator it(self.parent_path().empty() ? fs::path(".") : self.parent_path(), ec);
  if (ec) return "";
  for (const fs::directory_entry& entry : it) {
    const fs::path p = entry.path();
    const std::string name = p.filename().string();
    if (p.extension() != ".gguf" || p.filename() == self.filename() || looks_like_side_file(name)) continue;
    return " (" + name + " is in the same folder)";
  }
  return "";
}

}  // namespace

std::optional<std::string> describe_side_file(const GgufFile& file) {
  const std::string arch = text_of(file, "general.architecture");
  const std::string type = text_of(file, "general.type");
  const std::string base = text_of(file, "general.base_model.0.name");
  const std::string of = base.empty() ? "" : " for " + base;
  std::string what;
  if (type == "mmproj" || arch == "clip") {
    what = "a multimodal projector (mmproj: the vision/audio encoder" + of +
           "), not a language model; archscope runs the text model, so open the model file beside it";
  } else if (arch == "gemma4-assistant" || arch == "gemma4_assistant" || arch.find("mtp") != std::string::npos) {
    what = "an assistant head (" + arch + ": extra layers that draft tokens for a model's speculative decoding" +
           of + "), not a whole model; open the model file beside it";
  } else if (type == "adapter") {
    const std::string kind = text_of(file, "adapter.type");
    what = "a " + (kind.empty() ? std::string("model") : kind == "lora" ? "LoRA" : kind) + " adapter" + of +
           ", not a model: it changes a base model's weights, so open the base model file";
  } else if (arch == "controlvector") {
    what = "a control vector (a per-layer steering offset), not a model; open the model file it was made for";
  } else if (type == "imatrix" || starts_with(arch, "imatrix")) {
    what = "an importance matrix (llama-imatrix statistics for quantizing), not a model; open a model file";
  } else {
    return std::nullopt;
  }
  return what + model_beside(file);
}

std::optional<std::string> describe_weightless_file(const GgufFile& file) {
  if (!file.tensors().empty()) return std::nullopt;
  return "holds no weights (a vocabulary and hyperparameters only, as llama.cpp's ggml-vocab-* files), so it "
         "cannot run; inspect shows its architecture, or open a model file" + model_beside(file);
}

}  // namespace archscope
