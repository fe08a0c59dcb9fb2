// The painted views (layer diagram, sharing map, layer details) on the bundled model cards:
// row counts, picking, sharing counts, tensor lists, and that every view paints something.
// The E2B, Laguna XS.2 and DeepSeek V4 Flash views are saved as PNGs to
// $ARCHSCOPE_VIEWS_DIR (default /tmp/archscope-views) to look at.
#include <QApplication>
#include <QDir>
#include <QHelpEvent>
#include <QImage>
#include <QSignalSpy>
#include <QTest>
#include <QToolTip>
#include <QTreeWidget>

#include <gtest/gtest.h>

#include <filesystem>
#include <set>

#include "archscope/cache_plan.h"
#include "archscope/model_loader.h"
#include "layer_details.h"
#include "layer_diagram_view.h"
#include "mhc_view.h"
#include "routing_view.h"
#include "sharing_map_view.h"

namespace archscope::gui {
namespace {

struct Loaded {
  ModelSpec spec;
  CachePlan plan;
};

Loaded load_card(const std::string& file) {
  Result<ModelSpec> spec = load_model_spec(std::string(ARCHSCOPE_CARDS_DIR) + "/" + file);
  if (!spec) ADD_FAILURE() << spec.error().what();
  if (!spec) return {};
  CachePlan plan = plan_cache(*spec, uint64_t(spec->context_length), GgmlType::BF16);
  return {std::move(*spec), std::move(plan)};
}

std::vector<std::string> card_files() {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(ARCHSCOPE_CARDS_DIR))
    if (entry.path().extension() == ".json") files.push_back(entry.path().filename().string());
  std::sort(files.begin(), files.end());
  return files;
}

// A rendered widget that is more than a blank rectangle: enough distinct colours.
int distinct_colors(const QImage& image) {
  std::set<QRgb> colors;
  const QImage small = image.convertToFormat(QImage::Format_RGB32);
  for (int y = 0; y < small.height(); y += 3)
    for (int x = 0; x < small.width(); x += 3) colors.insert(small.pixel(x, y));
  return int(colors.size());
}

QString views_dir() {
  const QString dir = qEnvironmentVariableIsSet("ARCHSCOPE_VIEWS_DIR") ? qEnvironmentVariable("ARCHSCOPE_VIEWS_DIR")
                                                                       : QStringLiteral("/tmp/archscope-views");
  QDir().mkpath(dir);
  return dir;
}

TEST(LayerDiagramView, GemmaE2BHasOneRowPerLayerAndReportsClicks) {
  const Loaded m = load_card("gemma-4-e2b.json");
  LayerDiagramView view;
  view.resize(1200, 700);
  view.setModel(m.spec, m.plan);
  EXPECT_EQ(view.layerCount(), 35);

  QSignalSpy clicked(&view, &LayerDiagramView::layerClicked);
  view.ensureLayerVisible(15);
  const QRect row = view.rowRect(15);
  ASSERT_TRUE(view.viewport()->rect().contains(row.center()));
  EXPECT_EQ(view.layerAt(row.center()), 15);
  QTest::mouseClick(view.viewport(), Qt::LeftButton, {}, row.center());
  ASSERT_EQ(clicked.count(), 1);
  EXPECT_EQ(clicked.at(0).at(0).toInt(), 15);
  EXPECT_EQ(view.selectedLayer(), 15);

  // The last layer scrolls into view and is picked where it is drawn.
  view.setSelectedLayer(34);
  const QRect last = view.rowRect(34);
  EXPECT_TRUE(view.viewport()->rect().contains(last.center()));
  EXPECT_EQ(view.layerAt(last.center()), 34);
}

// The tooltip of a row carries the layer's full description and follows setPlan.
TEST(LayerDiagramView, RowToolTipFollowsThePlan) {
  const Loaded m = load_card("gemma-4-e2b.json");
  LayerDiagramView view;
  view.resize(1200, 700);
  view.setModel(m.spec, m.plan);
  view.show();
  auto tip_at = [&](int layer) {
    const QPoint pos = view.rowRect(layer).center();
    QHelpEvent help(QEvent::ToolTip, pos, view.viewport()->mapToGlobal(pos));
    QApplication::sendEvent(view.viewport(), &help);
    return QToolTip::text();
  };
  QString tip = tip_at(4);
  EXPECT_TRUE(tip.contains("Layer 4")) << tip.toStdString();
  EXPECT_TRUE(tip.contains("256.0 MiB")) << tip.toStdString();
  view.setPlan(plan_cache(m.spec, 4096, GgmlType::BF16));
  tip = tip_at(4);
  EXPECT_TRUE(tip.contains("4,096 tokens")) << tip.toStdString();
  EXPECT_TRUE(tip.contains("8.00 MiB")) << tip.toStdString();
  tip = tip_at(20);
  EXPECT_TRUE(tip.contains("reads layer 13")) << tip.toStdString();
  QToolTip::hideText();
}

TEST(LayerDiagramView, ZoomChangesRowHeightWithinLimits) {
  const Loaded m = load_card("deepseek-v4-pro.json");
  LayerDiagramView view;
  view.resize(1000, 600);
  view.setModel(m.spec, m.plan);
  EXPECT_EQ(view.layerCount(), 61);
  const int h = view.rowRect(0).height();
  QTest::keyClick(&view, Qt::Key_Plus);
  EXPECT_GT(view.rowRect(0).height(), h);
  view.setZoom(100);
  EXPECT_DOUBLE_EQ(view.zoom(), 2.5);
  view.setZoom(0);
  EXPECT_DOUBLE_EQ(view.zoom(), 0.6);
  QTest::keyClick(&view, Qt::Key_0);
  EXPECT_DOUBLE_EQ(view.zoom(), 1.0);
}

TEST(LayerDiagramView, ArrowKeysMoveTheSelection) {
  const Loaded m = load_card("laguna-xs.2.json");
  LayerDiagramView view;
  view.resize(1000, 500);
  view.setModel(m.spec, m.plan);
  QSignalSpy clicked(&view, &LayerDiagramView::layerClicked);
  view.setSelectedLayer(3);
  QTest::keyClick(&view, Qt::Key_Down);
  EXPECT_EQ(view.selectedLayer(), 4);
  ASSERT_EQ(clicked.count(), 1);
  EXPECT_EQ(clicked.at(0).at(0).toInt(), 4);
}

TEST(SharingMapView, GemmaE2BHas20ReadersOfTwoOwners) {
  const Loaded m = load_card("gemma-4-e2b.json");
  SharingMapView view;
  view.resize(900, 800);
  view.setModel(m.spec, m.plan);
  EXPECT_TRUE(view.hasSharing());
  EXPECT_EQ(view.readerCount(), 20);
  EXPECT_EQ(view.ownerCount(), 15);
  EXPECT_EQ(view.readersOf(13) + view.readersOf(14), 20);
  EXPECT_EQ(view.readersOf(0), 0);
}

TEST(SharingMapView, ModelWithoutSharingHasNoReaders) {
  const Loaded m = load_card("deepseek-v4-flash.json");
  SharingMapView view;
  view.setModel(m.spec, m.plan);
  EXPECT_FALSE(view.hasSharing());
  EXPECT_EQ(view.readerCount(), 0);
  EXPECT_EQ(view.ownerCount(), 43);
}

TEST(LayerDetails, ListsTheTensorsAndCacheOfLayerZero) {
  const Loaded m = load_card("gemma-4-e2b.json");
  LayerDetails details;
  details.setModel(m.spec, m.plan);
  EXPECT_TRUE(details.tensorNames().isEmpty());
  details.setLayer(0);
  const QStringList names = details.tensorNames();
  EXPECT_TRUE(names.contains("attn_q")) << names.join(", ").toStdString();
  EXPECT_TRUE(names.contains("attn_k"));
  EXPECT_TRUE(names.contains("ffn_down"));
  // The cache, then the tensors, as the tree's two top-level items.
  ASSERT_EQ(details.tree()->topLevelItemCount(), 2);
  EXPECT_TRUE(details.tree()->topLevelItem(0)->text(0).contains("KV cache"));
  EXPECT_EQ(details.tree()->topLevelItem(1)->childCount(), names.size());
  // A reader's cache says where it lives.
  details.setLayer(20);
  const QTreeWidgetItem* cache = details.tree()->topLevelItem(0);
  ASSERT_NE(cache, nullptr);
  ASSERT_GT(cache->childCount(), 0);
  EXPECT_TRUE(cache->child(0)->text(1).contains("reads layer 13")) << cache->child(0)->text(1).toStdString();
  details.setLayer(99);
  EXPECT_EQ(details.layer(), -1);
}

TEST(Views, EveryCardRendersInEveryView) {
  const std::vector<std::string> files = card_files();
  ASSERT_GE(files.size(), 10u);
  for (const std::string& file : files) {
    SCOPED_TRACE(file);
    const Loaded m = load_card(file);
    ASSERT_FALSE(m.spec.layers.empty());

    LayerDiagramView diagram;
    diagram.resize(1200, 800);
    diagram.setModel(m.spec, m.plan);
    diagram.setSelectedLayer(m.spec.layer_count() / 2);
    EXPECT_EQ(diagram.layerCount(), m.spec.layer_count());
    EXPECT_GT(diagram.sizeHint().width(), 400);
    EXPECT_LT(diagram.sizeHint().width(), 2400);
    const QImage d = diagram.grab().toImage();
    ASSERT_FALSE(d.isNull());
    EXPECT_EQ(d.size(), QSize(1200, 800));
    EXPECT_GT(distinct_colors(d), 20);

    SharingMapView sharing;
    sharing.resize(1000, 800);
    sharing.setModel(m.spec, m.plan);
    EXPECT_EQ(sharing.ownerCount() + sharing.readerCount(), m.spec.layer_count());
    EXPECT_GT(sharing.sizeHint().width(), 300);
    EXPECT_LT(sharing.sizeHint().width(), 2400);
    const QImage s = sharing.grab().toImage();
    ASSERT_FALSE(s.isNull());
    EXPECT_GT(distinct_colors(s), 20);

    LayerDetails details;
    details.resize(700, 600);
    details.setModel(m.spec, m.plan);
    details.setLayer(0);
    EXPECT_FALSE(details.tensorNames().isEmpty());
    EXPECT_FALSE(details.grab().toImage().isNull());
  }
}

TEST(Views, SaveScreenshotsOfThreeModels) {
  const QString dir = views_dir();
  for (const auto& [file, stem, layer] : {std::tuple{"gemma-4-e2b.json", "gemma-4-e2b", 15},
                                          std::tuple{"laguna-xs.2.json", "laguna-xs.2", 4},
                                          std::tuple{"deepseek-v4-flash.json", "deepseek-v4-flash", 2}}) {
    SCOPED_TRACE(file);
    const Loaded m = load_card(file);
    LayerDiagramView diagram;
    diagram.setModel(m.spec, m.plan);
    diagram.resize(diagram.sizeHint().width(), 1000);
    diagram.setSelectedLayer(layer);
    EXPECT_TRUE(diagram.grab().save(dir + "/" + stem + "-diagram.png"));

    SharingMapView sharing;
    sharing.setModel(m.spec, m.plan);
    sharing.resize(sharing.sizeHint().width(), 1000);
    sharing.setSelectedLayer(layer);
    EXPECT_TRUE(sharing.grab().save(dir + "/" + stem + "-sharing.png"));

    LayerDetails details;
    details.setModel(m.spec, m.plan);
    details.setLayer(layer);
    details.resize(760, 620);
    EXPECT_TRUE(details.grab().save(dir + "/" + stem + "-details.png"));
  }
  // 61 layers zoomed out to fit one screen.
  const Loaded pro = load_card("deepseek-v4-pro.json");
  LayerDiagramView diagram;
  diagram.setModel(pro.spec, pro.plan);
  diagram.setZoom(0.7);
  diagram.resize(diagram.sizeHint().width(), 1000);
  EXPECT_TRUE(diagram.grab().save(dir + "/deepseek-v4-pro-diagram-zoom70.png"));
}

}  // namespace
}  // namespace archscope::gui

namespace archscope::gui {
namespace {

// Routing: a grid of MoE layers x experts fed by StepReports; the Laguna XS.2 card has
// 39 MoE layers of 256 experts.
TEST(RoutingView, CountsTheExpertsOfEachStep) {
  const archscope::ModelSpec spec = load_card("laguna-xs.2.json").spec;
  archscope::gui::RoutingView view;
  view.setModel(spec);
  EXPECT_TRUE(view.summaryText().contains("<b>39</b> MoE layers")) << view.summaryText().toStdString();
  EXPECT_TRUE(view.summaryText().contains("<b>256</b> routed experts, top-<b>8</b>"));
  archscope::StepReport step;
  step.layers.resize(spec.layers.size());
  step.layers[1].experts = {7, 3, 250};
  step.layers[1].expert_weights = {0.5f, 0.3f, 0.2f};
  view.addStep(step);
  step.layers[1].experts = {7, 9};
  step.layers[1].expert_weights = {0.6f, 0.4f};
  view.addStep(step);
  view.refresh();
  EXPECT_EQ(view.tokensSeen(), 2);
  EXPECT_EQ(view.count(1, 7), 2);
  EXPECT_EQ(view.count(1, 3), 1);
  EXPECT_EQ(view.count(1, 250), 1);
  EXPECT_EQ(view.count(2, 7), 0);
  EXPECT_EQ(view.latestExperts(1), (std::vector<int>{7, 9}));
  EXPECT_TRUE(view.summaryText().contains("2 tokens routed"));
  view.resize(900, 700);
  view.setMode(archscope::gui::RoutingView::Mode::Reply);
  EXPECT_FALSE(view.grab().isNull());
  view.beginReply();
  EXPECT_EQ(view.count(1, 7), 0);
  EXPECT_EQ(view.tokensSeen(), 0);
}

}  // namespace
}  // namespace archscope::gui

namespace archscope::gui {
namespace {

// mHC: the DeepSeek V4 Flash card has 4 streams; StepReports with mixes fill the panels
// and the scrubber replays earlier tokens.
TEST(MhcView, ShowsEachTokensMixesAndReplaysThem) {
  const ModelSpec spec = load_card("deepseek-v4-flash.json").spec;
  ASSERT_EQ(spec.hc_width, 4);
  MhcView view;
  view.setModel(spec);
  EXPECT_TRUE(view.summaryText().contains("<b>4</b> residual streams")) << view.summaryText().toStdString();
  EXPECT_EQ(view.mix(0, 0), nullptr);
  auto report = [&](float diagonal) {
    StepReport r;
    r.layers.resize(spec.layers.size());
    for (LayerStep& l : r.layers) {
      for (int site = 0; site < 2; ++site) {
        HyperConnectionMix m;
        m.streams = 4;
        const float off = (1.0f - diagonal) / 3.0f;  // doubly stochastic
        for (int i = 0; i < 16; ++i) m.residual.push_back(i % 5 == 0 ? diagonal : off);
        m.pre = {0.1f, 0.2f, 0.3f, 0.4f};
        m.post = {1.0f, 0.5f, 1.5f, 2.0f};
        l.hyper.push_back(m);
      }
    }
    return r;
  };
  view.addStep(report(0.7f));
  view.addStep(report(0.4f));
  StepReport plain;  // a token without mixes (e.g. a prefill of another model) is not recorded
  plain.layers.resize(spec.layers.size());
  view.addStep(plain);
  view.refresh();
  EXPECT_EQ(view.tokenCount(), 2);
  EXPECT_EQ(view.token(), 1);
  ASSERT_NE(view.mix(3, 1), nullptr);
  EXPECT_FLOAT_EQ(view.mix(3, 1)->residual[0], 0.4f);
  view.setToken(0);
  EXPECT_FLOAT_EQ(view.mix(3, 1)->residual[0], 0.7f);
  view.resize(1200, 800);
  EXPECT_FALSE(view.grab().isNull());
  view.beginReply();
  EXPECT_EQ(view.tokenCount(), 0);
  EXPECT_EQ(view.mix(3, 1), nullptr);
}

}  // namespace
}  // namespace archscope::gui
