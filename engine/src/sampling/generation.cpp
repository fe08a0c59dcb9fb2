#include "archscope/generation.h"

namespace archscope {

Generation generate(Session& session, std::vector<float> logits, Sampler& sampler, std::vector<int32_t>& history,
                    int max_tokens, const TokenCallback& on_token) {
  Generation g;
  StreamDecoder decoder(session.tokenizer());
  while (static_cast<int>(g.tokens.size()) < max_tokens) {
    const int32_t next = sampler.sample(logits, history);
    if (session.tokenizer().is_end_of_generation(next)) break;
    history.push_back(next);
    g.tokens.push_back(next);
    const std::string piece = decoder.push(next);
    g.text += piece;
    if (on_token && !on_token(next, piece, logits)) {
      g.stopped = true;
      break;
    }
    if (session.position() >= session.context()) {
      g.error = "the context of " + std::to_string(session.context()) + " tokens is full";
      break;
    }
    Result<std::vector<float>> fed = session.feed(std::span(&next, 1));
    if (!fed) {
      g.error = fed.error().what();
      break;
    }
    logits = std::move(fed.value());
  }
  const std::string tail = decoder.flush();
  g.text += tail;
  if (!tail.empty() && on_token) on_token(-1, tail, logits);
  return g;
}

Result<std::vector<float>> feed_prompt(Session& session, const std::vector<int32_t>& prompt,
                                       const std::function<bool(int, int)>& progress) {
  if (prompt.empty()) return Error("the prompt is empty");
  const std::vector<int32_t>& cached = session.tokens();
  size_t common = 0;
  while (common < cached.size() && common < prompt.size() && cached[common] == prompt[common]) ++common;
  if (common == prompt.size()) --common;
  session.rewind(static_cast<int>(common));
  return session.feed(std::span(prompt).subspan(common), progress);
}

}  // namespace archscope
