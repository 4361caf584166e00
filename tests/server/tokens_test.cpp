// Session tokens (HS256 JWT), random secrets and ids, and TURN REST credentials.
//
// The known vectors below were made outside this code, with the openssl command line
// (OpenSSL 3.0), so the tests do not check our HMAC and base64 against themselves:
//
//   secret='duet-test-secret-0123456789abcdef'
//   b64url() { openssl base64 -A | tr '+/' '-_' | tr -d '='; }
//   jwt() { h=$(printf '%s' "$1" | b64url); p=$(printf '%s' "$2" | b64url)
//     s=$(printf '%s' "$h.$p" | openssl dgst -sha256 -hmac "$secret" -binary | b64url)
//     echo "$h.$p.$s"; }
//   jwt '{"alg":"HS256","typ":"JWT"}' '{"exp":1700003600,"iat":1700000000,"name":"Ada","sub":"u_test"}'
//
// HS512 uses `openssl dgst -sha512`; the alg-none token is header.payload. with no signature.
#include "server/tokens.hpp"

#include <catch2/catch.hpp>

#include <cstdint>
#include <regex>
#include <set>
#include <string>

using namespace duet;
using namespace duet::server;

namespace {

const std::string kSecret = "duet-test-secret-0123456789abcdef";
constexpr std::int64_t kIat = 1700000000;
constexpr std::int64_t kExp = 1700003600;
const Claims kAda{"u_test", "Ada", kIat, kExp};

// jwt '{"alg":"HS256","typ":"JWT"}' '{"exp":1700003600,"iat":1700000000,"name":"Ada","sub":"u_test"}'
const std::string kShellToken =
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
    "eyJleHAiOjE3MDAwMDM2MDAsImlhdCI6MTcwMDAwMDAwMCwibmFtZSI6IkFkYSIsInN1YiI6InVfdGVzdCJ9."
    "x4G6sN3uUjDT7fTy4jSlNsAEHQWm4UJPvCoe9Be2C1E";

// jwt '{"typ":"JWT","alg":"HS256"}'
//     '{"sub":"u_other","name":"Grace Hopper","iat":1700000000,"exp":1700086400}'
const std::string kShellTokenOtherOrder =
    "eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9."
    "eyJzdWIiOiJ1X290aGVyIiwibmFtZSI6IkdyYWNlIEhvcHBlciIsImlhdCI6MTcwMDAwMDAwMCwiZXhwIjoxNzAwMDg2"
    "NDAwfQ.uuyW3ptBkF3wx7uJqaMFsdq6gs9aEyw7BdvbqxZ5r-U";

std::string error_of(const Expected<Claims>& result) {
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().code == ErrorCode::unauthenticated);
  return result.error().message;
}

}  // namespace

TEST_CASE("A token signed by the openssl command line is accepted with its claims",
          "[tokens]") {
  const auto claims = verify_token(kShellToken, kSecret, kIat + 10);
  REQUIRE(claims.has_value());
  CHECK(*claims == kAda);

  const auto other = verify_token(kShellTokenOtherOrder, kSecret, kIat + 10);
  REQUIRE(other.has_value());
  CHECK(*other == Claims{"u_other", "Grace Hopper", kIat, 1700086400});
}

TEST_CASE("sign_token writes exactly the token the openssl command line writes", "[tokens]") {
  CHECK(sign_token(kAda, kSecret) == kShellToken);
}

TEST_CASE("A signed token verifies back to the same claims", "[tokens]") {
  const Claims claims{"u_abc-DEF_123", "Zeynep \xC3\x87" "elik \"quoted\" \\ back", 100, 200};
  const auto verified = verify_token(sign_token(claims, kSecret), kSecret, 150);
  REQUIRE(verified.has_value());
  CHECK(*verified == claims);
}

TEST_CASE("A name that is not UTF-8 is signed with replacement characters, not refused",
          "[tokens]") {
  const auto verified =
      verify_token(sign_token(Claims{"u_1", "A\xFF" "B", 100, 200}, kSecret), kSecret, 150);
  REQUIRE(verified.has_value());
  CHECK(verified->name == "A\xEF\xBF\xBD" "B");
}

TEST_CASE("A token with the alg none is refused", "[tokens]") {
  const std::string none =
      "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0."
      "eyJleHAiOjE3MDAwMDM2MDAsImlhdCI6MTcwMDAwMDAwMCwibmFtZSI6IkFkYSIsInN1YiI6InVfdGVzdCJ9.";
  CHECK(error_of(verify_token(none, kSecret, kIat + 10)) == "token algorithm is not HS256");
}

TEST_CASE("A token with any alg but HS256 is refused even when its HMAC is right", "[tokens]") {
  const std::string token = GENERATE(
      // jwt with header {"alg":"HS512","typ":"JWT"}, signed with openssl dgst -sha512
      std::string("eyJhbGciOiJIUzUxMiIsInR5cCI6IkpXVCJ9."
                  "eyJleHAiOjE3MDAwMDM2MDAsImlhdCI6MTcwMDAwMDAwMCwibmFtZSI6IkFkYSIsInN1YiI6InVfdG"
                  "VzdCJ9.Mtsnc5QzqxJcrliZhwjwGXLN11UTMN457vcCibk3reBq78_riqSdA3HP84YqLf4l7v98pLa-"
                  "qpwPHz7s9-7Y0Q"),
      // jwt '{"typ":"JWT"}' ... (no alg at all)
      std::string("eyJ0eXAiOiJKV1QifQ."
                  "eyJleHAiOjE3MDAwMDM2MDAsImlhdCI6MTcwMDAwMDAwMCwibmFtZSI6IkFkYSIsInN1YiI6InVfdG"
                  "VzdCJ9.W3PCKuP5v1ZIe0GhVSi-XaG3uhtryL_IjuNawZAFyso"),
      // jwt '{"alg":"hs256"}' ... (alg names are case-sensitive)
      std::string("eyJhbGciOiJoczI1NiJ9."
                  "eyJleHAiOjE3MDAwMDM2MDAsImlhdCI6MTcwMDAwMDAwMCwibmFtZSI6IkFkYSIsInN1YiI6InVfdG"
                  "VzdCJ9.ID8Gg4HKH1EQ54gU9lXFH1NZUGtCoSdyhS-6XzQ5WAU"));
  CHECK(error_of(verify_token(token, kSecret, kIat + 10)) == "token algorithm is not HS256");
}

TEST_CASE("A token whose payload was swapped keeps a signature that no longer matches",
          "[tokens]") {
  // The payload of kShellToken with "sub":"u_admin", signature left as it was.
  const std::string tampered =
      "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9."
      "eyJleHAiOjE3MDAwMDM2MDAsImlhdCI6MTcwMDAwMDAwMCwibmFtZSI6IkFkYSIsInN1YiI6InVfYWRtaW4ifQ."
      "x4G6sN3uUjDT7fTy4jSlNsAEHQWm4UJPvCoe9Be2C1E";
  CHECK(error_of(verify_token(tampered, kSecret, kIat + 10)) == "token signature does not match");
}

TEST_CASE("A token signed with another secret is refused", "[tokens]") {
  CHECK(error_of(verify_token(kShellToken, kSecret + "x", kIat + 10)) ==
        "token signature does not match");
}

TEST_CASE("A token whose signature was changed or cut is refused", "[tokens]") {
  std::string token = kShellToken;
  SECTION("one character changed") {
    token[token.size() - 5] = token[token.size() - 5] == 'A' ? 'B' : 'A';
  }
  SECTION("truncated to 24 bytes") { token.resize(token.size() - 11); }
  SECTION("empty") { token.resize(token.rfind('.') + 1); }
  CHECK(error_of(verify_token(token, kSecret, kIat + 10)) == "token signature does not match");
}

TEST_CASE("A token is valid until the second before exp", "[tokens]") {
  CHECK(verify_token(kShellToken, kSecret, kExp - 1).has_value());
  CHECK(error_of(verify_token(kShellToken, kSecret, kExp)) == "token has expired");
  CHECK(error_of(verify_token(kShellToken, kSecret, kExp + 86400)) == "token has expired");
}

TEST_CASE("A token issued more than a minute in the future is not yet valid", "[tokens]") {
  CHECK(verify_token(kShellToken, kSecret, kIat - kClockSkewSeconds).has_value());
  CHECK(error_of(verify_token(kShellToken, kSecret, kIat - kClockSkewSeconds - 1)) ==
        "token is not yet valid");
  CHECK(error_of(verify_token(kShellToken, kSecret, INT64_MIN)) == "token is not yet valid");
}

TEST_CASE("A correctly signed token with claims of the wrong shape is malformed", "[tokens]") {
  // Each made with the jwt() one-liner and the payload shown.
  const auto [payload, token] = GENERATE(table<std::string, std::string>({
      {R"({"exp":"1700003600",...})",
       "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHAiOiIxNzAwMDAzNjAwIiwiaWF0IjoxNzAwMDAwMDAwLCJu"
       "YW1lIjoiQWRhIiwic3ViIjoidV90ZXN0In0.ieO2N6XxGQqO9K2bPVWS-GIAscZlfxHzzF3eSqbimfs"},
      {R"({"iat":1700000000.5,...})",
       "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHAiOjE3MDAwMDM2MDAsImlhdCI6MTcwMDAwMDAwMC41LCJu"
       "YW1lIjoiQWRhIiwic3ViIjoidV90ZXN0In0.waLEGd01lqPRlmwsLvBaKyvDXLkFcJx_85nL0ScRBcI"},
      {"no sub",
       "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHAiOjE3MDAwMDM2MDAsImlhdCI6MTcwMDAwMDAwMCwibmFt"
       "ZSI6IkFkYSJ9.-kUCt-VjmzUQxzA9n2XUCNYRwO6NX3qxvu7e3whEzK0"},
      {R"({"sub":42,...})",
       "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHAiOjE3MDAwMDM2MDAsImlhdCI6MTcwMDAwMDAwMCwibmFt"
       "ZSI6IkFkYSIsInN1YiI6NDJ9.hBIH8HPz3RHsrYk9CcI29lvPLv7fDiC1KSYPQZ8jYrA"},
      {R"({"sub":"",...})",
       "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHAiOjE3MDAwMDM2MDAsImlhdCI6MTcwMDAwMDAwMCwibmFt"
       "ZSI6IkFkYSIsInN1YiI6IiJ9.2NlP0oYrvKiQ96KtvJwV0zBIxnfefUgFohhPVVISVKM"},
      {"no name",
       "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJleHAiOjE3MDAwMDM2MDAsImlhdCI6MTcwMDAwMDAwMCwic3Vi"
       "IjoidV90ZXN0In0.u9PbPVykx5CbgGvnYB7vqLH-r4M_pOXx8KLhVTCe7Po"},
      {R"(["u_test"])",
       "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.WyJ1X3Rlc3QiXQ.9I38SRDM9H-fkDlGw2DrsdAyCR6ExNBGJsy-ya"
       "Vckfo"},
      {R"(header {"alg":"HS256","crit":["exp"]})",
       "eyJhbGciOiJIUzI1NiIsImNyaXQiOlsiZXhwIl19.eyJleHAiOjE3MDAwMDM2MDAsImlhdCI6MTcwMDAwMDAwMCwi"
       "bmFtZSI6IkFkYSIsInN1YiI6InVfdGVzdCJ9.QbQu3x7c4AYIX3XaKyNSeV1TM5jgAyI7hyu7apa_DpY"},
      {"header hello",
       "aGVsbG8.eyJleHAiOjE3MDAwMDM2MDAsImlhdCI6MTcwMDAwMDAwMCwibmFtZSI6IkFkYSIsInN1YiI6InVfdGVzd"
       "CJ9.UunUVACnBLHc5_dxp7P5KObwAK0v-GLkO3alAyCjuqg"},
  }));
  INFO(payload);
  CHECK_THAT(error_of(verify_token(token, kSecret, kIat + 10)),
             Catch::StartsWith("token is malformed: "));
}

TEST_CASE("Text that is not a three-part base64url token is malformed", "[tokens]") {
  const std::string token = GENERATE(
      std::string(""), std::string("abc"), std::string("a.b"), std::string("a.b.c.d"),
      std::string(".."), kShellToken + ".", kShellToken + "=",
      std::string("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9=.e30."),    // padding
      std::string("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.e3+/.xx"),  // standard alphabet
      std::string("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9 .e30.xx"),  // space
      std::string("eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.e30.x"),    // impossible length
      // The last character of the signature "...C1E" changed to 'F': same bytes, but stray
      // bits set, so a second spelling of the same token; refused to keep tokens unique.
      kShellToken.substr(0, kShellToken.size() - 1) + "F");
  INFO(token);
  CHECK_THAT(error_of(verify_token(token, kSecret, kIat + 10)),
             Catch::StartsWith("token is malformed: "));
}

TEST_CASE("A token over 4096 bytes is refused before it is read", "[tokens]") {
  // A valid signed token, made long by a long name.
  const Claims big{"u_test", std::string(3500, 'n'), kIat, kExp};
  const std::string token = sign_token(big, kSecret);
  REQUIRE(token.size() > kMaxJwtBytes);
  CHECK(error_of(verify_token(token, kSecret, kIat + 10)) ==
        "token is malformed: longer than 4096 bytes");

  const Claims fits{"u_test", std::string(2000, 'n'), kIat, kExp};
  CHECK(verify_token(sign_token(fits, kSecret), kSecret, kIat + 10).has_value());
}

TEST_CASE("Verifying with a secret shorter than 32 bytes is a server fault", "[tokens]") {
  const auto result = verify_token(kShellToken, "short", kIat + 10);
  REQUIRE_FALSE(result.has_value());
  CHECK(result.error().code == ErrorCode::internal);
}

TEST_CASE("random_secret gives 2n lowercase hex characters, different each time",
          "[tokens]") {
  const std::size_t bytes = GENERATE(as<std::size_t>{}, 0, 1, 16, 32, 64);
  const std::string a = random_secret(bytes);
  CHECK(a.size() == bytes * 2);
  CHECK(std::regex_match(a, std::regex("[0-9a-f]*")));
  if (bytes >= 16) CHECK(a != random_secret(bytes));
}

TEST_CASE("random_id is the prefix and 20 base32 characters, different each time",
          "[tokens]") {
  const std::regex shape("u_[a-z2-7]{20}");
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) seen.insert(random_id("u_"));
  CHECK(seen.size() == 1000);
  for (const auto& id : seen) {
    CHECK(std::regex_match(id, shape));
  }
}

TEST_CASE("random_id keeps only id characters of the prefix, so its result is always an id",
          "[tokens]") {
  const std::regex valid("[A-Za-z0-9_-]{1,64}");
  const auto [prefix, kept] = GENERATE(table<std::string, std::string>({
      {"", ""},
      {"call-", "call-"},
      {"a b/c:d", "abcd"},
      {std::string(100, 'p'), std::string(44, 'p')},
      {std::string("\xC3\x87\n\0x", 5), "x"},
  }));
  const std::string id = random_id(prefix);
  CHECK(std::regex_match(id, valid));
  CHECK(id.substr(0, id.size() - 20) == kept);
}

TEST_CASE("TURN credentials match HMAC-SHA1 computed by the openssl command line",
          "[tokens]") {
  // printf '%s' '1700003600:u_test' | openssl dgst -sha1 -hmac 'turn-shared-secret' -binary | base64
  const auto minted = mint_turn_credentials("turn-shared-secret", "u_test", kIat, 3600);
  REQUIRE(minted.has_value());
  CHECK(minted->username == "1700003600:u_test");
  CHECK(minted->credential == "hLWX5wXJPu3TNFxZiYc9lD8VQKk=");
  CHECK(minted->expires == kExp);
}

TEST_CASE("TURN credentials are refused for arguments coturn could not use", "[tokens]") {
  const auto [secret, user, now, ttl] =
      GENERATE(table<std::string, std::string, std::int64_t, std::int64_t>({
          {"", "u_test", kIat, 3600},
          {"s", "", kIat, 3600},
          {"s", "u:test", kIat, 3600},
          {"s", "u_test", kIat, 0},
          {"s", "u_test", kIat, -1},
          {"s", "u_test", INT64_MAX - 10, 3600},
      }));
  const auto minted = mint_turn_credentials(secret, user, now, ttl);
  REQUIRE_FALSE(minted.has_value());
  CHECK(minted.error().code == ErrorCode::bad_value);
}
