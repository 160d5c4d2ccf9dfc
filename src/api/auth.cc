#include "api/auth.h"

#include <crypt.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <sstream>

namespace chromahouse {
namespace {

constexpr size_t kMaxVerified = 4096;

std::string Lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), ::tolower);
  return out;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  size_t n = std::max(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff |= static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

// Standard base64 (padding optional); nullopt on any other character.
std::optional<std::string> DecodeBase64(std::string_view text) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  while (!text.empty() && text.back() == '=') text.remove_suffix(1);
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    int v = value(c);
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  return out;
}

bool IsBcryptHash(std::string_view h) {
  return h.size() == 60 &&
         (h.starts_with("$2a$") || h.starts_with("$2b$") || h.starts_with("$2y$"));
}

Result<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::InvalidArgument("cannot read auth credentials file " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

bool Identity::AllowsTenant(std::string_view tenant_name) const {
  return tenant == "*" || tenant == tenant_name;
}

bool Identity::AllowsDatabase(std::string_view tenant_name, std::string_view database) const {
  if (!AllowsTenant(tenant_name)) return false;
  for (const auto& d : databases) {
    if (d == "*" || d == database) return true;
  }
  return false;
}

bool Identity::Unrestricted() const {
  return tenant == "*" && std::find(databases.begin(), databases.end(), "*") != databases.end();
}

bool VerifyBcrypt(const std::string& password, const std::string& hash) {
  if (!IsBcryptHash(hash)) return false;
  auto data = std::make_unique<crypt_data>();
  const char* out = crypt_r(password.c_str(), hash.c_str(), data.get());
  if (out == nullptr || out[0] == '*') return false;
  return ConstantTimeEquals(out, hash);
}

Result<std::unique_ptr<Authenticator>> Authenticator::Create(const AuthOptions& options) {
  std::string provider = Lower(options.provider);
  if (provider.empty() || provider == "none") return std::unique_ptr<Authenticator>();
  auto auth = std::unique_ptr<Authenticator>(new Authenticator());
  if (provider == "token" || provider.find("token") != std::string::npos) {
    auth->kind_ = Kind::kToken;
  } else if (provider == "basic" || provider.find("basic") != std::string::npos) {
    auth->kind_ = Kind::kBasic;
  } else {
    return Status::InvalidArgument("auth_provider: unknown provider '" + options.provider +
                                   "' (expected token or basic)");
  }

  std::string header = Lower(options.token_header);
  std::replace(header.begin(), header.end(), '_', '-');
  if (header == "authorization") {
    auth->accept_x_chroma_token_ = false;
  } else if (header == "x-chroma-token") {
    auth->accept_bearer_ = false;
  } else if (!header.empty()) {
    return Status::InvalidArgument(
        "auth_token_transport_header: expected Authorization or "
        "X-Chroma-Token, got '" +
        options.token_header + "'");
  }

  if (!options.credentials_file.empty()) {
    ASSIGN_OR_RETURN(std::string text, ReadFile(options.credentials_file));
    std::string source = "auth credentials file " + options.credentials_file;
    YAML::Node root;
    bool yaml_users = false;
    try {
      root = YAML::Load(text);
      yaml_users = root.IsMap() && root["users"] && root["users"].IsSequence();
    } catch (const std::exception&) {
      yaml_users = false;
    }
    if (yaml_users) {
      RETURN_IF_ERROR(auth->AddUsersFromYaml(text, source));
    } else if (auth->kind_ == Kind::kBasic) {
      RETURN_IF_ERROR(auth->AddUsersFromHtpasswd(text, source));
    } else {
      return Status::InvalidArgument(source + ": expected a YAML mapping with a `users` list");
    }
  }
  if (!options.credentials.empty()) {
    if (auth->kind_ == Kind::kToken) {
      User u;
      u.identity.user_id = "anonymous";
      u.tokens.push_back(std::string(Trim(options.credentials)));
      RETURN_IF_ERROR(auth->AddUser(std::move(u), "auth_credentials"));
    } else {
      RETURN_IF_ERROR(auth->AddUsersFromHtpasswd(options.credentials, "auth_credentials"));
    }
  }
  if (auth->users_.empty()) {
    return Status::InvalidArgument(
        "auth_provider is " + options.provider +
        " but no credentials are configured (set auth_credentials or auth_credentials_file)");
  }
  return auth;
}

Status Authenticator::AddUser(User user, const std::string& source) {
  if (user.identity.user_id.empty()) {
    return Status::InvalidArgument(source + ": a user has no id");
  }
  if (user_by_name_.count(user.identity.user_id)) {
    return Status::InvalidArgument(source + ": user '" + user.identity.user_id +
                                   "' is defined twice");
  }
  if (user.identity.databases.empty()) user.identity.databases.push_back("*");
  size_t index = users_.size();
  for (const auto& t : user.tokens) {
    if (t.empty()) {
      return Status::InvalidArgument(source + ": user '" + user.identity.user_id +
                                     "' has an empty token");
    }
    if (!user_by_token_.emplace(t, index).second) {
      return Status::InvalidArgument(source + ": user '" + user.identity.user_id +
                                     "' has a token that another user also has");
    }
  }
  if (kind_ == Kind::kToken && user.tokens.empty()) {
    return Status::InvalidArgument(source + ": user '" + user.identity.user_id + "' has no tokens");
  }
  if (kind_ == Kind::kBasic && !IsBcryptHash(user.password_hash)) {
    return Status::InvalidArgument(source + ": user '" + user.identity.user_id +
                                   "' needs a bcrypt password hash ($2y$…, e.g. from htpasswd -B)");
  }
  user_by_name_.emplace(user.identity.user_id, index);
  users_.push_back(std::move(user));
  return Status::Ok();
}

Status Authenticator::AddUsersFromYaml(const std::string& text, const std::string& source) {
  YAML::Node root = YAML::Load(text);
  size_t i = 0;
  for (const auto& node : root["users"]) {
    std::string where = source + ": users[" + std::to_string(i++) + "]";
    if (!node.IsMap()) return Status::InvalidArgument(where + " is not a mapping");
    try {
      User u;
      if (node["id"]) u.identity.user_id = node["id"].as<std::string>();
      if (node["tenant"]) u.identity.tenant = node["tenant"].as<std::string>();
      if (node["databases"]) {
        u.identity.databases.clear();
        for (const auto& d : node["databases"]) u.identity.databases.push_back(d.as<std::string>());
      }
      if (node["tokens"]) {
        for (const auto& t : node["tokens"]) u.tokens.push_back(t.as<std::string>());
      }
      if (node["password"]) u.password_hash = node["password"].as<std::string>();
      RETURN_IF_ERROR(AddUser(std::move(u), where));
    } catch (const YAML::Exception& e) {
      return Status::InvalidArgument(where + ": " + e.what());
    }
  }
  return Status::Ok();
}

Status Authenticator::AddUsersFromHtpasswd(const std::string& text, const std::string& source) {
  std::istringstream in(text);
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    std::string_view l = Trim(line);
    if (l.empty() || l.front() == '#') continue;
    size_t colon = l.find(':');
    if (colon == std::string_view::npos) {
      return Status::InvalidArgument(source + ": line " + std::to_string(number) +
                                     " is not user:hash");
    }
    User u;
    u.identity.user_id = std::string(l.substr(0, colon));
    u.password_hash = std::string(l.substr(colon + 1));
    RETURN_IF_ERROR(AddUser(std::move(u), source + ": line " + std::to_string(number)));
  }
  return Status::Ok();
}

Result<Identity> Authenticator::Authenticate(const HttpRequest& request) const {
  return kind_ == Kind::kToken ? AuthenticateToken(request) : AuthenticateBasic(request);
}

Result<Identity> Authenticator::AuthenticateToken(const HttpRequest& request) const {
  std::optional<std::string_view> token;
  if (accept_bearer_ && request.HasHeader("authorization")) {
    std::string_view value = Trim(request.Header("authorization"));
    if (value.size() < 7 || Lower(value.substr(0, 7)) != "bearer ") {
      return Status::Unauthenticated("the Authorization header is not `Bearer <token>`");
    }
    token = Trim(value.substr(7));
  } else if (accept_x_chroma_token_ && request.HasHeader("x-chroma-token")) {
    token = Trim(request.Header("x-chroma-token"));
  }
  if (!token) {
    return Status::Unauthenticated(
        std::string("no credentials: send ") +
        (accept_bearer_ && accept_x_chroma_token_
             ? "`Authorization: Bearer <token>` or `X-Chroma-Token: <token>`"
         : accept_bearer_ ? "`Authorization: Bearer <token>`"
                          : "`X-Chroma-Token: <token>`"));
  }
  auto it = user_by_token_.find(std::string(*token));
  if (it == user_by_token_.end()) return Status::Unauthenticated("invalid token");
  return users_[it->second].identity;
}

Result<Identity> Authenticator::AuthenticateBasic(const HttpRequest& request) const {
  if (!request.HasHeader("authorization")) {
    return Status::Unauthenticated(
        "no credentials: send `Authorization: Basic <base64(user:password)>`");
  }
  std::string value(Trim(request.Header("authorization")));
  if (value.size() < 6 || Lower(value.substr(0, 6)) != "basic ") {
    return Status::Unauthenticated("the Authorization header is not `Basic <credentials>`");
  }
  {
    MutexLock lock(verified_mu_);
    auto it = verified_.find(value);
    if (it != verified_.end()) return users_[it->second].identity;
  }
  auto decoded = DecodeBase64(Trim(std::string_view(value).substr(6)));
  size_t colon = decoded ? decoded->find(':') : std::string::npos;
  if (colon == std::string::npos) {
    return Status::Unauthenticated("the Basic credentials are not base64 of user:password");
  }
  std::string user = decoded->substr(0, colon);
  auto it = user_by_name_.find(user);
  // Unknown users still pay one bcrypt, so timing does not tell which users exist.
  const std::string& hash =
      it == user_by_name_.end() ? users_.front().password_hash : users_[it->second].password_hash;
  bool ok = VerifyBcrypt(decoded->substr(colon + 1), hash) && it != user_by_name_.end();
  if (!ok) return Status::Unauthenticated("invalid user name or password");
  MutexLock lock(verified_mu_);
  if (verified_.size() >= kMaxVerified) verified_.clear();
  verified_.emplace(std::move(value), it->second);
  return users_[it->second].identity;
}

}  // namespace chromahouse
