// The running model behind the chat. ChatEngine owns a worker thread on which an
// archscope::Session lives; every call returns at once and the answers come back as
// signals on the UI thread: streamed text pieces, one StepReport per decoded token, and
// the statistics of each reply. stop() is honoured after the current token. Requests
// are served in order; a request made while another runs waits behind it.
#pragma once

#include <QObject>
#include <QString>
#include <QThread>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

#include "archscope/chat_template.h"
#include "archscope/chat_template_check.h"
#include "archscope/sampler.h"
#include "archscope/session.h"

namespace archscope::gui {

// What the window shows about an opened session.
struct SessionInfo {
  QString path;
  QString backend;       // "vulkan: llvmpipe ...", "cpu (reference)"
  QString notice;        // why the CPU path is used; empty when none
  int context = 0;
  int batch = 1;         // prefill tokens per step: the CachePlan's batch
  archscope::GgmlType cache_type = archscope::GgmlType::F16;
  archscope::ChatFormat format = archscope::ChatFormat::Plain;
  archscope::ChatTemplateCheck template_check;  // the file's own chat template against `format`
  archscope::MemoryUse memory;
  archscope::ModelSpec spec;  // with the session's toggles applied
  std::vector<archscope::Toggle> toggles;
};

struct ChatRequest {
  std::vector<archscope::ChatMessage> messages;  // the conversation, ending with the user's turn
  archscope::SamplerSettings sampling;
  int max_tokens = 256;
};

struct ReplyStats {
  int prompt_tokens = 0;     // tokens the prompt has
  int prefilled = 0;         // of them fed now (the rest were in the cache)
  int generated = 0;
  double prefill_ms = 0.0, decode_ms = 0.0;
  int position = 0;          // tokens in the cache afterwards
  bool stopped = false;      // by stop()
  QString text;
  QString error;             // empty when the reply ended normally
  double prefillTokensPerSecond() const { return prefill_ms > 0 ? prefilled * 1000.0 / prefill_ms : 0.0; }
  double decodeTokensPerSecond() const { return decode_ms > 0 ? generated * 1000.0 / decode_ms : 0.0; }
};

// The same prompt run as A (the model as loaded) and B (with toggles), greedy.
struct CompareRequest {
  std::vector<archscope::ChatMessage> messages;
  std::vector<archscope::Toggle> toggles;  // B's toggles
  archscope::GgmlType cache_type_b = archscope::GgmlType::F16;
  int max_tokens = 32;
};

struct CompareSide {
  QString label;             // "A: as loaded", "B: window=4"
  QString text;
  int tokens = 0;
  double tokens_per_second = 0.0;
  uint64_t cache_bytes = 0;  // cache filled after the reply
  uint64_t cache_bytes_full = 0;  // the plan's bytes at the session's whole context
};

struct CompareResult {
  CompareSide a, b;
  // Per token of A's reply, B fed the same tokens (teacher forcing): whether both pick the
  // same most likely token, and KL(A || B) of the next-token distributions in nats.
  std::vector<bool> top1_agree;
  std::vector<double> kl;
  double agreement() const;  // fraction of top1_agree
  double meanKl() const;
  QString error;             // empty when both runs finished
};

class ChatWorker;

class ChatEngine : public QObject {
  Q_OBJECT
 public:
  explicit ChatEngine(QObject* parent = nullptr);
  // Stops a running reply and waits for the worker thread.
  ~ChatEngine() override;

  // Opens a session on `path` (a GGUF file), replacing the current one; openProgress
  // follows the weights' upload and stop() cancels it.
  void open(const QString& path, const archscope::SessionOptions& options);
  // Drops the session (and its device memory).
  void close();
  void reply(const ChatRequest& request);
  void compare(const CompareRequest& request);
  // Stops the running reply or compare after the current token.
  void stop();
  bool busy() const { return pending_ > 0; }

 signals:
  void opened(std::shared_ptr<const SessionInfo> info);
  void openFailed(const QString& path, const QString& message);
  void openProgress(int percent);
  void prefillProgress(int done, int total);
  void piece(const QString& text);
  void step(std::shared_ptr<const archscope::StepReport> report);
  void replied(const ReplyStats& stats);
  void compareProgress(const QString& stage);
  void compared(std::shared_ptr<const CompareResult> result);
  void idle();  // every request made so far has been served

 private:
  void post(std::function<void(ChatWorker&)> job);

  QThread thread_;
  ChatWorker* worker_ = nullptr;
  std::shared_ptr<std::atomic<bool>> stop_;
  int pending_ = 0;
};

}  // namespace archscope::gui
