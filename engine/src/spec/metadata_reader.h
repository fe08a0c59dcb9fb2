// Checked access to model hyperparameters, with errors that name the file and the key.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "archscope/gguf.h"

namespace archscope {

// Reads "<arch>.<key>" values from GGUF metadata ("gemma4.block_count").
class GgufMetadataReader {
 public:
  GgufMetadataReader(const GgufFile& file, std::string arch) : file_(file), arch_(std::move(arch)) {}
  // Where the file is, for messages.
  const std::string& path() const;

  const GgufFile& file() const { return file_; }
  const std::string& arch() const { return arch_; }
  std::string key(const std::string& suffix) const { return arch_ + "." + suffix; }

  bool has(const std::string& suffix) const;
  // Required values: throw "<file>: missing metadata key <arch>.<suffix>" when absent.
  int64_t integer(const std::string& suffix) const;
  double real(const std::string& suffix) const;
  // Optional values.
  std::optional<int64_t> integer_or(const std::string& suffix) const;
  int64_t integer_or(const std::string& suffix, int64_t fallback) const;
  double real_or(const std::string& suffix, double fallback) const;
  bool flag_or(const std::string& suffix, bool fallback) const;
  std::optional<std::string> text_or(const std::string& full_key) const;  // full key, e.g. general.name
  // A value that is either one number for every layer or an array of n_layers numbers.
  std::vector<int64_t> per_layer(const std::string& suffix, int n_layers) const;
  std::optional<std::vector<int64_t>> per_layer_or(const std::string& suffix, int n_layers) const;
  // An array value of any length (e.g. a pattern or ratios list).
  std::optional<std::vector<int64_t>> int_array_or(const std::string& suffix) const;

  [[noreturn]] void fail(const std::string& problem) const;  // "<file>: <problem>"

 private:
  const GgufFile& file_;
  std::string arch_;
};

// Reads keys from a config.json object. Multimodal configs nest the language model in
// "text_config"; keys are looked up there first, then in the outer object.
class ConfigReader {
 public:
  ConfigReader(const nlohmann::json& config, std::string path);

  const nlohmann::json& json() const { return *text_; }
  const std::string& path() const { return path_; }
  bool has(const std::string& key) const;  // present and not null
  int64_t integer(const std::string& key) const;
  double real(const std::string& key) const;
  int64_t integer_or(const std::string& key, int64_t fallback) const;
  double real_or(const std::string& key, double fallback) const;
  bool flag_or(const std::string& key, bool fallback) const;
  std::string text_or(const std::string& key, const std::string& fallback) const;
  std::vector<int64_t> int_array(const std::string& key) const;
  std::vector<std::string> text_array(const std::string& key) const;
  const nlohmann::json* object_or_null(const std::string& key) const;  // nested object

  [[noreturn]] void fail(const std::string& problem) const;  // "<path>: <problem>"

 private:
  const nlohmann::json* find(const std::string& key) const;  // text config first, then outer

  const nlohmann::json& outer_;
  const nlohmann::json* text_;
  std::string path_;
};

}  // namespace archscope
