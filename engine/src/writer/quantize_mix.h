// llama.cpp's file types (llama_ftype, as llama-quantize names them) and the type
// llama-quantize gives each tensor in one: the Q4_K_M of a download is Q4_K for most
// matrices, Q6_K for the head and some layers' attn_v / ffn_down, Q5_0 where a row is not
// a whole number of 256-blocks, and so on. A port of src/llama-quant.cpp
// (llama_tensor_get_type and its helpers), so archscope's writer makes the files
// llama-quantize makes from the same floats.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "archscope/ggml_types.h"
#include "archscope/model_spec.h"

namespace archscope {

struct FileType {
  const char* name;        // llama-quantize's name: "Q4_K_M"
  uint32_t id;             // LLAMA_FTYPE_* (general.file_type)
  GgmlType default_type;   // the type of most matrices (llama_ftype_get_default_type)
};

// Every file type the writer makes, in llama-quantize's order.
const std::vector<FileType>& file_types();
// By llama-quantize's name, case-insensitive, with its aliases (Q4_K = Q4_K_M, Q3_K =
// Q3_K_M, Q5_K = Q5_K_M); nullptr when there is none.
const FileType* find_file_type(const std::string& name);

// llama-quantize's choice for every tensor of `tensors` (in any order), quantizing a file
// that stores them as `source_types` to `file_type` (pure: every quantizable tensor the
// default type, as llama-quantize --pure). Tensors it does not quantize keep their source
// type. The choice depends on the order llama.cpp visits tensors in (by layer, then
// name), which this follows.
std::vector<GgmlType> quantized_tensor_types(const ModelSpec& spec, const std::vector<TensorSpec>& tensors,
                                             const std::vector<GgmlType>& source_types, const FileType& file_type,
                                             bool pure);

}  // namespace archscope
