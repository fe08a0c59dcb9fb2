// The chat panel shows the model's own chat template and warns when archscope's built-in
// format sends another prompt: nothing when they agree (every tiny model), a warning that
// links to both prompts, with the first difference marked, when they differ.
#include <QLabel>
#include <QPushButton>
#include <QShortcut>
#include <QSignalSpy>
#include <QTabWidget>
#include <QTemporaryDir>

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "archscope/gguf.h"
#include "archscope/model_writer.h"
#include "chat_panel.h"
#include "chat_template_dialog.h"
#include "main_window.h"

using archscope::ChatTemplateCheck;
using archscope::gui::ChatPanel;
using archscope::gui::ChatTemplateDialog;
using archscope::gui::MainWindow;

namespace {

std::string qwen3_template() {
  std::ifstream file(ARCHSCOPE_SOURCE_DIR "/tests/tokenizer/chat_templates/Qwen-Qwen3-0.6B.jinja");
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

const archscope::ChatTemplateTokens kQwen3Tokens{"", "<|im_end|>", false};

archscope::gui::SessionInfo session_with(const ChatTemplateCheck& check) {
  archscope::gui::SessionInfo info;
  info.backend = "cpu (reference)";
  info.context = 512;
  info.format = check.format;
  info.template_check = check;
  return info;
}

}  // namespace

// A copy of a GGUF file with another chat template (as a fine-tune might ship).
void copy_with_template(const std::string& source, const std::string& target, const std::string& chat_template) {
  const archscope::GgufFile file = archscope::GgufFile::open(source);
  archscope::GgufWriter copy;
  for (const auto& [key, value] : file.metadata()) {
    if (key != "general.alignment") copy.set(key, value);
  }
  for (const archscope::GgufTensor& t : file.tensors()) copy.add_tensor(t.name, t.shape, t.type, {t.data, t.data + t.bytes});
  copy.set_string("tokenizer.chat_template", chat_template);
  copy.write(target);
}

TEST(ChatTemplatePanel, AgreeingTemplateShowsNoWarningAndIsReadable) {
  archscope::gui::ChatEngine engine;
  ChatPanel panel(&engine);
  const std::string text = qwen3_template();
  panel.setSession(session_with(archscope::check_chat_template(text, archscope::ChatFormat::ChatML, kQwen3Tokens)));
  EXPECT_FALSE(panel.templateWarningShown());
  ChatTemplateDialog* dialog = panel.showChatTemplate();
  ASSERT_NE(dialog, nullptr);
  EXPECT_EQ(dialog->tabs()->currentIndex(), ChatTemplateDialog::TemplateTab);
  EXPECT_EQ(dialog->templateText().toStdString(), text);
  EXPECT_EQ(dialog->renderedText(), dialog->builtInText());
  EXPECT_TRUE(dialog->differenceText().contains("Both are the same, byte for byte.")) << dialog->differenceText().toStdString();
  EXPECT_TRUE(dialog->summaryText().startsWith("Chat template renders the same prompt as archscope's built-in chatml format"));
  dialog->close();
}

TEST(ChatTemplatePanel, ChangedTemplateWarnsAndShowsBothPrompts) {
  archscope::gui::ChatEngine engine;
  ChatPanel panel(&engine);
  panel.resize(500, 700);
  panel.show();
  std::string text = qwen3_template();
  const std::string from = "{{- '<|im_start|>assistant\\n' }}";
  text.replace(text.find(from), from.size(), "{{- '<|im_start|>assistant \\n' }}");
  const ChatTemplateCheck check = archscope::check_chat_template(text, archscope::ChatFormat::ChatML, kQwen3Tokens);
  ASSERT_EQ(check.outcome, ChatTemplateCheck::Outcome::Differs);
  panel.setSession(session_with(check));
  EXPECT_TRUE(panel.templateWarningShown());
  EXPECT_EQ(panel.templateWarningText().toStdString(),
            "This model's chat template renders a different prompt than archscope's built-in chatml format; replies "
            "may be poor. Show the two prompts");
  ChatTemplateDialog* dialog = panel.showChatTemplatePrompts();
  ASSERT_NE(dialog, nullptr);
  EXPECT_EQ(dialog->tabs()->currentIndex(), ChatTemplateDialog::PromptsTab);
  EXPECT_EQ(dialog->renderedText().toStdString(), check.template_text);
  EXPECT_EQ(dialog->builtInText().toStdString(), check.builtin_text);
  // The sample's final generation prompt: "<|im_start|>assistant \n" against "<|im_start|>assistant\n".
  const int lines = int(QString::fromStdString(check.template_text.substr(0, check.first_difference)).count('\n')) + 1;
  EXPECT_TRUE(dialog->differenceText().contains(QString("They first differ at line %1, column 22").arg(lines)))
      << dialog->differenceText().toStdString();
  dialog->close();

  // A new model that agrees takes the warning away.
  panel.setSession(session_with(archscope::check_chat_template(qwen3_template(), archscope::ChatFormat::ChatML, kQwen3Tokens)));
  EXPECT_FALSE(panel.templateWarningShown());
  panel.setUnavailable("no model");
  EXPECT_FALSE(panel.templateWarningShown());
  EXPECT_EQ(panel.showChatTemplate(), nullptr);
}

TEST(ChatTemplatePanel, ButtonAndShortcutOpenTheDialog) {
  archscope::gui::ChatEngine engine;
  ChatPanel panel(&engine);
  panel.setSession(session_with(archscope::check_chat_template(qwen3_template(), archscope::ChatFormat::ChatML, kQwen3Tokens)));
  QPushButton* button = nullptr;
  for (QPushButton* b : panel.findChildren<QPushButton*>()) {
    if (b->text() == "Template") button = b;
  }
  ASSERT_NE(button, nullptr);
  EXPECT_TRUE(button->isEnabled());
  button->click();
  EXPECT_EQ(panel.findChildren<ChatTemplateDialog*>().size(), 1);
  QShortcut* keys = nullptr;
  for (QShortcut* s : panel.findChildren<QShortcut*>()) {
    if (s->key() == QKeySequence(Qt::CTRL | Qt::SHIFT | Qt::Key_T)) keys = s;
  }
  ASSERT_NE(keys, nullptr);
  emit keys->activated();
  EXPECT_EQ(panel.findChildren<ChatTemplateDialog*>().size(), 2);
  panel.setUnavailable("no model");
  EXPECT_FALSE(button->isEnabled());
}

TEST(ChatTemplatePanel, UnknownAndBrokenTemplatesSaySo) {
  archscope::gui::ChatEngine engine;
  ChatPanel panel(&engine);
  const std::string unknown = "{% for m in messages %}### {{ m.role }}: {{ m.content }}\n{% endfor %}";
  panel.setSession(session_with(archscope::check_chat_template(unknown, archscope::detect_chat_format(unknown), kQwen3Tokens)));
  EXPECT_TRUE(panel.templateWarningShown());
  EXPECT_TRUE(panel.templateWarningText().startsWith("archscope has no built-in format for this model's chat template"));
  const std::string broken = "<|im_start|>{{ messages | frobnicate }}";
  panel.setSession(session_with(archscope::check_chat_template(broken, archscope::detect_chat_format(broken), kQwen3Tokens)));
  EXPECT_TRUE(panel.templateWarningShown());
  EXPECT_EQ(panel.templateWarningText().toStdString(),
            "archscope could not render this model's chat template to check its chatml format (line 1: unknown filter "
            "'frobnicate'). Show the template");
}

TEST(ChatTemplatePanel, ARunningTinyModelAgreesAndShowsItsTemplate) {
  QTemporaryDir dir;
  const QString path = dir.filePath("gemma4.gguf");
  archscope::TinyModelOptions options;
  options.arch = "gemma4";
  archscope::write_tiny_model(options, path.toStdString());
  MainWindow w;
  QSignalSpy opened(&w, &MainWindow::sessionOpened);
  w.openArguments({"archscope", path});
  for (int i = 0; i < 600 && opened.isEmpty(); ++i) opened.wait(100);
  ASSERT_FALSE(opened.isEmpty()) << w.errorText().toStdString();
  EXPECT_FALSE(w.chat()->templateWarningShown());
  ChatTemplateDialog* dialog = w.chat()->showChatTemplate();
  ASSERT_NE(dialog, nullptr);
  const std::string file_template = archscope::GgufFile::open(path.toStdString()).find("tokenizer.chat_template")->s;
  EXPECT_EQ(dialog->templateText().toStdString(), file_template);
  EXPECT_TRUE(dialog->summaryText().contains("gemma4 format")) << dialog->summaryText().toStdString();
  EXPECT_TRUE(dialog->renderedText().startsWith("<bos><|turn>system\n")) << dialog->renderedText().toStdString();
  dialog->close();

  // The same model with a changed template: the running chat warns.
  std::string changed = file_template;
  const std::string from = "<|channel>thought\\n<channel|>";
  ASSERT_NE(changed.rfind(from), std::string::npos);
  changed.replace(changed.rfind(from), from.size(), "<|channel>thought\\n\\n<channel|>");
  const QString edited = dir.filePath("gemma4-edited.gguf");
  copy_with_template(path.toStdString(), edited.toStdString(), changed);
  QSignalSpy reopened(&w, &MainWindow::sessionOpened);
  w.openArguments({"archscope", edited});
  for (int i = 0; i < 600 && reopened.isEmpty(); ++i) reopened.wait(100);
  ASSERT_FALSE(reopened.isEmpty()) << w.errorText().toStdString();
  EXPECT_TRUE(w.chat()->templateWarningShown());
  EXPECT_TRUE(w.chat()->templateWarningText().contains("built-in gemma4 format")) << w.chat()->templateWarningText().toStdString();
}
