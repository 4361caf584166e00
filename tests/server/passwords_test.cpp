// Argon2id password hashing and the password policy. Each hash costs ~50-100 ms and 64 MiB,
// so these tests hash as few times as they can.
#include "server/passwords.hpp"

#include <catch2/catch.hpp>
#include <sodium.h>

#include <string>

using namespace duet;
using namespace duet::server;

TEST_CASE("A hashed password verifies, and no other password does", "[auth]") {
  const auto hash = hash_password("correct horse battery staple");
  REQUIRE(hash.has_value());
  CHECK(verify_password(*hash, "correct horse battery staple"));
  CHECK_FALSE(verify_password(*hash, "correct horse battery stapl"));
  CHECK_FALSE(verify_password(*hash, "Correct horse battery staple"));
  CHECK_FALSE(verify_password(*hash, ""));
}

TEST_CASE("A hash is an Argon2id string with interactive limits and its own salt", "[auth]") {
  const auto first = hash_password("same password");
  const auto second = hash_password("same password");
  REQUIRE(first.has_value());
  REQUIRE(second.has_value());
  // m = 64 MiB in KiB, t = 2 passes, p = 1 lane: libsodium's *_INTERACTIVE limits.
  CHECK_THAT(*first, Catch::StartsWith("$argon2id$v=19$m=65536,t=2,p=1$"));
  CHECK(*first != *second);
  CHECK_FALSE(password_needs_rehash(*first));
}

TEST_CASE("Passwords are bytes: NUL, UTF-8 and the longest allowed all round-trip", "[auth]") {
  const std::string password = GENERATE(std::string("with\0nul", 8),
                                        std::string("\xC5\x9F" "ifre-\xC3\xA7ok-gizli"),
                                        std::string(kMaxPasswordBytes, 'x'));
  const auto hash = hash_password(password);
  REQUIRE(hash.has_value());
  CHECK(verify_password(*hash, password));
  if (password.find('\0') != std::string::npos) {
    CHECK_FALSE(verify_password(*hash, "with"));  // not cut at the NUL
  }
}

TEST_CASE("Anything that is not one of our hashes never verifies", "[auth]") {
  const std::string hash = GENERATE(
      std::string(""), std::string("password"), std::string("$argon2id$"),
      std::string("$2b$12$abcdefghijklmnopqrstuu5Jx5v2b9ZGf4d8q2hXl8z3xYq1B7G6K"),  // bcrypt
      std::string(200, 'a'),
      std::string("$argon2id$v=19$m=65536,t=2,p=1$\0rest", 37));
  CHECK_FALSE(verify_password(hash, "password"));
  CHECK(password_needs_rehash(hash));
}

TEST_CASE("A hash made with other limits verifies but needs a rehash", "[auth]") {
  // The shape of a hash stored before the limits were raised: Argon2id at libsodium's
  // minimum limits, made here directly with libsodium.
  REQUIRE(sodium_init() >= 0);
  char weaker[crypto_pwhash_STRBYTES];
  REQUIRE(crypto_pwhash_str_alg(weaker, "password", 8, crypto_pwhash_OPSLIMIT_MIN,
                                crypto_pwhash_MEMLIMIT_MIN, crypto_pwhash_ALG_ARGON2ID13) == 0);
  CHECK(verify_password(weaker, "password"));
  CHECK(password_needs_rehash(weaker));
}

TEST_CASE("The password policy accepts 8 to 128 bytes", "[auth]") {
  const std::size_t size = GENERATE(as<std::size_t>{}, 8, 9, 64, 128);
  CHECK(check_password_policy(std::string(size, 'p')).has_value());
}

TEST_CASE("The password policy refuses short and long passwords with a clear message",
          "[auth]") {
  const auto [size, message] = GENERATE(table<std::size_t, std::string>({
      {0, "password must be at least 8 characters long"},
      {7, "password must be at least 8 characters long"},
      {129, "password must be at most 128 bytes long"},
      {100000, "password must be at most 128 bytes long"},
  }));
  const auto status = check_password_policy(std::string(size, 'p'));
  REQUIRE_FALSE(status.has_value());
  CHECK(status.error().code == ErrorCode::bad_value);
  CHECK(status.error().message == message);
}
