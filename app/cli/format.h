// Number formatting shared by the CLI's human-readable output.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

namespace archscope::cli {

// 1234567 -> "1,234,567"
inline std::string with_commas(uint64_t v) {
  std::string digits = std::to_string(v), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

// Binary units, as memory is allocated: "774.0 MiB".
inline std::string human_bytes(double bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
  int u = 0;
  while (bytes >= 1024.0 && u < 5) {
    bytes /= 1024.0;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
  return buf;
}

// Decimal magnitudes for counts: "5.10 B", "760 M".
inline std::string human_count(double v) {
  const char* suffix[] = {"", " K", " M", " B", " T", " P"};
  int s = 0;
  while (v >= 1000.0 && s < 5) {
    v /= 1000.0;
    ++s;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, v < 10 && s ? "%.2f%s" : (v < 100 && s ? "%.1f%s" : "%.0f%s"), v, suffix[s]);
  return buf;
}

// SI magnitudes for rates of work: "83.7 GFLOP".
inline std::string human_flops(double v) {
  const char* prefix[] = {"", "K", "M", "G", "T", "P", "E"};
  int p = 0;
  while (v >= 1000.0 && p < 6) {
    v /= 1000.0;
    ++p;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %sFLOP", v, prefix[p]);
  return buf;
}

}  // namespace archscope::cli
