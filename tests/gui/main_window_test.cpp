// MainWindow: opening models through the command-line path, the context control, errors
// that keep the previous model, GGUF files and cancelled loads.
#include <QApplication>
#include <QElapsedTimer>
#include <QFile>
#include <QMimeData>
#include <QPushButton>
#include <QUrl>
#include <QSignalSpy>
#include <QSlider>
#include <QTabWidget>
#include <QTemporaryDir>

#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include "archscope/model_loader.h"
#include "archscope/model_writer.h"
#include "attention_budget_view.h"
#include "cache_chart_view.h"
#include "compare_view.h"
#include "main_window.h"
#include "palette.h"
#include "recent_models.h"

using archscope::gui::MainWindow;

namespace {

const QString kCards = ARCHSCOPE_SOURCE_DIR "/models/cards/";

// Opens `path` the way `archscope PATH` does and waits for the result.
bool open_like_command_line(MainWindow& w, const QString& path) {
  QSignalSpy loaded(&w, &MainWindow::modelLoaded);
  QSignalSpy failed(&w, &MainWindow::loadFailed);
  w.openArguments({"archscope", path});
  for (int i = 0; i < 100 && loaded.isEmpty() && failed.isEmpty(); ++i) loaded.wait(100);
  return !loaded.isEmpty();
}

}  // namespace

TEST(MainWindow, StartsOnTheWelcomePageWithoutAModel) {
  MainWindow w;
  EXPECT_FALSE(w.hasModel());
  EXPECT_TRUE(w.welcomeShown());
  EXPECT_FALSE(archscope::gui::bundled_cards().isEmpty());
}

TEST(MainWindow, OpensTheE2BCardFromTheCommandLine) {
  MainWindow w;
  ASSERT_TRUE(open_like_command_line(w, kCards + "gemma-4-e2b.json"));
  ASSERT_TRUE(w.hasModel());
  EXPECT_FALSE(w.welcomeShown());
  const QString header = w.headerText();
  EXPECT_TRUE(header.contains("gemma-4-E2B")) << header.toStdString();
  EXPECT_TRUE(header.contains("gemma4")) << header.toStdString();
  EXPECT_TRUE(header.contains("4.63 B")) << header.toStdString();
  EXPECT_TRUE(header.contains("bf16")) << header.toStdString();
  EXPECT_TRUE(header.contains("card")) << header.toStdString();
  EXPECT_TRUE(header.contains("analytic (no weights)")) << header.toStdString();
  ASSERT_EQ(w.tabs()->count(), 8);
  EXPECT_EQ(w.tabs()->tabText(0), "Layers");
  EXPECT_EQ(w.tabs()->tabText(1), "KV sharing");
  EXPECT_EQ(w.tabs()->tabText(2), "Attention budget");
  EXPECT_EQ(w.tabs()->tabText(3), "Cache");
  EXPECT_EQ(w.tabs()->tabText(4), "Performance");
  EXPECT_EQ(w.tabs()->tabText(5), "Compare");
  EXPECT_EQ(w.tabs()->tabText(6), "Routing");
  EXPECT_FALSE(w.tabs()->isTabVisible(6));  // E2B has no experts
  EXPECT_EQ(w.tabs()->tabText(7), "mHC");
  EXPECT_FALSE(w.tabs()->isTabVisible(7));  // nor hyper-connections
  EXPECT_FALSE(w.running());  // a card has no weights to run
  EXPECT_EQ(w.context(), 131072u);
  EXPECT_EQ(w.plan().context, 131072u);
}

TEST(MainWindow, ContextAndCacheTypeChangeTheTotals) {
  MainWindow w;
  ASSERT_TRUE(open_like_command_line(w, kCards + "gemma-4-e2b.json"));
  w.setCacheType(archscope::GgmlType::BF16);
  // The README's figure: 774.0 MiB at 131,072 tokens, bf16.
  const QString at_max = w.statusText();
  EXPECT_TRUE(at_max.contains("774.0 MiB")) << at_max.toStdString();
  EXPECT_TRUE(at_max.contains("131,072")) << at_max.toStdString();

  w.contextSlider()->setValue(0);  // the user drags the slider to its left end
  EXPECT_EQ(w.context(), 1024u);
  const QString at_min = w.statusText();
  EXPECT_NE(at_min, at_max);
  EXPECT_TRUE(at_min.contains("1,024 tokens")) << at_min.toStdString();
  EXPECT_EQ(w.budgetView()->context(), 1024u);
  EXPECT_EQ(w.cacheView()->context(), 1024u);
  EXPECT_LT(w.plan().bytes, 811597824u);

  w.setContext(32768);
  EXPECT_TRUE(w.statusText().contains("32,768 tokens"));
  w.setCacheType(archscope::GgmlType::F32);
  EXPECT_TRUE(w.statusText().contains("f32 cache"));
}

TEST(MainWindow, ACorruptFileShowsAnErrorAndKeepsThePreviousModel) {
  MainWindow w;
  ASSERT_TRUE(open_like_command_line(w, kCards + "gemma-4-e2b.json"));
  QTemporaryDir dir;
  const QString bad = dir.filePath("broken.gguf");
  QFile f(bad);
  ASSERT_TRUE(f.open(QIODevice::WriteOnly));
  f.write("GGUF\x03\x00\x00\x00garbage that is not a tensor table");
  f.close();
  EXPECT_FALSE(open_like_command_line(w, bad));
  EXPECT_FALSE(w.errorText().isEmpty());
  EXPECT_TRUE(w.errorText().contains("broken.gguf")) << w.errorText().toStdString();
  ASSERT_TRUE(w.hasModel());
  EXPECT_EQ(w.model()->name, "google/gemma-4-E2B");
  EXPECT_TRUE(w.headerText().contains("gemma-4-E2B"));

  // The window stays usable: the next good file opens and clears the error.
  EXPECT_FALSE(open_like_command_line(w, dir.filePath("missing.json")));
  ASSERT_TRUE(open_like_command_line(w, kCards + "laguna-xs.2.json"));
  EXPECT_TRUE(w.errorText().isEmpty());
  EXPECT_TRUE(w.headerText().contains("laguna"));
}

TEST(MainWindow, ATinyGgufShowsItsWeightType) {
  QTemporaryDir dir;
  const std::string path = dir.filePath("tiny-q8_0.gguf").toStdString();
  archscope::write_tiny_model({.arch = "llama", .type = archscope::GgmlType::Q8_0}, path);
  MainWindow w;
  ASSERT_TRUE(open_like_command_line(w, QString::fromStdString(path)));
  const QString header = w.headerText();
  EXPECT_TRUE(header.contains("q8_0")) << header.toStdString();
  EXPECT_TRUE(header.contains("GGUF")) << header.toStdString();
  EXPECT_TRUE(header.contains("llama")) << header.toStdString();
  EXPECT_FALSE(header.contains("analytic")) << header.toStdString();
  EXPECT_GT(w.plan().bytes, 0u);
}

TEST(MainWindow, ACancelledLoadLeavesTheWindowUsable) {
  MainWindow w;
  ASSERT_TRUE(open_like_command_line(w, kCards + "gemma-4-e2b.json"));
  // A loader slow enough to cancel: the engine's loader after a pause.
  w.loader()->setLoadFunction([](const std::string& path) {
    std::this_thread::sleep_for(std::chrono::milliseconds(400));
    return archscope::load_model_spec(path);
  });
  QSignalSpy cancelled(&w, &MainWindow::loadCancelled);
  QSignalSpy loaded(&w, &MainWindow::modelLoaded);
  w.openModel(kCards + "deepseek-v4-flash.json");
  EXPECT_TRUE(w.loading());
  w.cancelLoad();
  EXPECT_FALSE(w.loading());
  EXPECT_EQ(cancelled.count(), 1);
  // The cancelled job's result, when it arrives, is dropped.
  loaded.wait(1000);
  EXPECT_EQ(loaded.count(), 0);
  EXPECT_EQ(w.model()->name, "google/gemma-4-E2B");
  // Still usable: the controls work and another model opens.
  w.setContext(4096);
  EXPECT_TRUE(w.statusText().contains("4,096 tokens"));
  ASSERT_TRUE(open_like_command_line(w, kCards + "qwen3-8b.json"));
  EXPECT_EQ(w.model()->architecture, "qwen3");
}

TEST(MainWindow, AttentionBudgetIsTheSumOfHeadsTimesPositions) {
  MainWindow w;
  ASSERT_TRUE(open_like_command_line(w, kCards + "llama-3.1-8b.json"));
  w.setContext(8192);
  // Llama 3.1 8B: 32 global layers with 32 query heads, exactly the uniform budget.
  EXPECT_DOUBLE_EQ(w.budgetView()->totalWork(), 32.0 * 32.0 * 8192.0);
  EXPECT_DOUBLE_EQ(w.budgetView()->uniformWork(), 32.0 * 32.0 * 8192.0);
  ASSERT_TRUE(open_like_command_line(w, kCards + "gemma-4-e2b.json"));
  EXPECT_LT(w.budgetView()->totalWork(), w.budgetView()->uniformWork() / 2);
}

TEST(MainWindow, TheWelcomePageOpensABundledCardInOneClick) {
  MainWindow w;
  auto* button = w.findChild<QPushButton*>("card:zaya1-8b.json");
  ASSERT_NE(button, nullptr);
  QSignalSpy loaded(&w, &MainWindow::modelLoaded);
  button->click();
  ASSERT_TRUE(loaded.wait(10000));
  EXPECT_EQ(w.model()->architecture, "zaya");
  EXPECT_FALSE(w.welcomeShown());
  // The model is now first in the recent list.
  archscope::gui::RecentModels recent;
  ASSERT_FALSE(recent.empty());
  EXPECT_TRUE(recent.paths().first().endsWith("zaya1-8b.json")) << recent.paths().first().toStdString();
}

TEST(MainWindow, DroppingAFileOpensIt) {
  MainWindow w;
  QMimeData mime;
  mime.setUrls({QUrl::fromLocalFile(kCards + "gemma-4-e4b.json")});
  QSignalSpy loaded(&w, &MainWindow::modelLoaded);
  ASSERT_TRUE(w.openDropped(&mime));
  ASSERT_TRUE(loaded.wait(10000));
  EXPECT_EQ(w.model()->name, "google/gemma-4-E4B");
}

TEST(MainWindow, ContextChangesStayInteractiveFor61Layers) {
  MainWindow w;
  ASSERT_TRUE(open_like_command_line(w, kCards + "deepseek-v4-pro.json"));
  EXPECT_EQ(w.model()->layer_count(), 61);
  QElapsedTimer timer;
  timer.start();
  for (int v = 0; v <= 1000; v += 100) w.contextSlider()->setValue(v);
  // Eleven full recomputations (plan, cost, both charts, diagram): well under a second on a
  // slow machine; the bound only catches something pathological.
  EXPECT_LT(timer.elapsed(), 5000);
  EXPECT_EQ(w.context(), 1048576u);
}

// A card has no weights: Compare sets the model against its toggled self from the cache
// plan and the cost model, at the window's context.
TEST(MainWindow, CompareOnACardIsAnalytic) {
  MainWindow w;
  ASSERT_TRUE(open_like_command_line(w, kCards + "gemma-4-e2b.json"));
  archscope::gui::CompareView* compare = w.compareView();
  ASSERT_TRUE(compare->setToggle("all_global", "on"));
  EXPECT_FALSE(compare->setToggle("no_such_toggle", "1"));
  compare->run();
  archscope::ModelSpec global = *w.model();
  archscope::apply_toggles(global, {{"all_global", "on"}});
  const QString expected = QString("<td>KV cache</td><td align='right'>%1</td><td align='right'><b>%2</b></td>")
                               .arg(archscope::gui::format_bytes(double(w.plan().bytes)),
                                    archscope::gui::format_bytes(double(archscope::plan_cache(global, w.context(), w.cacheType()).bytes)));
  EXPECT_TRUE(compare->summaryText().contains(expected)) << compare->summaryText().toStdString();
  // The figures follow the context slider.
  w.setContext(4096);
  EXPECT_TRUE(compare->summaryText().contains("At <b>4,096</b> tokens")) << compare->summaryText().toStdString();
}
