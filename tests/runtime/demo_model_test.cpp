// The bundled demo model is trained, not random: greedy replies are the sentences of its
// training chats (models/demo/README.md).
#include <gtest/gtest.h>

#include "archscope/chat_template.h"
#include "archscope/generation.h"
#include "archscope/gguf.h"
#include "archscope/session.h"

namespace archscope {
namespace {

const std::string kDemo = ARCHSCOPE_SOURCE_DIR "/models/demo/archscope-demo-qwen3.gguf";

std::string reply(Session& session, const std::string& question) {
  const ChatFormat format = detect_chat_format(GgufFile::open(kDemo));
  const std::vector<int32_t> prompt = encode_chat(session.tokenizer(), format, {{"user", question}}, true);
  Result<std::vector<float>> logits = feed_prompt(session, prompt);
  if (!logits) return logits.error().what();
  Sampler greedy({.temperature = 0.0f});
  std::vector<int32_t> history = prompt;
  return generate(session, std::move(*logits), greedy, history, 200).text;
}

TEST(DemoModel, AnswersFromItsTrainingChats) {
  for (const char* device : {"cpu", "vulkan"}) {
    SessionOptions options;
    options.device = device;
    Result<std::unique_ptr<Session>> session = Session::open(kDemo, options);
    ASSERT_TRUE(session) << session.error().what();
    const std::string story = reply(**session, "Tell me a story about a cat.");
    EXPECT_EQ(story.rfind("Once upon a time, there was a", 0), 0u) << device << ": " << story;
    EXPECT_NE(story.find("In the end,"), std::string::npos) << device << ": " << story;
    const std::string answer = reply(**session, "What is KV sharing?");
    EXPECT_NE(answer.find("cache"), std::string::npos) << device << ": " << answer;
  }
}

}  // namespace
}  // namespace archscope
