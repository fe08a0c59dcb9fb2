// archscope-cli tokenize --chat: the ids a demo model is trained on are the ids it sees when
// it writes the reply in the app.
#include <gtest/gtest.h>

#include <sstream>

#include "archscope/chat_template.h"
#include "archscope/gguf.h"
#include "archscope/tokenizer.h"
#include "cli/cli_fixtures.h"

namespace archscope {
namespace {

const std::string kChat = R"([{"role": "user", "content": "Tell me a story."}, )"
                          R"({"role": "assistant", "content": "Once a cat sat."}])";

std::vector<int32_t> parse_ids(const std::string& line) {
  std::vector<int32_t> ids;
  std::istringstream in(line);
  for (int32_t id; in >> id;) ids.push_back(id);
  return ids;
}

// A model of the preset, and its `tokenize --chat` ids of kChat.
struct Tokenized {
  testing::TempDir dir;
  std::string model = dir.file("m.gguf");
  std::vector<int32_t> ids;
};

void tokenize_chat(const std::string& arch, Tokenized& t) {
  const CliResult made = run_cli("make-model --arch " + arch + " --preset tiny -o " + shell_quote(t.model));
  ASSERT_EQ(made.exit_code, 0) << made.err;
  const CliResult ids = run_cli("tokenize -m " + shell_quote(t.model) + " --chat", kChat + "\n");
  ASSERT_EQ(ids.exit_code, 0) << ids.err;
  t.ids = parse_ids(ids.out);
}

const std::vector<ChatMessage> kUser = {{"user", "Tell me a story."}};
const std::vector<ChatMessage> kBoth = {{"user", "Tell me a story."}, {"assistant", "Once a cat sat."}};

// Gemma 4's generation prompt opens an empty thought channel that its rendered history
// drops: the reply follows the generation prompt, then the turn ends.
TEST(TokenizeChat, Gemma4ReplyFollowsTheGenerationPrompt) {
  Tokenized t;
  ASSERT_NO_FATAL_FAILURE(tokenize_chat("gemma4", t));
  const GgufFile file = GgufFile::open(t.model);
  const Tokenizer tokenizer = Tokenizer::from_gguf(file);
  const ChatFormat format = detect_chat_format(file);
  ASSERT_EQ(format, ChatFormat::Gemma4);
  const std::vector<int32_t> prompt = encode_chat(tokenizer, format, kUser, /*add_assistant_prefix=*/true);
  ASSERT_GT(t.ids.size(), prompt.size());
  EXPECT_TRUE(std::equal(prompt.begin(), prompt.end(), t.ids.begin()));
  EXPECT_EQ(tokenizer.decode({t.ids.begin() + prompt.size(), t.ids.end()}), "Once a cat sat.<turn|>\n");
  EXPECT_NE(t.ids, encode_chat(tokenizer, format, kBoth, false));
}

// ChatML's generation prompt is the reply's own header: the ids are the whole template's.
TEST(TokenizeChat, ChatMlIsTheWholeTemplate) {
  Tokenized t;
  ASSERT_NO_FATAL_FAILURE(tokenize_chat("qwen3", t));
  const GgufFile file = GgufFile::open(t.model);
  const Tokenizer tokenizer = Tokenizer::from_gguf(file);
  ASSERT_EQ(detect_chat_format(file), ChatFormat::ChatML);
  EXPECT_EQ(t.ids, encode_chat(tokenizer, ChatFormat::ChatML, kBoth, false));
}

TEST(TokenizeChat, ALineThatIsNoConversationIsAnError) {
  testing::TempDir dir;
  const std::string model = dir.file("m.gguf");
  ASSERT_EQ(run_cli("make-model --arch qwen3 -o " + shell_quote(model)).exit_code, 0);
  const CliResult result = run_cli("tokenize -m " + shell_quote(model) + " --chat", "{\"role\": 1}\n");
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("line 1 is not a JSON list"), std::string::npos) << result.err;
}

}  // namespace
}  // namespace archscope
