#include "archscope/session.h"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <optional>
#include <unordered_map>

#include "archscope/cost_model.h"
#include "archscope/gguf.h"
#include "archscope/model_loader.h"
#include "runtime/backend.h"
#include "runtime/memory_fit.h"
#include "runtime/model_weights.h"
#include "runtime/programs/program.h"
#include "spec/side_files.h"

namespace archscope {

struct Session::State {
  ModelSpec spec;
  GgufFile file;
  std::optional<Tokenizer> tokenizer;
  std::unique_ptr<ModelWeights> weights;
  CachePlan plan;
  ModelResources resources;
  std::unique_ptr<Backend> backend;
  Graph decode, prefill;
  std::string notice;
  int context = 0;
  int position = 0;
  std::vector<int32_t> history;  // every token in the cache, to rebuild ring caches on rewind
  StepReport report;
};

namespace {

std::unique_ptr<Backend> choose_backend(const std::string& device, std::string& notice) {
  if (device == "cpu") return make_cpu_backend();
  Result<std::unique_ptr<Backend>> vulkan = capture([&] { return make_vulkan_backend(device == "auto" || device == "vulkan" ? "" : device); });
  if (vulkan) return std::move(vulkan.value());
  if (device != "auto") throw Error(vulkan.error().what());
  notice = std::string(vulkan.error().what()) + "; running on the CPU reference path";
  return make_cpu_backend();
}

// Cache fill follows the allocation (slot p % capacity holds position p); reach and
// budget follow the cost model at the new position; times come from the backend; the
// experts of MoE layers come from the routing the last graph run computed.
StepReport make_report(const ModelSpec& spec, const ModelResources& resources, Backend& backend, const Graph& graph,
                       GgmlType cache_type, int position) {
  StepReport r;
  r.position = position;
  const DecodeCost cost = estimate_decode(spec, plan_cache(spec, position, cache_type));
  for (const LayerSpec& l : spec.layers) {
    LayerStep step;
    step.layer = l.index;
    step.attended = cost.layers[l.index].attended_positions;
    step.query_heads = l.active_q_heads();
    r.layers.push_back(step);
  }
  for (const CacheDesc& c : resources.caches) {
    const uint64_t filled = static_cast<uint64_t>(c.filled(position));
    r.layers[c.layer].cache_bytes += filled * c.slot_bytes();
    r.cache_bytes += filled * c.slot_bytes();
  }
  for (const LayerTiming& t : backend.timings()) {
    if (t.layer < 0) r.head_milliseconds += t.milliseconds;
    else if (t.layer < static_cast<int>(r.layers.size())) r.layers[t.layer].milliseconds += t.milliseconds;
  }
  // The newest token's row of the tensor a layer leaves for the report, or empty.
  std::unordered_map<std::string, int> tensor_of;
  for (size_t id = 0; id < graph.tensors.size(); ++id) tensor_of.emplace(graph.tensors[id].name, static_cast<int>(id));
  auto newest_row = [&](const std::string& name) -> std::vector<float> {
    auto it = tensor_of.find(name);
    if (it == tensor_of.end()) return {};
    const std::vector<float> rows = backend.read(graph, it->second);
    const int64_t cols = graph.tensors[it->second].cols;
    return std::vector<float>(rows.end() - cols, rows.end());
  };
  for (LayerStep& step : r.layers) {
    const LayerSpec& l = spec.layers[step.layer];
    const int n = l.hc_width;
    for (const char* site : {"attn", "ffn"}) {  // the attention site first
      if (n == 0) break;
      const std::vector<float> w = newest_row(hyper_tensor_name(step.layer, site));  // pre, post, mix[j n + i] (j -> i)
      if (w.size() != size_t((2 + n) * n)) continue;
      HyperConnectionMix mix;
      mix.streams = n;
      mix.pre.assign(w.begin(), w.begin() + n);
      mix.post.assign(w.begin() + n, w.begin() + 2 * n);
      for (int i = 0; i < n; ++i) {
        for (int j = 0; j < n; ++j) mix.residual.push_back(w[2 * n + j * n + i]);
      }
      step.hyper.push_back(std::move(mix));
    }
    if (l.ffn.kind != FfnKind::Moe) continue;
    const std::vector<float> route = newest_row(route_tensor_name(step.layer));  // k ids, then k weights
    const size_t k = route.size() / 2;
    for (size_t j = 0; j < k; ++j) {
      step.experts.push_back(static_cast<int>(route[j]));
      step.expert_weights.push_back(route[k + j]);
    }
  }
  return r;
}

// DeepSeek V4's CSA / HCA layers: compressed entries (the plan's count, in the cache type)
// and their compressor's f32 ring (kv and score rows of the last ratio positions, twice that
// for CSA's overlapping blocks); CSA adds the indexer's keys and their ring. The bytes add
// up to the plan's compressed_bytes and state_bytes.
std::vector<CompressedCaches> add_compressed_caches(const ModelSpec& spec, const CachePlan& plan, ModelResources& resources) {
  std::vector<CompressedCaches> out(spec.layers.size());
  for (const LayerSpec& l : spec.layers) {
    if (l.compress_ratio <= 0 || !l.owns_cache()) continue;
    const bool csa = l.attention == AttentionKind::Csa;
    auto add = [&](CacheKind kind, int width) {
      CacheDesc c;
      c.layer = l.index;
      c.kind = kind;
      c.ratio = kind == CacheKind::Compressed ? l.compress_ratio : 1;
      c.kv_heads = 1;
      if (kind == CacheKind::Compressed) {
        c.type = plan.type;
        c.capacity = std::max<int64_t>(1, static_cast<int64_t>(plan.layers[l.index].compressed_entries));
        c.head_dim_k = c.head_dim_v = width;
        c.k_equals_v = true;
      } else {
        c.type = GgmlType::F32;
        c.capacity = (csa ? 2 : 1) * l.compress_ratio;
        c.head_dim_k = c.head_dim_v = (csa ? 2 : 1) * width;  // kv rows, score rows
      }
      resources.caches.push_back(c);
      return static_cast<int>(resources.caches.size()) - 1;
    };
    CompressedCaches& c = out[l.index];
    c.entries = add(CacheKind::Compressed, l.head_dim_k);
    c.state = add(CacheKind::State, l.head_dim_k);
    if (csa) {
      c.index_keys = add(CacheKind::Compressed, l.indexer_dim);
      c.index_state = add(CacheKind::State, l.indexer_dim);
    }
  }
  return out;
}

}  // namespace

Session::Session(std::unique_ptr<State> state) : state_(std::move(state)) {}
Session::~Session() = default;

Result<std::unique_ptr<Session>> Session::open(const std::string& path, const SessionOptions& options) {
  return capture([&]() -> std::unique_ptr<Session> {
    auto s = std::make_unique<State>();
    Result<ModelSpec> spec = load_model_spec(path);
    if (!spec) throw spec.error();
    s->spec = std::move(spec.value());
    apply_toggles(s->spec, options.toggles);
    if (s->spec.source != SourceKind::Gguf) {
      throw Error(std::filesystem::path(path).filename().string() + ": only GGUF files can be run (this is a " +
                  (s->spec.source == SourceKind::Card ? "model card" : "Hugging Face folder") + "; inspect works)");
    }
    s->file = GgufFile::open(path);
    if (const std::optional<std::string> why = describe_weightless_file(s->file)) {
      throw Error(std::filesystem::path(path).filename().string() + ": " + *why);
    }
    s->weights = std::make_unique<ModelWeights>(s->file, s->spec);
    s->tokenizer = Tokenizer::from_gguf(s->file);

    const int trained = std::max(s->spec.context_length, 1);
    s->context = options.context > 0 ? options.context : std::min(trained, 4096);
    if (!parse_cache_type(ggml_type_info(options.cache_type) ? ggml_type_info(options.cache_type)->name : "")) {
      throw Error("cache type must be f32, f16, bf16 or q8_0");
    }
    const int batch = std::clamp(options.batch, 1, s->context);
    s->plan = plan_cache(s->spec, s->context, options.cache_type, batch);

    // One cache per owning layer, shaped by the plan; shared layers read their producer's.
    s->resources.weights = s->weights->all();
    std::vector<int> cache_of_layer(s->spec.layers.size(), -1);
    for (const LayerSpec& l : s->spec.layers) {
      if (!l.owns_cache()) {
        cache_of_layer[l.index] = cache_of_layer[l.kv_source];
        continue;
      }
      CacheDesc c;
      c.layer = l.index;
      c.type = options.cache_type;
      c.capacity = static_cast<int64_t>(s->plan.layers[l.index].positions);
      c.kv_heads = l.kv_heads;
      c.head_dim_k = l.head_dim_k;
      c.head_dim_v = l.head_dim_v;
      c.k_equals_v = l.k_equals_v;
      cache_of_layer[l.index] = static_cast<int>(s->resources.caches.size());
      s->resources.caches.push_back(c);
    }
    const std::vector<CompressedCaches> compressed = add_compressed_caches(s->spec, s->plan, s->resources);

    s->decode = build_step_graph({s->spec, *s->weights, cache_of_layer, 1, compressed});
    s->prefill = build_step_graph({s->spec, *s->weights, cache_of_layer, batch, compressed});
    validate_graph(s->decode, s->resources);
    validate_graph(s->prefill, s->resources);

    s->backend = choose_backend(options.device, s->notice);
    if (options.device == "auto") {
      try {
        s->backend->check(s->decode);
        s->backend->check(s->prefill);
      } catch (const Error& e) {
        s->notice = s->backend->name() + " cannot run this model (" + e.what() + "); running on the CPU reference path";
        s->backend = make_cpu_backend();
      }
    }
    // Before anything is uploaded: does it fit? (auto falls back to the CPU path, which reads
    // the weights from the file, when the device is too small.)
    const MemoryChoices choices{std::filesystem::path(path).filename().string(), &s->spec, s->context, batch,
                                options.cache_type};
    const std::vector<const Graph*> graphs = {&s->decode, &s->prefill};
    std::string placed;
    try {
      placed = fit_memory(s->resources, graphs, s->backend->capacity(), choices);
    } catch (const Error& e) {
      if (options.device != "auto" || !s->backend->capacity().copies_weights) throw;
      std::unique_ptr<Backend> cpu = make_cpu_backend();
      placed = fit_memory(s->resources, graphs, cpu->capacity(), choices);
      s->notice = e.what() + std::string("; running on the CPU reference path");
      s->backend = std::move(cpu);
    }
    if (!placed.empty()) s->notice += (s->notice.empty() ? "" : "; ") + placed;
    Backend::LoadProgress progress;
    if (options.progress) progress = [&](uint64_t done, uint64_t total) { return options.progress(total ? double(done) / total : 1.0); };
    s->backend->load(s->resources, progress);
    // The device holds its copy now: the file's pages need not stay in this process too.
    if (s->backend->capacity().copies_weights) s->file.release_pages();
    s->backend->prepare(s->decode);
    if (batch > 1) s->backend->prepare(s->prefill);
    return std::unique_ptr<Session>(new Session(std::move(s)));
  });
}

const ModelSpec& Session::spec() const { return state_->spec; }
const CachePlan& Session::cache_plan() const { return state_->plan; }
const Tokenizer& Session::tokenizer() const { return *state_->tokenizer; }
std::string Session::backend_name() const { return state_->backend->name(); }
const std::string& Session::notice() const { return state_->notice; }
int Session::context() const { return state_->context; }
int Session::position() const { return state_->position; }
int Session::batch() const { return state_->prefill.max_tokens; }
const std::vector<int32_t>& Session::tokens() const { return state_->history; }

Result<std::vector<float>> Session::feed(std::span<const int32_t> tokens, const std::function<bool(int, int)>& progress) {
  return capture([&]() -> std::vector<float> {
    State& s = *state_;
    if (tokens.empty()) throw Error("nothing to feed");
    if (s.position + static_cast<int64_t>(tokens.size()) > s.context) {
      throw Error(std::to_string(tokens.size()) + " tokens at position " + std::to_string(s.position) +
                  " do not fit the context of " + std::to_string(s.context) + " tokens");
    }
    for (int32_t id : tokens) {
      if (id < 0 || id >= s.spec.vocab) throw Error("token id " + std::to_string(id) + " is outside the vocabulary of " + std::to_string(s.spec.vocab));
    }
    const auto started = std::chrono::steady_clock::now();
    const Graph* last = nullptr;
    size_t done = 0;
    while (done < tokens.size()) {
      const size_t n = std::min<size_t>(tokens.size() - done, s.prefill.max_tokens);
      last = n == 1 ? &s.decode : &s.prefill;
      s.backend->run(*last, tokens.subspan(done, n), s.position);
      s.history.insert(s.history.end(), tokens.begin() + done, tokens.begin() + done + n);
      s.position += static_cast<int>(n);
      done += n;
      if (progress && done < tokens.size() && !progress(static_cast<int>(done), static_cast<int>(tokens.size()))) {
        throw Error("cancelled after " + std::to_string(done) + " of " + std::to_string(tokens.size()) + " tokens");
      }
    }
    std::vector<float> logits = s.backend->read(*last, last->logits);
    s.report = make_report(s.spec, s.resources, *s.backend, *last, s.plan.type, s.position);
    s.report.tokens = static_cast<int>(tokens.size());
    s.report.milliseconds = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
    return logits;
  });
}

void Session::rewind(int position) {
  State& s = *state_;
  position = std::clamp(position, 0, s.position);
  // A sliding layer's ring may already have overwritten keys the token at `position` still
  // needs (the window before it); then the kept tokens are fed again from the start.
  bool ring_lost_keys = false;
  for (const LayerSpec& l : s.spec.layers) {
    const int64_t capacity = static_cast<int64_t>(s.plan.layers[l.index].positions);
    const int64_t oldest_kept = std::max<int64_t>(0, s.position - capacity);
    const int64_t oldest_needed = std::max<int64_t>(0, position - (l.window > 0 ? l.window - 1 : position));
    if (l.owns_cache() && oldest_kept > oldest_needed) ring_lost_keys = true;
    if (l.state_elements > 0 && position < s.position) ring_lost_keys = true;  // compressor rings hold only the newest rows
  }
  s.history.resize(position);
  if (position == 0 || ring_lost_keys) {
    s.backend->clear_caches();
    s.position = 0;
    if (position > 0) {
      const std::vector<int32_t> kept = std::move(s.history);
      s.history.clear();
      Result<std::vector<float>> refed = feed(kept);
      if (!refed) throw refed.error();
    }
  } else {
    s.backend->truncate_caches(position);
    s.position = position;
  }
}

const StepReport& Session::last_report() const { return state_->report; }

std::vector<LayerTime> Session::layer_times() const {
  std::vector<LayerTime> out;
  for (const LayerTiming& t : state_->backend->timings()) out.push_back({t.layer, t.milliseconds});
  return out;
}

MemoryUse Session::memory() const {
  const Backend::Memory m = state_->backend->memory();
  return {m.weights, m.caches, m.scratch, m.host_tables};
}

}  // namespace archscope
