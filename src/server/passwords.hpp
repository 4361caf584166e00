// Password hashing: Argon2id through libsodium, in the self-describing string format
// ("$argon2id$v=19$m=65536,t=2,p=1$<salt>$<hash>"), so a stored hash carries its own salt
// and parameters and can be verified after the parameters change.
//
// Cost: hash_password and verify_password each take about 50-100 ms of CPU and 64 MiB of
// memory, by design (that is what makes a stolen hash expensive to attack). They must not
// run on the network thread: the server runs them on a worker and posts the result back.
// Every function here is safe to call from several threads at once.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "duet/error.hpp"

namespace duet::server {

// Password policy, in bytes of UTF-8 (not characters): long enough to resist guessing at our
// rate limits, short enough that nobody sends us megabytes to hash.
inline constexpr std::size_t kMinPasswordBytes = 8;
inline constexpr std::size_t kMaxPasswordBytes = 128;

// Done when the password may be set; bad_value with a message for the user otherwise.
// Applies when a password is chosen, not when one is checked at login.
Status check_password_policy(std::string_view password);

// An Argon2id hash string (OPSLIMIT_INTERACTIVE, MEMLIMIT_INTERACTIVE, a fresh random salt).
// Fails with `internal` only when libsodium cannot start or the memory cannot be had.
// Does not apply the policy: call check_password_policy first.
Expected<std::string> hash_password(std::string_view password);

// True when `password` matches `hash` (a string from hash_password). False for a wrong
// password and for anything that is not such a hash (empty, truncated, another format).
bool verify_password(std::string_view hash, std::string_view password);

// True when `hash` was made with other parameters than hash_password uses now (or is not a
// hash we understand): after a successful login, hash the password again and store the new one.
bool password_needs_rehash(std::string_view hash);

}  // namespace duet::server
