#include "spec/architecture.h"

#include <algorithm>

namespace archscope {

const std::vector<const Architecture*>& all_architectures() {
  static const std::vector<const Architecture*> registry = {
      &kLlamaArchitecture, &kQwen3Architecture,    &kGemma4Architecture,
      &kLagunaArchitecture, &kDeepseek4Architecture, &kZayaArchitecture,
  };
  return registry;
}

const Architecture* find_architecture_by_gguf(const std::string& name) {
  for (const Architecture* arch : all_architectures()) {
    if (arch->gguf_name == name && arch->from_gguf) return arch;
  }
  return nullptr;
}

const Architecture* find_architecture_by_model_type(const std::string& model_type) {
  for (const Architecture* arch : all_architectures()) {
    const auto& types = arch->hf_model_types;
    if (std::find(types.begin(), types.end(), model_type) != types.end()) return arch;
  }
  return nullptr;
}

}  // namespace archscope
