// archscope-cli inspect PATH: the per-layer architecture and its memory, exactly.
#include <cstdio>
#include <iostream>
#include <optional>

#include <nlohmann/json.hpp>

#include "archscope/cache_plan.h"
#include "archscope/chat_template_check.h"
#include "archscope/cost_model.h"
#include "archscope/gguf.h"
#include "archscope/model_loader.h"
#include "commands.h"
#include "format.h"

namespace archscope::cli {

namespace {

struct InspectOptions {
  std::string path;
  uint64_t context = 0;  // 0: the model's trained context
  std::string cache_type = "f16";
  bool json = false;
};

const char* outcome_name(ChatTemplateCheck::Outcome outcome) {
  switch (outcome) {
    case ChatTemplateCheck::Outcome::NoTemplate: return "no_template";
    case ChatTemplateCheck::Outcome::Agrees: return "agrees";
    case ChatTemplateCheck::Outcome::Differs: return "differs";
    case ChatTemplateCheck::Outcome::NoBuiltInFormat: return "no_builtin_format";
    case ChatTemplateCheck::Outcome::RenderFailed: return "render_failed";
  }
  return "?";
}

// The file's chat template against the built-in format (GGUF files only).
std::optional<ChatTemplateCheck> template_check(const ModelSpec& spec) {
  if (spec.source != SourceKind::Gguf) return std::nullopt;
  Result<ChatTemplateCheck> check = capture([&] { return check_chat_template(GgufFile::open(spec.source_path)); });
  if (!check) return std::nullopt;
  return *check;
}

const char* source_name(SourceKind source) {
  switch (source) {
    case SourceKind::Gguf: return "gguf";
    case SourceKind::HfFolder: return "hf_folder";
    case SourceKind::Card: return "card";
  }
  return "?";
}

std::string kind_label(const LayerSpec& l) {
  std::string kind = to_string(l.attention);
  if (l.compress_ratio > 0) kind += "/" + std::to_string(l.compress_ratio);
  return kind;
}

std::string ffn_label(const FfnSpec& f) {
  if (f.kind == FfnKind::Dense) return "dense " + std::to_string(f.dense_width);
  std::string s = "moe " + std::to_string(f.active_experts) + "/" + std::to_string(f.experts);
  if (f.shared_experts) s += "+" + std::to_string(f.shared_experts);
  if (f.dense_width) s += " +dense";
  return s;
}

std::vector<uint64_t> layer_weight_bytes(const ModelSpec& spec) {
  std::vector<uint64_t> bytes(spec.layers.size(), 0);
  for (const TensorSpec& t : spec.tensors) {
    if (t.layer >= 0 && t.layer < spec.layer_count()) bytes[t.layer] += t.bytes;
  }
  return bytes;
}

nlohmann::json to_json(const ModelSpec& spec, const CachePlan& plan, const WeightSummary& weights, const DecodeCost& decode) {
  using nlohmann::json;
  json components = json::object();
  for (int c = 0; c < kWeightComponentCount; ++c) {
    components[to_string(static_cast<WeightComponent>(c))] = weights.bytes_by_component[c];
  }
  const std::vector<uint64_t> layer_weights = layer_weight_bytes(spec);
  json layers = json::array();
  for (const LayerSpec& l : spec.layers) {
    const LayerCache& c = plan.layers[l.index];
    const LayerDecodeCost& d = decode.layers[l.index];
    layers.push_back({
        {"index", l.index},
        {"kind", to_string(l.attention)},
        {"window", l.window},
        {"q_heads", l.q_heads},
        {"kv_heads", l.kv_heads},
        {"head_dim_k", l.head_dim_k},
        {"head_dim_v", l.head_dim_v},
        {"k_equals_v", l.k_equals_v},
        {"v_from_k_proj", l.v_from_k_proj},
        {"kv_source", l.kv_source},
        {"compress_ratio", l.compress_ratio},
        {"rope_theta", l.rope.theta},
        {"rotary_dims", l.rope.rotary_dims},
        {"ple_width", l.ple_width},
        {"hc_width", l.hc_width},
        {"ffn", l.ffn.kind == FfnKind::Moe ? "moe" : "dense"},
        {"ffn_width", l.ffn.dense_width},
        {"experts", l.ffn.experts},
        {"active_experts", l.ffn.active_experts},
        {"shared_experts", l.ffn.shared_experts},
        {"expert_width", l.ffn.expert_width},
        {"cache_positions", c.positions},
        {"compressed_entries", c.compressed_entries},
        {"kv_bytes", c.bytes},
        {"kv_bytes_no_sharing", c.bytes_no_sharing},
        {"kv_bytes_no_windows", c.bytes_no_windows},
        {"kv_bytes_naive", c.bytes_naive},
        {"attended_positions", d.attended_positions},
        {"decode_flops", d.matmul_flops + d.attention_flops},
        {"weight_bytes", layer_weights[l.index]},
    });
  }
  const GgmlTypeInfo* cache_info = ggml_type_info(plan.type);
  return {
      {"name", spec.name},
      {"architecture", spec.architecture},
      {"source", source_name(spec.source)},
      {"path", spec.source_path},
      {"hidden", spec.hidden},
      {"vocab", spec.vocab},
      {"layer_count", spec.layer_count()},
      {"context_length", spec.context_length},
      {"weight_type", spec.weight_type},
      {"weights_present", spec.weights_present},
      {"context", plan.context},
      {"cache_type", cache_info ? cache_info->name : "?"},
      {"params", weights.params},
      {"active_params", weights.active_params},
      {"weight_bytes", weights.bytes},
      {"ple_table_bytes", weights.ple_table_bytes},
      {"weight_bytes_by_component", components},
      {"kv_bytes", plan.bytes},
      {"kv_bytes_no_sharing", plan.bytes_no_sharing},
      {"kv_bytes_no_windows", plan.bytes_no_windows},
      {"kv_bytes_naive", plan.bytes_naive},
      {"decode", {{"flops", decode.flops}, {"weight_bytes_read", decode.weight_bytes_read}, {"cache_bytes_read", decode.cache_bytes_read}}},
      {"layers", layers},
  };
}

void print_table(const ModelSpec& spec, const CachePlan& plan, const WeightSummary& weights, const DecodeCost& decode) {
  const GgmlTypeInfo* cache_info = ggml_type_info(plan.type);
  std::printf("%s  (%s, %s)\n", spec.name.c_str(), spec.architecture.c_str(), spec.source_path.c_str());
  std::printf("hidden %d, vocab %s, %d layers, trained context %s, weights %s%s\n\n", spec.hidden,
              with_commas(spec.vocab).c_str(), spec.layer_count(), with_commas(spec.context_length).c_str(),
              spec.weight_type.c_str(), spec.weights_present ? "" : " (card: no weights)");
  std::printf("KV cache at %s tokens, %s elements\n", with_commas(plan.context).c_str(), cache_info ? cache_info->name : "?");
  std::printf("%5s  %-9s %7s %9s %9s %10s %-14s %10s %12s\n", "layer", "kind", "window", "q/kv", "head dim",
              "cache", "ffn", "positions", "cache bytes");
  const std::vector<uint64_t> layer_weights = layer_weight_bytes(spec);
  for (const LayerSpec& l : spec.layers) {
    const LayerCache& c = plan.layers[l.index];
    const std::string heads = std::to_string(l.q_heads) + "/" + std::to_string(l.kv_heads);
    const std::string dims = l.head_dim_k == l.head_dim_v ? std::to_string(l.head_dim_k)
                                                          : std::to_string(l.head_dim_k) + "/" + std::to_string(l.head_dim_v);
    const std::string source = l.owns_cache() ? "own" : "reads " + std::to_string(l.kv_source);
    const std::string window = l.window > 0 ? std::to_string(l.window) : "-";
    std::string positions = with_commas(c.positions);
    if (c.compressed_entries) positions += "+" + with_commas(c.compressed_entries);
    std::printf("%5d  %-9s %7s %9s %9s %10s %-14s %10s %12s\n", l.index, kind_label(l).c_str(), window.c_str(),
                heads.c_str(), dims.c_str(), source.c_str(), ffn_label(l.ffn).c_str(), positions.c_str(),
                human_bytes(c.bytes).c_str());
  }

  std::printf("\nWeights          %12s  %s params, %s active per token\n", human_bytes(weights.bytes).c_str(),
              human_count(weights.params).c_str(), human_count(weights.active_params).c_str());
  for (int c = 0; c < kWeightComponentCount; ++c) {
    if (weights.bytes_by_component[c] == 0) continue;
    std::printf("  %-22s %12s\n", to_string(static_cast<WeightComponent>(c)), human_bytes(weights.bytes_by_component[c]).c_str());
  }
  auto saving = [&](uint64_t without) {
    return without > plan.bytes ? "  (saves " + human_bytes(without - plan.bytes) + ")" : std::string();
  };
  std::printf("KV cache         %12s  (%s bytes)\n", human_bytes(plan.bytes).c_str(), with_commas(plan.bytes).c_str());
  std::printf("  without sharing%12s%s\n", human_bytes(plan.bytes_no_sharing).c_str(), saving(plan.bytes_no_sharing).c_str());
  std::printf("  without windows%12s%s\n", human_bytes(plan.bytes_no_windows).c_str(), saving(plan.bytes_no_windows).c_str());
  std::printf("  naive          %12s%s\n", human_bytes(plan.bytes_naive).c_str(), saving(plan.bytes_naive).c_str());
  std::printf("Decode one token %12s  reads %s weights + %s cache\n", human_flops(decode.flops).c_str(),
              human_bytes(decode.weight_bytes_read).c_str(), human_bytes(decode.cache_bytes_read).c_str());
}

int run_inspect(const InspectOptions& opt) {
  Result<ModelSpec> spec = load_model_spec(opt.path);
  if (!spec) {
    std::cerr << "archscope-cli: " << spec.error().what() << "\n";
    return kExitBadInput;
  }
  const std::optional<GgmlType> cache_type = parse_cache_type(opt.cache_type);
  if (!cache_type) {
    std::cerr << "archscope-cli: --cache-type must be f32, f16, bf16 or q8_0, not \"" << opt.cache_type << "\"\n";
    return kExitBadInput;
  }
  const uint64_t context = opt.context ? opt.context : std::max(spec->context_length, 1);
  const CachePlan plan = plan_cache(*spec, context, *cache_type);
  const WeightSummary weights = summarize_weights(*spec);
  const DecodeCost decode = estimate_decode(*spec, plan);
  const std::optional<ChatTemplateCheck> check = template_check(*spec);
  if (opt.json) {
    nlohmann::json out = to_json(*spec, plan, weights, decode);
    if (check) {
      out["chat_template"] = {
          {"format", to_string(check->format)},
          {"outcome", outcome_name(check->outcome)},
          {"first_difference", check->first_difference == std::string::npos ? nlohmann::json(nullptr)
                                                                            : nlohmann::json(check->first_difference)},
          {"summary", check->summary()},
      };
    }
    std::cout << out.dump(2) << "\n";
  } else {
    print_table(*spec, plan, weights, decode);
    if (check) std::printf("Chat template    %s\n", check->summary().c_str());
  }
  return 0;
}

}  // namespace

Command add_inspect_command(CLI::App& app) {
  auto opt = std::make_shared<InspectOptions>();
  CLI::App* sub = app.add_subcommand("inspect", "Per-layer architecture, KV cache and weight bytes of a model");
  sub->add_option("path", opt->path, "GGUF file, Hugging Face folder (config.json) or model card (.json)")->required();
  sub->add_option("--context", opt->context, "Context length in tokens (default: the model's trained context)")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40));
  sub->add_option("--cache-type", opt->cache_type, "KV cache element type: f32, f16, bf16, q8_0")->capture_default_str();
  sub->add_flag("--json", opt->json, "Print one JSON object (keys documented in the README)");
  return {sub, [opt] { return run_inspect(*opt); }};
}

}  // namespace archscope::cli
