#include "service/names.h"

#include <arpa/inet.h>

#include <string>

namespace chromahouse {
namespace {

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool IsIpAddress(std::string_view name) {
  std::string s(name);
  unsigned char buf[sizeof(struct in6_addr)];
  return inet_pton(AF_INET, s.c_str(), buf) == 1 || inet_pton(AF_INET6, s.c_str(), buf) == 1;
}

// The rule for one part of a name (a name may be "prefix+suffix", each part checked alone).
// Returns the problem in Chroma's words, or an empty string.
std::string PartProblem(std::string_view part) {
  bool chars_ok = part.size() >= 3 && part.size() <= 512;
  for (char c : part) {
    if (!IsAlnum(c) && c != '.' && c != '_' && c != '-') chars_ok = false;
  }
  if (!chars_ok || !IsAlnum(part.front()) || !IsAlnum(part.back())) {
    return "Expected a name containing 3-512 characters from [a-zA-Z0-9._-], starting and ending "
           "with a character in [a-zA-Z0-9]. Got: " +
           std::string(part);
  }
  if (part.find("..") != std::string_view::npos) {
    return "Expected a name that does not contains two consecutive periods (..). Got " +
           std::string(part);
  }
  if (IsIpAddress(part)) {
    return "Expected a name that is not a valid ip address. Got " + std::string(part);
  }
  return {};
}

std::string NameProblem(std::string_view name) {
  size_t plus = name.find('+');
  if (plus == std::string_view::npos) return PartProblem(name);
  if (name.find('+', plus + 1) != std::string_view::npos) {
    return "Expected a name to contain at most one topology:  Got two `+` characters.";
  }
  if (name.size() > 512) {
    return "Expected a name containing 3-512 characters. Got: " + std::to_string(name.size());
  }
  std::string problem = PartProblem(name.substr(0, plus));
  if (problem.empty()) problem = PartProblem(name.substr(plus + 1));
  return problem;
}

}  // namespace

Status ValidateCollectionName(std::string_view name, std::string_view field) {
  std::string problem = NameProblem(name);
  if (problem.empty()) return Status::Ok();
  return Status::InvalidArgument("Validation error: " + std::string(field) + ": " + problem);
}

Status ValidateDatabaseNameForCreate(std::string_view name) {
  std::string problem = NameProblem(name);
  if (problem.empty()) return Status::Ok();
  return Status::InvalidArgument(problem);
}

Status ValidateDatabaseNameLength(std::string_view name) {
  if (name.size() < 3) {
    return Status::InvalidArgument("database name must be at least 3 characters");
  }
  return Status::Ok();
}

Status ValidateTenantName(std::string_view name) {
  if (name.size() < 3) {
    return Status::InvalidArgument(
        "Validation error: name: Validation error: length [{\"min\": Number(3), \"value\": "
        "String(\"" +
        std::string(name) + "\")}]");
  }
  return Status::Ok();
}

}  // namespace chromahouse
