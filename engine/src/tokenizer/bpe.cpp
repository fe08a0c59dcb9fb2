// Byte-pair encoding of one piece of text, as llama.cpp's llm_tokenizer_bpe_session: split
// into words by the pre-tokenizer, map bytes to GPT-2 characters (byte-level BPE), then in
// each word merge the adjacent pair with the best (lowest) rank until none is left.
#include <queue>

#include "tokenizer/utf8.h"
#include "tokenizer/vocab.h"

namespace archscope::tokenizer {
namespace {

struct Symbol {
  int32_t prev, next;  // neighbours in the word, -1 at the ends
  size_t offset, n;    // bytes of the word this symbol covers (n = 0: merged away)
  int32_t id;          // its token, -1 when its text is not a token
};

struct Bigram {
  int32_t left, right;
  int32_t rank;
  size_t size;     // bytes of left + right when queued
  int32_t result;  // the merged token
};

// Lowest rank first, then leftmost (llama.cpp's llm_bigram_bpe::comparator).
struct Later {
  bool operator()(const Bigram& a, const Bigram& b) const {
    return a.rank > b.rank || (a.rank == b.rank && a.left > b.left);
  }
};

}  // namespace

void bpe_encode(const Tokenizer::Impl& v, std::string_view text, std::vector<int32_t>& out) {
  const PreTokenizerSpec& pre = *v.pre;
  std::vector<Symbol> symbols;
  std::priority_queue<Bigram, std::vector<Bigram>, Later> queue;

  auto add_bigram = [&](int32_t left, int32_t right) {
    if (left < 0 || right < 0) return;
    const Symbol& l = symbols[left];
    const Symbol& r = symbols[right];
    if (l.id < 0 || r.id < 0) return;  // merges only join tokens
    int32_t result = -1;
    const int32_t rank = v.find_merge(l.id, r.id, &result);
    if (rank < 0) return;
    queue.push({left, right, rank, l.n + r.n, result});
  };

  for (const std::string& raw_word : v.splitter->split(text)) {
    const std::string word = pre.byte_encode ? gpt2_encode_bytes(raw_word) : raw_word;
    if (word.empty()) continue;

    // A word that is a token as a whole is taken as is (llama3's ignore_merges; Gemma 4 does
    // it for runs of newlines).
    if (pre.ignore_merges || (pre.name == "gemma4" && word.find_first_not_of('\n') == std::string::npos)) {
      const int32_t id = v.find(word);
      if (id >= 0) {
        out.push_back(id);
        continue;
      }
    }

    // One symbol per UTF-8 character.
    symbols.clear();
    for (size_t offset = 0; offset < word.size();) {
      const size_t n = std::min(word.size() - offset, utf8_sequence_length(word[offset]));
      const int32_t index = static_cast<int32_t>(symbols.size());
      symbols.push_back({index - 1, offset + n == word.size() ? -1 : index + 1, offset, n,
                         v.find(std::string_view(word).substr(offset, n))});
      offset += n;
    }
    queue = {};
    for (int32_t i = 1; i < static_cast<int32_t>(symbols.size()); ++i) add_bigram(i - 1, i);

    while (!queue.empty()) {
      const Bigram b = queue.top();
      queue.pop();
      Symbol& l = symbols[b.left];
      Symbol& r = symbols[b.right];
      if (l.n == 0 || r.n == 0 || l.next != b.right || l.n + r.n != b.size) continue;  // outdated
      l.n += r.n;
      l.id = b.result;
      r.n = 0;
      l.next = r.next;
      if (r.next >= 0) symbols[r.next].prev = b.left;
      add_bigram(l.prev, b.left);
      add_bigram(b.left, l.next);
    }

    for (const Symbol& s : symbols) {
      if (s.n == 0) continue;
      if (s.id >= 0) {
        out.push_back(s.id);
        continue;
      }
      // No token for this character: its bytes, one token each where the vocabulary has one.
      for (size_t k = s.offset; k < s.offset + s.n; ++k) {
        const int32_t id = pre.byte_encode ? v.find(std::string_view(word).substr(k, 1))
                                           : v.byte_token(static_cast<uint8_t>(word[k]));
        if (id >= 0) out.push_back(id);
      }
    }
  }
}

}  // namespace archscope::tokenizer
