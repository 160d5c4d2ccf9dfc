// Authentication and tenant/database scoping (API.md §9.2).
//
// Two providers, configured like Chroma's Python servers:
//   - token: `Authorization: Bearer <t>` and/or `X-Chroma-Token: <t>` (header names are
//     case-insensitive; `token_header` restricts to one of them). A single configured token is
//     user "anonymous" with tenant "*" and databases ["*"].
//   - basic: `Authorization: Basic base64(user:password)`, checked against bcrypt hashes
//     ($2a$, $2b$, $2y$) from htpasswd lines. Verified credentials are remembered (bounded), so
//     bcrypt's deliberate slowness is paid once per client, not per request.
// Users come from the credentials string or file: an htpasswd file (`user:hash` lines), or a
// YAML users file `users: [{id, tenant, databases, tokens: [...], password: <bcrypt>}]` where
// tenant "*" / databases ["*"] (the defaults) mean everything.
//
// Secrets never leave this module: error messages name the user or the header, never a token
// or a password.
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "api/http_types.h"
#include "common/mutex.h"
#include "common/status.h"

namespace chromahouse {

struct Identity {
  std::string user_id;
  std::string tenant = "*";
  std::vector<std::string> databases{"*"};

  bool AllowsTenant(std::string_view tenant_name) const;
  bool AllowsDatabase(std::string_view tenant_name, std::string_view database) const;
  bool Unrestricted() const;
};

struct AuthOptions {
  std::string provider;          // "", "token", "basic", or Chroma's provider class names
  std::string credentials;       // inline token or htpasswd lines
  std::string credentials_file;  // YAML users file or htpasswd file
  std::string token_header;      // "", "Authorization", "X-Chroma-Token" (any case, _ or -)
};

class Authenticator {
 public:
  enum class Kind { kToken, kBasic };

  // Nullptr (no error) when no provider is configured. Errors name the setting at fault.
  static Result<std::unique_ptr<Authenticator>> Create(const AuthOptions& options);

  // The caller's identity, or kUnauthenticated with a reason that names no secret.
  Result<Identity> Authenticate(const HttpRequest& request) const;

  Kind kind() const { return kind_; }
  size_t user_count() const { return users_.size(); }

 private:
  struct User {
    Identity identity;
    std::vector<std::string> tokens;
    std::string password_hash;  // bcrypt
  };

  Result<Identity> AuthenticateToken(const HttpRequest& request) const;
  Result<Identity> AuthenticateBasic(const HttpRequest& request) const;
  Status AddUsersFromYaml(const std::string& text, const std::string& source);
  Status AddUsersFromHtpasswd(const std::string& text, const std::string& source);
  Status AddUser(User user, const std::string& source);

  Kind kind_ = Kind::kToken;
  bool accept_bearer_ = true;
  bool accept_x_chroma_token_ = true;
  std::vector<User> users_;
  std::unordered_map<std::string, size_t> user_by_token_;
  std::unordered_map<std::string, size_t> user_by_name_;

  // Authorization header values already verified with bcrypt → user index.
  mutable Mutex verified_mu_;
  mutable std::unordered_map<std::string, size_t> verified_ GUARDED_BY(verified_mu_);
};

// True when `hash` is a bcrypt hash that `password` matches (constant-time comparison).
bool VerifyBcrypt(const std::string& password, const std::string& hash);

}  // namespace chromahouse
