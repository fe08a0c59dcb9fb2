// Opening a session in a test: a failure to open is a test failure with the reason.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "archscope/session.h"

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

}  // namespace archscope
