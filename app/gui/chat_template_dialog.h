// The model's own chat template (tokenizer.chat_template), read-only in a monospace view,
// and the prompt it renders for check_chat_template's sample chat next to the one
// archscope's built-in format sends, spaces and line ends shown and the first difference
// marked. Opened from the chat panel (Template button, Ctrl+Shift+T, or the warning's link).
#pragma once

#include <QDialog>

#include "archscope/chat_template_check.h"

class QLabel;
class QPlainTextEdit;
class QTabWidget;

namespace archscope::gui {

class ChatTemplateDialog : public QDialog {
  Q_OBJECT
 public:
  enum Tab { TemplateTab = 0, PromptsTab = 1 };

  explicit ChatTemplateDialog(const archscope::ChatTemplateCheck& check, QWidget* parent = nullptr);
  void showTab(Tab tab);

  // What tests look at.
  QTabWidget* tabs() const { return tabs_; }
  QString summaryText() const;
  QString templateText() const;
  QString renderedText() const;   // by the template
  QString builtInText() const;    // by the built-in format
  QString differenceText() const; // "They first differ at line 3, column 7." or why there is nothing to compare

 private:
  QLabel* summary_ = nullptr;
  QLabel* difference_ = nullptr;
  QTabWidget* tabs_ = nullptr;
  QPlainTextEdit* template_ = nullptr;
  QPlainTextEdit* rendered_ = nullptr;
  QPlainTextEdit* built_in_ = nullptr;
};

}  // namespace archscope::gui
