// Argon2id through libsodium's crypto_pwhash_str family. libsodium wants NUL-terminated
// hash strings, so hashes are copied into a std::string before they reach it; passwords are
// passed with their length and may contain any bytes.
#include "server/passwords.hpp"

#include <sodium.h>

#include <string>

namespace duet::server {
namespace {

constexpr unsigned long long kOpsLimit = crypto_pwhash_OPSLIMIT_INTERACTIVE;
constexpr std::size_t kMemLimit = crypto_pwhash_MEMLIMIT_INTERACTIVE;

// sodium_init() once per process; a function-local static is initialised exactly once even
// when several threads arrive together (and sodium_init is itself idempotent).
bool sodium_ready() {
  static const bool ready = sodium_init() >= 0;
  return ready;
}

}  // namespace

Status check_password_policy(std::string_view password) {
  if (password.size() < kMinPasswordBytes) {
    return make_error(ErrorCode::bad_value, "password must be at least " +
                                                std::to_string(kMinPasswordBytes) +
                                                " characters long");
  }
  if (password.size() > kMaxPasswordBytes) {
    return make_error(ErrorCode::bad_value, "password must be at most " +
                                                std::to_string(kMaxPasswordBytes) +
                                                " bytes long");
  }
  return Done{};
}

Expected<std::string> hash_password(std::string_view password) {
  if (!sodium_ready()) return make_error(ErrorCode::internal, "libsodium failed to initialise");
  char out[crypto_pwhash_STRBYTES];
  if (crypto_pwhash_str_alg(out, password.data(), password.size(), kOpsLimit, kMemLimit,
                            crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return make_error(ErrorCode::internal, "password hashing failed (out of memory?)");
  }
  return std::string(out);  // NUL-terminated by libsodium
}

bool verify_password(std::string_view hash, std::string_view password) {
  if (!sodium_ready()) return false;
  // A real hash is ~97 characters; anything that does not fit the buffer is not one of ours.
  if (hash.empty() || hash.size() >= crypto_pwhash_STRBYTES) return false;
  if (hash.find('\0') != std::string_view::npos) return false;
  const std::string terminated(hash);
  return crypto_pwhash_str_verify(terminated.c_str(), password.data(), password.size()) == 0;
}

bool password_needs_rehash(std::string_view hash) {
  if (!sodium_ready()) return true;
  if (hash.empty() || hash.size() >= crypto_pwhash_STRBYTES) return true;
  if (hash.find('\0') != std::string_view::npos) return true;
  const std::string terminated(hash);
  // 0: current parameters; 1: other parameters; -1: not an Argon2id hash string.
  return crypto_pwhash_str_needs_rehash(terminated.c_str(), kOpsLimit, kMemLimit) != 0;
}

}  // namespace duet::server
