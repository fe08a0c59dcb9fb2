// The bundled demo models are trained, not random: greedy replies are the sentences of
// their training chats, also in a conversation's second turn (models/demo/README.md).
#include <gtest/gtest.h>

#include "archscope/chat_template.h"
#include "archscope/generation.h"
#include "archscope/gguf.h"
#include "archscope/session.h"

namespace archscope {
namespace {

// Greedy reply to the conversation so far, fed as the app feeds it (only what is new).
std::string reply(Session& session, ChatFormat format, std::vector<ChatMessage>& messages) {
  const std::vector<int32_t> prompt = encode_chat(session.tokenizer(), format, messages, true);
  Result<std::vector<float>> logits = feed_prompt(session, prompt);
  if (!logits) return logits.error().what();
  Sampler greedy({.temperature = 0.0f});
  std::vector<int32_t> history = prompt;
  std::string text = generate(session, std::move(*logits), greedy, history, 200).text;
  messages.push_back({"assistant", text});
  return text;
}

class DemoModel : public ::testing::TestWithParam<const char*> {};

TEST_P(DemoModel, AnswersFromItsTrainingChats) {
  const std::string path = std::string(ARCHSCOPE_SOURCE_DIR "/models/demo/") + GetParam();
  const ChatFormat format = detect_chat_format(GgufFile::open(path));
  for (const char* device : {"cpu", "vulkan"}) {
    SessionOptions options;
    options.device = device;
    Result<std::unique_ptr<Session>> session = Session::open(path, options);
    ASSERT_TRUE(session) << session.error().what();
    std::vector<ChatMessage> chat = {{"user", "Tell me a story about a cat."}};
    const std::string story = reply(**session, format, chat);
    EXPECT_EQ(story.rfind("Once upon a time, there was a", 0), 0u) << device << ": " << story;
    EXPECT_NE(story.find("In the end,"), std::string::npos) << device << ": " << story;
    chat.push_back({"user", "What is KV sharing?"});
    const std::string answer = reply(**session, format, chat);
    EXPECT_NE(answer.find("cache"), std::string::npos) << device << ": " << answer;
    EXPECT_EQ(answer.find("Once upon"), std::string::npos) << device << ": " << answer;
  }
}

INSTANTIATE_TEST_SUITE_P(Bundled, DemoModel,
                         ::testing::Values("archscope-demo-gemma4.gguf", "archscope-demo-qwen3.gguf"),
                         [](const auto& info) {
                           const std::string name = std::string(info.param).substr(15);  // after "archscope-demo-"
                           return name.substr(0, name.find('.'));
                         });

}  // namespace
}  // namespace archscope
