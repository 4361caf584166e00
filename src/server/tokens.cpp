// HS256 JWTs, random values and TURN REST credentials.
//
// verify_token checks outside in and stops at the first problem:
//   1. size and shape: at most kMaxJwtBytes, three base64url parts   -> malformed
//   2. header: a JSON object whose "alg" is "HS256", no "crit"        -> malformed, wrong alg
//   3. signature: HMAC-SHA-256 of "header.payload", constant time     -> bad signature
//   4. payload (only now, once we know we wrote it): typed claims     -> malformed
//   5. time: exp and iat against now_s                                -> expired, not yet valid
// JSON is read with nlohmann/json's non-throwing parse and get_ptr; nothing here throws.
#include "server/tokens.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sodium.h>

#include <nlohmann/json.hpp>

#include <array>
#include <cassert>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace duet::server {
namespace {

using Json = nlohmann::json;

// The header we write; we accept any header whose alg is HS256, whatever its key order.
constexpr std::string_view kHeader = R"({"alg":"HS256","typ":"JWT"})";
constexpr std::size_t kSha256Bytes = 32;
constexpr std::size_t kSha1Bytes = 20;
constexpr std::size_t kIdRandomChars = 20;  // 20 x 5 bits = 100 bits
constexpr std::size_t kMaxIdPrefix = 64 - kIdRandomChars;

bool sodium_ready() {
  static const bool ready = sodium_init() >= 0;  // once, thread-safe (magic static)
  return ready;
}

std::string base64(const unsigned char* data, std::size_t size, int variant) {
  std::string out(sodium_base64_ENCODED_LEN(size, variant), '\0');
  sodium_bin2base64(out.data(), out.size(), data, size, variant);
  out.resize(out.size() - 1);  // the encoder writes a terminating NUL
  return out;
}

std::string base64url(std::string_view text) {
  return base64(reinterpret_cast<const unsigned char*>(text.data()), text.size(),
                sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

// Strict base64url without padding: no '=', no whitespace, no stray bits in the last
// character (so each token has exactly one spelling).
std::optional<std::string> unbase64url(std::string_view text) {
  std::string out(text.size() / 4 * 3 + 3, '\0');
  std::size_t written = 0;
  if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(),
                        text.size(), nullptr, &written, nullptr,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0) {
    return std::nullopt;
  }
  out.resize(written);
  return out;
}

// HMAC with OpenSSL's one-shot HMAC(); false only when OpenSSL fails (out of memory).
bool hmac(const EVP_MD* md, std::string_view key, std::string_view data, unsigned char* out,
          std::size_t expected_size) {
  if (key.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) return false;
  unsigned int size = 0;
  // OpenSSL wants a non-null key pointer even for an empty key.
  static const unsigned char kEmpty = 0;
  const void* key_ptr = key.empty() ? static_cast<const void*>(&kEmpty) : key.data();
  if (HMAC(md, key_ptr, static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), out,
           &size) == nullptr) {
    return false;
  }
  return size == expected_size;
}

Error unauthenticated(std::string message) {
  return make_error(ErrorCode::unauthenticated, std::move(message));
}

Error malformed(std::string_view why) {
  return unauthenticated("token is malformed: " + std::string(why));
}

// A JSON integer that fits std::int64_t (not a float, not a string).
std::optional<std::int64_t> get_int64(const Json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end()) return std::nullopt;
  if (const auto* i = it->get_ptr<const Json::number_integer_t*>()) return *i;
  if (const auto* u = it->get_ptr<const Json::number_unsigned_t*>()) {
    if (*u <= static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      return static_cast<std::int64_t>(*u);
    }
  }
  return std::nullopt;
}

const std::string* get_string(const Json& object, const char* key) {
  const auto it = object.find(key);
  if (it == object.end()) return nullptr;
  return it->get_ptr<const Json::string_t*>();
}

bool is_id_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
         c == '_' || c == '-';
}

}  // namespace

std::string sign_token(const Claims& claims, std::string_view secret) {
  assert(secret.size() >= kMinSecretBytes);
  Json payload = Json::object();  // keys come out sorted: exp, iat, name, sub
  payload["sub"] = claims.sub;
  payload["name"] = claims.name;
  payload["iat"] = claims.iat;
  payload["exp"] = claims.exp;
  std::string out = base64url(kHeader);
  out += '.';
  out += base64url(payload.dump(-1, ' ', false, Json::error_handler_t::replace));
  std::array<unsigned char, kSha256Bytes> mac{};
  if (!hmac(EVP_sha256(), secret, out, mac.data(), mac.size())) return {};
  out += '.';
  out += base64(mac.data(), mac.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  return out;
}

Expected<Claims> verify_token(std::string_view token, std::string_view secret,
                              std::int64_t now_s) {
  if (secret.size() < kMinSecretBytes) {
    return make_error(ErrorCode::internal, "token secret is shorter than 32 bytes");
  }
  if (!sodium_ready()) return make_error(ErrorCode::internal, "libsodium failed to initialise");

  // 1. Size and shape.
  if (token.size() > kMaxJwtBytes) return malformed("longer than 4096 bytes");
  const auto dot1 = token.find('.');
  if (dot1 == std::string_view::npos) return malformed("expected three parts separated by '.'");
  const auto dot2 = token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) {
    return malformed("expected three parts separated by '.'");
  }
  const std::string_view header_b64 = token.substr(0, dot1);
  const std::string_view payload_b64 = token.substr(dot1 + 1, dot2 - dot1 - 1);
  const std::string_view signature_b64 = token.substr(dot2 + 1);
  const auto header_text = unbase64url(header_b64);
  const auto payload_text = unbase64url(payload_b64);
  const auto signature = unbase64url(signature_b64);
  if (!header_text || !payload_text || !signature) return malformed("a part is not base64url");

  // 2. Header.
  const Json header = Json::parse(*header_text, nullptr, false);
  if (header.is_discarded() || !header.is_object()) {
    return malformed("header is not a JSON object");
  }
  const std::string* alg = get_string(header, "alg");
  if (alg == nullptr || *alg != "HS256") return unauthenticated("token algorithm is not HS256");
  // RFC 7515 4.1.11: a recipient must refuse extensions it does not understand; we know none.
  if (header.contains("crit")) return malformed("header has crit extensions");

  // 3. Signature, over the text exactly as received.
  std::array<unsigned char, kSha256Bytes> expected{};
  if (!hmac(EVP_sha256(), secret, token.substr(0, dot2), expected.data(), expected.size())) {
    return make_error(ErrorCode::internal, "HMAC-SHA-256 failed");
  }
  if (signature->size() != expected.size() ||
      CRYPTO_memcmp(signature->data(), expected.data(), expected.size()) != 0) {
    return unauthenticated("token signature does not match");
  }

  // 4. Claims.
  const Json payload = Json::parse(*payload_text, nullptr, false);
  if (payload.is_discarded() || !payload.is_object()) {
    return malformed("payload is not a JSON object");
  }
  const std::string* sub = get_string(payload, "sub");
  const std::string* name = get_string(payload, "name");
  const auto iat = get_int64(payload, "iat");
  const auto exp = get_int64(payload, "exp");
  if (sub == nullptr || sub->empty()) return malformed("\"sub\" is not a non-empty string");
  if (name == nullptr) return malformed("\"name\" is not a string");
  if (!iat) return malformed("\"iat\" is not an integer");
  if (!exp) return malformed("\"exp\" is not an integer");

  // 5. Time. exp is the first second the token is no longer valid (RFC 7519 4.1.4).
  if (now_s >= *exp) return unauthenticated("token has expired");
  // iat - now_s computed unsigned: exact for any pair with iat > now_s, never overflowing.
  if (*iat > now_s && static_cast<std::uint64_t>(*iat) - static_cast<std::uint64_t>(now_s) >
                          static_cast<std::uint64_t>(kClockSkewSeconds)) {
    return unauthenticated("token is not yet valid");
  }
  return Claims{*sub, *name, *iat, *exp};
}

std::string random_secret(std::size_t bytes) {
  [[maybe_unused]] const bool ready = sodium_ready();
  assert(ready);
  std::vector<unsigned char> raw(bytes);
  if (bytes > 0) randombytes_buf(raw.data(), raw.size());
  std::string out(bytes * 2 + 1, '\0');
  sodium_bin2hex(out.data(), out.size(), raw.data(), raw.size());
  out.pop_back();  // the terminating NUL
  sodium_memzero(raw.data(), raw.size());
  return out;
}

std::string random_id(std::string_view prefix) {
  [[maybe_unused]] const bool ready = sodium_ready();
  assert(ready);
  static constexpr std::string_view kBase32 = "abcdefghijklmnopqrstuvwxyz234567";
  std::string out;
  out.reserve(kMaxIdPrefix + kIdRandomChars);
  for (const char c : prefix) {
    if (out.size() == kMaxIdPrefix) break;
    if (is_id_char(c)) out += c;
  }
  for (std::size_t i = 0; i < kIdRandomChars; ++i) {
    out += kBase32[randombytes_uniform(static_cast<std::uint32_t>(kBase32.size()))];
  }
  return out;
}

Expected<TurnCredentials> mint_turn_credentials(std::string_view secret, std::string_view userId,
                                                std::int64_t now_s, std::int64_t ttl_s) {
  if (secret.empty()) return make_error(ErrorCode::bad_value, "TURN secret is empty");
  if (ttl_s <= 0) return make_error(ErrorCode::bad_value, "TURN credential ttl must be positive");
  if (now_s > std::numeric_limits<std::int64_t>::max() - ttl_s) {
    return make_error(ErrorCode::bad_value, "TURN credential expiry is out of range");
  }
  if (userId.empty() || userId.find(':') != std::string_view::npos) {
    return make_error(ErrorCode::bad_value, "TURN user id must be non-empty and without ':'");
  }
  TurnCredentials out;
  out.expires = now_s + ttl_s;
  out.username = std::to_string(out.expires);
  out.username += ':';
  out.username += userId;
  std::array<unsigned char, kSha1Bytes> mac{};
  if (!hmac(EVP_sha1(), secret, out.username, mac.data(), mac.size())) {
    return make_error(ErrorCode::internal, "HMAC-SHA1 failed");
  }
  out.credential = base64(mac.data(), mac.size(), sodium_base64_VARIANT_ORIGINAL);
  return out;
}

}  // namespace duet::server
