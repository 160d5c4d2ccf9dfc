#include "common/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace chromahouse {
namespace {

std::string FormatValue(double v) {
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (std::isnan(v)) return "NaN";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{}", static_cast<int64_t>(v));
  return fmt::format("{}", v);
}

void AppendLabels(std::string* out, const Labels& labels, const char* extra_key = nullptr,
                  const std::string& extra_value = "") {
  if (labels.empty() && !extra_key) return;
  out->push_back('{');
  bool first = true;
  for (const auto& [k, v] : labels) {
    if (!first) out->push_back(',');
    first = false;
    *out += k + "=\"" + EscapeLabelValue(v) + "\"";
  }
  if (extra_key) {
    if (!first) out->push_back(',');
    *out += std::string(extra_key) + "=\"" + extra_value + "\"";
  }
  out->push_back('}');
}

}  // namespace

std::string EscapeLabelValue(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out.push_back(c);
    }
  }
  return out;
}

Histogram::Histogram(std::vector<double> bounds)
    : bounds_(std::move(bounds)),
      buckets_(std::make_unique<std::atomic<int64_t>[]>(bounds_.size() + 1)) {
  std::sort(bounds_.begin(), bounds_.end());
  for (size_t i = 0; i <= bounds_.size(); ++i) buckets_[i].store(0);
}

void Histogram::Observe(double value) {
  size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  buckets_[i].fetch_add(1, std::memory_order_relaxed);
  count_.fetch_add(1, std::memory_order_relaxed);
  double old = sum_.load(std::memory_order_relaxed);
  while (!sum_.compare_exchange_weak(old, old + value, std::memory_order_relaxed)) {
  }
}

Histogram::Snapshot Histogram::Read() const {
  Snapshot s;
  int64_t running = 0;
  for (size_t i = 0; i <= bounds_.size(); ++i) {
    running += buckets_[i].load(std::memory_order_relaxed);
    s.cumulative.push_back(running);
  }
  s.count = running;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

std::vector<double> Histogram::LatencyBuckets() {
  return {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
          0.1,    0.25,    0.5,    1,     2.5,    5,     10,   30};
}

std::vector<double> Histogram::ExponentialBuckets(int max_exponent) {
  std::vector<double> out;
  for (int i = 0; i <= max_exponent; ++i) out.push_back(std::ldexp(1.0, i));
  return out;
}

Registry::Family& Registry::FamilyFor(const std::string& name, const std::string& help,
                                      const std::string& type) {
  auto [it, inserted] = families_.try_emplace(name);
  if (inserted) {
    it->second.help = help;
    it->second.type = type;
  }
  return it->second;
}

Counter& Registry::GetCounter(const std::string& name, const std::string& help,
                              const Labels& labels) {
  MutexLock lock(mu_);
  auto& family = FamilyFor(name, help, "counter");
  auto& slot = family.counters[labels];
  if (!slot) slot = std::make_unique<Counter>();
  return *slot;
}

Histogram& Registry::GetHistogram(const std::string& name, const std::string& help,
                                  const Labels& labels, const std::vector<double>& bounds) {
  MutexLock lock(mu_);
  auto& family = FamilyFor(name, help, "histogram");
  auto& slot = family.histograms[labels];
  if (!slot) slot = std::make_unique<Histogram>(bounds);
  return *slot;
}

void Registry::SetCollector(const std::string& name, const std::string& help,
                            const std::string& type, Collector collector) {
  MutexLock lock(mu_);
  auto& family = FamilyFor(name, help, type);
  family.collector = std::move(collector);
}

void Registry::RemoveCollector(const std::string& name) {
  MutexLock lock(mu_);
  auto it = families_.find(name);
  if (it != families_.end()) it->second.collector = nullptr;
}

std::string Registry::Render() const {
  // Series are rendered under the lock; collectors run after it is released, since they take
  // their owners' locks (which may be held by code that registers a series).
  struct Part {
    std::string header, series;
    std::string name;
    Collector collector;
  };
  std::vector<Part> parts;
  {
    MutexLock lock(mu_);
    for (const auto& [name, family] : families_) {
      if (family.counters.empty() && family.histograms.empty() && !family.collector) continue;
      Part part;
      part.name = name;
      part.header =
          "# HELP " + name + " " + family.help + "\n# TYPE " + name + " " + family.type + "\n";
      std::string& out = part.series;
      for (const auto& [labels, counter] : family.counters) {
        out += name;
        AppendLabels(&out, labels);
        out += " " + std::to_string(counter->value()) + "\n";
      }
      for (const auto& [labels, histogram] : family.histograms) {
        auto snap = histogram->Read();
        const auto& bounds = histogram->bounds();
        for (size_t i = 0; i <= bounds.size(); ++i) {
          out += name + "_bucket";
          AppendLabels(&out, labels, "le", i < bounds.size() ? FormatValue(bounds[i]) : "+Inf");
          out += " " + std::to_string(snap.cumulative[i]) + "\n";
        }
        out += name + "_sum";
        AppendLabels(&out, labels);
        out += " " + FormatValue(snap.sum) + "\n";
        out += name + "_count";
        AppendLabels(&out, labels);
        out += " " + std::to_string(snap.count) + "\n";
      }
      part.collector = family.collector;
      parts.push_back(std::move(part));
    }
  }
  std::string out;
  for (auto& part : parts) {
    out += part.header;
    out += part.series;
    if (part.collector) {
      part.collector([&](const Labels& labels, double value) {
        out += part.name;
        AppendLabels(&out, labels);
        out += " " + FormatValue(value) + "\n";
      });
    }
  }
  return out;
}

Registry& Metrics() {
  static Registry* registry = new Registry();
  return *registry;
}

}  // namespace chromahouse
