// llama.cpp's post-load fix-ups (llama_vocab::impl::load, "auto-detect special tokens by
// text" onwards): end-of-turn and fill-in-the-middle tokens found by their text and made
// Control, the end-of-generation (EOG) set, and the list of tokens cut out before BPE.
#include <algorithm>

#include "tokenizer/vocab.h"

namespace archscope::tokenizer {
namespace {

// Candidates in llama.cpp's lists. llama.cpp takes whichever its hash map meets first; this
// port takes the first of the list that the vocabulary has, so the choice is stable.
const std::vector<std::string_view> kEotTexts = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<end_of_turn>", "<|endoftext|>", "<|end_of_text|>",
    "<EOT>", "_<EOT>", "[EOT]", "<｜end▁of▁sentence｜>", "<end_of_utterance>",
};
const std::vector<std::string_view> kEomTexts = {"<|eom_id|>"};
const std::vector<std::string_view> kFimPreTexts = {"<|fim_prefix|>", "<fim-prefix>", "<fim_prefix>", "<｜fim▁begin｜>",
                                                    "<PRE>", "▁<PRE>", "<|code_prefix|>", "<|prefix|>"};
const std::vector<std::string_view> kFimSufTexts = {"<|fim_suffix|>", "<fim-suffix>", "<fim_suffix>", "<｜fim▁hole｜>",
                                                    "<SUF>", "▁<SUF>", "<|code_suffix|>", "<|suffix|>"};
const std::vector<std::string_view> kFimMidTexts = {"<|fim_middle|>", "<fim-middle>", "<fim_middle>", "<｜fim▁end｜>",
                                                    "<MID>", "▁<MID>", "<|code_middle|>", "<|middle|>"};
const std::vector<std::string_view> kFimPadTexts = {"<|fim_pad|>", "<fim-pad>", "<fim_pad>", "<PAD>", "[PAD]"};
const std::vector<std::string_view> kFimRepTexts = {"<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>", "<reponame>"};
const std::vector<std::string_view> kFimSepTexts = {"<|file_sep|>"};

// Texts that end generation (llama.cpp's special_eog_ids loop).
const std::vector<std::string_view> kEogTexts = {
    "<|eot_id|>", "<|im_end|>", "<|end|>", "<|return|>", "<|call|>", "<|flush|>", "<|calls|>",
    "<end_of_turn>", "<|endoftext|>", "</s>", "<|eom_id|>", "<EOT>", "_<EOT>", "[EOT]", "[EOS]",
    "<|end_of_text|>", "<end_of_utterance>", "<eos>", "<turn|>", "<|tool_response>",
    "<｜end▁of▁sentence｜>", "[e~[",
};

// When the key did not set it, the first candidate present becomes the id and is made Control.
void detect(Tokenizer::Impl& v, int32_t& id, const std::vector<std::string_view>& texts) {
  if (id != -1) return;
  for (std::string_view text : texts) {
    const int32_t found = v.find(text);
    if (found >= 0) {
      id = found;
      v.attrs[found] |= kAttrControl;
      return;
    }
  }
}

}  // namespace

void finish_vocab(Tokenizer::Impl& v) {
  detect(v, v.eot, kEotTexts);
  detect(v, v.eom, kEomTexts);
  detect(v, v.fim_pre, kFimPreTexts);
  detect(v, v.fim_suf, kFimSufTexts);
  detect(v, v.fim_mid, kFimMidTexts);
  detect(v, v.fim_pad, kFimPadTexts);
  detect(v, v.fim_rep, kFimRepTexts);
  detect(v, v.fim_sep, kFimSepTexts);

  std::vector<int32_t> eog;
  for (int32_t id : {v.fim_pad, v.fim_rep, v.fim_sep}) {
    if (id >= 0) eog.push_back(id);
  }
  for (std::string_view text : kEogTexts) {
    const int32_t id = v.find(text);
    if (id >= 0) {
      eog.push_back(id);
      v.attrs[id] |= kAttrControl;
    }
  }
  // gpt-oss: these structural tokens are always rendered.
  for (std::string_view text : {"<|channel|>", "<|message|>", "<|start|>", "<|constrain|>"}) {
    const int32_t id = v.find(text);
    if (id >= 0) v.attrs[id] = kAttrUserDefined;
  }
  for (int32_t id : {v.eos, v.eot, v.eom}) {
    if (id >= 0) eog.push_back(id);
  }
  std::sort(eog.begin(), eog.end());
  eog.erase(std::unique(eog.begin(), eog.end()), eog.end());

  auto has = [&](std::string_view text, int32_t* id = nullptr) {
    for (int32_t e : eog) {
      if (v.tokens[e] == text) {
        if (id) *id = e;
        return true;
      }
    }
    return false;
  };
  // o200k_harmony / solar-open: "<|end|>" is not EOG when "<|return|>"/"<|call|>" (or
  // "<|calls|>"/"<|flush|>") are.
  int32_t end_id = -1;
  const bool has_end = has("<|end|>", &end_id);
  const bool has_call = has("<|call|>") || has("<|calls|>");
  if (has_end && ((has("<|return|>") && has_call) || (has_call && has("<|flush|>")))) {
    eog.erase(std::find(eog.begin(), eog.end(), end_id));
    v.attrs[end_id] = kAttrUserDefined;
  }
  // Gemma 4 (and paddleocr): "</s>" is not EOG when "<|tool_response>" is.
  int32_t s_id = -1;
  if (has("<|tool_response>") && has("</s>", &s_id)) {
    eog.erase(std::find(eog.begin(), eog.end(), s_id));
    v.attrs[s_id] = kAttrNormal;
  }
  v.eog = eog;
  v.is_eog.assign(v.tokens.size(), false);
  for (int32_t id : eog) v.is_eog[id] = true;

  // Tokens matched as literal text before the algorithm runs, longest first.
  v.special_cache.clear();
  for (int32_t id = 0; id < static_cast<int32_t>(v.tokens.size()); ++id) {
    if (v.attrs[id] & (kAttrControl | kAttrUserDefined | kAttrUnknown)) v.special_cache.push_back(id);
  }
  std::stable_sort(v.special_cache.begin(), v.special_cache.end(),
                   [&](int32_t a, int32_t b) { return v.tokens[a].size() > v.tokens[b].size(); });

  v.pieces.resize(v.tokens.size());
  for (int32_t id = 0; id < static_cast<int32_t>(v.tokens.size()); ++id) v.pieces[id] = make_piece(v, id);
}

}  // namespace archscope::tokenizer
