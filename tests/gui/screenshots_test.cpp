// Renders every main view to PNG for the README: the four tabs for Gemma 4 E2B, the
// attention budget and cache charts for Laguna XS.2 and DeepSeek V4 Flash, and the
// welcome page. Writes into $ARCHSCOPE_SCREENSHOT_DIR; skipped when it is unset:
//   ARCHSCOPE_SCREENSHOT_DIR=resources/screenshots xvfb-run -a build/tests/gui_tests --gtest_filter=Screenshots*
#include <QApplication>
#include <QDir>
#include <QImage>
#include <QPixmap>
#include <QSignalSpy>
#include <QTabWidget>
#include <QTemporaryDir>

#include <gtest/gtest.h>

#include "archscope/gguf.h"
#include "archscope/model_writer.h"
#include "chat_panel.h"
#include "chat_template_dialog.h"
#include "compare_view.h"
#include "main_window.h"
#include "mhc_view.h"
#include "routing_view.h"

using archscope::gui::MainWindow;

namespace {

const QString kCards = ARCHSCOPE_SOURCE_DIR "/models/cards/";

QString screenshot_dir() { return qEnvironmentVariable("ARCHSCOPE_SCREENSHOT_DIR"); }

bool open_card(MainWindow& w, const QString& card) {
  QSignalSpy loaded(&w, &MainWindow::modelLoaded);
  QSignalSpy failed(&w, &MainWindow::loadFailed);
  w.openArguments({"archscope", kCards + card});
  for (int i = 0; i < 100 && loaded.isEmpty() && failed.isEmpty(); ++i) loaded.wait(100);
  return !loaded.isEmpty();
}

void save(MainWindow& w, const QString& name) {
  for (int i = 0; i < 5; ++i) QApplication::processEvents();
  const QString path = QDir(screenshot_dir()).filePath(name);
  const QPixmap shot = w.grab();
  ASSERT_EQ(shot.size(), QSize(1400, 900)) << name.toStdString();
  // Quality 0 = the strongest zlib compression: the README images stay small.
  ASSERT_TRUE(shot.save(path, "PNG", 0)) << path.toStdString();
}

class Screenshots : public ::testing::Test {
 protected:
  void SetUp() override {
    if (screenshot_dir().isEmpty()) GTEST_SKIP() << "ARCHSCOPE_SCREENSHOT_DIR is not set";
    ASSERT_TRUE(QDir().mkpath(screenshot_dir()));
    w_.resize(1400, 900);
    w_.show();
  }
  // Writes a tiny model, runs it and has it answer `prompt` (with at most 40 tokens).
  bool chat_with_tiny(const char* arch, const char* preset, const QString& prompt) {
    const QString path = dir_.filePath(QString("tiny-%1.gguf").arg(arch));
    archscope::write_tiny_model({.arch = arch, .preset = preset, .type = archscope::GgmlType::F16}, path.toStdString());
    return chat_with(path, prompt, 40);
  }
  bool chat_with(const QString& path, const QString& prompt, int max_tokens) {
    QSignalSpy opened(&w_, &MainWindow::sessionOpened);
    w_.openArguments({"archscope", path});
    for (int i = 0; i < 600 && opened.isEmpty(); ++i) opened.wait(100);
    if (opened.isEmpty()) return false;
    w_.chat()->setMaxTokens(max_tokens);
    QSignalSpy replied(w_.chat(), &archscope::gui::ChatPanel::replyFinished);
    w_.chat()->send(prompt);
    for (int i = 0; i < 600 && replied.isEmpty(); ++i) replied.wait(100);
    return !replied.isEmpty();
  }
  QTemporaryDir dir_;
  MainWindow w_;
};

}  // namespace

TEST_F(Screenshots, Welcome) { save(w_, "welcome.png"); }

TEST_F(Screenshots, Gemma4E2B) {
  ASSERT_TRUE(open_card(w_, "gemma-4-e2b.json"));
  w_.setCacheType(archscope::GgmlType::BF16);
  w_.selectLayer(15);  // a sliding layer that reads layer 13's cache
  const char* names[] = {"layers", "kv-sharing", "attention-budget", "cache"};
  for (int tab = 0; tab < 4; ++tab) {
    w_.tabs()->setCurrentIndex(tab);
    save(w_, QString("%1-gemma-4-e2b.png").arg(names[tab]));
  }
  w_.compareView()->setToggle("window", "128");
  w_.compareView()->run();
  w_.tabs()->setCurrentIndex(5);
  save(w_, "compare-gemma-4-e2b.png");
}

TEST_F(Screenshots, LagunaAndDeepSeekBudgetsAndCaches) {
  for (const char* card : {"laguna-xs.2", "deepseek-v4-flash"}) {
    ASSERT_TRUE(open_card(w_, QString(card) + ".json"));
    w_.setCacheType(archscope::GgmlType::BF16);
    if (QString(card).startsWith("laguna")) {
      w_.selectLayer(1);
      w_.tabs()->setCurrentIndex(0);
      save(w_, "layers-laguna-xs.2.png");
    }
    w_.tabs()->setCurrentIndex(2);
    save(w_, QString("attention-budget-%1.png").arg(card));
    w_.tabs()->setCurrentIndex(3);
    save(w_, QString("cache-%1.png").arg(card));
  }
}

// The bundled demo model (Gemma 4): the chat beside the layer diagram after a story, with a
// layer that reads another layer's cache selected; the live cache past the sliding window;
// the performance tab; and a compare with per-layer embeddings off.
TEST_F(Screenshots, ChatCachePerformanceAndCompareOnTheDemoModel) {
  ASSERT_TRUE(chat_with(ARCHSCOPE_SOURCE_DIR "/models/demo/archscope-demo-gemma4.gguf", "Tell me a story about a cat.", 200));
  w_.selectLayer(6);
  save(w_, "chat-demo-gemma4.png");
  w_.tabs()->setCurrentIndex(3);
  save(w_, "cache-demo-gemma4.png");
  w_.tabs()->setCurrentIndex(4);
  save(w_, "performance-demo-gemma4.png");

  archscope::gui::CompareView* compare = w_.compareView();
  compare->setToggle("ple", "off");
  compare->setPrompt("Tell me a story about a fox.");
  compare->setMaxTokens(40);
  QSignalSpy compared(compare, &archscope::gui::CompareView::finished);
  compare->run();
  for (int i = 0; i < 600 && compared.isEmpty(); ++i) compared.wait(100);
  ASSERT_FALSE(compared.isEmpty());
  w_.tabs()->setCurrentIndex(5);
  save(w_, "compare-demo-gemma4.png");
}

// A tiny Laguna model replying: its layer diagram with the global layers' smaller head
// budget, the attention budget at the chat's context, and the experts the router chose.
TEST_F(Screenshots, TinyLagunaBudgetsAndRouting) {
  ASSERT_TRUE(chat_with_tiny("laguna", "tiny", "Which experts do you use?"));
  w_.selectLayer(1);
  w_.tabs()->setCurrentIndex(0);
  save(w_, "layers-tiny-laguna.png");
  w_.tabs()->setCurrentIndex(2);
  save(w_, "attention-budget-tiny-laguna.png");
  w_.tabs()->setCurrentIndex(w_.tabs()->indexOf(w_.routingView()));
  w_.routingView()->setMode(archscope::gui::RoutingView::Mode::Reply);
  save(w_, "routing-tiny-laguna.png");
}

// A tiny Gemma 4 model (E2B-like: window 6, the last 5 layers read layers 3 and 4) after a
// reply: the layer diagram, the sharing map, and the cache with the chat's measured bytes.
TEST_F(Screenshots, TinyGemma4LayersSharingAndCache) {
  ASSERT_TRUE(chat_with_tiny("gemma4", "tiny", "Which layers share a cache?"));
  w_.selectLayer(7);  // a shared sliding layer reading layer 3
  const char* names[] = {"layers", "kv-sharing", "attention-budget", "cache"};
  for (int tab = 0; tab < 4; ++tab) {
    w_.tabs()->setCurrentIndex(tab);
    save(w_, QString("%1-tiny-gemma4.png").arg(names[tab]));
  }
}

// A tiny DeepSeek V4 model (4 mHC streams, CSA / HCA layers) after a reply: the mHC tab's
// mixing matrices for the newest token, the layer diagram and the attention budget with
// the compressed entries the reply reached.
TEST_F(Screenshots, TinyDeepSeekV4MhcLayersAndBudget) {
  ASSERT_TRUE(chat_with_tiny("deepseek4", "tiny", "How do the four streams mix?"));
  w_.tabs()->setCurrentIndex(w_.tabs()->indexOf(w_.mhcView()));
  save(w_, "mhc-tiny-deepseek4.png");
  w_.selectLayer(1);
  w_.tabs()->setCurrentIndex(0);
  save(w_, "layers-tiny-deepseek4.png");
  w_.tabs()->setCurrentIndex(2);
  save(w_, "attention-budget-tiny-deepseek4.png");
}

// A fine-tune's changed chat template on the Qwen3 demo model: the chat panel warns, and the
// Template dialog shows both prompts with the first difference marked.
TEST_F(Screenshots, ChatTemplateWarningAndPrompts) {
  const std::string source = ARCHSCOPE_SOURCE_DIR "/models/demo/archscope-demo-qwen3.gguf";
  const archscope::GgufFile file = archscope::GgufFile::open(source);
  archscope::GgufWriter copy;
  for (const auto& [key, value] : file.metadata()) {
    if (key != "general.alignment") copy.set(key, value);
  }
  for (const archscope::GgufTensor& t : file.tensors()) copy.add_tensor(t.name, t.shape, t.type, {t.data, t.data + t.bytes});
  std::string changed = file.find("tokenizer.chat_template")->s;
  const std::string from = "{{- '<|im_start|>' + message.role + '\\n' + message.content + '<|im_end|>' + '\\n' }}";
  ASSERT_NE(changed.find(from), std::string::npos);
  changed.replace(changed.find(from), from.size(), "{{- '<|im_start|>' + message.role + '\\n' + message.content | trim + '<|im_end|>' + '\\n\\n' }}");
  copy.set_string("tokenizer.chat_template", changed);
  const QString path = dir_.filePath("qwen3-finetune.gguf");
  copy.write(path.toStdString());
  ASSERT_TRUE(chat_with(path, "Tell me a story about a cat.", 40));
  ASSERT_TRUE(w_.chat()->templateWarningShown());
  save(w_, "chat-template-warning.png");
  archscope::gui::ChatTemplateDialog* dialog = w_.chat()->showChatTemplatePrompts();
  ASSERT_NE(dialog, nullptr);
  dialog->resize(1200, 720);
  for (int i = 0; i < 5; ++i) QApplication::processEvents();
  ASSERT_TRUE(dialog->grab().save(QDir(screenshot_dir()).filePath("chat-template.png"), "PNG", 0));
  dialog->close();
}
