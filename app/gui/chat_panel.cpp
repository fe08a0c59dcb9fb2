#include "chat_panel.h"

#include <QDoubleSpinBox>
#include <QFormLayout>
#include <QGroupBox>
#include <QHBoxLayout>
#include <QKeyEvent>
#include <QLabel>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QScrollBar>
#include <QShortcut>
#include <QSpinBox>
#include <QTextBrowser>
#include <QTextDocument>
#include <QVBoxLayout>

#include "chat_template_dialog.h"
#include "palette.h"

namespace archscope::gui {

namespace {

QString paragraph_html(const QString& who, const QColor& color, const QString& text) {
  QString body = text.toHtmlEscaped();
  body.replace('\n', "<br>");
  return QString("<p style='margin:0 0 10px 0; white-space:pre-wrap'><span style='color:%1;font-weight:600'>%2</span><br>%3</p>")
      .arg(color.name(), who, body);
}

// Green while there is room, amber past 70%, red past 90%.
QString usage_style(double fill) {
  const QColor c = fill > 0.9 ? QColor(0xdc, 0x26, 0x26) : fill > 0.7 ? QColor(0xd9, 0x77, 0x06) : QColor(0x16, 0xa3, 0x4a);
  return QString("QProgressBar { border: 1px solid #d0d5dd; border-radius: 4px; background: #f4f6fa; text-align: center; height: 16px; }"
                 "QProgressBar::chunk { background: %1; border-radius: 3px; }")
      .arg(c.name());
}

}  // namespace

ChatPanel::ChatPanel(ChatEngine* engine, QWidget* parent) : QWidget(parent), engine_(engine) {
  auto* layout = new QVBoxLayout(this);
  layout->setContentsMargins(10, 8, 10, 8);

  auto* top = new QHBoxLayout;
  title_ = new QLabel("Chat", this);
  QFont f = title_->font();
  f.setBold(true);
  f.setPointSizeF(f.pointSizeF() * 1.15);
  title_->setFont(f);
  new_chat_ = new QPushButton("New chat", this);
  new_chat_->setToolTip("Start over (Ctrl+Shift+N)");
  settings_button_ = new QPushButton("Settings", this);
  settings_button_->setCheckable(true);
  settings_button_->setToolTip("System prompt and sampling");
  template_button_ = new QPushButton("Template", this);
  template_button_->setToolTip("The model's own chat template, and the prompt it renders next to archscope's (Ctrl+Shift+T)");
  top->addWidget(title_);
  top->addStretch(1);
  top->addWidget(template_button_);
  top->addWidget(settings_button_);
  top->addWidget(new_chat_);
  layout->addLayout(top);

  notice_ = new QLabel(this);
  notice_->setWordWrap(true);
  notice_->setStyleSheet("color: #6b7280;");
  layout->addWidget(notice_);

  template_warning_ = new QLabel(this);
  template_warning_->setWordWrap(true);
  template_warning_->setTextFormat(Qt::RichText);
  template_warning_->setVisible(false);
  layout->addWidget(template_warning_);
  connect(template_warning_, &QLabel::linkActivated, this, [this](const QString& link) {
    if (link == "template") showChatTemplate();
    else showChatTemplatePrompts();
  });
  connect(template_button_, &QPushButton::clicked, this, &ChatPanel::showChatTemplate);

  settings_ = new QGroupBox("System prompt and sampling", this);
  auto* form = new QFormLayout(settings_);
  system_ = new QPlainTextEdit(settings_);
  system_->setPlaceholderText("Optional system prompt");
  system_->setFixedHeight(52);
  temperature_ = new QDoubleSpinBox(settings_);
  temperature_->setRange(0.0, 2.0);
  temperature_->setSingleStep(0.1);
  temperature_->setValue(0.8);
  temperature_->setToolTip("0 is greedy");
  top_k_ = new QSpinBox(settings_);
  top_k_->setRange(0, 1000);
  top_k_->setValue(40);
  top_k_->setSpecialValueText("off");
  top_p_ = new QDoubleSpinBox(settings_);
  top_p_->setRange(0.05, 1.0);
  top_p_->setSingleStep(0.05);
  top_p_->setValue(0.95);
  max_tokens_ = new QSpinBox(settings_);
  max_tokens_->setRange(1, 1 << 20);
  max_tokens_->setValue(256);
  seed_ = new QSpinBox(settings_);
  seed_->setRange(0, INT32_MAX);
  form->addRow("System", system_);
  form->addRow("Temperature", temperature_);
  form->addRow("Top-k", top_k_);
  form->addRow("Top-p", top_p_);
  form->addRow("Max tokens", max_tokens_);
  form->addRow("Seed", seed_);
  settings_->setVisible(false);
  layout->addWidget(settings_);
  connect(settings_button_, &QPushButton::toggled, settings_, &QWidget::setVisible);

  transcript_ = new QTextBrowser(this);
  transcript_->setOpenLinks(false);
  transcript_->setPlaceholderText("Messages appear here.");
  layout->addWidget(transcript_, 1);

  usage_ = new QProgressBar(this);
  usage_->setRange(0, 1);
  usage_->setValue(0);
  usage_->setStyleSheet(usage_style(0));
  layout->addWidget(usage_);
  speed_ = new QLabel(this);
  speed_->setStyleSheet("color: #6b7280;");
  layout->addWidget(speed_);

  input_ = new QPlainTextEdit(this);
  input_->setPlaceholderText("Message (Enter sends, Shift+Enter for a new line)");
  input_->setFixedHeight(76);
  input_->installEventFilter(this);
  layout->addWidget(input_);

  auto* buttons = new QHBoxLayout;
  edit_ = new QPushButton("Edit last", this);
  edit_->setToolTip("Put your last message back in the box to change and resend it (Ctrl+E)");
  regenerate_ = new QPushButton("Regenerate", this);
  regenerate_->setToolTip("Replace the last reply (Ctrl+R)");
  stop_ = new QPushButton("Stop", this);
  stop_->setToolTip("Stop the reply (Esc)");
  send_ = new QPushButton("Send", this);
  send_->setDefault(true);
  buttons->addWidget(edit_);
  buttons->addWidget(regenerate_);
  buttons->addStretch(1);
  buttons->addWidget(stop_);
  buttons->addWidget(send_);
  layout->addLayout(buttons);

  connect(send_, &QPushButton::clicked, this, [this] { send(input_->toPlainText()); });
  connect(stop_, &QPushButton::clicked, this, &ChatPanel::stop);
  connect(regenerate_, &QPushButton::clicked, this, &ChatPanel::regenerate);
  connect(edit_, &QPushButton::clicked, this, &ChatPanel::editLast);
  connect(new_chat_, &QPushButton::clicked, this, &ChatPanel::newChat);
  auto shortcut = [this](const QKeySequence& keys, void (ChatPanel::*slot)()) {
    auto* s = new QShortcut(keys, this, this, slot);
    s->setContext(Qt::WindowShortcut);
  };
  shortcut(QKeySequence(Qt::Key_Escape), &ChatPanel::stop);
  shortcut(QKeySequence(Qt::CTRL | Qt::Key_R), &ChatPanel::regenerate);
  shortcut(QKeySequence(Qt::CTRL | Qt::Key_E), &ChatPanel::editLast);
  shortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_N), &ChatPanel::newChat);
  auto* template_keys = new QShortcut(QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_T), this);
  template_keys->setContext(Qt::WindowShortcut);
  connect(template_keys, &QShortcut::activated, this, &ChatPanel::showChatTemplate);

  connect(engine_, &ChatEngine::piece, this, &ChatPanel::onPiece);
  connect(engine_, &ChatEngine::step, this, &ChatPanel::onStep);
  connect(engine_, &ChatEngine::replied, this, &ChatPanel::onReplied);
  connect(engine_, &ChatEngine::prefillProgress, this, [this](int done, int total) {
    speed_->setText(QString("Reading the prompt: %1 / %2 tokens").arg(format_count(done), format_count(total)));
  });

  setUnavailable("Open a GGUF model to chat.");
}

void ChatPanel::setUnavailable(const QString& why) {
  available_ = false;
  generating_ = false;
  messages_.clear();
  streaming_.clear();
  notice_->setText(why);
  title_->setText("Chat");
  template_check_ = {};
  updateTemplateWarning();
  context_ = 0;
  setUsage(0);
  speed_->clear();
  render();
  updateButtons();
}

void ChatPanel::setSession(const SessionInfo& info) {
  available_ = true;
  context_ = info.context;
  title_->setText(QString("Chat · %1").arg(to_string(info.format)));
  notice_->setText(info.notice.isEmpty() ? QString("Running on %1.").arg(info.backend)
                                         : QString("Running on %1: %2").arg(info.backend, info.notice));
  template_check_ = info.template_check;
  updateTemplateWarning();
  messages_.clear();
  streaming_.clear();
  setUsage(0);
  speed_->clear();
  render();
  updateButtons();
}

void ChatPanel::updateTemplateWarning() {
  using Outcome = archscope::ChatTemplateCheck::Outcome;
  const QString format = QString::fromUtf8(to_string(template_check_.format));
  QString text;
  QString style = "QLabel { background: #fef3c7; color: #92400e; border: 1px solid #f59e0b; border-radius: 4px; padding: 6px; }";
  switch (template_check_.outcome) {
    case Outcome::Differs:
      text = QString("This model's chat template renders a different prompt than archscope's built-in %1 format; "
                     "replies may be poor. <a href=\"prompts\">Show the two prompts</a>")
                 .arg(format);
      break;
    case Outcome::NoBuiltInFormat:
      text = "archscope has no built-in format for this model's chat template: the chat is sent as plain text, and "
             "replies may be poor. <a href=\"prompts\">Show what the template renders</a>";
      break;
    case Outcome::RenderFailed:
      text = QString("archscope could not render this model's chat template to check its %1 format (%2). "
                     "<a href=\"template\">Show the template</a>")
                 .arg(format, QString::fromStdString(template_check_.error).toHtmlEscaped());
      style = "QLabel { color: #6b7280; }";
      break;
    case Outcome::NoTemplate:
    case Outcome::Agrees: break;
  }
  template_warning_->setText(text);
  template_warning_->setStyleSheet(style);
  template_warning_->setVisible(!text.isEmpty());
  template_button_->setEnabled(available_);
}

bool ChatPanel::templateWarningShown() const { return !template_warning_->isHidden(); }

QString ChatPanel::templateWarningText() const {
  QTextDocument doc;
  doc.setHtml(template_warning_->text());
  return doc.toPlainText();
}

ChatTemplateDialog* ChatPanel::showChatTemplate() {
  if (!available_) return nullptr;
  auto* dialog = new ChatTemplateDialog(template_check_, this);
  dialog->setAttribute(Qt::WA_DeleteOnClose);
  dialog->show();
  return dialog;
}

ChatTemplateDialog* ChatPanel::showChatTemplatePrompts() {
  ChatTemplateDialog* dialog = showChatTemplate();
  if (dialog) dialog->showTab(ChatTemplateDialog::PromptsTab);
  return dialog;
}

archscope::SamplerSettings ChatPanel::sampling() const {
  archscope::SamplerSettings s;
  s.temperature = float(temperature_->value());
  s.top_k = top_k_->value();
  s.top_p = float(top_p_->value());
  s.seed = uint64_t(seed_->value()) + uint64_t(regenerations_);
  return s;
}

int ChatPanel::maxTokens() const { return max_tokens_->value(); }
void ChatPanel::setMaxTokens(int tokens) { max_tokens_->setValue(tokens); }
QString ChatPanel::systemPrompt() const { return system_->toPlainText().trimmed(); }

void ChatPanel::send(const QString& text) {
  const QString message = text.trimmed();
  if (!available_ || generating_ || message.isEmpty()) return;
  messages_.push_back({"user", message.toStdString()});
  input_->clear();
  startReply();
}

void ChatPanel::startReply() {
  ChatRequest request;
  if (!systemPrompt().isEmpty()) request.messages.push_back({"system", systemPrompt().toStdString()});
  request.messages.insert(request.messages.end(), messages_.begin(), messages_.end());
  request.sampling = sampling();
  request.max_tokens = maxTokens();
  generating_ = true;
  streaming_.clear();
  render();
  updateButtons();
  emit replyStarted();
  engine_->reply(request);
}

void ChatPanel::stop() {
  if (generating_) engine_->stop();
}

void ChatPanel::regenerate() {
  if (!available_ || generating_ || messages_.empty() || messages_.back().role != "assistant") return;
  messages_.pop_back();
  ++regenerations_;
  startReply();
}

void ChatPanel::editLast() {
  if (!available_ || generating_) return;
  while (!messages_.empty() && messages_.back().role == "assistant") messages_.pop_back();
  if (messages_.empty()) return;
  input_->setPlainText(QString::fromStdString(messages_.back().content));
  messages_.pop_back();
  input_->setFocus();
  input_->moveCursor(QTextCursor::End);
  render();
  updateButtons();
}

void ChatPanel::newChat() {
  if (generating_) return;
  messages_.clear();
  streaming_.clear();
  speed_->clear();
  render();
  updateButtons();
}

void ChatPanel::onPiece(const QString& text) {
  if (!generating_) return;
  streaming_ += text;
  QTextCursor cursor(transcript_->document());
  cursor.movePosition(QTextCursor::End);
  cursor.insertText(text);
  QScrollBar* bar = transcript_->verticalScrollBar();
  bar->setValue(bar->maximum());
}

void ChatPanel::onStep(std::shared_ptr<const archscope::StepReport> report) {
  if (available_) setUsage(report->position);
}

void ChatPanel::onReplied(const ReplyStats& stats) {
  if (!generating_) return;
  generating_ = false;
  if (!stats.text.isEmpty() || stats.error.isEmpty()) {
    messages_.push_back({"assistant", stats.text.toStdString()});
  } else if (!stats.stopped && !messages_.empty() && messages_.back().role == "user") {
    // Nothing was generated (e.g. the conversation no longer fits): the message goes back
    // to the box to shorten or to send in a new chat.
    input_->setPlainText(QString::fromStdString(messages_.back().content));
    messages_.pop_back();
  }
  streaming_.clear();
  QStringList parts;
  if (stats.prefilled > 0) parts << QString("prompt %1 tok/s").arg(stats.prefillTokensPerSecond(), 0, 'f', 1);
  if (stats.generated > 0) parts << QString("reply %1 tok/s").arg(stats.decodeTokensPerSecond(), 0, 'f', 1);
  parts << QString("%1 tokens").arg(stats.generated);
  if (stats.stopped) parts << "stopped";
  if (!stats.error.isEmpty() && !stats.stopped) parts << stats.error;
  speed_->setText(parts.join(" · "));
  setUsage(stats.position);
  render();
  updateButtons();
  emit replyFinished(stats);
}

void ChatPanel::render() {
  QString html;
  if (!systemPrompt().isEmpty()) html += paragraph_html("System", colors::muted(), systemPrompt());
  for (const archscope::ChatMessage& m : messages_) {
    const bool user = m.role == "user";
    html += paragraph_html(user ? "You" : "Model", user ? colors::accent() : kind_color(AttentionKind::Sliding),
                           QString::fromStdString(m.content));
  }
  if (generating_) html += paragraph_html("Model", kind_color(AttentionKind::Sliding), streaming_);
  transcript_->setHtml(html);
  QScrollBar* bar = transcript_->verticalScrollBar();
  bar->setValue(bar->maximum());
}

void ChatPanel::updateButtons() {
  const bool has_reply = !messages_.empty() && messages_.back().role == "assistant";
  send_->setEnabled(available_ && !generating_);
  input_->setEnabled(available_);
  stop_->setEnabled(generating_);
  regenerate_->setEnabled(available_ && !generating_ && has_reply);
  edit_->setEnabled(available_ && !generating_ && !messages_.empty());
  new_chat_->setEnabled(available_ && !generating_ && !messages_.empty());
}

void ChatPanel::setUsage(int position) {
  const int context = std::max(context_, 1);
  usage_->setRange(0, context);
  usage_->setValue(std::min(position, context));
  usage_->setFormat(QString("%1 / %2 tokens").arg(format_count(position), format_count(context_)));
  usage_->setStyleSheet(usage_style(double(position) / context));
}

QString ChatPanel::transcriptText() const { return transcript_->toPlainText(); }
QString ChatPanel::contextText() const { return usage_->format(); }
QString ChatPanel::speedText() const { return speed_->text(); }

bool ChatPanel::eventFilter(QObject* watched, QEvent* event) {
  if (watched == input_ && event->type() == QEvent::KeyPress) {
    auto* key = static_cast<QKeyEvent*>(event);
    if ((key->key() == Qt::Key_Return || key->key() == Qt::Key_Enter) && !(key->modifiers() & Qt::ShiftModifier)) {
      send(input_->toPlainText());
      return true;
    }
  }
  return QWidget::eventFilter(watched, event);
}

}  // namespace archscope::gui
