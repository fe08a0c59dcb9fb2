#include "archscope/toggles.h"

#include <algorithm>
#include <charconv>
#include <functional>

namespace archscope {
namespace {

struct ToggleDef {
  const char* name;
  const char* description;
  std::function<bool(const ModelSpec&)> applies;
  std::function<std::string(const ModelSpec&)> current;
  std::vector<std::string> choices;  // empty: a positive integer
  std::function<void(ModelSpec&, const std::string&)> apply;
};

bool has_sliding(const ModelSpec& spec) {
  return std::any_of(spec.layers.begin(), spec.layers.end(),
                     [](const LayerSpec& l) { return l.attention == AttentionKind::Sliding; });
}

// Layers with a raw window: sliding ones, and DeepSeek V4's compressed layers (their window
// of raw keys beside the compressed entries).
bool has_window(const ModelSpec& spec) {
  return std::any_of(spec.layers.begin(), spec.layers.end(), [](const LayerSpec& l) { return l.window > 0; });
}

bool has_ple(const ModelSpec& spec) { return spec.ple_width > 0; }
bool has_hc(const ModelSpec& spec) { return spec.hc_width > 0; }
bool has_csa(const ModelSpec& spec) {
  return std::any_of(spec.layers.begin(), spec.layers.end(), [](const LayerSpec& l) { return l.attention == AttentionKind::Csa; });
}

const char* placement_name(TablePlacement p) {
  return p == TablePlacement::Host ? "host" : p == TablePlacement::Device ? "device" : "auto";
}

int positive_int(const std::string& name, const std::string& value) {
  int n = 0;
  const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (ec != std::errc() || end != value.data() + value.size() || n <= 0) {
    throw Error("toggle " + name + ": \"" + value + "\" is not a positive whole number");
  }
  return n;
}

// Query heads kept on the layers of one attention kind (Laguna's per-layer budget). The
// weights hold q_heads heads, so a layer can only lose heads: it keeps the first N / kv of
// every KV head's group, so each kept head still reads the KV head it was trained with,
// and the dropped heads' outputs are zeroed before the output projection (the same as
// deleting their rows of attn_q and columns of attn_output).
bool runs_kept_heads(const ModelSpec& spec, AttentionKind kind) {
  return spec.architecture == "laguna" &&
         std::any_of(spec.layers.begin(), spec.layers.end(), [&](const LayerSpec& l) { return l.attention == kind; });
}

std::string heads_of(const ModelSpec& spec, AttentionKind kind) {
  for (const LayerSpec& l : spec.layers)
    if (l.attention == kind) return std::to_string(l.kept_q_heads > 0 ? l.kept_q_heads : l.q_heads);
  return std::string();
}

void keep_heads(ModelSpec& spec, AttentionKind kind, const char* name, const std::string& value) {
  const int n = positive_int(name, value);
  for (LayerSpec& l : spec.layers) {
    if (l.attention != kind) continue;
    if (n > l.q_heads || n % l.kv_heads != 0) {
      throw Error(std::string("toggle ") + name + "=" + value + ": layer " + std::to_string(l.index) + " has weights for " +
                  std::to_string(l.q_heads) + " query heads over " + std::to_string(l.kv_heads) +
                  " KV heads; it can keep a multiple of " + std::to_string(l.kv_heads) + " up to " +
                  std::to_string(l.q_heads));
    }
    l.kept_q_heads = n == l.q_heads ? 0 : n;
  }
}

const std::vector<ToggleDef>& toggle_defs() {
  static const std::vector<ToggleDef> defs = {
      {"window", "sliding-window size of every windowed layer, in tokens (DeepSeek V4: the raw keys beside the compressed entries)",
       has_window,
       [](const ModelSpec& spec) {
         for (const LayerSpec& l : spec.layers)
           if (l.window > 0) return std::to_string(l.window);
         return std::string();
       },
       {},
       [](ModelSpec& spec, const std::string& value) {
         const int window = positive_int("window", value);
         for (LayerSpec& l : spec.layers)
           if (l.window > 0) l.window = window;
       }},
      {"all_global", "sliding layers attend to the whole context (their RoPE stays)", has_sliding,
       [](const ModelSpec&) { return std::string("off"); },
       {"on", "off"},
       [](ModelSpec& spec, const std::string& value) {
         if (value != "on") return;
         for (LayerSpec& l : spec.layers) {
           if (l.attention != AttentionKind::Sliding) continue;
           l.attention = AttentionKind::Global;
           l.window = 0;
         }
       }},
      {"global_heads",
       "query heads global layers use: the first N/kv of each KV head's group are kept, the rest dropped "
       "(at most the file's heads, a multiple of the KV heads)",
       [](const ModelSpec& spec) { return runs_kept_heads(spec, AttentionKind::Global); },
       [](const ModelSpec& spec) { return heads_of(spec, AttentionKind::Global); },
       {},
       [](ModelSpec& spec, const std::string& value) { keep_heads(spec, AttentionKind::Global, "global_heads", value); }},
      {"sliding_heads",
       "query heads sliding layers use (e.g. the global layers' budget): the first N/kv of each KV head's group "
       "are kept, the rest dropped (at most the file's heads, a multiple of the KV heads)",
       [](const ModelSpec& spec) { return runs_kept_heads(spec, AttentionKind::Sliding); },
       [](const ModelSpec& spec) { return heads_of(spec, AttentionKind::Sliding); },
       {},
       [](ModelSpec& spec, const std::string& value) { keep_heads(spec, AttentionKind::Sliding, "sliding_heads", value); }},
      // Gemma 4: the per-layer inputs are dropped; the layers keep everything else. The
      // PLE tensors are then not loaded at all.
      {"ple", "per-layer embeddings (Gemma 4): off drops every layer's per-layer input and its tensors", has_ple,
       [](const ModelSpec&) { return std::string("on"); },
       {"on", "off"},
       [](ModelSpec& spec, const std::string& value) {
         if (value != "off") return;
         spec.ple_width = 0;
         for (LayerSpec& l : spec.layers) l.ple_width = 0;
       }},
      {"ple_table",
       "where the per-layer embedding table runs from: host keeps it in host memory and sends only the gathered rows "
       "to the device; auto does so when the model would not fit the device otherwise",
       has_ple, [](const ModelSpec& spec) { return std::string(placement_name(spec.ple_table)); },
       {"auto", "device", "host"},
       [](ModelSpec& spec, const std::string& value) {
         spec.ple_table = value == "host" ? TablePlacement::Host : value == "device" ? TablePlacement::Device
                                                                                     : TablePlacement::Auto;
       }},
      // DeepSeek V4: the residual mixing of mHC, and how many compressed entries CSA picks.
      {"hc_mix", "mHC residual mixing (DeepSeek V4): identity keeps every stream to itself (pre and post weights stay)",
       has_hc, [](const ModelSpec& spec) { return std::string(spec.hc_identity_mix ? "identity" : "sinkhorn"); },
       {"sinkhorn", "identity"},
       [](ModelSpec& spec, const std::string& value) { spec.hc_identity_mix = value == "identity"; }},
      {"hc_sinkhorn", "Sinkhorn rounds that make each mHC mixing matrix doubly stochastic", has_hc,
       [](const ModelSpec& spec) { return std::to_string(spec.hc_sinkhorn_iters); },
       {},
       [](ModelSpec& spec, const std::string& value) { spec.hc_sinkhorn_iters = positive_int("hc_sinkhorn", value); }},
      {"csa_top_k", "compressed entries each query of a CSA layer attends, as the lightning indexer ranks them", has_csa,
       [](const ModelSpec& spec) {
         for (const LayerSpec& l : spec.layers)
           if (l.attention == AttentionKind::Csa) return std::to_string(l.indexer_top_k);
         return std::string();
       },
       {},
       [](ModelSpec& spec, const std::string& value) {
         const int k = positive_int("csa_top_k", value);
         for (LayerSpec& l : spec.layers)
           if (l.attention == AttentionKind::Csa) l.indexer_top_k = k;
       }},
  };
  return defs;
}

}  // namespace

std::vector<ToggleInfo> available_toggles(const ModelSpec& spec) {
  std::vector<ToggleInfo> out;
  for (const ToggleDef& d : toggle_defs()) {
    if (d.applies(spec)) out.push_back({d.name, d.description, d.current(spec), d.choices});
  }
  return out;
}

Result<Toggle> parse_toggle(const std::string& text) {
  return capture([&] {
    const size_t eq = text.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == text.size()) {
      throw Error("a toggle is NAME=VALUE (e.g. window=8), not \"" + text + "\"");
    }
    return Toggle{text.substr(0, eq), text.substr(eq + 1)};
  });
}

void apply_toggles(ModelSpec& spec, const std::vector<Toggle>& toggles) {
  for (const Toggle& t : toggles) {
    const auto& defs = toggle_defs();
    const auto def = std::find_if(defs.begin(), defs.end(), [&](const ToggleDef& d) { return t.name == d.name; });
    if (def == defs.end()) throw Error("unknown toggle \"" + t.name + "\"");
    if (!def->applies(spec)) throw Error("toggle " + t.name + " does not apply to " + spec.name);
    if (!def->choices.empty() && std::find(def->choices.begin(), def->choices.end(), t.value) == def->choices.end()) {
      std::string allowed;
      for (const std::string& c : def->choices) allowed += (allowed.empty() ? "" : ", ") + c;
      throw Error("toggle " + t.name + " takes " + allowed + ", not \"" + t.value + "\"");
    }
    def->apply(spec, t.value);
  }
}

std::string describe_toggles(const std::vector<Toggle>& toggles) {
  std::string out;
  for (const Toggle& t : toggles) out += (out.empty() ? "" : ", ") + t.name + "=" + t.value;
  return out;
}

}  // namespace archscope
