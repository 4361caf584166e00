// Session tokens, random secrets and ids, and TURN credentials.
//
// Tokens are JSON Web Tokens (RFC 7519) signed with HS256 (HMAC-SHA-256), so any JWT library
// can read them, but this side accepts only what it issues: alg must be "HS256" (never "none",
// never an asymmetric alg a key-confusion attack would pick), the signature is compared in
// constant time, and the claims must have exactly the types below. Every refusal is
// ErrorCode::unauthenticated with a message saying which check failed (for logs; the client
// only needs the code).
//
// TURN credentials follow the TURN REST scheme that coturn checks under use-auth-secret:
// username "<unix expiry>:<user id>", credential base64(HMAC-SHA1(secret, username)).
//
// All functions are thread-safe and take the current time as an argument.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "duet/error.hpp"

namespace duet::server {

// Tokens longer than this are refused before anything looks inside (kMaxTokenBytes in
// duet/protocol.hpp is the same limit on the wire).
inline constexpr std::size_t kMaxJwtBytes = 4096;
// How far in the future "iat" may be before a token counts as not yet valid: clocks of
// several server nodes may disagree by a few seconds, never by minutes.
inline constexpr std::int64_t kClockSkewSeconds = 60;
// Shortest secret verify_token accepts: HS256 wants a key of at least 256 bits.
inline constexpr std::size_t kMinSecretBytes = 32;

struct Claims {
  std::string sub;       // the user id (non-empty)
  std::string name;      // the display name at the time the token was issued
  std::int64_t iat = 0;  // issued at, Unix seconds
  std::int64_t exp = 0;  // expires at, Unix seconds; invalid from this second on

  friend bool operator==(const Claims&, const Claims&) = default;
};

// header.payload.signature, base64url without padding; the header is exactly
// {"alg":"HS256","typ":"JWT"} and the payload has the keys exp, iat, name, sub in that order.
// Invalid UTF-8 in `name` is replaced with U+FFFD.
// Precondition: secret.size() >= kMinSecretBytes (asserted; verify_token refuses shorter ones).
// Returns an empty string only if OpenSSL fails to compute the HMAC (out of memory).
std::string sign_token(const Claims& claims, std::string_view secret);

// The claims of a token this side signed with `secret` that is valid at `now_s`, or
// unauthenticated: "token is malformed: ...", "token algorithm is not HS256",
// "token signature does not match", "token has expired", "token is not yet valid".
// A secret shorter than kMinSecretBytes is a server fault: internal.
Expected<Claims> verify_token(std::string_view token, std::string_view secret,
                              std::int64_t now_s);

// `bytes` random bytes from libsodium's CSPRNG, as 2 * bytes lowercase hex characters.
std::string random_secret(std::size_t bytes);

// `prefix` followed by 20 random characters of lowercase base32 (a-z, 2-7; 100 bits), e.g.
// random_id("u_") == "u_k3jz5q...". The result always matches [A-Za-z0-9_-]{1,64}: characters
// of the prefix outside that set are dropped and the prefix is cut to 44 characters.
std::string random_id(std::string_view prefix);

struct TurnCredentials {
  std::string username;    // "<expires>:<user id>"
  std::string credential;  // base64 (standard alphabet, padded) of HMAC-SHA1(secret, username)
  std::int64_t expires = 0;  // Unix seconds: now_s + ttl_s

  friend bool operator==(const TurnCredentials&, const TurnCredentials&) = default;
};

// Credentials for `userId` that coturn (use-auth-secret, static-auth-secret=`secret`) accepts
// until now_s + ttl_s. bad_value when the secret is empty, ttl_s is not positive, the expiry
// does not fit, or userId is empty or contains ':' (coturn splits the username at the colon).
Expected<TurnCredentials> mint_turn_credentials(std::string_view secret, std::string_view userId,
                                                std::int64_t now_s, std::int64_t ttl_s);

}  // namespace duet::server
