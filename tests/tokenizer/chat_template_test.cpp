// Chat formats, as exact strings. The conversation is the one in llama.cpp's
// tests/test-chat-template.cpp; the Llama3, ChatML and Gemma strings are that test's
// expected outputs for llm_chat_apply_template, DeepSeek3 follows llama-chat.cpp's code.
// The Gemma4, DeepSeek4 and Laguna strings were rendered at development time by llama.cpp's
// own Jinja engine (common/jinja, with a small driver) from its models/templates files
// google-gemma-4-31B-it.jinja, deepseek-ai-DeepSeek-V4.jinja and poolside-Laguna-XS.2.jinja,
// with enable_thinking = false; the leading BOS they render is left out here.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>

#include <filesystem>

#include "archscope/chat_template.h"
#include "archscope/gguf.h"
#include "archscope/tokenizer.h"
#include "tokenizer_fixtures.h"

namespace archscope {
namespace {

using testing::small_vocab;
using testing::TokenizerTempDir;

const std::vector<ChatMessage> kConversation = {
    {"system", "You are a helpful assistant"},
    {"user", "Hello"},
    {"assistant", "Hi there"},
    {"user", "Who are you"},
    {"assistant", "   I am an assistant   "},
    {"user", "Another question"},
};

// Consecutive assistant turns, a thought channel, untrimmed user text, no system message.
const std::vector<ChatMessage> kOddConversation = {
    {"user", "  Hi  "},
    {"assistant", "<|channel>thought\nhmm<channel|>Hello!"},
    {"assistant", "More."},
    {"user", "Bye"},
};

// Two system messages, consecutive user turns, reasoning inside the reply.
const std::vector<ChatMessage> kSystemsConversation = {
    {"system", "S1"}, {"user", "A"}, {"user", "B"}, {"system", "S2"},
    {"assistant", "<think>\nplan\n</think>\n\nAnswer  "},
};

TEST(ChatTemplate, Llama3) {
  EXPECT_EQ(format_chat(ChatFormat::Llama3, kConversation, true),
            "<|start_header_id|>system<|end_header_id|>\n\nYou are a helpful assistant<|eot_id|><|start_header_id|>user<|"
            "end_header_id|>\n\nHello<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nHi "
            "there<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nWho are "
            "you<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\nI am an "
            "assistant<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nAnother "
            "question<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
}

TEST(ChatTemplate, ChatML) {
  EXPECT_EQ(format_chat(ChatFormat::ChatML, kConversation, true),
            "<|im_start|>system\nYou are a helpful assistant<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n<|im_start|>"
            "assistant\nHi there<|im_end|>\n<|im_start|>user\nWho are you<|im_end|>\n<|im_start|>assistant\n   I am an "
            "assistant   <|im_end|>\n<|im_start|>user\nAnother question<|im_end|>\n<|im_start|>assistant\n");
  EXPECT_EQ(format_chat(ChatFormat::ChatML, {{"user", "x"}}, false), "<|im_start|>user\nx<|im_end|>\n");
}

TEST(ChatTemplate, Gemma) {
  EXPECT_EQ(format_chat(ChatFormat::Gemma, kConversation, true),
            "<start_of_turn>user\nYou are a helpful assistant\n\nHello<end_of_turn>\n<start_of_turn>model\nHi "
            "there<end_of_turn>\n<start_of_turn>user\nWho are you<end_of_turn>\n<start_of_turn>model\nI am an "
            "assistant<end_of_turn>\n<start_of_turn>user\nAnother question<end_of_turn>\n<start_of_turn>model\n");
}

TEST(ChatTemplate, DeepSeek3) {
  EXPECT_EQ(format_chat(ChatFormat::DeepSeek3, kConversation, true),
            "You are a helpful assistant\n\n<｜User｜>Hello<｜Assistant｜>Hi there<｜end▁of▁sentence｜><｜User｜>Who are "
            "you<｜Assistant｜>   I am an assistant   <｜end▁of▁sentence｜><｜User｜>Another question<｜Assistant｜>");
}

TEST(ChatTemplate, Gemma4) {
  EXPECT_EQ(format_chat(ChatFormat::Gemma4, kConversation, true),
            "<|turn>system\nYou are a helpful assistant<turn|>\n<|turn>user\nHello<turn|>\n<|turn>model\nHi "
            "there<turn|>\n<|turn>user\nWho are you<turn|>\n<|turn>model\nI am an assistant<turn|>\n<|turn>user\nAnother "
            "question<turn|>\n<|turn>model\n<|channel>thought\n<channel|>");
  EXPECT_EQ(format_chat(ChatFormat::Gemma4, kOddConversation, false),
            "<|turn>user\nHi<turn|>\n<|turn>model\nHello!<turn|>\nMore.<turn|>\n<|turn>user\nBye<turn|>\n");
  EXPECT_EQ(format_chat(ChatFormat::Gemma4, kSystemsConversation, true),
            "<|turn>system\nS1<turn|>\n<|turn>user\nA<turn|>\n<|turn>user\nB<turn|>\n<|turn>system\nS2<turn|>\n<|turn>"
            "model\n<think>\nplan\n</think>\n\nAnswer<turn|>\n<|turn>model\n<|channel>thought\n<channel|>");
}

TEST(ChatTemplate, DeepSeek4) {
  EXPECT_EQ(format_chat(ChatFormat::DeepSeek4, kConversation, true),
            "You are a helpful assistant<｜User｜>Hello<｜Assistant｜></think>Hi there<｜end▁of▁sentence｜><｜User｜>Who "
            "are you<｜Assistant｜></think>   I am an assistant   <｜end▁of▁sentence｜><｜User｜>Another "
            "question<｜Assistant｜></think>");
  EXPECT_EQ(format_chat(ChatFormat::DeepSeek4, kOddConversation, false),
            "<｜User｜>  Hi  <｜Assistant｜></think><|channel>thought\nhmm<channel|>Hello!<｜end▁of▁sentence｜><｜"
            "Assistant｜></think>More.<｜end▁of▁sentence｜><｜User｜>Bye");
  EXPECT_EQ(format_chat(ChatFormat::DeepSeek4, kSystemsConversation, true),
            "S1\n\nS2<｜User｜>A\n\nB<｜Assistant｜></think><think>\nplan\n</think>\n\nAnswer  "
            "<｜end▁of▁sentence｜><｜Assistant｜></think>");
}

TEST(ChatTemplate, Laguna) {
  EXPECT_EQ(format_chat(ChatFormat::Laguna, kConversation, true),
            "<system>\n\nYou are a helpful assistant\n</system>\n<user>\nHello\n</user>\n<assistant>\n</think>\nHi "
            "there\n</assistant>\n<user>\nWho are you\n</user>\n<assistant>\n</think>\nI am an "
            "assistant\n</assistant>\n<user>\nAnother question\n</user>\n<assistant>\n</think>");
  EXPECT_EQ(format_chat(ChatFormat::Laguna, kOddConversation, false),
            "<system>\n\nYou are a helpful, conversationally-fluent assistant made by Poolside. You are here to be "
            "helpful to users through natural language conversations.\n</system>\n<user>\n  Hi  "
            "\n</user>\n<assistant>\n</think>\n<|channel>thought\nhmm<channel|>Hello!\n</assistant>\n<assistant>\n</"
            "think>\nMore.\n</assistant>\n<user>\nBye\n</user>\n");
  EXPECT_EQ(format_chat(ChatFormat::Laguna, kSystemsConversation, true),
            "<system>\n\nS1\n</system>\n<user>\nA\n</user>\n<user>\nB\n</user>\n<system>\nS2\n</system>\n<assistant>\n<"
            "think>\nplan\n</think>\nAnswer\n</assistant>\n<assistant>\n</think>");
}

// Llama 3.1 to 3.3 (meta-llama-Llama-3.1-8B-Instruct.jinja, -3.2-3B-): the system turn is
// always there, with the knowledge cutoff and a date.
TEST(ChatTemplate, Llama31And32) {
  const std::vector<ChatMessage> chat = {{"system", " Be brief. "}, {"user", "Hi "}, {"assistant", "Hello"}};
  EXPECT_EQ(format_chat(ChatFormat::Llama31, chat, true),
            "<|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 26 Jul "
            "2024\n\nBe brief.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|><|start_header_id|>"
            "assistant<|end_header_id|>\n\nHello<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n");
  EXPECT_EQ(format_chat(ChatFormat::Llama32, {{"user", "Hi"}}, false, /*now=*/1772712000),
            "<|start_header_id|>system<|end_header_id|>\n\nCutting Knowledge Date: December 2023\nToday Date: 05 Mar "
            "2026\n\n<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nHi<|eot_id|>");
}

// Laguna-XS-2.1 has no default system message; Laguna-S-2.1 puts nothing between tags and text.
TEST(ChatTemplate, LagunaXS21AndS21) {
  EXPECT_EQ(format_chat(ChatFormat::LagunaXS21, {{"user", "Hi"}, {"assistant", "Hello"}}, true),
            "<user>\nHi\n</user>\n<assistant>\n</think>\nHello\n</assistant>\n<assistant>\n</think>");
  EXPECT_EQ(format_chat(ChatFormat::LagunaS21, kSystemsConversation, true),
            "<system>S1</system>\n<user>A</user>\n<user>B</user>\n<system>S2</system>\n<assistant></think><think>\nplan\n"
            "</think>\n\nAnswer  </assistant>\n<assistant></think>");
  EXPECT_EQ(format_chat(ChatFormat::LagunaS21, {{"user", "Hi"}}, true),
            "<system>You are a helpful, conversationally-fluent assistant made by Poolside. You are here to be helpful "
            "to users through natural language conversations.</system>\n<user>Hi</user>\n<assistant></think>");
}

TEST(ChatTemplate, Plain) {
  EXPECT_EQ(format_chat(ChatFormat::Plain, {{"user", "Once upon"}, {"assistant", " a time"}}, true), "Once upon a time");
}

TEST(ChatTemplate, DetectFromTemplateText) {
  EXPECT_EQ(detect_chat_format(""), ChatFormat::Plain);
  EXPECT_EQ(detect_chat_format("chatml"), ChatFormat::ChatML);
  EXPECT_EQ(detect_chat_format("llama3"), ChatFormat::Llama3);
  EXPECT_EQ(detect_chat_format("{{ '<|im_start|>' + message['role'] }}"), ChatFormat::ChatML);
  EXPECT_EQ(detect_chat_format("{{ '<|im_start|>' }}<|im_sep|>"), ChatFormat::Plain);  // phi-4: not implemented
  EXPECT_EQ(detect_chat_format("{{ '<|start_header_id|>' + role + '<|end_header_id|>' }}"), ChatFormat::Llama3);
  EXPECT_EQ(detect_chat_format("{{ '<start_of_turn>' + role }}"), ChatFormat::Gemma);
  EXPECT_EQ(detect_chat_format("{{- '<|turn>' + role + '\\n' }}"), ChatFormat::Gemma4);
  EXPECT_EQ(detect_chat_format("<｜User｜>{{c}}<｜Assistant｜>{{c}}<｜end▁of▁sentence｜>"), ChatFormat::DeepSeek3);
  EXPECT_EQ(detect_chat_format("drop_thinking <｜User｜><｜Assistant｜><｜end▁of▁sentence｜>"), ChatFormat::DeepSeek4);
  EXPECT_EQ(detect_chat_format("{{ '<user>\\n' }}{{ '<assistant>\\n' }}{{ '</assistant>' }}"), ChatFormat::Laguna);
  EXPECT_EQ(detect_chat_format("[INST] {{ m }} [/INST]"), ChatFormat::Plain);
  EXPECT_EQ(detect_chat_format("anything else"), ChatFormat::Plain);
  EXPECT_STREQ(to_string(ChatFormat::DeepSeek4), "deepseek4");
}

// The real templates in llama.cpp's models/templates (skipped without llama.cpp).
TEST(ChatTemplate, DetectsLlamaCppTemplateFiles) {
  const std::string dir = testing::llama_cpp_dir() + "/models/templates/";
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << dir << " not found";
  const std::vector<std::pair<std::string, ChatFormat>> files = {
      {"google-gemma-4-31B-it.jinja", ChatFormat::Gemma4},
      {"google-gemma-4-31B-it-interleaved.jinja", ChatFormat::Gemma4},
      {"google-gemma-2-2b-it.jinja", ChatFormat::Gemma},
      {"deepseek-ai-DeepSeek-V4.jinja", ChatFormat::DeepSeek4},
      {"deepseek-ai-DeepSeek-V4-Flash-0731.jinja", ChatFormat::DeepSeek4},
      {"poolside-Laguna-XS.2.jinja", ChatFormat::Laguna},
      {"poolside-Laguna-XS-2.1.jinja", ChatFormat::LagunaXS21},
      {"poolside-Laguna-S-2.1.jinja", ChatFormat::LagunaS21},
      {"meta-llama-Llama-3.1-8B-Instruct.jinja", ChatFormat::Llama31},
      {"meta-llama-Llama-3.2-3B-Instruct.jinja", ChatFormat::Llama32},
      {"meta-llama-Llama-3.3-70B-Instruct.jinja", ChatFormat::Llama31},
      {"Qwen-Qwen3-0.6B.jinja", ChatFormat::ChatML},
      {"Qwen-Qwen2.5-7B-Instruct.jinja", ChatFormat::ChatML},
      {"mistralai-Mistral-Nemo-Instruct-2407.jinja", ChatFormat::Plain},
  };
  for (const auto& [file, format] : files) {
    if (!std::filesystem::exists(dir + file)) continue;
    EXPECT_EQ(to_string(detect_chat_format(testing::read_text_file(dir + file))), std::string(to_string(format)))
        << file;
  }
}

TEST(ChatTemplate, DetectFromGguf) {
  TokenizerTempDir dir;
  auto detect = [&](const std::string& arch, const std::string& tmpl, bool llama3_tokens) {
    GgufWriter w;
    w.set_string("general.architecture", arch);
    if (!tmpl.empty()) w.set_string("tokenizer.chat_template", tmpl);
    if (llama3_tokens) small_vocab(SmallVocabStyle::Llama3).write_to(w);
    w.write(dir.file("m.gguf"));
    return detect_chat_format(GgufFile::open(dir.file("m.gguf")));
  };
  EXPECT_EQ(detect("qwen3", "{{ '<start_of_turn>' }}", false), ChatFormat::Gemma);  // the template wins
  EXPECT_EQ(detect("qwen3", "", false), ChatFormat::ChatML);
  EXPECT_EQ(detect("gemma4", "", false), ChatFormat::Gemma4);
  EXPECT_EQ(detect("zaya", "", false), ChatFormat::Gemma);
  EXPECT_EQ(detect("deepseek4", "", false), ChatFormat::DeepSeek4);
  EXPECT_EQ(detect("laguna", "", false), ChatFormat::Laguna);
  EXPECT_EQ(detect("llama", "", true), ChatFormat::Llama3);
  EXPECT_EQ(detect("llama", "", false), ChatFormat::Plain);  // a base model's vocabulary
  EXPECT_EQ(detect("mamba", "", false), ChatFormat::Plain);
}

TEST(ChatTemplate, EncodeChatPutsOneBosFirst) {
  const Tokenizer llama3 = Tokenizer::from_vocabulary(small_vocab(SmallVocabStyle::Llama3));
  const std::vector<ChatMessage> chat = {{"user", "Hi"}};
  const std::vector<int32_t> ids = encode_chat(llama3, ChatFormat::Llama3, chat, true);
  ASSERT_GE(ids.size(), 4u);
  EXPECT_EQ(ids[0], llama3.bos());
  EXPECT_EQ(ids[1], llama3.find_token("<|start_header_id|>"));
  EXPECT_EQ(std::count(ids.begin(), ids.end(), llama3.bos()), 1);
  EXPECT_EQ(llama3.decode(ids), "<|begin_of_text|>" + format_chat(ChatFormat::Llama3, chat, true));

  // A vocabulary that adds no BOS still gets one for a template that starts with it.
  const Tokenizer qwen = Tokenizer::from_vocabulary(small_vocab(SmallVocabStyle::Qwen2));
  EXPECT_NE(encode_chat(qwen, ChatFormat::ChatML, chat, true).front(), qwen.bos());
  EXPECT_EQ(encode_chat(qwen, ChatFormat::DeepSeek4, chat, true).front(), qwen.bos());
  const std::vector<int32_t> chatml = encode_chat(qwen, ChatFormat::ChatML, chat, true);
  EXPECT_EQ(chatml.front(), qwen.find_token("<|im_start|>"));
  EXPECT_EQ(std::count(chatml.begin(), chatml.end(), qwen.find_token("<|im_end|>")), 1);
}

}  // namespace
}  // namespace archscope
