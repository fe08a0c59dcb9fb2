// The chat: a transcript with the reply streaming in, the message box, Send / Stop /
// Regenerate / Edit last, a new-chat button, the system prompt and sampling settings,
// tokens per second and a context-usage bar coloured as it fills. The model runs in a
// ChatEngine (worker thread); the panel only sends requests and shows what comes back.
//
// Keys: Enter sends (Shift+Enter: new line), Esc stops, Ctrl+R regenerates, Ctrl+E edits
// the last message, Ctrl+Shift+N starts a new chat, Ctrl+Shift+T shows the model's chat
// template. When the template renders another prompt than archscope's built-in format (or
// archscope has none for it) a warning above the transcript says so and links to both.
#pragma once

#include <QWidget>

#include <vector>

#include "archscope/chat_template.h"
#include "chat_engine.h"

class QDoubleSpinBox;
class QGroupBox;
class QLabel;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;
class QSpinBox;
class QTextBrowser;

namespace archscope::gui {

class ChatTemplateDialog;

class ChatPanel : public QWidget {
  Q_OBJECT
 public:
  explicit ChatPanel(ChatEngine* engine, QWidget* parent = nullptr);

  // No runnable model (a card, an HF folder, weights still loading): the panel says why and
  // stays disabled.
  void setUnavailable(const QString& why);
  void setSession(const SessionInfo& info);

  // What the buttons and keys do.
  void send(const QString& text);
  void stop();
  void regenerate();
  void editLast();
  void newChat();

  // The model's chat template and the check of the built-in format against it (a dialog
  // that closes itself); nullptr when no model runs.
  ChatTemplateDialog* showChatTemplate();
  ChatTemplateDialog* showChatTemplatePrompts();

  bool generating() const { return generating_; }
  const std::vector<archscope::ChatMessage>& messages() const { return messages_; }
  QString transcriptText() const;
  QString contextText() const;   // "1,234 / 8,192 tokens"
  QString speedText() const;
  bool templateWarningShown() const;
  QString templateWarningText() const;  // plain text, without the link
  QPlainTextEdit* input() const { return input_; }
  archscope::SamplerSettings sampling() const;
  int maxTokens() const;
  void setMaxTokens(int tokens);
  QString systemPrompt() const;

 signals:
  void replyStarted();
  void replyFinished(const ReplyStats& stats);

 protected:
  bool eventFilter(QObject* watched, QEvent* event) override;

 private:
  void startReply();
  void onPiece(const QString& text);
  void onStep(std::shared_ptr<const archscope::StepReport> report);
  void onReplied(const ReplyStats& stats);
  void render();             // the whole transcript from messages_ (+ the streaming reply)
  void updateButtons();
  void setUsage(int position);
  void updateTemplateWarning();

  ChatEngine* engine_;
  std::vector<archscope::ChatMessage> messages_;  // without the system prompt
  QString streaming_;        // the reply arriving now
  bool generating_ = false;
  bool available_ = false;
  int context_ = 0;
  int regenerations_ = 0;    // varies the seed so regenerate gives another reply
  archscope::ChatTemplateCheck template_check_;

  QLabel* title_ = nullptr;
  QLabel* notice_ = nullptr;
  QLabel* template_warning_ = nullptr;
  QTextBrowser* transcript_ = nullptr;
  QProgressBar* usage_ = nullptr;
  QLabel* speed_ = nullptr;
  QPlainTextEdit* input_ = nullptr;
  QPushButton* send_ = nullptr;
  QPushButton* stop_ = nullptr;
  QPushButton* regenerate_ = nullptr;
  QPushButton* edit_ = nullptr;
  QPushButton* new_chat_ = nullptr;
  QPushButton* settings_button_ = nullptr;
  QPushButton* template_button_ = nullptr;
  QGroupBox* settings_ = nullptr;
  QPlainTextEdit* system_ = nullptr;
  QDoubleSpinBox* temperature_ = nullptr;
  QSpinBox* top_k_ = nullptr;
  QDoubleSpinBox* top_p_ = nullptr;
  QSpinBox* max_tokens_ = nullptr;
  QSpinBox* seed_ = nullptr;
};

}  // namespace archscope::gui
