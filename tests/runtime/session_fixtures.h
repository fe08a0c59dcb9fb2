// Session test helpers: opening a session (a failure to open is a test failure with the
// reason), checking next-token probabilities against a reference run, and opening edited
// copies of a model file to see the error they give.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "archscope/gguf.h"
#include "archscope/sampler.h"
#include "archscope/session.h"
#include "formats/format_fixtures.h"

namespace archscope {

inline std::unique_ptr<Session> open(const std::string& path, const std::string& device, GgmlType cache = GgmlType::F32,
                                     int batch = 256, std::vector<Toggle> toggles = {}) {
  SessionOptions options;
  options.device = device;
  options.cache_type = cache;
  options.batch = batch;
  options.toggles = std::move(toggles);
  Result<std::unique_ptr<Session>> session = Session::open(path, options);
  if (!session) ADD_FAILURE() << session.error().what();
  return session ? std::move(session.value()) : nullptr;
}

// A reference run's most likely next tokens after `position` (llama.cpp's, in these tests).
struct ExpectedTop {
  int position;
  std::vector<std::pair<int32_t, double>> top;  // id, probability; best first
};

// Feeds `tokens` up to each expected position in turn and checks there that the best token
// is the reference's and every listed probability is within `tolerance`. Returns the
// largest difference seen.
inline double expect_top_probabilities(Session& session, std::span<const int32_t> tokens,
                                       const std::vector<ExpectedTop>& expected, double tolerance) {
  size_t fed = 0;
  double worst = 0.0;
  for (const ExpectedTop& e : expected) {
    Result<std::vector<float>> logits = session.feed(tokens.subspan(fed, e.position + 1 - fed));
    if (!logits) {
      ADD_FAILURE() << "position " << e.position << ": " << logits.error().what();
      return worst;
    }
    fed = e.position + 1;
    const std::vector<TokenProb> all = top_probabilities(*logits, logits->size());
    std::vector<double> prob_of(logits->size(), 0.0);
    for (const TokenProb& t : all) prob_of[t.id] = t.prob;
    EXPECT_EQ(all[0].id, e.top[0].first) << "position " << e.position;
    for (const auto& [id, prob] : e.top) {
      EXPECT_NEAR(prob_of[id], prob, tolerance) << "position " << e.position << " token " << id;
      worst = std::max(worst, std::fabs(prob_of[id] - prob));
    }
  }
  return worst;
}

// Batched prefill and token-by-token decode compute the same thing: feeding `tokens` in
// steps of each batch size gives the first batch size's logits within `tolerance`.
inline void expect_batches_agree(const std::string& path, std::span<const int32_t> tokens, const std::vector<int>& batches,
                                 float tolerance = 1e-4f) {
  std::vector<float> first;
  for (int batch : batches) {
    std::unique_ptr<Session> session = open(path, "cpu", GgmlType::F32, batch);
    ASSERT_TRUE(session);
    Result<std::vector<float>> logits = session->feed(tokens);
    ASSERT_TRUE(logits) << logits.error().what();
    if (first.empty()) {
      first = *logits;
      continue;
    }
    for (size_t i = 0; i < first.size(); ++i) ASSERT_NEAR((*logits)[i], first[i], tolerance) << "batch " << batch;
  }
}

// Writes a copy of the GGUF file `source` as dir/name without the tensor `drop_tensor`,
// with `change` applied to its metadata and `edit` to each tensor's bytes, and returns what
// opening it on the CPU says ("(opened)" when it opens).
inline std::string open_copy_error(const testing::TempDir& dir, const std::string& source, const std::string& name,
                                   const std::string& drop_tensor, const std::function<void(GgufWriter&)>& change,
                                   const std::function<void(const GgufTensor&, std::vector<uint8_t>&)>& edit = nullptr) {
  const GgufFile file = GgufFile::open(source);
  GgufWriter copy;
  for (const auto& [key, value] : file.metadata()) {
    if (key != "general.alignment") copy.set(key, value);
  }
  for (const GgufTensor& t : file.tensors()) {
    if (t.name == drop_tensor) continue;
    std::vector<uint8_t> bytes(t.data, t.data + t.bytes);
    if (edit) edit(t, bytes);
    copy.add_tensor(t.name, t.shape, t.type, bytes);
  }
  if (change) change(copy);
  copy.write(dir.file(name));
  SessionOptions options;
  options.device = "cpu";
  Result<std::unique_ptr<Session>> session = Session::open(dir.file(name), options);
  return session ? std::string("(opened)") : std::string(session.error().what());
}

inline void expect_contains_all(const std::string& text, const std::vector<std::string>& parts) {
  for (const std::string& part : parts) EXPECT_NE(text.find(part), std::string::npos) << part << " not in: " << text;
}

}  // namespace archscope
