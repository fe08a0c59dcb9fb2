// GGUF files that ship beside a model but are not one: vision/audio projectors (mmproj-*),
// multi-token-prediction and assistant heads (mtp-*), LoRA adapters, control vectors,
// importance matrices. Vocabulary-only files (no tensors) describe an architecture, so they
// open for inspection; running one says why it cannot. Each gets a sentence saying what it is and
// what to open instead, rather than "unknown architecture" or "missing tensor".
#pragma once

#include <optional>
#include <string>

#include "archscope/gguf.h"

namespace archscope {

// What `file` is, followed by what to open instead (naming a model file in the same
// folder when there is one); nullopt when it is a language model file.
std::optional<std::string> describe_side_file(const GgufFile& file);
// Why a file without tensors cannot run; nullopt when it has tensors.
std::optional<std::string> describe_weightless_file(const GgufFile& file);

}  // namespace archscope
