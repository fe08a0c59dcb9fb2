#include "runtime/memory_fit.h"

#include <cstdio>
#include <fstream>
#include <string>

#include "archscope/cache_plan.h"
#include "archscope/error.h"

namespace archscope {
namespace {

// "1.5 GiB": three significant digits, binary units.
std::string bytes_text(uint64_t bytes) {
  const char* units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int unit = 0;
  while (v >= 1024.0 && unit < 4) {
    v /= 1024.0;
    ++unit;
  }
  char text[32];
  std::snprintf(text, sizeof text, unit == 0 ? "%.0f %s" : v < 10 ? "%.2f %s" : v < 100 ? "%.1f %s" : "%.0f %s", v,
                units[unit]);
  return text;
}

std::string with_commas(uint64_t v) {
  std::string digits = std::to_string(v), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// Activations of a step graph (one row per token for per-token tensors) and its step buffer.
uint64_t scratch_bytes(const Graph& g) {
  uint64_t bytes = 64 + 4 * uint64_t(g.max_tokens);
  for (const TensorDesc& t : g.tensors) bytes += uint64_t(t.per_token ? g.max_tokens : 1) * uint64_t(t.cols) * 4;
  return bytes;
}

bool is_auto_table(const WeightDesc& w) { return w.placement == TablePlacement::Auto; }

}  // namespace

uint64_t host_memory_available() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  uint64_t kib = 0;
  std::string unit;
  while (meminfo >> key >> kib >> unit) {
    if (key == "MemAvailable:") return kib * 1024;
  }
  return 0;
}

MemoryNeed memory_need(const ModelResources& resources, const std::vector<const Graph*>& graphs,
                       const MemoryCapacity& capacity) {
  MemoryNeed need;
  for (const WeightDesc& w : resources.weights) {
    if (w.placement == TablePlacement::Host) {
      need.host_tables += w.bytes();
    } else if (capacity.copies_weights) {
      need.weights += w.bytes();
    }
  }
  for (const CacheDesc& c : resources.caches) need.caches += uint64_t(c.capacity) * (c.slot_bytes() + 4);
  for (const Graph* g : graphs) need.scratch += scratch_bytes(*g);
  // Backends keep f32 copies of vectors, split attention partials, staging: a margin.
  need.scratch += need.scratch / 8 + (uint64_t{16} << 20);
  return need;
}

std::string fit_memory(ModelResources& resources, const std::vector<const Graph*>& graphs,
                       const MemoryCapacity& capacity, const MemoryChoices& choices) {
  if (capacity.available == 0) return "";
  MemoryNeed need = memory_need(resources, graphs, capacity);
  std::string notice;
  // Auto tables go to the device when everything fits, else to host memory (only the rows a
  // step gathers travel then), which helps only where the weights are copied.
  uint64_t auto_bytes = 0;
  for (const WeightDesc& w : resources.weights) auto_bytes += is_auto_table(w) ? w.bytes() : 0;
  const bool tables_to_host = capacity.copies_weights && auto_bytes > 0 && need.total() > capacity.available;
  for (WeightDesc& w : resources.weights) {
    if (is_auto_table(w)) w.placement = tables_to_host ? TablePlacement::Host : TablePlacement::Device;
  }
  if (tables_to_host) {
    need = memory_need(resources, graphs, capacity);
    notice = "the per-layer embedding table (" + bytes_text(auto_bytes) + ") stays in host memory to fit " +
             capacity.where;
  }
  if (need.total() <= capacity.available) {
    uint64_t mapped = 0;
    for (const WeightDesc& w : resources.weights) mapped += w.bytes();
    if (!capacity.copies_weights && mapped > capacity.available) {
      notice = "the weights (" + bytes_text(mapped) + ") are larger than the free memory (" +
               bytes_text(capacity.available) + "): they are read from the file as each step needs them, which is slow";
    }
    return notice;
  }

  // Refused: say what it needs, what there is, and what would fit.
  const uint64_t fixed = need.weights + need.scratch;
  auto fits_with = [&](int context, GgmlType type) {
    return fixed + plan_cache(*choices.spec, uint64_t(context), type, uint64_t(choices.batch)).bytes <=
           capacity.available;
  };
  std::vector<std::string> options;
  for (int context = choices.context / 2; context >= 256; context /= 2) {
    if (fits_with(context, choices.cache_type)) {
      options.push_back("a context of " + with_commas(uint64_t(context)) + " tokens (--context)");
      break;
    }
  }
  if (choices.cache_type != GgmlType::Q8_0 && fits_with(choices.context, GgmlType::Q8_0)) {
    options.push_back("a q8_0 KV cache (--cache-type q8_0)");
  }
  if (capacity.copies_weights && need.caches + need.scratch <= host_memory_available()) {
    options.push_back("the CPU path, which reads the weights from the file (--device cpu)");
  }
  std::string message = choices.file + " does not fit " + capacity.where + ": it needs " + bytes_text(need.total()) +
                        " (weights " + bytes_text(need.weights) + ", KV cache " + bytes_text(need.caches) + " for " +
                        with_commas(uint64_t(choices.context)) + " tokens, scratch " + bytes_text(need.scratch) +
                        ") and " + bytes_text(capacity.available) + " is free";
  if (options.empty()) {
    message += "; nothing smaller fits: a smaller quantization of the model is needed";
  } else {
    message += "; it would fit with ";
    for (size_t i = 0; i < options.size(); ++i) message += (i == 0 ? "" : i + 1 == options.size() ? " or " : ", ") + options[i];
  }
  throw Error(message);
}

}  // namespace archscope
