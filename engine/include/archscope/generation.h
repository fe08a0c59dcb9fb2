// Generation: sampling tokens from a Session until an end-of-generation token, a token
// limit, a full context or the caller says stop. Shared by the CLI and the desktop app.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "archscope/sampler.h"
#include "archscope/session.h"

namespace archscope {

struct Generation {
  std::string text;
  std::vector<int32_t> tokens;  // generated, without the end-of-generation token
  bool stopped = false;         // the caller's on_token returned false
  std::string error;            // empty when it ended normally
};

// Called once per generated token with its id, the complete UTF-8 text it finishes (may be
// empty while a character is incomplete) and the logits it was sampled from. Returning
// false stops after this token. At the end, the bytes of a last incomplete character come
// (as U+FFFD) with id -1.
using TokenCallback = std::function<bool(int32_t id, const std::string& piece, const std::vector<float>& logits)>;

// Continues from `logits` (the logits after the prompt); history holds the tokens so far
// and grows by the generated ones (for the repetition penalty).
Generation generate(Session& session, std::vector<float> logits, Sampler& sampler, std::vector<int32_t>& history,
                    int max_tokens, const TokenCallback& on_token = {});

// Feeds only the part of `prompt` that differs from the tokens already in the session's
// cache (a conversation so far is a prefix of its next prompt; regenerate and edit keep a
// shorter prefix), always at least one token so there are logits to sample from.
Result<std::vector<float>> feed_prompt(Session& session, const std::vector<int32_t>& prompt,
                                       const std::function<bool(int, int)>& progress = {});

}  // namespace archscope
