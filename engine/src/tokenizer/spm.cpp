// SentencePiece-style encoding of one piece of text (spaces already "▁"), as llama.cpp's
// llm_tokenizer_spm_session: start from single characters and repeatedly merge the adjacent
// pair whose joined text is the token with the highest score; characters that end up with
// no token fall back to their bytes' <0xNN> tokens.
#include <queue>

#include "tokenizer/utf8.h"
#include "tokenizer/vocab.h"

namespace archscope::tokenizer {
namespace {

struct Symbol {
  int32_t prev, next;
  size_t offset, n;
};

struct Bigram {
  int32_t left, right;
  float score;
  size_t size;
};

// Highest score first, then leftmost (llama.cpp's llm_bigram_spm::comparator).
struct Worse {
  bool operator()(const Bigram& a, const Bigram& b) const {
    return a.score < b.score || (a.score == b.score && a.left > b.left);
  }
};

}  // namespace

void spm_encode(const Tokenizer::Impl& v, std::string_view text, std::vector<int32_t>& out) {
  std::vector<Symbol> symbols;
  for (size_t offset = 0; offset < text.size();) {
    const size_t n = std::min(text.size() - offset, utf8_sequence_length(text[offset]));
    const int32_t index = static_cast<int32_t>(symbols.size());
    symbols.push_back({index - 1, offset + n == text.size() ? -1 : index + 1, offset, n});
    offset += n;
  }
  if (symbols.empty()) return;

  std::priority_queue<Bigram, std::vector<Bigram>, Worse> queue;
  auto add_bigram = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const size_t size = symbols[left].n + symbols[right].n;
    const int32_t id = v.find(text.substr(symbols[left].offset, size));
    if (id < 0) return;
    queue.push({left, right, v.scores.empty() ? 0.0f : v.scores[id], size});
  };
  for (int32_t i = 1; i < static_cast<int32_t>(symbols.size()); ++i) add_bigram(i - 1, i);

  while (!queue.empty()) {
    const Bigram b = queue.top();
    queue.pop();
    Symbol& l = symbols[b.left];
    Symbol& r = symbols[b.right];
    if (l.n == 0 || r.n == 0 || l.n + r.n != b.size) continue;  // one side already merged
    l.n += r.n;
    r.n = 0;
    l.next = r.next;
    if (r.next >= 0) symbols[r.next].prev = b.left;
    add_bigram(l.prev, b.left);
    add_bigram(b.left, l.next);
  }

  // Every merged symbol is a token; a single character may not be. (llama.cpp's resegment
  // also consults its rev_merge table here, but that table only holds token texts, so for
  // a non-token it always ends in the byte fallback.)
  for (int32_t i = 0; i != -1; i = symbols[i].next) {
    const Symbol& s = symbols[i];
    const int32_t id = v.find(text.substr(s.offset, s.n));
    if (id >= 0) {
      out.push_back(id);
      continue;
    }
    for (size_t k = s.offset; k < s.offset + s.n; ++k) {
      const int32_t byte = v.byte_token(static_cast<uint8_t>(text[k]));
      if (byte >= 0) out.push_back(byte);
      else if (v.unk >= 0) out.push_back(v.unk);  // llama.cpp would abort here
    }
  }
}

}  // namespace archscope::tokenizer
