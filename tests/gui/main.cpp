// gui_tests: makes the QApplication the widget tests need (offscreen unless QT_QPA_PLATFORM
// says otherwise) and keeps the settings (recent models) in a temporary folder.
#include <QApplication>
#include <QSettings>
#include <QTemporaryDir>

#include <gtest/gtest.h>

int main(int argc, char** argv) {
  if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM")) qputenv("QT_QPA_PLATFORM", "offscreen");
  QTemporaryDir settings_dir;
  QSettings::setPath(QSettings::IniFormat, QSettings::UserScope, settings_dir.path());
  QApplication app(argc, argv);
  QApplication::setOrganizationName("archscope-tests");
  QApplication::setApplicationName("gui_tests");
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
