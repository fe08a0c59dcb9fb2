// Vocabulary: the plain-data form of the tokenizer.* keys, and writing it to a GGUF file
// with llama.cpp's key names and types.
#include "archscope/error.h"
#include "archscope/gguf.h"
#include "archscope/tokenizer.h"

namespace archscope {

int32_t Vocabulary::find(std::string_view token) const {
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] == token) return static_cast<int32_t>(i);
  }
  return -1;
}

void Vocabulary::write_to(GgufWriter& writer) const {
  const std::pair<const char*, int32_t> ids[] = {
      {"tokenizer.ggml.bos_token_id", bos},         {"tokenizer.ggml.eos_token_id", eos},
      {"tokenizer.ggml.eot_token_id", eot},         {"tokenizer.ggml.unknown_token_id", unknown},
      {"tokenizer.ggml.padding_token_id", padding},
  };
  for (const auto& [key, id] : ids) {
    if (id < -1 || (id >= 0 && static_cast<size_t>(id) >= tokens.size())) {
      throw Error(std::string(key) + ": token id " + std::to_string(id) + " is out of range (the vocabulary has " +
                  std::to_string(tokens.size()) + " tokens)");
    }
  }
  writer.set_string("tokenizer.ggml.model", model);
  if (!pre.empty()) writer.set_string("tokenizer.ggml.pre", pre);
  writer.set_string_array("tokenizer.ggml.tokens", tokens);
  if (!token_types.empty()) {
    std::vector<int32_t> types;
    types.reserve(token_types.size());
    for (TokenType t : token_types) types.push_back(static_cast<int32_t>(t));
    writer.set_i32_array("tokenizer.ggml.token_type", types);
  }
  if (!scores.empty()) writer.set_f32_array("tokenizer.ggml.scores", scores);
  if (!merges.empty()) writer.set_string_array("tokenizer.ggml.merges", merges);
  for (const auto& [key, id] : ids) {
    if (id >= 0) writer.set_u32(key, static_cast<uint32_t>(id));
  }
  if (add_bos) writer.set_bool("tokenizer.ggml.add_bos_token", *add_bos);
  if (add_eos) writer.set_bool("tokenizer.ggml.add_eos_token", *add_eos);
  if (add_space_prefix) writer.set_bool("tokenizer.ggml.add_space_prefix", *add_space_prefix);
  if (!chat_template.empty()) writer.set_string("tokenizer.chat_template", chat_template);
}

}  // namespace archscope
