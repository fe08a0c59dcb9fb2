#include "chat_engine.h"

#include <QFileInfo>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <numeric>

#include "archscope/cache_plan.h"
#include "archscope/generation.h"
#include "archscope/gguf.h"

namespace archscope::gui {

namespace {

std::vector<double> log_softmax(const std::vector<float>& logits) {
  const float top = *std::max_element(logits.begin(), logits.end());
  double sum = 0.0;
  for (float l : logits) sum += std::exp(double(l) - top);
  const double log_sum = std::log(sum) + top;
  std::vector<double> out(logits.size());
  for (size_t i = 0; i < logits.size(); ++i) out[i] = double(logits[i]) - log_sum;
  return out;
}

size_t argmax(const std::vector<float>& v) { return size_t(std::max_element(v.begin(), v.end()) - v.begin()); }

}  // namespace

double CompareResult::agreement() const {
  if (top1_agree.empty()) return 0.0;
  return double(std::count(top1_agree.begin(), top1_agree.end(), true)) / double(top1_agree.size());
}

double CompareResult::meanKl() const {
  return kl.empty() ? 0.0 : std::accumulate(kl.begin(), kl.end(), 0.0) / double(kl.size());
}

// Lives on the engine's thread; every method runs there, one at a time.
class ChatWorker : public QObject {
 public:
  ChatWorker(ChatEngine* engine, std::shared_ptr<std::atomic<bool>> stop) : engine_(engine), stop_(std::move(stop)) {}

  void open(const QString& path, SessionOptions options) {
    session_.reset();  // free the old model's device memory before loading the next
    int reported = -1;
    options.progress = [&](double fraction) {
      const int percent = int(fraction * 100);
      if (percent != reported) emit engine_->openProgress(reported = percent);
      return !stop_->load();
    };
    Result<std::unique_ptr<Session>> session = Session::open(path.toStdString(), options);
    options.progress = nullptr;
    if (!session) {
      emit engine_->openFailed(path, QString::fromStdString(session.error().what()));
      return;
    }
    session_ = std::move(session.value());
    path_ = path;
    options_ = options;
    const GgufFile file = GgufFile::open(path.toStdString());
    format_ = detect_chat_format(file);
    // The built-in format against the file's own template (renders two short chats: quick).
    Result<ChatTemplateCheck> check = capture([&] { return check_chat_template(file, session_->tokenizer()); });
    template_check_ = check ? std::move(*check) : ChatTemplateCheck{};
    emit engine_->opened(info());
  }

  void close() { session_.reset(); }

  void reply(const ChatRequest& request) {
    ReplyStats stats;
    if (!session_) {
      stats.error = "no model is running";
      emit engine_->replied(stats);
      return;
    }
    Session& s = *session_;
    const std::vector<int32_t> prompt = encode_chat(s.tokenizer(), format_, request.messages, true);
    stats.prompt_tokens = int(prompt.size());
    if (int(prompt.size()) >= s.context()) {
      stats.error = QString("the conversation is %1 tokens and no longer fits the context of %2: start a new chat")
                        .arg(prompt.size())
                        .arg(s.context());
      stats.position = s.position();
      emit engine_->replied(stats);
      return;
    }
    Result<std::vector<float>> logits = feed_prompt(s, prompt, [&](int done, int total) {
      emit engine_->prefillProgress(done, total);
      return !stop_->load();
    });
    if (!logits) {
      stats.error = QString::fromStdString(logits.error().what());
      stats.stopped = stop_->load();
      stats.position = s.position();
      emit engine_->replied(stats);
      return;
    }
    stats.prefilled = s.last_report().tokens;
    stats.prefill_ms = s.last_report().milliseconds;
    emit engine_->step(std::make_shared<const StepReport>(s.last_report()));

    // The callback sees each token before it is fed, so the report it forwards is the
    // previous token's; the last one is forwarded after the loop.
    int reported = s.position();
    auto forward_report = [&] {
      if (s.position() == reported) return;
      reported = s.position();
      stats.decode_ms += s.last_report().milliseconds;
      emit engine_->step(std::make_shared<const StepReport>(s.last_report()));
    };
    Sampler sampler(request.sampling);
    std::vector<int32_t> history = prompt;
    const Generation g = generate(s, std::move(logits.value()), sampler, history, request.max_tokens,
                                  [&](int32_t, const std::string& piece, const std::vector<float>&) {
                                    forward_report();
                                    if (!piece.empty()) emit engine_->piece(QString::fromStdString(piece));
                                    return !stop_->load();
                                  });
    forward_report();
    stats.generated = int(g.tokens.size());
    stats.stopped = g.stopped;
    stats.text = QString::fromStdString(g.text);
    stats.error = QString::fromStdString(g.error);
    stats.position = s.position();
    emit engine_->replied(stats);
  }

  void compare(const CompareRequest& request) {
    auto result = std::make_shared<CompareResult>();
    try {
      run_compare(request, *result);
    } catch (const std::exception& e) {
      result->error = e.what();
    }
    emit engine_->compared(result);
  }

 private:
  std::shared_ptr<const SessionInfo> info() const {
    auto i = std::make_shared<SessionInfo>();
    i->path = path_;
    i->backend = QString::fromStdString(session_->backend_name());
    i->notice = QString::fromStdString(session_->notice());
    i->context = session_->context();
    i->batch = session_->batch();
    i->cache_type = session_->cache_plan().type;
    i->format = format_;
    i->template_check = template_check_;
    i->memory = session_->memory();
    i->spec = session_->spec();
    i->toggles = options_.toggles;
    return i;
  }

  struct Run {
    std::vector<int32_t> tokens;
    std::vector<std::vector<float>> logits;  // the logits each token was picked from
  };

  // Greedy reply to `prompt` on `session`, filling `side`.
  Run run_side(Session& session, const std::vector<int32_t>& prompt, int max_tokens, CompareSide& side) {
    Result<std::vector<float>> first = feed_prompt(session, prompt);
    if (!first) throw Error(first.error().what());
    Sampler greedy({.temperature = 0.0f});
    std::vector<int32_t> history = prompt;
    Run run;
    const auto started = std::chrono::steady_clock::now();
    const Generation g = generate(session, std::move(first.value()), greedy, history, max_tokens,
                                  [&](int32_t id, const std::string&, const std::vector<float>& logits) {
                                    if (id >= 0) run.logits.push_back(logits);
                                    return !stop_->load();
                                  });
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (!g.error.empty()) throw Error(g.error);
    if (g.stopped) throw Error("stopped");
    run.tokens = g.tokens;
    side.text = QString::fromStdString(g.text);
    side.tokens = int(g.tokens.size());
    side.tokens_per_second = seconds > 0 ? g.tokens.size() / seconds : 0.0;
    side.cache_bytes = session.last_report().cache_bytes;
    side.cache_bytes_full = plan_cache(session.spec(), session.context(), session.cache_plan().type).bytes;
    return run;
  }

  void run_compare(const CompareRequest& request, CompareResult& result) {
    if (!session_) throw Error("no model is running");
    const std::vector<int32_t> prompt = encode_chat(session_->tokenizer(), format_, request.messages, true);
    if (int(prompt.size()) + request.max_tokens > session_->context()) {
      throw Error("the prompt and reply do not fit the context of " + std::to_string(session_->context()) + " tokens");
    }
    result.a.label = "A: as loaded";
    result.b.label = "B: " + QString::fromStdString(describe_toggles(request.toggles));
    if (request.cache_type_b != options_.cache_type) {
      result.b.label += QString(request.toggles.empty() ? "" : ", ") + "cache " + ggml_type_info(request.cache_type_b)->name;
    }
    emit engine_->compareProgress("Running A");
    const Run a = run_side(*session_, prompt, request.max_tokens, result.a);

    emit engine_->compareProgress("Loading B");
    SessionOptions b_options = options_;
    b_options.toggles.insert(b_options.toggles.end(), request.toggles.begin(), request.toggles.end());
    b_options.cache_type = request.cache_type_b;
    Result<std::unique_ptr<Session>> opened = Session::open(path_.toStdString(), b_options);
    if (!opened) throw Error(std::string("B: ") + opened.error().what());
    Session& b = *opened.value();
    emit engine_->compareProgress("Running B");
    run_side(b, prompt, request.max_tokens, result.b);

    // B reads A's tokens, so both distributions are over the same prefix at every step.
    emit engine_->compareProgress("Comparing distributions");
    b.rewind(0);
    Result<std::vector<float>> logits = b.feed(prompt);
    for (size_t i = 0; i < a.logits.size(); ++i) {
      if (!logits) throw Error(std::string("B: ") + logits.error().what());
      if (stop_->load()) throw Error("stopped");
      const std::vector<double> pa = log_softmax(a.logits[i]), pb = log_softmax(*logits);
      double kl = 0.0;
      for (size_t t = 0; t < pa.size(); ++t) kl += std::exp(pa[t]) * (pa[t] - pb[t]);
      result.kl.push_back(std::max(0.0, kl));
      result.top1_agree.push_back(argmax(a.logits[i]) == argmax(*logits));
      if (i + 1 < a.logits.size()) logits = b.feed(std::span(&a.tokens[i], 1));
    }
  }

  ChatEngine* engine_;
  std::shared_ptr<std::atomic<bool>> stop_;
  std::unique_ptr<Session> session_;
  QString path_;
  SessionOptions options_;
  ChatFormat format_ = ChatFormat::Plain;
  ChatTemplateCheck template_check_;
};

ChatEngine::ChatEngine(QObject* parent) : QObject(parent), stop_(std::make_shared<std::atomic<bool>>(false)) {
  thread_.setObjectName("archscope engine");
  worker_ = new ChatWorker(this, stop_);
  worker_->moveToThread(&thread_);
  connect(&thread_, &QThread::finished, worker_, &QObject::deleteLater);
  thread_.start();
}

ChatEngine::~ChatEngine() {
  stop_->store(true);
  thread_.quit();
  thread_.wait();
}

void ChatEngine::post(std::function<void(ChatWorker&)> job) {
  ++pending_;
  QMetaObject::invokeMethod(worker_, [this, job = std::move(job)] {
    job(*worker_);
    QMetaObject::invokeMethod(this, [this] {
      if (--pending_ == 0) emit idle();
    }, Qt::QueuedConnection);
  }, Qt::QueuedConnection);
}

void ChatEngine::open(const QString& path, const SessionOptions& options) {
  stop_->store(false);
  post([path, options](ChatWorker& w) { w.open(path, options); });
}

void ChatEngine::close() {
  post([](ChatWorker& w) { w.close(); });
}

void ChatEngine::reply(const ChatRequest& request) {
  stop_->store(false);
  post([request](ChatWorker& w) { w.reply(request); });
}

void ChatEngine::compare(const CompareRequest& request) {
  stop_->store(false);
  post([request](ChatWorker& w) { w.compare(request); });
}

void ChatEngine::stop() { stop_->store(true); }

}  // namespace archscope::gui
