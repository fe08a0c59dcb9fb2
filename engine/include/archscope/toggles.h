// What-if toggles: named changes to a ModelSpec ("window=8", "all_global=on") that a
// person flips to see what an architecture feature costs and what it does. A toggle
// only edits the spec, so the cache plan, the cost model, the step graph and the views
// all follow from the toggled spec like from any other.
#pragma once

#include <string>
#include <vector>

#include "archscope/error.h"
#include "archscope/model_spec.h"

namespace archscope {

struct Toggle {
  std::string name, value;
};

struct ToggleInfo {
  std::string name;
  std::string description;          // one line for help texts and tooltips
  std::string current;              // the value the unmodified model has
  std::vector<std::string> choices; // allowed values; empty: a positive integer
};

// The toggles `spec` supports (depends on its architecture and layers).
std::vector<ToggleInfo> available_toggles(const ModelSpec& spec);

// Parses "NAME=VALUE".
Result<Toggle> parse_toggle(const std::string& text);

// Applies the toggles in order. Throws archscope::Error naming the toggle when it is
// unknown, does not apply to this model, or has a value it does not accept.
void apply_toggles(ModelSpec& spec, const std::vector<Toggle>& toggles);

// "window=8, all_global=on" (empty when none).
std::string describe_toggles(const std::vector<Toggle>& toggles);

}  // namespace archscope
