#include "chat_template_dialog.h"

#include <QDialogButtonBox>
#include <QFontDatabase>
#include <QGridLayout>
#include <QLabel>
#include <QPlainTextEdit>
#include <QTabWidget>
#include <QTextBlock>
#include <QVBoxLayout>

namespace archscope::gui {

namespace {

QPlainTextEdit* monospace_view(const QString& text, bool show_whitespace, QWidget* parent) {
  auto* view = new QPlainTextEdit(parent);
  view->setReadOnly(true);
  view->setLineWrapMode(QPlainTextEdit::NoWrap);
  view->setFont(QFontDatabase::systemFont(QFontDatabase::FixedFont));
  if (show_whitespace) {  // a prompt's spaces and line ends are part of what the model reads
    QTextOption option = view->document()->defaultTextOption();
    option.setFlags(option.flags() | QTextOption::ShowTabsAndSpaces | QTextOption::ShowLineAndParagraphSeparators);
    view->document()->setDefaultTextOption(option);
  }
  view->setPlainText(text);
  return view;
}

// Marks the text from `index` to the end of its line, and scrolls there.
void mark_from(QPlainTextEdit* view, int index) {
  QTextCursor cursor(view->document());
  cursor.setPosition(std::min(index, view->document()->characterCount() - 1));
  QTextCursor end = cursor;
  end.movePosition(QTextCursor::EndOfBlock);
  if (end.position() == cursor.position()) end.movePosition(QTextCursor::NextCharacter);
  QTextEdit::ExtraSelection mark;
  mark.format.setBackground(QColor(0xfd, 0xe6, 0x8a));
  mark.cursor = cursor;
  mark.cursor.setPosition(end.position(), QTextCursor::KeepAnchor);
  view->setExtraSelections({mark});
  view->setTextCursor(cursor);
  view->centerCursor();
}

QString roles(const std::vector<archscope::ChatMessage>& conversation) {
  QStringList names;
  for (const archscope::ChatMessage& m : conversation) names << QString::fromStdString(m.role);
  return names.join(", ");
}

}  // namespace

ChatTemplateDialog::ChatTemplateDialog(const archscope::ChatTemplateCheck& check, QWidget* parent) : QDialog(parent) {
  setWindowTitle("Chat template");
  resize(1000, 680);
  auto* layout = new QVBoxLayout(this);
  summary_ = new QLabel(this);
  summary_->setWordWrap(true);
  QString summary = QString::fromStdString(check.summary());
  summary[0] = summary[0].toUpper();
  if (!check.note.empty()) summary += ". Note: " + QString::fromStdString(check.note);
  summary_->setText(summary + ".");
  summary_->setStyleSheet(check.warns() ? "color: #92400e; font-weight: 600;" : "");
  layout->addWidget(summary_);

  tabs_ = new QTabWidget(this);
  template_ = monospace_view(check.chat_template.empty() ? QString("This file has no tokenizer.chat_template.")
                                                         : QString::fromStdString(check.chat_template),
                             false, tabs_);
  tabs_->addTab(template_, "Template");

  auto* prompts = new QWidget(tabs_);
  auto* grid = new QGridLayout(prompts);
  const QString format = QString::fromUtf8(archscope::to_string(check.format));
  const QString rendered = QString::fromStdString(check.template_text);
  const QString built_in = QString::fromStdString(check.builtin_text);
  rendered_ = monospace_view(rendered, true, prompts);
  built_in_ = monospace_view(built_in, true, prompts);
  grid->addWidget(new QLabel("The model's template renders", prompts), 0, 0);
  grid->addWidget(new QLabel(QString("archscope's built-in %1 format sends").arg(format), prompts), 0, 1);
  grid->addWidget(rendered_, 1, 0);
  grid->addWidget(built_in_, 1, 1);
  difference_ = new QLabel(prompts);
  difference_->setWordWrap(true);
  QString difference;
  if (!check.conversation.empty()) difference = QString("Sample chat: %1, then the assistant's turn opens. ").arg(roles(check.conversation));
  if (check.outcome == archscope::ChatTemplateCheck::Outcome::RenderFailed) {
    difference += "The template could not be rendered: " + QString::fromStdString(check.error);
  } else if (check.chat_template.empty()) {
    difference += "There is no template to compare with.";
  } else if (check.first_difference == std::string::npos) {
    difference += "Both are the same, byte for byte.";
  } else {
    // Byte offset -> character index in each text (the same prefix in both).
    const int index = QString::fromStdString(check.template_text.substr(0, check.first_difference)).size();
    const QString prefix = rendered.left(index);
    const int line = int(prefix.count('\n')) + 1;
    const int column = index - (prefix.lastIndexOf('\n') + 1) + 1;
    difference += QString("They first differ at line %1, column %2 (marked).").arg(line).arg(column);
    mark_from(rendered_, index);
    mark_from(built_in_, index);
  }
  difference_->setText(difference);
  grid->addWidget(difference_, 2, 0, 1, 2);
  tabs_->addTab(prompts, "Prompts");
  layout->addWidget(tabs_, 1);

  auto* buttons = new QDialogButtonBox(QDialogButtonBox::Close, this);
  connect(buttons, &QDialogButtonBox::rejected, this, &QDialog::reject);
  layout->addWidget(buttons);
}

void ChatTemplateDialog::showTab(Tab tab) { tabs_->setCurrentIndex(int(tab)); }
QString ChatTemplateDialog::summaryText() const { return summary_->text(); }
QString ChatTemplateDialog::templateText() const { return template_->toPlainText(); }
QString ChatTemplateDialog::renderedText() const { return rendered_->toPlainText(); }
QString ChatTemplateDialog::builtInText() const { return built_in_->toPlainText(); }
QString ChatTemplateDialog::differenceText() const { return difference_->text(); }

}  // namespace archscope::gui
