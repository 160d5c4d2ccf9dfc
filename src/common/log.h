// Logging: spdlog behind one include. Log lines never contain secrets.
#pragma once

#include <spdlog/spdlog.h>

namespace chromahouse {

// Sets the global level from a name ("debug", "info", "warn", "error"); unknown names keep info.
void SetLogLevel(const std::string& level);
// "json": one JSON object per line ({"time","level","thread","msg"}); anything else: text.
void SetLogFormat(const std::string& format);

}  // namespace chromahouse

#define LOG_DEBUG(...) ::spdlog::debug(__VA_ARGS__)
#define LOG_INFO(...) ::spdlog::info(__VA_ARGS__)
#define LOG_WARN(...) ::spdlog::warn(__VA_ARGS__)
#define LOG_ERROR(...) ::spdlog::error(__VA_ARGS__)
