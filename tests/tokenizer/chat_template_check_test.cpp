// check_chat_template: every family's tiny model and bundled demo model, and the published
// templates of the families archscope runs (tests/tokenizer/chat_templates, copied from
// llama.cpp's models/templates), render the same prompt as the built-in format chosen for
// them; a changed template is caught and says where.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "archscope/chat_template_check.h"
#include "archscope/gguf.h"
#include "archscope/model_writer.h"
#include "archscope/tokenizer.h"
#include "tokenizer_fixtures.h"

namespace archscope {
namespace {

using testing::TokenizerTempDir;

constexpr std::time_t kNow = 1772712000;  // 2026-03-05 12:00 UTC

std::string fixture(const std::string& name) {
  std::ifstream file(std::string(ARCHSCOPE_SOURCE_DIR "/tests/tokenizer/chat_templates/") + name);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}

struct Family {
  const char* arch;
  ChatFormat format;
};

TEST(ChatTemplateCheck, EveryTinyModelAgreesWithItsBuiltInFormat) {
  TokenizerTempDir dir;
  const Family families[] = {{"llama", ChatFormat::Llama3},   {"qwen3", ChatFormat::ChatML},
                             {"gemma4", ChatFormat::Gemma4},  {"laguna", ChatFormat::Llama3},
                             {"deepseek4", ChatFormat::DeepSeek4}};
  for (const Family& f : families) {
    const std::string path = dir.file(std::string(f.arch) + ".gguf");
    TinyModelOptions options;
    options.arch = f.arch;
    write_tiny_model(options, path);
    const ChatTemplateCheck check = check_chat_template(GgufFile::open(path), kNow);
    EXPECT_EQ(check.outcome, ChatTemplateCheck::Outcome::Agrees) << f.arch << ": " << check.summary() << "\n"
                                                                 << check.template_text << "\n---\n" << check.builtin_text;
    EXPECT_EQ(check.format, f.format) << f.arch;
    EXPECT_FALSE(check.chat_template.empty()) << f.arch;
    EXPECT_FALSE(check.template_text.empty()) << f.arch;
    EXPECT_EQ(check.template_text, check.builtin_text) << f.arch;
    EXPECT_FALSE(check.warns());
    // With the vocabulary already loaded (as the app passes its session's): the same check.
    const GgufFile file = GgufFile::open(path);
    const ChatTemplateCheck again = check_chat_template(file, Tokenizer::from_gguf(file), kNow);
    EXPECT_EQ(again.outcome, check.outcome) << f.arch;
    EXPECT_EQ(again.template_text, check.template_text) << f.arch;
  }
}

TEST(ChatTemplateCheck, BundledDemoModelsAgree) {
  for (const char* name : {"archscope-demo-gemma4.gguf", "archscope-demo-qwen3.gguf"}) {
    const ChatTemplateCheck check = check_chat_template(GgufFile::open(std::string(ARCHSCOPE_SOURCE_DIR "/models/demo/") + name), kNow);
    EXPECT_TRUE(check.agrees()) << name << ": " << check.summary();
  }
}

struct Published {
  const char* file;
  ChatFormat format;
  ChatTemplateTokens tokens;
};

// The vocabularies' BOS as the real models have them.
const ChatTemplateTokens kLlama3Tokens{"<|begin_of_text|>", "<|eot_id|>", true};
const ChatTemplateTokens kQwen3Tokens{"", "<|im_end|>", false};
const ChatTemplateTokens kGemmaTokens{"<bos>", "<eos>", true};
const ChatTemplateTokens kDeepSeekTokens{"<｜begin▁of▁sentence｜>", "<｜end▁of▁sentence｜>", true};
const ChatTemplateTokens kLagunaTokens{"〈|EOS|〉", "〈|EOS|〉", false};

TEST(ChatTemplateCheck, PublishedTemplatesAgreeWithTheirBuiltInFormats) {
  const Published published[] = {
      {"meta-llama-Llama-3.1-8B-Instruct.jinja", ChatFormat::Llama31, kLlama3Tokens},
      {"meta-llama-Llama-3.2-3B-Instruct.jinja", ChatFormat::Llama32, kLlama3Tokens},
      {"meta-llama-Llama-3.3-70B-Instruct.jinja", ChatFormat::Llama31, kLlama3Tokens},
      {"Qwen-Qwen3-0.6B.jinja", ChatFormat::ChatML, kQwen3Tokens},
      {"google-gemma-4-31B-it.jinja", ChatFormat::Gemma4, kGemmaTokens},
      {"google-gemma-4-31B-it-interleaved.jinja", ChatFormat::Gemma4, kGemmaTokens},
      {"google-gemma-2-2b-it.jinja", ChatFormat::Gemma, kGemmaTokens},
      {"deepseek-ai-DeepSeek-V4.jinja", ChatFormat::DeepSeek4, kDeepSeekTokens},
      {"deepseek-ai-DeepSeek-V4-Flash-0731.jinja", ChatFormat::DeepSeek4, kDeepSeekTokens},
      {"poolside-Laguna-XS.2.jinja", ChatFormat::Laguna, kLagunaTokens},
      {"poolside-Laguna-XS-2.1.jinja", ChatFormat::LagunaXS21, kLagunaTokens},
      {"poolside-Laguna-S-2.1.jinja", ChatFormat::LagunaS21, kLagunaTokens},
  };
  for (const Published& p : published) {
    const std::string text = fixture(p.file);
    ASSERT_FALSE(text.empty()) << p.file;
    EXPECT_EQ(detect_chat_format(text), p.format) << p.file;
    const ChatTemplateCheck check = check_chat_template(text, p.format, p.tokens, kNow);
    EXPECT_EQ(check.outcome, ChatTemplateCheck::Outcome::Agrees)
        << p.file << ": " << check.summary() << "\n" << check.template_text << "\n---\n" << check.builtin_text;
  }
}

TEST(ChatTemplateCheck, Llama32WritesTodaysDateLikeItsTemplate) {
  const ChatTemplateCheck check = check_chat_template(fixture("meta-llama-Llama-3.2-3B-Instruct.jinja"), ChatFormat::Llama32,
                                                      kLlama3Tokens, kNow);
  EXPECT_NE(check.template_text.find("Today Date: 05 Mar 2026"), std::string::npos) << check.template_text;
  // The 3.1 format's fixed date is not today's: held against 3.2's template it differs there.
  const ChatTemplateCheck fixed = check_chat_template(fixture("meta-llama-Llama-3.2-3B-Instruct.jinja"), ChatFormat::Llama31,
                                                      kLlama3Tokens, kNow);
  EXPECT_EQ(fixed.outcome, ChatTemplateCheck::Outcome::Differs);
  EXPECT_EQ(fixed.template_text.substr(fixed.first_difference, 6), "05 Mar");
}

TEST(ChatTemplateCheck, RefusedSampleIsNoted) {
  // Gemma 2's template raises for a system message; the sample without one still agrees.
  const ChatTemplateCheck check = check_chat_template(fixture("google-gemma-2-2b-it.jinja"), ChatFormat::Gemma, kGemmaTokens, kNow);
  EXPECT_TRUE(check.agrees());
  EXPECT_NE(check.note.find("System role not supported"), std::string::npos) << check.note;
  EXPECT_EQ(check.conversation.front().role, "user");
}

TEST(ChatTemplateCheck, ChangedTemplateDiffersAndSaysWhere) {
  // A fine-tune that put a space after the role: the prompt is no longer ChatML's.
  std::string text = fixture("Qwen-Qwen3-0.6B.jinja");
  const std::string from = "{{- '<|im_start|>assistant\\n' }}";
  ASSERT_NE(text.find(from), std::string::npos);
  text.replace(text.find(from), from.size(), "{{- '<|im_start|>assistant \\n' }}");
  const ChatTemplateCheck check = check_chat_template(text, detect_chat_format(text), kQwen3Tokens, kNow);
  EXPECT_EQ(check.outcome, ChatTemplateCheck::Outcome::Differs);
  EXPECT_TRUE(check.warns());
  ASSERT_NE(check.first_difference, std::string::npos);
  EXPECT_EQ(check.template_text.substr(check.first_difference), " \n");
  EXPECT_EQ(check.builtin_text.substr(check.first_difference), "\n");
  EXPECT_EQ(check.summary(),
            "chat template renders a different prompt than archscope's built-in chatml format (from byte " +
                std::to_string(check.first_difference) + ")");
  EXPECT_EQ(check.conversation.size(), 4u);
}

TEST(ChatTemplateCheck, MissingBosCountsAsADifference) {
  // The template writes bos_token; a vocabulary that does not add one gives the model none.
  ChatTemplateTokens no_add = kLlama3Tokens;
  no_add.adds_bos = false;
  const ChatTemplateCheck check = check_chat_template(fixture("meta-llama-Llama-3.1-8B-Instruct.jinja"), ChatFormat::Llama31, no_add, kNow);
  EXPECT_EQ(check.outcome, ChatTemplateCheck::Outcome::Differs);
  EXPECT_EQ(check.template_text.rfind("<|begin_of_text|><|start_header_id|>", 0), 0u);
  EXPECT_EQ(check.builtin_text.rfind("<|start_header_id|>", 0), 0u);
  EXPECT_EQ(check.first_difference, 2u);  // both start with "<|"
}

TEST(ChatTemplateCheck, TemplatesWithoutABuiltInFormatWarn) {
  const std::string text = "{% for m in messages %}### {{ m.role }}: {{ m.content }}\n{% endfor %}### assistant:";
  const ChatTemplateCheck check = check_chat_template(text, detect_chat_format(text), kQwen3Tokens, kNow);
  EXPECT_EQ(check.outcome, ChatTemplateCheck::Outcome::NoBuiltInFormat);
  EXPECT_TRUE(check.warns());
  EXPECT_EQ(check.template_text.rfind("### system: You are a helpful assistant.\n", 0), 0u);
}

TEST(ChatTemplateCheck, BrokenTemplateSaysWhyItCouldNotBeChecked) {
  const std::string text = "<|im_start|>{% for m in messages %}\n{{ m.content | frobnicate }}{% endfor %}";
  const ChatTemplateCheck check = check_chat_template(text, detect_chat_format(text), kQwen3Tokens, kNow);
  EXPECT_EQ(check.outcome, ChatTemplateCheck::Outcome::RenderFailed);
  EXPECT_FALSE(check.warns());
  EXPECT_EQ(check.error, "line 2: unknown filter 'frobnicate'");
  EXPECT_EQ(check.summary(), "chat template could not be checked: line 2: unknown filter 'frobnicate'");
  const ChatTemplateCheck unparsable = check_chat_template("{% if %}", ChatFormat::ChatML, kQwen3Tokens, kNow);
  EXPECT_EQ(unparsable.outcome, ChatTemplateCheck::Outcome::RenderFailed);
  EXPECT_EQ(unparsable.error.rfind("line 1: ", 0), 0u);
}

TEST(ChatTemplateCheck, FileWithoutATemplate) {
  TokenizerTempDir dir;
  GgufWriter writer;
  writer.set_string("general.architecture", "qwen3");
  writer.write(dir.file("bare.gguf"));
  const ChatTemplateCheck check = check_chat_template(GgufFile::open(dir.file("bare.gguf")));
  EXPECT_EQ(check.outcome, ChatTemplateCheck::Outcome::NoTemplate);
  EXPECT_EQ(check.format, ChatFormat::ChatML);
  EXPECT_EQ(check.summary(), "no chat template in the file; archscope uses its chatml format");
}

}  // namespace
}  // namespace archscope
