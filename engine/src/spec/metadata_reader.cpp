#include "spec/metadata_reader.h"

#include <cmath>
#include <filesystem>

#include "archscope/error.h"

namespace archscope {

namespace {
std::string file_name(const std::string& path) { return std::filesystem::path(path).filename().string(); }
}  // namespace

// ---- GGUF ----

const std::string& GgufMetadataReader::path() const { return file_.path(); }

void GgufMetadataReader::fail(const std::string& problem) const {
  throw Error(file_name(file_.path()) + ": " + problem);
}

bool GgufMetadataReader::has(const std::string& suffix) const { return file_.find(key(suffix)) != nullptr; }

int64_t GgufMetadataReader::integer(const std::string& suffix) const {
  const GgufValue* v = file_.find(key(suffix));
  if (!v) fail("missing metadata key " + key(suffix));
  try {
    return v->as_int(key(suffix));
  } catch (const Error& e) {
    fail(e.what());
  }
}

double GgufMetadataReader::real(const std::string& suffix) const {
  const GgufValue* v = file_.find(key(suffix));
  if (!v) fail("missing metadata key " + key(suffix));
  try {
    return v->as_double(key(suffix));
  } catch (const Error& e) {
    fail(e.what());
  }
}

std::optional<int64_t> GgufMetadataReader::integer_or(const std::string& suffix) const {
  if (!has(suffix)) return std::nullopt;
  return integer(suffix);
}

int64_t GgufMetadataReader::integer_or(const std::string& suffix, int64_t fallback) const {
  return has(suffix) ? integer(suffix) : fallback;
}

double GgufMetadataReader::real_or(const std::string& suffix, double fallback) const {
  return has(suffix) ? real(suffix) : fallback;
}

bool GgufMetadataReader::flag_or(const std::string& suffix, bool fallback) const {
  const GgufValue* v = file_.find(key(suffix));
  if (!v) return fallback;
  try {
    return v->as_bool(key(suffix));
  } catch (const Error& e) {
    fail(e.what());
  }
}

std::optional<std::string> GgufMetadataReader::text_or(const std::string& full_key) const {
  const GgufValue* v = file_.find(full_key);
  if (!v) return std::nullopt;
  try {
    return v->as_string(full_key);
  } catch (const Error& e) {
    fail(e.what());
  }
}

std::optional<std::vector<int64_t>> GgufMetadataReader::int_array_or(const std::string& suffix) const {
  const GgufValue* v = file_.find(key(suffix));
  if (!v) return std::nullopt;
  if (!v->is_array()) fail(key(suffix) + ": expected an array, found " + to_string(v->type));
  std::vector<int64_t> out;
  out.reserve(v->items.size());
  try {
    for (const GgufValue& item : v->items) out.push_back(item.as_int(key(suffix)));
  } catch (const Error& e) {
    fail(e.what());
  }
  return out;
}

std::optional<std::vector<int64_t>> GgufMetadataReader::per_layer_or(const std::string& suffix, int n_layers) const {
  const GgufValue* v = file_.find(key(suffix));
  if (!v) return std::nullopt;
  if (!v->is_array()) return std::vector<int64_t>(n_layers, integer(suffix));
  std::vector<int64_t> values = *int_array_or(suffix);
  if (values.size() != static_cast<size_t>(n_layers)) {
    fail(key(suffix) + " has " + std::to_string(values.size()) + " entries but the model has " +
         std::to_string(n_layers) + " layers");
  }
  return values;
}

std::vector<int64_t> GgufMetadataReader::per_layer(const std::string& suffix, int n_layers) const {
  auto values = per_layer_or(suffix, n_layers);
  if (!values) fail("missing metadata key " + key(suffix));
  return *values;
}

// ---- config.json ----

ConfigReader::ConfigReader(const nlohmann::json& config, std::string path)
    : outer_(config), text_(&config), path_(std::move(path)) {
  if (!config.is_object()) fail("expected a JSON object at the top level");
  auto it = config.find("text_config");
  if (it != config.end() && it->is_object()) text_ = &*it;
}

void ConfigReader::fail(const std::string& problem) const { throw Error(file_name(path_) + ": " + problem); }

const nlohmann::json* ConfigReader::find(const std::string& key) const {
  for (const nlohmann::json* obj : {text_, &outer_}) {
    auto it = obj->find(key);
    if (it != obj->end() && !it->is_null()) return &*it;
  }
  return nullptr;
}

bool ConfigReader::has(const std::string& key) const { return find(key) != nullptr; }

int64_t ConfigReader::integer(const std::string& key) const {
  const nlohmann::json* v = find(key);
  if (!v) fail("missing key \"" + key + "\"");
  if (v->is_number_integer()) return v->get<int64_t>();
  if (v->is_number_float()) {
    double d = v->get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e15) return static_cast<int64_t>(d);
  }
  fail("\"" + key + "\" should be an integer, found " + v->dump());
}

double ConfigReader::real(const std::string& key) const {
  const nlohmann::json* v = find(key);
  if (!v) fail("missing key \"" + key + "\"");
  if (!v->is_number()) fail("\"" + key + "\" should be a number, found " + v->dump());
  return v->get<double>();
}

int64_t ConfigReader::integer_or(const std::string& key, int64_t fallback) const {
  return has(key) ? integer(key) : fallback;
}

double ConfigReader::real_or(const std::string& key, double fallback) const { return has(key) ? real(key) : fallback; }

bool ConfigReader::flag_or(const std::string& key, bool fallback) const {
  const nlohmann::json* v = find(key);
  if (!v) return fallback;
  if (!v->is_boolean()) fail("\"" + key + "\" should be true or false, found " + v->dump());
  return v->get<bool>();
}

std::string ConfigReader::text_or(const std::string& key, const std::string& fallback) const {
  const nlohmann::json* v = find(key);
  if (!v) return fallback;
  if (!v->is_string()) fail("\"" + key + "\" should be a string, found " + v->dump());
  return v->get<std::string>();
}

std::vector<int64_t> ConfigReader::int_array(const std::string& key) const {
  const nlohmann::json* v = find(key);
  if (!v) fail("missing key \"" + key + "\"");
  if (!v->is_array()) fail("\"" + key + "\" should be a list of integers");
  std::vector<int64_t> out;
  for (const auto& item : *v) {
    if (!item.is_number_integer()) fail("\"" + key + "\" should be a list of integers, found " + item.dump());
    out.push_back(item.get<int64_t>());
  }
  return out;
}

std::vector<std::string> ConfigReader::text_array(const std::string& key) const {
  const nlohmann::json* v = find(key);
  if (!v) fail("missing key \"" + key + "\"");
  if (!v->is_array()) fail("\"" + key + "\" should be a list of strings");
  std::vector<std::string> out;
  for (const auto& item : *v) {
    if (!item.is_string()) fail("\"" + key + "\" should be a list of strings, found " + item.dump());
    out.push_back(item.get<std::string>());
  }
  return out;
}

const nlohmann::json* ConfigReader::object_or_null(const std::string& key) const {
  const nlohmann::json* v = find(key);
  return (v && v->is_object()) ? v : nullptr;
}

}  // namespace archscope
