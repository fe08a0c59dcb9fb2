// Errors are values with a message a person can act on.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>
#include <variant>

namespace archscope {

// Thrown inside the engine, caught at the public API and turned into a Result.
// The message names the file and the problem: "model.gguf: tensor ... extends past end of file".
class Error : public std::runtime_error {
 public:
  explicit Error(const std::string& message) : std::runtime_error(message) {}
};

// Either a value or an Error; what public entry points return.
template <class T>
class Result {
 public:
  Result(T value) : state_(std::move(value)) {}
  Result(Error error) : state_(std::move(error)) {}

  bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }
  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  const Error& error() const { return std::get<1>(state_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }

 private:
  std::variant<T, Error> state_;
};

// Runs fn and returns its value, or the Error it threw.
template <class Fn>
auto capture(Fn&& fn) -> Result<decltype(fn())> {
  try {
    return fn();
  } catch (const Error& e) {
    return e;
  } catch (const std::bad_alloc&) {
    return Error("out of memory");
  }
}

}  // namespace archscope
