// The chat on a running tiny model: tokens reach the transcript, the views follow the
// StepReports, stop, regenerate, edit-and-resend, compare runs both sides, and a GGUF file
// the engine cannot run shows its error while the window stays usable.
#include <QPlainTextEdit>
#include <QPushButton>
#include <QSignalSpy>
#include <QTemporaryDir>

#include <gtest/gtest.h>

#include "archscope/gguf.h"
#include "archscope/model_writer.h"
#include "cache_chart_view.h"
#include "chat_panel.h"
#include "compare_view.h"
#include "main_window.h"
#include "mhc_view.h"
#include "performance_view.h"
#include "routing_view.h"

using archscope::gui::ChatPanel;
using archscope::gui::MainWindow;
using archscope::gui::ReplyStats;

namespace {

QString tiny_model(const QTemporaryDir& dir, const char* arch = "llama") {
  const QString path = dir.filePath(QString(arch) + ".gguf");
  archscope::write_tiny_model({.arch = arch, .type = archscope::GgmlType::F16}, path.toStdString());
  return path;
}

template <typename Object, typename Signal>
bool wait_for(Object* object, Signal signal, int seconds = 60) {
  QSignalSpy spy(object, signal);
  for (int i = 0; i < seconds * 10 && spy.isEmpty(); ++i) spy.wait(100);
  return !spy.isEmpty();
}

// Opens `path` and waits until the engine runs it.
bool open_and_run(MainWindow& w, const QString& path) {
  QSignalSpy opened(&w, &MainWindow::sessionOpened);
  QSignalSpy failed(&w, &MainWindow::sessionFailed);
  QSignalSpy load_failed(&w, &MainWindow::loadFailed);
  w.openArguments({"archscope", path});
  for (int i = 0; i < 600 && opened.isEmpty() && failed.isEmpty() && load_failed.isEmpty(); ++i) opened.wait(100);
  return !opened.isEmpty();
}

ReplyStats send_and_wait(ChatPanel* chat, const QString& text) {
  QSignalSpy finished(chat, &ChatPanel::replyFinished);
  chat->send(text);
  for (int i = 0; i < 600 && finished.isEmpty(); ++i) finished.wait(100);
  if (finished.isEmpty()) {
    ReplyStats none;
    none.error = "no reply within 60 s";
    return none;
  }
  return finished.first().first().value<ReplyStats>();
}

}  // namespace

TEST(Chat, TokensStreamIntoTheTranscriptAndTheViewsFollow) {
  QTemporaryDir dir;
  MainWindow w;
  ASSERT_TRUE(open_and_run(w, tiny_model(dir))) << w.errorText().toStdString();
  EXPECT_TRUE(w.running());
  ChatPanel* chat = w.chat();
  chat->setMaxTokens(48);

  QSignalSpy pieces(w.engine(), &archscope::gui::ChatEngine::piece);
  QSignalSpy steps(w.engine(), &archscope::gui::ChatEngine::step);
  const ReplyStats stats = send_and_wait(chat, "Hello there");
  ASSERT_TRUE(stats.error.isEmpty()) << stats.error.toStdString();
  EXPECT_GT(stats.generated, 0);
  EXPECT_GT(stats.prompt_tokens, 2);
  EXPECT_EQ(stats.prefilled, stats.prompt_tokens);
  EXPECT_FALSE(pieces.isEmpty());
  EXPECT_EQ(steps.size(), stats.generated + 1);  // the prompt's report, then one per reply token fed

  ASSERT_EQ(chat->messages().size(), 2u);
  EXPECT_EQ(chat->messages()[0].content, "Hello there");
  EXPECT_EQ(chat->messages()[1].role, "assistant");
  EXPECT_EQ(chat->messages()[1].content, stats.text.toStdString());
  EXPECT_TRUE(chat->transcriptText().contains("Hello there"));
  QString shown = chat->transcriptText();
  shown.replace(QChar(0x2028), '\n');
  EXPECT_TRUE(shown.contains(stats.text)) << shown.toStdString();
  EXPECT_EQ(chat->contextText(), QString("%1 / %2 tokens").arg(stats.position).arg(w.model()->context_length));
  EXPECT_TRUE(chat->speedText().contains("tok/s")) << chat->speedText().toStdString();

  // Live mode: the views' context is the cache's, and the performance tab has layer times.
  EXPECT_EQ(w.context(), uint64_t(stats.position));
  EXPECT_EQ(w.plan().context, uint64_t(stats.position));
  EXPECT_EQ(w.performanceView()->layerMilliseconds().size(), w.model()->layers.size());
  EXPECT_EQ(w.cacheView()->measuredCount(), size_t(steps.size()));  // one measured point per report
  EXPECT_TRUE(w.performanceView()->summaryText().contains("tok/s"));
  EXPECT_TRUE(w.headerText().contains("vulkan") || w.headerText().contains("cpu")) << w.headerText().toStdString();

  // A second turn reuses the cache: only the new tokens are read.
  const ReplyStats second = send_and_wait(chat, "And again");
  ASSERT_TRUE(second.error.isEmpty()) << second.error.toStdString();
  EXPECT_LT(second.prefilled, second.prompt_tokens);
  EXPECT_EQ(chat->messages().size(), 4u);
}

TEST(Chat, StopRegenerateAndEditLast) {
  QTemporaryDir dir;
  MainWindow w;
  ASSERT_TRUE(open_and_run(w, tiny_model(dir, "qwen3")));
  ChatPanel* chat = w.chat();

  // Stop after the first streamed piece of a long reply.
  QObject::connect(w.engine(), &archscope::gui::ChatEngine::piece, chat, [chat] { chat->stop(); });
  chat->setMaxTokens(3000);
  ASSERT_EQ(chat->maxTokens(), 3000);
  const ReplyStats stopped = send_and_wait(chat, "Tell me everything");
  EXPECT_TRUE(stopped.stopped);
  EXPECT_LT(stopped.generated, 10);
  EXPECT_TRUE(chat->speedText().contains("stopped"));
  QObject::disconnect(w.engine(), &archscope::gui::ChatEngine::piece, chat, nullptr);
  EXPECT_FALSE(chat->generating());

  // Regenerate replaces the last reply.
  chat->setMaxTokens(8);
  QSignalSpy finished(chat, &ChatPanel::replyFinished);
  chat->regenerate();
  ASSERT_TRUE(finished.wait(60000));
  ASSERT_EQ(chat->messages().size(), 2u);
  EXPECT_EQ(chat->messages()[0].content, "Tell me everything");

  // Edit last puts the message back in the box and drops that turn.
  chat->editLast();
  EXPECT_TRUE(chat->messages().empty());
  EXPECT_EQ(chat->input()->toPlainText(), "Tell me everything");
  const ReplyStats resent = send_and_wait(chat, "Tell me something else");
  ASSERT_TRUE(resent.error.isEmpty()) << resent.error.toStdString();
  ASSERT_EQ(chat->messages().size(), 2u);
  EXPECT_EQ(chat->messages()[0].content, "Tell me something else");
}

TEST(Chat, CompareRunsAAndBAndMeasuresThem) {
  QTemporaryDir dir;
  MainWindow w;
  ASSERT_TRUE(open_and_run(w, tiny_model(dir)));
  archscope::gui::CompareView* compare = w.compareView();
  compare->setCacheTypeB(archscope::GgmlType::Q8_0);
  compare->setPrompt("Once upon a time");
  compare->setMaxTokens(12);
  QSignalSpy finished(compare, &archscope::gui::CompareView::finished);
  compare->run();
  EXPECT_TRUE(compare->running());
  for (int i = 0; i < 600 && finished.isEmpty(); ++i) finished.wait(100);
  ASSERT_FALSE(finished.isEmpty());
  const archscope::gui::CompareResult* r = compare->result();
  ASSERT_TRUE(r);
  ASSERT_TRUE(r->error.isEmpty()) << r->error.toStdString();
  EXPECT_EQ(r->a.tokens, 12);
  EXPECT_FALSE(r->a.text.isEmpty());
  EXPECT_FALSE(r->b.text.isEmpty());
  EXPECT_TRUE(r->b.label.contains("q8_0")) << r->b.label.toStdString();
  ASSERT_EQ(r->kl.size(), 12u);
  ASSERT_EQ(r->top1_agree.size(), 12u);
  for (double kl : r->kl) EXPECT_GE(kl, 0.0);
  EXPECT_GT(r->meanKl(), 0.0);     // q8_0 keys and values are not exactly f16's
  EXPECT_LT(r->meanKl(), 0.05);    // but close
  EXPECT_GE(r->agreement(), 0.5);
  EXPECT_LT(r->b.cache_bytes, r->a.cache_bytes);
  EXPECT_LT(r->b.cache_bytes_full, r->a.cache_bytes_full);
  EXPECT_TRUE(compare->summaryText().contains("agreement"));
}

TEST(Chat, AFileTheEngineCannotRunShowsTheError) {
  QTemporaryDir dir;
  const std::string good = tiny_model(dir).toStdString();
  // The same file without one layer's key projection: its description loads, running fails.
  archscope::GgufFile file = archscope::GgufFile::open(good);
  archscope::GgufWriter copy;
  for (const auto& [key, value] : file.metadata())
    if (key != "general.alignment") copy.set(key, value);
  for (const archscope::GgufTensor& t : file.tensors())
    if (t.name != "blk.1.attn_k.weight") copy.add_tensor(t.name, t.shape, t.type, std::vector<uint8_t>(t.data, t.data + t.bytes));
  const QString broken = dir.filePath("broken.gguf");
  copy.write(broken.toStdString());

  MainWindow w;
  EXPECT_FALSE(open_and_run(w, broken));
  EXPECT_TRUE(w.errorText().contains("blk.1.attn_k.weight")) << w.errorText().toStdString();
  EXPECT_FALSE(w.running());
  EXPECT_FALSE(w.chat()->input()->isEnabled());
  // Still usable: a good file runs.
  EXPECT_TRUE(open_and_run(w, QString::fromStdString(good)));
  EXPECT_TRUE(w.errorText().isEmpty());
}

// A tiny Laguna model: the Routing tab is shown and fills with the experts each token chose.
TEST(Chat, RoutingFollowsALagunaReply) {
  QTemporaryDir dir;
  MainWindow w;
  ASSERT_TRUE(open_and_run(w, tiny_model(dir, "laguna")));
  const int routing_tab = w.tabs()->indexOf(w.routingView());
  EXPECT_TRUE(w.tabs()->isTabVisible(routing_tab));
  w.chat()->setMaxTokens(12);
  const ReplyStats stats = send_and_wait(w.chat(), "Hello");
  ASSERT_TRUE(stats.error.isEmpty()) << stats.error.toStdString();
  archscope::gui::RoutingView* routing = w.routingView();
  EXPECT_EQ(routing->tokensSeen(), stats.generated + 1);  // the prompt's last token, then each reply token fed
  for (const archscope::LayerSpec& l : w.model()->layers) {
    if (l.ffn.kind != archscope::FfnKind::Moe) {
      EXPECT_TRUE(routing->latestExperts(l.index).empty());
      continue;
    }
    EXPECT_EQ(int(routing->latestExperts(l.index).size()), l.ffn.active_experts) << "layer " << l.index;
    int total = 0;
    for (int e = 0; e < l.ffn.experts; ++e) total += routing->count(l.index, e);
    EXPECT_EQ(total, routing->tokensSeen() * l.ffn.active_experts);
  }
}

// A tiny Gemma 4 model: the live cache points are the CachePlan's bytes at each position
// (sliding rings stop growing, shared layers add nothing), and the performance tab counts
// the per-layer-embedding table.
TEST(Chat, Gemma4CacheFollowsThePlanLive) {
  QTemporaryDir dir;
  MainWindow w;
  ASSERT_TRUE(open_and_run(w, tiny_model(dir, "gemma4")));
  QSignalSpy steps(w.engine(), &archscope::gui::ChatEngine::step);
  w.chat()->setMaxTokens(16);
  const ReplyStats stats = send_and_wait(w.chat(), "Hello there");
  ASSERT_TRUE(stats.error.isEmpty()) << stats.error.toStdString();
  ASSERT_FALSE(steps.isEmpty());
  for (const QList<QVariant>& args : steps) {
    const auto report = args.first().value<std::shared_ptr<const archscope::StepReport>>();
    // Batch 256 is how the window's ring is sized: what the session allocates.
    const archscope::CachePlan plan = archscope::plan_cache(*w.model(), report->position, archscope::GgmlType::F16, 256);
    uint64_t expected = 0;
    for (const archscope::LayerCache& l : plan.layers) expected += l.bytes;
    EXPECT_EQ(report->cache_bytes, expected) << "at " << report->position << " tokens";
    for (const archscope::LayerSpec& l : w.model()->layers) {
      if (!l.owns_cache()) {
        EXPECT_EQ(report->layers[l.index].cache_bytes, 0u);
      }
    }
  }
  EXPECT_EQ(w.plan().context, uint64_t(stats.position));
  // The views draw the plan the session allocated from (rings of window + batch - 1).
  const auto last = steps.last().first().value<std::shared_ptr<const archscope::StepReport>>();
  EXPECT_EQ(w.plan().bytes, last->cache_bytes);
}

// A tiny DeepSeek V4 model: every reply token's mHC mixes reach the mHC tab (both sites of
// all four layers, doubly stochastic), and the scrubber replays earlier tokens.
TEST(Chat, DeepSeekV4MixesReachTheMhcViewLive) {
  QTemporaryDir dir;
  MainWindow w;
  ASSERT_TRUE(open_and_run(w, tiny_model(dir, "deepseek4"))) << w.errorText().toStdString();
  const int mhc_tab = w.tabs()->indexOf(w.mhcView());
  EXPECT_TRUE(w.tabs()->isTabVisible(mhc_tab));
  w.chat()->setMaxTokens(12);
  const ReplyStats stats = send_and_wait(w.chat(), "Hello");
  ASSERT_TRUE(stats.error.isEmpty()) << stats.error.toStdString();
  archscope::gui::MhcView* mhc = w.mhcView();
  EXPECT_EQ(mhc->tokenCount(), stats.generated + 1);  // the prompt's last token, then each reply token fed
  EXPECT_EQ(mhc->token(), mhc->tokenCount() - 1);   // following the newest
  for (int layer = 0; layer < 4; ++layer) {
    for (int site = 0; site < 2; ++site) {
      const archscope::HyperConnectionMix* m = mhc->mix(layer, site);
      ASSERT_NE(m, nullptr) << "layer " << layer << " site " << site;
      ASSERT_EQ(m->streams, 4);
      for (int i = 0; i < 4; ++i) {
        float row = 0.0f;
        for (int j = 0; j < 4; ++j) row += m->residual[i * 4 + j];
        EXPECT_NEAR(row, 1.0f, 1e-3f);
      }
    }
  }
  const std::vector<float> newest = mhc->mix(1, 0)->residual;
  mhc->setToken(0);
  EXPECT_EQ(mhc->token(), 0);
  EXPECT_NE(mhc->mix(1, 0)->residual, newest);
}

// Demo models in ARCHSCOPE_MODELS_DIR are offered first on the welcome page; one click
// opens and runs the model.
TEST(Chat, TheWelcomePageRunsABundledDemoModel) {
  QTemporaryDir dir;
  tiny_model(dir, "qwen3");
  qputenv("ARCHSCOPE_MODELS_DIR", dir.path().toLocal8Bit());
  EXPECT_EQ(archscope::gui::bundled_models(), QStringList{dir.filePath("qwen3.gguf")});
  MainWindow w;
  qunsetenv("ARCHSCOPE_MODELS_DIR");
  auto* button = w.findChild<QPushButton*>("model:qwen3.gguf");
  ASSERT_NE(button, nullptr);
  EXPECT_TRUE(button->text().contains("archscope tiny qwen3")) << button->text().toStdString();
  QSignalSpy opened(&w, &MainWindow::sessionOpened);
  button->click();
  for (int i = 0; i < 600 && opened.isEmpty(); ++i) opened.wait(100);
  EXPECT_TRUE(w.running());
}

// Loading the weights reports progress and can be cancelled; the window stays on the model's
// analytic views without an error.
TEST(Chat, LoadingTheWeightsCanBeCancelled) {
  QTemporaryDir dir;
  MainWindow w;
  QSignalSpy progress(w.engine(), &archscope::gui::ChatEngine::openProgress);
  // Cancel from the engine's thread at the first progress report, before the upload ends.
  QObject::connect(w.engine(), &archscope::gui::ChatEngine::openProgress, w.engine(),
                   [&w] { w.engine()->stop(); }, Qt::DirectConnection);
  QSignalSpy failed(&w, &MainWindow::sessionFailed);
  w.openArguments({"archscope", tiny_model(dir)});
  for (int i = 0; i < 600 && failed.isEmpty(); ++i) failed.wait(100);
  ASSERT_FALSE(failed.isEmpty());
  EXPECT_TRUE(failed.first().first().toString().endsWith("cancelled")) << failed.first().first().toString().toStdString();
  EXPECT_FALSE(progress.isEmpty());
  EXPECT_FALSE(w.running());
  EXPECT_FALSE(w.loading());
  EXPECT_TRUE(w.errorText().isEmpty());
  EXPECT_TRUE(w.hasModel());
}

// The architecture toggles reach the Compare tab and change what B computes: Laguna's head
// budget, Gemma 4's per-layer embeddings, and the window.
TEST(Chat, CompareMeasuresArchitectureToggles) {
  struct Case {
    const char* arch;
    const char* toggle;
    const char* value;
  };
  for (const Case& c : {Case{"laguna", "sliding_heads", "4"}, Case{"gemma4", "ple", "off"}, Case{"gemma4", "window", "3"}}) {
    QTemporaryDir dir;
    MainWindow w;
    ASSERT_TRUE(open_and_run(w, tiny_model(dir, c.arch)));
    archscope::gui::CompareView* compare = w.compareView();
    ASSERT_TRUE(compare->setToggle(c.toggle, c.value)) << c.arch << " " << c.toggle;
    compare->setMaxTokens(10);
    QSignalSpy finished(compare, &archscope::gui::CompareView::finished);
    compare->run();
    for (int i = 0; i < 600 && finished.isEmpty(); ++i) finished.wait(100);
    ASSERT_FALSE(finished.isEmpty());
    const archscope::gui::CompareResult* r = compare->result();
    ASSERT_TRUE(r && r->error.isEmpty()) << (r ? r->error.toStdString() : "no result");
    EXPECT_TRUE(r->b.label.contains(QString("%1=%2").arg(c.toggle, c.value))) << r->b.label.toStdString();
    EXPECT_EQ(r->kl.size(), 10u);
    EXPECT_GT(r->meanKl(), 1e-6) << c.arch << " " << c.toggle << ": B must compute something else";
  }
}

// A conversation that no longer fits the context is refused with a message in the window;
// the chat stays usable.
TEST(Chat, AConversationLongerThanTheContextIsAClearError) {
  QTemporaryDir dir;
  MainWindow w;
  ASSERT_TRUE(open_and_run(w, tiny_model(dir)));
  const ReplyStats stats = send_and_wait(w.chat(), QString("word ").repeated(700));
  EXPECT_TRUE(stats.error.contains("no longer fits the context of 512")) << stats.error.toStdString();
  EXPECT_TRUE(w.errorText().contains("no longer fits")) << w.errorText().toStdString();
  EXPECT_FALSE(w.chat()->generating());
  EXPECT_TRUE(w.chat()->messages().empty());  // the message went back to the box
  EXPECT_TRUE(w.chat()->input()->toPlainText().startsWith("word word"));
  w.chat()->setMaxTokens(4);
  const ReplyStats next = send_and_wait(w.chat(), "Hello");
  EXPECT_TRUE(next.error.isEmpty()) << next.error.toStdString();
  EXPECT_TRUE(w.errorText().isEmpty());
}
