// The web console's static files (console/ at the top of the repository), embedded in the
// binary at build time (cmake/embed_files.cmake writes console_files.cc).
#pragma once

#include <span>
#include <string_view>

namespace chromahouse {

struct EmbeddedFile {
  std::string_view path;  // relative to console/, e.g. "index.html"
  std::string_view data;
};

// Sorted by path.
std::span<const EmbeddedFile> ConsoleFiles();

}  // namespace chromahouse
