// A Session runs a model: it loads the weights onto a backend (Vulkan, or the CPU reference
// path), allocates the KV caches from the CachePlan, and feeds tokens, prefilling in
// batches and decoding one token per step with step graphs recorded once and replayed.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "archscope/cache_plan.h"
#include "archscope/error.h"
#include "archscope/model_spec.h"
#include "archscope/tokenizer.h"
#include "archscope/toggles.h"

namespace archscope {

struct SessionOptions {
  // "auto": the best Vulkan device, else the CPU with a notice; "cpu"; "vulkan"; or a Vulkan
  // device selector (an index or part of the name).
  std::string device = "auto";
  GgmlType cache_type = GgmlType::F16;
  int context = 0;   // tokens; 0: the model's trained context, at most 4096
  int batch = 256;   // prefill tokens per step
  std::vector<Toggle> toggles;  // what-if changes to the model (archscope/toggles.h)
  // Called as the weights reach the device with the fraction done (0..1); returning false
  // cancels the open, which then fails with "cancelled".
  std::function<bool(double)> progress;
};

struct LayerTime {
  int layer = -1;    // -1: embedding and output head
  double milliseconds = 0.0;
};

// One manifold-constrained hyper-connection site (mHC, DeepSeek V4): how the n residual
// streams mix around a sublayer for the newest token.
struct HyperConnectionMix {
  int streams = 0;              // n
  std::vector<float> residual;  // n x n row-major: output stream i takes residual[i*n+j] of stream j
  std::vector<float> pre;       // n: weights that read the sublayer's input from the streams
  std::vector<float> post;      // n: weights that add the sublayer's output to each stream
};

// What one layer did in the last step, for the live views.
struct LayerStep {
  int layer = 0;
  uint64_t cache_bytes = 0;    // bytes of its own cache filled so far (0 when it reads another's)
  uint64_t attended = 0;       // key positions (raw and compressed) the newest token attended
  int query_heads = 0;         // query heads that attended: the layer's attention budget
  double milliseconds = 0.0;   // time of its ops in the step (0 when the backend does not measure)
  std::vector<int> experts;    // experts routed for the newest token (MoE layers), best first
  std::vector<float> expert_weights;
  std::vector<HyperConnectionMix> hyper;  // mHC sites (attention, then MoE); empty without mHC
};

// What the last feed did: one per decoded token (or prefill call).
struct StepReport {
  int position = 0;            // tokens in the cache after the step
  int tokens = 0;              // tokens fed
  double milliseconds = 0.0;   // wall time of the feed
  uint64_t cache_bytes = 0;    // all layers' filled cache bytes
  double head_milliseconds = 0.0;  // embedding and output head
  std::vector<LayerStep> layers;
};

struct MemoryUse {
  uint64_t weights = 0, caches = 0, scratch = 0;  // on the device (host memory for the CPU backend)
  uint64_t host_tables = 0;  // weights kept in host memory, gathered row by row (Gemma 4's per-layer table)
};

class Session {
 public:
  // Loads the model at `path` (a GGUF file) with options.toggles applied to its spec,
  // reporting the weights' upload through options.progress.
  static Result<std::unique_ptr<Session>> open(const std::string& path, const SessionOptions& options = {});
  ~Session();

  const ModelSpec& spec() const;
  const CachePlan& cache_plan() const;   // the plan the caches were allocated from
  const Tokenizer& tokenizer() const;
  std::string backend_name() const;
  const std::string& notice() const;     // e.g. why the CPU path is used; empty when none
  int context() const;
  int position() const;                  // tokens in the cache so far
  int batch() const;                     // prefill tokens per step (sliding rings hold window + batch - 1)
  const std::vector<int32_t>& tokens() const;  // the tokens in the cache, oldest first

  // Feeds tokens at the current position and returns the logits after the last of them.
  // Fails when the tokens do not fit the context or a token id is outside the vocabulary.
  // progress(done, total) is called after each prefill batch; returning false cancels
  // (the tokens fed so far stay in the cache).
  Result<std::vector<float>> feed(std::span<const int32_t> tokens,
                                  const std::function<bool(int, int)>& progress = {});
  // Forget everything from `position` on (0: a new conversation). When a sliding-window
  // ring has already dropped keys the earlier position needs, the kept tokens are fed again.
  void rewind(int position);

  std::vector<LayerTime> layer_times() const;  // of the last step
  const StepReport& last_report() const;
  MemoryUse memory() const;

 private:
  struct State;
  explicit Session(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

}  // namespace archscope
