// Metrics: counters, gauges and fixed-bucket histograms, rendered in the Prometheus text
// exposition format (version 0.0.4) by GET /metrics.
//
// A process-wide Registry (Metrics()) holds every series; code that measures something asks
// the registry once for its series (a stable reference) and then updates it lock-free:
//
//   static Counter& errors = Metrics().GetCounter("chromahouse_clickhouse_errors_total",
//                                                 "ClickHouse requests that failed", {});
//   errors.Add();
//
// Series are identified by name plus labels; one name has one type and one help text.
// Values that live elsewhere (cache bytes, ...) are read at scrape time through collectors.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "common/mutex.h"

namespace chromahouse {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void Add(int64_t n = 1) { value_.fetch_add(n, std::memory_order_relaxed); }
  int64_t value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> value_{0};
};

class Histogram {
 public:
  // `bounds`: ascending upper bounds of the buckets (+Inf is implicit).
  explicit Histogram(std::vector<double> bounds);
  void Observe(double value);

  struct Snapshot {
    std::vector<int64_t> cumulative;  // per bound, then +Inf
    int64_t count = 0;
    double sum = 0;
  };
  Snapshot Read() const;
  const std::vector<double>& bounds() const { return bounds_; }

  // Latency buckets in seconds, 100 µs to 30 s.
  static std::vector<double> LatencyBuckets();
  // Powers of two from 1 to 2^max_exponent, for sizes and counts.
  static std::vector<double> ExponentialBuckets(int max_exponent);

 private:
  std::vector<double> bounds_;
  std::unique_ptr<std::atomic<int64_t>[]> buckets_;  // per bound, then +Inf (not cumulative)
  std::atomic<int64_t> count_{0};
  std::atomic<double> sum_{0};
};

class Registry {
 public:
  Counter& GetCounter(const std::string& name, const std::string& help, const Labels& labels);
  Histogram& GetHistogram(const std::string& name, const std::string& help, const Labels& labels,
                          const std::vector<double>& bounds);

  // A value read at scrape time (a gauge or a counter kept elsewhere). The collector adds
  // its series through `emit(labels, value)`. Registering the same name again replaces it.
  using Emit = std::function<void(const Labels&, double)>;
  using Collector = std::function<void(const Emit&)>;
  void SetCollector(const std::string& name, const std::string& help, const std::string& type,
                    Collector collector);
  void RemoveCollector(const std::string& name);

  std::string Render() const;

 private:
  struct Family {
    std::string help;
    std::string type;  // counter, gauge, histogram
    std::map<Labels, std::unique_ptr<Counter>> counters;
    std::map<Labels, std::unique_ptr<Histogram>> histograms;
    Collector collector;
  };
  Family& FamilyFor(const std::string& name, const std::string& help, const std::string& type)
      REQUIRES(mu_);

  mutable Mutex mu_;
  std::map<std::string, Family> families_ GUARDED_BY(mu_);
};

// The process-wide registry.
Registry& Metrics();

// Escapes a label value for the text format (\\, \", \n).
std::string EscapeLabelValue(std::string_view value);

}  // namespace chromahouse
