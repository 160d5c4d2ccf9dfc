#include "common/metrics.h"

#include <gtest/gtest.h>

#include <thread>

namespace chromahouse {
namespace {

TEST(MetricsTest, CountersAndHistogramsRenderInTextFormat) {
  Registry r;
  r.GetCounter("t_requests_total", "Requests", {{"route", "/a"}, {"status", "200"}}).Add(3);
  r.GetCounter("t_requests_total", "Requests", {{"route", "/a"}, {"status", "200"}}).Add();
  r.GetCounter("t_requests_total", "Requests", {{"route", "/b\"x"}, {"status", "500"}}).Add();
  auto& h = r.GetHistogram("t_latency_seconds", "Latency", {}, {0.1, 1});
  h.Observe(0.05);
  h.Observe(0.5);
  h.Observe(0.1);  // upper bounds are inclusive
  h.Observe(7);
  EXPECT_EQ(r.Render(),
            "# HELP t_latency_seconds Latency\n"
            "# TYPE t_latency_seconds histogram\n"
            "t_latency_seconds_bucket{le=\"0.1\"} 2\n"
            "t_latency_seconds_bucket{le=\"1\"} 3\n"
            "t_latency_seconds_bucket{le=\"+Inf\"} 4\n"
            "t_latency_seconds_sum 7.65\n"
            "t_latency_seconds_count 4\n"
            "# HELP t_requests_total Requests\n"
            "# TYPE t_requests_total counter\n"
            "t_requests_total{route=\"/a\",status=\"200\"} 4\n"
            "t_requests_total{route=\"/b\\\"x\",status=\"500\"} 1\n");
}

TEST(MetricsTest, CollectorsAreReadAtScrapeTimeAndCanBeRemoved) {
  Registry r;
  int value = 1;
  r.SetCollector("t_gauge", "A gauge", "gauge", [&value](const Registry::Emit& emit) {
    emit({{"k", "v"}}, value);
  });
  EXPECT_NE(r.Render().find("t_gauge{k=\"v\"} 1\n"), std::string::npos);
  value = 42;
  EXPECT_NE(r.Render().find("t_gauge{k=\"v\"} 42\n"), std::string::npos);
  r.RemoveCollector("t_gauge");
  EXPECT_EQ(r.Render(), "");
}

TEST(MetricsTest, ConcurrentUpdatesAreNotLost) {
  Registry r;
  auto& c = r.GetCounter("t_total", "n", {});
  auto& h = r.GetHistogram("t_h", "h", {}, Histogram::ExponentialBuckets(4));
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 10000; ++i) {
        c.Add();
        h.Observe(3);
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(c.value(), 40000);
  auto snap = h.Read();
  EXPECT_EQ(snap.count, 40000);
  EXPECT_DOUBLE_EQ(snap.sum, 120000);
  EXPECT_EQ(snap.cumulative[1], 0);      // le=2
  EXPECT_EQ(snap.cumulative[2], 40000);  // le=4
}

}  // namespace
}  // namespace chromahouse
