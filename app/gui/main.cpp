// archscope: the desktop explorer. `archscope [MODEL]` opens a GGUF file, a Hugging Face
// folder or a model card; without one, the window offers the bundled cards.
#include <QApplication>

#include "main_window.h"

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QApplication::setOrganizationName("archscope");
  QApplication::setApplicationName("archscope");
  QApplication::setApplicationVersion(ARCHSCOPE_VERSION);
  archscope::gui::MainWindow window;
  window.show();
  window.openArguments(QApplication::arguments());
  return app.exec();
}
