// Internal to the format readers: names from a file made safe for one-line error messages.
#pragma once

#include <cstddef>
#include <string>

namespace archscope {

// A name from the file as it may appear in a one-line message: control characters escaped,
// long names shortened.
inline std::string printable(const std::string& name) {
  static const char kHex[] = "0123456789abcdef";
  std::string out;
  for (size_t n = 0; n < name.size(); ++n) {
    if (out.size() >= 200) return out + "...";
    const auto c = static_cast<unsigned char>(name[n]);
    if (c < 0x20 || c == 0x7f) {
      out += "\\x";
      out += kHex[c >> 4];
      out += kHex[c & 15];
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

}  // namespace archscope
