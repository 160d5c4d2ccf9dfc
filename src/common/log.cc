#include "common/log.h"

#include <spdlog/pattern_formatter.h>

#include <chrono>

#include "common/json_writer.h"

namespace chromahouse {
namespace {

// One JSON object per line: {"time":"2026-12-02T10:00:00.123Z","level":"info","thread":123,
// "msg":"…"}.
class JsonLogFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    auto since_epoch = msg.time.time_since_epoch();
    auto secs = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
    auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch - secs);
    std::time_t t = secs.count();
    std::tm tm{};
    gmtime_r(&t, &tm);
    char stamp[64];
    std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(millis.count()));
    std::string line;
    JsonWriter w(&line);
    w.BeginObject();
    w.Key("time");
    w.String(stamp);
    w.Key("level");
    auto level = spdlog::level::to_string_view(msg.level);
    w.String(std::string_view(level.data(), level.size()));
    w.Key("thread");
    w.Int(static_cast<int64_t>(msg.thread_id));
    w.Key("msg");
    w.String(std::string_view(msg.payload.data(), msg.payload.size()));
    w.EndObject();
    line.push_back('\n');
    dest.append(line.data(), line.data() + line.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonLogFormatter>();
  }
};

}  // namespace

void SetLogLevel(const std::string& level) {
  auto parsed = spdlog::level::from_str(level);
  if (parsed == spdlog::level::off && level != "off") parsed = spdlog::level::info;
  spdlog::set_level(parsed);
}

void SetLogFormat(const std::string& format) {
  if (format == "json") {
    spdlog::set_formatter(std::make_unique<JsonLogFormatter>());
  } else {
    spdlog::set_formatter(std::make_unique<spdlog::pattern_formatter>());
  }
}

}  // namespace chromahouse
