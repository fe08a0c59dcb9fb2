// Opening a model description: a GGUF file, a Hugging Face folder (config.json with
// optional safetensors) or a model card (a config.json file on its own).
#pragma once

#include <string>

#include "archscope/error.h"
#include "archscope/model_spec.h"

namespace archscope {

// Reads only what describes the model (metadata, tensor tables); weights stay on disk.
Result<ModelSpec> load_model_spec(const std::string& path);

// Checks the facts every later stage relies on (head counts, cache sources, windows);
// throws archscope::Error naming the file and the layer. load_model_spec calls it.
void validate_model_spec(const ModelSpec& spec);

}  // namespace archscope
