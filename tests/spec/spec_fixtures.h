// Helpers for the ModelSpec tests: model cards from models/cards, configs written to a
// temporary folder, and parameter counts over a spec's tensors.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <fstream>
#include <stdexcept>
#include <string>
#include <utility>

#include <nlohmann/json.hpp>

#include "archscope/model_loader.h"
#include "archscope/model_spec.h"
#include "formats/format_fixtures.h"

namespace archscope::testing {

// The path of a card in models/cards, e.g. "llama-3.1-8b.json".
inline std::string card_path(const std::string& file) { return ARCHSCOPE_SOURCE_DIR "/models/cards/" + file; }

// A card's config JSON, to change and write again with write_json.
inline nlohmann::json read_card(const std::string& file) {
  std::ifstream in(card_path(file));
  return nlohmann::json::parse(in);
}

// A card loaded as a ModelSpec; a card that does not load fails the test with its message.
inline ModelSpec load_card(const std::string& file) {
  Result<ModelSpec> spec = load_model_spec(card_path(file));
  if (!spec.ok()) {
    ADD_FAILURE() << spec.error().what();
    throw std::runtime_error("cannot load " + file);
  }
  return std::move(spec).value();
}

// Writes `j` as `name` in `dir`; returns its path.
inline std::string write_json(const TempDir& dir, const std::string& name, const nlohmann::json& j) {
  const std::string path = dir.file(name);
  write_text(path, j.dump(2));
  return path;
}

inline uint64_t elements(const TensorSpec& t) {
  uint64_t n = 1;
  for (uint64_t d : t.shape) n *= d;
  return n;
}

inline uint64_t total_params(const ModelSpec& spec) {
  uint64_t n = 0;
  for (const TensorSpec& t : spec.tensors) n += elements(t);
  return n;
}

// The tensor called `name`, or nullptr.
inline const TensorSpec* find(const ModelSpec& spec, const std::string& name) {
  for (const TensorSpec& t : spec.tensors) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

}  // namespace archscope::testing
