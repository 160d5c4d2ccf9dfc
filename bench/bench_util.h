// Small helpers shared by the C++ benchmarks: wall-clock seconds, the machine's load average,
// number formatting, percentiles and the few JSON pieces the benchmarks write.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

namespace chromahouse::bench {

using Clock = std::chrono::steady_clock;

inline double Seconds(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

inline std::string LoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

inline std::string Fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), f, v);
  return buf;
}

inline std::string JsonStr(const std::string& s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    o += c;
  }
  return o + "\"";
}

// The p-quantile (nearest rank) of `v`; NaN when it is empty.
inline double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return NAN;
  std::sort(v.begin(), v.end());
  size_t idx = size_t(std::ceil(p * double(v.size())));
  idx = idx == 0 ? 0 : idx - 1;
  return v[std::min(idx, v.size() - 1)];
}

inline std::string JsonNum(double v) {
  if (!std::isfinite(v)) return "null";
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%.6g", v);
  return buf;
}

// The value of the flag at argv[*i] (advancing *i); `usage` (which exits) when it is missing.
inline std::string FlagValue(int argc, char** argv, int* i, void (*usage)(const char*)) {
  std::string flag = argv[*i];
  if (*i + 1 >= argc) usage(("missing value for " + flag).c_str());
  return argv[++*i];
}

// The flag's value as a non-negative integer; `usage` when it is not one.
inline size_t FlagNumber(int argc, char** argv, int* i, void (*usage)(const char*)) {
  std::string flag = argv[*i];
  std::string v = FlagValue(argc, argv, i, usage);
  char* end = nullptr;
  unsigned long long x = std::strtoull(v.c_str(), &end, 10);
  if (v.empty() || *end != '\0') usage(("bad number for " + flag + ": " + v).c_str());
  return static_cast<size_t>(x);
}

}  // namespace chromahouse::bench
